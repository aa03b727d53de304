"""Figures: each is drawn in its notebook's cells from the run's tidy tables, so the reader sees
the plotting code under the figure; this package keeps what the notebooks share -- the style
(seaborn), saving, common axes (:func:`grid`, :func:`integer_axis`) and the drawing helpers of
:mod:`hpostudy.figures.helpers` and the chapters' shared panels. ``save(fig, folder, name)``
writes the PNG the book shows, atomically and listed with its digest in the run's ``meta.json``
(:func:`hpostudy.store.publish`: a run's folder is never complete without its figures). This
package draws only: of the library it imports only the store, the bottom layer that writes
files.

Readable at 1x by construction: a figure is shown at most as wide as the book's text column
(:data:`SHOWN_WIDTH_PX`), so a wide figure is scaled down on the page. :func:`save` enlarges
every text of the figure -- tick labels, legends, titles, labels -- that would be shown smaller
than :data:`MIN_TEXT_PX`, whatever size the drawing code asked for, and lays the figure out
again. The PNG records the height of its smallest text in pixels (:data:`SMALLEST_TEXT_KEY`),
so that a page showing it narrower than assumed can be caught (``tests/test_browser.py``).
Counted axes (epochs, meta-iterations) get integer ticks from :func:`integer_axis`.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.layout_engine import PlaceHolderLayoutEngine  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

DPI = 150
SHOWN_WIDTH_PX = 700  # the book's text column at a 1400-px window, less the figure margins
MIN_TEXT_PX = 11  # the smallest text a reader reads without zooming
SMALLEST_TEXT_KEY = "hpostudy smallest text px"  # PNG text chunk: smallest text, image pixels

sns.set_theme(style="whitegrid", context="notebook",
              rc={"savefig.dpi": DPI, "legend.fontsize": 11, "legend.title_fontsize": 11,
                  "xtick.labelsize": 11, "ytick.labelsize": 11, "axes.titlesize": 12,
                  "axes.labelsize": 12})


def min_font_points(fig) -> float:
    """The smallest font size (points) that is shown at least :data:`MIN_TEXT_PX` tall when
    ``fig`` is displayed at its own resolution or scaled to :data:`SHOWN_WIDTH_PX`."""
    shown_px_per_inch = min(DPI, SHOWN_WIDTH_PX / fig.get_figwidth())
    return MIN_TEXT_PX * 72 / shown_px_per_inch


def _tick_labels(fig) -> list[tuple]:
    """(axes, "x" or "y", tick labels) of every visible axes."""
    return [(ax, name, axis.get_ticklabels(which="both")) for ax in fig.axes
            if ax.get_visible() for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y"))]


def _shown_texts(fig) -> list[Text]:
    """Every text drawn with ``fig``: visible, not empty, not in a hidden axes."""
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()
            and (t.axes is None or t.axes.get_visible())]


def make_readable(fig) -> bool:
    """Enlarge every visible text of ``fig`` below :func:`min_font_points` to that size;
    returns whether anything changed (the caller lays the figure out again)."""
    least = min_font_points(fig)
    changed = False
    for ax, name, labels in _tick_labels(fig):
        if labels and min(t.get_fontsize() for t in labels) < least:
            ax.tick_params(axis=name, which="both", labelsize=least)
            changed = True
    ticks = {id(t) for _, _, labels in _tick_labels(fig) for t in labels}
    for text in _shown_texts(fig):
        if id(text) not in ticks and text.get_fontsize() < least:
            text.set_fontsize(least)
            changed = True
    return changed


def smallest_text_points(fig) -> float:
    """The font size (points) of the smallest text drawn with ``fig`` (after a draw)."""
    fig.canvas.draw()
    return min((t.get_fontsize() for t in _shown_texts(fig)), default=float("inf"))


def legend_below(fig, gap: float = 0.12) -> float:
    """The share of ``fig``'s height that its legends along the bottom edge take
    (:func:`hpostudy.figures.helpers.shared_legend`'s), with ``gap`` inches above them: the
    room a new layout of the panels must leave them (0 without such a legend).

    Args:
        fig: the figure, its texts at their final size.
        gap: inches between the legend and the panels' lowest labels.

    Returns:
        float: a fraction of the figure's height, for ``tight_layout(rect=...)``."""
    renderer = fig.canvas.get_renderer()
    heights = [box.height for box in (legend.get_window_extent(renderer) for legend in fig.legends)
               if box.y0 <= 0.05 * fig.bbox.height]
    if not heights:
        return 0.0
    return (max(heights) + gap * fig.dpi) / fig.bbox.height


def save(fig, folder: str | Path, name: str) -> Path:
    """Write ``fig`` as ``folder/name.png``, every text readable on the page (see above),
    atomically; in a run's folder it is listed with its digest (:func:`hpostudy.store.publish`)."""
    import io

    from ..store import publish

    drawn_once = isinstance(fig.get_layout_engine(), (type(None), PlaceHolderLayoutEngine))
    if make_readable(fig) and drawn_once:  # laid out before the text grew (tight_layout())
        fig.tight_layout(rect=(0, legend_below(fig), 1, 1))
    smallest = f"{smallest_text_points(fig) * DPI / 72:.1f}"
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, bbox_inches="tight",
                metadata={SMALLEST_TEXT_KEY: smallest})
    return publish(Path(folder), f"{name}.png", png.getvalue())


def grid(n: int, width: float = 3.2):
    """Square panels for ``n`` plots, at most three a row, the unused ones hidden.

    Args:
        n: the number of panels.
        width: each panel's width and height (inches).

    Returns:
        The figure and a flat array of its axes (the first ``n`` to draw on)."""
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def integer_axis(ax, label: str, which: str = "x"):
    """A counted quantity on axis ``which`` ("x" or "y"): the label, integer ticks only."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_label_text(label)
    axis.set_major_locator(MaxNLocator(integer=True))


def meta_iteration_axis(ax):
    """Meta-iterations are counted: integer ticks only."""
    integer_axis(ax, "meta-iteration")
