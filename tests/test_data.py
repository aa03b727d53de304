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
