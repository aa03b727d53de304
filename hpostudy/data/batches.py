"""Deterministic mini-batch streams: the batch of step ``t`` is a pure function of
``(seed, t)``, so a training run, its reverse pass and the next meta-iteration all see the
same batches."""
from __future__ import annotations

import numbers

import numpy as np
import torch


class BatchStream:
    """Mini-batch indices as a pure function of ``(seed, step)``.

    The data are shuffled with a permutation seeded by ``(seed, epoch)`` and cut into
    ``n // batch_size`` batches (a last partial batch is dropped); step ``t`` lies in epoch
    ``t // batches_per_epoch``. Replaying step ``t`` anywhere gives the same indices.
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, reshuffle: bool = True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if n < batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the {n} examples")
        self.n, self.batch_size, self.seed, self.reshuffle = n, batch_size, int(seed), reshuffle
        self.batches_per_epoch = n // batch_size
        self._cache: tuple[int, np.ndarray] | None = None

    def _perm(self, epoch: int) -> np.ndarray:
        # kept as numpy: a cached tensor would leak between torch.func transform levels
        key = epoch if self.reshuffle else 0
        if self._cache is None or self._cache[0] != key:
            rng = np.random.default_rng([self.seed, key])
            self._cache = (key, rng.permutation(self.n))
        return self._cache[1]

    def indices(self, step: int) -> torch.Tensor:
        """The example indices of the mini-batch of step ``step``: a slice of the permutation of
        its epoch, seeded by ``(seed, epoch)`` (or by ``(seed, 0)`` when not reshuffling).

        Args:
            step: the step, at least 0.

        Returns:
            torch.Tensor: ``batch_size`` indices.

        Raises:
            ValueError: a negative step.
        """
        if step < 0:
            raise ValueError(f"step must be non-negative, got {step}")
        epoch, pos = divmod(step, self.batches_per_epoch)
        return torch.from_numpy(self._perm(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size])
