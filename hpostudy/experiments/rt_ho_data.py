"""The data of :mod:`hpostudy.experiments.rt_ho`: the images, one fixed training/validation
split (:func:`load`), and the secondary targets of the training images (:func:`teacher_targets`).
``cfg`` is the experiment's :class:`~hpostudy.experiments.rt_ho.Config` (named in annotations
only: this module is imported by the experiment module, not the other way round).

**The substitute for TIMIT.** The paper's primary task maps filter-bank frames to 183 phone
states; its secondary task regresses 300-dimensional context-dependent phonetic embeddings,
dense vectors that another model learned for the training data and that encode the phone and
its context, so that the classifier and the regressor can share an intermediate representation.
TIMIT is licensed. Here the primary task classifies CIFAR-10 images from their pixels (an MLP
reaches about the paper's accuracy level), and the secondary target of a training image is a
dense embedding that another model learned from the training data: the standardized hidden
pre-activations of a small CNN trained on the training images (:func:`teacher_targets`, the
network of :mod:`hpostudy.settings.franceschi`). The embedding carries the class structure the
CNN learned and what it saw in the image, so fitting it asks the shared layers for features the
classifier needs too; it is used for training images only, never at test time. The training and
validation images are one fixed split of CIFAR-10's training images (the 4,000 of the subset,
or all), the test images CIFAR-10's test set; the seeds change the networks' initialization and
the batch order.
"""
from __future__ import annotations

import torch

from .. import data
from ..settings import franceschi as fs


SPLIT_SEED = 0  # one fixed training/validation split, as TIMIT's


def load(cfg: Config) -> data.Splits:
    """The images of the experiment: CIFAR-10, or the embedded digits cut to ``n_train``
    training images; one fixed split (``SPLIT_SEED``) whatever the run's seed.

    Args:
        cfg: the configuration (``dataset``, ``n_train``, ``n_val``).

    Returns:
        data.Splits: the training, validation and test images.
    """
    if cfg.dataset == "cifar10":
        return data.load_cifar10(n_train=cfg.n_train, n_val=cfg.n_val, seed=SPLIT_SEED)
    splits = data.load_digits(n_val=cfg.n_val, seed=SPLIT_SEED, image=True)
    splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
    return splits


def teacher_targets(cfg: Config) -> dict:
    """The secondary targets of the training images: the standardized hidden pre-activations
    of a small CNN trained on them (computed once per setting, see
    :func:`hpostudy.settings.franceschi.cached`), and the CNN's own test accuracy."""
    def compute():
        s = load(cfg).to(cfg.device)
        net = fs.train_network(s.x_train, s.y_train, cfg.teacher_channels, cfg.embedding,
                               cfg.teacher_epochs, augment=cfg.dataset == "cifar10")
        with torch.no_grad():
            accuracy = float((net(s.x_test).argmax(1) == s.y_test).float().mean())
        return {"targets": fs.standardized_embedding(net, s.x_train, s.x_train).cpu(),
                "teacher_accuracy": accuracy}

    settings = {k: getattr(cfg, k) for k in ("dataset", "n_train", "n_val", "embedding",
                                            "teacher_epochs", "teacher_channels")}
    return fs.cached(cfg.out / "teacher", settings, compute)
