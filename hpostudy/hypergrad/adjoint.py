"""One reverse step of thesis Algorithm 2 (lines 9-12), shared by the methods that reconstruct
the path instead of storing it (exact reversal, floating-point reversal, DrMAD, DrMAD2)."""
from __future__ import annotations

import torch
from torch.func import vjp

from ..dynamics import Problem, SGDMomentum


def require_sgd_momentum(dynamics, method: str) -> None:
    if type(dynamics) is not SGDMomentum:
        raise TypeError(f"method '{method}' reverses SGD with momentum in the thesis' form "
                        f"(dynamics.SGDMomentum); got {type(dynamics).__name__}. Use method "
                        "'reverse' or 'forward' for other dynamics.")
    if dynamics.clip is not None and method in ("exact", "float_reversal"):
        raise ValueError(f"method '{method}' cannot reverse clipped weights; set clip=None")


def sgdm_adjoint_step(problem: Problem, dynamics: SGDMomentum, theta: torch.Tensor, t: int,
                      w_t: torch.Tensor, v_t: torch.Tensor | None, dw: torch.Tensor,
                      dv: torch.Tensor, dtheta: torch.Tensor):
    """Adjoint of step ``t`` at the point ``w_t`` (exact or approximate).

    In: ``dw`` = :math:`\\partial f/\\partial w_{t+1}`, ``dv`` = :math:`\\gamma_{t+1} dv_{t+1}`.
    Computes :math:`dv_t = dv + \\alpha_t dw` (line 9),
    :math:`dw_t = dw - (1-\\gamma_t)\\, dv_t^\\top \\nabla_w\\nabla_w L` (line 11),
    :math:`d\\theta \\mathrel{-}= (1-\\gamma_t)\\, dv_t^\\top \\nabla_\\theta\\nabla_w L` (line 12) and, with
    learning-rate hyperparameters, :math:`d\\theta \\mathrel{+}= (dw \\odot v_t)^\\top \\partial\\alpha_t/\\partial\\theta`
    (line 5). Returns ``(g_t, dw_t, gamma_t * dv_t, dtheta)``; ``g_t`` is the gradient at ``w_t``.
    """
    gamma = dynamics.gamma(t)
    if dynamics.lr_hyper is not None:
        alpha, pull_alpha = vjp(lambda th: dynamics.alpha(th, t).to(dw.dtype), theta)
        dtheta = dtheta + pull_alpha(dw * v_t)[0]
    else:
        alpha = dynamics.alpha(theta, t)
    dv_t = dv + alpha * dw
    g, pullback = vjp(lambda w, th: problem.grad(w, th, t), w_t, theta)
    hw, hth = pullback(-(1.0 - gamma) * dv_t)
    return g, dw + hw, gamma * dv_t, dtheta + hth
