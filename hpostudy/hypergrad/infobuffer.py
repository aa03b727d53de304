"""Exactly reversible multiplication by :math:`\\gamma = n/2^k` of fixed-point numbers,
vectorized: the information buffer (:class:`InfoBuffer`) in which exact reversal
(:mod:`hpostudy.hypergrad.fixedpoint`) keeps the bits that the multiplication destroys.

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
"""
from __future__ import annotations

import torch

WORD_BITS = 16
_WORD = float(1 << WORD_BITS)
_HALF_WORD = float(1 << (WORD_BITS - 1))


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
