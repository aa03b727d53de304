"""Text corpora for the language models: Penn Treebank (Mikolov's release, each split checked
against its line count) and a small Markov-chain corpus generated offline, both as a
:class:`Corpus` of token ids."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .root import DatasetMissing, _corrupt, _missing, data_root


@dataclass
class Corpus:
    """A tokenized corpus: id tensors per split and the vocabulary (index = id)."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab: list[str]
    name: str


def _tokenize(lines, index):
    ids = []
    for line in lines:
        for word in line.split() + ["<eos>"]:
            ids.append(index.setdefault(word, len(index)))
    return torch.tensor(ids, dtype=torch.int64)


_PTB_LINES = {"ptb.train.txt": 42068, "ptb.valid.txt": 3370, "ptb.test.txt": 3761}


def _ptb_missing(root: Path) -> DatasetMissing:
    folder = root / "ptb"
    absent = [f for f in _PTB_LINES if not (folder / f).exists()]
    return _missing("ptb", root, f"{folder} lacks {', '.join(absent)}")


def _read_ptb(path: Path, root: Path) -> list[str]:
    """The lines of one PTB split, checked to be the non-empty text of Mikolov's file (its line
    count, which survives a change of line endings); :class:`DatasetCorrupt` if not."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise _corrupt("ptb", path, f"it cannot be read ({err})", root) from err
    if not raw.strip():
        raise _corrupt("ptb", path, "it is empty" if not raw else "it holds only whitespace", root)
    if b"\0" in raw:
        raise _corrupt("ptb", path, f"it holds NUL bytes (first at byte {raw.index(0):,}), so it "
                       "is binary data, not text", root)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _corrupt("ptb", path, f"it is not text ({err})", root) from err
    lines = text.splitlines()
    official = _PTB_LINES.get(path.name)
    if official is not None and len(lines) != official:
        cut = "" if raw.endswith(b"\n") else ", and its last line stops without a line break"
        raise _corrupt("ptb", path, f"it has {len(lines):,} lines{cut}; Mikolov's {path.name} "
                       f"has {official:,}: the file is truncated or not the official one", root)
    return lines


def load_ptb(root: Path | None = None) -> Corpus:
    """Penn Treebank (Mikolov's version) from ``ptb.{train,valid,test}.txt``; ``<eos>`` ends
    every line; the vocabulary is built from the training split (10,000 types)."""
    root = Path(root) if root else data_root()
    folder = root / "ptb"
    files = [folder / name for name in _PTB_LINES]
    if not all(f.exists() for f in files):
        raise _ptb_missing(root)
    index: dict[str, int] = {}
    splits = [_tokenize(_read_ptb(f, root), index) for f in files]
    return Corpus(*splits, vocab=list(index), name="ptb")


def generated_corpus(vocab: int = 60, tokens: int = 20000, seed: int = 0,
                     successors: int = 4) -> Corpus:
    """A small corpus generated offline for smoke runs of the language-model experiments: a
    first-order Markov chain over ``vocab`` word types, each followed by one of ``successors``
    types (weights from a seeded Dirichlet), split 80/10/10 into train/valid/test. Its entropy
    rate bounds the achievable perplexity from below (at most ``successors``)."""
    if vocab < 2 or successors < 1 or successors > vocab:
        raise ValueError(f"need vocab >= 2 and 1 <= successors <= vocab, got {vocab}, {successors}")
    if tokens < 100:
        raise ValueError(f"a generated corpus needs at least 100 tokens, got {tokens}")
    rng = np.random.default_rng(seed)
    nexts = np.stack([rng.choice(vocab, successors, replace=False) for _ in range(vocab)])
    probs = rng.dirichlet(np.ones(successors), size=vocab)
    ids = np.empty(tokens, dtype=np.int64)
    ids[0] = 0
    choices = rng.random(tokens)
    cumulative = probs.cumsum(1)
    for t in range(1, tokens):
        prev = ids[t - 1]
        ids[t] = nexts[prev, min(np.searchsorted(cumulative[prev], choices[t]), successors - 1)]
    a, b = int(0.8 * tokens), int(0.9 * tokens)
    ids = torch.from_numpy(ids)
    return Corpus(ids[:a], ids[a:b], ids[b:], vocab=[f"w{i}" for i in range(vocab)],
                  name="generated")
