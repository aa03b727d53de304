r"""Implicit hypergradients: train ``T`` steps, then apply the implicit function theorem at
:math:`w_T` as if it were the minimizer :math:`w^*(\theta)` of the training loss (Bengio 2000;
Pedregosa 2016; Lorraine, Vicol & Duvenaud 2020).

**The equation.** Let :math:`L(w, \theta)` be the training loss as the problem defines it,
penalty included, averaged over the mini-batches of the last ``batches`` steps,
:math:`L = \frac1B\sum_{t=T-B}^{T-1} L(w, \theta, t)`, and :math:`f(w, \theta)` the validation
objective. Where :math:`\nabla_w L(w^*(\theta), \theta) = 0`, differentiating gives
:math:`H\, \partial w^*/\partial\theta + \partial_\theta\nabla_w L = 0`, so

.. math::  \frac{dF}{d\theta} = \partial_\theta f(w_T, \theta)
           - \big(\partial_\theta \nabla_w L(w_T, \theta)\big)^{\top}
             \,(H + \delta I)^{-1}\, \nabla_w f(w_T, \theta),
           \qquad H = \nabla_w^2 L(w_T, \theta),

with :math:`(\partial_\theta\nabla_w L)_{ij} = \partial^2 L/\partial w_i\,\partial\theta_j`
(a :math:`P\times m` matrix, applied transposed to the vector :math:`u = (H+\delta I)^{-1}
\nabla_w f` by one mixed second-order product), and :math:`\delta` the ``damping`` (0 by
default: the exact theorem). :math:`F(\theta) = f(w^*(\theta), \theta)`; a descent step on
:math:`\theta` subtracts this gradient.

**The solvers** of :math:`(H + \delta I)\, u = \nabla_w f` (:mod:`~.solvers`, each
Hessian-vector product by double backward through the gradient's graph, built once at
:math:`w_T`): ``"cg"``, conjugate gradient; ``"neumann"``, the truncated Neumann series
(Lorraine et al. 2020, eq. 7); ``"fixed_point"``, fixed-point iteration of the Jacobian of the
training step itself (recurrent back-propagation), which gives

.. math:: \frac{dF}{d\theta} = \partial_\theta f + a\, \partial_\theta \Phi,\qquad
          a = \nabla_s f\,(I - \partial_s\Phi)^{-1},

the equation above for SGD, with no step and no damping to choose. ``residual`` is the relative
residual of the system each solver solves, :math:`\|b - Au\| / \|b\|`.

**Hyperparameters that act through the dynamics** (learning rates ``lr_hyper``, the learning
rate and momentum of :class:`~hpostudy.dynamics.TunedSGDMomentum`): the minimizer
:math:`w^*` does not depend on them, so the implicit function theorem gives them no
hypergradient. Their dependence through the step is not differentiated (``fixed_point``
applies :math:`\partial_\theta\Phi` through the gradient only); their entries hold what acts
through :math:`L` and :math:`f` -- zero for a pure learning rate or momentum. The method warns
(``UserWarning``) and lists them in ``diagnostics.dynamics_entries``; tune them with
``reverse``, ``truncated`` or ``forward``.

**Accuracy.** The theorem holds at a stationary point: at a :math:`w_T` that has not converged,
or where :math:`H` is singular or indefinite (non-convex training), the result is an estimate
whose error this library measures against the exact methods; ``converged`` says only that the
linear solve reached ``tol``.
"""
from __future__ import annotations

import math
import warnings

import torch

from ..dynamics import Dynamics, Problem, check_call, train
from .result import HypergradResult, ImplicitDiagnostics
from .solvers import conjugate_gradient, fixed_point_iteration, neumann_series

SOLVERS = ("cg", "neumann", "fixed_point")


def implicit(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int, *,
             solver: str = "cg", iterations: int = 100, tol: float = 1e-10,
             damping: float | None = None, alpha: float | None = None, batches: int = 1,
             progress=None) -> HypergradResult:
    r"""Implicit-function-theorem hypergradient at :math:`w_T` after ``T`` training steps (Lorraine
    et al. 2020).

    Solves :math:`(H + \delta I)\,u = \nabla_w f(w_T)` with :math:`H = \nabla^2_w L(w_T)`, then
    returns :math:`\nabla_\theta f - u^\top \nabla^2_{\theta w} L` (one mixed second-order
    product); exact only where :math:`w_T` is a stationary point of the training loss.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        solver: ``"cg"`` (conjugate gradient), ``"neumann"`` (truncated Neumann series) or
            ``"fixed_point"`` (iteration of the training step).
        iterations: the most solver iterations (one Hessian-vector product each).
        tol: stop once the relative residual is at most ``tol`` (0: run every iteration unless
            the residual vanishes).
        damping: :math:`\delta > 0` added to the Hessian (``cg``, ``neumann``); None: none.
        alpha: the Neumann step (``neumann`` only); None: :math:`1/\lambda_{\max}`.
        batches: the training loss is averaged over the mini-batches of the last ``batches``
            steps (1 to T).
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        HypergradResult: the hypergradient (``grad_w0`` None) and :class:`ImplicitDiagnostics`.

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T)
    _check_options(solver, iterations, tol, damping, alpha, batches, T)
    theta = theta.detach()
    w_T, v_T = train(problem, dynamics, theta, T)
    if progress is not None:
        progress.update(T)
    f, dw, dtheta_direct = problem.val_value_and_grads(w_T, theta)
    entries = _dynamics_entries(dynamics, w_T, v_T, theta, T - 1)
    if entries:
        _warn_dynamics_entries(problem, entries)
    delta = 0.0 if damping is None else float(damping)
    with torch.enable_grad():
        w = w_T.detach().requires_grad_(True)
        th = theta.detach().requires_grad_(True)
        loss = sum(problem.train_loss(w, th, t) for t in range(T - batches, T)) / batches
        g = torch.autograd.grad(loss, w, create_graph=True)[0]
        if solver == "fixed_point":
            sol = fixed_point_iteration(dynamics, w, th, g, v_T, T - 1, dw, iterations, tol)
            mixed = sol.pop("mixed")
        else:
            def hvp(x: torch.Tensor) -> torch.Tensor:
                hx = torch.autograd.grad(g, w, x, retain_graph=True)[0]
                return hx + delta * x if delta else hx

            sol = (conjugate_gradient(hvp, dw, iterations, tol) if solver == "cg"
                   else neumann_series(hvp, dw, iterations, tol, alpha))
            # u^T (d_theta grad_w L): the mixed product, one more double backward
            mixed = torch.autograd.grad(g, th, sol.pop("u"), allow_unused=True)[0]
            mixed = torch.zeros_like(theta) if mixed is None else -mixed
    hypergrad = dtheta_direct + mixed.to(dtheta_direct.dtype)
    if not (math.isfinite(sol["residuals"][-1]) and bool(torch.isfinite(hypergrad).all())):
        raise FloatingPointError(
            f"the implicit hypergradient ({solver}) is NaN or infinite after "
            f"{sol['iterations']} iterations (relative residual {sol['residuals'][-1]:.3g}): the "
            "solve diverged; the Hessian at w_T may be indefinite (train longer, add damping, or "
            "use solver 'cg')")
    residuals = sol["residuals"]
    diagnostics = ImplicitDiagnostics(
        solver=solver, iterations=sol["iterations"], residual=residuals[-1],
        converged=residuals[-1] <= tol, hvps=sol["hvps"] + 1,
        stored_bytes=sol["stored_bytes"], alpha=sol.get("alpha"),
        damping=delta, batches=batches, negative_curvature=sol.get("negative_curvature", False),
        dynamics_entries=tuple(entries), residuals=residuals)
    return HypergradResult("implicit", hypergrad, None, w_T, float(f), diagnostics)


# --------------------------------------------------------------------------- options
def _check_options(solver, iterations, tol, damping, alpha, batches, T) -> None:
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations <= 0:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if (isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol)
            or tol < 0):
        raise ValueError(f"tol must be a finite non-negative number, got {tol!r}")
    for name, value in (("damping", damping), ("alpha", alpha)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value <= 0):
            raise ValueError(f"{name} must be a positive number (or None), got {value!r}")
    if damping is not None and solver == "fixed_point":
        raise ValueError("damping applies to the solvers 'cg' and 'neumann'; 'fixed_point' "
                         "iterates the training step's own Jacobian (set damping=None)")
    if alpha is not None and solver != "neumann":
        raise ValueError(f"alpha is the step of the solver 'neumann'; solver {solver!r} has no "
                         "step (set alpha=None)")
    if isinstance(batches, bool) or not isinstance(batches, int) or not 1 <= batches <= T:
        raise ValueError(f"batches must be an integer in [1, T] = [1, {T}], got {batches!r}")


# --------------------------------------------------------------------------- dynamics entries
def _dynamics_entries(dynamics: Dynamics, w: torch.Tensor, v: torch.Tensor,
                      theta: torch.Tensor, t: int) -> list[int]:
    """The entries of ``theta`` that the step of ``dynamics`` depends on for a fixed gradient
    (learning rates, momenta): one vector-Jacobian product of :meth:`Dynamics.update` at a
    random state, gradient and cotangent (seeded), whose nonzero entries are those."""
    gen = torch.Generator().manual_seed(0)

    def rand(x):
        return torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)

    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        out = dynamics.update((rand(w), rand(v)), rand(w), th, t)
        outs = [o for o in out if isinstance(o, torch.Tensor) and o.requires_grad]
        if not outs:
            return []
        d = torch.autograd.grad(outs, th, [rand(o) for o in outs], allow_unused=True)[0]
    return [] if d is None else d.nonzero().flatten().tolist()


def _warn_dynamics_entries(problem: Problem, entries: list[int]) -> None:
    name = problem.space.entry_name if problem.space is not None else (lambda i: f"theta[{i}]")
    shown = ", ".join(name(i) for i in entries[:5])
    more = f" and {len(entries) - 5} more" if len(entries) > 5 else ""
    warnings.warn(
        f"implicit: {len(entries)} hyperparameter(s) act through the training dynamics "
        f"({shown}{more}): the implicit function theorem gives them no hypergradient (the "
        "minimizer does not depend on learning rates or momenta), so their entries hold only "
        "what acts through the losses (0 for a pure learning rate or momentum); use "
        "'reverse', 'truncated' or 'forward' to tune them", UserWarning, stacklevel=3)
