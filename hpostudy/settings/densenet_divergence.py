"""When a DenseNet training run of :mod:`hpostudy.settings.densenet` has diverged, checked after
every epoch (:func:`check_divergence`).

A training run has diverged when, after an epoch, its loss on the training set is not finite
or more than :data:`DIVERGED_LOSS_FACTOR` times the loss at initialization, or when, from the second epoch on, its training error is at chance
level: within :data:`CHANCE_MARGIN` of the error of always predicting the most frequent
training class (about 0.9 for CIFAR-10). A diverged run raises :class:`Diverged` and yields no
verdict.
"""
from __future__ import annotations

import math

import torch


DIVERGED_LOSS_FACTOR = 3.0
CHANCE_MARGIN = 0.01


class Diverged(RuntimeError):
    """A training run diverged (see the module docstring for the rule)."""


def chance_error(labels: torch.Tensor) -> float:
    """The error of always predicting the most frequent of ``labels``."""
    return 1 - float(torch.bincount(labels).max()) / len(labels)


def check_divergence(row: dict, initial_loss: float, chance_level: float, what: str) -> None:
    """Raise :class:`Diverged` if the epoch ``row`` (``epoch``, ``train_loss``,
    ``train_error``) breaks the rule of the module docstring, with the training loss at
    initialization and the training set's :func:`chance_error`; ``what`` names the run."""
    loss, error, epoch = row["train_loss"], row["train_error"], row["epoch"]
    chance = chance_level - CHANCE_MARGIN
    if not math.isfinite(loss) or loss > DIVERGED_LOSS_FACTOR * initial_loss:
        reason = (f"the training loss is {loss:.4g}, more than {DIVERGED_LOSS_FACTOR:g} times "
                  f"its {initial_loss:.4g} at initialization")
    elif epoch >= 2 and error >= chance:
        reason = (f"the training error is {error:.3f}, at chance level (always predicting "
                  f"the most frequent class errs {chance_level:.3f})")
    else:
        return
    raise Diverged(f"{what} diverged in epoch {epoch}: {reason}. No verdict is written from a "
                   "diverged run. Lower the learning rate (-p lr=...) or the meta rates, or "
                   "check the data.")
