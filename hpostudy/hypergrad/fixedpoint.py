"""Exactly reversible multiplication by :math:`\\gamma = n/2^k` of fixed-point numbers, vectorized,
and the fixed-point arithmetic in which exact reversal runs SGD with momentum.

Maclaurin, Duvenaud & Adams (2015) make SGD with momentum reversible by storing the bits that
the multiplication :math:`v \\leftarrow \\gamma v` destroys in an *information buffer* (per
element a Python big integer). Here the buffer is a per-element streaming range-ANS state ``x``
plus the 16-bit words it emits, so the whole operation is a handful of tensor ops that run on
CPU and GPU alike:

forward, per element (``V`` the fixed-point velocity, ``d = 2^k``, ``b = 16`` bits a word)::

    r = V mod d,  q = V div d                      # the low k bits would be lost
    if x >= c*n*2^b: emit x mod 2^b, x = x div 2^b # renormalize *before* the push
    y = x*d + r                                    # push r (uniform on [0, d))
    s = y mod n,  x = y div n                      # pop s (uniform on [0, n))
    V = q*n + s                                    # = floor(V * n/d) up to the popped s

and the exact inverse in reverse. With :math:`L = c\\,d` the state stays in :math:`[L, 2^b L)`,
the pop never runs short, and in reverse ``x < L`` marks exactly the elements that emitted in
that step, so no masks are stored (``shared/notes/exact-reversal.md``, pitfall 1). The buffer
grows by :math:`\\log_2(d/n) = \\log_2(1/\\gamma)` bits per element per step, the
information-theoretic minimum.

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

WORD_BITS = 16
_WORD = float(1 << WORD_BITS)
_HALF_WORD = float(1 << (WORD_BITS - 1))
V_LIMIT = float(2 ** 52)  # float64 integers stay exact below 2^53; keep one bit of margin
W_LIMIT = 2 ** 60         # int64 weights: sums of two stay below 2^62


class InfoBuffer:
    """The per-element rANS state and the 16-bit words emitted at each step."""

    def __init__(self, size: int, k: int, device=None):
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 18:
            raise ValueError(f"k (momentum bits) must be an integer in [1, 18], got {k!r}")
        self.k, self.d = k, float(1 << k)
        self.inv_d = 1.0 / self.d
        self.lower = self.d  # L = c * d with c = 1: y = x*d + r < 2^(16 + 2k) <= 2^52
        self.x = torch.full((size,), self.lower, dtype=torch.float64, device=device)
        self.words: dict[int, torch.Tensor] = {}
        self.size = size
        self._lowest = torch.zeros(64, dtype=torch.float64, device=device)
        self._read_steps: list[int] = []
        self._divisors: dict[int, torch.Tensor] = {}

    def _divisor(self, n: int) -> torch.Tensor:
        """``n`` as a float64 tensor on the buffer's device. Dividing by it is IEEE division,
        correctly rounded, so the floor of the quotient is exact (module docstring). Dividing
        by a Python number is not that on CUDA: PyTorch multiplies by the reciprocal there,
        which can put an exact multiple of ``n`` one below its quotient."""
        divisor = self._divisors.get(n)
        if divisor is None:
            divisor = self._divisors[n] = torch.tensor(float(n), dtype=torch.float64,
                                                       device=self.x.device)
        return divisor

    # ------------------------------------------------------------------ forward
    def multiply(self, V: torch.Tensor, n: int, step: int) -> torch.Tensor:
        """Return :math:`\\approx V n/d` exactly reversibly, storing the lost bits."""
        d, x = self.d, self.x
        q = (V * self.inv_d).floor_()
        y = torch.sub(V, q, alpha=d)  # r = V mod d
        if float(x.amax()) >= n * _WORD:  # some elements emit (c * n * 2^b with c = 1)
            emit = x >= n * _WORD
            high = torch.floor(x * (1.0 / _WORD))
            low = torch.sub(x, high, alpha=_WORD)[emit]
            self.words[step] = (low - _HALF_WORD).to(torch.int16)
            x = torch.where(emit, high, x)
        y.add_(x, alpha=d)  # y = x*d + r
        x = torch.div(y, self._divisor(n)).floor_()
        self.x = x
        return y.sub_(x, alpha=n).add_(q, alpha=n)  # q*n + (y mod n)

    # ------------------------------------------------------------------ reverse
    def divide(self, V: torch.Tensor, n: int, step: int) -> torch.Tensor:
        """Exact inverse of :meth:`multiply` at the same ``step``."""
        d = self.d
        q = torch.div(V, self._divisor(n)).floor_()
        y = torch.sub(V, q, alpha=n).add_(self.x, alpha=n)  # y = x*n + (V mod n)
        x = (y * self.inv_d).floor_()
        r = y.sub_(x, alpha=d)
        words = self.words.pop(step, None)
        if words is None:  # no element may read: checked in batches, without a sync per step
            self._lowest[len(self._read_steps)] = x.amin()
            self._read_steps.append(step)
            if len(self._read_steps) == len(self._lowest):
                self.check_sync()
        else:
            read = x < self.lower
            self._check_count(step, int(read.sum()), words.numel())
            x[read] = x[read] * _WORD + (words.to(torch.float64) + _HALF_WORD)
        self.x = x
        return r.add_(q, alpha=d)

    def check_sync(self) -> None:
        """Raise if, at any step reversed since the last check, an element wanted a word where
        none was written."""
        n = len(self._read_steps)
        if n and bool((self._lowest[:n] < self.lower).any()):
            i = int((self._lowest[:n] < self.lower).nonzero()[0])
            self._check_count(self._read_steps[i], -1, 0)
        self._read_steps.clear()

    def _check_count(self, step: int, n_read: int, n_written: int) -> None:
        if n_read != n_written:
            wanted = "some elements want a word" if n_read < 0 else f"{n_read} elements want a word"
            hint = ("pin the thread count (torch.set_num_threads) and use deterministic kernels "
                    "(torch.use_deterministic_algorithms(True))")
            if self.x.is_cuda:
                hint = ("on CUDA this is a known open problem: on an H100 (torch 2.11) exact "
                        "reversal recovered the path over 20 steps but lost it over 100 or more, "
                        "with deterministic kernels too; run it on the CPU (device cpu), where "
                        "it is bit-exact")
            raise RuntimeError(
                f"exact reversal lost sync at step {step}: {wanted}, {n_written} were written "
                "(the reverse pass did not retrace the forward pass bit for bit, at this step "
                f"or one reversed before it). {hint[0].upper()}{hint[1:]}.")

    # ------------------------------------------------------------------ accounting
    def word_count(self) -> int:
        """The number of 16-bit words stored now, over all steps.

        Returns:
            int: the words held in ``words``.
        """
        return sum(w.numel() for w in self.words.values())

    def bits(self) -> float:
        """Information held now: 16 bits per stored word plus the growth of the states."""
        growth = torch.log2(self.x / self.lower).sum().item()
        return WORD_BITS * self.word_count() + growth

    def stored_bytes(self) -> int:
        """Bytes held: 2 per word and 8 per element state."""
        return 2 * self.word_count() + 8 * self.size

    def is_empty(self) -> bool:
        """Whether the buffer is back where it started: no words held and every state at its
        lower bound ``L``, as after a complete, bit-exact reversal.

        Returns:
            bool: True when nothing is stored.
        """
        return not self.words and bool((self.x == self.lower).all())


def effective_gamma(gamma: float, k: int = 16) -> float:
    """The momentum that exact reversal really uses: ``round(gamma * 2^k) / 2^k``, the nearest
    :math:`n/2^k` with :math:`1 \\le n \\le 2^k - 1`, the momenta whose multiplication the
    information buffer can undo (module docstring).

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
