"""Figures of the Franceschi et al. (2017) chapter: Figure 1 left (accuracy per method), centre
(the learned task graph), right (RT-HO against the grid on rho) and the cost of forward and
reverse mode."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd

from . import integer_axis, save

METHOD_COLORS = {"STL": "#8c8c8c", "NMTL": "#4c72b0", "HMTL": "#dd8452", "HMTL-S": "#c44e52",
                 "HMTL-S paper R": "#8172b3"}


def accuracy_by_method(methods: pd.DataFrame, summary: pd.DataFrame):
    """Figure 1 left on one scale: left, test accuracy per method, one grey line per split
    (seed; paired), the mean with its standard deviation, and the paper's value (diamond) on
    the same axis; right, each method's gain over STL paired by split, the mean with its 95%
    t-interval, and the paper's gain (diamond) -- the differences its claims are about."""
    from ..verdicts import difference_interval

    order = list(summary.method)
    wide = methods.pivot(index="seed", columns="method", values="test_accuracy")[order]
    fig, (ax, gain) = plt.subplots(1, 2, figsize=(12, 4.4), width_ratios=(1.1, 1))
    x = np.arange(len(order))
    for k, (_, row) in enumerate(wide.iterrows()):
        ax.plot(x, row.to_numpy(), color="0.8", lw=0.8, zorder=1,
                label=f"one split (seed), {len(wide)} in all" if k == 0 else None)
    for i, name in enumerate(order):
        mine = summary[summary.method == name].iloc[0]
        ax.errorbar([i], [mine.test_accuracy], yerr=[mine.sd], fmt="o", ms=8, capsize=5,
                    color=METHOD_COLORS.get(name, "k"), zorder=3,
                    label="this study: mean ± sd" if i == 0 else None)
    ax.plot(x, summary.paper_accuracy.to_numpy(), "D", color="0.25", ms=6,
            label="paper (Inception-V3 features)")
    ax.set_xticks(x, [n.replace(" paper R", "\npaper R") for n in order])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=9)
    ax.set_title("Test accuracy: this study and the paper")
    others = [n for n in order if n != "STL"]
    for i, name in enumerate(others):
        iv = difference_interval(wide["STL"], wide[name], paired=True)
        pts = 100 * np.array([iv.estimate, iv.low, iv.high])
        gain.errorbar([i], [pts[0]], yerr=[[pts[0] - pts[1]], [pts[2] - pts[0]]], fmt="o", ms=8,
                      capsize=5, color=METHOD_COLORS.get(name, "k"),
                      label="this study: mean, 95% t-interval" if i == 0 else None)
        paper = summary[summary.method == name].paper_accuracy.iloc[0]
        paper_stl = summary[summary.method == "STL"].paper_accuracy.iloc[0]
        gain.plot([i], [100 * (paper - paper_stl)], "D", color="0.25", ms=6,
                  label="paper" if i == 0 else None)
    gain.axhline(0, color="0.4", lw=0.8)
    gain.set_xticks(np.arange(len(others)), [n.replace(" paper R", "\npaper R")
                                             for n in others])
    gain.set_ylabel("accuracy gain over STL (points)")
    gain.legend(loc="lower right", fontsize=9)
    gain.set_title(f"Gain over STL, paired by split ({len(wide)} splits)")
    fig.tight_layout()
    return fig


def task_graph(relations: pd.DataFrame, classes: list[str], edge_fraction: float,
               method: str = "HMTL-S"):
    """Figure 1 centre: the learned :math:`A` (mean over splits) as a graph of the classes;
    edges of weight at least ``edge_fraction`` of the largest, width by weight."""
    mine = relations[relations.method == method]
    mean = mine.groupby(["task_a", "task_b"], sort=False).weight.mean().reset_index()
    largest = float(mean.weight.max()) if len(mean) else 0.0
    graph = nx.Graph()
    graph.add_nodes_from(classes)
    for row in mean.itertuples():
        if largest > 0 and row.weight >= edge_fraction * largest:
            graph.add_edge(row.task_a, row.task_b, weight=row.weight)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    position = nx.circular_layout(graph)
    widths = [8 * d["weight"] / largest for _, _, d in graph.edges(data=True)]
    nx.draw_networkx_edges(graph, position, width=widths, edge_color="#4c72b0", alpha=0.8, ax=ax)
    nx.draw_networkx_nodes(graph, position, node_color="#f2f2f2", edgecolors="0.3",
                           node_size=1500, ax=ax)
    nx.draw_networkx_labels(graph, position, font_size=11, ax=ax)
    ax.set_title(f"{method}: mean learned A over {mine.seed.nunique()} splits\n"
                 f"edges >= {edge_fraction:g} x the largest weight ({largest:.3g})")
    ax.set_axis_off()
    ax.margins(0.12)
    fig.tight_layout()
    return fig


def hypergradient_paths(paths: pd.DataFrame):
    """Validation loss and test accuracy along the hypergradient steps of HMTL and HMTL-S
    (mean over splits)."""
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
    for name, group in paths.groupby("method"):
        mean = group.groupby("meta_iteration")[["val_loss", "test_accuracy"]].mean()
        for ax, column in zip(axes, ("val_loss", "test_accuracy")):
            ax.plot(mean.index, mean[column], label=name, color=METHOD_COLORS.get(name))
    for ax, label in zip(axes, ("validation cross-entropy", "test accuracy")):
        integer_axis(ax, "hypergradient step")
        ax.set_ylabel(label)
    axes[0].legend()
    fig.suptitle("Projected Adam on the hypergradient (mean over splits)")
    fig.tight_layout()
    return fig


def hmtl(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save the HMTL figures from :func:`hpostudy.experiments.hmtl.run`'s results."""
    figs = {"fig1_left_accuracy": accuracy_by_method(results["methods"], results["summary"]),
            "fig1_centre_graph": task_graph(results["relations"], results["classes"],
                                            results["edge_fraction"]),
            "hypergradient_paths": hypergradient_paths(results["paths"])}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# ---------------------------------------------------------------------- RT-HO (Figure 1 right)
def grid_over_rho(grid: pd.DataFrame, ax=None):
    """The baseline's validation error over rho: one line per seed, the mean in black."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.6))
    positions = {rho: i for i, rho in enumerate(sorted(grid.rho.unique()))}
    for k, (seed, group) in enumerate(grid.groupby("seed")):
        group = group.sort_values("rho")
        ax.plot([positions[r] for r in group.rho], group.val_error, color="0.75", lw=0.8,
                marker="o", ms=3, label=f"one seed ({grid.seed.nunique()})" if k == 0 else None)
    mean = grid.groupby("rho").val_error.mean()
    ax.plot([positions[r] for r in mean.index], mean.to_numpy(), color="k", marker="o",
            label="mean over seeds")
    diverged = grid[grid.diverged]
    if len(diverged):
        ax.scatter([positions[r] for r in diverged.rho], diverged.val_error.clip(upper=1.0),
                   marker="x", color="#c44e52", s=50, zorder=3, label="training diverged")
    ax.set_xticks(list(positions.values()), [f"{r:g}" for r in positions], rotation=45)
    ax.set_xlabel("rho (grid)")
    ax.set_ylabel("best validation error")
    ax.set_ylim(top=min(1.0, ax.get_ylim()[1]))
    ax.legend()
    return fig


def rt_ho(results: dict, folder: str | Path) -> dict[str, Path]:
    """Figure 1 right and RT-HO's hyperparameters along training, from
    :func:`hpostudy.experiments.rt_ho.run`'s results."""
    grid, methods, trajectory = results["grid"], results["methods"], results["trajectory"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    grid_over_rho(grid, axes[0])
    axes[0].set_title("Baseline: grid search on rho")
    for name, marker in (("Baseline", "s"), ("RT-HO", "o")):
        mine = methods[methods.method == name]
        axes[1].scatter(mine.cpu_seconds, mine.test_accuracy, marker=marker, s=50, label=name)
        for row in mine.itertuples():  # the seed beside its point
            axes[1].annotate(str(row.seed), (row.cpu_seconds, row.test_accuracy), fontsize=8,
                             xytext=(4, 3), textcoords="offset points")
    axes[1].set_xlabel("process CPU seconds (whole search)")
    axes[1].set_ylabel("test accuracy")
    axes[1].set_title("Accuracy and cost (number: seed)")
    axes[1].legend()
    for k, (seed, group) in enumerate(trajectory.groupby("seed")):
        axes[2].plot(group.step, group.val_error, color=f"C{k % 10}", lw=1, label=f"seed {seed}")
    axes[2].set_xlabel("training step")
    axes[2].set_ylabel("validation error")
    axes[2].set_title("RT-HO runs")
    axes[2].legend(fontsize=8, ncol=2 if trajectory.seed.nunique() > 5 else 1)
    fig.tight_layout()
    figs = {"fig1_right_rt_ho": fig, "rt_ho_hyperparameters": hyperparameter_paths(trajectory),
            "hypergradient_growth": hypergradient_growth(results["updates"], results["growth"],
                                                         methods)}
    return {name: save(f, folder, name) for name, f in figs.items()}


def hypergradient_growth(updates: pd.DataFrame, growth: pd.DataFrame, methods: pd.DataFrame):
    """Left: the norm of RT-HO's hypergradient at every update, one line per seed, a cross at
    the last update of a run that diverged. Middle: the norm of the exact hypergradient after T
    steps at RT-HO's starting hyperparameters, held fixed (REVERSE-HO in float64, lines; in
    float32, crosses). Right: the relative error of the float32 one against float64, and the
    relative difference of the two modes in float64 (logarithmic axes; one colour per seed)."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    diverged = set(methods[(methods.method == "RT-HO") & methods.diverged.astype(bool)].seed)
    for k, (seed, group) in enumerate(updates.groupby("seed")):
        color = f"C{k % 10}"
        finite = group[np.isfinite(group.hypergradient_norm)]
        axes[0].plot(finite.step, finite.hypergradient_norm, color=color, lw=1,
                     label=f"seed {seed}")
        if seed in diverged and len(finite):
            axes[0].scatter(finite.step.iloc[-1:], finite.hypergradient_norm.iloc[-1:],
                            marker="x", color=color, s=60, zorder=3)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("norm of RT-HO's hypergradient")
    axes[0].set_title("RT-HO's updates")
    axes[0].legend(fontsize=8)
    for k, (seed, group) in enumerate(growth.groupby("seed")):
        color = f"C{k % 10}"
        exact = group[group.precision == "float64"]
        single = group[group.precision == "float32"]
        axes[1].plot(exact["T"], exact.reverse_norm, color=color, lw=1, label=f"seed {seed}")
        axes[1].scatter(single["T"], single.reverse_norm, color=color, marker="x", s=30)
        axes[2].plot(single["T"], single.error_vs_float64, color=color, lw=1, marker="x")
        axes[2].plot(exact["T"], exact.relative_difference, color=color, lw=1, ls=":",
                     marker="o", ms=3)
    horizons = sorted(growth["T"].unique())
    for ax in axes[1:]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(horizons, [str(T) for T in horizons])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_xlabel("horizon T (steps)")
    axes[1].set_ylabel("norm of the exact hypergradient")
    axes[1].set_title("Exact hypergradient at the start")
    axes[2].set_ylabel("relative error")
    axes[2].set_title("Relative errors")
    fig.tight_layout()
    return fig


def hyperparameter_paths(trajectory: pd.DataFrame):
    """rho, eta and mu along RT-HO's training, one line per seed."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, (column, label) in zip(axes, (("rho", "rho"), ("eta", "learning rate eta"),
                                          ("mu", "momentum mu"))):
        for seed, group in trajectory.groupby("seed"):
            ax.plot(group.step, group[column], lw=1, label=f"seed {seed}")
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
    axes[0].legend()
    fig.suptitle("Hyperparameters tuned by RT-HO during training")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- forward vs reverse cost
def cost(measurements: pd.DataFrame):
    """Seconds per step (process CPU, or GPU wall) against m, and bytes held against T, for
    FORWARD-HO and REVERSE-HO (the median of the repetitions per seed; lines through the
    means)."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    colors = {"forward": "#dd8452", "reverse": "#4c72b0"}
    for ax, (sweep, x, y, ylabel) in zip(axes, (
            ("m", "m", "seconds_per_step", f"{measurements.clock.iloc[0]} s per step"),
            ("T", "T", "bytes", "bytes held by the method"))):
        mine = measurements[measurements.sweep == sweep]
        for method, group in mine.groupby("method"):
            ax.scatter(group[x], group[y], color=colors[method], s=14, alpha=0.6)
            mean = group.groupby(x)[y].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colors[method], marker="o",
                    label=f"{method.upper()}-HO")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.legend()
    axes[0].set_xlabel("hyperparameters m")
    axes[0].set_title("Time against the number of hyperparameters")
    axes[1].set_xlabel("horizon T")
    axes[1].set_title("Memory against the horizon")
    fig.tight_layout()
    return fig


def ho_complexity(results: dict, folder: str | Path) -> dict[str, Path]:
    """Draw and save the cost figure from :func:`hpostudy.experiments.ho_complexity.run`."""
    return {"forward_reverse_cost": save(cost(results["measurements"]), folder,
                                         "forward_reverse_cost")}
