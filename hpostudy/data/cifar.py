"""CIFAR-10 from any of its layouts (the official binary or python release, or the subset
files ``cifar10/train_*.bin`` and ``test_*.bin``), every file checked, per-channel
normalized."""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch

from .root import _corrupt, _missing, data_root
from .splits import Splits, _check_sizes, _permutation


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
