"""One pure function per figure: tidy DataFrame in, matplotlib Figure out (seaborn styling).
``save(fig, folder, name)`` writes the PNG the book shows."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")


def save(fig, folder: str | Path, name: str) -> Path:
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def _grid(n: int, width: float = 3.2):
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _meta_iteration_axis(ax):
    """Meta-iterations are counted: integer ticks only."""
    ax.set_xlabel("meta-iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def fig2_1_paths_2d(paths: pd.DataFrame, pairs: int = 6):
    """Thesis Fig 2.1: paths projected onto pairs of random coordinates; green start, red end."""
    wide = paths.pivot(index="step", columns="coordinate", values="value")
    cols = list(wide.columns)
    n = min(pairs, len(cols) // 2)
    fig, axes = _grid(n)
    for k, ax in zip(range(n), axes):
        x, y = wide[cols[2 * k]].to_numpy(), wide[cols[2 * k + 1]].to_numpy()
        ax.plot(x, y, lw=0.8, color="0.3")
        ax.scatter([x[0]], [y[0]], color="green", zorder=3, s=30)
        ax.scatter([x[-1]], [y[-1]], color="red", zorder=3, s=30)
        ax.set_xlabel(f"w[{cols[2 * k]}]")
        ax.set_ylabel(f"w[{cols[2 * k + 1]}]")
    fig.suptitle("Parameter paths on pairs of random coordinates")
    fig.tight_layout()
    return fig


def fig2_2_paths_vs_iteration(paths: pd.DataFrame, coordinates: int = 6):
    """Thesis Fig 2.2: single random coordinates against the iteration; green start, red end."""
    wide = paths.pivot(index="step", columns="coordinate", values="value")
    cols = list(wide.columns)[:coordinates]
    fig, axes = _grid(len(cols))
    for c, ax in zip(cols, axes):
        y = wide[c].to_numpy()
        ax.plot(wide.index, y, lw=0.8, color="0.3")
        ax.scatter([wide.index[0]], [y[0]], color="green", zorder=3, s=30)
        ax.scatter([wide.index[-1]], [y[-1]], color="red", zorder=3, s=30)
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"w[{c}]")
    fig.suptitle("Single coordinates along training")
    fig.tight_layout()
    return fig


def parameter_paths(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save Figs 2.1 and 2.2 from :func:`hpostudy.experiments.paths.run`'s results."""
    figs = {"fig2_1": fig2_1_paths_2d(results["paths"]),
            "fig2_2": fig2_2_paths_vs_iteration(results["paths"])}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# --------------------------------------------------------------------------- DrMAD chapter
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


# --------------------------------------------------------------------------- DenseNet chapter
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


# ------------------------------------------------------------------ Self-Tuning Networks
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
