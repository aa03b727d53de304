"""The small CNN of thesis sections 2.1-2.3, shared by the parameter-path and dropout-seed
experiments.

conv-maxpool-conv-maxpool-dropout-FC-dropout-FC with dropout 0.5, trained by SGD with momentum
(learning rate 0.005, momentum 0.95, L2 0.02 on the weights, biases unregularized). The learning
rate is quoted in the usual form :math:`v \\leftarrow \\gamma v - \\alpha g`,
:math:`w \\leftarrow w + v`; in the thesis' form of Algorithm 1 that is :math:`\\alpha/(1-\\gamma)`.
``smoke`` runs a narrow version on the embedded 8x8 digits; ``cpu`` and ``paper`` run CIFAR-10
(``cpu``: the 5,000-image subset, 3,000 training and 1,000 validation images).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from ..dynamics import SGDMomentum
from ..hyper import Group, HyperSpace
from ..models import FlatModel, SmallCNN
from ..problems import ClassificationTask
from ..study.config import ExperimentConfig, ParameterError

CPU = {"dataset": "cifar10", "n_train": 3000, "channels": (32, 32), "hidden": 256}
PAPER = {"dataset": "cifar10", "n_train": None, "channels": (32, 32), "hidden": 256}


@dataclass(frozen=True)
class SmallCNNSetting(ExperimentConfig):
    """The knobs of the small CNN of thesis sections 2.1-2.3: the data, SGD with momentum, the L2
    coefficient and the network's widths.
    """
    dataset: str = "digits"  # digits (embedded) or cifar10
    n_train: int | None = 1077  # training examples (None: all but the 1,000 validation ones)
    batch_size: int = 32  # mini-batch size
    lr: float = 0.005  # usual-form learning rate (thesis: 0.005)
    momentum: float = 0.95  # momentum (thesis: 0.95)
    l2: float = 0.02  # L2 coefficient on the weights (biases unregularized)
    channels: tuple[int, ...] = (8, 8)  # feature maps of the two convolutions
    hidden: int = 32  # units of the hidden fully connected layer

    CHOICES = {"dataset": ("digits", "cifar10")}

    def validate(self):
        """Check the knobs.

        Raises:
            ParameterError: not two channels, a momentum outside [0, 1), a batch larger than the
                training set, or an L2 coefficient that is not positive.
        """
        if len(self.channels) != 2:
            raise ParameterError(f"the small CNN has two convolutions: channels needs 2 values, "
                             f"got {self.channels}")
        if not 0 <= self.momentum < 1:
            raise ParameterError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.n_train is not None and self.batch_size > self.n_train:
            raise ParameterError(f"batch_size ({self.batch_size}) exceeds the training examples "
                                 f"n_train ({self.n_train}): lower batch_size or raise n_train")
        if self.l2 <= 0:
            raise ParameterError(f"l2 must be positive (it is used on a log scale), got {self.l2}")


def load_splits(cfg: SmallCNNSetting, seed: int) -> data.Splits:
    """The images of one seed: the embedded 8x8 digits (as images) cut to ``n_train``, or
    CIFAR-10 with ``n_train`` training and 1,000 validation images.

    Args:
        cfg: the setting (``dataset``, ``n_train``).
        seed: the seed of the split.

    Returns:
        data.Splits: the training, validation and test images.
    """
    if cfg.dataset == "digits":
        splits = data.load_digits(seed=seed, image=True)
        splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
        return splits
    return data.load_cifar10(n_train=cfg.n_train, n_val=1000, seed=seed)


def build(cfg: SmallCNNSetting, seed: int):
    """``(task, w0, space, dynamics)``: the small CNN on its data with a scalar log10 L2 and the
    thesis-form SGD with momentum; initialization, batch order and dropout seeded by ``seed``."""
    splits = load_splits(cfg, seed)
    module = SmallCNN(splits.input_shape, channels=cfg.channels, hidden=cfg.hidden,
                      num_classes=splits.num_classes, seed=seed).to(cfg.device)
    model = FlatModel(module)
    space = HyperSpace(model, [Group("l2", "log10_l2", "scalar", init=float(np.log10(cfg.l2)))])
    task = ClassificationTask(model, splits.to(cfg.device), space, cfg.batch_size, seed=seed)
    dynamics = SGDMomentum(lr=cfg.lr / (1 - cfg.momentum), momentum=cfg.momentum)
    return task, model.initial(device=cfg.device), space, dynamics
