"""Figures of the parameter-path chapter (thesis Figs 2.1, 2.2 and 2.3)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from matplotlib.ticker import MaxNLocator

from . import grid as _grid, save


def _seed(paths: pd.DataFrame) -> str:
    return ", ".join(str(s) for s in sorted(paths.seed.unique())) if "seed" in paths else "?"


def _few_ticks(ax, axes: str = "both"):
    """At most four ticks per axis, the common power of ten moved to the axis' offset label,
    so that tick labels of small weights (-0.0075, -0.0050, ...) cannot run into each
    other."""
    for which in ("x", "y") if axes == "both" else (axes,):
        getattr(ax, f"{which}axis").set_major_locator(MaxNLocator(4))
        ax.ticklabel_format(axis=which, style="sci", scilimits=(-2, 3), useMathText=True)


def fig2_1_paths_2d(paths: pd.DataFrame, pairs: int = 6):
    """Thesis Fig 2.1: paths projected onto pairs of random coordinates; green start, red end."""
    wide = paths.pivot(index="step", columns="coordinate", values="value")
    cols = list(wide.columns)
    n = min(pairs, len(cols) // 2)
    fig, axes = _grid(n)
    for k, ax in zip(range(n), axes):
        x, y = wide[cols[2 * k]].to_numpy(), wide[cols[2 * k + 1]].to_numpy()
        ax.plot(x, y, lw=0.8, color="0.3")
        ax.scatter([x[0]], [y[0]], color="green", zorder=3, s=30)
        ax.scatter([x[-1]], [y[-1]], color="red", zorder=3, s=30)
        ax.set_xlabel(f"w[{cols[2 * k]}]")
        ax.set_ylabel(f"w[{cols[2 * k + 1]}]")
        _few_ticks(ax)
    fig.suptitle(f"Parameter paths on pairs of random coordinates (seed {_seed(paths)})")
    fig.tight_layout()
    return fig


def fig2_2_paths_vs_iteration(paths: pd.DataFrame, coordinates: int = 6):
    """Thesis Fig 2.2: single random coordinates against the iteration; green start, red end."""
    wide = paths.pivot(index="step", columns="coordinate", values="value")
    cols = list(wide.columns)[:coordinates]
    fig, axes = _grid(len(cols))
    for c, ax in zip(cols, axes):
        y = wide[c].to_numpy()
        ax.plot(wide.index, y, lw=0.8, color="0.3")
        ax.scatter([wide.index[0]], [y[0]], color="green", zorder=3, s=30)
        ax.scatter([wide.index[-1]], [y[-1]], color="red", zorder=3, s=30)
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"w[{c}]")
        _few_ticks(ax, "y")
    fig.suptitle(f"Single coordinates along training (seed {_seed(paths)})")
    fig.tight_layout()
    return fig


def parameter_paths(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Figs 2.1 and 2.2 (the first seed's paths) from
    :func:`hpostudy.experiments.parameter_paths.run`'s results."""
    paths = results["paths"]
    first = paths[paths.seed == paths.seed.min()]
    figs = {"fig2_1": fig2_1_paths_2d(first), "fig2_2": fig2_2_paths_vs_iteration(first)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def fig2_3_dropout_seed(distances: pd.DataFrame):
    """Thesis Fig 2.3: distance of the second run's parameters from the first run's final ones,
    with the dropout seed fixed and not fixed (one line per seed)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3))]
    for (variant, color) in (("dropout seed not fixed", "tab:red"),
                             ("dropout seed fixed", "black")):
        g = distances[distances.variant == variant]
        for i, (seed, s) in enumerate(g.groupby("seed")):
            ax.plot(s.epoch, s.distance, color=color, lw=1.2, ls=styles[i % len(styles)],
                    label=f"{variant}, seed {seed}")
    ax.set_xlabel("epoch of the second run")
    ax.set_ylabel("distance from the first run's\nfinal parameters")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout()
    return fig


def dropout_seed(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Fig 2.3 from :func:`hpostudy.experiments.dropout_seed.run`'s results."""
    return {"fig2_3": save(fig2_3_dropout_seed(results["distances"]), folder, "fig2_3")}
