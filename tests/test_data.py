"""Datasets: seeded splits, deterministic batches, real files when ../shared/data exists."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hpostudy import data

from .conftest import SHARED_DATA

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not present")


def test_digits_splits_are_seeded_and_disjoint():
    a, b = data.load_digits(seed=3), data.load_digits(seed=3)
    c = data.load_digits(seed=4)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.x_train, c.x_train)
    assert a.sizes() == {"train": 1797 - 720, "val": 360, "test": 360}
    rows = {tuple(r.tolist()) for r in a.x_val} & {tuple(r.tolist()) for r in a.x_test}
    assert len(rows) <= 5  # the digits set has a few duplicate images, no shared rows by index
    assert float(a.x_train.max()) == 1.0 and float(a.x_train.min()) == 0.0
    assert data.load_digits(image=True).x_train.shape[1:] == (1, 8, 8)


def test_batches_are_a_function_of_seed_and_step():
    s1, s2 = data.BatchStream(100, 10, seed=5), data.BatchStream(100, 10, seed=5)
    steps = [0, 37, 3, 12, 37, 9]
    first = [s1.indices(t) for t in steps]
    second = [s2.indices(t) for t in reversed(steps)][::-1]
    for x, y in zip(first, second):
        assert torch.equal(x, y)
    epoch = torch.cat([s1.indices(t) for t in range(10)])
    assert sorted(epoch.tolist()) == list(range(100))  # one epoch covers the data once
    assert not torch.equal(s1.indices(0), data.BatchStream(100, 10, seed=6).indices(0))
    assert not torch.equal(s1.indices(0), s1.indices(10))  # reshuffled each epoch


def test_bad_inputs_give_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="batch_size"):
        data.BatchStream(10, 0)
    with pytest.raises(ValueError, match="non-negative"):
        data.BatchStream(10, 2).indices(-1)
    with pytest.raises(ValueError, match="non-negative"):
        data.load_digits(n_val=-1)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    for name in ("mnist", "cifar10", "ptb"):
        with pytest.raises(data.DatasetMissing, match="HPOSTUDY_DATA") as err:
            data.require(name)
        assert str(tmp_path) in str(err.value)
    with pytest.raises(data.DatasetMissing, match="mnist"):
        data.load_mnist()


LAYOUT = {  # what the missing-dataset message must show: the folder searched and the file names
    "mnist": ["mnist/train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "MNIST/raw"],
    "cifar10": ["cifar10/train_*.bin", "test_*.bin", "cifar-10-batches-bin/data_batch_1.bin",
                "test_batch.bin", "cifar-10-batches-py/data_batch_1"],
    "ptb": ["ptb/ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"],
}
LOADERS = {"mnist": data.load_mnist, "cifar10": data.load_cifar10, "ptb": data.load_ptb}


@pytest.mark.parametrize("name", ["mnist", "cifar10", "ptb"])
def test_missing_dataset_names_the_folder_and_layout(tmp_path, monkeypatch, name):
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    for call in (lambda: data.require(name), LOADERS[name]):
        with pytest.raises(data.DatasetMissing) as err:
            call()
        msg = str(err.value)
        assert not isinstance(err.value, data.DatasetCorrupt)
        assert f"data root searched is {tmp_path}" in msg and "$HPOSTUDY_DATA" in msg
        for part in LAYOUT[name]:
            assert part in msg, part
        # no CLI or notebook on a study machine can act on "pass download=True"
        assert "pass download=True" not in msg and "where the network allows" not in msg
        assert "never" in msg or "by hand" in msg  # says plainly that nothing is downloaded


# --------------------------------------------------------------------------- corrupted files
def idx(magic: int, dims, payload: bytes | None = None) -> bytes:
    """An IDX file: magic, big-endian dims, then ``payload`` (zeros of the announced size)."""
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return head + (bytes(int(np.prod(dims))) if payload is None else payload)


@pytest.fixture(scope="module")
def mnist_files():
    """Four well-formed MNIST files of the official sizes (all-zero pixels and labels),
    gzip-compressed; written per test into a temporary data root."""
    import gzip

    return {name: gzip.compress(idx(2051 if "images" in name else 2049,
                                    (n, 28, 28) if "images" in name else (n,)), compresslevel=1)
            for name, n in [("train-images-idx3-ubyte.gz", 60000),
                            ("train-labels-idx1-ubyte.gz", 60000),
                            ("t10k-images-idx3-ubyte.gz", 10000),
                            ("t10k-labels-idx1-ubyte.gz", 10000)]}


def assert_corrupt(err, path, *words):
    """The error is DatasetCorrupt, names the file, says what is wrong and what to do."""
    msg = str(err.value)
    assert isinstance(err.value, data.DatasetCorrupt) and isinstance(err.value, data.DatasetMissing)
    assert str(path) in msg, msg
    for word in words:
        assert word in msg, (word, msg)
    assert "Re-copy it from" in msg and "in this layout" in msg, msg


def _gz(raw: bytes) -> bytes:
    import gzip

    return gzip.compress(raw, compresslevel=1)


MNIST_BAD = {  # file -> (bytes that replace it, uncompressed name?, words the message must hold)
    "truncated gzip": ("train-images-idx3-ubyte.gz", lambda ok: ok[: len(ok) // 2], False,
                       ["gzip stream ends early", "truncated"]),
    "garbage": ("train-labels-idx1-ubyte.gz", lambda ok: b"<html>404 Not Found</html>" * 9,
                False, ["cannot be read or decompressed"]),
    "count vs bytes": ("t10k-labels-idx1-ubyte", lambda ok: idx(2049, (10000,), bytes(9999)), True,
                       ["announces 10,000 labels", "only 9,999 bytes follow", "truncated"]),
    "garbage idx": ("t10k-images-idx3-ubyte", lambda ok: bytes(range(256)) * 40, True,
                    ["not an IDX file"]),
    "wrong magic": ("t10k-labels-idx1-ubyte.gz", lambda ok: _gz(idx(2051, (10000, 28, 28))),
                    False, ["magic number is 2051", "2049"]),
    "wrong shape": ("train-images-idx3-ubyte.gz", lambda ok: _gz(idx(2051, (60000, 32, 32))),
                    False, ["(60000, 32, 32)"]),
    "short file": ("t10k-images-idx3-ubyte.gz", lambda ok: _gz(idx(2051, (5, 28, 28))), False,
                   ["holds 5 images", "10,000"]),
    "trailing bytes": ("train-labels-idx1-ubyte.gz", lambda ok: _gz(idx(2049, (60000,)) + b"x"),
                       False, ["1 unexpected byte follows the 60,000 labels"]),
    "bad label": ("t10k-labels-idx1-ubyte.gz",
                  lambda ok: _gz(idx(2049, (10000,), bytes(9999) + bytes([200]))), False,
                  ["label 200 at position 9999", "0-9"]),
}


@pytest.mark.parametrize("case", list(MNIST_BAD))
def test_corrupt_mnist_file_is_named(tmp_path, monkeypatch, mnist_files, case):
    name, make, plain, words = MNIST_BAD[case]
    folder = tmp_path / "mnist"
    folder.mkdir()
    gz_name = name if name.endswith(".gz") else name + ".gz"
    for f, raw in mnist_files.items():
        if f != gz_name:
            (folder / f).write_bytes(raw)
    bad = folder / name
    bad.write_bytes(make(mnist_files[gz_name]))
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    for call in (lambda: data.load_mnist(n_train=10, n_val=10, n_test=10),
                 lambda: data.require("mnist")):
        with pytest.raises(data.DatasetMissing) as err:
            call()
        assert_corrupt(err, bad, *words)
        assert "mnist/train-images-idx3-ubyte.gz" in str(err.value)


def test_wellformed_synthetic_mnist_loads(tmp_path, monkeypatch, mnist_files):
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    for f, raw in mnist_files.items():
        (tmp_path / "MNIST" / "raw" / f).write_bytes(raw)
    data.require("mnist", root=tmp_path)
    s = data.load_mnist(n_train=10, n_val=10, n_test=10, root=tmp_path)
    assert s.sizes() == {"train": 10, "val": 10, "test": 10}


def cifar_records(n: int, label: int = 3) -> bytes:
    rec = np.zeros((n, 3073), np.uint8)
    rec[:, 0] = label
    return rec.tobytes()


CIFAR_BIN_BAD = {  # file -> (its bytes, words the message must hold)
    "truncated": ("train_00000-00009.bin", cifar_records(10)[:-100],
                  ["30,630 bytes are not a whole number of 3,073-byte", "truncated"]),
    "cut at a record": ("train_00000-00009.bin", cifar_records(9),
                        ["holds 9 images, its name spans 10"]),
    "garbage": ("test_00000-00004.bin", cifar_records(5, label=0xEE),
                ["label 238", "not CIFAR-10"]),
    "garbage size": ("test_00000-00004.bin", b"\x89PNG\r\n\x1a\n" * 1000, ["not a whole number"]),
    "empty": ("test_00000-00004.bin", b"", ["it is empty"]),
}


@pytest.mark.parametrize("case", list(CIFAR_BIN_BAD))
def test_corrupt_cifar10_binary_file_is_named(tmp_path, monkeypatch, case):
    name, raw, words = CIFAR_BIN_BAD[case]
    folder = tmp_path / "cifar10"
    folder.mkdir()
    (folder / "train_00000-00009.bin").write_bytes(cifar_records(10))
    (folder / "test_00000-00004.bin").write_bytes(cifar_records(5))
    assert len(data.load_cifar10(n_val=2, root=tmp_path).y_train) == 8  # well-formed: loads
    (folder / name).write_bytes(raw)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    for call in (lambda: data.load_cifar10(n_val=2), lambda: data.require("cifar10")):
        with pytest.raises(data.DatasetMissing) as err:
            call()
        assert_corrupt(err, folder / name, *words)


def test_corrupt_official_cifar10_binary_batch_is_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for n in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (folder / n).write_bytes(cifar_records(100))  # whole records, but not the 10,000
    with pytest.raises(data.DatasetMissing) as err:
        data.load_cifar10(root=tmp_path)
    assert_corrupt(err, folder / "data_batch_1.bin", "holds 100 images",
                   "the official batch holds 10,000")


def _pickled(obj) -> bytes:
    import pickle

    return pickle.dumps(obj, protocol=2)


CIFAR_PY_BAD = {  # data_batch_1 -> (its bytes, words the message must hold)
    "truncated": (_pickled({b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10})[:-50],
                  ["does not unpickle", "truncated"]),
    "garbage": (b"\x00\x01garbage" * 100, ["does not unpickle"]),
    "empty": (b"", ["does not unpickle"]),
    "wrong keys": (_pickled({"data": np.zeros((10, 3072), np.uint8), "labels": [0] * 10}),
                   ["not a CIFAR-10 batch", "b'data'", "'data'"]),
    "wrong shape": (_pickled({b"data": np.zeros((10000, 100), np.uint8), b"labels": [0] * 10000}),
                    ["shape (10000, 100)", "N x 3072"]),
    "short batch": (_pickled({b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10}),
                    ["holds 10 images", "10,000"]),
}


@pytest.mark.parametrize("case", list(CIFAR_PY_BAD))
def test_corrupt_cifar10_python_batch_is_named(tmp_path, monkeypatch, case):
    raw, words = CIFAR_PY_BAD[case]
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for n in [f"data_batch_{i}" for i in range(2, 6)] + ["test_batch"]:
        (folder / n).write_bytes(b"")  # never reached: data_batch_1 is read first
    (folder / "data_batch_1").write_bytes(raw)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    with pytest.raises(data.DatasetMissing) as err:
        data.load_cifar10()
    assert_corrupt(err, folder / "data_batch_1", *words)


def test_incomplete_official_cifar10_release_lists_the_absent_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for n in ["data_batch_1", "data_batch_2", "test_batch"]:
        (folder / n).write_bytes(b"")
    with pytest.raises(data.DatasetMissing) as err:
        data.load_cifar10(root=tmp_path)
    assert not isinstance(err.value, data.DatasetCorrupt)
    assert f"{folder} lacks data_batch_3, data_batch_4, data_batch_5" in str(err.value)


PTB_LINES = {"train": 42068, "valid": 3370, "test": 3761}  # Mikolov's files
PTB_BAD = {  # split -> (its bytes, words the message must hold)
    "empty train": ("train", b"", ["it is empty"]),
    "blank train": ("train", b"\n\n  \n", ["only whitespace"]),
    "truncated valid": ("valid", b" the cat sat\n" * 2000 + b" the c",
                        ["2,001 lines", "without a line break", "3,370", "truncated"]),
    "truncated at a line": ("test", b" a b\n" * 3000, ["3,000 lines", "3,761"]),
    "garbage test": ("test", bytes(range(256)) * 100, ["NUL bytes", "not text"]),
    "binary valid": ("valid", b"\xff\xfe\x80 caf\xe9\n" * 3370, ["is not text"]),
}


@pytest.mark.parametrize("case", list(PTB_BAD))
def test_corrupt_ptb_file_is_named(tmp_path, monkeypatch, case):
    split, raw, words = PTB_BAD[case]
    folder = tmp_path / "ptb"
    folder.mkdir()
    for s, n in PTB_LINES.items():
        (folder / f"ptb.{s}.txt").write_text(" the cat sat on the mat\n" * n)
    corpus = data.load_ptb(root=tmp_path)  # well-formed synthetic files load
    assert len(corpus.train) == 7 * 42068 and len(corpus.vocab) == 6
    (folder / f"ptb.{split}.txt").write_bytes(raw)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    for call in (data.load_ptb, lambda: data.require("ptb")):
        with pytest.raises(data.DatasetMissing) as err:
            call()
        assert_corrupt(err, folder / f"ptb.{split}.txt", *words)
        assert "ptb/ptb.train.txt" in str(err.value)


@needs_shared
def test_truncated_copies_of_real_files_are_named(tmp_path):
    """Real MNIST and PTB files next to a truncated copy of one of them (the real data is read
    through links, never written)."""
    (tmp_path / "mnist").mkdir()
    for f in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz"]:
        (tmp_path / "mnist" / f).symlink_to(SHARED_DATA / "mnist" / f)
    real = (SHARED_DATA / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes()
    bad = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(real[:20000])
    with pytest.raises(data.DatasetMissing) as err:
        data.load_mnist(root=tmp_path)
    assert_corrupt(err, bad, "truncated")
    (tmp_path / "ptb").mkdir()
    for s in ("train", "test"):
        (tmp_path / "ptb" / f"ptb.{s}.txt").symlink_to(SHARED_DATA / "ptb" / f"ptb.{s}.txt")
    real = (SHARED_DATA / "ptb" / "ptb.valid.txt").read_bytes()
    bad = tmp_path / "ptb" / "ptb.valid.txt"
    bad.write_bytes(real[: len(real) // 2])
    with pytest.raises(data.DatasetMissing) as err:
        data.load_ptb(root=tmp_path)
    assert_corrupt(err, bad, "3,370", "truncated")


@needs_shared
def test_mnist_from_real_files(monkeypatch):
    monkeypatch.setenv("HPOSTUDY_DATA", str(SHARED_DATA))
    full = data.load_mnist(n_train=55000, n_val=5000, n_test=10000)
    counts = np.bincount(torch.cat([full.y_train, full.y_val]).numpy(), minlength=10)
    assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    thesis = data.load_mnist(seed=1)
    assert thesis.sizes() == {"train": 15000, "val": 5000, "test": 5000}
    assert thesis.x_train.shape == (15000, 784) and 0.0 <= float(thesis.x_train.min())
    again = data.load_mnist(seed=1)
    assert torch.equal(thesis.y_train, again.y_train)


@needs_shared
def test_cifar10_subset_from_real_files(monkeypatch):
    monkeypatch.setenv("HPOSTUDY_DATA", str(SHARED_DATA))
    s = data.load_cifar10(n_train=3000, n_val=1000)
    counts = np.bincount(torch.cat([s.y_train, s.y_val]).numpy(), minlength=10)
    assert counts.tolist() == [396, 366, 420, 384, 422, 393, 414, 385, 407, 413]
    assert np.bincount(s.y_test.numpy(), minlength=10).tolist() == \
        [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]
    assert s.x_train.shape[1:] == (3, 32, 32)
    assert abs(float(s.x_train.mean())) < 0.3  # per-channel normalized
    assert len(data.load_cifar10(n_val=1000).y_train) == 3000
    with pytest.raises(ValueError, match="n_val"):
        data.load_cifar10(n_val=5000)


@needs_shared
def test_ptb_from_real_files(monkeypatch):
    monkeypatch.setenv("HPOSTUDY_DATA", str(SHARED_DATA))
    corpus = data.load_ptb()
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (929589, 73760, 82430)
    assert len(corpus.vocab) == 10000
