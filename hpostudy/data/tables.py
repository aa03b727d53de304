"""Any table of features as a classification dataset: a scikit-learn dataset by name or a
``"module:function"`` loader returning ``(X, y)``, checked, standardized and split."""
from __future__ import annotations

import numpy as np
import torch

from .splits import Splits, _check_sizes, _permutation, _split_count


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
