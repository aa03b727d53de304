"""Exact reversible learning (Maclaurin, Duvenaud & Adams 2015), vectorized, and the same
reverse pass in plain floating point (thesis Fig 3.6).

``exact``: the forward pass runs thesis Algorithm 1 (:meth:`~hpostudy.dynamics.SGDMomentum.update`)
in the fixed-point arithmetic of :class:`~.fixedpoint.FixedPointArithmetic` (``radix``
fractional bits); the multiplication by :math:`\\gamma = n/2^k` keeps its lost bits in an
:class:`~.fixedpoint.InfoBuffer`. The reverse pass undoes each step bit-exactly
(:meth:`~hpostudy.dynamics.SGDMomentum.inverse`, run by :func:`~.adjoint.reverse_loop`),

.. math:: w_t = w_{t+1} - \\alpha_t v_t,\\quad g_t = \\nabla_w L(w_t,\\theta,t),\\quad
          v_{t-1} = (v_t + (1-\\gamma_t) g_t)/\\gamma_t,

so it recovers every :math:`w_t` and finally :math:`w_0` without storing the trajectory, while
running the adjoint recursion of thesis Algorithm 2 alongside. Storage: about
:math:`\\log_2(1/\\gamma)` bits per parameter per step. Precision of the hypergradient:
:math:`2^{k-R}` (note pitfall 3), so keep ``radix - k >= 28`` for 1e-6 relative error.

.. warning:: the gradient must be bitwise repeatable between the passes: pin the CPU thread count
   and, on a GPU, use deterministic kernels. A lost sync raises at once.

``float_reversal``: forward in floating point, reverse by the same inverse step in floating point
(:class:`~hpostudy.dynamics.FloatArithmetic`); the reconstructed path drifts from the true one as
bits are lost (Maclaurin et al. section 2.3), and a path lost to NaN or infinity raises an error
naming the step.
"""
from __future__ import annotations

import math
import warnings

import torch

from ..dynamics import FLOAT, FloatArithmetic, Problem, SGDMomentum, check_call, train
from .adjoint import require_memory, require_reversible, reverse_loop
from .fixedpoint import FixedPointArithmetic, RangeWatch
from .result import ExactDiagnostics, FloatReversalDiagnostics, HypergradResult


class _PathRecorder:
    """Values along the reverse path (thesis Fig 3.6): a few fixed coordinates and the norms of
    w, v, the accumulated hypergradient (d_meta) and d_w, one row per reverse step."""

    def __init__(self, P: int, m: int, coords: int, seed: int):
        gen = torch.Generator().manual_seed(seed)
        self.idx_w = torch.randperm(P, generator=gen)[:coords]
        self.idx_h = torch.randperm(m, generator=gen)[:min(coords, m)]
        self.rows: list[dict] = []

    def __call__(self, t, w, v, dtheta, dw):
        row = {"t": t, "w_norm": float(w.norm()), "v_norm": float(v.norm()),
               "d_meta_norm": float(dtheta.norm()), "d_w_norm": float(dw.norm())}
        for i in self.idx_w.tolist():
            row[f"w[{i}]"] = float(w[i])
            row[f"v[{i}]"] = float(v[i])
            row[f"d_w[{i}]"] = float(dw[i])
        for i in self.idx_h.tolist():
            row[f"d_meta[{i}]"] = float(dtheta[i])
        self.rows.append(row)


def exact(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int, *,
          radix: int = 48, k: int = 16, record_norms: bool = False, record_path: int = 0,
          path_seed: int = 0, also_float: bool = False, progress=None) -> HypergradResult:
    r"""Hypergradient by exact reversal of ``T`` steps of thesis Algorithm 1 (Maclaurin et al.
    2015).

    Trains in fixed point, then reverses :math:`w_t, v_{t-1}` bit for bit while running the
    adjoint (thesis Algorithm 2); the bits lost by :math:`v \leftarrow \gamma v` are kept in a
    range-ANS buffer (module docstring). The momentum used is ``round(gamma * 2^k) / 2^k``: a
    momentum not of that form is rounded with a :class:`MomentumRoundedWarning` (give
    ``SGDMomentum(momentum=effective_gamma(gamma))`` to every method compared with it).

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: SGD with momentum (:class:`~hpostudy.dynamics.SGDMomentum`), the only reversible
            dynamics.
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        radix: fraction bits of the fixed-point weights and velocity; keep ``radix - k >= 28``
            for a relative error of 1e-6.
        k: the momentum is rounded to a multiple of :math:`2^{-k}`.
        record_norms: ``diagnostics.accumulated_norm`` as in :func:`reverse`.
        record_path: ``c > 0`` records per reverse step c coordinates and the norms of w, v,
            d_meta, d_w in ``diagnostics.path`` (thesis Fig 3.6).
        path_seed: the seed that picks the recorded coordinates.
        also_float: repeat the same reverse pass in floating point from the same final state
            (``float_path``, ``float_hypergrad``, ``float_lost_at_step``), as thesis Fig 3.6
            compares.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the hypergradient, ``grad_w0``, :math:`w_T`, :math:`f(w_T)` and
        :class:`ExactDiagnostics` (buffer bits per parameter per step next to
        :math:`\log_2(1/\gamma)`, bytes held, ``recovered_w0``).

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    require_reversible(dynamics, "exact", range(T))
    _check_count("record_path", record_path)
    theta = theta.detach()
    w0 = problem.w0
    P = w0.numel()
    arith = FixedPointArithmetic(P, radix, k, dtype=w0.dtype, device=w0.device)
    gammas = [arith.momentum(dynamics.gamma(t)) for t in range(T)]
    _warn_rounded_momentum(dynamics, gammas, k)
    bound = arith.information_bound(gammas)
    require_memory(math.ceil(P * T * bound / 8), w0.device,
                   f"the information buffer ({P} parameters x {T} steps x log2(1/gamma) = "
                   f"{bound:.3g} bits)", "use method 'drmad' (memory independent of T) or "
                   "fewer steps")
    W0 = arith.encode_weights(w0)
    state = (W0, arith.zeros_velocity(W0))
    watch = RangeWatch(arith, w0.device)

    def gradient(w, th, t):
        # the very computation the reverse pass inverts with (Problem.linearize): on a GPU a
        # gradient taken without the graph may use other kernels and differ in its last bits
        return problem.linearize(w, th, t).g.detach()

    with torch.no_grad():
        for t in range(T):
            state = dynamics.step(state, theta, t, gradient, arith)
            watch(t, *state)
            if progress is not None:
                progress.update(1)
        watch.flush()
    bits = arith.buffer.bits()
    stored = arith.buffer.stored_bytes()
    w_T, v_T = arith.to_float(state[0]), arith.to_float(state[1])
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    norms = [] if record_norms else None
    recorder = _PathRecorder(P, theta.numel(), record_path, path_seed) if record_path else None
    with torch.no_grad():
        (W, V), ds, dtheta, _ = reverse_loop(problem, dynamics, theta, state,
                                             (dw, torch.zeros_like(dw)), T, 0, arith,
                                             norms=norms, recorder=recorder, progress=progress)
    arith.buffer.check_sync()
    recovered = bool(torch.equal(W, W0)) and bool((V == 0).all()) and arith.buffer.is_empty()
    companion = {}
    if also_float:
        flt_recorder = _PathRecorder(P, theta.numel(), record_path, path_seed) if record_path \
            else None
        with torch.no_grad():
            _, _, flt_dtheta, lost_at = reverse_loop(
                problem, dynamics, theta, (w_T, v_T), (dw, torch.zeros_like(dw)), T, 0,
                arith.float, recorder=flt_recorder, progress=progress, lost_path="record")
        companion = {"float_path": flt_recorder.rows if flt_recorder else [],
                     "float_hypergrad": dtheta_direct + flt_dtheta, "float_lost_at_step": lost_at}
    diagnostics = ExactDiagnostics(
        gamma=gammas[0], radix=radix, k=k, recovered_w0=recovered,
        buffer_bits_per_param_step=bits / (P * T),
        information_bound_bits=bound, stored_bytes=stored,
        accumulated_norm=norms, path=recorder.rows if recorder else None, **companion)
    return HypergradResult("exact", dtheta_direct + dtheta, ds[0], w_T, float(f), diagnostics)


def float_reversal(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int, *,
                   record_norms: bool = False, record_path: int = 0, path_seed: int = 0,
                   progress=None, arith: FloatArithmetic = FLOAT) -> HypergradResult:
    r"""The reverse pass of :func:`exact` in floating point (it drifts).

    Trains in floating point, then reconstructs :math:`w_t, v_{t-1}` backwards by the same
    inverse step (thesis Algorithm 2 lines 6-8) in floating point; the drift is measured by
    :math:`\|\hat w_0 - w_0\|_\infty`.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: SGD with momentum (:class:`~hpostudy.dynamics.SGDMomentum`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        record_norms: as in :func:`exact`.
        record_path: as in :func:`exact`.
        path_seed: as in :func:`exact`.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.
        arith: the floating-point arithmetic (default: plain float operations).

    Returns:
        HypergradResult: the hypergradient and :class:`FloatReversalDiagnostics`
        (``w0_error``).

    Raises:
        FloatingPointError: the reconstruction became NaN or infinite (naming the step).
        ValueError: inputs out of range, as for :func:`exact`.
    """
    check_call(problem, dynamics, theta, T)
    require_reversible(dynamics, "float_reversal", range(T))
    _check_count("record_path", record_path)
    theta = theta.detach()
    w_T, v_T = train(problem, dynamics, theta, T)
    if progress is not None:
        progress.update(T)
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    norms = [] if record_norms else None
    recorder = (_PathRecorder(w_T.numel(), theta.numel(), record_path, path_seed)
                if record_path else None)
    with torch.no_grad():
        (w0_hat, _), ds, dtheta, _ = reverse_loop(
            problem, dynamics, theta, (w_T, v_T), (dw, torch.zeros_like(dw)), T, 0, arith,
            norms=norms, recorder=recorder, progress=progress)
    diagnostics = FloatReversalDiagnostics(float((w0_hat - problem.w0).abs().max()), norms,
                                           recorder.rows if recorder else None, stored_bytes=0)
    return HypergradResult("float_reversal", dtheta_direct + dtheta, ds[0], w_T, float(f),
                           diagnostics)


class MomentumRoundedWarning(UserWarning):
    """Exact reversal ran with the momentum rounded to ``n / 2^k``, not the one given."""


def _warn_rounded_momentum(dynamics: SGDMomentum, gammas: list[float], k: int) -> None:
    """Warn once when exact reversal's momentum ``n / 2^k`` differs from the dynamics' own:
    its hypergradient then belongs to the rounded momentum, not to the one other methods use."""
    for t, gamma in enumerate(gammas):
        given = dynamics.gamma(t)
        if given != gamma:
            warnings.warn(
                f"exact reversal represents the momentum as n/2^{k}: momentum {given!r} (step "
                f"{t}) runs as {gamma!r}, so this hypergradient is the one of momentum "
                f"{gamma!r}. To compare methods on one trajectory give every method "
                f"SGDMomentum(momentum=hpostudy.hypergrad.effective_gamma({given!r}"
                f"{'' if k == 16 else f', k={k}'}))", MomentumRoundedWarning, stacklevel=3)
            return


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
