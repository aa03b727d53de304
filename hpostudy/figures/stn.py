"""Figures of the Self-Tuning-Network chapter (MacKay et al. 2019, the slides)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import grid as _grid, meta_iteration_axis as _meta_iteration_axis, save


def _schedule_panel(ax, schedule: pd.DataFrame, names, ylabel: str):
    for name in names:
        g = schedule[schedule.hyperparameter == name]
        ax.plot(g.step, g.value, label=name.replace("_", " "))
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def fig_stn_dropout_schedules(schedules: pd.DataFrame):
    """Slides "STN hyperparameter schedules": output dropout from several initial values."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for init, g in schedules.groupby("init"):
        ax.plot(g.step, g.value, label=f"init = {init:g}")
    ax.set_ylim(0, 1)
    ax.set_xlabel("training step")
    ax.set_ylabel("output dropout rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def stn_schedules(results: dict, folder) -> dict:
    return {"fig_stn_dropout_schedules": save(fig_stn_dropout_schedules(results["schedules"]),
                                              folder, "fig_stn_dropout_schedules")}


def fig_stn_progress(progress: pd.DataFrame, perplexity: bool):
    """Slides' "best validation loss against time": the STN's validation curve and each
    search's best trial so far, against wall-clock seconds."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for method, g in progress.groupby("method", sort=False):
        y = np.exp(g.best_val_loss) if perplexity else g.best_val_loss
        ax.step(g.seconds, y, where="post", label=method, marker="o", ms=3)
    ax.set_xlabel("wall-clock seconds")
    ax.set_ylabel("best validation " + ("perplexity" if perplexity else "loss"))
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig_stn_schedules(schedule: pd.DataFrame, groups: dict[str, list[str]]):
    """Every tuned hyperparameter against the training step, one panel per group."""
    groups = {k: [n for n in v if n in set(schedule.hyperparameter)] for k, v in groups.items()}
    groups = {k: v for k, v in groups.items() if v}
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for (label, names), ax in zip(groups.items(), axes[0]):
        _schedule_panel(ax, schedule, names, label)
    fig.tight_layout()
    return fig


def _stn_versus_baselines(results: dict, folder, problem: str, groups: dict[str, list[str]],
                          perplexity: bool) -> dict:
    """The schedules and the best-validation-against-time figures of an STN-vs-search run."""
    figs = {f"fig_stn_{problem}_schedules": fig_stn_schedules(results["schedule"], groups),
            f"fig_stn_{problem}_time": fig_stn_progress(results["progress"], perplexity)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def stn_lstm(results: dict, folder) -> dict:
    names = results["schedule"].hyperparameter.unique()
    return _stn_versus_baselines(results, folder, "lstm", {
        "dropout rate": [n for n in names if "drop" in n],
        "AR / TAR coefficient": ["alpha", "beta"]}, perplexity=True)


def stn_cnn(results: dict, folder) -> dict:
    names = results["schedule"].hyperparameter.unique()
    return _stn_versus_baselines(results, folder, "cnn", {
        "dropout rate": [n for n in names if n.startswith("drop")],
        "jitter strength": ["brightness", "contrast", "saturation", "hue"],
        "cutout (holes, length)": ["cutout_holes", "cutout_length"]}, perplexity=False)


def fig_stn_sensitivity(curves: pd.DataFrame):
    """Slides "STN - sensitivity analysis": validation loss during training per variant."""
    studies = list(dict.fromkeys(curves.study))
    fig, axes = plt.subplots(1, len(studies), figsize=(5 * len(studies), 3.6), squeeze=False)
    for study, ax in zip(studies, axes[0]):
        for variant, g in curves[curves.study == study].groupby("variant", sort=False):
            ax.plot(g.step, g.val_loss, label=variant)
        ax.set_title(study, fontsize=10)
        ax.set_xlabel("training step")
        ax.set_ylabel("validation loss")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def stn_sensitivity(results: dict, folder) -> dict:
    return {"fig_stn_sensitivity": save(fig_stn_sensitivity(results["curves"]), folder,
                                        "fig_stn_sensitivity")}
