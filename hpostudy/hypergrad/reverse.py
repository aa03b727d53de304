"""REVERSE-HO (Franceschi et al. 2017, Algorithm 2; thesis Algorithm 2): store the trajectory,
then run the adjoint recursion backwards.

With :math:`A_t = \\partial\\Phi_t/\\partial s_{t-1}` and :math:`B_t = \\partial\\Phi_t/\\partial\\theta`,

.. math::  \\alpha_T = \\nabla_s E(s_T),\\quad \\alpha_{t-1} = \\alpha_t A_t,\\quad
           d\\theta \\mathrel{+}= \\alpha_t B_t,

each step one vector-Jacobian product of :math:`\\Phi_t` (:meth:`~hpostudy.dynamics.Dynamics.vjp`:
a Hessian-vector product of the training loss by double backward), never ``create_graph``
through the whole loop. Works for any dynamics of :mod:`hpostudy.dynamics`.

Storage: one preallocated ``(T, P)`` buffer of the weights before each step. The velocities
(Adam: both moments) are stored too only where the adjoint depends on them (learning-rate
hyperparameters, clipping, Adam; see :attr:`~hpostudy.dynamics.Dynamics.vjp_needs_velocity`):
SGD with momentum is linear in the velocity. With ``checkpoint_every=k`` only every k-th state
is kept and each segment is recomputed during the reverse pass: :math:`O(T/k + k)` memory
(``k ~ sqrt(T)`` gives :math:`O(\\sqrt{T})`) for one extra forward pass of time.
"""
from __future__ import annotations

import math

import torch

from ..dynamics import Dynamics, FiniteWatch, Problem, check_call
from .adjoint import adjoint_along, require_memory
from .result import HypergradResult, ReverseDiagnostics


def reverse(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, *,
            checkpoint_every: int | str | None = None, record_norms: bool = False,
            progress=None) -> HypergradResult:
    r"""Exact hypergradient by REVERSE-HO over ``T`` steps (Franceschi et al. 2017, Algorithm 2).

    Trains ``T`` steps storing the states, then runs the adjoint recursion
    :math:`\alpha_{t-1} = \alpha_t A_t`, :math:`d\theta \mathrel{+}= \alpha_t B_t` backwards from
    :math:`\alpha_T = \nabla_s f(s_T)` (module docstring), one vector-Jacobian product per step.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        checkpoint_every: None stores every state; an integer ``k`` stores every k-th state and
            recomputes the segments (:math:`O(T/k + k)` memory); ``"sqrt"`` uses
            ``k = ceil(sqrt(T))``.
        record_norms: record in ``diagnostics.accumulated_norm[i]`` the norm of the accumulated
            hypergradient after reverse step i (i = 0 is step T-1), as thesis Fig 3.4.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the hypergradient, ``grad_w0`` = :math:`df/dw_0`, :math:`w_T`,
        :math:`f(w_T)` and :class:`ReverseDiagnostics`.

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    k = _segment(checkpoint_every, T)
    f, ds, dtheta, state, diagnostics = reverse_pass(problem, dynamics, theta, T, 0, k,
                                                     record_norms, progress)
    return HypergradResult("reverse", dtheta, ds[0], state[0], f, diagnostics)


def reverse_pass(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, first: int,
                 k: int, record_norms: bool = False, progress=None):
    """Train ``T`` steps, storing the states before steps ``first, ..., T-1`` (every ``k``-th
    with segments recomputed when ``k > 1``), and run the adjoint recursion from step ``T-1``
    down to step ``first``: REVERSE-HO with ``first = 0``, truncated reverse mode
    (:func:`~.truncated.truncated`) with ``first = T - K``. The steps before ``first`` are
    trained exactly as here but neither stored nor reversed.

    Returns ``f`` (float), the adjoint ``ds`` of the state before step ``first``, the
    hypergradient (direct term of ``f`` included), the final state and the
    :class:`~.result.ReverseDiagnostics` of the stored part."""
    theta = theta.detach()
    w0 = problem.w0
    keep_v = dynamics.vjp_needs_velocity
    K = T - first
    rows = K if k == 1 else k
    state = dynamics.init(w0)
    per_state = w0.numel() + (state[1].numel() if keep_v else 0)
    require_memory(rows * per_state * w0.element_size(), w0.device,
                   f"the stored trajectory ({rows} states)",
                   "use checkpoint_every='sqrt', or method 'exact' or 'drmad'")
    weights = torch.empty((rows, w0.numel()), dtype=w0.dtype, device=w0.device)
    velocities = (torch.empty((rows, *state[1].shape), dtype=w0.dtype, device=w0.device)
                  if keep_v else None)  # Adam's second part holds two moments
    checkpoints: dict[int, tuple] = {}
    watch = FiniteWatch("the weights", w0)
    with torch.no_grad():
        for t in range(T):
            if t >= first and k == 1:
                weights[t - first].copy_(state[0])
                if keep_v:
                    velocities[t - first].copy_(state[1])
            elif t >= first and (t - first) % k == 0:
                checkpoints[t] = state
            state = dynamics.step(state, theta, t, problem.grad)
            watch(t, state[0])
            if progress is not None:
                progress.update(1)
        watch.flush()
    f, dw, dtheta_direct = problem.val_value_and_grads(state[0], theta)
    ds = (dw, torch.zeros_like(state[1]))
    dtheta = torch.zeros_like(theta)
    norms: list[float] | None = [] if record_norms else None
    for start in reversed(range(first, T, k) if k > 1 else [first]):
        stop = min(start + k, T) if k > 1 else T
        if k > 1:  # recompute the states inside the segment
            s = checkpoints.pop(start)
            with torch.no_grad():
                for t in range(start, stop):
                    weights[t - start].copy_(s[0])
                    if keep_v:
                        velocities[t - start].copy_(s[1])
                    if t < stop - 1:
                        s = dynamics.step(s, theta, t, problem.grad)
        points = ((start + i, weights[i], velocities[i] if keep_v else None)
                  for i in range(stop - start - 1, -1, -1))
        ds, dtheta = adjoint_along(problem, dynamics, theta, points, ds, dtheta, norms=norms)
    n_states = K if k == 1 else len(range(first, T, k))
    stored_bytes = sum(x.numel() * x.element_size() for x in (weights, velocities)
                       if x is not None)
    if k > 1:  # the checkpoints hold whole states
        stored_bytes += n_states * sum(x.numel() * x.element_size() for x in state)
    diagnostics = ReverseDiagnostics(n_states, k, norms, stored_bytes=stored_bytes)
    return float(f), ds, dtheta_direct + dtheta, state, diagnostics


def _segment(checkpoint_every, T: int) -> int:
    if checkpoint_every is None:
        return 1
    if checkpoint_every == "sqrt":
        return max(1, math.ceil(math.sqrt(T)))
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
        raise ValueError(f"checkpoint_every must be None, 'sqrt' or a positive integer, got "
                         f"{checkpoint_every!r}")
    if checkpoint_every <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    return checkpoint_every
