r"""The solvers of :func:`~.implicit.implicit`: :math:`(H + \delta I)\, u = \nabla_w f` with
:math:`H = \nabla_w^2 L(w_T, \theta)` (each Hessian-vector product :math:`Hx` by double backward
through the gradient's graph, built once at :math:`w_T`), or the row vector :math:`a` of the
training step's fixed point:

* ``"cg"`` -- conjugate gradient (Hestenes & Stiefel 1952); needs :math:`H + \delta I`
  positive definite and stops at a direction of non-positive curvature
  (``diagnostics.negative_curvature``);
* ``"neumann"`` -- the truncated Neumann series (Lorraine et al. 2020, eq. 7), with step
  :math:`\alpha`: :math:`u_K = \alpha \sum_{k=0}^{K-1} (I - \alpha(H+\delta I))^k\, \nabla_w f`,
  run as :math:`u_{k+1} = u_k + \alpha r_k`, :math:`r_{k+1} = r_k - \alpha (H+\delta I) r_k`
  from :math:`u_0 = 0`, :math:`r_0 = \nabla_w f` (:math:`r_k` is the residual of :math:`u_k`);
  converges for :math:`0 < \alpha\lambda < 2` on every eigenvalue, at the rate
  :math:`\max|1 - \alpha\lambda|`. Default :math:`\alpha = 1/\lambda_{\max}` from 20 Lanczos
  iterations (their products are counted in ``hvps``);
* ``"fixed_point"`` -- fixed-point iteration of the Jacobian of the training step itself
  (recurrent back-propagation, Almeida 1987 and Pineda 1987; Liao et al. 2018): with
  :math:`\Phi` the step of ``dynamics`` at step :math:`T-1` on the state :math:`s = (w, v)`
  and on the gradient of :math:`L`, the fixed point :math:`s^* = \Phi(s^*, \theta)` gives
  :math:`ds^*/d\theta = (I - \partial_s\Phi)^{-1}\partial_\theta\Phi`, so the row vector
  :math:`a = \nabla_s f\,(I - \partial_s\Phi)^{-1}` solves :math:`a = a\, \partial_s\Phi +
  \nabla_s f`, iterated as :math:`a_{k+1} = a_k + r_k`, :math:`r_{k+1} = r_k\,\partial_s\Phi`
  from :math:`a_0 = 0`, :math:`r_0 = (\nabla_w f, 0)`, and

  .. math:: \frac{dF}{d\theta} = \partial_\theta f + a\, \partial_\theta \Phi .

  For SGD, :math:`\Phi(w) = w - \eta\nabla_w L` gives :math:`\partial_w\Phi = I - \eta H`,
  :math:`\partial_\theta\Phi = -\eta\,\partial_\theta\nabla_w L`, hence the equation above
  with :math:`\delta = 0`; with momentum, where :math:`v^* = 0`, the same result. It converges
  where training converges, at training's rate, with no step to choose (no ``alpha``, no
  ``damping``). It is the reverse pass of REVERSE-HO run at the fixed point.

Each returns a dict: its result, ``residuals`` (the relative residual :math:`\|b - Au\| /
\|b\|` of the system it solves after 0, 1, ... iterations, read off each iteration without an
extra product), ``iterations``, ``hvps`` (the products spent) and ``stored_bytes`` (the vectors
it keeps between iterations, the method's memory).
"""
from __future__ import annotations

import math

import torch

from ..dynamics import Dynamics
from .diagnostics import lanczos_extremes

LANCZOS_STEPS = 20


def _norm(x) -> float:
    return float(torch.linalg.vector_norm(x))


def conjugate_gradient(hvp, b: torch.Tensor, iterations: int, tol: float) -> dict:
    """Conjugate gradient (Hestenes & Stiefel 1952) on :math:`Au = b` from :math:`u_0 = 0`,
    stopped at a direction of non-positive curvature.

    Args:
        hvp: :math:`x \\mapsto Ax`, symmetric (the damped Hessian).
        b: the right-hand side :math:`\\nabla_w f`.
        iterations: the most iterations (one product each).
        tol: stop once the relative residual is at most ``tol``.

    Returns:
        dict: ``u``, ``residuals``, ``iterations``, ``hvps``, ``stored_bytes`` (u, r, p) and
        ``negative_curvature``.
    """
    u = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = float(r @ r)
    b_norm = math.sqrt(rs)
    residuals = [1.0 if b_norm > 0 else 0.0]
    negative = False
    for _ in range(iterations):
        if residuals[-1] <= tol:
            break
        ap = hvp(p)
        curvature = float(p @ ap)
        if not curvature > 0:
            negative = True
            residuals.append(residuals[-1])  # the product was spent; the iterate is unchanged
            break
        step = rs / curvature
        u = u + step * p
        r = r - step * ap
        rs_new = float(r @ r)
        residuals.append(math.sqrt(rs_new) / b_norm)
        if not math.isfinite(rs_new):
            break
        p = r + (rs_new / rs) * p
        rs = rs_new
    return {"u": u, "residuals": residuals, "iterations": len(residuals) - 1,
            "hvps": len(residuals) - 1, "stored_bytes": 3 * b.numel() * b.element_size(),
            "negative_curvature": negative}


def neumann_series(hvp, b: torch.Tensor, iterations: int, tol: float,
                   alpha: float | None) -> dict:
    """Truncated Neumann series :math:`u_K = \\alpha\\sum_{k<K}(I-\\alpha A)^k b` (Lorraine et al.
    2020, eq. 7), run as :math:`u_{k+1} = u_k + \\alpha r_k`, :math:`r_{k+1} = r_k - \\alpha A r_k`.

    Args:
        hvp: :math:`x \\mapsto Ax`, symmetric (the damped Hessian).
        b: the right-hand side :math:`\\nabla_w f`.
        iterations: the most iterations (one product each).
        tol: stop once the relative residual is at most ``tol``.
        alpha: the step; None: :math:`1/\\lambda_{\\max}` from ``LANCZOS_STEPS`` Lanczos
            iterations (counted in ``hvps``).

    Returns:
        dict: ``u``, ``residuals``, ``iterations``, ``hvps``, ``stored_bytes`` (u, r) and
        ``alpha``.

    Raises:
        ValueError: ``alpha`` None and no positive curvature.
    """
    hvps = 0
    if alpha is None:
        calls = [0]

        def counted(x):
            calls[0] += 1
            return hvp(x)

        _, top = lanczos_extremes(counted, b.numel(), steps=LANCZOS_STEPS, dtype=b.dtype,
                                  device=b.device)
        hvps = calls[0]
        if not top > 0:
            raise ValueError(f"solver 'neumann' needs positive curvature: the largest "
                             f"eigenvalue of the (damped) Hessian at w_T is {top:.3g}; add "
                             "damping or pass alpha")
        alpha = 1.0 / top
    u = torch.zeros_like(b)
    r = b.clone()
    b_norm = _norm(b)
    residuals = [1.0 if b_norm > 0 else 0.0]
    for _ in range(iterations):
        if residuals[-1] <= tol:
            break
        u = u + alpha * r
        r = r - alpha * hvp(r)
        hvps += 1
        residuals.append(_norm(r) / b_norm)
        if not math.isfinite(residuals[-1]):
            break
    return {"u": u, "residuals": residuals, "iterations": len(residuals) - 1, "hvps": hvps,
            "stored_bytes": 2 * b.numel() * b.element_size(), "alpha": float(alpha)}


def fixed_point_iteration(dynamics: Dynamics, w: torch.Tensor, th: torch.Tensor,
                          g: torch.Tensor, v: torch.Tensor, t: int, b: torch.Tensor,
                          iterations: int, tol: float) -> dict:
    """Fixed-point iteration :math:`a_{k+1} = a_k + r_k`, :math:`r_{k+1} = r_k\\,\\partial_s\\Phi`
    from :math:`a_0 = 0`, :math:`r_0 = (b, 0)` on the step of ``dynamics`` at step ``t``, whose
    gradient ``g`` (with its graph on ``w`` and ``th``) is the only way ``theta`` enters it; then
    the mixed product :math:`a\\,\\partial_\\theta\\Phi` (module docstring).

    Args:
        dynamics: the training step :math:`\\Phi`.
        w: the weights :math:`w_T`, requiring grad (``g``'s graph is on them).
        th: the hyperparameters, requiring grad.
        g: the gradient of the training loss at ``w``, with its graph.
        v: the velocity :math:`v_T`.
        t: the step whose schedules :math:`\\Phi` uses.
        b: :math:`\\nabla_w f`.
        iterations: the most iterations (one vector-Jacobian product each).
        tol: stop once the relative residual is at most ``tol``.

    Returns:
        dict: ``mixed`` (:math:`a\\,\\partial_\\theta\\Phi`), ``residuals``, ``iterations``,
        ``hvps`` and ``stored_bytes`` (a and r, each a state).
    """
    v_ = v.detach().to(w.dtype).requires_grad_(True)
    out = dynamics.update((w, v_), g, th.detach(), t)
    live = [i for i, o in enumerate(out) if o.requires_grad]  # outputs that depend on (w, v)
    out = [out[i] for i in live]
    zero_v = torch.zeros_like(v_)
    a = (torch.zeros_like(b), zero_v)
    r = (b.clone(), zero_v)
    b_norm = _norm(b)
    residuals = [1.0 if b_norm > 0 else 0.0]
    for _ in range(iterations):
        if residuals[-1] <= tol:
            break
        a = (a[0] + r[0], a[1] + r[1])
        dw, dv = torch.autograd.grad(out, (w, v_), [r[i] for i in live], retain_graph=True,
                                     allow_unused=True)
        r = (torch.zeros_like(b) if dw is None else dw, zero_v if dv is None else dv)
        residuals.append(math.sqrt(_norm(r[0]) ** 2 + _norm(r[1]) ** 2) / b_norm)
        if not math.isfinite(residuals[-1]):
            break
    mixed = torch.autograd.grad(out, th, [a[i] for i in live], allow_unused=True)[0]
    return {"mixed": torch.zeros_like(th) if mixed is None else mixed,
            "residuals": residuals, "iterations": len(residuals) - 1,
            "hvps": len(residuals) - 1,
            "stored_bytes": 2 * (b.numel() + v.numel()) * b.element_size()}
