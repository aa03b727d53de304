"""DenseNet on CIFAR-10 (thesis section 3.2): the setting shared by the benchmark (Fig 3.7),
DrMAD (Figs 3.8-3.14), the adaptive method (Figs 3.15-3.20) and the exact-hypergradient check.

DenseNet of depth 40, 16 feature maps in the first convolution, growth rate 12, 3 dense
blocks, dropout 0.2; CIFAR-10 with per-channel normalization and no augmentation; SGD with
Nesterov momentum 0.9 (the thesis) or regular momentum (``optimizer="momentum"``, which DrMAD
is derived for); learning rate 0.1 divided by 10 at epochs 30 and 60 (the thesis' schedule) or
at 50% and 75% of training (``lr_schedule="densenet"``); biases and batch-norm shifts not
regularized, batch-norm scales regularized. The ``smoke`` profile shrinks all of it (a DenseNet
of depth 7 on the embedded 8x8 digits) and keeps the code path.

Determinism: dropout masks and batch order are functions of (seed, step) in every
meta-iteration, batch-norm statistics are recomputed from the same training batches for every
evaluation, and runs on ``cuda`` use deterministic kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import data
from ..dynamics import Nesterov, SGDMomentum, piecewise
from ..hyper import HyperSpace
from ..models import DenseNet, FlatModel
from ..problems import ClassificationTask, evaluation
from ..experiments.base import ExperimentConfig

PAPER = {"dataset": "cifar10", "n_train": None, "n_val": 5000, "depth": 40, "growth": 12,
         "first": 16, "batch_size": 64, "eval_batch": 500}


@dataclass(frozen=True)
class Setting(ExperimentConfig):
    dataset: str = "digits"  # digits (embedded) or cifar10
    n_train: int | None = 1077  # training examples (None: all but the validation ones)
    n_val: int = 360  # validation examples
    depth: int = 7  # DenseNet depth (thesis: 40)
    growth: int = 4  # growth rate (thesis: 12)
    first: int = 4  # feature maps of the first convolution (thesis: 16)
    dropout: float = 0.2
    batch_size: int = 32
    optimizer: str = "nesterov"  # nesterov (the thesis) | momentum (regular)
    lr: float = 0.1  # usual-form learning rate
    momentum: float = 0.9
    lr_schedule: str = "thesis"  # thesis: /10 at epochs 30, 60; densenet: at 50% and 75%
    eval_batch: int = 100  # size of the cycling evaluation batches (thesis: 500-1000)

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in ("digits", "cifar10"):
            raise ValueError(f"dataset must be 'digits' or 'cifar10', got '{self.dataset}'")
        if self.optimizer not in ("nesterov", "momentum"):
            raise ValueError(f"optimizer must be 'nesterov' or 'momentum', got '{self.optimizer}'")
        if self.lr_schedule not in ("thesis", "densenet"):
            raise ValueError(f"lr_schedule must be 'thesis' or 'densenet', got '{self.lr_schedule}'")

    def datasets(self):
        return [self.dataset]


def load_splits(cfg: Setting, n_val: int | None = None) -> data.Splits:
    n_val = cfg.n_val if n_val is None else n_val
    if cfg.dataset == "digits":
        splits = data.load_digits(n_val=n_val, seed=cfg.seed, image=True)
        if cfg.n_train is not None:
            splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
        return splits
    return data.load_cifar10(n_train=cfg.n_train, n_val=n_val, seed=cfg.seed)


def weight_names(model: FlatModel) -> list[str]:
    """Parameters that carry an L2 penalty: weights and batch-norm scales, not biases/shifts."""
    return [n for n in model.names if not n.endswith("bias")]


def layer_of(name: str) -> str:
    """A readable layer label: the module path without the parameter kind."""
    return name.rsplit(".", 1)[0].replace("net.", "")


def build(cfg: Setting, groups, splits: data.Splits, val_batch_size: int | None = None):
    """``(task, w0, space)`` for the DenseNet of ``cfg`` and hyperparameter ``groups``
    (a function of the FlatModel returning a list of :class:`~hpostudy.hyper.Group`)."""
    module = DenseNet(cfg.depth, cfg.growth, cfg.first, dropout=cfg.dropout,
                      in_channels=splits.input_shape[0], num_classes=splits.num_classes,
                      seed=cfg.seed).to(cfg.device)
    model = FlatModel(module)
    space = HyperSpace(model, groups(model))
    task = ClassificationTask(model, splits.to(cfg.device), space, cfg.batch_size,
                              seed=cfg.seed, eval_batch=cfg.eval_batch,
                              val_batch_size=val_batch_size)
    return task, model.initial(device=cfg.device), space


def schedule(cfg: Setting, epochs: int, steps_per_epoch: int):
    """The usual-form learning rate per step."""
    if cfg.lr_schedule == "thesis":
        milestones = [30 * steps_per_epoch, 60 * steps_per_epoch]
    else:
        milestones = [int(0.5 * epochs * steps_per_epoch), int(0.75 * epochs * steps_per_epoch)]
    return piecewise(cfg.lr, milestones)


def dynamics_for(cfg: Setting, lr, clip: float | None = None, lr_hyper=None):
    """The forward optimizer and the thesis-form SGD with momentum used for reverse passes.

    The usual form :math:`v \\leftarrow \\gamma v - \\alpha g` has the thesis' form with learning
    rate :math:`\\alpha / (1-\\gamma)`."""
    gamma = cfg.momentum

    def thesis_lr(t):
        return lr(t) / (1 - gamma)

    regular = SGDMomentum(lr=thesis_lr, momentum=gamma, clip=clip, lr_hyper=lr_hyper)
    if cfg.optimizer == "momentum":
        return regular, regular
    return Nesterov(lr=lr, momentum=gamma, clip=clip, lr_hyper=lr_hyper), regular


def evaluate(task: ClassificationTask, w: torch.Tensor, theta: torch.Tensor,
             k: int) -> dict[str, float]:
    """Errors on the full sets and on the k-th cycling batch of each split (the thesis'
    measure, batches of 500-1000 in section 3.2), with the same batch-norm statistics."""
    out = task.errors(w, theta)  # recomputes the batch-norm statistics at w
    s = task.splits
    with torch.no_grad(), evaluation(task.model.module):
        for name, x, y in (("train", s.x_train, s.y_train), ("val", s.x_val, s.y_val),
                           ("test", s.x_test, s.y_test)):
            n = min(task.eval_batch, len(y))
            start = (k * n) % max(len(y) - n + 1, 1)
            logits = task.model(task.weights(w, theta), x[start:start + n])
            out[f"{name}_error_batch"] = float((logits.argmax(1) != y[start:start + n])
                                               .float().mean())
    return out


def per_layer_average(space: HyperSpace, theta: torch.Tensor, group: str,
                      scale: float = 1.0) -> dict[str, float]:
    """Average hyperparameter of ``group`` per parameter tensor (thesis Figs 3.10, 3.16, 3.17)."""
    values = (space.part(group, theta) * scale).detach().cpu().numpy()
    layers = np.array([layer_of(n) + ("" if n.endswith("weight") else "." + n.rsplit(".", 1)[1])
                       for n in space.layers(group)])
    return {layer: float(values[layers == layer].mean()) for layer in dict.fromkeys(layers)}


def layer_rows(space: HyperSpace, theta: torch.Tensor, group: str, scale: float = 1.0,
               **ids) -> list[dict]:
    """Tidy rows (ids..., layer, value) of :func:`per_layer_average`."""
    return [{**ids, "layer": layer, "value": value}
            for layer, value in per_layer_average(space, theta, group, scale).items()]
