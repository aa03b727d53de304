"""The tables of the DenseNet chapter (:mod:`hpostudy.settings.densenet`): the per-layer
averages of a hyperparameter group (thesis Figs 3.10, 3.16, 3.17; :func:`layer_rows`), float
columns rounded for the book (:func:`rounded`) and the ``setting`` column that names the profile,
network and data of a run (:func:`setting`). ``cfg`` is a
:class:`~hpostudy.settings.densenet.Setting` (named in annotations only: this module is
imported by the setting's module, not the other way round).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from ..hyper import HyperSpace


def per_layer_average(space: HyperSpace, theta: torch.Tensor, group: str,
                      scale: float = 1.0) -> dict[str, float]:
    """Average hyperparameter of ``group`` per parameter tensor, input to output (thesis Figs
    3.10, 3.16, 3.17): the layer's module path, with the parameter kind unless a weight."""
    values = (space.part(group, theta) * scale).detach().cpu().numpy()
    layers = np.array([n.rsplit(".", 1)[0].replace("net.", "")
                       + ("" if n.endswith("weight") else "." + n.rsplit(".", 1)[1])
                       for n in space.layers(group)])
    return {layer: float(values[layers == layer].mean()) for layer in dict.fromkeys(layers)}


def layer_rows(space: HyperSpace, theta: torch.Tensor, group: str, scale: float = 1.0,
               **ids) -> list[dict]:
    """Tidy rows (ids..., layer, depth, value) of :func:`per_layer_average`; ``depth`` is the
    layer's position from the input (0) to the output."""
    return [{**ids, "layer": layer, "depth": i, "value": value}
            for i, (layer, value) in enumerate(per_layer_average(space, theta, group, scale)
                                               .items())]


def rounded(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """``df`` with every float column rounded to ``digits`` significant digits (tables the
    book shows; verdicts are computed before rounding)."""
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = [float(f"{x:.{digits}g}") if math.isfinite(x) else x
                           for x in out[column]]
    return out


# ---------------------------------------------------------------------- the setting column
def sizes_of(sizes: pd.DataFrame | None) -> tuple[int | None, int | None]:
    """``(n_train, n_val)`` from a run's ``sizes`` table (its first row), or ``(None, None)``
    for a recording that kept none."""
    if sizes is None or sizes.empty:
        return None, None
    return int(sizes.n_train.iloc[0]), int(sizes.n_val.iloc[0])


def setting(cfg: Setting, n_train: int | None, n_val: int | None, *extra: str,
            thesis: str) -> str:
    """The ``setting`` column: the profile, network, data (the images actually used; "not
    recorded" where a recording kept no sizes) and ``extra`` reductions, then the thesis'
    setting (``thesis``) to compare with."""
    if n_train is None or n_val is None:
        images = f"{cfg.dataset}, training / validation images not recorded"
    else:
        data = "8x8 digits" if cfg.dataset == "digits" else (
            "CIFAR-10" if n_train + n_val >= 50000 else "CIFAR-10 subset")
        images = f"{data}, {n_train:,} / {n_val:,} training / validation images"
    parts = [f"DenseNet-{cfg.depth}, growth {cfg.growth}, batch {cfg.batch_size}", images,
             *extra]
    return f"{cfg.profile}: " + "; ".join(parts) + f" (thesis: {thesis})"
