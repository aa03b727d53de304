"""Figures of the DrMAD-quality chapter (thesis Figs 3.1-3.6, and why DrMAD explodes).

Every draw function takes an experiment's results and the output folder, saves its PNGs there
and returns their paths. Several seeds are drawn as thin lines of one colour per quantity;
legends sit below the panels, shared by them, in a readable size."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import grid, meta_iteration_axis, save

LEGEND = 10  # legend font size (points)


def _shared_legend(fig, ncol: int = 4):
    """One legend for all panels, below them (labels collected once each)."""
    seen = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(ncol, len(seen)),
               fontsize=LEGEND, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06 + 0.03 * ((len(seen) - 1) // ncol), 1, 1))


def _seed_lines(ax, df: pd.DataFrame, x: str, y: str, label: str, log: bool = False, **style):
    """One line per seed, labelled once."""
    for i, (_, g) in enumerate(df.sort_values(x).groupby("seed")):
        (ax.semilogy if log else ax.plot)(g[x], g[y], label=label if i == 0 else None,
                                          lw=1.2, **style)


def _panels(df: pd.DataFrame):
    return [((T, S), g) for (T, S), g in df.groupby(["T", "S"])]


# ---------------------------------------------------------------------- Figs 3.1-3.3
def fig3_1_norms(metaruns: pd.DataFrame):
    """Thesis Fig 3.1: norms of the DrMAD, DrMAD2 and exact hypergradients per meta-iteration,
    following the DrMAD signs (one panel per horizon T and number of reverse steps S)."""
    panels = _panels(metaruns[metaruns.follow == "drmad"])
    fig, axes = grid(len(panels), 3.6)
    for ((T, S), g), ax in zip(panels, axes):
        _seed_lines(ax, g, "meta_iteration", "norm_exact", "exact", True, color="black",
                    marker="o", ms=3)
        _seed_lines(ax, g, "meta_iteration", "norm_drmad", "DrMAD", True, color="tab:red",
                    marker="s", ms=3)
        _seed_lines(ax, g, "meta_iteration", "norm_drmad2", "DrMAD2", True, color="tab:blue",
                    marker="^", ms=3, ls="--")
        ax.set_title(f"T = {T:,}, S = {S:,}", fontsize=11)
        meta_iteration_axis(ax)
        ax.set_ylabel("hypergradient norm")
    _shared_legend(fig)
    return fig


def fig3_2_cosines(metaruns: pd.DataFrame):
    """Thesis Fig 3.2: cosine between the DrMAD (DrMAD2) and the exact hypergradient and
    between their sign vectors."""
    panels = _panels(metaruns[metaruns.follow == "drmad"])
    fig, axes = grid(len(panels), 3.6)
    for ((T, S), g), ax in zip(panels, axes):
        _seed_lines(ax, g, "meta_iteration", "cos_drmad", "cos(DrMAD, exact)",
                    color="tab:red", marker="o", ms=3)
        _seed_lines(ax, g, "meta_iteration", "cos_sign_drmad", "cos of their signs",
                    color="salmon", ls="--")
        _seed_lines(ax, g, "meta_iteration", "cos_drmad2", "cos(DrMAD2, exact)",
                    color="tab:blue", marker="^", ms=3)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"T = {T:,}, S = {S:,}", fontsize=11)
        meta_iteration_axis(ax)
        ax.set_ylabel("cosine")
    _shared_legend(fig, ncol=3)
    return fig


def fig3_3_errors(metaruns: pd.DataFrame):
    """Thesis Fig 3.3: train / validation / test error following the DrMAD signs (solid) and
    the DrMAD2 signs (dashed), at the smallest number of reverse steps."""
    S0 = metaruns[metaruns.follow == "drmad2"].S.min()
    d = metaruns[(metaruns.S == S0)]
    Ts = sorted(d["T"].unique())
    fig, axes = grid(len(Ts), 3.8)
    colors = {"train_error": "tab:green", "val_error": "tab:orange", "test_error": "tab:purple"}
    for T, ax in zip(Ts, axes):
        for follow, style in (("drmad", "-"), ("drmad2", "--")):
            g = d[(d["T"] == T) & (d.follow == follow)]
            for col, color in colors.items():
                _seed_lines(ax, g, "meta_iteration", col,
                            f"{col.split('_')[0]}, {follow.replace('drmad', 'DrMAD')} signs",
                            color=color, ls=style)
        ax.set_title(f"T = {T:,}, S = {S0:,}", fontsize=11)
        meta_iteration_axis(ax)
        ax.set_ylabel("error rate")
    _shared_legend(fig, ncol=3)
    return fig


def drmad_quality(results: dict, folder) -> dict[str, Path]:
    """Figs 3.1-3.3 from :func:`hpostudy.experiments.drmad_quality.run`'s results."""
    df = results["metaruns"]
    figs = {"fig3_1": fig3_1_norms(df), "fig3_2": fig3_2_cosines(df), "fig3_3": fig3_3_errors(df)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# ---------------------------------------------------------------------- Figs 3.4, 3.5
def fig_accumulated(acc: pd.DataFrame, T: int, number: str):
    """Thesis Figs 3.4/3.5: norm of the accumulated exact hypergradient against t (starting at 0
    at t = T-1 on the right, reverse steps proceed to the left); one line per seed."""
    g = acc[acc["T"] == T]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    _seed_lines(ax, g, "t", "norm", "accumulated hypergradient (one line per seed)",
                color="black")
    positive = g.norm[g.norm > 0]
    ax.set_yscale("symlog", linthresh=max(float(positive.min()), 1e-12) if len(positive) else 1)
    ax.set_xlabel("elementary iteration t (the reverse pass runs right to left)")
    ax.set_ylabel("norm")
    ax.set_title(f"Fig {number}: T = {T:,}", fontsize=11)
    _shared_legend(fig)
    return fig


def accumulated_norms(results: dict, folder) -> dict[str, Path]:
    """Figs 3.4 and 3.5 from :func:`hpostudy.experiments.accumulated_norms.run`'s results."""
    acc = results["accumulated"]
    Ts = sorted(acc["T"].unique())[:2]
    figs = {f"fig3_{4 + i}": fig_accumulated(acc, T, f"3.{4 + i}") for i, T in enumerate(Ts)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# ---------------------------------------------------------------------- Fig 3.6
def fig3_6_reversal(path: pd.DataFrame):
    """Thesis Fig 3.6: reverse-path values with and without exact arithmetic (first seed)."""
    path = path[path.seed == path.seed.min()]
    quantities = [("w_norm", "|w_t|"), ("v_norm", "|v_t|"),
                  ("d_meta_norm", "|d_meta| (hypergradient)"), ("d_w_norm", "|d_w|")]
    coords = [c for c in path.columns if c.startswith("w[") and path[c].notna().all()][:1]
    cols = quantities + [(c, c) for c in coords] + [(c.replace("w[", "d_w["),
                                                     c.replace("w[", "d_w[")) for c in coords]
    fig, axes = grid(len(cols), 3.4)
    for (col, label), ax in zip(cols, axes):
        for arith, style, color in (("exact", "-", "black"), ("float", "--", "tab:red")):
            g = path[path.arithmetic == arith]
            ax.plot(g.t, g[col], style, color=color, lw=1.2,
                    label=f"{arith} arithmetic")
        ax.set_title(label, fontsize=11)
        ax.set_xlabel("t")
        if col.endswith("_norm") and (path[col] > 0).all():
            ax.set_yscale("log")
    _shared_legend(fig)
    return fig


def reversal_precision(results: dict, folder) -> dict[str, Path]:
    """Fig 3.6 from :func:`hpostudy.experiments.reversal_precision.run`'s results."""
    return {"fig3_6": save(fig3_6_reversal(results["reverse_path"]), folder, "fig3_6")}


# ---------------------------------------------------------------------- why DrMAD explodes
PASS_STYLE = {"true path": {"color": "black", "lw": 1.8}}
LINE_COLORS = ["tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink"]


def _pass_style(name: str, names: list[str]) -> dict:
    if name in PASS_STYLE:
        return PASS_STYLE[name]
    lines = [n for n in names if n not in PASS_STYLE]
    style = {"color": LINE_COLORS[lines.index(name) % len(LINE_COLORS)]}
    return {**style, "ls": ":" if "T/S" in name else "-"}


def fig_explosion(steps: pd.DataFrame, hessians: pd.DataFrame):
    """Why DrMAD explodes, one row per learning rate (first seed's passes, every seed's
    Hessians): the norm of the adjoint dw along each reverse pass; the curvature the adjoint
    meets (running mean over 5% of the pass); the smallest and largest Hessian eigenvalue on the
    true path and on the line."""
    seed = steps.seed.min()
    lrs = sorted(steps.lr.unique())
    names = list(dict.fromkeys(steps.sort_values("pass", key=lambda s: s != "true path")
                               ["pass"]))
    fig, axes = plt.subplots(len(lrs), 3, figsize=(13, 3.6 * len(lrs)), squeeze=False)
    for row, lr in zip(axes, lrs):
        s = steps[(steps.lr == lr) & (steps.seed == seed)]
        for name in names:
            g = s[s["pass"] == name].sort_values("position")
            style = _pass_style(name, names)
            row[0].semilogy(g.position, g.dw_norm, label=name, **style)
            if "T/S" not in name:
                smooth = g.curvature.rolling(max(1, len(g) // 20), center=True,
                                             min_periods=1).mean()
                row[1].plot(g.position, smooth, label=name, **style)
        h = hessians[hessians.lr == lr]
        for where, color in (("true path", "black"), ("line", "tab:red")):
            g = h[h["where"] == where]
            row[2].scatter(g.position, g.lambda_min, color=color, marker="v", s=22,
                           label=f"smallest eigenvalue, {where}")
            row[2].scatter(g.position, g.lambda_max, color=color, marker="^", s=22,
                           facecolors="none", label=f"largest eigenvalue, {where}")
        row[2].set_yscale("symlog", linthresh=1.0)
        row[1].axhline(0, color="0.5", lw=0.8)
        row[0].set_ylabel(f"learning rate {lr:g}\n|dw| (adjoint)")
        row[1].set_ylabel("curvature met by the adjoint")
        row[2].set_ylabel("Hessian eigenvalue")
        for ax in row:
            ax.set_xlabel("t / T (the reverse pass runs right to left)")
    axes[0][0].set_title("Adjoint norm along the reverse pass", fontsize=11)
    axes[0][1].set_title("Curvature in the adjoint's direction", fontsize=11)
    axes[0][2].set_title("Extreme eigenvalues of the loss' Hessian", fontsize=11)
    _shared_legend(fig, ncol=4)
    return fig


def drmad_explosion(results: dict, folder) -> dict[str, Path]:
    """The explosion figure from :func:`hpostudy.experiments.drmad_explosion.run`'s results."""
    fig = fig_explosion(results["steps"], results["hessians"])
    return {"fig_drmad_explosion": save(fig, folder, "fig_drmad_explosion")}
