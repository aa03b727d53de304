r"""SGD with momentum whose learning rate and momentum are hyperparameters, in the form of
Franceschi et al. (2017, section 1): :math:`v_t = \mu v_{t-1} - \eta\nabla J_t(w_{t-1})`,
:math:`w_t = w_{t-1} + v_t`, the inner dynamics that RT-HO tunes with the other
hyperparameters.
"""
from __future__ import annotations

import torch

from .arithmetic import FLOAT, FloatArithmetic
from .base import Dynamics, State


class TunedSGDMomentum(Dynamics):
    r"""SGD with momentum whose learning rate and momentum are hyperparameters, in the form of
    Franceschi et al. (2017, section 1): :math:`v_t = \mu v_{t-1} - \eta\nabla J_t(w_{t-1})`,
    :math:`w_t = w_{t-1} + v_t`, with :math:`\eta` = ``theta[lr_entry]`` and :math:`\mu` =
    ``theta[momentum_entry]`` (one global value each; RT-HO tunes them with the other
    hyperparameters).

    The constraints :math:`\eta \ge 0`, :math:`0 \le \mu \le 1` belong to the outer optimizer
    (e.g. :class:`~hpostudy.metaopt.ProjectedAdam` with a box). ``reverse``, ``forward``,
    ``rt_ho`` and ``drmad`` differentiate with respect to both; exact and floating-point
    reversal (and DrMAD2) refuse it: they represent a momentum fixed before training.

    Args:
        lr_entry: the index of :math:`\eta` in ``theta``.
        momentum_entry: the index of :math:`\mu` in ``theta``, another one.

    Raises:
        ValueError: an index that is not a non-negative integer, or both the same.
    """

    name = "tuned_sgd_momentum"
    irreversible_reason = ("its momentum is a hyperparameter, and exact reversal multiplies and "
                           "divides by a momentum n/2^k fixed before training")

    def __init__(self, lr_entry: int, momentum_entry: int):
        for label, value in (("lr_entry", lr_entry), ("momentum_entry", momentum_entry)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be the index of an entry of theta, got {value!r}")
        if lr_entry == momentum_entry:
            raise ValueError("the learning rate and the momentum need entries of their own, got "
                             f"both at {lr_entry}")
        self.lr_entry, self.momentum_entry = lr_entry, momentum_entry

    def hyperparameters(self, theta: torch.Tensor, like: torch.Tensor):
        r""":math:`(\eta, \mu)` read from ``theta``, in the weights' dtype and differentiable.

        Args:
            theta: the hyperparameters.
            like: a tensor whose dtype the values take (the weights or the gradient).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`\eta` and :math:`\mu`, 0-dimensional.
        """
        return theta[self.lr_entry].to(like.dtype), theta[self.momentum_entry].to(like.dtype)

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Check that both entries exist in ``theta``.

        Args:
            w0: the initial weights.
            theta: the hyperparameters.

        Raises:
            ValueError: ``theta`` too short for ``lr_entry`` or ``momentum_entry``.
        """
        for label, entry in (("lr_entry", self.lr_entry), ("momentum_entry", self.momentum_entry)):
            if entry >= theta.numel():
                raise ValueError(f"{label}={entry} but theta has {theta.numel()} entries: append "
                                 "the learning rate and the momentum to the hyperparameters, or "
                                 "point at their entries")

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        r""":math:`v_t = \mu v_{t-1} - \eta g_t`, :math:`w_t = w_{t-1} + v_t` (Franceschi et al.
        2017, section 1), differentiable in :math:`\eta` and :math:`\mu`.

        Args:
            state: :math:`(w_{t-1}, v_{t-1})`.
            g: :math:`\nabla J_t(w_{t-1})`, the training gradient at the weights before the step.
            theta: the hyperparameters holding :math:`\eta` and :math:`\mu`.
            t: the step.
            arith: floating-point arithmetic (the fixed point is refused).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`(w_t, v_t)`.

        Raises:
            TypeError: ``arith`` is exact (fixed point).
        """
        if arith.exact:
            raise TypeError(f"{type(self).__name__} cannot be reversed: {self.irreversible_reason}")
        w, v = state
        lr, momentum = self.hyperparameters(theta, w)
        v = momentum * v - lr * g
        return (w + v, v)

    def velocity_before(self, g: torch.Tensor, increment: torch.Tensor, theta: torch.Tensor,
                        t: int) -> torch.Tensor:
        r""":math:`v_{t-1} = (\Delta w + \eta g_t)/\mu` for the step that moves the weights by
        ``increment`` :math:`= \Delta w` (DrMAD's line, thesis Algorithm 3, line 5). When
        :math:`\mu = 0` every velocity fits that step, but
        :math:`\partial v_t/\partial\mu = v_{t-1}` still counts: it is the velocity of the previous
        step, :math:`v_{t-1} = w_{t-1} - w_{t-2}`, which on the line is the same increment (and the
        initial zero velocity before step 0).

        Args:
            g: the training gradient at the weights before the step.
            increment: :math:`\Delta w`, the weights' change over the step.
            theta: the hyperparameters holding :math:`\eta` and :math:`\mu`.
            t: the step.

        Returns:
            torch.Tensor: :math:`v_{t-1}`, in ``g``'s dtype.
        """
        lr, momentum = (x.detach() for x in self.hyperparameters(theta, g))
        if float(momentum) == 0:
            return torch.zeros_like(g) if t == 0 else increment.to(g.dtype)
        return (increment + lr * g) / momentum
