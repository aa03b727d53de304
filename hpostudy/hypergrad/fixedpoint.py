"""Exactly reversible multiplication by :math:`\\gamma = n/2^k` of fixed-point integers, vectorized.

Maclaurin, Duvenaud & Adams (2015) make SGD with momentum reversible by storing the bits that
the multiplication :math:`v \\leftarrow \\gamma v` destroys in an *information buffer* (per
element a Python big integer). Here the buffer is a per-element streaming range-ANS state ``x``
in int64 plus the 32-bit words it emits, so the whole operation is a handful of tensor ops that
run on CPU and GPU alike:

forward, per element (``V`` the fixed-point velocity, ``d = 2^k``)::

    r = V mod d,  q = V div d                    # the low k bits would be lost
    if x >= c*n*2^32: emit x mod 2^32, x >>= 32  # renormalize *before* the push
    x = x*d + r                                  # push r (uniform on [0, d))
    s = x mod n,  x = x div n                    # pop s (uniform on [0, n))
    V = q*n + s                                  # = floor(V * n/d) up to the popped s

and the exact inverse in reverse. With :math:`L = c\\,d` the state stays in :math:`[L, 2^{32}L)`,
the pop never runs short, and in reverse ``x < L`` marks exactly the elements that emitted in
that step, so no masks are stored (``shared/notes/exact-reversal.md``, pitfall 1). No
intermediate exceeds :math:`2^{62}`: products are split as ``x = a*n + b`` (pitfall 2). The buffer
grows by :math:`\\log_2(d/n) = \\log_2(1/\\gamma)` bits per element per step, the
information-theoretic minimum.
"""
from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF


class InfoBuffer:
    """The per-element rANS state and the words emitted at each step."""

    def __init__(self, size: int, k: int, device=None, c_log2: int = 14):
        if not 1 <= k <= 24:
            raise ValueError(f"k must be in [1, 24], got {k}")
        self.k, self.d = k, 1 << k
        self.lower = (1 << c_log2) * self.d  # L = c * d
        if self.lower.bit_length() + 32 > 63:
            raise ValueError("k + c_log2 too large: the state would not fit in int64")
        self.c = 1 << c_log2
        self.x = torch.full((size,), self.lower, dtype=torch.int64, device=device)
        self.words: dict[int, torch.Tensor] = {}
        self.size = size

    # ------------------------------------------------------------------ forward
    def multiply(self, V: torch.Tensor, n: int, step: int) -> torch.Tensor:
        """Return :math:`\\approx V n/d` exactly reversibly, storing the lost bits."""
        k, d = self.k, self.d
        x = self.x
        emit = x >= (self.c * n) << 32
        if bool(emit.any()):
            low = x[emit] & _MASK32
            self.words[step] = (low - ((low >> 31) << 32)).to(torch.int32)  # wrap to int32
            x = torch.where(emit, x >> 32, x)
        r, q = V & (d - 1), V >> k
        a = torch.div(x, n, rounding_mode="floor")
        t2 = (x - a * n) * d + r
        t2q = torch.div(t2, n, rounding_mode="floor")
        self.x = a * d + t2q
        return q * n + (t2 - t2q * n)

    # ------------------------------------------------------------------ reverse
    def divide(self, V: torch.Tensor, n: int, step: int) -> torch.Tensor:
        """Exact inverse of :meth:`multiply` at the same ``step``."""
        k, d = self.k, self.d
        q = torch.div(V, n, rounding_mode="floor")
        s = V - q * n
        x = self.x
        t2 = (x & (d - 1)) * n + s
        x = (x >> k) * n + (t2 >> k)
        r = t2 & (d - 1)
        read = x < self.lower
        words = self.words.pop(step, None)
        n_read = int(read.sum())
        n_written = 0 if words is None else words.numel()
        if n_read != n_written:
            raise RuntimeError(
                f"exact reversal lost sync at step {step}: {n_read} elements want a word, "
                f"{n_written} were written. The gradient of this step was not bitwise identical "
                "in the forward and reverse passes: pin the thread count (torch.set_num_threads) "
                "and use deterministic kernels (torch.use_deterministic_algorithms(True)).")
        if n_read:
            x = x.clone()
            x[read] = (x[read] << 32) | (words.to(torch.int64) & _MASK32)
        self.x = x
        return (q << k) + r

    # ------------------------------------------------------------------ accounting
    def bits(self) -> float:
        """Information held now: 32 bits per stored word plus the growth of the states."""
        words = sum(w.numel() for w in self.words.values())
        growth = torch.log2(self.x.double() / self.lower).sum().item()
        return 32.0 * words + growth

    def stored_bytes(self) -> int:
        return 4 * sum(w.numel() for w in self.words.values()) + 8 * self.size

    def is_empty(self) -> bool:
        return not self.words and bool((self.x == self.lower).all())


def gamma_ratio(gamma: float, k: int) -> int:
    """The numerator ``n`` of the exactly representable momentum ``n / 2^k`` nearest ``gamma``."""
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"exact reversal needs a momentum in (0, 1), got {gamma}")
    return max(1, min((1 << k) - 1, round(gamma * (1 << k))))


def effective_gamma(gamma: float, k: int = 16) -> float:
    """The momentum the exact method really uses: ``round(gamma * 2^k) / 2^k``
    (0.899993896 for 0.9 with k = 16); float references should use it (note, pitfall 6)."""
    return gamma_ratio(gamma, k) / (1 << k)


class FixedPoint:
    """Conversion between floats and int64 fixed point with ``radix`` fractional bits."""

    def __init__(self, radix: int):
        if not 8 <= radix <= 60:
            raise ValueError(f"radix must be in [8, 60], got {radix}")
        self.radix = radix
        self.scale = float(2 ** radix)
        self.limit = 2 ** 62  # every intermediate stays below 2^62

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x.double() * self.scale).to(torch.int64)

    def decode(self, X: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
        return (X.double() / self.scale).to(dtype)

    def max_abs(self) -> float:
        return self.limit / self.scale / 4
