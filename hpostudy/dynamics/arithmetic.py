r"""The arithmetic a training step is written against: floating point here, the fixed point of
:mod:`hpostudy.hypergrad.fixedpoint` for exact reversal. Multiplying the velocity by the
momentum :math:`\gamma_t` loses about :math:`-\log_2\gamma_t` bits per step in floating point
(thesis section 1.2.2, after Maclaurin et al. 2015, section 2.3), so that the division undoing
it (thesis Algorithm 2, line 8) is only approximate here.
"""
from __future__ import annotations

import torch


class FloatArithmetic:
    r"""Floating-point arithmetic for :meth:`Dynamics.update` and :meth:`Dynamics.inverse`:
    the operations are the plain ones, and the inverse of the momentum multiplication divides
    (so it loses bits: Maclaurin et al. 2015, section 2.3).

    Args:
        momentum_bits: None, or ``k`` to round each momentum to
            :math:`\mathrm{round}(\gamma 2^k)/2^k`, the value the fixed-point arithmetic uses, so
            that the adjoint of an exact reversal runs with the momentum the forward pass really
            had.
    """

    exact = False

    def __init__(self, momentum_bits: int | None = None):
        self.momentum_bits = momentum_bits

    def momentum(self, gamma: float) -> float:
        r"""The momentum this arithmetic really multiplies by: :math:`\gamma` itself, or with
        ``momentum_bits`` :math:`k` the nearest :math:`n/2^k` with :math:`1 \le n \le 2^k - 1`.

        Args:
            gamma: the momentum :math:`\gamma_t` of the schedule.

        Returns:
            float: the momentum used.
        """
        if self.momentum_bits is None:
            return gamma
        scale = 1 << self.momentum_bits
        return max(1, min(scale - 1, round(gamma * scale))) / scale

    def mul_momentum(self, v: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        r""":math:`\gamma v`, the first term of thesis Algorithm 1, line 5 (the multiplication that
        destroys bits).

        Args:
            v: the velocity :math:`v_{t-1}`.
            gamma: the momentum :math:`\gamma_t` (as :meth:`momentum` gives it).
            t: the step (the fixed-point arithmetic keys its information buffer by it).

        Returns:
            torch.Tensor: :math:`\gamma_t v_{t-1}`.
        """
        return gamma * v

    def div_momentum(self, v: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        r""":math:`v/\gamma`, the inverse of :meth:`mul_momentum` (thesis Algorithm 2, line 8).

        Args:
            v: :math:`v_t + (1-\gamma_t) g_t`.
            gamma: the momentum :math:`\gamma_t`.
            t: the step.

        Returns:
            torch.Tensor: :math:`v_{t-1} = [v_t + (1-\gamma_t) g_t]/\gamma_t`.

        Raises:
            ValueError: the momentum is 0, so the velocity before the step is lost.
        """
        if gamma == 0:
            raise ValueError(f"the momentum is 0 at step {t}: reversing SGD with momentum divides "
                             "by it, and with momentum 0 the velocity before the step is lost. "
                             "Use method 'reverse' (stored trajectory) or 'drmad' (no reversal).")
        return v / gamma

    def from_float(self, x: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
        r"""``factor * x`` for a float ``x`` (a gradient) in this arithmetic's velocity format: the
        term :math:`(1-\gamma_t) g_t` of thesis Algorithm 1, line 5.

        Args:
            x: a floating-point tensor, e.g. :math:`g_t`.
            factor: the multiplier, e.g. :math:`1-\gamma_t`.

        Returns:
            torch.Tensor: ``factor * x`` as a velocity.
        """
        return factor * x

    def scale(self, x: torch.Tensor, factor) -> torch.Tensor:
        r"""``factor * x`` for a velocity ``x`` in this arithmetic's weight format: the increment
        :math:`\alpha_t v_t` of thesis Algorithm 1, line 6.

        Args:
            x: a velocity.
            factor: a number or a tensor (per-parameter learning rates), cast to ``x``'s dtype.

        Returns:
            torch.Tensor: ``factor * x`` as a weight increment.
        """
        return (factor.to(x.dtype) if isinstance(factor, torch.Tensor) else factor) * x

    def to_float(self, x: torch.Tensor) -> torch.Tensor:
        """A weight or velocity of this arithmetic as floats (here: itself).

        Args:
            x: a weight or velocity in this arithmetic's format.

        Returns:
            torch.Tensor: ``x`` as floats.
        """
        return x

    @property
    def float(self) -> "FloatArithmetic":
        """The floating-point arithmetic whose adjoint matches this one.

        Returns:
            FloatArithmetic: this arithmetic itself.
        """
        return self


FLOAT = FloatArithmetic()
