"""Exact reversible learning (Maclaurin, Duvenaud & Adams 2015), vectorized, and the same
reverse pass in plain floating point (thesis Fig 3.6).

``exact``: the forward pass runs thesis Algorithm 1 on int64 fixed-point weights and velocities
(``radix`` fractional bits); the multiplication by :math:`\\gamma = n/2^k` keeps its lost bits in
an :class:`~.fixedpoint.InfoBuffer`. The reverse pass undoes each step bit-exactly,

.. math:: w_t = w_{t+1} - \\alpha_t v_t,\\quad g_t = \\nabla_w L(w_t,\\theta,t),\\quad
          v_{t-1} = (v_t + (1-\\gamma_t) g_t)/\\gamma_t,

so it recovers every :math:`w_t` and finally :math:`w_0` without storing the trajectory, while
running the adjoint recursion of thesis Algorithm 2 alongside. Storage: about
:math:`\\log_2(1/\\gamma)` bits per parameter per step. Precision of the hypergradient:
:math:`2^{k-R}` (note pitfall 3), so keep ``radix - k >= 28`` for 1e-6 relative error.

.. warning:: the gradient must be bitwise repeatable between the passes: pin the CPU thread count
   and, on a GPU, use deterministic kernels. A lost sync raises at once.

``float_reversal``: forward in floating point, reverse by the formulas above in floating point;
the reconstructed path drifts from the true one as bits are lost (Maclaurin et al. section 2.3).
"""
from __future__ import annotations

import math

import torch

from ..dynamics import Problem, SGDMomentum
from .adjoint import require_sgd_momentum, sgdm_adjoint_step
from .fixedpoint import FixedPoint, InfoBuffer, gamma_ratio
from .result import HypergradResult


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
        for j, i in enumerate(self.idx_w.tolist()):
            row[f"w[{i}]"] = float(w[i]); row[f"v[{i}]"] = float(v[i]); row[f"d_w[{i}]"] = float(dw[i])
        for i in self.idx_h.tolist():
            row[f"d_meta[{i}]"] = float(dtheta[i])
        self.rows.append(row)


def exact(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int,
          radix: int = 48, k: int = 16, record_norms: bool = False, record_path: int = 0,
          path_seed: int = 0, also_float: bool = False, progress=None) -> HypergradResult:
    """Hypergradient by exact reversal of ``T`` steps of thesis Algorithm 1 (module docstring).

    The momentum used is ``round(gamma * 2^k) / 2^k`` (reported as diagnostics["gamma"]).
    ``record_norms``: diagnostics["accumulated_norm"] as in :func:`~.reverse.reverse`.
    ``record_path=c``: diagnostics["path"] holds, per reverse step, c coordinates and the norms of
    w, v, d_meta, d_w; with ``also_float=True`` the same pass is repeated in plain floating point
    from the same final state (diagnostics["float_path"]), as thesis Fig 3.6 compares.
    Diagnostics also report the buffer size in bits per parameter per step next to
    :math:`\\log_2(1/\\gamma)`, and ``recovered_w0`` (True when :math:`w_0` came back bit-exactly).
    """
    require_sgd_momentum(dynamics, "exact")
    if T <= 0:
        raise ValueError(f"horizon T must be positive, got {T}")
    if radix - k < 20:
        raise ValueError(f"radix - k = {radix - k} leaves too little precision; use >= 28")
    theta = theta.detach()
    dtype, device = problem.w0.dtype, problem.w0.device
    fx = FixedPoint(radix)
    P = problem.w0.numel()
    n = [gamma_ratio(dynamics.gamma(t), k) for t in range(T)]
    gam = [ni / (1 << k) for ni in n]
    buffer = InfoBuffer(P, k, device=device)
    W0 = fx.encode(problem.w0)
    W, V = W0.clone(), torch.zeros_like(W0)
    overflow = torch.zeros((), dtype=torch.bool, device=device)
    with torch.no_grad():
        for t in range(T):
            g = problem.grad(fx.decode(W, dtype), theta, t)
            V = buffer.multiply(V, n[t], t) - fx.encode((1.0 - gam[t]) * g.double())
            W = W + fx.encode(_alpha(dynamics, theta, t) * fx.decode(V))
            overflow |= (W.abs().max() > fx.limit >> 2) | (V.abs().max() > fx.limit >> 2)
            if progress is not None:
                progress.update(1)
    if bool(overflow):
        raise OverflowError(f"a weight or velocity left the fixed-point range |x| < "
                            f"{fx.max_abs():.3g} (radix {radix}); lower the radix")
    bits = buffer.bits()
    stored = buffer.stored_bytes()
    w_T = fx.decode(W, dtype)
    v_T = fx.decode(V, dtype)
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    dv = torch.zeros_like(dw)
    dtheta = torch.zeros_like(theta)
    norms = [] if record_norms else None
    recorder = _PathRecorder(P, theta.numel(), record_path, path_seed) if record_path else None
    flt = _FloatReverser(problem, dynamics, theta, w_T, v_T, gam, dw, record_path, path_seed) \
        if also_float else None
    for t in range(T - 1, -1, -1):
        v_t = fx.decode(V, dtype)
        W = W - fx.encode(_alpha(dynamics, theta, t) * fx.decode(V))
        w_t = fx.decode(W, dtype)
        g, dw, dv, dtheta = sgdm_adjoint_step(problem, _with_gammas(dynamics, gam), theta, t,
                                              w_t, v_t, dw, dv, dtheta)
        V = buffer.divide(V + fx.encode((1.0 - gam[t]) * g.double()), n[t], t)
        if norms is not None:
            norms.append(float(dtheta.norm()))
        if recorder is not None:
            recorder(t, w_t, v_t, dtheta, dw)
        if flt is not None:
            flt.step(t)
        if progress is not None:
            progress.update(1)
    recovered = bool(torch.equal(W, W0)) and bool((V == 0).all()) and buffer.is_empty()
    diagnostics = {
        "gamma": gam[0], "radix": radix, "k": k, "recovered_w0": recovered,
        "buffer_bits_per_param_step": bits / (P * T),
        "information_bound_bits": float(sum(-math.log2(x) for x in gam) / T),
        "buffer_bytes": stored,
    }
    if norms is not None:
        diagnostics["accumulated_norm"] = norms
    if recorder is not None:
        diagnostics["path"] = recorder.rows
    if flt is not None:
        diagnostics["float_path"] = flt.recorder.rows if flt.recorder else []
        diagnostics["float_hypergrad"] = dtheta_direct + flt.dtheta
    return HypergradResult("exact", dtheta_direct + dtheta, dw, w_T, float(f), diagnostics)


def float_reversal(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, T: int,
                   record_norms: bool = False, record_path: int = 0, path_seed: int = 0,
                   progress=None) -> HypergradResult:
    """The reverse pass of :func:`exact` without exact arithmetic: train in floating point, then
    reconstruct :math:`w_t, v_{t-1}` backwards by the same formulas in floating point.
    diagnostics["w0_error"] = :math:`\\|\\hat w_0 - w_0\\|_\\infty` measures the drift."""
    require_sgd_momentum(dynamics, "float_reversal")
    theta = theta.detach()
    state = dynamics.init(problem.w0)
    with torch.no_grad():
        for t in range(T):
            state = dynamics.step(state, theta, t, problem.grad)
            if progress is not None:
                progress.update(1)
    w_T, v_T = state
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    gam = [dynamics.gamma(t) for t in range(T)]
    rev = _FloatReverser(problem, dynamics, theta, w_T, v_T, gam, dw, record_path, path_seed,
                         record_norms)
    for t in range(T - 1, -1, -1):
        rev.step(t)
        if progress is not None:
            progress.update(1)
    diagnostics = {"w0_error": float((rev.w - problem.w0).abs().max())}
    if record_norms:
        diagnostics["accumulated_norm"] = rev.norms
    if rev.recorder is not None:
        diagnostics["path"] = rev.recorder.rows
    return HypergradResult("float_reversal", dtheta_direct + rev.dtheta, rev.dw, w_T, float(f),
                           diagnostics)


class _FloatReverser:
    """Reverse steps in floating point from ``(w_T, v_{T-1})`` with the adjoint alongside."""

    def __init__(self, problem, dynamics, theta, w_T, v_T, gammas, dw, record_path=0,
                 path_seed=0, record_norms=False):
        self.problem, self.dynamics, self.theta = problem, _with_gammas(dynamics, gammas), theta
        self.gammas = gammas
        self.w, self.v, self.dw = w_T.clone(), v_T.clone(), dw.clone()
        self.dv = torch.zeros_like(dw)
        self.dtheta = torch.zeros_like(theta)
        self.norms: list[float] = []
        self.record_norms = record_norms
        self.recorder = (_PathRecorder(w_T.numel(), theta.numel(), record_path, path_seed)
                         if record_path else None)

    def step(self, t: int) -> None:
        v_t = self.v
        self.w = self.w - _alpha(self.dynamics, self.theta, t, self.w.dtype) * v_t
        g, self.dw, self.dv, self.dtheta = sgdm_adjoint_step(
            self.problem, self.dynamics, self.theta, t, self.w, v_t, self.dw, self.dv, self.dtheta)
        gamma = self.gammas[t]
        self.v = (v_t + (1.0 - gamma) * g.detach()) / gamma
        if self.record_norms:
            self.norms.append(float(self.dtheta.norm()))
        if self.recorder is not None:
            self.recorder(t, self.w, v_t, self.dtheta, self.dw)


def _alpha(dynamics, theta, t, dtype=torch.float64):
    a = dynamics.alpha(theta, t)
    return a.detach().to(dtype) if isinstance(a, torch.Tensor) else a


def _with_gammas(dynamics: SGDMomentum, gammas: list[float]) -> SGDMomentum:
    """A copy of ``dynamics`` whose momentum schedule is exactly ``gammas`` (the effective
    values of the fixed-point method); steps past the end keep the last value."""
    last = len(gammas) - 1
    return SGDMomentum(lr=dynamics.lr, momentum=lambda t: gammas[min(t, last)],
                       lr_hyper=dynamics.lr_hyper, clip=dynamics.clip)
