"""Drawing helpers the chapters' notebooks share; each figure itself is drawn in its notebook,
from the run's tidy tables, and saved with :func:`hpostudy.figures.save`.

Several seeds as thin lines of one colour per quantity, the seed told by the line style
(:func:`seed_style`, :func:`by_seed`, :func:`seed_key`); one legend shared by all panels, below
them (:func:`shared_legend`); errors as the mean over seeds with their range shaded
(:func:`errors_over_seeds`); per-layer hyperparameters coloured by depth (:func:`layer_lines`);
few, non-overlapping ticks for small values (:func:`few_ticks`); and the frame of one quantity
per meta-iteration in several settings, a titled panel each (:func:`meta_iteration_panels`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from . import grid, legend_below, meta_iteration_axis

LEGEND = 10  # legend font size (points): readable at the width the book shows a figure
SEED_STYLES = ["-", "--", ":", "-."]  # line style of the i-th seed (then repeated)
ERROR_COLORS = {"train_error": "tab:green", "val_error": "tab:orange",
                "test_error": "tab:purple"}


def seed_style(seeds: list, seed) -> dict:
    """The line style of ``seed``: the i-th of the sorted ``seeds`` gets ``SEED_STYLES[i]``.

    Args:
        seeds: every seed drawn in the figure, sorted.
        seed: one of them.

    Returns:
        Keyword arguments for ``ax.plot`` (``ls``)."""
    i = list(seeds).index(seed)
    return {"ls": SEED_STYLES[i % len(SEED_STYLES)]}


def seed_key(ax, seeds: list) -> None:
    """Add legend entries (grey, one per seed) for the line styles that tell the seeds apart.

    Args:
        ax: the axes whose legend handles receive the entries (nothing is drawn).
        seeds: every seed drawn, sorted."""
    for seed in seeds:
        ax.plot([], [], color="0.3", lw=1.2, label=f"seed {seed}", **seed_style(seeds, seed))


def by_seed(ax, df: pd.DataFrame, x: str, y: str, label: str, seeds: list, log: bool = False,
            **style) -> None:
    """Draw column ``y`` against ``x``, one line per seed in its line style, the quantity
    labelled once (on the first seed's line).

    Args:
        ax: the axes to draw on.
        df: a tidy table with a ``seed`` column and the columns ``x`` and ``y``.
        x: the column on the x-axis.
        y: the column on the y-axis.
        label: the quantity's legend label.
        seeds: every seed of the figure, sorted (fixes each seed's line style).
        log: a logarithmic y-axis.
        **style: further ``ax.plot`` arguments (colour, marker, ...) shared by the seeds."""
    for i, (seed, g) in enumerate(df.sort_values(x).groupby("seed")):
        (ax.semilogy if log else ax.plot)(g[x], g[y], label=label if i == 0 else None, lw=1.3,
                                          **seed_style(seeds, seed), **style)


def meta_iteration_panels(titles: list[str], ylabel: str, width: float = 3.2):
    """A :func:`hpostudy.figures.grid` of one panel per title (a setting, e.g. a horizon), each
    titled, its x-axis counted in meta-iterations (:func:`hpostudy.figures.meta_iteration_axis`)
    and its y-axis labelled ``ylabel``; what each panel draws is the caller's.

    Args:
        titles: the panels' titles, in the order the panels are drawn.
        ylabel: the quantity on every panel's y-axis.
        width: each panel's width and height (inches).

    Returns:
        The figure and a flat array of its axes (the first ``len(titles)`` to draw on)."""
    fig, axes = grid(len(titles), width)
    for i, title in enumerate(titles):  # by index: iterating would use up the flat iterator
        axes[i].set_title(title, fontsize=11)
        meta_iteration_axis(axes[i])
        axes[i].set_ylabel(ylabel)
    return fig, axes


def shared_legend(fig, ncol: int = 4, gap: float = 0.12) -> None:
    """One legend for all panels of ``fig``, below them (each label once, in the order the
    panels first show it), and the panels laid out above it with their tick and axis labels:
    the space left is the legend's measured height, so a legend of several rows never covers
    the lowest labels, and no legend sits on a panel's data.

    Args:
        fig: the figure, its panels drawn and labelled.
        ncol: legend entries per row.
        gap: inches between the legend and the panels' lowest labels."""
    seen = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    legend = fig.legend(list(seen.values()), list(seen), loc="lower center",
                        ncol=min(ncol, len(seen)), fontsize=LEGEND, frameon=False,
                        bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, legend_below(fig, gap), 1, 1))


def errors_over_seeds(ax, df: pd.DataFrame, x: str, batch: bool = True) -> None:
    """Train, validation and test error against ``x``: the mean over seeds (solid: on the
    full sets; dotted: on the cycling evaluation batches, where the table has them), the range
    over seeds shaded when there are several.

    Args:
        ax: the axes to draw on.
        df: a tidy table with ``seed``, ``x`` and ``train_error``, ``val_error``,
            ``test_error`` (and optionally the same names ending in ``_batch``).
        x: the column on the x-axis (a count: integer ticks).
        batch: draw the cycling-batch errors too."""
    for col, color in ERROR_COLORS.items():
        name = col.split("_")[0]
        stats = df.groupby(x)[col].agg(["mean", "min", "max"])
        ax.plot(stats.index, stats["mean"], "-", color=color, label=f"{name} (full set)")
        if df.seed.nunique() > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2,
                            lw=0)
        if batch and col + "_batch" in df:
            mean = df.groupby(x)[col + "_batch"].mean()
            ax.plot(mean.index, mean, ":", color=color, alpha=0.8,
                    label=f"{name} (cycling batch)")
    ax.set_ylabel("error rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


FEW_SEEDS = 6  # up to this many seeds get a colour and a legend entry each


def per_seed_lines(ax, df: pd.DataFrame, x: str, y: str, group: str = "seed",
                   **style) -> dict:
    """Draw ``y`` against ``x``, one line per value of ``group`` (a seed): up to
    :data:`FEW_SEEDS` seeds each in its own colour with a legend entry ``seed s``; more, as
    thin grey lines labelled once ``one line per seed (n)``, so that a legend never lists
    thirty seeds over the data.

    Args:
        ax: the axes to draw on.
        df: a tidy table with the columns ``group``, ``x`` and ``y``.
        x: the column on the x-axis.
        y: the column on the y-axis.
        group: the column that tells the lines apart.
        **style: further ``ax.plot`` arguments shared by the lines.

    Returns:
        dict: the colour of each seed's line, by seed (for marks drawn on it)."""
    seeds = sorted(df[group].unique())
    few = len(seeds) <= FEW_SEEDS
    colours = {}
    for k, seed in enumerate(seeds):
        g = df[df[group] == seed].sort_values(x)
        colours[seed] = f"C{k % 10}" if few else "0.55"
        label = f"seed {seed}" if few else (f"one line per seed ({len(seeds)})" if k == 0
                                            else None)
        ax.plot(g[x], g[y], color=colours[seed], lw=1 if few else 0.7, label=label,
                **({} if few else {"alpha": 0.8}), **style)
    return colours


def seeds_note(df: pd.DataFrame) -> str:
    """How :func:`errors_over_seeds` summarized ``df``'s seeds, for a title.

    Args:
        df: a tidy table with a ``seed`` column.

    Returns:
        "mean of n seeds, range shaded", or "1 seed"."""
    n = df.seed.nunique()
    return f"mean of {n} seeds, range shaded" if n > 1 else "1 seed"


def layer_lines(df: pd.DataFrame, x: str, xlabel: str, title: str, ylabel: str):
    """Per-layer hyperparameters against ``x``: one line per parameter tensor, coloured by its
    depth (viridis, with a colorbar from the input to the output).

    Args:
        df: a tidy table with ``depth``, ``value`` and ``x`` (one seed's rows).
        x: the column on the x-axis (a count: integer ticks).
        xlabel: the x-axis label.
        title: the figure's title.
        ylabel: the y-axis label (the hyperparameter).

    Returns:
        The matplotlib Figure."""
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    deepest = int(df.depth.max()) if len(df) else 1
    norm = Normalize(0, max(deepest, 1))
    for depth, g in df.groupby("depth"):
        ax.plot(g[x], g.value, color=plt.cm.viridis(norm(depth)), lw=1)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap="viridis"), ax=ax)
    bar.set_label("parameter tensor (0: input ... output)")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def few_ticks(ax, axes: str = "both") -> None:
    """At most four ticks per axis, the common power of ten moved to the axis' offset label,
    so that tick labels of small values (-0.0075, -0.0050, ...) cannot run into each other.

    Args:
        ax: the axes.
        axes: "x", "y" or "both"."""
    for which in ("x", "y") if axes == "both" else (axes,):
        getattr(ax, f"{which}axis").set_major_locator(MaxNLocator(4))
        ax.ticklabel_format(axis=which, style="sci", scilimits=(-2, 3), useMathText=True)
