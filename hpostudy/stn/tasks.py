"""Data feeds for STN training: mini-batches as pure functions of (seed, step), and full-set
evaluation of the validation and test losses without any regularization."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ..data import BatchStream, Corpus, Splits


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class ImageTask:
    """Image classification on :class:`~hpostudy.data.Splits`; errors next to losses."""

    metric = "error"

    def __init__(self, splits: Splits, batch_size: int, seed: int = 0, device: str = "cpu",
                 eval_batch_size: int = 1000):
        self.splits = splits.to(device)
        self.train_stream = BatchStream(len(splits.y_train), batch_size, seed)
        self.val_stream = BatchStream(len(splits.y_val), batch_size, seed + 1)
        self.eval_batch_size = eval_batch_size

    def train_batch(self, step: int):
        i = self.train_stream.indices(step).to(self.splits.x_train.device)
        return self.splits.x_train[i], self.splits.y_train[i]

    def val_batch(self, step: int):
        i = self.val_stream.indices(step).to(self.splits.x_val.device)
        return self.splits.x_val[i], self.splits.y_val[i]

    loss = staticmethod(_cross_entropy)

    @torch.no_grad()
    def evaluate(self, forward) -> dict[str, float]:
        """``forward(x) -> logits`` on the full validation and test sets."""
        out = {}
        for split, x, y in (("val", self.splits.x_val, self.splits.y_val),
                            ("test", self.splits.x_test, self.splits.y_test)):
            loss = wrong = 0.0
            for start in range(0, len(y), self.eval_batch_size):
                logits = forward(x[start:start + self.eval_batch_size])
                target = y[start:start + self.eval_batch_size]
                loss += float(F.cross_entropy(logits, target, reduction="sum"))
                wrong += float((logits.argmax(1) != target).sum())
            out[f"{split}_loss"] = loss / len(y)
            out[f"{split}_error"] = wrong / len(y)
        return out


class LanguageTask:
    """Word-level language modelling: training sequences of ``bptt`` tokens cut at offsets
    drawn from (seed, step); validation and test split into consecutive sequences of ``bptt``
    tokens, each started from a zero state (no state carried between sequences)."""

    metric = "perplexity"

    def __init__(self, corpus: Corpus, batch_size: int, bptt: int, seed: int = 0,
                 device: str = "cpu"):
        if len(corpus.valid) <= bptt or len(corpus.test) <= bptt:
            raise ValueError(f"bptt={bptt} is longer than the validation or test split")
        self.corpus, self.batch_size, self.bptt, self.seed = corpus, batch_size, bptt, seed
        self.device = device
        self.splits = {name: getattr(corpus, name).to(device) for name in ("train", "valid", "test")}

    def _random_batch(self, ids: torch.Tensor, seed: list[int]):
        rng = np.random.default_rng(seed)
        starts = torch.from_numpy(rng.integers(0, len(ids) - self.bptt - 1, self.batch_size))
        window = starts[:, None] + torch.arange(self.bptt + 1)[None, :]
        seq = ids[window.to(ids.device)]
        return seq[:, :-1], seq[:, 1:]

    def train_batch(self, step: int):
        return self._random_batch(self.splits["train"], [self.seed, 0, step])

    def val_batch(self, step: int):
        return self._random_batch(self.splits["valid"], [self.seed, 1, step])

    loss = staticmethod(_cross_entropy)

    @torch.no_grad()
    def evaluate(self, forward) -> dict[str, float]:
        out = {}
        for split, name in (("val", "valid"), ("test", "test")):
            ids = self.splits[name]
            n = (len(ids) - 1) // self.bptt
            inputs = ids[:n * self.bptt].reshape(n, self.bptt)
            targets = ids[1:n * self.bptt + 1].reshape(n, self.bptt)
            total = 0.0
            for start in range(0, n, 64):
                logits = forward(inputs[start:start + 64])
                total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               targets[start:start + 64].reshape(-1),
                                               reduction="sum"))
            out[f"{split}_loss"] = total / targets.numel()
            out[f"{split}_perplexity"] = math.exp(out[f"{split}_loss"])
        return out
