"""The setting of thesis section 3.1, shared by the experiments of the DrMAD-quality chapter.

MLP with fully connected layers of 50, 50, 50, 10 units (tanh); MNIST, 20,000 training images
split 15,000 / 5,000 into training and validation, and 5,000 test images; unit-wise
hyperparameters through the reparametrization :math:`w = e^{s} \\odot z` with penalty
:math:`e^{\\lambda}\\|z\\|^2`, trained in :math:`z` (one :math:`s` and one :math:`\\lambda` per output
unit of each layer: 2 x 160 hyperparameters); SGD with momentum 0.95 in the thesis' form; fixed
seeds so every meta-iteration replays the same initialization and batches. The ``smoke``
profile uses the embedded digits instead.

The thesis states neither the learning rate nor the batch size; it says its setup comes from the
DrMAD code (Fu et al. 2016, reference [23] of the thesis), whose MNIST experiment with this data
split uses the thesis-form learning rate :math:`\\alpha = 0.05`, momentum 0.95, batch size 50
and meta-steps of 0.07 along the signs; we take those values. Our own choices where both are
silent or differ: tanh units (smooth, so finite differences and the exact method behave),
Glorot-initialized :math:`z` with :math:`s = 0` at the start, :math:`\\lambda = -6` (natural log),
:math:`\\lambda` tuned beside :math:`s`, float64, momentum 58,982/2^16 = 0.949997 (the value the
exact method represents, used by every method).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import data
from ..dynamics import SGDMomentum
from ..hyper import Group, HyperSpace
from ..hypergrad import effective_gamma
from ..models import MLP, FlatModel
from ..problems import ClassificationTask
from ..study.config import ExperimentConfig, ParameterError

CPU = {"dataset": "mnist", "n_train": 15000, "n_val": 5000, "n_test": 5000}


@dataclass(frozen=True)
class MLPSetting(ExperimentConfig):
    """The knobs of thesis section 3.1's setting: the data and its split sizes, the MLP's
    hidden layers, SGD with momentum, and where the hyperparameters (weight scale and L2)
    start.
    """
    dataset: str = "digits"  # digits (embedded) or mnist
    n_train: int = 1077  # training examples
    n_val: int = 360  # validation examples
    n_test: int = 360  # test examples
    hidden: tuple[int, ...] = (50, 50, 50)  # hidden layer widths
    batch_size: int = 50  # mini-batch size (DrMAD code: 50)
    lr: float = 0.05  # thesis-form learning rate alpha (DrMAD code: 0.05)
    momentum: float = 0.95  # gamma (rounded to n/2^16 for the exact method)
    init_log_scale: float = 0.0  # s at the start (w is e^s z)
    init_log_l2: float = -6.0  # lambda at the start (penalty e^lambda ||z||^2)

    CHOICES = {"dataset": ("digits", "mnist")}
    SIGNED = ("init_log_scale", "init_log_l2")

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ParameterError: a momentum outside (0, 1), a learning rate that
            is not positive, or a batch larger than the training set.
        """
        super().validate()
        if not 0 < self.momentum < 1:
            raise ParameterError(f"momentum must be in (0, 1) (exclusive: the reverse pass divides "
                             f"by it), got {self.momentum}")
        if self.lr <= 0:
            raise ParameterError(f"the learning rate lr must be positive, got {self.lr}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size ({self.batch_size}) exceeds the training examples "
                             f"n_train ({self.n_train}): lower batch_size or raise n_train")

    def datasets(self):
        """Datasets the run reads.

        Returns:
            list[str]: ``[dataset]``.
        """
        return [self.dataset]

    def check_per_horizon(self, horizons: tuple[int, ...], seeds: tuple[int, ...],
                          **per_horizon: tuple) -> None:
        """Knobs with one value per horizon have as many values as ``horizons`` (distinct);
        ``seeds`` (seeds run per horizon) asks for at most ``self.seeds``."""
        if len(set(horizons)) != len(horizons):
            raise ParameterError(f"horizons must be distinct, got {horizons}")
        for name, values in {**per_horizon, "seeds_per_horizon": seeds}.items():
            if len(values) != len(horizons):
                raise ParameterError(f"{name} needs one value per horizon ({len(horizons)} "
                                     f"horizons {horizons}), got {values}")
        if max(seeds) > self.seeds:
            raise ParameterError(f"seeds_per_horizon {seeds} asks for more seeds than "
                                 f"seeds={self.seeds}: raise seeds or lower them")


def load_splits(cfg: MLPSetting, seed: int) -> data.Splits:
    """The data of one seed: the embedded digits cut to ``n_train`` training examples, or MNIST
    with the sizes asked for.

    Args:
        cfg: the setting (``dataset`` and the split sizes).
        seed: the seed of the split.

    Returns:
        data.Splits: the training, validation and test examples.
    """
    if cfg.dataset == "digits":
        splits = data.load_digits(n_val=cfg.n_val, n_test=cfg.n_test, seed=seed)
        splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
        return splits
    return data.load_mnist(n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test, seed=seed)


def build(cfg: MLPSetting, seed: int, lr: float | None = None):
    """``(task, problem, space, dynamics, theta0)`` of the section 3.1 setting in float64, with
    data split, initialization and batch order seeded by ``seed`` (and the learning rate
    ``lr`` instead of ``cfg.lr`` if given)."""
    splits = load_splits(cfg, seed).to(cfg.device, torch.float64)
    module = MLP(splits.input_shape[0], cfg.hidden, splits.num_classes, activation="tanh",
                 seed=seed).to(device=cfg.device, dtype=torch.float64)
    model = FlatModel(module)
    space = HyperSpace(model, [
        Group("log_scale", "log_scale", "unit", init=cfg.init_log_scale, include_bias=True),
        Group("log_l2", "log_l2_z", "unit", init=cfg.init_log_l2, include_bias=True),
    ])
    task = ClassificationTask(model, splits, space, cfg.batch_size, seed=seed, reparam=True)
    problem = task.problem(model.initial(torch.float64, cfg.device))
    dynamics = SGDMomentum(lr=cfg.lr if lr is None else lr,
                           momentum=effective_gamma(cfg.momentum))
    return task, problem, space, dynamics, space.init(device=cfg.device)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """:math:`a \\cdot b / (\\|a\\| \\|b\\|)` (thesis Fig 3.2); 0 where a vector is zero."""
    denom = float(a.norm() * b.norm())
    return float(a @ b) / denom if denom > 0 else 0.0
