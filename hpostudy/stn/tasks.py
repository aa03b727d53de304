"""Data feeds for STN training: mini-batches as pure functions of (seed, step), evaluation of
the validation and test losses without any regularization, and the chance-level loss (a
predictor that knows nothing: the log of the number of classes or of the vocabulary) against
which divergence is judged."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ..data import BatchStream, Corpus, Splits


def frequent_words(corpus: Corpus, size: int, unknown: str = "<unk>") -> Corpus:
    """``corpus`` with its ``size`` most frequent training words (``unknown`` among them, ties
    broken by first appearance); every other word becomes ``unknown``."""
    if size < 2:
        raise ValueError(f"a vocabulary needs at least 2 words, got {size}")
    counts = torch.bincount(corpus.train, minlength=len(corpus.vocab))
    if unknown not in corpus.vocab:
        raise ValueError(f"the corpus has no '{unknown}' word to map rare words to")
    unk = corpus.vocab.index(unknown)
    counts[unk] = counts.max() + 1  # always kept
    order = torch.argsort(-counts, stable=True)
    kept = order[:size]
    new_id = torch.full((len(corpus.vocab),), int((kept == unk).nonzero()), dtype=torch.int64)
    new_id[kept] = torch.arange(len(kept))
    return Corpus(new_id[corpus.train], new_id[corpus.valid], new_id[corpus.test],
                  vocab=[corpus.vocab[i] for i in kept.tolist()], name=corpus.name)


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
        self.chance_loss = math.log(splits.num_classes)

    def train_batch(self, step: int):
        """The training mini-batch of step ``step`` (a pure function of seed and step).

        Args:
            step: the training step.

        Returns:
            tuple: images and labels.
        """
        i = self.train_stream.indices(step).to(self.splits.x_train.device)
        return self.splits.x_train[i], self.splits.y_train[i]

    def val_batch(self, step: int):
        """The validation mini-batch of step ``step``, from its own stream (seed + 1).

        Args:
            step: the validation step.

        Returns:
            tuple: images and labels.
        """
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
    drawn from (seed, step) within the first ``train_tokens`` tokens of the training split;
    validation and test (their first ``eval_tokens`` tokens) split into consecutive sequences of
    ``bptt`` tokens, each started from a zero state (no state carried between sequences).
    ``None`` takes a whole split."""

    metric = "perplexity"

    def __init__(self, corpus: Corpus, batch_size: int, bptt: int, seed: int = 0,
                 device: str = "cpu", train_tokens: int | None = None,
                 eval_tokens: int | None = None):
        cut = {"train": train_tokens, "valid": eval_tokens, "test": eval_tokens}
        self.splits = {name: getattr(corpus, name)[:n].to(device) for name, n in cut.items()}
        for name, ids in self.splits.items():
            if len(ids) <= bptt + 1:
                raise ValueError(f"the {name} split has {len(ids)} tokens, no more than "
                                 f"bptt + 1 = {bptt + 1}: lower bptt or use more tokens")
        self.corpus, self.batch_size, self.bptt, self.seed = corpus, batch_size, bptt, seed
        self.device = device
        self.chance_loss = math.log(len(corpus.vocab))

    def _random_batch(self, ids: torch.Tensor, seed: list[int]):
        rng = np.random.default_rng(seed)
        starts = torch.from_numpy(rng.integers(0, len(ids) - self.bptt - 1, self.batch_size))
        window = starts[:, None] + torch.arange(self.bptt + 1)[None, :]
        seq = ids[window.to(ids.device)]
        return seq[:, :-1], seq[:, 1:]

    def train_batch(self, step: int):
        """The training mini-batch of step ``step``: ``batch_size`` windows of ``bptt`` tokens at
        random starts drawn from ``(seed, 0, step)``.

        Args:
            step: the training step.

        Returns:
            tuple: input tokens and the next tokens, each (batch_size, bptt).
        """
        return self._random_batch(self.splits["train"], [self.seed, 0, step])

    def val_batch(self, step: int):
        """The validation mini-batch of step ``step``: random windows of the validation split,
        drawn from ``(seed, 1, step)``.

        Args:
            step: the validation step.

        Returns:
            tuple: input tokens and the next tokens, each (batch_size, bptt).
        """
        return self._random_batch(self.splits["valid"], [self.seed, 1, step])

    loss = staticmethod(_cross_entropy)

    @torch.no_grad()
    def evaluate(self, forward) -> dict[str, float]:
        """The validation and test losses of ``forward`` over whole splits, cut into consecutive
        sequences of ``bptt`` tokens (in chunks of 64 sequences).

        Args:
            forward: maps input tokens (sequences, bptt) to logits (sequences, bptt, vocab).

        Returns:
            dict[str, float]: ``val_loss``, ``val_perplexity``, ``test_loss`` and
            ``test_perplexity`` (loss: mean cross-entropy per token; perplexity: its exponential).
        """
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
