"""The setting of thesis section 3.1, shared by the DrMAD-quality chapter.

MLP with fully connected layers of 50, 50, 50, 10 units (tanh); MNIST, 20,000 training images
split 15,000 / 5,000 into training and validation, and 5,000 test images; unit-wise
hyperparameters through the reparametrization :math:`w = e^{s} \\odot z` with penalty
:math:`e^{\\lambda}\\|z\\|^2`, trained in :math:`z` (one :math:`s` and one :math:`\\lambda` per output
unit of each layer: 2 x 160 hyperparameters); SGD with momentum 0.95 in the thesis' form; fixed
seeds so every meta-iteration replays the same initialization and batches. The ``smoke``
profile uses the embedded digits instead.

Choices where the thesis is silent: tanh units (smooth, so finite differences and the exact
method behave), Glorot-initialized :math:`z` with :math:`s = 0` at the start, :math:`\\lambda = -6`
(natural log), batch size 128, thesis-form learning rate 0.3, float64, momentum
58,982/2^16 = 0.949997 (the value the exact method represents, used by every method), meta-steps
of 0.1 along the sign of the hypergradient.
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
from ..experiments.base import ExperimentConfig

SMOKE = {}
CPU = {"dataset": "mnist", "n_train": 15000, "n_val": 5000, "n_test": 5000, "batch_size": 128}


@dataclass(frozen=True)
class MLPSetting(ExperimentConfig):
    dataset: str = "digits"  # digits (embedded) or mnist
    n_train: int = 1077  # training examples
    n_val: int = 360  # validation examples
    n_test: int = 360  # test examples
    hidden: tuple[int, ...] = (50, 50, 50)  # hidden layer widths
    batch_size: int = 32
    lr: float = 0.3  # thesis-form learning rate alpha
    momentum: float = 0.95  # gamma (rounded to n/2^16 for the exact method)
    init_log_scale: float = 0.0  # s at the start (w = e^s z)
    init_log_l2: float = -6.0  # lambda at the start (penalty e^lambda ||z||^2)
    meta_lr: float = 0.1  # step along the sign of the hypergradient

    SIGNED = ("init_log_scale", "init_log_l2")

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in ("digits", "mnist"):
            raise ValueError(f"dataset must be 'digits' or 'mnist', got '{self.dataset}'")
        if not 0 < self.momentum < 1:
            raise ValueError(f"momentum must be in (0, 1), got {self.momentum}")

    def datasets(self):
        return [self.dataset]


def load_splits(cfg: MLPSetting) -> data.Splits:
    if cfg.dataset == "digits":
        splits = data.load_digits(n_val=cfg.n_val, n_test=cfg.n_test, seed=cfg.seed)
        splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
        return splits
    return data.load_mnist(n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test, seed=cfg.seed)


def build(cfg: MLPSetting):
    """``(task, problem, space, dynamics, theta0)`` of the section 3.1 setting, in float64."""
    splits = load_splits(cfg).to(cfg.device, torch.float64)
    module = MLP(splits.input_shape[0], cfg.hidden, splits.num_classes, activation="tanh",
                 seed=cfg.seed).to(device=cfg.device, dtype=torch.float64)
    model = FlatModel(module)
    space = HyperSpace(model, [
        Group("log_scale", "log_scale", "unit", init=cfg.init_log_scale, include_bias=True),
        Group("log_l2", "log_l2_z", "unit", init=cfg.init_log_l2, include_bias=True),
    ])
    task = ClassificationTask(model, splits, space, cfg.batch_size, seed=cfg.seed, reparam=True)
    problem = task.problem(model.initial(torch.float64, cfg.device))
    dynamics = SGDMomentum(lr=cfg.lr, momentum=effective_gamma(cfg.momentum))
    return task, problem, space, dynamics, space.init(device=cfg.device)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """:math:`a \\cdot b / (\\|a\\| \\|b\\|)` (thesis Fig 3.2); 0 where a vector is zero."""
    denom = float(a.norm() * b.norm())
    return float(a @ b) / denom if denom > 0 else 0.0
