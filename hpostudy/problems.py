"""Build a :class:`~hpostudy.dynamics.Problem` from a model, a dataset and a hyperparameter space.

The training loss of step ``t`` is the cross-entropy on mini-batch ``t`` of a
:class:`~hpostudy.data.BatchStream` plus the space's penalty (thesis section 1.2.1),

.. math:: L(w, \\theta, t) = -\\frac{1}{|B_t|}\\sum_{i \\in B_t} \\log \\hat y_{y_i}(x_i; w) + R(w, \\theta),

with dropout masks seeded by ``(seed, t)``. The validation loss is the cross-entropy on the
whole validation set without penalty (section 1.2.2). With ``reparam=True`` the trained variable
is :math:`z` and the network sees :math:`w = e^{s} \\odot z` (section 3.1).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .data import BatchStream, Splits
from .dynamics import Problem
from .hyper import HyperSpace
from .models.flat import FlatModel, seeded


@contextlib.contextmanager
def evaluation(module: nn.Module, batch_statistics: bool = False):
    """Evaluate with dropout off and batch norm on its running statistics, or, with
    ``batch_statistics=True``, on the statistics of the evaluated batch itself; restore the mode."""
    was = module.training
    module.eval()
    if batch_statistics:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.train()
    try:
        yield
    finally:
        module.train(was)


class ClassificationTask:
    """A model, its data and its hyperparameters; :meth:`problem` gives the :class:`Problem`.

    ``seed`` fixes the batch order; dropout masks come from ``dropout_seed`` (default: ``seed``),
    so that a second run can replay the first exactly or, as in the thesis' accident (section
    2.3), with other masks."""

    def __init__(self, model: FlatModel, splits: Splits, space: HyperSpace, batch_size: int,
                 seed: int = 0, reparam: bool = False, eval_batch: int = 2000,
                 dropout_seed: int | None = None, val_batch_size: int | None = None):
        self.model, self.splits, self.space = model, splits, space
        self.seed, self.reparam, self.eval_batch = seed, reparam, eval_batch
        self.dropout_seed = seed if dropout_seed is None else dropout_seed
        self.stream = BatchStream(len(splits.y_train), batch_size, seed)
        self.val_stream = (BatchStream(len(splits.y_val), val_batch_size, seed + 1)
                           if val_batch_size else None)
        self.has_dropout = any(isinstance(m, nn.Dropout) for m in model.module.modules())
        self.device = splits.x_train.device

    def weights(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """The network's weights: ``w`` itself, or :math:`e^s \\odot z` when reparametrized."""
        if not self.reparam:
            return w
        return self.space.scale(theta).to(w.dtype) * w

    def train_loss(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        idx = self.stream.indices(t).to(self.device)
        x, y = self.splits.x_train[idx], self.splits.y_train[idx]
        params = self.model.unflatten(w)
        net = self.model.unflatten(self.weights(w, theta)) if self.reparam else params
        ctx = seeded(self.dropout_seed, t, self.device) if self.has_dropout else contextlib.nullcontext()
        with ctx:
            logits = self.model.call(net, x)
        penalty = self.space.penalty(list(params.values()), theta)
        return F.cross_entropy(logits, y) + penalty.to(logits.dtype)

    def val_loss(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the validation set. With batch norm, the validation set's own
        statistics are used: the functional steps keep no running statistics to differentiate."""
        with evaluation(self.model.module, batch_statistics=self.model.has_batch_norm):
            logits = self.model(self.weights(w, theta), self.splits.x_val)
        return F.cross_entropy(logits, self.splits.y_val)

    def val_batch_loss(self, w: torch.Tensor, theta: torch.Tensor, k: int) -> torch.Tensor:
        """Validation loss on the k-th of the cycling validation batches (online methods)."""
        idx = self.val_stream.indices(k).to(self.device)
        with evaluation(self.model.module, batch_statistics=self.model.has_batch_norm):
            logits = self.model(self.weights(w, theta), self.splits.x_val[idx])
        return F.cross_entropy(logits, self.splits.y_val[idx])

    def problem(self, w0: torch.Tensor) -> Problem:
        return Problem(self.train_loss, self.val_loss, w0, space=self.space,
                       val_batch_loss=self.val_batch_loss if self.val_stream else None)

    @torch.no_grad()
    def errors(self, w: torch.Tensor, theta: torch.Tensor) -> dict[str, float]:
        """Error rates (fractions) and losses on the full train, validation and test sets
        (batch-norm statistics recomputed at ``w`` from up to 20 seeded training batches)."""
        out = {}
        weights = self.weights(w, theta)
        s = self.splits
        if self.model.has_batch_norm:
            stream = self.stream
            batches = (s.x_train[stream.indices(t).to(self.device)]
                       for t in range(min(stream.batches_per_epoch, 20)))
            self.model.recompute_batch_norm(weights, batches)
        with evaluation(self.model.module):
            for name, x, y in (("train", s.x_train, s.y_train), ("val", s.x_val, s.y_val),
                               ("test", s.x_test, s.y_test)):
                wrong, loss = 0, 0.0
                for i in range(0, len(y), self.eval_batch):
                    logits = self.model(weights, x[i:i + self.eval_batch])
                    yy = y[i:i + self.eval_batch]
                    wrong += int((logits.argmax(1) != yy).sum())
                    loss += float(F.cross_entropy(logits, yy, reduction="sum"))
                out[f"{name}_error"] = wrong / len(y) if len(y) else float("nan")
                out[f"{name}_loss"] = loss / len(y) if len(y) else float("nan")
        return out
