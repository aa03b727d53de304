"""Figures, one module per chapter: each function takes tidy DataFrames and returns a
matplotlib Figure (seaborn styling); ``save(fig, folder, name)`` writes the PNG the book shows.
This package draws only: it imports nothing else from the library."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")


def save(fig, folder: str | Path, name: str) -> Path:
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def grid(n: int, width: float = 3.2):
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def meta_iteration_axis(ax):
    """Meta-iterations are counted: integer ticks only."""
    ax.set_xlabel("meta-iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
