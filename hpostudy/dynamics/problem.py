r"""The bilevel problem a hypergradient is taken of: the training loss :math:`L(w, \theta, t)`
on mini-batch ``t`` (penalty included, thesis section 1.2.1), the validation loss
:math:`f(w, \theta)` at the final weights and the initial weights :math:`w_0`; with the
training gradient :math:`g_t = \nabla_w L(w_t, \theta, t)` (thesis Algorithm 1, line 4) and
its linearization for Hessian-vector products (Algorithm 2, lines 11-12).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import grad as func_grad

from ..hyper import HyperSpace, check_vector


@dataclass(frozen=True)
class Linearization:
    r"""The training gradient :math:`g = \nabla_w L(w, \theta, t)` with its graph: ``w`` and
    ``theta`` are leaves, so that ``torch.autograd.grad(g, (w, theta), u)`` gives the
    Hessian-vector products :math:`u^\top\nabla_w\nabla_w L` and
    :math:`u^\top\nabla_\theta\nabla_w L` (thesis Algorithm 2, lines 11-12).

    Attributes:
        w: the weights at which the gradient is taken (a leaf requiring grad).
        theta: the hyperparameters (a leaf requiring grad).
        g: :math:`\nabla_w L(w, \theta, t)`, built with ``create_graph=True``.
    """

    w: torch.Tensor
    theta: torch.Tensor
    g: torch.Tensor


@dataclass
class Problem:
    r"""What a hypergradient is taken of: the inner problem :math:`\min_w L(w, \theta)` trained
    from :math:`w_0`, and the outer objective :math:`f(w_T, \theta)` (thesis section 1.2.2;
    Franceschi et al. 2017, problem (2), :math:`f_T(\lambda) = E(s_T(\lambda))`).

    Attributes:
        train_loss: ``train_loss(w, theta, t)``, the training loss :math:`L(w, \theta, t)` on
            mini-batch ``t`` with its penalty, a scalar tensor.
        val_loss: ``val_loss(w, theta)``, the outer objective :math:`f` at the final weights, a
            scalar tensor.
        w0: the initial weights, a non-empty flat floating-point vector (fixed by a seed, the same
            in every meta-iteration).
        val_batch_loss: optional ``val_batch_loss(w, theta, k)``, a validation loss on batch ``k``
            (the online methods use it; None means ``val_loss``).
        space: the :class:`~hpostudy.hyper.HyperSpace` the hyperparameters must fit (checked by
            :meth:`check_theta`); None accepts any finite vector.

    Raises:
        TypeError: ``w0`` is not a floating-point tensor.
        ValueError: ``w0`` is not a non-empty flat vector, or has NaN or infinite entries.
    """

    train_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    val_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    w0: torch.Tensor
    val_batch_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None
    space: HyperSpace | None = None

    def __post_init__(self):
        if not isinstance(self.w0, torch.Tensor) or not self.w0.is_floating_point():
            raise TypeError("w0 must be a floating-point torch.Tensor, got "
                            f"{getattr(self.w0, 'dtype', type(self.w0).__name__)}")
        if self.w0.dim() != 1 or self.w0.numel() == 0:
            raise ValueError(f"w0 must be a non-empty flat vector, got shape {tuple(self.w0.shape)}")
        if not bool(torch.isfinite(self.w0).all()):
            raise ValueError("w0 has NaN or infinite entries")

    def check_theta(self, theta: torch.Tensor) -> None:
        r"""Check that ``theta`` fits this problem: on the weights' device, within the space
        (:meth:`~hpostudy.hyper.HyperSpace.check`, or a finite vector when there is none), and of a
        dtype at least as precise as the weights'.

        Args:
            theta: the hyperparameters :math:`\theta`.

        Raises:
            ValueError: ``theta`` on another device, or outside the space.
            TypeError: ``theta`` less precise than the weights (or not a tensor).
        """
        if isinstance(theta, torch.Tensor) and theta.device != self.w0.device:
            raise ValueError(f"hyperparameters on {theta.device} but the weights on "
                             f"{self.w0.device}: put both on one device")
        if self.space is not None:
            self.space.check(theta)
        else:
            check_vector(theta, None)
        if torch.finfo(theta.dtype).eps > torch.finfo(self.w0.dtype).eps:
            raise TypeError(f"hyperparameters are {theta.dtype} but the weights {self.w0.dtype}: "
                            f"the hypergradient would be computed in {theta.dtype}; pass "
                            f"theta.to({self.w0.dtype}) (hyperparameter spaces give float64)")

    def grad(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        r"""The training gradient :math:`g_t = \nabla_w L(w, \theta, t)` (thesis Algorithm 1,
        line 4) by one backward pass, no graph kept.

        Args:
            w: the weights, a flat vector.
            theta: the hyperparameters.
            t: the step, which selects the mini-batch.

        Returns:
            torch.Tensor: :math:`g_t`, shaped like ``w``.

        Raises:
            ValueError: the training loss is not a scalar tensor, or does not depend on ``w``.
        """
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            return self._grad(w_, theta.detach(), t, create_graph=False)

    def func_grad(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        r"""The training gradient :math:`\nabla_w L(w, \theta, t)` through ``torch.func.grad``, for
        use inside ``torch.func`` transforms (the forward-mode methods take its ``jvp`` under
        ``vmap``: FORWARD-HO, Franceschi et al. 2017, Algorithm 1).

        Args:
            w: the weights, a flat vector.
            theta: the hyperparameters.
            t: the step, which selects the mini-batch.

        Returns:
            torch.Tensor: :math:`\nabla_w L(w, \theta, t)`, shaped like ``w``.
        """
        return func_grad(self.train_loss)(w, theta, t)

    def linearize(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> Linearization:
        """The training gradient :math:`g_t` at ``(w, theta)`` with its graph, for the
        Hessian-vector products of thesis Algorithm 2, lines 11-12 (see :class:`Linearization`).

        Args:
            w: the weights, a flat vector (detached and made a leaf).
            theta: the hyperparameters (detached and made a leaf).
            t: the step, which selects the mini-batch.

        Returns:
            Linearization: the leaves and :math:`g_t` built with ``create_graph=True``.

        Raises:
            ValueError: the training loss is not a scalar tensor, or does not depend on ``w``.
        """
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            return Linearization(w_, th, self._grad(w_, th, t, create_graph=True))

    def _grad(self, w, theta, t, create_graph: bool) -> torch.Tensor:
        loss = self.train_loss(w, theta, t)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"train_loss must return a scalar tensor, got "
                             f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}")
        g = (torch.autograd.grad(loss, w, create_graph=create_graph, allow_unused=True)[0]
             if loss.requires_grad else None)
        if g is None:
            raise ValueError("train_loss(w, theta, t) does not depend on w")
        return g

    def val_value_and_grads(self, w: torch.Tensor, theta: torch.Tensor):
        r"""The outer objective and its partial derivatives at the final weights:
        :math:`f(w, \theta)`, :math:`\partial f/\partial w` (thesis Algorithm 2, line 3,
        :math:`dw_T = \nabla_w f(w_T)`) and the direct :math:`\partial f/\partial\theta`.

        Args:
            w: the weights, usually :math:`w_T`.
            theta: the hyperparameters.

        Returns:
            tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ``(f, df_dw, df_dtheta)``, ``f``
            detached; a derivative is zero where ``f`` does not depend on its argument.

        Raises:
            ValueError: the validation loss is not a scalar tensor.
            FloatingPointError: the validation loss is NaN or infinite.
        """
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            f = self.val_loss(w_, th)
            if not isinstance(f, torch.Tensor) or f.dim() != 0:
                raise ValueError(f"val_loss must return a scalar tensor, got "
                                 f"{tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__}")
            dw, dth = torch.autograd.grad(f, (w_, th), allow_unused=True)
        if not bool(torch.isfinite(f)):
            raise FloatingPointError(f"the validation loss at the final weights is {float(f.detach())}")
        dw = torch.zeros_like(w) if dw is None else dw
        return f.detach(), dw, (torch.zeros_like(theta) if dth is None else dth)
