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
(:meth:`~hpostudy.dynamics.Dynamics.reverse_step` in floating point, as
:func:`~.exact.float_reversal`), then the straight line from where it stopped to :math:`w_0`.

The adjoint steps on the line are the dynamics' own :meth:`~hpostudy.dynamics.Dynamics.vjp`, so
any dynamics works for the line; DrMAD2's first steps need a reversible one (SGD with momentum
in the thesis' form, momentum above 0).

.. warning:: with learning-rate hyperparameters, the velocity after each step on the line is
   approximated by the line's own increment, :math:`v_t = (w_T - w_0)/(S\\alpha_t)`, which is
   what :math:`w_{t+1} - w_t = \\alpha_t v_t` gives on the line (it enters through Algorithm 2,
   line 5).
"""
from __future__ import annotations

import torch

from ..dynamics import (FLOAT, Dynamics, FiniteWatch, Problem, SGDMomentum, check_call,
                        check_horizon)
from .adjoint import adjoint_along, require_reversible, reverse_loop
from .result import DrmadDiagnostics, HypergradResult


def beta_estimate(distances: list[float], total: float, factor: float = 1.0) -> float:
    r"""The straight-line estimate :math:`\beta` of DrMAD's reverse step count (thesis section 3.1).

    .. math:: \beta = c \,\frac{\sum_t \frac1t \frac{\|w_t - w_0\|}{t\,\|w_T - w_0\|}}{\sum_t \frac1t}

    Args:
        distances: :math:`\|w_t - w_0\|` for t = 1, 2, ...
        total: :math:`\|w_T - w_0\|`.
        factor: the factor :math:`c`.

    Returns:
        float: :math:`\beta`; DrMAD then takes about :math:`1/\beta` reverse steps.
    """
    if total <= 0 or not distances:
        return 1.0
    weights = [1.0 / t for t in range(1, len(distances) + 1)]
    betas = [d / (t * total) for t, d in enumerate(distances, start=1)]
    return factor * sum(w * b for w, b in zip(weights, betas)) / sum(weights)


def reverse_steps_from_beta(beta: float, T: int) -> int:
    r"""DrMAD's number of reverse steps from :math:`\beta = 1/T_{reverse}` (thesis section
    3.1): :math:`1/\beta` rounded, kept in ``[1, T]``.

    Args:
        beta: the estimate of :func:`beta_estimate`.
        T: the forward steps.

    Returns:
        int: the reverse steps; ``T`` when ``beta`` is not positive.
    """
    return int(min(max(round(1.0 / beta), 1), T)) if beta > 0 else T


def line_points(w0: torch.Tensor, w_end: torch.Tensor, T: int, S: int):
    r"""DrMAD's reverse path, the straight line :math:`w_t = (1 - t/T)\, w_0 + (t/T)\, w_T`
    (thesis Algorithm 3, line 5) taken in ``S`` steps: reverse step ``s`` (``s = S-1, ..., 0``)
    sits at :math:`\tfrac{s}{S} w_{end} + (1-\tfrac{s}{S}) w_0` with the mini-batch and schedules
    of elementary step :math:`\lfloor sT/S \rfloor` (section 3.1: the steps are not rescaled).
    :func:`drmad` walks it, and :func:`~.diagnostics.reverse_along` can.

    Args:
        w0: the initial weights :math:`w_0`.
        w_end: the line's other end: :math:`w_T`, or for DrMAD2 where its exact steps stopped.
        T: the elementary steps the line stands for.
        S: the reverse steps, in ``[1, T]``.

    Yields:
        tuple: ``(t, w)`` per reverse step, from step ``S-1`` down to step 0.

    Raises:
        ValueError: ``S`` outside ``[1, T]``.
    """
    if not 1 <= S <= T:
        raise ValueError(f"need 1 <= S <= T, got S={S}, T={T}")
    for s in range(S - 1, -1, -1):
        yield (s * T) // S, (s / S) * w_end + (1.0 - s / S) * w0


def drmad(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, *,
          reverse_steps: int | None = None, beta_factor: float = 1.0, beta_window: int = 20,
          exact_steps: int = 0, record_norms: bool = False,
          reverse_dynamics: Dynamics | None = None, callback=None,
          progress=None) -> HypergradResult:
    r"""Approximate hypergradient by DrMAD (Fu et al. 2016; thesis Algorithm 3).

    Trains ``T`` steps keeping only :math:`w_0` and :math:`w_T`, then runs the adjoint recursion
    backwards along the straight line :math:`w_t \approx (1 - t/T)\,w_0 + (t/T)\,w_T` in
    S steps. With ``exact_steps > 0`` (DrMAD2, thesis section 3.1) the first reverse steps
    follow the exactly reversed true path.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        reverse_steps: the straight-line steps S; None estimates it as :math:`1/\beta`
            (:func:`beta_estimate`).
        beta_factor: the factor of :func:`beta_estimate`.
        beta_window: the first steps whose distances from :math:`w_0` enter :math:`\beta`.
        exact_steps: reverse steps on the reversed true path before the line (0: DrMAD).
        record_norms: ``diagnostics.accumulated_norm``, one value per reverse step.
        reverse_dynamics: the dynamics whose adjoint runs on the line (default ``dynamics``;
            e.g. the thesis-form SGD with momentum while training uses Nesterov, as the thesis'
            DenseNet runs did: the line does not depend on it, thesis section 1.2.2).
        callback: ``callback(t, state)`` sees every forward step.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the approximate hypergradient and :class:`DrmadDiagnostics`
        (S used, :math:`\beta`, ``exact_steps``).

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    forward_dynamics = dynamics
    dynamics = reverse_dynamics or dynamics
    _check(problem, forward_dynamics, dynamics, theta, T, reverse_steps=reverse_steps,
           beta_factor=beta_factor, beta_window=beta_window, exact_steps=exact_steps)
    trained = _forward(problem, forward_dynamics, theta.detach(), T, beta_window, callback,
                       progress)
    return _reverse(problem, dynamics, theta.detach(), T, trained, reverse_steps=reverse_steps,
                    beta_factor=beta_factor, beta_window=beta_window, exact_steps=exact_steps,
                    record_norms=record_norms, progress=progress)


def _check(problem: Problem, forward_dynamics: Dynamics, dynamics: Dynamics,
           theta: torch.Tensor, T: int, *, reverse_steps, beta_factor, beta_window,
           exact_steps) -> None:
    """:func:`drmad`'s checks of its inputs (``dynamics``: the reverse dynamics)."""
    method = "drmad2" if exact_steps else "drmad"
    check_call(problem, forward_dynamics, theta, T)
    for label, value in (("exact_steps", exact_steps), ("beta_window", beta_window)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {value!r}")
    if exact_steps > T:
        raise ValueError(f"exact_steps must be in [0, T] = [0, {T}], got {exact_steps}")
    if reverse_steps is not None:
        check_horizon(reverse_steps, "reverse_steps")
    if not beta_factor > 0:
        raise ValueError(f"beta_factor must be positive, got {beta_factor}")
    if exact_steps:
        if forward_dynamics is not dynamics:
            raise ValueError("DrMAD2 reverses the true path: it needs reverse_dynamics=None")
        require_reversible(dynamics, method, range(T - exact_steps, T))
    elif dynamics is not forward_dynamics:
        if not isinstance(dynamics, Dynamics):
            raise TypeError(f"reverse_dynamics must be an hpostudy.dynamics.Dynamics, got "
                            f"{type(dynamics).__name__}")
        dynamics.check(problem.w0, theta)


def _forward(problem: Problem, forward_dynamics: Dynamics, theta: torch.Tensor, T: int,
             beta_window: int, callback=None, progress=None) -> tuple:
    """DrMAD's forward pass: ``(state, distances, (f, dw, dtheta_direct))`` -- the state after
    ``T`` steps, :math:`\\|w_t - w_0\\|` of the first ``beta_window`` iterates and the
    validation loss with its gradients at :math:`w_T`."""
    w0 = problem.w0
    distances: list[float] = []
    watch = FiniteWatch("the weights", w0)
    state = forward_dynamics.init(w0)
    with torch.no_grad():
        for t in range(T):
            state = forward_dynamics.step(state, theta, t, problem.grad)
            watch(t, state[0])
            if t < beta_window:
                distances.append(float((state[0] - w0).norm()))
            if callback is not None:
                callback(t, state)
            if progress is not None:
                progress.update(1)
        watch.flush()
    return state, distances, problem.val_value_and_grads(state[0], theta)


def _reverse(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, trained: tuple,
             *, reverse_steps: int | None, beta_factor: float, beta_window: int,
             exact_steps: int, record_norms: bool, progress=None) -> HypergradResult:
    """DrMAD's reverse pass (DrMAD2's exact steps first) from the forward pass ``trained``
    (:func:`_forward`, which it does not change)."""
    method = "drmad2" if exact_steps else "drmad"
    w0 = problem.w0
    state, distances, (f, dw, dtheta_direct) = trained
    distances = distances[:beta_window]
    w_T = state[0]
    ds = (dw, torch.zeros_like(dw))
    norms: list[float] | None = [] if record_norms else None

    with torch.no_grad():  # DrMAD2: the first reverse steps along the reversed true path
        (w, _), ds, dtheta, _ = reverse_loop(problem, dynamics, theta, state, ds, T,
                                             T - exact_steps, FLOAT, norms=norms)
    T_line = T - exact_steps
    beta = beta_estimate(distances[:T_line], float((w - w0).norm()), beta_factor)
    S = reverse_steps if reverse_steps is not None else reverse_steps_from_beta(beta, T_line)
    S = min(S, T_line) if T_line > 0 else 0
    w_end = w
    increment = (w_end - w0) / max(S, 1)

    def velocity(g, t):  # the velocity whose step follows the line
        return dynamics.velocity_before(g, increment, theta, t)

    points = ((t, w_t, None) for t, w_t in (line_points(w0, w_end, T_line, S) if S else ()))
    ds, dtheta = adjoint_along(problem, dynamics, theta, points, ds, dtheta,
                               velocity_from_gradient=velocity if dynamics.vjp_needs_velocity
                               else None, norms=norms, progress=progress)
    diagnostics = DrmadDiagnostics(S, exact_steps, beta,
                                   (1.0 / beta) if beta > 0 else float("inf"), norms,
                                   stored_bytes=w0.numel() * w0.element_size())
    return HypergradResult(method, dtheta_direct + dtheta, ds[0], w_T, float(f), diagnostics)


def drmad_shared(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int,
                 runs: list[dict]) -> list[HypergradResult]:
    r"""Several DrMAD and DrMAD2 hypergradients at the same ``(problem, dynamics, theta, T)`` from
    one forward pass.

    Result ``i`` is what ``drmad(problem, dynamics, theta, T, **runs[i])`` returns, bit for bit
    (DrMAD2: ``exact_steps`` at most ``T``, as :func:`drmad2` passes it): every call would train
    the same ``T`` steps from the same :math:`w_0` and hyperparameters, so the training runs once
    (issue 20: an experiment that needs both DrMAD and DrMAD2, as ``drmad_quality``, trains once
    instead of twice).

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`).
        dynamics: SGD with momentum (:class:`~hpostudy.dynamics.SGDMomentum`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        runs: the options of each hypergradient (``reverse_steps``, ``exact_steps``,
            ``beta_factor``, ``beta_window``, ``record_norms``; DrMAD2 where ``exact_steps`` > 0).

    Returns:
        list[HypergradResult]: one result per entry of ``runs``, in order.

    Raises:
        TypeError: an option that cannot share a forward pass.
        ValueError: inputs out of range, as for :func:`drmad`.
    """
    allowed = {"reverse_steps", "exact_steps", "beta_factor", "beta_window", "record_norms"}
    options = []
    for run in runs:
        unknown = sorted(set(run) - allowed)
        if unknown:
            raise TypeError(f"drmad_shared: option(s) {unknown} cannot share a forward pass; "
                            f"each run takes {sorted(allowed)}")
        options.append({"reverse_steps": None, "beta_factor": 1.0, "beta_window": 20,
                        "exact_steps": 0, "record_norms": False, **run})
    if not options:
        return []
    for o in options:  # the checks drmad makes
        _check(problem, dynamics, dynamics, theta, T, **{k: o[k] for k in (
            "reverse_steps", "beta_factor", "beta_window", "exact_steps")})
    theta = theta.detach()
    trained = _forward(problem, dynamics, theta, T, max(o["beta_window"] for o in options))
    return [_reverse(problem, dynamics, theta, T, trained, **o) for o in options]


def drmad2(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int, *,
           exact_steps: int = 100, **options) -> HypergradResult:
    r"""DrMAD2 (thesis section 3.1): ``exact_steps`` reverse steps on the exactly reversed true path, then DrMAD's line.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: SGD with momentum (:class:`~hpostudy.dynamics.SGDMomentum`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        exact_steps: the reverse steps on the true path.
        **options: the options of :func:`drmad`.

    Returns:
        HypergradResult: as :func:`drmad`'s.
    """
    check_horizon(T)
    return drmad(problem, dynamics, theta, T, exact_steps=min(exact_steps, T), **options)

