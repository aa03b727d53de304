"""The task of :mod:`hpostudy.experiments.rt_ho` (Franceschi et al. 2017, Fig 1 right): the
primary classifier and the secondary regressor sharing their first layers, trained on the joint
objective :math:`E_P + \\rho E_S` (:class:`TwoTasks`), and the training dynamics whose learning
rate and momentum are hyperparameters beside :math:`\\rho` (:data:`DYNAMICS`). ``cfg`` is the
experiment's :class:`~hpostudy.experiments.rt_ho.Config` (named in annotations only: this module
is imported by the experiment module, not the other way round).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import data
from ..dynamics import Problem, TunedSGDMomentum
from ..models import FlatModel, SharedTrunkMLP
from .rt_ho_data import load, teacher_targets


class TwoTasks:
    """The joint objective :math:`E_P + \\rho E_S` on mini-batches, with :math:`\\rho` =
    ``theta[0]`` and the learning rate and momentum in ``theta[1:]``: :math:`E_P` the
    cross-entropy of the classifier, :math:`E_S` the mean squared error of the regressor (over
    the batch and the target's dimensions, as the paper's). The validation loss is :math:`E_P` on the
    whole validation set."""

    def __init__(self, cfg: Config, seed: int, dtype: torch.dtype = torch.float32):
        self.splits = load(cfg).to(cfg.device, dtype)
        s = self.splits
        self.targets = teacher_targets(cfg)["targets"].to(cfg.device, dtype)
        self.dtype = dtype
        module = SharedTrunkMLP(s.x_train[0].numel(), s.num_classes, cfg.embedding,
                                hidden=cfg.hidden, seed=seed)
        self.model = FlatModel(module.to(cfg.device))
        self.stream = data.BatchStream(len(s.y_train), cfg.batch_size, seed)

    def train_loss(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        r"""The training loss :math:`E_P + \rho E_S` on mini-batch ``t``.

        Args:
            w: the flat weights of the two networks.
            theta: the hyperparameters; only :math:`\rho` = ``theta[0]`` enters the loss.
            t: the step, which picks the mini-batch.

        Returns:
            torch.Tensor: the scalar loss.
        """
        idx = self.stream.indices(t).to(self.targets.device)
        x, y = self.splits.x_train[idx], self.splits.y_train[idx]
        logits, regression = self.model(w, x)
        # written out: F.mse_loss's backward fails under forward-mode (jvp over grad in vmap)
        secondary = ((regression - self.targets[idx]) ** 2).mean()
        return F.cross_entropy(logits, y) + theta[0].to(w.dtype) * secondary

    def val_loss(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """The validation loss: the classifier's cross-entropy on the whole validation set.

        Args:
            w: the flat weights.
            theta: the hyperparameters (unused: the validation loss does not depend on them).

        Returns:
            torch.Tensor: the scalar loss.
        """
        return F.cross_entropy(self.model(w, self.splits.x_val)[0], self.splits.y_val)

    def problem(self) -> Problem:
        """The bilevel problem that training and the hypergradients take.

        Returns:
            Problem: the training and validation losses and the networks' initial weights.
        """
        return Problem(self.train_loss, self.val_loss, self.model.initial(self.dtype))

    @torch.no_grad()
    def error(self, w: torch.Tensor, split: str) -> float:
        """The classifier's error rate on one split.

        Args:
            w: the flat weights.
            split: ``"train"``, ``"val"`` or ``"test"``.

        Returns:
            float: the fraction of misclassified images.
        """
        x, y = getattr(self.splits, f"x_{split}"), getattr(self.splits, f"y_{split}")
        return float((self.model(w, x)[0].argmax(1) != y).float().mean())


DYNAMICS = TunedSGDMomentum(lr_entry=1, momentum_entry=2)
