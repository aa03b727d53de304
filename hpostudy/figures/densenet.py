"""Figures of the DenseNet chapter (thesis Figs 3.7-3.20 and exact vs DrMAD).

Curves over seeds show the mean and, with several seeds, the range (shaded); per-layer
hyperparameters are drawn for the first seed, coloured by depth with a colorbar."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from . import save

_ERR = {"train_error": "tab:green", "val_error": "tab:orange", "test_error": "tab:purple"}
LEGEND = 10  # legend font size (readable at 1x)


def _errors(ax, df: pd.DataFrame, x: str, batch: bool = True) -> None:
    """Errors against ``x``: the mean over seeds (solid: full sets, dotted: cycling batches),
    the range over seeds shaded."""
    for col, color in _ERR.items():
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


def _seeds(df: pd.DataFrame) -> str:
    n = df.seed.nunique()
    return f"mean of {n} seeds, range shaded" if n > 1 else "1 seed"


def fig3_7_benchmark(bench: pd.DataFrame):
    """Thesis Fig 3.7: the DenseNet benchmark's errors per epoch."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    _errors(ax, bench, "epoch")
    ax.set_xlabel("epoch (0: initialization)")
    ax.set_title(f"DenseNet benchmark ({_seeds(bench)})", fontsize=10)
    ax.legend(fontsize=LEGEND, ncol=2)
    fig.tight_layout()
    return fig


def densenet_benchmark(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Fig 3.7 from :func:`hpostudy.experiments.densenet_benchmark.run`."""
    return {"fig3_7": save(fig3_7_benchmark(results["benchmark"]), folder, "fig3_7")}


def fig3_8_drmad_meta_errors(meta: pd.DataFrame):
    """Thesis Fig 3.8: the test error per meta-iteration with DrMAD, one panel per initial L2,
    one line per seed (labelled); dashed, the random-direction control of the same seed where
    it ran. Each tick names the meta-iteration's epochs, and the meta-iterations that train
    longer than meta-iteration 0 are shaded: their error is not comparable with its (the epoch
    confound), and where none is shaded there is none."""
    meta = meta if "direction" in meta else meta.assign(direction="DrMAD")
    inits = list(dict.fromkeys(meta.init_l2))
    cols = min(max(len(inits), 1), 2)
    rows = -(-max(len(inits), 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    axes = axes.flat
    for ax in axes[len(inits):]:
        ax.set_visible(False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for init, ax in zip(inits, axes):
        g = meta[meta.init_l2 == init]
        for (direction, seed), run in g.groupby(["direction", "seed"]):
            run = run.sort_values("meta_iteration")
            ax.plot(run.meta_iteration, 100 * run.test_error,
                    "-o" if direction == "DrMAD" else "--x", ms=4,
                    color=colors[int(seed) % len(colors)],
                    label=f"seed {int(seed)}" + ("" if direction == "DrMAD" else
                                                 f", {direction}"))
        epochs = g[g.direction == "DrMAD"].groupby("meta_iteration").epochs.max()
        if len(epochs):
            longer = epochs[epochs != epochs.iloc[0]]
            for i in longer.index:
                ax.axvspan(i - 0.5, i + 0.5, color="0.85", lw=0, zorder=0)
            ax.set_xticks(list(epochs.index),
                          [f"{i}\n{e} ep" for i, e in epochs.items()])
            note = (f"shaded: longer than meta-iteration 0 ({epochs.iloc[0]} epoch(s))"
                    if len(longer) else f"every meta-iteration {epochs.iloc[0]} epochs")
            ax.set_title(f"initial L2 1e{init:g}\n{note}", fontsize=10)
        ax.set_xlabel("meta-iteration (its epochs)")
        ax.set_ylabel("test error (%)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig_drmad_during(during: pd.DataFrame, init: float):
    """Thesis Figs 3.9, 3.11, 3.13: errors during training, the meta-iterations one after
    another (first seed; grey lines separate the meta-iterations)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    d = during[during.init_l2 == init]
    if len(d):
        if "direction" in d:
            d = d[d.direction == "DrMAD"]
        seed = int(d.seed.min())
        d = d[d.seed == seed].sort_values(["meta_iteration", "epoch"]).copy()
        offsets = d.groupby("meta_iteration").epoch.max().cumsum().shift(fill_value=0)
        d["x"] = d.epoch + d.meta_iteration.map(offsets)
        _errors(ax, d, "x", batch=False)
        for boundary in offsets.iloc[1:]:
            ax.axvline(boundary, color="0.6", lw=0.8)
        ax.legend(fontsize=LEGEND)
    ax.set_xlabel("epoch (meta-iterations one after another)")
    ax.set_title(f"Errors during training with DrMAD, initial L2 1e{init:g}"
                 + (f" (seed {seed})" if len(d) else ""), fontsize=10)
    fig.tight_layout()
    return fig


def fig_layer_lines(df: pd.DataFrame, x: str, xlabel: str, title: str, ylabel: str):
    """Per-layer average hyperparameters against ``x`` (thesis Figs 3.10, 3.12, 3.14, 3.16,
    3.17, 3.19, 3.20): one line per layer, coloured by its depth (colorbar)."""
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


def _first_seed(df: pd.DataFrame) -> pd.DataFrame:
    if "direction" in df:
        df = df[df.direction == "DrMAD"]
    return df[df.seed == df.seed.min()] if len(df) else df


def densenet_drmad(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Figs 3.8-3.14 from :func:`hpostudy.experiments.densenet_drmad.run`
    (Figs 3.9-3.14 for the thesis' three initial values, where they were run)."""
    meta, during, layers = (results["meta_iterations"], results["during_training"],
                            results["layer_l2"])
    figs = {"fig3_8": fig3_8_drmad_meta_errors(meta)}
    numbers = {-4.0: ("fig3_9", "fig3_10"), -2.0: ("fig3_11", "fig3_12"),
               -7.0: ("fig3_13", "fig3_14")}
    for init, (during_name, layer_name) in numbers.items():
        if init not in set(meta.init_l2) | set(during.init_l2):
            continue
        figs[during_name] = fig_drmad_during(during, init)
        figs[layer_name] = fig_layer_lines(
            _first_seed(layers[layers.init_l2 == init]), "meta_iteration", "meta-iteration",
            f"Per-layer average log10 L2 with DrMAD, starting at {init:g} (seed "
            f"{int(layers.seed.min()) if len(layers) else 0})",
            "log10 L2")
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def densenet_adaptive(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Figs 3.15-3.20 from :func:`hpostudy.experiments.densenet_adaptive.run`
    (for the experiments that were run)."""
    errors, hyper = results["errors"], results["layer_hyperparameters"]
    figs = {}
    for k, (f_err, f_l2, f_lr) in {1: ("fig3_15", "fig3_16", "fig3_17"),
                                    2: ("fig3_18", "fig3_19", "fig3_20")}.items():
        e = errors[errors.experiment == k]
        if e.empty:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        _errors(ax, e, "epoch")
        ax.set_xlabel("epoch (0: initialization)")
        ax.set_title(f"Errors with the adaptive method, experiment {k} ({_seeds(e)})",
                     fontsize=10)
        ax.legend(fontsize=LEGEND, ncol=2)
        fig.tight_layout()
        figs[f_err] = fig
        h = _first_seed(hyper[hyper.experiment == k])
        figs[f_l2] = fig_layer_lines(h[h.kind == "log10_l2"], "epoch", "epoch",
                                     f"Per-layer average log10 L2, experiment {k} (first seed)",
                                     "log10 L2")
        figs[f_lr] = fig_layer_lines(h[h.kind == "log10_lr"], "epoch", "epoch",
                                     f"Per-layer average log10 learning rate, experiment {k} "
                                     "(first seed)", "log10 learning rate")
    return {name: save(fig, folder, name) for name, fig in figs.items()}


def fig_densenet_exact(df: pd.DataFrame):
    """Cosine and sign cosine between DrMAD's and the exact hypergradient, per DrMAD variant:
    bars at the mean over seeds, one dot per seed."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    variants = list(dict.fromkeys(df.variant))
    x = np.arange(len(variants))
    for offset, (measure, color) in zip((-0.2, 0.2), (("cosine", "tab:red"),
                                                      ("sign cosine", "tab:blue"))):
        means = [df[df.variant == name][measure].mean() for name in variants]
        ax.bar(x + offset, means, width=0.38, color=color, alpha=0.6, label=measure)
        for i, name in enumerate(variants):
            values = df[df.variant == name][measure]
            ax.plot(np.full(len(values), x[i] + offset), values, "o", color=color, ms=4)
    ax.set_xticks(x, [f"{name}\n(S = {int(df[df.variant == name].S.iloc[0])})"
                      for name in variants])
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("agreement with the exact hypergradient")
    ax.set_title(f"DrMAD vs exact ({df.seed.nunique()} seed(s), dots: seeds)", fontsize=10)
    ax.legend(fontsize=LEGEND)
    fig.tight_layout()
    return fig


def densenet_exact(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save the exact-vs-DrMAD figure from
    :func:`hpostudy.experiments.densenet_exact.run`."""
    return {"fig_densenet_exact": save(fig_densenet_exact(results["exact_vs_drmad"]), folder,
                                       "fig_densenet_exact")}
