"""Diagnostics of reverse passes: why does DrMAD's hypergradient explode? (thesis section 3.1)

The adjoint recursion of thesis Algorithm 2 (lines 9-12) is linear in :math:`(dw, dv)`: one
reverse step at a point :math:`w` multiplies them by the transpose of the Jacobian of one step
of SGD with momentum at :math:`w`. On the true path the forward steps were stable (training
did not diverge), so are the reverse ones; on DrMAD's straight line nothing guarantees it.
Along an eigenvector of the mini-batch Hessian with eigenvalue :math:`\\lambda`, thesis
Algorithm 1 with :math:`\\eta = \\alpha(1-\\gamma)` is the heavy-ball recursion
:math:`x_{t+1} = (1 + \\gamma - \\eta\\lambda) x_t - \\gamma x_{t-1}`, whose factor per step is
the spectral radius of its companion matrix (:func:`momentum_growth`): at most 1 for
:math:`0 \\le \\eta\\lambda \\le 2(1+\\gamma)`, above 1 beyond (and, slowly, for
:math:`\\lambda < 0`).

* :func:`hessian_vector_product` -- :math:`v \\mapsto \\nabla_w^2 L(w, \\theta, t)\\, v` of one
  mini-batch, by a vector-Jacobian product of the gradient;
* :func:`lanczos_extremes` -- the smallest and largest eigenvalues of a symmetric operator from
  Lanczos iterations with full reorthogonalization;
* :func:`momentum_growth` -- the factor per step of the heavy-ball recursion for a curvature;
* :func:`reverse_along` -- the adjoint recursion along any sequence of points, with the norms
  of :math:`dw` and of the accumulated hypergradient after every reverse step (the true path,
  DrMAD's line, the line with rescaled steps);
* :func:`true_path_points` and :func:`line_points` -- the points of the true path and of DrMAD's
  line (the one DrMAD walks, defined in :mod:`~hpostudy.hypergrad.drmad` and given here with the
  other paths).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

from ..dynamics import Problem, SGDMomentum
from .adjoint import adjoint_along
from .drmad import line_points


def hessian_vector_product(problem: Problem, theta: torch.Tensor, steps: Iterable[int],
                           w: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """:math:`v \\mapsto \\tfrac{1}{k}\\sum_{t} \\nabla_w^2 L(w, \\theta, t)\\, v`, the Hessian of the
    training loss averaged over the mini-batches of the ``k`` elementary ``steps`` (one step:
    the mini-batch Hessian a reverse step sees; many: the curvature of the loss itself). The
    gradient's graph is built once and reused for every product."""
    steps = list(steps)
    if not steps:
        raise ValueError("hessian_vector_product needs at least one step (mini-batch)")
    theta = theta.detach()
    grads = [problem.linearize(w, theta, t) for t in steps]

    def product(v: torch.Tensor) -> torch.Tensor:
        return sum(torch.autograd.grad(lin.g, lin.w, v, retain_graph=True)[0]
                   for lin in grads) / len(grads)
    return product


def lanczos_extremes(operator: Callable[[torch.Tensor], torch.Tensor], dim: int,
                     steps: int = 30, seed: int = 0, dtype=torch.float64,
                     device=None) -> tuple[float, float]:
    """Smallest and largest eigenvalue of the symmetric linear map ``operator`` on
    :math:`\\mathbb{R}^{dim}`: Ritz values after ``steps`` Lanczos iterations with full
    reorthogonalization (exact once ``steps >= dim``; the extremes converge first)."""
    if dim < 1 or steps < 1:
        raise ValueError(f"need dim >= 1 and steps >= 1, got dim={dim}, steps={steps}")
    steps = min(steps, dim)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(dim, generator=gen, dtype=dtype).to(device)
    basis = [q / q.norm()]
    alphas, betas = [], []
    for j in range(steps):
        r = operator(basis[j])
        alphas.append(float(basis[j] @ r))
        Q = torch.stack(basis)
        r = r - Q.T @ (Q @ r)
        r = r - Q.T @ (Q @ r)  # twice is enough (Kahan)
        beta = float(r.norm())
        if j == steps - 1 or beta <= 1e-12 * max(1.0, abs(alphas[-1])):
            break
        betas.append(beta)
        basis.append(r / beta)
    k = len(alphas)
    tri = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if k > 1:
        off = torch.tensor(betas[:k - 1], dtype=torch.float64)
        tri = tri + torch.diag(off, 1) + torch.diag(off, -1)
    ritz = torch.linalg.eigvalsh(tri)
    return float(ritz[0]), float(ritz[-1])


def momentum_growth(eta_lambda: float, gamma: float) -> float:
    """Factor per step of :math:`x_{t+1} = (1+\\gamma-\\eta\\lambda)x_t - \\gamma x_{t-1}` (thesis
    Algorithm 1 along a Hessian eigenvector, :math:`\\eta = \\alpha(1-\\gamma)`): the largest
    modulus of the roots of :math:`z^2 - (1+\\gamma-\\eta\\lambda) z + \\gamma`. The reverse
    recursion at the same point has the same factor (it applies the transposed Jacobian)."""
    if not 0 <= gamma < 1:
        raise ValueError(f"momentum gamma must be in [0, 1), got {gamma}")
    b = 1.0 + gamma - eta_lambda
    disc = b * b - 4.0 * gamma
    if disc < 0:
        return math.sqrt(gamma)
    return (abs(b) + math.sqrt(disc)) / 2.0


def reverse_along(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor,
                  points: Iterable[tuple[int, torch.Tensor]], dw: torch.Tensor,
                  velocities: Iterable[torch.Tensor | None] | None = None) -> dict:
    """Run the adjoint recursion of thesis Algorithm 2 (lines 9-12), the methods' own
    :func:`~.adjoint.adjoint_along`, along ``points``, pairs ``(t, w)`` in reverse order (the
    mini-batch and schedules of step ``t`` evaluated at ``w``), starting from ``dw`` =
    :math:`\\partial f/\\partial w_T`. ``velocities`` (with learning-rate hyperparameters)
    gives :math:`v_t` at each point.

    Returns, one value per reverse step: ``dw_norm``, ``hypergrad_norm`` (the accumulated
    :math:`d\\theta`) and ``curvature``, the curvature the adjoint meets, the Rayleigh quotient
    :math:`dv_t^\\top H_t\\, dv_t / \\|dv_t\\|^2` of the mini-batch Hessian in the direction of
    :math:`dv_t` (negative: the step amplifies the adjoint); and the final ``dtheta`` (without
    the direct term of ``f``)."""
    if type(dynamics) is not SGDMomentum:
        raise TypeError("reverse_along follows the adjoint of SGD with momentum in the thesis' "
                        f"form (dynamics.SGDMomentum); got {type(dynamics).__name__}")
    theta = theta.detach()
    out = {"dw_norm": [], "hypergrad_norm": [], "curvature": []}

    def record(t, ds_after, ds_before, dtheta):
        out["curvature"].append(_rayleigh(ds_before[1], ds_after[0] - ds_before[0],
                                          dynamics.gamma(t)))
        out["dw_norm"].append(float(ds_before[0].norm()))
        out["hypergrad_norm"].append(float(dtheta.norm()))

    velocities = iter(velocities) if velocities is not None else None
    points = ((t, w, next(velocities) if velocities is not None else None) for t, w in points)
    _, out["dtheta"] = adjoint_along(problem, dynamics, theta, points,
                                     (dw, torch.zeros_like(dw)), torch.zeros_like(theta),
                                     observe=record)
    return out


def _rayleigh(gamma_dv: torch.Tensor, step: torch.Tensor, gamma: float) -> float:
    """:math:`dv_t^\\top H dv_t / \\|dv_t\\|^2` from what one adjoint step returns:
    :math:`\\gamma\\, dv_t` and the change :math:`(1-\\gamma) H dv_t` of :math:`dw` (line 11);
    NaN where :math:`\\gamma = 0` hides :math:`dv_t`, 0 where it vanishes."""
    if gamma == 0:
        return float("nan")
    dv_t, h_dv = gamma_dv / gamma, step / (1.0 - gamma)
    size = float(dv_t @ dv_t)
    return float(dv_t @ h_dv) / size if size > 0 else 0.0


def true_path_points(problem: Problem, dynamics, theta: torch.Tensor, T: int,
                     segment: int | None = None):
    """The true training path in reverse order, ``(t, w_t)`` for ``t = T-1, ..., 0``, with
    :math:`O(T/k + k)` memory: every ``segment``-th state (default :math:`k = \\lceil\\sqrt T\\rceil`)
    is kept during one forward pass and each segment is recomputed when the reverse pass
    reaches it (as :func:`hpostudy.hypergrad.reverse` with ``checkpoint_every``)."""
    k = segment or max(1, math.ceil(math.sqrt(T)))
    theta = theta.detach()
    kept = {}
    state = dynamics.init(problem.w0)
    with torch.no_grad():
        for t in range(T):
            if t % k == 0:
                kept[t] = state
            state = dynamics.step(state, theta, t, problem.grad)
        for start in sorted(kept, reverse=True):
            states = [kept[start]]
            for t in range(start, min(start + k, T) - 1):
                states.append(dynamics.step(states[-1], theta, t, problem.grad))
            for i in range(len(states) - 1, -1, -1):
                yield start + i, states[i][0]
