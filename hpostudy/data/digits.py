"""Handwritten digits: scikit-learn's embedded 8x8 ``digits`` (no download) and MNIST, read
from the four IDX files of the official release, each checked against its header and the
release's sizes."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from .root import DatasetMissing, _corrupt, _missing, data_root
from .splits import Splits, _check_sizes, _permutation


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
