"""The datasets a run may name, and :func:`require`, which checks before any work that one is
on disk and usable."""
from __future__ import annotations

from pathlib import Path

from .cifar import _CIFAR_ABSENT, _cifar_arrays
from .digits import _mnist_arrays, _mnist_folder, _mnist_missing
from .root import _missing, data_root
from .tables import SKLEARN
from .text import _PTB_LINES, _ptb_missing, _read_ptb


DATASETS = ("digits", "generated", "mnist", "cifar10", "ptb")


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
