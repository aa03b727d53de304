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
    """A context in which ``module`` evaluates: dropout off, batch norm on its running statistics.

    Args:
        module: the network.
        batch_statistics: let batch norm use the statistics of the evaluated batch itself
            instead.

    Yields:
        None: the body runs in evaluation mode; the module's mode is restored after it.
    """
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
    r"""A model, its data and its hyperparameters: a classification task whose :meth:`problem` is
    the bilevel :class:`~hpostudy.dynamics.Problem`.

    Training loss of step t (thesis section 1.2.1): cross-entropy on mini-batch :math:`B_t`
    plus the space's penalty,

    .. math:: L(w, \theta, t) = -\frac{1}{|B_t|}\sum_{i \in B_t} \log \hat y_{y_i}(x_i; w)
              + R(w, \theta);

    validation loss: cross-entropy on the whole validation set (section 1.2.2).

    Args:
        model: the network as a :class:`~hpostudy.models.FlatModel`.
        splits: training, validation and test data, on the model's device and dtype.
        space: the hyperparameter space, built for ``model``.
        batch_size: the training mini-batch size.
        seed: fixes the batch order (batch t is a function of ``(seed, t)``).
        reparam: train :math:`z` with :math:`w = e^{s} \odot z` (thesis section 3.1).
        eval_batch: the batch size of :meth:`errors`.
        dropout_seed: seeds the dropout masks (default: ``seed``), so that a second run can
            replay the first exactly or, as in the thesis' accident (section 2.3), with other
            masks.
        val_batch_size: the size of the cycling validation batches of :meth:`val_batch_loss`
            (None: none).

    Raises:
        ValueError: a space built for another model, or model and data on different devices.
        TypeError: inputs and parameters of different dtypes.
    """

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
        if space.model is not model:
            raise ValueError("the hyperparameter space was built for another FlatModel: build "
                             "it with HyperSpace(model, groups) for this task's model")
        param = next(model.module.parameters())
        if param.device != self.device:
            raise ValueError(f"the model is on {param.device} but the data on {self.device}: "
                             "move both to one device (model.to(device), splits.to(device))")
        if splits.x_train.is_floating_point() and splits.x_train.dtype != param.dtype:
            raise TypeError(f"the inputs are {splits.x_train.dtype} but the model's parameters "
                            f"{param.dtype}: use splits.to(dtype=...) or model.to(dtype=...)")

    def weights(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        r"""The network's weights: ``w`` itself, or :math:`e^s \odot z` when reparametrized.

        Args:
            w: the trained flat variable (:math:`w`, or :math:`z`).
            theta: the hyperparameters.

        Returns:
            torch.Tensor: the flat weights the network uses.
        """
        if not self.reparam:
            return w
        return self.space.scale(theta).to(w.dtype) * w

    def train_loss(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        r"""The training loss :math:`L(w, \theta, t)` of step ``t``: cross-entropy on mini-batch t
        plus the penalty.

        Dropout masks are seeded by ``(dropout_seed, t)``.

        Args:
            w: the flat trained variable.
            theta: the hyperparameters.
            t: the step (selects the mini-batch).

        Returns:
            torch.Tensor: the loss, a scalar differentiable in ``w`` and ``theta``.
        """
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
        r"""The validation loss :math:`f(w, \theta)`: cross-entropy on the whole validation set, no
        penalty.

        With batch norm, the validation set's own statistics are used: the functional steps keep no
        running statistics to differentiate.

        Args:
            w: the flat trained variable.
            theta: the hyperparameters.

        Returns:
            torch.Tensor: the loss, a scalar.
        """
        with evaluation(self.model.module, batch_statistics=self.model.has_batch_norm):
            logits = self.model(self.weights(w, theta), self.splits.x_val)
        return F.cross_entropy(logits, self.splits.y_val)

    def val_batch_loss(self, w: torch.Tensor, theta: torch.Tensor, k: int) -> torch.Tensor:
        """The validation loss on the k-th of the cycling validation batches (online methods).

        Args:
            w: the flat trained variable.
            theta: the hyperparameters.
            k: the batch's number.

        Returns:
            torch.Tensor: the loss, a scalar.
        """
        idx = self.val_stream.indices(k).to(self.device)
        with evaluation(self.model.module, batch_statistics=self.model.has_batch_norm):
            logits = self.model(self.weights(w, theta), self.splits.x_val[idx])
        return F.cross_entropy(logits, self.splits.y_val[idx])

    def problem(self, w0: torch.Tensor) -> Problem:
        """The bilevel problem of this task.

        Args:
            w0: the initial flat weights, of the model's size, dtype and device
                (``model.initial(dtype, device)``).

        Returns:
            Problem: training and validation losses, ``w0`` and the space.

        Raises:
            ValueError: ``w0`` of another shape.
            TypeError: ``w0`` of another dtype or device than the model's.
        """
        param = next(self.model.module.parameters())
        if not isinstance(w0, torch.Tensor) or w0.shape != (self.model.size,):
            raise ValueError(f"w0 must be the model's flat weights, shape ({self.model.size},); "
                             f"got {tuple(w0.shape) if isinstance(w0, torch.Tensor) else type(w0).__name__}")
        if w0.dtype != param.dtype or w0.device != param.device:
            raise TypeError(f"w0 is {w0.dtype} on {w0.device} but the model's parameters are "
                            f"{param.dtype} on {param.device}: use model.initial(dtype, device)")
        return Problem(self.train_loss, self.val_loss, w0, space=self.space,
                       val_batch_loss=self.val_batch_loss if self.val_stream else None)

    @torch.no_grad()
    def errors(self, w: torch.Tensor, theta: torch.Tensor) -> dict[str, float]:
        """Error rates and losses on the full training, validation and test sets.

        Batch-norm statistics are recomputed at ``w`` from up to 20 seeded training batches.

        Args:
            w: the flat trained variable.
            theta: the hyperparameters.

        Returns:
            dict[str, float]: ``train_error``, ``val_error``, ``test_error`` (fractions) and
            ``train_loss``, ``val_loss``, ``test_loss``.
        """
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
