"""Panels the two "Every hypergradient" notebooks (``front_mlp``, ``front_convex``) share: the
accuracy-vs-cost front of every estimator at one horizon (:func:`front_panel`), the errors the
outer loops end with (:func:`outer_panel`), costs in plain numbers (:func:`cost_axis`), and
the frame of the fronts both notebooks draw: one column of panels per horizon
(:func:`horizon_fronts`); their legend is :func:`hpostudy.figures.helpers.shared_legend`.
Each figure is drawn in its notebook's cells."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import LogFormatter, LogLocator

COLORS = {"reverse": "#4c72b0", "exact": "#000000", "DrMAD": "#c44e52", "forward": "#8172b3",
          "truncated": "#dd8452", "implicit cg": "#55a868", "implicit neumann": "#64b5cd",
          "implicit fixed_point": "#937860", "closed form": "#999999", "initial": "#999999"}
OTHER = "#333333"  # the colour of a family not in COLORS
FLOOR = 1e-12  # relative errors below this are drawn on it (the reference's own rounding)
JOINED = ("truncated", "implicit cg", "implicit neumann", "implicit fixed_point")  # by K or
# solver iterations: one family's points joined in that order


def estimator_means(table: pd.DataFrame) -> pd.DataFrame:
    """One point per estimator of the ``front`` table (one horizon): the geometric mean of its
    relative error against exact reversal over seeds (errors below :data:`FLOOR` taken as
    :data:`FLOOR`) and its mean costs. Skipped and failed estimators, exact reversal itself and
    the closed form are left out (the table says why).

    Args:
        table: rows of the ``front`` table with ``method``, ``family``, ``knob``, ``status``,
            ``relative_error``, ``x_plain`` (CPU time over plain training's) and
            ``stored_bytes``.

    Returns:
        A table with ``method``, ``family``, ``knob``, ``err``, ``x_plain`` and ``stored``."""
    ok = table[(table.status == "ok") & ~table.method.isin(["exact", "closed form"])].copy()
    ok["err"] = ok.relative_error.clip(lower=FLOOR)
    return ok.groupby(["method", "family", "knob"], as_index=False).agg(
        err=("err", lambda s: float(np.exp(np.log(s).mean()))),
        x_plain=("x_plain", "mean"), stored=("stored_bytes", "mean"))


def front_panel(ax, means: pd.DataFrame, x: str, reference: float) -> None:
    """The relative error of every estimator over one of its costs, on log-log axes: one point
    per estimator coloured by family, the points of a truncated or implicit family joined in the
    order of their knob, exact reversal's own cost a dashed vertical line.

    Args:
        ax: the axes to draw on.
        means: :func:`estimator_means` of one horizon.
        x: the cost on the x-axis: ``"x_plain"`` or ``"stored"``.
        reference: exact reversal's cost on that axis (no line when not positive or NaN)."""
    for family, group in means.groupby("family"):
        ax.scatter(group[x], group.err, color=COLORS.get(family, OTHER), s=28, label=family,
                   zorder=3)
        if family in JOINED:
            group = group.sort_values("knob")
            ax.plot(group[x], group.err, color=COLORS.get(family, OTHER), lw=0.8, alpha=0.6)
    if reference > 0:
        ax.axvline(reference, color=COLORS["exact"], ls="--", lw=1, label="exact (the reference)")
    ax.set_xscale("log")
    ax.set_yscale("log")


def outer_panel(ax, last: pd.DataFrame, column: str, names: bool) -> None:
    """One error at the end of each estimator's outer loop: a row per estimator (in the table's
    order, top down), a point per seed coloured by the estimator's family.

    Args:
        ax: the axes to draw on.
        last: the last record of every outer loop of one problem (``method``, ``family``,
            ``seed`` and ``column``).
        column: the error drawn, e.g. ``"val_error"``.
        names: label the rows with the estimators (else the rows are unlabelled)."""
    methods = list(dict.fromkeys(last.method))
    for y, method in enumerate(methods):
        rows = last[last.method == method]
        ax.scatter(rows[column], [y] * len(rows), color=COLORS.get(rows.family.iloc[0], OTHER),
                   s=18)
    ax.set_yticks(range(len(methods)))
    ax.set_yticklabels(methods if names else [""] * len(methods))
    ax.invert_yaxis()


class PlainLogFormatter(LogFormatter):
    """Matplotlib's choice of which ticks of a log axis to label (decades; on a narrow span,
    some minor ticks too), written as plain numbers (``0.5``, ``1``, ``2``, ``10``) or, with
    ``in_bytes``, in decimal units (``200 B``, ``1 kB``, ``30 MB``).

    Args:
        in_bytes: write the values as sizes in bytes.
        **options: :class:`matplotlib.ticker.LogFormatter`'s (``labelOnlyBase``,
            ``minor_thresholds``)."""

    UNITS = (("GB", 1e9), ("MB", 1e6), ("kB", 1e3))

    def __init__(self, in_bytes: bool = False, **options):
        super().__init__(**options)
        self.in_bytes = in_bytes

    def __call__(self, x, pos=None):
        if not super().__call__(x, pos):
            return ""
        if self.in_bytes:
            unit, scale = next(((u, s) for u, s in self.UNITS if x >= s), ("B", 1.0))
            return f"{x / scale:g}\u00a0{unit}"
        return f"{x:g}"


def cost_axis(axis, in_bytes: bool = False) -> None:
    """Label a logarithmic cost axis in plain numbers (:class:`PlainLogFormatter`) rather than
    powers of ten: on a span under a decade matplotlib labels minor ticks too, and
    ``2 x 10^0`` beside ``3 x 10^0`` runs into its neighbours. Cost ratios (CPU time over plain
    training's) as ``1``, ``2``, ``10``; sizes (``in_bytes``) as ``200 B``, ``1 kB``, with minor
    labels only on a span under half a decade (the labels are longer).

    Args:
        axis: ``ax.xaxis`` or ``ax.yaxis``, on a log scale.
        in_bytes: the axis is a size in bytes."""
    thresholds = (0.5, 0.2) if in_bytes else (1, 0.5)
    if in_bytes:  # "100 MB" is wide: on a span of three decades or more, every other decade
        axis.set_major_locator(LogLocator(base=10, numticks=2))
    axis.set_major_formatter(PlainLogFormatter(in_bytes))
    axis.set_minor_formatter(PlainLogFormatter(in_bytes, labelOnlyBase=False,
                                               minor_thresholds=thresholds))


def horizon_fronts(table: pd.DataFrame):
    """The fronts of one problem, a column per horizon ``T`` (titled): the relative error of
    each estimator (:func:`estimator_means`) against its CPU time over plain training's (top)
    and against the bytes it stores (bottom) (:func:`front_panel`), exact reversal's cost
    marked; the rows' y-axes labelled once. The title and the legend are the caller's.

    Args:
        table: the ``front`` table's rows of one problem.

    Returns:
        The matplotlib figure."""
    horizons = sorted(table["T"].unique())
    fig, axes = plt.subplots(2, len(horizons), figsize=(3.6 * len(horizons) + 1.5, 6.6),
                             squeeze=False)
    for (time, memory), T in zip(axes.T, horizons):  # one column per horizon
        at_T = table[table["T"] == T]
        means = estimator_means(at_T)  # per estimator: its error's geometric mean, mean costs
        exact = at_T[at_T.method == "exact"]
        front_panel(time, means, "x_plain", exact.x_plain.mean())
        front_panel(memory, means, "stored", exact.stored_bytes.mean())
        time.set_title(f"T = {int(T):,}")
        time.set_xlabel("CPU time / plain training")
        cost_axis(time.xaxis)
        memory.set_xlabel("bytes stored")
        cost_axis(memory.xaxis, in_bytes=True)
    fig.supylabel("relative error vs exact")  # once: two rows' labels would run together
    return fig
