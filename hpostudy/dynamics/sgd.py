r"""SGD with momentum in the thesis' form (thesis Algorithm 1, the one form every reversing
method undoes) and plain SGD, its case :math:`\gamma_t = 0`. Learning rates and momenta are
schedules, learning rates may depend on the hyperparameters, and the weights may be clipped
(thesis section 2.4).
"""
from __future__ import annotations

from typing import Callable

import torch

from .arithmetic import FLOAT, FloatArithmetic
from .base import Dynamics, Grad, State
from .schedules import Schedule, at


class SGDMomentum(Dynamics):
    r"""SGD with momentum, thesis Algorithm 1 (Maclaurin et al.'s form):
    :math:`v_t = \gamma_t v_{t-1} - (1-\gamma_t) g_t`, :math:`w_{t+1} = w_t + \alpha_t v_t`.

    Args:
        lr: :math:`\alpha_t`, a non-negative number or a schedule ``t -> value``.
        momentum: :math:`\gamma_t`, a number in [0, 1) or a schedule.
        lr_hyper: optional ``lr_hyper(theta)``, a per-parameter (or scalar) multiplier of the
            learning rate (learning rates as hyperparameters).
        clip: None, or project the weights onto ``[-clip, clip]`` after each step (thesis
            section 2.4); a clipped step is not reversible.

    Raises:
        TypeError: a schedule that is neither a number nor a function, or ``lr_hyper`` not
            callable.
        ValueError: a negative learning rate, a momentum outside [0, 1) or a non-positive
            ``clip``.
    """

    name = "sgd_momentum"

    def __init__(self, lr: Schedule = 0.1, momentum: Schedule = 0.9,
                 lr_hyper: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 clip: float | None = None):
        for label, value in (("lr", lr), ("momentum", momentum)):
            if not callable(value) and not isinstance(value, (int, float)):
                raise TypeError(f"{label} must be a number or a function of the step, got "
                                f"{type(value).__name__}")
        if not callable(lr) and not lr >= 0:
            raise ValueError(f"the learning rate must be non-negative, got {lr}")
        if not callable(momentum) and not 0 <= momentum < 1:
            raise ValueError(f"the momentum must be in [0, 1), got {momentum}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be positive (or None), got {clip}")
        if lr_hyper is not None and not callable(lr_hyper):
            raise TypeError("lr_hyper must be a function theta -> per-parameter multiplier")
        self.lr, self.momentum, self.lr_hyper, self.clip = lr, momentum, lr_hyper, clip

    @property
    def reversible(self) -> bool:
        """Whether :meth:`inverse` applies, which it does unless the weights are clipped (thesis
        Algorithm 2 undoes the unclipped step).

        Returns:
            bool: True when ``clip`` is None.
        """
        return self.clip is None

    @property
    def vjp_needs_velocity(self) -> bool:
        r"""Whether the adjoint reads the velocity, which
        :math:`\partial(\alpha_t(\theta) v_t)/\partial\theta` does when the learning rate depends on
        the hyperparameters, and the clipping's derivative does through where the step lands.

        Returns:
            bool: True with ``lr_hyper`` or ``clip``.
        """
        return self.lr_hyper is not None or self.clip is not None

    def gamma(self, t: int) -> float:
        r"""The momentum :math:`\gamma_t` of the schedule at step ``t``.

        Args:
            t: the step.

        Returns:
            float: :math:`\gamma_t`.

        Raises:
            ValueError: the momentum is outside [0, 1) at step ``t``.
        """
        gamma = at(self.momentum, t)
        if not 0 <= gamma < 1:
            raise ValueError(f"the momentum is {gamma} at step {t}: it must be in [0, 1)")
        return gamma

    def alpha(self, theta: torch.Tensor, t: int):
        r""":math:`\alpha_t`: the learning rate at step ``t``, times ``lr_hyper(theta)`` when given.

        Args:
            theta: the hyperparameters.
            t: the step.

        Returns:
            float | torch.Tensor: a number, or (with ``lr_hyper``) a per-parameter tensor.

        Raises:
            ValueError: the learning rate is negative at step ``t``.
        """
        base = at(self.lr, t)
        if not base >= 0:
            raise ValueError(f"the learning rate is {base} at step {t}: it must be non-negative")
        return base * self.lr_hyper(theta) if self.lr_hyper is not None else base

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Check the schedules at step 0 and the learning-rate multiplier ``lr_hyper(theta)``: a
        number or a per-parameter vector shaped like ``w0``, finite and non-negative.

        Args:
            w0: the initial weights.
            theta: the hyperparameters.

        Raises:
            ValueError: a schedule out of range at step 0, or ``lr_hyper(theta)`` of the wrong
                shape, negative or not finite.
        """
        self.gamma(0)
        alpha = self.alpha(theta, 0)
        if isinstance(alpha, torch.Tensor):
            if alpha.shape not in ((), w0.shape):
                raise ValueError(f"lr_hyper(theta) has shape {tuple(alpha.shape)}; it must be a "
                                 f"number or one rate per parameter, shape {tuple(w0.shape)}")
            if not bool(torch.isfinite(alpha).all()) or bool((alpha < 0).any()):
                raise ValueError("lr_hyper(theta) gives negative or non-finite learning rates")

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        r"""Thesis Algorithm 1, lines 5-6, in ``arith``:
        :math:`v_t = \gamma_t v_{t-1} - (1-\gamma_t) g_t`, :math:`w_{t+1} = w_t + \alpha_t v_t`,
        then the clipping to ``[-clip, clip]`` if set.

        Args:
            state: :math:`(w_t, v_{t-1})` in ``arith``'s format.
            g: :math:`g_t = \nabla_w L(w_t, \theta, t)`.
            theta: the hyperparameters.
            t: the step.
            arith: the arithmetic (its :meth:`~FloatArithmetic.momentum` is the :math:`\gamma_t`
                used).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`(w_{t+1}, v_t)`.
        """
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        v = arith.mul_momentum(v, gamma, t) - arith.from_float(g, 1.0 - gamma)
        w = w + arith.scale(v, self.alpha(theta, t))
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v)

    def velocity_before(self, g: torch.Tensor, increment: torch.Tensor, theta: torch.Tensor,
                        t: int) -> torch.Tensor:
        r"""The velocity before step ``t`` that makes the step move the weights by ``increment``:
        :math:`v_{t-1} = (v_t + (1-\gamma_t) g_t)/\gamma_t` with :math:`v_t` = ``increment``
        :math:`/\alpha_t` (thesis Algorithm 2, line 8, on DrMAD's line of Algorithm 3).

        Args:
            g: :math:`g_t`, the training gradient at the weights before the step.
            increment: :math:`w_{t+1} - w_t`.
            theta: the hyperparameters.
            t: the step.

        Returns:
            torch.Tensor: :math:`v_{t-1}`; zeros when :math:`\gamma_t = 0` (any velocity fits).
        """
        gamma = self.gamma(t)
        if gamma == 0:
            return torch.zeros_like(g)
        alpha = self.alpha(theta, t)
        alpha = alpha.detach().to(g.dtype) if isinstance(alpha, torch.Tensor) else alpha
        return (increment / alpha + (1.0 - gamma) * g) / gamma

    def inverse(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
                arith: FloatArithmetic) -> State:
        r"""Thesis Algorithm 2, lines 6-8: :math:`w_t = w_{t+1} - \alpha_t v_t`,
        :math:`g_t = \nabla L(w_t)`, :math:`v_{t-1} = (v_t + (1-\gamma_t) g_t)/\gamma_t` (the
        division is exact in fixed point, where the information buffer returns the bits the
        multiplication dropped).

        Args:
            state: :math:`(w_{t+1}, v_t)` in ``arith``'s format.
            theta: the hyperparameters.
            t: the step.
            grad: the training gradient ``grad(w, theta, t)``.
            arith: the arithmetic the forward pass ran in.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`(w_t, v_{t-1})` in ``arith``'s format.

        Raises:
            ValueError: the weights are clipped, or the momentum is 0 at step ``t``.
        """
        if not self.reversible:
            raise ValueError("SGD with momentum cannot be reversed with clipped weights; set clip=None")
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        w = w - arith.scale(v, self.alpha(theta, t))
        g = grad(arith.to_float(w), theta, t)
        return (w, arith.div_momentum(v + arith.from_float(g, 1.0 - gamma), gamma, t))


class SGD(SGDMomentum):
    r"""Plain SGD, :math:`w_{t+1} = w_t - \alpha_t g_t`: thesis Algorithm 1 with
    :math:`\gamma_t = 0`, which cannot be reversed (the velocity before a step is lost).

    Args:
        lr: :math:`\alpha_t`, a non-negative number or a schedule.
        lr_hyper: optional per-parameter multiplier ``lr_hyper(theta)`` of the learning rate.
        clip: None, or the bound of the weights' clipping (thesis section 2.4).
    """

    name = "sgd"

    def __init__(self, lr: Schedule = 0.1, lr_hyper=None, clip=None):
        super().__init__(lr=lr, momentum=0.0, lr_hyper=lr_hyper, clip=clip)

    @property
    def reversible(self) -> bool:
        r"""Plain SGD is not reversible, since from :math:`g_t` and :math:`\alpha_t`
        alone the weights before the step cannot be recovered (thesis section 1.2.2).

        Returns:
            bool: False.
        """
        return False

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
