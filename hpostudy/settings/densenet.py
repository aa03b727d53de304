"""DenseNet on CIFAR-10 (thesis section 3.2): the setting shared by the benchmark (Fig 3.7),
DrMAD (Figs 3.8-3.14), the adaptive method (Figs 3.15-3.20) and the exact-hypergradient check.

DenseNet of depth 40, 16 feature maps in the first convolution, growth rate 12, 3 dense
blocks, dropout 0.2; CIFAR-10 with per-channel normalization and no augmentation; SGD with
Nesterov momentum 0.9 (the thesis) or regular momentum (``optimizer="momentum"``, which DrMAD
is derived for); learning rate 0.1 divided by 10 at epochs 30 and 60 (the thesis' schedule) or
at 50% and 75% of training (``lr_schedule="densenet"``); biases and batch-norm shifts not
regularized, batch-norm scales regularized (thesis section 3.2, "The benchmark ...").

Profiles: ``smoke`` shrinks all of it (a DenseNet of depth 7 on the embedded 8x8 digits) and
keeps the code path; ``cpu`` trains a DenseNet of depth 7 (one layer per block) with batches of
32 on the real 5,000-image CIFAR-10 subset (a deeper DenseNet with larger batches needs several
gigabytes per hypergradient and more than a few hours of one CPU core for the adaptive runs);
``paper`` holds the thesis' sizes for a GPU and the complete CIFAR-10.
:func:`setting` states every reduction for the ``setting`` column of the verdict tables.

Determinism: dropout masks and batch order are functions of (seed, step) in every
meta-iteration, batch-norm statistics are recomputed from the same training batches for every
evaluation, and runs on ``cuda`` use deterministic kernels.

Divergence: a run that diverged raises :class:`Diverged` and yields no verdict (the rule:
:mod:`hpostudy.settings.densenet_divergence`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import data
from ..dynamics import Nesterov, SGDMomentum, piecewise
from ..hyper import HyperSpace
from ..models import DenseNet, FlatModel
from ..problems import ClassificationTask, evaluation
from ..study.config import ExperimentConfig
# the divergence rule and the chapter's tables live in their own modules; their names stay
# readable here (densenet.check_divergence, densenet.setting, ...), as the experiments and the
# tests read them
from .densenet_divergence import (CHANCE_MARGIN, DIVERGED_LOSS_FACTOR, Diverged, chance_error,
                                  check_divergence)
from .densenet_tables import layer_rows, per_layer_average, rounded, setting, sizes_of

# the thesis' network and data (batch size: the Lasagne implementation's)
PAPER = {"dataset": "cifar10", "n_train": None, "depth": 40, "growth": 12, "first": 16,
         "batch_size": 64, "eval_batch": 500}
# a DenseNet small enough for one CPU core, on the real CIFAR-10 subset
CPU = {"dataset": "cifar10", "n_train": None, "depth": 7, "growth": 12, "first": 16,
       "batch_size": 32, "eval_batch": 500}
THESIS_EPOCHS = 300  # length of the thesis' DenseNet runs (DrMAD's cap, the adaptive runs)


def check_knobs(cfg: ExperimentConfig, *rules: tuple) -> None:
    """Cross-checks of ``validate``: each rule ``(knob, holds(value), "what it must be")``
    raises ValueError naming the knob, what it must be and its value where it fails."""
    for name, holds, must in rules:
        value = getattr(cfg, name)
        if not holds(value):
            raise ValueError(f"{name} must be {must}, got {value}")


@dataclass(frozen=True)
class Setting(ExperimentConfig):
    """Data, network and elementary training knobs every DenseNet experiment has."""

    dataset: str = "digits"  # digits (embedded 8x8) | cifar10 (from the data root)
    n_train: int | None = 1077  # training examples (None: all but the validation ones)
    depth: int = 7  # DenseNet depth, 4 + 3 x layers per block (thesis: 40)
    growth: int = 4  # growth rate (thesis: 12)
    first: int = 4  # feature maps of the first convolution (thesis: 16)
    dropout: float = 0.2  # dropout after every convolution (thesis: 0.2)
    batch_size: int = 32  # mini-batch size (thesis: 64)
    lr: float = 0.1  # usual-form (initial) learning rate (thesis: 0.1)
    eval_batch: int = 100  # size of the cycling evaluation batches (thesis: 500-1000)

    CHOICES = {"dataset": ("digits", "cifar10")}

    def validate(self):
        """Check the network and training knobs.

        Raises:
            ValueError: a depth that is not 4 + 3 x (layers per block), a dropout outside [0, 1),
                or a learning rate that is not positive.
        """
        check_knobs(self, ("depth", lambda d: d > 4 and (d - 4) % 3 == 0,
                           "4 + 3 x (layers per block), e.g. 7, 10 or 40"),
                    ("dropout", lambda p: 0 <= p < 1, "in [0, 1)"),
                    ("lr", lambda lr: lr > 0, "positive"))


@dataclass(frozen=True)
class SGDSetting(Setting):
    """A fixed validation set and SGD with a fixed momentum (the exact-vs-DrMAD check)."""

    n_val: int = 360  # validation examples (thesis: 5,000 of CIFAR-10's 50,000 training images)
    momentum: float = 0.9  # momentum decay (thesis: 0.9)

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: a momentum outside [0, 1).
        """
        super().validate()
        check_knobs(self, ("momentum", lambda m: 0 <= m < 1, "in [0, 1)"))


@dataclass(frozen=True)
class ScheduledSetting(SGDSetting):
    """Training with the thesis' optimizer and learning-rate schedule (benchmark, DrMAD)."""

    optimizer: str = "nesterov"  # nesterov (the thesis) | momentum (regular, DrMAD's derivation)
    lr_schedule: str = "thesis"  # thesis: /10 at epochs 30 and 60 | densenet: at 50% and 75%

    CHOICES = {**Setting.CHOICES, "optimizer": ("nesterov", "momentum"),
               "lr_schedule": ("thesis", "densenet")}


# ---------------------------------------------------------------------- data and model
def load_splits(cfg: Setting, seed: int, n_val: int) -> data.Splits:
    """The seeded train/validation/test split of ``cfg.dataset`` with ``n_val`` validation
    examples; refuses a training set larger than the data holds."""
    if cfg.dataset == "digits":
        splits = data.load_digits(n_val=n_val, seed=seed, image=True)
        available = len(splits.y_train)
        if cfg.n_train is not None and cfg.n_train > available:
            raise ValueError(f"digits: n_train={cfg.n_train} but only {available} images remain "
                             f"after {n_val} validation and the test images; lower n_train "
                             "or n_val")
        if cfg.n_train is not None:
            splits.x_train = splits.x_train[:cfg.n_train]
            splits.y_train = splits.y_train[:cfg.n_train]
        return splits
    return data.load_cifar10(n_train=cfg.n_train, n_val=n_val, seed=seed)


def weight_names(model: FlatModel) -> list[str]:
    """Parameters that carry an L2 penalty: weights and batch-norm scales, not biases/shifts."""
    return [n for n in model.names if not n.endswith("bias")]


def build(cfg: Setting, groups, splits: data.Splits, seed: int,
          val_batch_size: int | None = None):
    """``(task, w0, space)`` for the DenseNet of ``cfg`` and hyperparameter ``groups``
    (a function of the FlatModel returning a list of :class:`~hpostudy.hyper.Group`);
    initialization, batch order and dropout masks seeded by ``seed``."""
    if cfg.batch_size > len(splits.y_train):
        raise ValueError(f"batch_size={cfg.batch_size} exceeds the {len(splits.y_train)} "
                         "training images; lower batch_size or raise n_train")
    module = DenseNet(cfg.depth, cfg.growth, cfg.first, dropout=cfg.dropout,
                      in_channels=splits.input_shape[0], num_classes=splits.num_classes,
                      seed=seed).to(cfg.device)
    model = FlatModel(module)
    space = HyperSpace(model, groups(model))
    task = ClassificationTask(model, splits.to(cfg.device), space, cfg.batch_size,
                              seed=seed, eval_batch=cfg.eval_batch,
                              val_batch_size=val_batch_size)
    return task, model.initial(device=cfg.device), space


def schedule(cfg: ScheduledSetting, epochs: int, steps_per_epoch: int):
    """The usual-form learning rate per step."""
    if cfg.lr_schedule == "thesis":
        milestones = [30 * steps_per_epoch, 60 * steps_per_epoch]
    else:
        milestones = [int(0.5 * epochs * steps_per_epoch), int(0.75 * epochs * steps_per_epoch)]
    return piecewise(cfg.lr, milestones)


def dynamics_for(cfg: ScheduledSetting, lr, clip: float | None = None):
    """The forward optimizer and the thesis-form SGD with momentum used for reverse passes.

    The usual form :math:`v \\leftarrow \\gamma v - \\alpha g` has the thesis' form
    (Algorithm 1) with learning rate :math:`\\alpha / (1-\\gamma)`."""
    gamma = cfg.momentum

    def thesis_lr(t):
        return lr(t) / (1 - gamma)

    regular = SGDMomentum(lr=thesis_lr, momentum=gamma, clip=clip)
    if cfg.optimizer == "momentum":
        return regular, regular
    return Nesterov(lr=lr, momentum=gamma, clip=clip), regular


# ---------------------------------------------------------------------- measuring
# On CPU the evaluation's forward passes take their inputs in chunks of at most this many
# values, in channels-last layout: the activations then stay in cache and the convolutions
# take their faster path (one thread, a DenseNet-7 on CIFAR-10 evaluates in less than half the
# time per image it takes on chunks of 500 in the default layout; the logits agree to float32
# rounding). On other devices the chunks are of ``eval_batch`` images in the default layout.
CPU_CHUNK_VALUES = 2 ** 18
NORM_BATCHES = 20  # training batches of the batch-norm statistics (ClassificationTask.errors)


def evaluate(task: ClassificationTask, w: torch.Tensor, theta: torch.Tensor,
             k: int, train_sample: int | None = None) -> dict[str, float]:
    """Errors and losses on the full sets and the error on the k-th cycling batch of each split
    (the thesis' measure, batches of 500-1000 in section 3.2), with the same batch-norm
    statistics: those of :meth:`~hpostudy.problems.ClassificationTask.errors`, recomputed at
    ``w`` from up to 20 seeded training batches.

    One forward pass over each split: the cycling batch (``eval_batch`` examples from
    ``(k * eval_batch) mod (n - eval_batch + 1)``) is read from the full set's predictions.

    Args:
        task: the DenseNet's task (:func:`build`).
        w: the flat trained weights.
        theta: the hyperparameters.
        k: the number of the cycling batch (the epoch).
        train_sample: evaluate the training split on its first ``train_sample`` images only
            (a seeded random sample: the splits are seeded permutations), the cycling batch
            included; None: on all of them.

    Returns:
        dict[str, float]: ``{split}_error`` and ``{split}_loss`` (the mean cross-entropy) on the
        full sets, then ``{split}_error_batch``, for the splits train, val and test.
    """
    weights = task.weights(w, theta)
    s, model = task.splits, task.model
    sets = (("train", s.x_train[:train_sample], s.y_train[:train_sample]),
            ("val", s.x_val, s.y_val),
            ("test", s.x_test, s.y_test))
    on_cpu = task.device.type == "cpu"
    chunk = max(1, CPU_CHUNK_VALUES // s.x_train[0].numel()) if on_cpu else task.eval_batch
    layout = torch.channels_last if on_cpu else torch.contiguous_format
    out, batch = {}, {}
    with torch.no_grad():
        if model.has_batch_norm:
            stream = task.stream
            model.recompute_batch_norm(weights, (
                s.x_train[stream.indices(t).to(task.device)].contiguous(memory_format=layout)
                for t in range(min(stream.batches_per_epoch, NORM_BATCHES))))
        with evaluation(model.module):
            params = model.unflatten(weights)
            for name, x, y in sets:
                wrong, loss = [], 0.0
                for i in range(0, len(y), chunk):
                    logits = model.call(params, x[i:i + chunk].contiguous(memory_format=layout))
                    wrong.append(logits.argmax(1) != y[i:i + chunk])
                    loss += float(F.cross_entropy(logits, y[i:i + chunk], reduction="sum"))
                wrong = torch.cat(wrong) if wrong else y.new_zeros(0, dtype=torch.bool)
                n = min(task.eval_batch, len(y))
                start = (k * n) % max(len(y) - n + 1, 1)
                out[f"{name}_error"] = int(wrong.sum()) / len(y) if len(y) else math.nan
                out[f"{name}_loss"] = loss / len(y) if len(y) else math.nan
                batch[f"{name}_error_batch"] = float(wrong[start:start + n].float().mean())
    return {**out, **batch}


# ---------------------------------------------------------------------- the scale gates
# One policy for the chapter: a claim about what a method's updates do (a direction) needs
# training of at least the thesis' shortest length in this chapter; a claim about a level the
# thesis' long runs reached (an error, a NaN in meta-iteration k) needs the thesis' network,
# data and epochs up to that point.
DIRECTION_EPOCHS = 10
WHY_DIRECTION = (
    "the thesis read what the updates do from runs of at least 10 epochs (its shortest: the "
    "first DrMAD meta-iteration from 1e-2 and 1e-7); at the thesis-form learning rate of 1 an "
    "L2 of 1e-4 shrinks the weights by about 1% per epoch of ~100 steps, so in shorter training "
    "the hyperparameters have had little to act on and their effect cannot show")


def is_thesis_scale(cfg: Setting, n_train: int) -> bool:
    """Whether the network and data are the thesis' (DenseNet-40, k=12, full CIFAR-10)."""
    return (cfg.dataset == "cifar10" and (cfg.depth, cfg.growth, cfg.first) == (40, 12, 16)
            and n_train >= 36000)
