"""The fixed-point arithmetic in which exact reversal runs SGD with momentum; its
multiplication of the velocity by :math:`\\gamma = n/2^k` is exactly reversible through the
information buffer of :mod:`hpostudy.hypergrad.infobuffer`.

Number formats (chosen for speed: int64 arithmetic is not vectorized on CPUs, float64 is):

* the weights ``W`` are int64 with ``radix`` fractional bits, :math:`|w| < 2^{60-R}`;
* the velocity ``V`` and the buffer state are float64 holding integers, exact below
  :math:`2^{53}`: every intermediate is kept below :math:`2^{52}` (pitfall 2), so
  :math:`|v| < 2^{52-R}` (16 at the default radix 48) and ``k <= 18`` with ``c = 1``.
  Divisions by :math:`2^k` are exact multiplications by :math:`2^{-k}`; a quotient by ``n``
  is the floor of one correctly rounded division, exact for dividends below :math:`2^{52}`.

A value leaving its range raises ``OverflowError`` naming the step (lower the radix); the
precision of the hypergradient is :math:`2^{k-R}` (pitfall 3).
"""
from __future__ import annotations

import math

import torch

from ..dynamics import FloatArithmetic
# the information buffer lives in its own module; its names stay readable here
# (fixedpoint.InfoBuffer, fixedpoint.WORD_BITS), as the tests and exact reversal's docs read them
from .infobuffer import WORD_BITS, InfoBuffer

V_LIMIT = float(2 ** 52)  # float64 integers stay exact below 2^53; keep one bit of margin
W_LIMIT = 2 ** 60         # int64 weights: sums of two stay below 2^62


def effective_gamma(gamma: float, k: int = 16) -> float:
    """The momentum that exact reversal really uses: ``round(gamma * 2^k) / 2^k``, the nearest
    :math:`n/2^k` with :math:`1 \\le n \\le 2^k - 1`, the momenta whose multiplication the
    information buffer can undo (module ``hpostudy.hypergrad.infobuffer``).

    0.899993896 for 0.9 with k = 16; floating-point references compared with :func:`exact`
    should use it. This is the one rounding of the momentum, that of
    :meth:`~hpostudy.dynamics.FloatArithmetic.momentum` with ``momentum_bits=k`` (the arithmetic
    of exact reversal's adjoint), checked; the fixed-point arithmetic multiplies by it.

    Args:
        gamma: the momentum asked for, in (0, 1).
        k: the momentum's denominator is :math:`2^k`.

    Returns:
        float: the nearest :math:`n/2^k`.

    Raises:
        ValueError: ``gamma`` outside (0, 1).
    """
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"exact reversal needs a momentum in (0, 1), got {gamma}")
    return FloatArithmetic(momentum_bits=k).momentum(gamma)


class FixedPointArithmetic:
    """The arithmetic of exact reversal, for :meth:`~hpostudy.dynamics.Dynamics.update` and
    :meth:`~hpostudy.dynamics.Dynamics.inverse`: weights in int64 and velocities in float64
    integers, both with ``radix`` fractional bits (module docstring); the momentum
    multiplication goes through an :class:`InfoBuffer`, so :meth:`div_momentum` undoes
    :meth:`mul_momentum` bit for bit. ``dtype``: the floating type gradients are taken in.
    """

    exact = True

    def __init__(self, size: int, radix: int = 48, k: int = 16, dtype=torch.float32,
                 device=None):
        if isinstance(radix, bool) or not isinstance(radix, int) or not 8 <= radix <= 60:
            raise ValueError(f"radix must be an integer in [8, 60], got {radix!r}")
        self.buffer = InfoBuffer(size, k, device=device)
        if radix - k < 20:
            raise ValueError(f"radix - k = {radix - k} leaves too little precision (the "
                             f"hypergradient is exact to about 2^(k - radix)); use >= 28")
        self.radix, self.k, self.dtype = radix, k, dtype
        self.one = float(2 ** radix)
        self.unit = 2.0 ** -radix
        self.float = FloatArithmetic(momentum_bits=k)

    def momentum(self, gamma: float) -> float:
        """The momentum this arithmetic multiplies by: :func:`effective_gamma`."""
        return effective_gamma(gamma, self.k)

    def numerator(self, gamma: float) -> int:
        """``n`` of the momentum :math:`n/2^k` that :meth:`momentum` gives for ``gamma`` (the
        product by :math:`2^k` is exact)."""
        return int(self.momentum(gamma) * (1 << self.k))

    def mul_momentum(self, V: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        r"""The momentum step :math:`v \leftarrow \gamma v` on the fixed-point velocity, done
        reversibly: :meth:`InfoBuffer.multiply` by the numerator of :meth:`momentum`.

        Args:
            V: the velocity (float64 integers).
            gamma: the momentum asked for; :func:`effective_gamma` rounds it.
            t: the step, under which the buffer files the words it emits.

        Returns:
            torch.Tensor: the new velocity.
        """
        return self.buffer.multiply(V, self.numerator(gamma), t)

    def div_momentum(self, V: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        """The exact inverse of :meth:`mul_momentum` at the same step: :meth:`InfoBuffer.divide`.

        Args:
            V: the velocity after the momentum step.
            gamma: the momentum given to :meth:`mul_momentum`.
            t: the step given to :meth:`mul_momentum`.

        Returns:
            torch.Tensor: the velocity before it, bit for bit.
        """
        return self.buffer.divide(V, self.numerator(gamma), t)

    def from_float(self, x: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
        """``factor * x`` rounded to the velocity's fixed point (float64 integers)."""
        return x.to(torch.float64, copy=True).mul_(factor * self.one).round_()

    def scale(self, V: torch.Tensor, factor) -> torch.Tensor:
        """``factor * v`` rounded to the weights' fixed point (int64)."""
        if isinstance(factor, torch.Tensor):
            factor = factor.detach().to(torch.float64)
        return (V * factor).round_().to(torch.int64)

    def to_float(self, X: torch.Tensor) -> torch.Tensor:
        """A fixed-point tensor (weights or velocity) as floats of ``dtype``: one rounding."""
        return X.to(self.dtype, copy=True).mul_(self.unit)

    def encode_weights(self, w: torch.Tensor) -> torch.Tensor:
        r"""The weights in fixed point: int64 with ``radix`` fractional bits, rounded once.

        Args:
            w: the initial weights, floats.

        Returns:
            torch.Tensor: int64 :math:`\mathrm{round}(w\,2^R)`.

        Raises:
            OverflowError: a weight at or beyond the range :math:`|w| < 2^{60-R}`.
        """
        limit = W_LIMIT * self.unit
        if float(w.abs().max()) >= limit:
            raise OverflowError(f"the initial weights reach {float(w.abs().max()):.3g}, beyond the "
                                f"fixed-point range |w| < {limit:.3g} of radix {self.radix}; "
                                "lower the radix")
        return torch.round(w.to(torch.float64) * self.one).to(torch.int64)

    def zeros_velocity(self, like: torch.Tensor) -> torch.Tensor:
        """A zero velocity in this arithmetic's format (float64 integers).

        Args:
            like: a tensor of the velocity's shape and device.

        Returns:
            torch.Tensor: float64 zeros.
        """
        return torch.zeros(like.shape, dtype=torch.float64, device=like.device)

    def information_bound(self, gammas: list[float]) -> float:
        """:math:`\\log_2(1/\\gamma)` averaged over the steps: bits per element per step."""
        return sum(-math.log2(g) for g in gammas) / len(gammas)


class RangeWatch:
    """Checks, after every forward step of exact reversal, that the weights and velocity stay
    inside the fixed-point range and finite; per-step maxima stay on the device and are
    inspected every ``every`` steps. The error names the first step that left the range."""

    def __init__(self, arith: FixedPointArithmetic, device, every: int = 64):
        self.arith, self.every = arith, every
        self.v_max = torch.empty(every, dtype=torch.float64, device=device)
        self.w_max = torch.empty(every, dtype=torch.int64, device=device)
        self.steps: list[int] = []

    def __call__(self, t: int, W: torch.Tensor, V: torch.Tensor) -> None:
        i = len(self.steps)
        lo, hi = torch.aminmax(V)  # NaN propagates
        self.v_max[i] = torch.maximum(hi, -lo)
        lo, hi = torch.aminmax(W)
        self.w_max[i] = torch.maximum(hi, -lo)
        self.steps.append(t)
        if len(self.steps) == self.every:
            self.flush()

    def flush(self) -> None:
        """Inspect the per-step maxima collected since the last flush and forget them; one
        device sync for all of them.

        Raises:
            FloatingPointError: the velocity became NaN or infinite at some step.
            OverflowError: the velocity or the weights left the fixed-point range; the message
                names the first such step.
        """
        n = len(self.steps)
        if not n:
            return
        v, w = self.v_max[:n], self.w_max[:n]
        bad = ~(v < V_LIMIT) | (w >= W_LIMIT)
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            t, R = self.steps[i], self.arith.radix
            if not math.isfinite(float(v[i])):
                raise FloatingPointError(
                    f"the training gradient became NaN or infinite at step {t} of exact "
                    "reversal's forward pass (the weights were finite and in range before it)")
            if float(v[i]) >= V_LIMIT:
                raise OverflowError(
                    f"the velocity reached |v| = {float(v[i]) * self.arith.unit:.3g} at step {t}, "
                    f"beyond the fixed-point range |v| < {V_LIMIT * self.arith.unit:.3g} of radix "
                    f"{R}: lower the radix (each bit less doubles the range and halves the "
                    "precision), or check whether training diverges")
            raise OverflowError(
                f"the weights reached |w| = {float(w[i]) * self.arith.unit:.3g} at step {t}, beyond "
                f"the fixed-point range |w| < {W_LIMIT * self.arith.unit:.3g} of radix {R}: lower "
                "the radix, or check whether training diverges")
        self.steps.clear()
