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

The package holds one idea per module, and re-exports every public name from here:

* ``root`` -- the data root (:func:`data_root`), the layout expected in it and the errors
  :class:`DatasetMissing` and :class:`DatasetCorrupt`;
* ``splits`` -- :class:`Splits` and the checks of split sizes (:func:`check_split`);
* ``digits`` -- scikit-learn's embedded digits (:func:`load_digits`) and MNIST
  (:func:`load_mnist`);
* ``cifar`` -- CIFAR-10 (:func:`load_cifar10`);
* ``text`` -- Penn Treebank (:func:`load_ptb`) and the generated corpus
  (:func:`generated_corpus`), as a :class:`Corpus`;
* ``tables`` -- any table of features (:func:`load_table`);
* ``catalog`` -- the datasets a run may name (``DATASETS``) and :func:`require`;
* ``batches`` -- :class:`BatchStream`.
"""
from __future__ import annotations

from .batches import BatchStream
from .catalog import DATASETS, require
from .cifar import CIFAR_MEAN, CIFAR_STD, load_cifar10
from .digits import load_digits, load_mnist
from .root import DatasetCorrupt, DatasetMissing, data_root
from .splits import Splits, check_split
from .tables import SKLEARN, load_table
from .text import Corpus, generated_corpus, load_ptb

__all__ = [
    "DatasetMissing", "DatasetCorrupt", "Splits", "BatchStream", "data_root", "DATASETS", "SKLEARN",
    "load_digits", "load_mnist", "load_cifar10", "load_ptb", "load_table", "require",
    "Corpus", "generated_corpus", "check_split", "CIFAR_MEAN", "CIFAR_STD",
]
