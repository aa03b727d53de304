"""FORWARD-HO and real-time RT-HO (Franceschi et al. 2017, section 2 and Algorithm 1).

The tangent :math:`Z_t = ds_t/d\\theta` (one state-sized column per hyperparameter) follows

.. math:: Z_t = A_t Z_{t-1} + B_t, \\qquad \\nabla f_t(\\theta) = \\nabla_s E(s_t)\\, Z_t \\;(+\\,\\partial E/\\partial\\theta),

computed with Jacobian-vector products of the step :math:`\\Phi_t` (``torch.func.jvp``, vectorized
over the :math:`m` hyperparameters with ``vmap``): each step costs about :math:`m` JVPs and the
memory, :math:`m` copies of the state, does not grow with :math:`T`. Random operations (dropout)
draw one mask for all :math:`m` tangents (``vmap(randomness="same")``), the same mask as the
other methods draw at that step; batch norm runs on batch statistics. The *partial* hypergradient
(7) is available at every step; RT-HO uses it to update :math:`\\theta` every ``every`` steps
without restarting training.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.func import jvp, vmap

from ..dynamics import Adam, Problem, check_call, check_horizon
from .adjoint import checked_update, require_memory
from .result import ForwardDiagnostics, HypergradResult, OnlineResult, OnlineUpdate


def _tangent_step(problem: Problem, dynamics, state, Z, theta, eye, t: int):
    """One step of the state and of :math:`Z_t = A_t Z_{t-1} + B_t`."""
    def phi(s, th):
        return dynamics.step(s, th, t, problem.func_grad)

    def push(z, e):
        return jvp(phi, (state, theta), (z, e))

    new_state, Z = vmap(push, in_dims=((0, 0), 0), out_dims=(None, 0),
                        randomness="same")(Z, eye)
    if not bool(torch.isfinite(new_state[0]).all()):
        raise FloatingPointError(f"the weights became NaN or infinite at step {t}")
    if not bool(torch.isfinite(Z[0]).all()):
        raise FloatingPointError(f"the tangent dw/dtheta became NaN or infinite at step {t} while "
                                 "the weights stayed finite: the step is not differentiable "
                                 "there; use method 'reverse'")
    return tuple(x.detach() for x in new_state), tuple(z.detach() for z in Z)


def _require_tangent(problem: Problem, dynamics, m: int) -> None:
    """Refuse, before training, a tangent that does not fit in memory or is not defined:
    Adam's step divides by :math:`\\sqrt{\\hat v + \\epsilon_\\text{root}}`, whose derivative in
    :math:`\\hat v` is infinite at a zero gradient entry when :math:`\\epsilon_\\text{root} = 0`,
    so the tangent there is :math:`0 \\cdot \\infty` = NaN."""
    if isinstance(dynamics, Adam) and dynamics.eps_root == 0:
        raise ValueError("Adam(eps_root=0) has no forward-mode derivative where a gradient entry "
                         "is exactly 0 (d sqrt(v)/dv is infinite at v = 0, and the tangent becomes "
                         "NaN): use eps_root > 0 (the default, 1e-16, changes no step by more "
                         "than rounding) or method 'reverse'")
    w0 = problem.w0
    require_memory(2 * m * w0.numel() * w0.element_size(), w0.device,
                   f"the forward-mode tangent ({m} hyperparameters x 2 x {w0.numel()} parameters)",
                   "use a reverse-mode method (reverse, exact, drmad) for this many hyperparameters")


def _partial(problem: Problem, state, Z, theta) -> tuple[float, torch.Tensor]:
    f, dw, dtheta_direct = problem.val_value_and_grads(state[0], theta)
    return float(f), Z[0].to(dw.dtype) @ dw + dtheta_direct


def forward(problem: Problem, dynamics, theta: torch.Tensor, T: int, *,
            record_partial_every: int | None = None, progress=None) -> HypergradResult:
    r"""Exact hypergradient by FORWARD-HO over ``T`` steps (Franceschi et al. 2017, Algorithm 1).

    Carries the tangent :math:`Z_t = dw_t/d\theta` forward by
    :math:`Z_t = A_t Z_{t-1} + B_t` (m Jacobian-vector products per step, m hyperparameters)
    and returns :math:`\nabla_w f(w_T) Z_T + \nabla_\theta f`.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        record_partial_every: ``k`` stores the partial hypergradient :math:`\nabla f_t`
            (Franceschi et al. eq. 7) after every k-th step in ``diagnostics.partial`` as
            ``(steps done, hypergrad)`` pairs; None records none.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the hypergradient (``grad_w0`` None) and :class:`ForwardDiagnostics`.

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    if record_partial_every is not None:
        check_horizon(record_partial_every, "record_partial_every")
    theta = theta.detach()
    m = theta.numel()
    _require_tangent(problem, dynamics, m)
    state = dynamics.init(problem.w0)
    Z = tuple(torch.zeros((m, *x.shape), dtype=x.dtype, device=x.device) for x in state)
    eye = torch.eye(m, dtype=theta.dtype, device=theta.device)
    partial = []
    for t in range(T):
        state, Z = _tangent_step(problem, dynamics, state, Z, theta, eye, t)
        if record_partial_every and (t + 1) % record_partial_every == 0:
            partial.append((t + 1, _partial(problem, state, Z, theta)[1]))
        if progress is not None:
            progress.update(1)
    f, hypergrad = _partial(problem, state, Z, theta)
    diagnostics = ForwardDiagnostics(m, partial if record_partial_every else None,
                                     stored_bytes=sum(z.numel() * z.element_size() for z in Z))
    return HypergradResult("forward", hypergrad, None, state[0], f, diagnostics)


def rt_ho(problem: Problem, dynamics, theta: torch.Tensor, T: int, *, every: int,
          update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
          callback: Callable[[int, tuple, torch.Tensor], bool | None] | None = None,
          progress=None):
    r"""RT-HO (Franceschi et al. 2017): FORWARD-HO during one training run, updating the
    hyperparameters every ``every`` steps.

    The update is ``theta = update(theta, partial_hypergrad)``; the tangent
    :math:`Z_t = A_t Z_{t-1} + B_t` is carried on across updates, not reset.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        every: the steps between two updates.
        update: ``update(theta, hypergrad) -> theta``, e.g. a :mod:`hpostudy.metaopt` optimizer.
        callback: ``callback(t, state, theta)`` sees every step (after that step's update, if
            any); returning True stops training there (early stopping).
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        OnlineResult: the final hyperparameters and state and one :class:`OnlineUpdate` per
        update (with the partial hypergradient it used).

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    check_horizon(every, "every")
    if every > T:
        raise ValueError(f"every ({every}) exceeds the horizon T ({T}): no update would happen")
    theta = theta.detach().clone()
    m = theta.numel()
    _require_tangent(problem, dynamics, m)
    state = dynamics.init(problem.w0)
    Z = tuple(torch.zeros((m, *x.shape), dtype=x.dtype, device=x.device) for x in state)
    eye = torch.eye(m, dtype=theta.dtype, device=theta.device)
    history = []
    for t in range(T):
        state, Z = _tangent_step(problem, dynamics, state, Z, theta, eye, t)
        if (t + 1) % every == 0:
            f, h = _partial(problem, state, Z, theta)
            history.append(OnlineUpdate(t + 1, f, float(h.norm()), h.detach().clone()))
            theta = checked_update(update, theta, h, t + 1)
        if progress is not None:
            progress.update(1)
        if callback is not None and callback(t, state, theta):
            break
    return OnlineResult("rt_ho", theta, state, history)
