"""Figures of the DrMAD-quality chapter (thesis Figs 2.3, 3.1-3.6)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import grid as _grid, meta_iteration_axis as _meta_iteration_axis, save


def _by_run(df: pd.DataFrame):
    return [((T, S), g) for (T, S), g in df.groupby(["T", "S"])]


def fig3_1_norms(metaruns: pd.DataFrame):
    """Thesis Fig 3.1: norms of the DrMAD and exact hypergradients per meta-iteration."""
    d = metaruns[metaruns.follow == "drmad"]
    runs = _by_run(d)
    fig, axes = _grid(len(runs), 3.4)
    for ((T, S), g), ax in zip(runs, axes):
        ax.semilogy(g.meta_iteration, g.norm_exact, "o-", label="exact", color="black")
        ax.semilogy(g.meta_iteration, g.norm_drmad, "s-", label="DrMAD", color="tab:red")
        ax.semilogy(g.meta_iteration, g.norm_drmad2, "^--", label="DrMAD2", color="tab:blue")
        ax.set_title(f"T={T}, {S} reverse steps", fontsize=10)
        _meta_iteration_axis(ax)
        ax.set_ylabel("hypergradient norm")
    axes[0].legend(fontsize=8)
    fig.suptitle("Norms of hypergradients following the DrMAD signs")
    fig.tight_layout()
    return fig


def fig3_2_cosines(metaruns: pd.DataFrame):
    """Thesis Fig 3.2: cosine between DrMAD and exact hypergradients and between their signs."""
    d = metaruns[metaruns.follow == "drmad"]
    runs = _by_run(d)
    fig, axes = _grid(len(runs), 3.4)
    for ((T, S), g), ax in zip(runs, axes):
        ax.plot(g.meta_iteration, g.cos_drmad, "o-", label="cos(DrMAD, exact)", color="tab:red")
        ax.plot(g.meta_iteration, g.cos_sign_drmad, "o--", label="cos(signs)", color="salmon")
        ax.plot(g.meta_iteration, g.cos_drmad2, "^-", label="cos(DrMAD2, exact)", color="tab:blue")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"T={T}, {S} reverse steps", fontsize=10)
        _meta_iteration_axis(ax)
        ax.set_ylabel("cosine")
    axes[0].legend(fontsize=7)
    fig.suptitle("Agreement of DrMAD with the exact hypergradient")
    fig.tight_layout()
    return fig


def fig3_3_errors(metaruns: pd.DataFrame):
    """Thesis Fig 3.3: train / validation / test error following the DrMAD (and DrMAD2) signs."""
    S0 = metaruns[metaruns.follow == "drmad2"].S.min()
    d = metaruns[(metaruns.S == S0) | (metaruns.follow == "drmad2")]
    Ts = sorted(d["T"].unique())
    fig, axes = _grid(len(Ts), 3.6)
    colors = {"train_error": "tab:green", "val_error": "tab:orange", "test_error": "tab:purple"}
    for T, ax in zip(Ts, axes):
        for follow, style in (("drmad", "-"), ("drmad2", "--")):
            g = d[(d["T"] == T) & (d.follow == follow)]
            for col, color in colors.items():
                ax.plot(g.meta_iteration, g[col], style, color=color,
                        label=f"{col.split('_')[0]} ({follow})")
        ax.set_title(f"T={T}, {S0} reverse steps", fontsize=10)
        _meta_iteration_axis(ax)
        ax.set_ylabel("error rate")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("Errors following the DrMAD (solid) and DrMAD2 (dashed) signs")
    fig.tight_layout()
    return fig


def drmad_quality(results: dict, folder) -> dict:
    df = results["metaruns"]
    figs = {"fig3_1": fig3_1_norms(df), "fig3_2": fig3_2_cosines(df), "fig3_3": fig3_3_errors(df)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def fig_accumulated(acc: pd.DataFrame, T: int, number: str):
    """Thesis Figs 3.4/3.5: norm of the accumulated exact hypergradient against t (starting at 0
    at t = T-1 on the right, reverse steps proceed to the left)."""
    g = acc[acc["T"] == T]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(g.t, g.norm, color="black", lw=1)
    ax.set_yscale("symlog", linthresh=max(float(g.norm[g.norm > 0].min()), 1e-12))
    ax.set_xlabel("elementary iteration t (reverse pass runs right to left)")
    ax.set_ylabel("norm of accumulated hypergradient")
    ax.set_title(f"Fig {number}: T = {T:,}")
    fig.tight_layout()
    return fig


def accumulated_norms(results: dict, folder) -> dict:
    acc = results["accumulated"]
    Ts = sorted(acc["T"].unique())
    figs = {f"fig3_{4 + i}": fig_accumulated(acc, T, f"3.{4 + i}") for i, T in enumerate(Ts[:2])}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def fig3_6_reversal(path: pd.DataFrame):
    """Thesis Fig 3.6: reverse-path values with and without exact arithmetic."""
    quantities = [("w_norm", "|x| = |w_t|"), ("v_norm", "|v_t|"),
                  ("d_meta_norm", "|d_meta| (hypergradient)"), ("d_w_norm", "|d_x| = |dw_t|")]
    coords = [c for c in path.columns if c.startswith("w[")][:1]
    cols = quantities + [(c, c) for c in coords] + [(c.replace("w[", "d_w["), c.replace("w[", "d_w["))
                                                     for c in coords]
    fig, axes = _grid(len(cols), 3.3)
    for (col, label), ax in zip(cols, axes):
        for arith, style, color in (("exact", "-", "black"), ("float", "--", "tab:red")):
            g = path[path.arithmetic == arith]
            ax.plot(g.t, g[col], style, color=color, lw=1, label=arith)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("t")
        if col.endswith("_norm") and (path[col] > 0).all():
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("Reverse path with exact (solid) and floating-point (dashed) arithmetic")
    fig.tight_layout()
    return fig


def reversal(results: dict, folder) -> dict:
    return {"fig3_6": save(fig3_6_reversal(results["reverse_path"]), folder, "fig3_6")}


def fig2_3_dropout_seed(distances: pd.DataFrame):
    """Thesis Fig 2.3: distance of the second run's parameters from the first run's final ones."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for variant, g in distances.groupby("variant"):
        ax.plot(g.epoch, g.distance, label=variant)
    ax.set_xlabel("epoch of the second meta-iteration")
    ax.set_ylabel("distance from final parameters of the first")
    ax.legend()
    fig.tight_layout()
    return fig


def dropout_seed(results: dict, folder) -> dict:
    return {"fig2_3": save(fig2_3_dropout_seed(results["distances"]), folder, "fig2_3")}
