"""Datasets, seeded splits and deterministic mini-batch streams.

Every dataset comes back as a :class:`Splits` of tensors (train / validation / test). The embedded
default, scikit-learn's handwritten ``digits``, needs no download. Real datasets (``mnist``,
``cifar10``, ``ptb``) are read from a *data root*: ``$HPOSTUDY_DATA`` if set, else ``./data``.
A missing dataset raises :class:`DatasetMissing`, whose message says where to put the files; a
file that is there but truncated, unreadable or of the wrong shape raises :class:`DatasetCorrupt`
(a subclass), whose message names the file, what is wrong with it and where to re-copy it.
Nothing is downloaded unless a Python caller passes ``download=True`` to :func:`load_mnist` or
:func:`load_cifar10` (torchvision, on a machine with internet); the CLI and study runs never do.

Mini-batches are a pure function of ``(seed, step)`` (:class:`BatchStream`), so a training run,
its reverse pass and the next meta-iteration all see exactly the same batches.
"""
from __future__ import annotations

import gzip
import numbers
import os
import pickle
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DatasetMissing", "DatasetCorrupt", "Splits", "BatchStream", "data_root", "DATASETS", "SKLEARN",
    "load_digits", "load_mnist", "load_cifar10", "load_ptb", "load_table", "require",
]

DATASETS = ("digits", "generated", "mnist", "cifar10", "ptb")


class DatasetMissing(FileNotFoundError):
    """A real dataset is not on disk (and was not, or could not be, downloaded)."""


class DatasetCorrupt(DatasetMissing):
    """A file of a real dataset is on disk but unreadable, truncated or of the wrong format.

    A subclass of :class:`DatasetMissing`, so code that handles a missing dataset (skip, fall
    back to ``digits``) handles an unusable one the same way."""


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


_LAYOUT = {
    "mnist": "{root}/mnist/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
             "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (or the same four files in "
             "{root}/MNIST/raw/, as torchvision writes them; gunzipped copies without .gz "
             "work too)",
    "cifar10": "{root}/cifar10/train_*.bin and test_*.bin (CIFAR-10 binary records of 1 label "
               "byte + 3,072 pixel bytes), or the official binary release unpacked as "
               "{root}/cifar-10-batches-bin/data_batch_1.bin ... data_batch_5.bin and "
               "test_batch.bin, "
               "or the official python release as {root}/cifar-10-batches-py/data_batch_1 ... "
               "data_batch_5 and test_batch",
    "ptb": "{root}/ptb/ptb.train.txt, ptb.valid.txt, ptb.test.txt (the data/ folder of Mikolov's "
           "simple-examples release)",
}
_SOURCE = {
    "mnist": "the official MNIST release (LeCun's four *-ubyte.gz files)",
    "cifar10": "the official CIFAR-10 release (https://www.cs.toronto.edu/~kriz/cifar.html)",
    "ptb": "Mikolov's Penn Treebank release (simple-examples.tgz, data/ptb.*.txt)",
}
_DOWNLOAD = {
    "mnist": " Nothing is downloaded here: the CLI and study runs never fetch data. On a machine "
             "with internet, hpostudy.data.load_mnist(root=FOLDER, download=True) in Python "
             "fetches MNIST with torchvision into FOLDER/MNIST/raw/; copy that folder into the "
             "data root.",
    "cifar10": " Nothing is downloaded here: the CLI and study runs never fetch data. On a machine "
               "with internet, hpostudy.data.load_cifar10(root=FOLDER, download=True) in Python "
               "fetches CIFAR-10 with torchvision into FOLDER/cifar-10-batches-py/; copy that "
               "folder into the data root.",
    "ptb": " Nothing is downloaded: copy the three files by hand.",
}


def _layout(name: str, root: Path) -> str:
    return _LAYOUT[name].format(root=root)


def _missing(name: str, root: Path, detail: str, hint: str = "") -> DatasetMissing:
    """The error for a dataset that is not on disk: what is missing, the data root searched and
    the exact layout expected there."""
    return DatasetMissing(
        f"dataset '{name}' not found: {detail}. The data root searched is {root} (the "
        f"root= argument if given, else $HPOSTUDY_DATA, else ./data). Put the files of "
        f"{_SOURCE[name]} there in this layout: {_layout(name, root)}.{hint}"
        f"{_DOWNLOAD[name]} The embedded 'digits' dataset needs no files."
    )


def _corrupt(name: str, path: Path, problem: str, root: Path) -> DatasetCorrupt:
    """The error for a dataset file that is there but unusable: which file, what is wrong,
    what to do."""
    return DatasetCorrupt(
        f"dataset '{name}': file {path} is unusable: {problem}. Re-copy it from "
        f"{_SOURCE[name]} into the data root {root} in this layout: {_layout(name, root)}."
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


# file name (without .gz) -> (IDX magic, shape of one item, item count of the official file)
_IDX_EXPECTED = {
    "train-images-idx3-ubyte": (2051, (28, 28), 60000),
    "train-labels-idx1-ubyte": (2049, (), 60000),
    "t10k-images-idx3-ubyte": (2051, (28, 28), 10000),
    "t10k-labels-idx1-ubyte": (2049, (), 10000),
}


def _read_idx(path: Path, root: Path | None = None) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip-compressed if it ends in .gz), checked against its
    header and, for the four MNIST files, against the official release: any problem raises
    :class:`DatasetCorrupt` naming the file."""
    root = Path(root) if root else path.parent

    def bad(problem):
        return _corrupt("mnist", path, problem, root)

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except EOFError as err:
        raise bad(f"the gzip stream ends early, the file is truncated ({err})") from err
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise bad(f"it cannot be read or decompressed ({type(err).__name__}: {err})") from err
    stem = path.name[:-3] if path.suffix == ".gz" else path.name
    expected = _IDX_EXPECTED.get(stem)
    if len(raw) < 4:
        raise bad(f"it holds {len(raw)} bytes, fewer than the 4-byte IDX magic number")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] == 0:
        raise bad(f"it does not start with the magic number of an IDX file of unsigned bytes "
                  f"(first 4 bytes: {raw[:4].hex()}), so it is not an IDX file")
    if expected is not None and magic != expected[0]:
        raise bad(f"its IDX magic number is {magic}, an MNIST "
                  f"{'image' if expected[1] else 'label'} file has {expected[0]}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise bad(f"it holds {len(raw)} bytes, fewer than its {header}-byte IDX header: "
                  "the file is truncated")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    kind = "items"
    if expected is not None:
        kind = "images" if expected[1] else "labels"
        if tuple(dims[1:]) != expected[1]:
            raise bad(f"its header gives shape {tuple(dims)}, MNIST {kind} have shape "
                      f"(n{''.join(', %d' % d for d in expected[1])})")
    need, have = int(np.prod(dims, dtype=np.int64)), len(raw) - header
    if have < need:
        raise bad(f"the header announces {dims[0]:,} {kind} ({need:,} data bytes) but only "
                  f"{have:,} bytes follow: the file is truncated")
    if have > need:
        extra = have - need
        verb = "bytes follow" if extra > 1 else "byte follows"
        raise bad(f"{extra:,} unexpected {verb} the {dims[0]:,} "
                  f"{kind} ({need:,} data bytes) that the header announces")
    if expected is not None and dims[0] != expected[2]:
        raise bad(f"it holds {dims[0]:,} {kind}, the official {stem} holds {expected[2]:,}")
    arr = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and arr.size and int(arr.max()) > 9:
        raise bad(f"it holds label {int(arr.max())} at position {int(arr.argmax())}; MNIST "
                  "labels are 0-9")
    return arr


def _mnist_folder(root: Path) -> Path | None:
    for folder in (root / "mnist", root / "MNIST" / "raw"):
        if all((folder / f).exists() or (folder / f[:-3]).exists() for f in _MNIST_FILES):
            return folder
    return None


def _mnist_arrays(folder: Path, root: Path) -> list[np.ndarray]:
    """The four MNIST arrays (train images, labels, test images, labels), each file checked."""
    def read(name):
        path = folder / name
        return _read_idx(path if path.exists() else folder / name[:-3], root)

    return [read(name) for name in _MNIST_FILES]


def _mnist_missing(root: Path, hint: str = "") -> DatasetMissing:
    folder = root / "mnist"
    absent = [f for f in _MNIST_FILES
              if not (folder / f).exists() and not (folder / f[:-3]).exists()]
    return _missing("mnist", root, f"{folder} lacks {', '.join(absent)}", hint)


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
            raise _mnist_missing(root, f" (download=True failed: {err})") from err
        folder = _mnist_folder(root)
    if folder is None:
        raise _mnist_missing(root)

    xtr, ytr, xte, yte = _mnist_arrays(folder, root)
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


_CIFAR_OFFICIAL = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
_CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1,024 red, green and blue pixel bytes


def _cifar_expected_count(name: str) -> tuple[int, str] | None:
    """Images a CIFAR-10 file must hold, from its name: the official batches hold 10,000; a
    subset file ``train_00000-03999.bin`` holds the 4,000 its name spans."""
    span = re.fullmatch(r"(?:train|test)_(\d+)-(\d+)\.bin", name)
    if span and int(span[2]) >= int(span[1]):
        return int(span[2]) - int(span[1]) + 1, "its name spans"
    if name in _CIFAR_OFFICIAL or name in [f + ".bin" for f in _CIFAR_OFFICIAL]:
        return 10000, "the official batch holds"
    return None


def _check_cifar(path: Path, root: Path, x: np.ndarray, y: np.ndarray):
    expected = _cifar_expected_count(path.name)
    if expected is not None and len(y) != expected[0]:
        raise _corrupt("cifar10", path, f"it holds {len(y):,} images, {expected[1]} "
                       f"{expected[0]:,}: the file is truncated or not the one its name says", root)
    if y.size and (int(y.min()) < 0 or int(y.max()) > 9):
        at = int(np.argmax((y < 0) | (y > 9)))
        raise _corrupt("cifar10", path, f"image {at} has label {int(y[at])}; CIFAR-10 labels "
                       "are 0-9, so the file is not CIFAR-10 data", root)
    return x, y


def _read_cifar_bin(path: Path, root: Path):
    """Images and labels of one CIFAR-10 binary file, checked; :class:`DatasetCorrupt` if not."""
    try:
        raw = np.fromfile(path, np.uint8)
    except OSError as err:
        raise _corrupt("cifar10", path, f"it cannot be read ({err})", root) from err
    if raw.size == 0:
        raise _corrupt("cifar10", path, "it is empty", root)
    if raw.size % _CIFAR_RECORD:
        raise _corrupt("cifar10", path, f"its {raw.size:,} bytes are not a whole number of "
                       f"{_CIFAR_RECORD:,}-byte CIFAR-10 records (1 label byte + 3,072 pixel "
                       "bytes): the file is truncated or not CIFAR-10 binary data", root)
    rec = raw.reshape(-1, _CIFAR_RECORD)
    return _check_cifar(path, root, rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64))


def _read_cifar_py(path: Path, root: Path):
    """Images and labels of one CIFAR-10 python batch (a pickled dict), checked."""
    try:
        with open(path, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
    except Exception as err:  # truncated or foreign pickles fail with many error types
        raise _corrupt("cifar10", path, f"it does not unpickle ({type(err).__name__}: {err}): "
                       "the file is truncated or not a CIFAR-10 python batch", root) from err
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        found = sorted(map(repr, d)) if isinstance(d, dict) else type(d).__name__
        raise _corrupt("cifar10", path, "it is not a CIFAR-10 batch: a dict with keys b'data' "
                       f"and b'labels' (found {found})", root)
    x, labels = d[b"data"], d[b"labels"]
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 2
            and x.shape[1] == 3072):
        what = (f"a {x.dtype} array of shape {x.shape}" if isinstance(x, np.ndarray)
                else type(x).__name__)
        raise _corrupt("cifar10", path, f"its b'data' is {what}, not an N x 3072 uint8 array",
                       root)
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as err:
        raise _corrupt("cifar10", path, f"its b'labels' are not integers ({err})", root) from err
    if y.shape != (len(x),):
        raise _corrupt("cifar10", path, f"it has labels of shape {y.shape} for {len(x):,} "
                       "images", root)
    return _check_cifar(path, root, x.reshape(-1, 3, 32, 32), y)


def _cifar_arrays(root: Path):
    """(train_x, train_y, test_x, test_y) uint8 CHW arrays from any of the supported layouts;
    None if no layout is there; :class:`DatasetMissing` for an official layout that lacks some
    of its batches, :class:`DatasetCorrupt` for a file that is there but unusable."""
    folder, binf, py = root / "cifar10", root / "cifar-10-batches-bin", root / "cifar-10-batches-py"

    def incomplete(where, names):
        absent = [n for n in names if not (where / n).exists()]
        if absent:
            raise _missing("cifar10", root, f"{where} lacks {', '.join(absent)} of the official "
                           "release")

    def merge(reader, train, test):
        parts = [reader(f, root) for f in train]
        xte, yte = zip(*[reader(f, root) for f in test])
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate(xte), np.concatenate(yte))

    subset_train = sorted(folder.glob("train_*.bin"))
    subset_test = sorted(folder.glob("test_*.bin"))
    if subset_train and subset_test:
        return merge(_read_cifar_bin, subset_train, subset_test)
    if (binf / "test_batch.bin").exists() or sorted(binf.glob("data_batch_*.bin")):
        incomplete(binf, [n + ".bin" for n in _CIFAR_OFFICIAL])
        return merge(_read_cifar_bin, [binf / f"{n}.bin" for n in _CIFAR_OFFICIAL[:5]],
                     [binf / "test_batch.bin"])
    if (py / "test_batch").exists() or sorted(py.glob("data_batch_*")):
        incomplete(py, _CIFAR_OFFICIAL)
        return merge(_read_cifar_py, [py / n for n in _CIFAR_OFFICIAL[:5]], [py / "test_batch"])
    return None


_CIFAR_ABSENT = ("neither {root}/cifar10/ holds train_*.bin and test_*.bin, nor "
                 "{root}/cifar-10-batches-bin/ or {root}/cifar-10-batches-py/ holds the official "
                 "batches")


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
            raise _missing("cifar10", root, _CIFAR_ABSENT.format(root=root),
                           f" (download=True failed: {err})") from err
        arrays = _cifar_arrays(root)
    if arrays is None:
        raise _missing("cifar10", root, _CIFAR_ABSENT.format(root=root))
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


# --------------------------------------------------------------------------- any table of features
SKLEARN = ("digits", "wine", "breast_cancer", "iris")


def load_table(spec: str, n_val: float = 0.25, n_test: float = 0.25, seed: int = 0) -> Splits:
    """A classification dataset given as features and labels: a scikit-learn dataset by name
    (``digits``, ``wine``, ``breast_cancer``, ``iris``) or an importable ``"module:function"``
    returning ``(X, y)`` (arrays or tensors; labels 0..K-1). Features are standardized with
    the training split's mean and deviation; ``n_val``/``n_test`` are fractions (< 1) or counts,
    the split seeded by ``seed``. What a loader returns is checked by :func:`_checked_table`."""
    if spec in SKLEARN:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{spec}")()
        X, y = bunch.data, bunch.target
    else:
        from .importing import resolve

        loader = resolve(spec, "dataset")
        try:
            loaded = loader()
        except Exception as err:
            raise ValueError(f"dataset '{spec}': calling it raised {type(err).__name__}: {err} "
                             "(a dataset loader is called without arguments and returns "
                             "(X, y))") from err
        if not (isinstance(loaded, tuple) and len(loaded) == 2):
            raise TypeError(f"dataset '{spec}' must return (X, y), got {type(loaded).__name__}"
                            + (f" of {len(loaded)}" if isinstance(loaded, tuple) else ""))
        X, y = loaded
    x, y = _checked_table(X, y, spec)
    n = len(y)
    nv, nt = _split_count(n_val, n, "n_val", spec), _split_count(n_test, n, "n_test", spec)
    if nv == 0:
        raise ValueError(f"dataset '{spec}': n_val={n_val} leaves no validation examples, and "
                         "the hypergradient is that of the validation loss; give a share "
                         "(e.g. 0.25) or a count of at least 1")
    _check_sizes(n, nv + nt + 2, "validation+test (+2 training)", spec)
    perm = _permutation(n, seed)
    x, y = x[perm], y[perm]
    n_train = n - nv - nt
    mean, std = x[:n_train].mean(0), x[:n_train].std(0).clamp_min(1e-8)
    x = (x - mean) / std
    return Splits(x[:n_train], y[:n_train], x[n_train:n_train + nv], y[n_train:n_train + nv],
                  x[n_train + nv:], y[n_train + nv:], int(y.max()) + 1, spec)


def _checked_table(X, y, spec: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` of a dataset as float32 features ``(n, d)`` and int64 labels ``(n,)``, refused
    with the fix unless X holds finite numbers, one row per label, and the labels are the whole
    numbers 0..K-1 with every class present and K >= 2."""
    where = f"dataset '{spec}'"
    try:
        x = np.asarray(X.cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: X must be an array of numbers, one row of features per "
                         f"example ({err})") from None
    labels = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if x.ndim == 0 or labels.ndim != 1:
        raise ValueError(f"{where}: X must have one row per example and y be a vector of labels; "
                         f"got X of shape {x.shape} and y of shape {labels.shape}"
                         + (" (use y.ravel())" if labels.ndim == 2 and 1 in labels.shape else ""))
    if len(x) != len(labels):
        raise ValueError(f"{where}: X has {len(x)} rows but y has {len(labels)} labels; return "
                         "one label per row")
    if len(labels) == 0:
        raise ValueError(f"{where}: the loader returned no examples")
    if labels.dtype.kind in "b":
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{where}: labels must be whole numbers 0..K-1, got {labels.dtype} "
                         f"(e.g. {str(labels[0])!r}); encode them, e.g. "
                         "y = numpy.unique(y, return_inverse=True)[1]")
    if labels.dtype.kind == "f":
        fractional = ~np.isfinite(labels) | (labels != np.round(labels))
        if fractional.any():
            raise ValueError(f"{where}: labels must be whole numbers 0..K-1 (classes), got "
                             f"{float(labels[fractional][0])}: these datasets are for "
                             "classification, not regression")
    labels = labels.astype(np.int64)
    classes = np.unique(labels)
    if classes[0] < 0:
        raise ValueError(f"{where}: labels must be 0..K-1, got minimum {int(classes[0])}")
    if len(classes) < 2:
        raise ValueError(f"{where}: all labels are {int(classes[0])}; a classifier needs at "
                         "least 2 classes")
    if len(classes) != int(classes[-1]) + 1:
        absent = int(classes[-1]) + 1 - len(classes)
        missing = np.setdiff1d(np.arange(min(int(classes[-1]), len(classes) + 5)), classes)[:5]
        shown = ", ".join(map(str, missing.tolist())) + (f" and {absent - len(missing)} more"
                                                         if absent > len(missing) else "")
        raise ValueError(f"{where}: labels must be 0..K-1 with every class present; of "
                         f"0..{int(classes[-1])}, {shown} never occur. Renumber them: "
                         "y = numpy.unique(y, return_inverse=True)[1]")
    x = x.reshape(len(labels), -1)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        raise ValueError(f"{where}: X has {len(bad)} NaN or infinite entries (the first at row "
                         f"{bad[0][0]}, column {bad[0][1]}); drop or impute them before returning")
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(labels)


def check_split(share, name: str, where: str = "") -> None:
    """Refuse a split size that is neither a share in [0, 1) nor a whole count of examples."""
    if (isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0
            or (share >= 1 and share != int(share))):
        raise ValueError(f"{where}{name} must be a share in [0, 1) or a whole count of examples, "
                         f"got {share!r}")


def _split_count(share, n: int, name: str, spec: str) -> int:
    """A split's size from a share in [0, 1) or a whole count >= 1."""
    check_split(share, name, f"dataset '{spec}': ")
    return int(round(share * n)) if share < 1 else int(share)


def require(name: str, root: Path | None = None) -> None:
    """Raise :class:`DatasetMissing` now (before any work) if dataset ``name`` is not on disk,
    :class:`DatasetCorrupt` if one of its files is there but unusable (every file is read and
    checked, as the loader would)."""
    root = Path(root) if root else data_root()
    if name in ("digits", "generated") or name in SKLEARN or ":" in name:
        return
    if name == "mnist":
        folder = _mnist_folder(root)
        if folder is None:
            raise _mnist_missing(root)
        _mnist_arrays(folder, root)
    if name == "cifar10" and _cifar_arrays(root) is None:
        raise _missing("cifar10", root, _CIFAR_ABSENT.format(root=root))
    if name == "ptb":
        if not all((root / "ptb" / f).exists() for f in _PTB_LINES):
            raise _ptb_missing(root)
        for f in _PTB_LINES:
            _read_ptb(root / "ptb" / f, root)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset '{name}': choose one of {', '.join(DATASETS)}, a "
                         f"table of features ({', '.join(SKLEARN[1:])}), or your own loader "
                         "as 'module:function' returning (X, y)")


# --------------------------------------------------------------------------- batches
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
        if step < 0:
            raise ValueError(f"step must be non-negative, got {step}")
        epoch, pos = divmod(step, self.batches_per_epoch)
        return torch.from_numpy(self._perm(epoch)[pos * self.batch_size:(pos + 1) * self.batch_size])
