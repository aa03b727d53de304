r"""Truncated reverse mode (Shaban, Cheng, Hatch & Boots 2019, "Truncated back-propagation
for bilevel optimization", K-RMD): REVERSE-HO through the last ``K`` of ``T`` steps only.

With the adjoint recursion of :mod:`~.reverse` (:math:`A_t = \partial\Phi_t/\partial s_t`,
:math:`B_t = \partial\Phi_t/\partial\theta`),

.. math::  \alpha_T = \nabla_s f(s_T),\quad \alpha_t = \alpha_{t+1} A_t,\quad
           h_K = \partial_\theta f(w_T, \theta) + \sum_{t=T-K}^{T-1} \alpha_{t+1} B_t,

stopped after ``K`` reverse steps: the terms of steps :math:`0, \dots, T-K-1` are dropped.
:math:`h_K` is exactly the gradient of :math:`f(w_T)` with respect to a :math:`\theta` that
acts on the last ``K`` steps only (the first :math:`T-K` steps run at the same value, held
fixed), and a biased estimate of :math:`df(w_T)/d\theta`. The bias is the sum of the dropped
terms; where the steps contract (:math:`\|A_t\| \le \rho < 1`, strongly convex training near
its minimum) it shrinks like :math:`\rho^K` (the bound Shaban et al. prove for strongly
convex inner problems). ``K = T`` is
:func:`~.reverse.reverse`, bit for bit: both run :func:`~.reverse.reverse_pass`.

Memory: the ``K`` states of the last steps (or every k-th of them with ``checkpoint_every``),
independent of ``T``; time: ``T`` forward steps and ``K`` reverse steps (one Hessian-vector
product each).
"""
from __future__ import annotations

import torch

from ..dynamics import Dynamics, Problem, check_call
from .result import HypergradResult, TruncatedDiagnostics
from .reverse import _segment, reverse_pass


def truncated(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, *,
              steps: int | None = None, checkpoint_every: int | str | None = None,
              record_norms: bool = False, progress=None) -> HypergradResult:
    r"""Hypergradient by reverse mode through the last ``steps`` = K of ``T`` steps (Shaban et al.
    2019).

    The adjoint recursion of :func:`reverse` run from step T-1 down to step T-K only
    (:math:`h_K` of the module docstring): a biased estimate that drops the earlier steps'
    terms; K = T gives :func:`reverse`'s result bit for bit.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        steps: K, an integer in ``[1, T]``; None reverses all ``T`` steps.
        checkpoint_every: as for :func:`reverse`, over the K stored steps (``"sqrt"``: every
            :math:`\lceil\sqrt K\rceil`-th state).
        record_norms: as for :func:`reverse`.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the hypergradient, ``grad_w0`` = :math:`df/dw_0` when K = T and None
        otherwise (the adjoint stops at :math:`w_{T-K}`), and :class:`TruncatedDiagnostics`.

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    K = T if steps is None else steps
    if isinstance(K, bool) or not isinstance(K, int) or K <= 0:
        raise ValueError(f"steps (K, the steps reversed) must be a positive integer, got {K!r}")
    if K > T:
        raise ValueError(f"steps (K = {K}) exceeds the horizon T ({T}): truncated reverse mode "
                         "reverses at most the T steps trained")
    k = _segment(checkpoint_every, K)
    f, ds, dtheta, state, stored = reverse_pass(problem, dynamics, theta, T, T - K, k,
                                                record_norms, progress)
    diagnostics = TruncatedDiagnostics(K, stored.stored_states, stored.segment, K,
                                       stored.accumulated_norm, stored_bytes=stored.stored_bytes)
    return HypergradResult("truncated", dtheta, ds[0] if K == T else None, state[0], f,
                           diagnostics)
