"""The reverse loops shared by the hypergradient methods.

* :func:`adjoint_along` -- the adjoint recursion along given points (REVERSE-HO's stored or
  recomputed states, truncated reverse mode, the online method's window, DrMAD's straight line,
  the diagnostics' paths);
* :func:`reverse_loop` -- the adjoint recursion along the path that the dynamics reconstructs
  by inverting its steps (thesis Algorithm 2, lines 5-12), in fixed point (exact reversal) or in
  floating point (float reversal, the first steps of DrMAD2).
"""
from __future__ import annotations

import torch

from pathlib import Path

from ..dynamics import Dynamics, FloatArithmetic, Problem, State


def checked_update(update, theta: torch.Tensor, hypergrad: torch.Tensor, step: int) -> torch.Tensor:
    """``update(theta, hypergrad)`` of an online method, refused unless it returns finite
    hyperparameters of the same shape (the error names the step). The update sees the
    hypergradient detached, so that an optimizer's state cannot keep an autograd graph alive."""
    new = update(theta, hypergrad.detach())
    if not isinstance(new, torch.Tensor) or new.shape != theta.shape:
        raise ValueError(f"the update at step {step} returned "
                         f"{tuple(new.shape) if isinstance(new, torch.Tensor) else type(new).__name__}"
                         f"; it must return hyperparameters of shape {tuple(theta.shape)}")
    if not bool(torch.isfinite(new).all()):
        raise FloatingPointError(f"the update at step {step} made the hyperparameters NaN or "
                                 "infinite")
    return new.detach()


def available_memory(device: torch.device) -> int | None:
    """Bytes that can still be allocated on ``device`` (None where unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def require_memory(nbytes: int, device: torch.device, what: str, hint: str) -> None:
    """Refuse, before training, a run whose ``what`` alone needs more memory than is free."""
    free = available_memory(device)
    if free is not None and nbytes > free:
        raise MemoryError(f"{what} needs {nbytes / 1e9:.1f} GB but {free / 1e9:.1f} GB are free on "
                          f"{device}; {hint}")


def require_reversible(dynamics: Dynamics, method: str, steps: range) -> None:
    """Raise unless ``dynamics`` can undo each step in ``steps`` (before any training)."""
    if not isinstance(dynamics, Dynamics):
        raise TypeError(f"dynamics must be an hpostudy.dynamics.Dynamics, got "
                        f"{type(dynamics).__name__}")
    if not dynamics.reversible:
        if dynamics.clip is not None and type(dynamics).__name__ == "SGDMomentum":
            raise ValueError(f"method '{method}' cannot reverse clipped weights; set clip=None")
        raise TypeError(f"method '{method}' reverses SGD with momentum in the thesis' form "
                        f"(dynamics.SGDMomentum); {type(dynamics).__name__} cannot be reversed: "
                        f"{dynamics.irreversible_reason}. "
                        "Use method 'reverse', 'forward' or 'drmad' for other dynamics.")
    for t in steps:
        gamma = dynamics.gamma(t)
        if gamma <= 0:
            raise ValueError(f"method '{method}' divides by the momentum when it reverses a step, "
                             f"and the momentum is {gamma} at step {t}: SGD without momentum "
                             "cannot be reversed. Use 'reverse' (stored trajectory) or 'drmad' "
                             "(straight line, no reversal).")
        if not gamma < 1:
            raise ValueError(f"method '{method}' needs a momentum in (0, 1) at every step; it "
                             f"is {gamma} at step {t}")


def adjoint_along(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, points,
                  ds: State, dtheta: torch.Tensor, *, velocity_from_gradient=None,
                  norms: list[float] | None = None, observe=None, progress=None):
    r"""The adjoint recursion of reverse-mode differentiation along given points: the one loop
    that REVERSE-HO (stored trajectory, checkpointed or truncated), the online method's window,
    DrMAD's straight line and :func:`~.diagnostics.reverse_along` all run.

    For each point, from the last step back to the first, one vector-Jacobian product of the
    step :math:`\Phi_t` at the state :math:`s_t = (w_t, v_t)` before it
    (:meth:`~hpostudy.dynamics.Dynamics.vjp`, a Hessian-vector product by double backward):

    .. math:: ds_t = ds_{t+1}\, \frac{\partial\Phi_t}{\partial s_t},\qquad
              d\theta \mathrel{+}= ds_{t+1}\, \frac{\partial\Phi_t}{\partial\theta},

    the REVERSE-HO recursion :math:`\alpha_t = \alpha_{t+1} A_{t+1}`, :math:`g = g + \alpha_t
    B_t` (Franceschi et al. 2017, Algorithm 2), which for SGD with momentum is thesis
    Algorithm 2, lines 5 and 9-12 (Maclaurin et al. 2015, Algorithm 2) without the reversal
    of lines 6-8: the points are given, not reconstructed (that is :func:`reverse_loop`).

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`).
        dynamics: the optimizer whose steps are differentiated.
        theta: the hyperparameters, detached.
        points: ``(t, w_t, v_t)`` triples in reverse order of the steps: the weights and
            velocity before step ``t``; ``v_t`` None where the adjoint does not read the
            velocity (:attr:`~hpostudy.dynamics.Dynamics.vjp_needs_velocity` False; a zero
            velocity stands in) or where ``velocity_from_gradient`` gives it.
        ds: the adjoint :math:`(dw, dv)` of the state after the first point's step (the last
            step's: :math:`(\nabla_w f(w_T), 0)` for a whole pass).
        dtheta: the hypergradient accumulated so far.
        velocity_from_gradient: ``velocity_from_gradient(g, t)``, the velocity before step
            ``t`` as a function of the gradient ``g`` at ``w_t``, for points whose velocity is
            None (DrMAD's line with a velocity-dependent adjoint: the velocity whose step follows
            the line); the gradient's graph then serves the Hessian-vector product too.
        norms: if given, :math:`\|d\theta\|` is appended after every step.
        observe: ``observe(t, ds_after, ds_before, dtheta)`` after every step: the adjoints of
            the states after and before step ``t`` and the accumulated hypergradient.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        tuple: the adjoint of the state before the last point's step (the earliest step) and
        the accumulated ``dtheta``.
    """
    zeros = None
    for t, w, v in points:
        ds_after = ds
        if v is None and velocity_from_gradient is not None:
            lin = problem.linearize(w, theta, t)
            ds, dth = dynamics.pullback(lin, velocity_from_gradient(lin.g.detach(), t), t, ds)
        else:
            if v is None:
                zeros = torch.zeros_like(w) if zeros is None else zeros
                v = zeros
            ds, dth = dynamics.vjp(problem, (w, v), theta, t, ds)
        dtheta = dtheta + dth
        if norms is not None:
            norms.append(float(dtheta.norm()))
        if observe is not None:
            observe(t, ds_after, ds, dtheta)
        if progress is not None:
            progress.update(1)
    return ds, dtheta


def reverse_loop(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, state: State,
                 ds: State, t_end: int, t_stop: int, arith: FloatArithmetic, *,
                 norms: list[float] | None = None, recorder=None, progress=None,
                 lost_path: str = "raise"):
    """Reverse steps ``t_end-1, ..., t_stop`` from ``state`` (the state after step ``t_end-1``,
    in ``arith``'s representation) with the adjoint ``ds`` alongside, each by
    :meth:`~hpostudy.dynamics.Dynamics.reverse_step`.

    Returns the reconstructed state before step ``t_stop``, its adjoint, the accumulated
    :math:`d\\theta` and the step at which a floating-point reconstruction became NaN or infinite
    (None if it did not; with ``lost_path="raise"`` that raises ``FloatingPointError``).
    ``recorder(t, w_t, v_t, dtheta, dw_t)`` sees every reverse step in floats.
    """
    dtheta = torch.zeros_like(theta)
    lost_at = None
    T = t_end
    for t in range(t_end - 1, t_stop - 1, -1):
        v_after = state[1]
        state, ds, dth = dynamics.reverse_step(problem, theta, t, state, ds, arith)
        dtheta = dtheta + dth
        if not arith.exact and lost_at is None and not (
                bool(torch.isfinite(state[0]).all()) and bool(torch.isfinite(state[1]).all())):
            lost_at = t
            if lost_path == "raise":
                raise FloatingPointError(
                    f"the floating-point reversal lost the path: the reconstructed weights or "
                    f"velocity became NaN or infinite at step {t} (after reversing {T - t} of "
                    f"{T} steps). Reversing in floating point divides by the momentum each step "
                    "and amplifies rounding errors by 1/gamma; use 'exact' or 'reverse'.")
        if norms is not None:
            norms.append(float(dtheta.norm()))
        if recorder is not None:
            recorder(t, arith.to_float(state[0]), arith.to_float(v_after), dtheta, ds[0])
        if progress is not None:
            progress.update(1)
    return state, ds, dtheta, lost_at
