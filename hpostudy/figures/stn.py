"""Figures of the Self-Tuning-Network chapter (MacKay et al. 2019, the slides). Panels are
stacked, one figure about the width of the book's text, so that labels and legends read at
their natural size."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter
import numpy as np
import pandas as pd

from . import save

WIDTH = 6.4  # inches: at 120 dpi about the width of the book's text column
LEGEND = 10  # legend font size (points)
COLOURS = {"STN": "C3", "grid": "C0", "random": "C2", "bayes": "C1"}
STYLES = {"STN": "-", "grid": "-", "random": "--", "bayes": ":"}
NAMES = {"STN": "STN", "grid": "grid search", "random": "random search",
         "bayes": "Bayesian optimization"}


def fig_stn_schedules(schedule: pd.DataFrame, groups: dict[str, list[str]]):
    """Every tuned hyperparameter against the training step (first seed), one panel per
    group (slides "STN - CNN hyperparameter schedules", the LSTM's dropout and AR/TAR panels)."""
    first = schedule[schedule.seed == schedule.seed.min()]
    present = set(first.hyperparameter)
    groups = {k: [n for n in names if n in present] for k, names in groups.items()}
    groups = {k: names for k, names in groups.items() if names}
    fig, axes = plt.subplots(len(groups), 1, figsize=(WIDTH, 2.6 * len(groups)), sharex=True,
                             squeeze=False)
    for (label, names), ax in zip(groups.items(), axes[:, 0]):
        for name in names:
            g = first[first.hyperparameter == name]
            ax.plot(g.step, g.value, label=name.replace("_", " "))
        ax.set_ylabel(label)
        ax.legend(fontsize=LEGEND, ncol=2 if len(names) > 3 else 1, loc="best")
    axes[-1, 0].set_xlabel("training step")
    fig.tight_layout()
    return fig


def fig_stn_progress(progress: pd.DataFrame, perplexity: bool):
    """The slides' "best validation loss against time", with time counted in training steps:
    the STN's validation curve and each search's best trial so far, one line per seed."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
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
    ax.set_ylabel("best validation " + ("perplexity" if perplexity else "loss"))
    ax.legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


def _versus(results: dict, folder, problem: str, groups: dict[str, list[str]],
            perplexity: bool) -> dict[str, Path]:
    figs = {f"fig_stn_{problem}_schedules": fig_stn_schedules(results["schedule"], groups),
            f"fig_stn_{problem}_time": fig_stn_progress(results["progress"], perplexity)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def stn_lstm(results: dict, folder) -> dict[str, Path]:
    """Draw and save the LSTM's schedules and best-so-far figures."""
    names = list(dict.fromkeys(results["schedule"].hyperparameter))
    return _versus(results, folder, "lstm", {
        "dropout rate": [n for n in names if "drop" in n],
        "AR / TAR coefficient": ["alpha", "beta"]}, perplexity=True)


def stn_cnn(results: dict, folder) -> dict[str, Path]:
    """Draw and save the CNN's schedules and best-so-far figures."""
    names = list(dict.fromkeys(results["schedule"].hyperparameter))
    return _versus(results, folder, "cnn", {
        "dropout rate": [n for n in names if n.startswith("drop")],
        "jitter strength": ["brightness", "contrast", "saturation", "hue"],
        "cutout (holes, length)": ["cutout_holes", "cutout_length"]}, perplexity=False)


def fig_stn_dropout_schedules(schedules: pd.DataFrame, high: float):
    """Slides "STN hyperparameter schedules": output dropout from several initial values,
    one colour per start, one line per seed."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    for k, (init, g) in enumerate(schedules.groupby("init")):
        for j, (_, s) in enumerate(g.groupby("seed")):
            ax.plot(s.step, s.value, color=f"C{k}", lw=1.2, alpha=0.9 if j == 0 else 0.45,
                    label=f"start {init:g}" if j == 0 else None)
    ax.set_ylim(0, high)
    ax.set_xlabel("training step")
    ax.set_ylabel("output dropout rate")
    ax.legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


def stn_schedules(results: dict, folder, high: float = 1.0) -> dict[str, Path]:
    """Draw and save the schedules-from-several-starts figure."""
    return {"fig_stn_dropout_schedules": save(
        fig_stn_dropout_schedules(results["schedules"], high), folder,
        "fig_stn_dropout_schedules")}


def fig_stn_sensitivity(curves: pd.DataFrame, runs: pd.DataFrame):
    """Slides "STN - sensitivity analysis": validation loss during training per variant (mean
    over seeds), Bayesian optimization's best (mean over seeds) dashed."""
    studies = list(dict.fromkeys(curves.study))
    reference = runs[runs.study == "reference"].val_loss.mean()
    fig, axes = plt.subplots(len(studies), 1, figsize=(WIDTH, 3.2 * len(studies)), sharex=True,
                             squeeze=False)
    for study, ax in zip(studies, axes[:, 0]):
        mine = curves[curves.study == study]
        for variant, g in mine.groupby("variant", sort=False):
            mean = g.groupby("step").val_loss.mean()
            ax.plot(mean.index, mean.values, label=variant)
        ax.axhline(reference, color="0.3", ls="--", lw=1.2, label="Bayesian optimization")
        ax.set_title(study, fontsize=11)
        ax.set_ylabel("validation loss")
        ax.legend(fontsize=LEGEND)
    axes[-1, 0].set_xlabel("training step")
    fig.tight_layout()
    return fig


def stn_sensitivity(results: dict, folder) -> dict[str, Path]:
    """Draw and save the sensitivity figure."""
    return {"fig_stn_sensitivity": save(fig_stn_sensitivity(results["curves"], results["runs"]),
                                        folder, "fig_stn_sensitivity")}
