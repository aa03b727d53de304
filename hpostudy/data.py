"""Datasets, seeded splits and deterministic mini-batch streams.

Every dataset comes back as a :class:`Splits` of tensors (train / validation / test). The embedded
default, scikit-learn's handwritten ``digits``, needs no download. Real datasets (``mnist``,
``cifar10``, ``ptb``) are read from a *data root*: ``$HPOSTUDY_DATA`` if set, else ``./data``.
A missing dataset raises :class:`DatasetMissing`, whose message says where to put the files.

Mini-batches are a pure function of ``(seed, step)`` (:class:`BatchStream`), so a training run,
its reverse pass and the next meta-iteration all see exactly the same batches.
"""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DatasetMissing", "Splits", "BatchStream", "data_root", "DATASETS", "SKLEARN",
    "load_digits", "load_mnist", "load_cifar10", "load_ptb", "load_table", "require",
]

DATASETS = ("digits", "generated", "mnist", "cifar10", "ptb")


class DatasetMissing(FileNotFoundError):
    """A real dataset is not on disk (and was not, or could not be, downloaded)."""


@dataclass
class Splits:
    """Train / validation / test tensors of one dataset; ``x`` float, ``y`` int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    name: str

    def to(self, device=None, dtype=None) -> "Splits":
        """Move every tensor to ``device``; cast the inputs (not the labels) to ``dtype``."""
        def mv(x, is_input):
            x = x.to(device) if device is not None else x
            return x.to(dtype) if (dtype is not None and is_input and x.is_floating_point()) else x
        return Splits(mv(self.x_train, True), mv(self.y_train, False), mv(self.x_val, True),
                      mv(self.y_val, False), mv(self.x_test, True), mv(self.y_test, False),
                      self.num_classes, self.name)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def data_root() -> Path:
    """The folder real datasets are read from: ``$HPOSTUDY_DATA``, else ``./data``."""
    env = os.environ.get("HPOSTUDY_DATA")
    return Path(env) if env else Path.cwd() / "data"


def _missing(name: str, folder: Path, files: list[str], hint: str = "") -> DatasetMissing:
    listing = ", ".join(files)
    return DatasetMissing(
        f"dataset '{name}' not found: expected {listing} in {folder}. "
        f"Put the files there (or point $HPOSTUDY_DATA at a folder holding '{name}/'), "
        f"or pass download=True where the network allows it.{hint} "
        "The embedded 'digits' dataset needs no files."
    )


def _permutation(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=gen)


def _check_sizes(available: int, wanted: int, what: str, name: str) -> None:
    if wanted < 0:
        raise ValueError(f"{what} size must be non-negative, got {wanted}")
    if wanted > available:
        raise ValueError(f"{name}: asked for {wanted} {what} examples but only {available} exist")


# --------------------------------------------------------------------------- digits (embedded)
def load_digits(n_val: int = 360, n_test: int = 360, seed: int = 0, image: bool = False) -> Splits:
    """scikit-learn's 1,797 real 8x8 handwritten digits, seeded split, pixels scaled to [0, 1].

    ``image=True`` gives ``(N, 1, 8, 8)`` tensors for convolutional models, else ``(N, 64)``.
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = torch.tensor(bunch.data, dtype=torch.float32) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    n = len(y)
    _check_sizes(n, n_val, "validation", "digits")
    _check_sizes(n, n_test, "test", "digits")
    _check_sizes(n, n_val + n_test, "validation+test", "digits")
    perm = _permutation(n, seed)
    x, y = x[perm], y[perm]
    if image:
        x = x.view(-1, 1, 8, 8)
    n_train = n - n_val - n_test
    return Splits(x[:n_train], y[:n_train], x[n_train:n_train + n_val], y[n_train:n_train + n_val],
                  x[n_train + n_val:], y[n_train + n_val:], 10, "digits")


# --------------------------------------------------------------------------- MNIST
_MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _mnist_folder(root: Path) -> Path | None:
    for folder in (root / "mnist", root / "MNIST" / "raw"):
        if all((folder / f).exists() or (folder / f[:-3]).exists() for f in _MNIST_FILES):
            return folder
    return None


def load_mnist(n_train: int = 15000, n_val: int = 5000, n_test: int = 5000, seed: int = 0,
               root: Path | None = None, download: bool = False, image: bool = False) -> Splits:
    """MNIST from IDX files, seeded subsets (the thesis: 15,000 / 5,000 from 20,000 training
    images, and 5,000 test images). Pixels in [0, 1]; ``(N, 784)`` or ``(N, 1, 28, 28)``."""
    root = Path(root) if root else data_root()
    folder = _mnist_folder(root)
    if folder is None and download:
        import torchvision

        try:
            torchvision.datasets.MNIST(str(root), train=True, download=True)
            torchvision.datasets.MNIST(str(root), train=False, download=True)
        except Exception as err:  # network errors come in many types
            raise _missing("mnist", root / "mnist", _MNIST_FILES,
                           f" (download failed: {err})") from err
        folder = _mnist_folder(root)
    if folder is None:
        raise _missing("mnist", root / "mnist", _MNIST_FILES)

    def read(name):
        path = folder / name
        return _read_idx(path if path.exists() else folder / name[:-3])

    xtr, ytr = read(_MNIST_FILES[0]), read(_MNIST_FILES[1])
    xte, yte = read(_MNIST_FILES[2]), read(_MNIST_FILES[3])
    _check_sizes(len(ytr), n_train + n_val, "train+validation", "mnist")
    _check_sizes(len(yte), n_test, "test", "mnist")
    ptr = _permutation(len(ytr), seed)[: n_train + n_val].numpy()
    pte = _permutation(len(yte), seed + 1)[:n_test].numpy()
    shape = (-1, 1, 28, 28) if image else (-1, 784)

    def tx(a):
        return torch.tensor(a, dtype=torch.float32).reshape(shape) / 255.0

    def ty(a):
        return torch.tensor(a, dtype=torch.int64)

    return Splits(tx(xtr[ptr[:n_train]]), ty(ytr[ptr[:n_train]]), tx(xtr[ptr[n_train:]]),
                  ty(ytr[ptr[n_train:]]), tx(xte[pte]), ty(yte[pte]), 10, "mnist")


# --------------------------------------------------------------------------- CIFAR-10
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def _cifar_arrays(root: Path):
    """(train_x, train_y, test_x, test_y) uint8 CHW arrays from any of the supported layouts."""
    folder = root / "cifar10"
    bins_train = sorted(folder.glob("train_*.bin")) or sorted(
        (root / "cifar-10-batches-bin").glob("data_batch_*.bin"))
    bins_test = sorted(folder.glob("test_*.bin")) or sorted(
        (root / "cifar-10-batches-bin").glob("test_batch.bin"))
    if bins_train and bins_test:
        def read(files):
            rec = np.concatenate([np.fromfile(f, np.uint8).reshape(-1, 3073) for f in files])
            return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)
        return (*read(bins_train), *read(bins_test))
    py = root / "cifar-10-batches-py"
    if (py / "test_batch").exists():
        def unpickle(f):
            with open(f, "rb") as fh:
                d = pickle.load(fh, encoding="bytes")
            return d[b"data"].reshape(-1, 3, 32, 32), np.array(d[b"labels"], np.int64)
        parts = [unpickle(f) for f in sorted(py.glob("data_batch_*"))]
        xte, yte = unpickle(py / "test_batch")
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                xte, yte)
    return None


def load_cifar10(n_train: int | None = None, n_val: int = 1000, n_test: int | None = None,
                 seed: int = 0, root: Path | None = None, download: bool = False) -> Splits:
    """CIFAR-10 (binary or python layout, or the 5,000-image subset ``cifar10/*.bin``),
    per-channel normalized, no augmentation. ``n_train=None`` takes all that remain after
    the validation split; ``n_test=None`` takes the whole test set."""
    root = Path(root) if root else data_root()
    arrays = _cifar_arrays(root)
    if arrays is None and download:
        import torchvision

        try:
            torchvision.datasets.CIFAR10(str(root), train=True, download=True)
        except Exception as err:
            raise _missing("cifar10", root, ["cifar-10-batches-py/"],
                           f" (download failed: {err})") from err
        arrays = _cifar_arrays(root)
    if arrays is None:
        raise _missing("cifar10", root / "cifar10",
                       ["train_*.bin and test_*.bin (or cifar-10-batches-bin/, cifar-10-batches-py/)"])
    xtr, ytr, xte, yte = arrays
    if n_val > len(ytr):
        raise ValueError(f"cifar10: asked for {n_val} validation images but the training files "
                         f"in {root} hold only {len(ytr)}; lower n_val (e.g. -p n_val=1000 for "
                         "the 4,000-image subset) or provide the full dataset")
    n_train = len(ytr) - n_val if n_train is None else n_train
    n_test = len(yte) if n_test is None else n_test
    _check_sizes(len(ytr), n_train + n_val, "train+validation", "cifar10")
    _check_sizes(len(yte), n_test, "test", "cifar10")
    ptr = _permutation(len(ytr), seed)[: n_train + n_val].numpy()
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)

    def tx(a):
        return (torch.tensor(a, dtype=torch.float32) / 255.0 - mean) / std

    return Splits(tx(xtr[ptr[:n_train]]), torch.tensor(ytr[ptr[:n_train]]),
                  tx(xtr[ptr[n_train:]]), torch.tensor(ytr[ptr[n_train:]]),
                  tx(xte[:n_test]), torch.tensor(yte[:n_test]), 10, "cifar10")


# --------------------------------------------------------------------------- Penn Treebank
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


def load_ptb(root: Path | None = None) -> Corpus:
    """Penn Treebank (Mikolov's version) from ``ptb.{train,valid,test}.txt``; ``<eos>`` ends
    every line; the vocabulary is built from the training split (10,000 types)."""
    root = Path(root) if root else data_root()
    folder = root / "ptb"
    files = [folder / f"ptb.{s}.txt" for s in ("train", "valid", "test")]
    if not all(f.exists() for f in files):
        raise _missing("ptb", folder, [f.name for f in files])
    index: dict[str, int] = {}
    splits = [_tokenize(f.read_text().splitlines(), index) for f in files]
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


# --------------------------------------------------------------------------- any table of features
SKLEARN = ("digits", "wine", "breast_cancer", "iris")


def load_table(spec: str, n_val: float = 0.25, n_test: float = 0.25, seed: int = 0) -> Splits:
    """A classification dataset given as features and labels: a scikit-learn dataset by name
    (``digits``, ``wine``, ``breast_cancer``, ``iris``) or an importable ``"module:function"``
    returning ``(X, y)`` (arrays or tensors; labels 0..K-1). Features are standardized with
    the training split's mean and deviation; ``n_val``/``n_test`` are fractions (< 1) or counts,
    the split seeded by ``seed``."""
    if spec in SKLEARN:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{spec}")()
        X, y = bunch.data, bunch.target
    else:
        from .importing import resolve

        loaded = resolve(spec, "dataset")()
        if not (isinstance(loaded, tuple) and len(loaded) == 2):
            raise TypeError(f"dataset '{spec}' must return (X, y), got {type(loaded).__name__}")
        X, y = loaded
    x = torch.as_tensor(np.asarray(X), dtype=torch.float32).reshape(len(y), -1)
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    if y.min() < 0:
        raise ValueError(f"dataset '{spec}': labels must be 0..K-1, got minimum {int(y.min())}")
    n = len(y)
    count = (lambda f: int(round(f * n)) if f < 1 else int(f))
    nv, nt = count(n_val), count(n_test)
    _check_sizes(n, nv + nt + 1, "validation+test (+1 training)", spec)
    perm = _permutation(n, seed)
    x, y = x[perm], y[perm]
    n_train = n - nv - nt
    mean, std = x[:n_train].mean(0), x[:n_train].std(0).clamp_min(1e-8)
    x = (x - mean) / std
    return Splits(x[:n_train], y[:n_train], x[n_train:n_train + nv], y[n_train:n_train + nv],
                  x[n_train + nv:], y[n_train + nv:], int(y.max()) + 1, spec)


def require(name: str, root: Path | None = None) -> None:
    """Raise :class:`DatasetMissing` now (before any work) if dataset ``name`` is not on disk."""
    root = Path(root) if root else data_root()
    if name in ("digits", "generated") or name in SKLEARN or ":" in name:
        return
    if name == "mnist" and _mnist_folder(root) is None:
        raise _missing("mnist", root / "mnist", _MNIST_FILES)
    if name == "cifar10" and _cifar_arrays(root) is None:
        raise _missing("cifar10", root / "cifar10", ["train_*.bin", "test_*.bin"])
    if name == "ptb":
        folder = root / "ptb"
        files = [f"ptb.{s}.txt" for s in ("train", "valid", "test")]
        if not all((folder / f).exists() for f in files):
            raise _missing("ptb", folder, files)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset '{name}': choose one of {list(DATASETS)}")


# --------------------------------------------------------------------------- batches
class BatchStream:
    """Mini-batch indices as a pure function of ``(seed, step)``.

    The data are shuffled with a permutation seeded by ``(seed, epoch)`` and cut into
    ``n // batch_size`` batches (a last partial batch is dropped); step ``t`` lies in epoch
    ``t // batches_per_epoch``. Replaying step ``t`` anywhere gives the same indices.
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0, reshuffle: bool = True):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
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
        if step < 0:
            raise ValueError(f"step must be non-negative, got {step}")
        epoch, pos = divmod(step, self.batches_per_epoch)
        return torch.from_numpy(self._perm(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size])

    def epoch_of(self, step: int) -> int:
        return step // self.batches_per_epoch
