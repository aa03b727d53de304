"""What the Self-Tuning-Network notebooks (MacKay et al. 2019, the slides) share in their
figures: the width (panels stacked, one figure about the width of the book's text, so that
labels and legends read at their natural size), one style per method, and the two panels the
CNN and the LSTM draw alike: hyperparameter schedules (:func:`schedule_panel`), stacked one
panel per group of hyperparameters on a shared step axis (:func:`group_panels`), and the best
validation loss against the training spent (:func:`best_so_far_panel`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, ScalarFormatter

WIDTH = 6.4  # inches: at 120 dpi about the width of the book's text column
LEGEND = 10  # legend font size (points)
COLOURS = {"STN": "C3", "grid": "C0", "random": "C2", "bayes": "C1"}
STYLES = {"STN": "-", "grid": "-", "random": "--", "bayes": ":"}
NAMES = {"STN": "STN", "grid": "grid search", "random": "random search",
         "bayes": "Bayesian optimization"}


def schedule_panel(ax, schedule: pd.DataFrame, names: list[str]) -> None:
    """Hyperparameters against the training step, one labelled line each.

    Args:
        ax: the axes to draw on.
        schedule: one run's schedule: ``hyperparameter``, ``step`` and ``value``.
        names: the hyperparameters of this panel (two legend columns for more than three)."""
    for name in names:
        g = schedule[schedule.hyperparameter == name]
        ax.plot(g.step, g.value, label=name.replace("_", " "))
    ax.legend(fontsize=LEGEND, ncol=2 if len(names) > 3 else 1, loc="best")


def group_panels(schedule: pd.DataFrame, groups: dict[str, list[str]]):
    """One panel per group of hyperparameters, stacked on a shared training-step axis: each
    panel draws its group's hyperparameters (:func:`schedule_panel`) and is labelled with the
    group's name; the names a run does not have are left out, and so is a group left empty.

    Args:
        schedule: one run's schedule: ``hyperparameter``, ``step`` and ``value``.
        groups: the panels, top down: each group's label and the hyperparameters it draws.

    Returns:
        The figure (:data:`WIDTH` wide, 2.6 inches a panel)."""
    present = set(schedule.hyperparameter)
    groups = {label: [n for n in members if n in present] for label, members in groups.items()}
    groups = {label: members for label, members in groups.items() if members}
    fig, axes = plt.subplots(len(groups), 1, figsize=(WIDTH, 2.6 * len(groups)), sharex=True,
                             squeeze=False)
    for (label, members), ax in zip(groups.items(), axes[:, 0]):
        schedule_panel(ax, schedule, members)
        ax.set_ylabel(label)
    axes[-1, 0].set_xlabel("training step")
    return fig


def best_so_far_panel(ax, progress: pd.DataFrame, perplexity: bool = False) -> None:
    r"""The best validation loss each method had found against the training steps it had spent
    (a logarithmic axis, labelled; steps with none spent left out): the STN's validation curve
    and each search's best trial so far, one step line per method and seed in the method's
    colour and line style, the first seed's drawn stronger and named in the legend.

    Args:
        ax: the axes to draw on.
        progress: ``method``, ``seed``, ``training_steps`` and ``best_val_loss``.
        perplexity: draw the perplexity :math:`e^{\text{loss}}` instead of the loss."""
    progress = progress[progress.training_steps > 0]  # a log axis has no 0
    for (method, seed), g in progress.groupby(["method", "seed"], sort=False):
        y = np.exp(g.best_val_loss) if perplexity else g.best_val_loss
        first = seed == progress.seed.min()
        ax.step(g.training_steps, y, where="post", color=COLOURS[method], ls=STYLES[method],
                marker="o", ms=3, lw=1.4, alpha=0.9 if first else 0.45,
                label=NAMES[method] if first else None)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training steps spent (log scale)")
    ax.legend(fontsize=LEGEND)
