"""The data root: where the real datasets are read from, the layout expected there, and the
errors that say what is missing (:class:`DatasetMissing`) or unusable (:class:`DatasetCorrupt`)
and how to put it right."""
from __future__ import annotations

import os
from pathlib import Path


class DatasetMissing(FileNotFoundError):
    """A real dataset is not on disk (and was not, or could not be, downloaded)."""


class DatasetCorrupt(DatasetMissing):
    """A file of a real dataset is on disk but unreadable, truncated or of the wrong format.

    A subclass of :class:`DatasetMissing`, so code that handles a missing dataset (skip, fall
    back to ``digits``) handles an unusable one the same way."""


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
