"""Figures of the DenseNet chapter (thesis Figs 3.7-3.20 and exact vs DrMAD)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import grid as _grid, meta_iteration_axis as _meta_iteration_axis, save


_ERR = {"train_error": "tab:green", "val_error": "tab:orange", "test_error": "tab:purple"}


def _errors(ax, df, x, batch: bool = True):
    for col, color in _ERR.items():
        ax.plot(df[x], df[col], "-", color=color, label=col.split("_")[0] + " (full set)")
        if batch and col + "_batch" in df:
            ax.plot(df[x], df[col + "_batch"], ":", color=color, alpha=0.7,
                    label=col.split("_")[0] + " (cycling batch)")
    ax.set_ylabel("error rate")


def fig3_7_benchmark(bench: pd.DataFrame):
    """Thesis Fig 3.7: the DenseNet benchmark's errors per epoch."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    _errors(ax, bench, "epoch")
    ax.set_xlabel("epoch")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def densenet_benchmark(results: dict, folder) -> dict:
    return {"fig3_7": save(fig3_7_benchmark(results["benchmark"]), folder, "fig3_7")}


def fig_drmad_meta_errors(meta: pd.DataFrame):
    """Thesis Fig 3.8: errors per meta-iteration with DrMAD, one panel per initial L2."""
    inits = list(dict.fromkeys(meta.init_l2))
    fig, axes = _grid(len(inits), 3.4)
    for init, ax in zip(inits, axes):
        _errors(ax, meta[meta.init_l2 == init], "meta_iteration", batch=False)
        ax.set_title(f"initial L2 1e{init:g}", fontsize=10)
        _meta_iteration_axis(ax)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_drmad_during(during: pd.DataFrame, init: float):
    """Thesis Figs 3.9, 3.11, 3.13: errors during training, meta-iterations one after another."""
    d = during[during.init_l2 == init].copy()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    offset, xs = 0, []
    for _, g in d.groupby("meta_iteration", sort=True):
        xs.append(g.epoch + offset)
        offset += g.epoch.max()
    if xs:
        d["x"] = pd.concat(xs)
        _errors(ax, d, "x", batch=False)
        for boundary in d.groupby("meta_iteration").x.max().iloc[:-1]:
            ax.axvline(boundary, color="0.7", lw=0.8)
    ax.set_xlabel("epoch (meta-iterations one after another)")
    ax.set_title(f"Errors during training with DrMAD, initial L2 1e{init:g}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_layer_lines(df: pd.DataFrame, x: str, title: str, ylabel: str):
    """Per-layer average hyperparameters (thesis Figs 3.10, 3.12, 3.14, 3.16, 3.17, 3.19, 3.20)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    layers = list(dict.fromkeys(df.layer))
    colors = plt.cm.viridis(np.linspace(0, 1, max(len(layers), 2)))
    for layer, color in zip(layers, colors):
        g = df[df.layer == layer]
        ax.plot(g[x], g.value, color=color, lw=1)
    ax.set_xlabel(x.replace("_", "-"))
    ax.set_ylabel(ylabel)
    ax.set_title(title + f" ({len(layers)} layers, input to output: dark to light)", fontsize=9)
    fig.tight_layout()
    return fig


def densenet_drmad(results: dict, folder) -> dict:
    meta, during, layers = results["meta_iterations"], results["during_training"], results["layer_l2"]
    figs = {"fig3_8": fig_drmad_meta_errors(meta)}
    numbers = {-4.0: ("fig3_9", "fig3_10"), -2.0: ("fig3_11", "fig3_12"), -7.0: ("fig3_13", "fig3_14")}
    for init, (during_name, layer_name) in numbers.items():
        figs[during_name] = fig_drmad_during(during, init)
        figs[layer_name] = fig_layer_lines(layers[layers.init_l2 == init], "meta_iteration",
                                           f"Per-layer average log10 L2, starting at {init:g}",
                                           "log10 L2")
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def densenet_adaptive(results: dict, folder) -> dict:
    errors, hyper = results["errors"], results["layer_hyperparameters"]
    figs = {}
    for k, (f_err, f_l2, f_lr) in {1: ("fig3_15", "fig3_16", "fig3_17"),
                                    2: ("fig3_18", "fig3_19", "fig3_20")}.items():
        e = errors[(errors.experiment == k) & (errors.status == "ok")]
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        _errors(ax, e, "epoch")
        ax.set_xlabel("epoch")
        ax.set_title(f"Errors with the adaptive method, experiment {k}", fontsize=10)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        figs[f_err] = fig
        h = hyper[hyper.experiment == k]
        figs[f_l2] = fig_layer_lines(h[h.kind == "log10_l2"], "epoch",
                                     f"Per-layer average log10 L2, experiment {k}", "log10 L2")
        figs[f_lr] = fig_layer_lines(h[h.kind == "log10_lr"], "epoch",
                                     f"Per-layer average log10 learning rate, experiment {k}",
                                     "log10 learning rate")
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def densenet_exact(results: dict, folder) -> dict:
    df = results["exact_vs_drmad"]
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.bar(df.variant + " (S=" + df.reverse_steps.astype(str) + ")", df.cosine, color="tab:red",
           label="cosine")
    ax.bar(df.variant + " (S=" + df.reverse_steps.astype(str) + ")", df.sign_cosine, color="none",
           edgecolor="black", label="sign cosine")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("agreement with the exact hypergradient")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return {"fig_densenet_exact": save(fig, folder, "fig_densenet_exact")}
