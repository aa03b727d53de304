"""Nesterov momentum in the reformulation of Bengio et al. (2013) that thesis section 1.2.1
cites, as training dynamics: differentiable by the stored-trajectory and forward methods, not
reversed (thesis section 2.4: only regular momentum is).
"""
from __future__ import annotations

import torch

from .arithmetic import FLOAT, FloatArithmetic
from .base import Dynamics, State
from .sgd import SGDMomentum


class Nesterov(SGDMomentum):
    r"""Nesterov momentum in the reformulation of Bengio et al. (2013) cited in thesis section
    1.2.1: :math:`v_{t+1} = \gamma_t v_t - \alpha_t g_t`,
    :math:`w_{t+1} = w_t - \gamma_t v_t + (1+\gamma_{t+1}) v_{t+1}`. The learning rate is inside
    the velocity here; this form is not reversed exactly (thesis section 2.4).

    Args:
        lr: :math:`\alpha_t`, a non-negative number or a schedule.
        momentum: :math:`\gamma_t`, a number in [0, 1) or a schedule.
        lr_hyper: optional per-parameter multiplier ``lr_hyper(theta)`` of the learning rate.
        clip: None, or the bound of the weights' clipping (thesis section 2.4).
    """

    name = "nesterov"

    @property
    def reversible(self) -> bool:
        """Nesterov momentum is not reversed; thesis section 2.4 reverses only regular momentum.

        Returns:
            bool: False.
        """
        return False

    @property
    def vjp_needs_velocity(self) -> bool:
        r"""Whether the adjoint reads the velocity; the step is linear in :math:`v_t` with the
        hyperparameter-free factors (:math:`\gamma_t` in :math:`v_{t+1}`,
        :math:`\gamma_t\gamma_{t+1}` in :math:`w_{t+1}`), so only the clipping's derivative does.

        Returns:
            bool: True with ``clip``.
        """
        return self.clip is not None

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        r""":math:`v_{t+1} = \gamma_t v_t - \alpha_t g_t`,
        :math:`w_{t+1} = w_t - \gamma_t v_t + (1+\gamma_{t+1}) v_{t+1}` (thesis section 1.2.1), then
        the clipping if set.

        Args:
            state: :math:`(w_t, v_t)`.
            g: :math:`g_t = \nabla_w L(w_t, \theta, t)`.
            theta: the hyperparameters.
            t: the step.
            arith: floating-point arithmetic (the fixed point is refused).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`(w_{t+1}, v_{t+1})`.

        Raises:
            TypeError: ``arith`` is exact (fixed point).
        """
        if arith.exact:
            raise TypeError("Nesterov momentum has no fixed-point form: it is not reversed exactly")
        w, v = state
        alpha = self.alpha(theta, t)
        v_new = self.gamma(t) * v - (alpha.to(w.dtype) if isinstance(alpha, torch.Tensor) else alpha) * g
        w = w - self.gamma(t) * v + (1.0 + self.gamma(t + 1)) * v_new
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v_new)

    def inverse(self, state, theta, t, grad, arith):
        """Refused: :meth:`Dynamics.inverse`'s error.

        Args:
            state: the state after step ``t``.
            theta: the hyperparameters.
            t: the step.
            grad: the training gradient.
            arith: the arithmetic.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: never; the call raises.

        Raises:
            TypeError: always.
        """
        return Dynamics.inverse(self, state, theta, t, grad, arith)
