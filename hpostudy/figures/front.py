"""Figures of the "Every hypergradient" chapter: the accuracy-vs-cost front of every estimator
per horizon (relative error against exact reversal over CPU time relative to plain training, and
over the bytes stored), and the errors the outer loops end with."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import save

COLORS = {"reverse": "#4c72b0", "exact": "#000000", "DrMAD": "#c44e52", "forward": "#8172b3",
          "truncated": "#dd8452", "implicit cg": "#55a868", "implicit neumann": "#64b5cd",
          "implicit fixed_point": "#937860", "closed form": "#999999", "initial": "#999999"}
FLOOR = 1e-12  # relative errors below this are drawn on it (the reference's own rounding)


def front(table: pd.DataFrame, title: str):
    """Per horizon (columns): the relative error against exact reversal (geometric mean over
    seeds) over the CPU time in units of plain training (top) and over the bytes stored
    (bottom), one point per estimator coloured by family, the points of one truncated or
    implicit family joined in the order of K or iterations, exact reversal's own cost a dashed
    line; skipped and failed estimators are left out (the table says why)."""
    ok = table[(table.status == "ok") & (table.method != "exact")
               & (table.method != "closed form")].copy()
    ok["err"] = ok.relative_error.clip(lower=FLOOR)
    horizons = sorted(table["T"].unique())
    fig, axes = plt.subplots(2, len(horizons), figsize=(3.6 * len(horizons) + 1.5, 6.6),
                             squeeze=False)
    for j, T in enumerate(horizons):
        mine = ok[ok["T"] == T]
        means = mine.groupby(["method", "family", "knob"], as_index=False).agg(
            err=("err", lambda s: float(np.exp(np.log(s).mean()))),
            x_plain=("x_plain", "mean"), stored=("stored_bytes", "mean"))
        for i, x in enumerate(("x_plain", "stored")):
            ax = axes[i][j]
            for family, group in means.groupby("family"):
                ax.scatter(group[x], group.err, color=COLORS.get(family, "#333333"), s=28,
                           label=family, zorder=3)
                if family in ("truncated", "implicit cg", "implicit neumann",
                              "implicit fixed_point"):
                    group = group.sort_values("knob")
                    ax.plot(group[x], group.err, color=COLORS.get(family, "#333333"),
                            lw=0.8, alpha=0.6)
            exact = table[(table["T"] == T) & (table.method == "exact")]
            cost = exact.x_plain.mean() if x == "x_plain" else exact.stored_bytes.mean()
            if len(exact) and cost > 0:
                ax.axvline(cost, color=COLORS["exact"], ls="--", lw=1,
                           label="exact (the reference)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            if i == 0:
                ax.set_title(f"T = {int(T):,}")
                ax.set_xlabel("CPU time / plain training")
            else:
                ax.set_xlabel("bytes stored")
            if j == 0:
                ax.set_ylabel("relative error vs exact")
    handles, labels = axes[0][0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    # below the panels, not beside them: a legend beside widens the saved image past the
    # width its text was made readable for
    fig.legend(list(seen.values()), list(seen.keys()), loc="lower center",
               bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(seen)), frameon=False)
    return fig


def outer(table: pd.DataFrame):
    """Validation and test error after the outer loop of each estimator (the last record of
    each loop; ``initial``: the initial hyperparameters), one point per seed, one panel per
    problem and error."""
    last = table.sort_values("meta_iteration").groupby(["problem", "method", "seed"]).tail(1)
    problems = list(dict.fromkeys(last.problem))
    fig, axes = plt.subplots(len(problems), 2, figsize=(11, 0.32 * last.method.nunique()
                                                        * len(problems) + 1.6), squeeze=False)
    for i, problem in enumerate(problems):
        mine = last[last.problem == problem]
        methods = list(dict.fromkeys(mine.method))
        for k, column in enumerate(("val_error", "test_error")):
            ax = axes[i][k]
            for y, method in enumerate(methods):
                rows = mine[mine.method == method]
                ax.scatter(rows[column], [y] * len(rows),
                           color=COLORS.get(rows.family.iloc[0], "#333333"), s=18)
            ax.set_yticks(range(len(methods)))
            ax.set_yticklabels(methods if k == 0 else [""] * len(methods))
            ax.invert_yaxis()
            ax.set_title(f"{problem}: {column.replace('_', ' ')}")
    fig.tight_layout()
    return fig


def draw(results: dict, folder: str | Path, name: str) -> dict[str, Path]:
    """Draw and save the figures of a run of ``front_mlp`` or ``front_convex``: one front per
    problem (``front_<problem>``) and ``outer_<name>``."""
    out = {}
    for problem, table in results["front"].groupby("problem", sort=False):
        out[f"front_{problem}"] = save(front(table, f"{problem}: error against cost"), folder,
                                       f"front_{problem}")
    out[f"outer_{name}"] = save(outer(results["outer"]), folder, f"outer_{name}")
    return out
