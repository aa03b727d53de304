"""Image features for the multi-task experiment of Franceschi et al. (2017, section 4).

The paper represents each CIFAR-10 image by the pre-activations of the second-to-last layer of
Inception-V3 trained on ImageNet, and fits its softmax regressions on those. Inception-V3's
ImageNet weights cannot be had offline, so the study substitutes a network of its own that
*never sees the images the multi-task experiment uses*:

* ``cifar10``: the small CNN of :mod:`hpostudy.models.cnn` (two convolutions, a hidden layer)
  trained on the training images of the data root (the 4,000 of the CIFAR-10 subset, or all
  50,000), with random flips and shifts; the experiment's 50/50/rest splits are drawn from the
  *test* images (1,000 of the subset, or 10,000);
* ``mnist``: the same network trained on ``feature_images`` MNIST training images; the splits
  come from the 10,000 test images (a larger test set);
* ``digits`` (embedded, for ``smoke``): the same network, narrower, trained on half of the
  1,797 8x8 digits; the splits come from the other half.

The features are the pre-activations of the network's hidden layer (before its ReLU, as the
paper's), standardized with the mean and deviation over the network's own training images, so
that nothing about the split's images enters them. They are computed once per setting and kept
under a key of the setting and the library code. The real-time experiment uses the same kind of
network as a source of regression targets (:func:`train_network`, :func:`standardized_embedding`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .. import data, store
from ..models import SmallCNN
from ..study.config import ExperimentConfig

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
DIGIT_CLASSES = tuple(str(k) for k in range(10))
FEATURE_SEED = 0  # one feature network for every split, as the paper's one Inception-V3


@dataclass(frozen=True)
class FeatureSetting(ExperimentConfig):
    """The knobs of the image features every multi-task split is drawn from: the dataset and
    the small CNN trained on images kept out of the splits, whose hidden layer gives the
    features.
    """
    dataset: str = "digits"  # digits (embedded) | cifar10 | mnist: where images and labels come from
    feature_images: int = 897  # images the feature network is trained on (never in a split)
    feature_epochs: int = 20  # epochs of the feature network (Adam, learning rate 1e-3)
    feature_channels: tuple[int, ...] = (8, 16)  # feature maps of its two convolutions
    features: int = 64  # width of its hidden layer: the dimension of the features

    CHOICES = {"dataset": ("digits", "cifar10", "mnist")}

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: not two feature_channels, or (digits) too many
            feature_images to leave 100 images for the splits.
        """
        super().validate()
        if len(self.feature_channels) != 2:
            raise ValueError(f"the feature network has two convolutions: feature_channels needs "
                             f"2 values, got {self.feature_channels}")
        if self.dataset == "digits" and self.feature_images > 1797 - 100:
            raise ValueError(f"digits has 1,797 images: feature_images ({self.feature_images}) "
                             "must leave at least 100 for the experiment's splits")

    def feature_settings(self) -> dict:
        """The knobs the features depend on: the key under which they are cached.

        Returns:
            dict: dataset, feature_images, feature_epochs, features and feature_channels.
        """
        return {"dataset": self.dataset, "feature_images": self.feature_images,
                "feature_epochs": self.feature_epochs, "features": self.features,
                "feature_channels": list(self.feature_channels)}


def class_names(dataset: str) -> tuple[str, ...]:
    """The class names of ``dataset``: CIFAR-10's ten, else the digits 0-9.

    Args:
        dataset: ``"cifar10"``, ``"digits"`` or ``"mnist"``.

    Returns:
        tuple[str, ...]: one name per class.
    """
    return CIFAR10_CLASSES if dataset == "cifar10" else DIGIT_CLASSES


def images(cfg: FeatureSetting) -> data.Splits:
    """The feature network's images in the training split and the experiment's pool of images
    in the test split (validation empty); no image is in both."""
    if cfg.dataset == "digits":
        return data.load_digits(n_val=0, n_test=1797 - cfg.feature_images, seed=FEATURE_SEED,
                                image=True)
    if cfg.dataset == "mnist":
        return data.load_mnist(n_train=cfg.feature_images, n_val=0, n_test=10000,
                               seed=FEATURE_SEED, image=True)
    splits = data.load_cifar10(n_train=None, n_val=0, seed=FEATURE_SEED)
    if cfg.feature_images > len(splits.y_train):
        raise ValueError(f"cifar10: feature_images = {cfg.feature_images} but the data root holds "
                         f"{len(splits.y_train)} training images; lower it")
    splits.x_train, splits.y_train = (splits.x_train[:cfg.feature_images],
                                      splits.y_train[:cfg.feature_images])
    return splits


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips per image and one random shift of up to 4 pixels (zero padded)
    per batch, for CIFAR-10."""
    flip = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    dy, dx = torch.randint(0, 9, (2,), generator=gen).tolist()
    h, w = x.shape[2:]
    return F.pad(x, (4, 4, 4, 4))[:, :, dy:dy + h, dx:dx + w]


def train_network(x: torch.Tensor, y: torch.Tensor, channels: tuple[int, ...], width: int,
                  epochs: int, augment: bool, batch_size: int = 64) -> SmallCNN:
    """A :class:`~hpostudy.models.SmallCNN` with a hidden layer of ``width`` units trained by
    Adam (learning rate 1e-3) on the images ``x`` (with :func:`_augment` if ``augment``), on
    the device of ``x``."""
    gen = torch.Generator().manual_seed(FEATURE_SEED)
    torch.manual_seed(FEATURE_SEED)  # dropout masks
    net = SmallCNN(tuple(x.shape[1:]), channels=channels, hidden=width,
                   num_classes=int(y.max()) + 1, seed=FEATURE_SEED).to(x.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch_size = min(batch_size, len(y))
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen).to(x.device)
        for i in range(0, len(y) - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            batch = _augment(x[idx], gen) if augment else x[idx]
            loss = F.cross_entropy(net(batch), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


@torch.no_grad()
def embed(net: SmallCNN, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Pre-activations of the hidden layer (dropout off) for the images ``x``."""
    hidden = net.classifier[1]
    return torch.cat([hidden(net.features(x[i:i + batch]).flatten(1))
                      for i in range(0, len(x), batch)])


def standardized_embedding(net: SmallCNN, own: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """:func:`embed` of ``x``, standardized per dimension with the mean and deviation over the
    network's own training images ``own`` (nothing about ``x`` enters the scale)."""
    reference = embed(net, own)
    return (embed(net, x) - reference.mean(0)) / reference.std(0).clamp_min(1e-6)


def compute_features(cfg: FeatureSetting) -> dict:
    """Standardized features and labels of the experiment's pool; also the network's own
    accuracy on the pool (how good the features are: a softmax regression trained on 50
    examples cannot do much better)."""
    splits = images(cfg).to(cfg.device)
    net = train_network(splits.x_train, splits.y_train, cfg.feature_channels, cfg.features,
                        cfg.feature_epochs, augment=cfg.dataset == "cifar10")
    with torch.no_grad():
        accuracy = float((net(splits.x_test).argmax(1) == splits.y_test).float().mean())
    return {"x": standardized_embedding(net, splits.x_train, splits.x_test).double().cpu(),
            "y": splits.y_test.cpu(), "network_accuracy": accuracy,
            "network_images": len(splits.y_train)}


def cached(folder: Path, settings: dict, compute: Callable[[], dict]) -> dict:
    """``compute()``, kept in ``folder`` under a key of ``settings`` and the code of this module
    and what it imports (a killed or repeated run, or another experiment with the same
    settings, reuses it)."""
    key = store.settings_key(settings, store.dependency_digest(__name__))
    checkpoint = store.Checkpoint(Path(folder) / f"{key}.pt")
    saved = checkpoint.load()
    if saved is None:
        saved = compute()
        checkpoint.save(saved)
    return saved


def features(cfg: FeatureSetting) -> dict:
    """:func:`compute_features`, computed once per feature setting (:func:`cached` in
    ``<output_dir>/features/``)."""
    return cached(cfg.out / "features", cfg.feature_settings(), lambda: compute_features(cfg))


def split(pool: dict, n_train: int, n_val: int, seed: int) -> data.Splits:
    """A seeded random ``n_train``/``n_val``/rest split of the pool (the paper: 50/50/rest)."""
    n = len(pool["y"])
    if n_train + n_val >= n:
        raise ValueError(f"the pool has {n} examples: n_train + n_val = {n_train + n_val} leaves "
                         "none for the test set")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    x, y = pool["x"][order], pool["y"][order]
    a, b = n_train, n_train + n_val
    return data.Splits(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:], int(y.max()) + 1, "features")
