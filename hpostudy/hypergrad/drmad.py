"""DrMAD (Fu et al. 2016; thesis Algorithm 3) and DrMAD2 (thesis section 3.1).

DrMAD replaces the true reverse path by the straight line from :math:`w_T` to :math:`w_0`:

.. math:: w_t \\approx \\tfrac{t}{T} w_T + (1 - \\tfrac{t}{T}) w_0,

and runs the adjoint recursion of Algorithm 2 (lines 6-8 of Algorithm 3) along it, so it needs
only :math:`w_0` and :math:`w_T`: memory independent of :math:`T`.

The number of reverse steps :math:`S` (thesis section 3.1): with
:math:`\\beta_t = \\|w_t - w_0\\| / (t\\,\\|w_T - w_0\\|)` for the first 20 iterates, :math:`\\beta` is
their weighted average (weights :math:`1/t`, most weight on the earliest), multiplied by an
optional factor (10 in the thesis' CPU experiments, 1 on GPU), and :math:`S = \\mathrm{round}(1/\\beta)`.
Reverse step :math:`s` (of :math:`S`) sits at :math:`w = \\tfrac{s}{S} w_T + (1-\\tfrac{s}{S}) w_0` and
uses the learning rate, momentum and mini-batch of elementary step :math:`\\lfloor sT/S \\rfloor`;
the steps are not rescaled by :math:`T/S` (as in the thesis' experiments, where 200 reverse
steps gave hypergradients of the exact ones' magnitude for up to 200,000 forward steps).

DrMAD2 first takes ``exact_steps`` reverse steps along the floating-point reversed true path
(:func:`~.exact.float_reversal`'s reconstruction), then the straight line from where it stopped
to :math:`w_0`.

.. warning:: with learning-rate hyperparameters, the velocity on the line is approximated by the
   line's own increment, :math:`(w_T - w_0)/(S\\alpha)`.
"""
from __future__ import annotations

import torch

from ..dynamics import Problem, SGDMomentum
from .adjoint import require_sgd_momentum, sgdm_adjoint_step
from .result import HypergradResult


def beta_estimate(distances: list[float], total: float, factor: float = 1.0) -> float:
    """:math:`\\beta` from :math:`\\|w_t - w_0\\|` (t = 1, 2, ...) and :math:`\\|w_T - w_0\\|`:
    the 1/t-weighted average of :math:`\\|w_t - w_0\\| / (t \\|w_T - w_0\\|)`, times ``factor``."""
    if total <= 0 or not distances:
        return 1.0
    weights = [1.0 / t for t in range(1, len(distances) + 1)]
    betas = [d / (t * total) for t, d in enumerate(distances, start=1)]
    return factor * sum(w * b for w, b in zip(weights, betas)) / sum(weights)


def reverse_steps_from_beta(beta: float, T: int) -> int:
    return int(min(max(round(1.0 / beta), 1), T)) if beta > 0 else T


def drmad(problem: Problem, dynamics, theta: torch.Tensor, T: int,
          reverse_steps: int | None = None, beta_factor: float = 1.0, beta_window: int = 20,
          exact_steps: int = 0, record_norms: bool = False, reverse_dynamics=None,
          callback=None, progress=None) -> HypergradResult:
    """Approximate hypergradient by DrMAD (``exact_steps=0``) or DrMAD2 (module docstring).

    ``reverse_steps``: the straight-line steps S; None estimates it from :math:`\\beta`.
    ``reverse_dynamics``: the thesis-form SGD with momentum whose adjoint runs on the line
    (default ``dynamics``); ``callback(t, state)`` sees every forward step. The forward pass
    may use any optimizer (e.g. Nesterov, as the
    thesis' DenseNet runs did): DrMAD's path does not depend on it (thesis section 1.2.2).
    diagnostics: ``reverse_steps`` (S used), ``beta``, ``beta_reverse_steps`` (1/beta),
    ``exact_steps`` and, with ``record_norms``, ``accumulated_norm`` (one value per reverse step).
    """
    forward_dynamics = dynamics
    dynamics = reverse_dynamics or dynamics
    require_sgd_momentum(dynamics, "drmad2" if exact_steps else "drmad")
    if exact_steps and forward_dynamics is not dynamics:
        raise ValueError("DrMAD2 reverses the true path: it needs reverse_dynamics=None")
    if T <= 0:
        raise ValueError(f"horizon T must be positive, got {T}")
    if reverse_steps is not None and reverse_steps <= 0:
        raise ValueError(f"reverse_steps must be positive, got {reverse_steps}")
    if not 0 <= exact_steps <= T:
        raise ValueError(f"exact_steps must be in [0, T], got {exact_steps}")
    theta = theta.detach()
    w0 = problem.w0
    distances: list[float] = []
    state = forward_dynamics.init(w0)
    with torch.no_grad():
        for t in range(T):
            state = forward_dynamics.step(state, theta, t, problem.grad)
            if not torch.isfinite(state[0]).all():
                raise FloatingPointError(f"the weights became NaN or infinite at step {t} "
                                         "of the forward pass")
            if t < beta_window:
                distances.append(float((state[0] - w0).norm()))
            if callback is not None:
                callback(t, state)
            if progress is not None:
                progress.update(1)
    w_T, v_T = state
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    dv = torch.zeros_like(dw)
    dtheta = torch.zeros_like(theta)
    norms: list[float] = []

    # DrMAD2: the first reverse steps along the (floating-point) reversed true path
    w, v = w_T.clone(), v_T.clone()
    for t in range(T - 1, T - 1 - exact_steps, -1):
        v_t = v
        w = w - _alpha_value(dynamics, theta, t, w.dtype) * v_t
        g, dw, dv, dtheta = sgdm_adjoint_step(problem, dynamics, theta, t, w, v_t, dw, dv, dtheta)
        v = (v_t + (1.0 - dynamics.gamma(t)) * g.detach()) / dynamics.gamma(t)
        if record_norms:
            norms.append(float(dtheta.norm()))
    T_line = T - exact_steps
    beta = beta_estimate(distances[:T_line], float((w - w0).norm()), beta_factor)
    S = reverse_steps if reverse_steps is not None else reverse_steps_from_beta(beta, T_line)
    S = min(S, T_line) if T_line > 0 else 0
    w_end = w
    v_line = (w_end - w0) / max(S, 1)
    for s in range(S - 1, -1, -1):
        t = (s * T_line) // S
        w_s = (s / S) * w_end + (1.0 - s / S) * w0
        v_s = v_line / _alpha_value(dynamics, theta, t, w0.dtype) if dynamics.lr_hyper else None
        _, dw, dv, dtheta = sgdm_adjoint_step(problem, dynamics, theta, t, w_s, v_s, dw, dv, dtheta)
        if record_norms:
            norms.append(float(dtheta.norm()))
        if progress is not None:
            progress.update(1)
    diagnostics = {"reverse_steps": S, "exact_steps": exact_steps, "beta": beta,
                   "beta_reverse_steps": (1.0 / beta) if beta > 0 else float("inf")}
    if record_norms:
        diagnostics["accumulated_norm"] = norms
    name = "drmad2" if exact_steps else "drmad"
    return HypergradResult(name, dtheta_direct + dtheta, dw, w_T, float(f), diagnostics)


def drmad2(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int,
           exact_steps: int = 100, **options) -> HypergradResult:
    """DrMAD2: ``exact_steps`` reverse steps on the reversed true path, then DrMAD's line."""
    return drmad(problem, dynamics, theta, T, exact_steps=min(exact_steps, T), **options)


def _alpha_value(dynamics, theta, t, dtype):
    a = dynamics.alpha(theta, t)
    return a.detach().to(dtype) if isinstance(a, torch.Tensor) else a
