"""Figures of the DrMAD-quality chapter (thesis Figs 3.1-3.6, and why DrMAD explodes).

Every draw function takes an experiment's results and the output folder, saves its PNGs there
and returns their paths. Several seeds are drawn as thin lines of one colour per quantity, the
seed told by the line style and named in the legend; legends sit below the panels, shared by
them, in a readable size."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

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


# ---------------------------------------------------------------------- Figs 3.1-3.3
SEED_STYLES = ["-", "--", ":", "-."]  # line style of the i-th seed (then repeated)
FOLLOW_COLORS = {"exact": "black", "random": "0.55", "drmad2": "tab:blue"}
FOLLOW_LABELS = {"exact": "exact hypergradient's signs", "random": "random signs (control)",
                 "drmad2": "DrMAD2's signs"}


def _seed_style(seeds: list, seed) -> dict:
    i = list(seeds).index(seed)
    return {"ls": SEED_STYLES[i % len(SEED_STYLES)]}


def _seed_key(ax, seeds: list) -> None:
    """Legend entries (grey, one per seed) for the line styles that tell the seeds apart."""
    for seed in seeds:
        ax.plot([], [], color="0.3", lw=1.2, label=f"seed {seed}", **_seed_style(seeds, seed))


def _by_seed(ax, df: pd.DataFrame, x: str, y: str, label: str, seeds: list,
             log: bool = False, **style):
    """One line per seed (the seed's line style), the quantity labelled once."""
    for i, (seed, g) in enumerate(df.sort_values(x).groupby("seed")):
        (ax.semilogy if log else ax.plot)(g[x], g[y], label=label if i == 0 else None, lw=1.3,
                                          **_seed_style(seeds, seed), **style)


def _panels(df: pd.DataFrame):
    return [((T, S), g) for (T, S), g in df.groupby(["T", "S"])]


def _seeds(df: pd.DataFrame) -> list:
    return sorted(df.seed.unique())


def fig3_1_norms(metaruns: pd.DataFrame):
    """Thesis Fig 3.1: norms of the DrMAD, DrMAD2 and exact hypergradients per meta-iteration,
    following the DrMAD signs (one panel per horizon T and number of reverse steps S; the
    quantity by colour, the seed by line style)."""
    d = metaruns[metaruns.follow == "drmad"]
    seeds = _seeds(d)
    panels = _panels(d)
    fig, axes = grid(len(panels), 3.8)
    for ((T, S), g), ax in zip(panels, axes):
        _by_seed(ax, g, "meta_iteration", "norm_exact", "exact", seeds, True, color="black",
                 marker="o", ms=3)
        _by_seed(ax, g, "meta_iteration", "norm_drmad", "DrMAD", seeds, True,
                 color="tab:red", marker="s", ms=3)
        _by_seed(ax, g, "meta_iteration", "norm_drmad2", "DrMAD2", seeds, True,
                 color="tab:blue", marker="^", ms=3)
        ax.set_title(f"T = {T:,}, S = {S:,}", fontsize=11)
        meta_iteration_axis(ax)
        ax.set_ylabel("hypergradient norm")
    _seed_key(axes[0], seeds)
    _shared_legend(fig, ncol=3)
    return fig


def fig3_2_cosines(metaruns: pd.DataFrame, hyperparameters: int | None = None):
    """Thesis Fig 3.2: cosine between the DrMAD (DrMAD2) and the exact hypergradient and
    between their sign vectors; with ``hyperparameters`` (d), the band of +-2/sqrt(d) around
    0 where a cosine is indistinguishable from that of unrelated directions."""
    d = metaruns[metaruns.follow == "drmad"]
    seeds = _seeds(d)
    panels = _panels(d)
    fig, axes = grid(len(panels), 3.8)
    for ((T, S), g), ax in zip(panels, axes):
        if hyperparameters:
            band = 2 / np.sqrt(hyperparameters)
            ax.axhspan(-band, band, color="0.85", zorder=0,
                       label=f"|cos| < 2/sqrt(d) = {band:.2f} (d = {hyperparameters}): "
                             "as for unrelated directions")
        _by_seed(ax, g, "meta_iteration", "cos_drmad", "cos(DrMAD, exact)", seeds,
                 color="tab:red", marker="o", ms=3)
        _by_seed(ax, g, "meta_iteration", "cos_sign_drmad", "cos of their signs", seeds,
                 color="tab:orange", marker="x", ms=4)
        _by_seed(ax, g, "meta_iteration", "cos_drmad2", "cos(DrMAD2, exact)", seeds,
                 color="tab:blue", marker="^", ms=3)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"T = {T:,}, S = {S:,}", fontsize=11)
        meta_iteration_axis(ax)
        ax.set_ylabel("cosine")
    _seed_key(axes[0], seeds)
    _shared_legend(fig, ncol=3)
    return fig


def _follow_runs(metaruns: pd.DataFrame, T: int) -> list[tuple[str, pd.DataFrame, str]]:
    """The meta-runs at horizon ``T`` to compare: (label, rows, colour), DrMAD at each S
    first, then DrMAD2 and the controls that are there."""
    d = metaruns[metaruns["T"] == T]
    drmad = d[d.follow == "drmad"]
    Ss = sorted(drmad.S.unique())
    reds = ["tab:red", "tab:orange", "tab:brown", "tab:pink"]
    runs = [(f"DrMAD's signs, S = {S:,}", drmad[drmad.S == S], reds[i % len(reds)])
            for i, S in enumerate(Ss)]
    runs += [(FOLLOW_LABELS[f], d[d.follow == f], FOLLOW_COLORS[f])
             for f in ("drmad2", "exact", "random") if (d.follow == f).any()]
    return runs


def _fall_panel(ax, runs, seeds, controls: bool) -> None:
    """The fall of the test error from the first meta-iteration to the last (points), per
    direction followed (x) and seed (points of one seed joined, in its line style)."""
    for k, (label, g, color) in enumerate(runs):
        s = g.sort_values("meta_iteration").groupby("seed").test_error
        drop = 100 * (s.first() - s.last())
        ax.scatter([k] * len(drop), drop.values, color=color, zorder=3, s=30)
    for seed in seeds:
        values = []
        for _, g, _ in runs:
            s = g[g.seed == seed].sort_values("meta_iteration").test_error
            values.append(100 * (s.iloc[0] - s.iloc[-1]) if len(s) else np.nan)
        ax.plot(range(len(runs)), values, color="0.3", lw=1.0, **_seed_style(seeds, seed))
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels([label.replace("'s signs", "").replace(" (control)", "")
                        .replace("exact hypergradient", "exact").replace(", ", "\n")
                        for label, _, _ in runs])
    ax.set_ylabel("fall of the test error (points)")
    if not controls:
        ax.text(0.5, 0.96, "controls (exact and random signs)\nnot in this run",
                transform=ax.transAxes, ha="center", va="top", color="0.3")


def fig3_3_errors(metaruns: pd.DataFrame):
    """Thesis Fig 3.3 with its controls, four panels per horizon T. Top left: train,
    validation and test error following the DrMAD signs at the smallest S (the thesis'
    figure). Top right: the test error along every direction followed -- DrMAD at each S,
    DrMAD2 and the controls (the exact hypergradient's signs, random signs). Bottom left: what
    the comparison judges, the fall of the test error from the first meta-iteration to the
    last, per direction and seed (points of one seed joined). The seed is told by the line
    style everywhere; the legend is in the bottom right."""
    Ts = sorted(metaruns["T"].unique())
    fig, axes = plt.subplots(2 * len(Ts), 2, figsize=(10, 8.4 * len(Ts)), squeeze=False)
    names = {"train_error": "train error", "val_error": "validation error",
             "test_error": "test error"}
    colors = {"train_error": "tab:green", "val_error": "tab:purple", "test_error": "tab:olive"}
    controls = {"exact", "random"} <= set(metaruns.follow)
    for i, T in enumerate(Ts):
        (errors, directions), (falls, key) = axes[2 * i], axes[2 * i + 1]
        runs = _follow_runs(metaruns, T)
        seeds = _seeds(metaruns[metaruns["T"] == T])
        first = runs[0][1]
        for col, color in colors.items():
            _by_seed(errors, first, "meta_iteration", col, names[col], seeds, color=color)
        errors.set_title(f"T = {T:,}: following DrMAD, S = {int(first.S.min()):,}")
        for label, g, color in runs:
            _by_seed(directions, g, "meta_iteration", "test_error", label, seeds, color=color)
        directions.set_title(f"T = {T:,}: test error per direction")
        for ax in (errors, directions):
            meta_iteration_axis(ax)
            ax.set_ylabel("error rate")
        _fall_panel(falls, runs, seeds, controls)
        falls.set_title(f"T = {T:,}: first minus last meta-iteration")
        _seed_key(errors, seeds)
        handles = {}
        for ax in (errors, directions):
            for handle, label in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(label, handle)
        key.axis("off")
        key.legend(list(handles.values()), list(handles), loc="center", frameon=False,
                   fontsize=LEGEND)
    fig.tight_layout()
    return fig


def drmad_quality(results: dict, folder, hyperparameters: int | None = None) -> dict[str, Path]:
    """Figs 3.1-3.3 from :func:`hpostudy.experiments.drmad_quality.run`'s results
    (``hyperparameters``: their number d, for the noise band of Fig 3.2)."""
    df = results["metaruns"]
    figs = {"fig3_1": fig3_1_norms(df), "fig3_2": fig3_2_cosines(df, hyperparameters),
            "fig3_3": fig3_3_errors(df)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# ---------------------------------------------------------------------- Figs 3.4, 3.5
def fig_accumulated(acc: pd.DataFrame, T: int, number: str, window: float = 0.01):
    """Thesis Figs 3.4/3.5: norm of the accumulated exact hypergradient against t (starting at 0
    at t = T-1 on the right, reverse steps proceed to the left); one line per seed, labelled;
    the first and last ``window`` of the reverse steps, where the comparison judges the rise,
    shaded."""
    g = acc[acc["T"] == T]
    seeds = _seeds(g)
    fig, ax = plt.subplots(figsize=(6.8, 4.0))
    k = max(1, int(round(window * T)))
    for lo, hi in ((T - k, T - 1), (0, k - 1)):
        ax.axvspan(lo, hi, color="0.88", zorder=0,
                   label=f"first and last {window:.0%} of the reverse steps (judged)")
    colors = ["black", "tab:blue", "tab:red", "tab:green", "tab:purple"]
    for i, (seed, s) in enumerate(g.sort_values("t").groupby("seed")):
        ax.plot(s.t, s.norm, color=colors[i % len(colors)], lw=1.2, label=f"seed {seed}",
                **_seed_style(seeds, seed))
    positive = g.norm[g.norm > 0]
    ax.set_yscale("symlog", linthresh=max(float(positive.min()), 1e-12) if len(positive) else 1)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
    ax.set_xlabel("elementary iteration t (the reverse pass runs right to left)")
    ax.set_ylabel("norm of the accumulated hypergradient")
    ax.set_title(f"Fig {number}: T = {T:,}", fontsize=11)
    _shared_legend(fig, ncol=2)
    return fig


def accumulated_norms(results: dict, folder) -> dict[str, Path]:
    """Figs 3.4 and 3.5 from :func:`hpostudy.experiments.accumulated_norms.run`'s results."""
    acc = results["accumulated"]
    Ts = sorted(acc["T"].unique())[:2]
    figs = {f"fig3_{4 + i}": fig_accumulated(acc, T, f"3.{4 + i}") for i, T in enumerate(Ts)}
    return {name: save(fig, folder, name) for name, fig in figs.items()}


# ---------------------------------------------------------------------- Fig 3.6
def fig3_6_reversal(path: pd.DataFrame, tolerance: float = 1e-3):
    """Thesis Fig 3.6: reverse-path norms with and without exact arithmetic (first seed)
    against the reverse step, with where they part marked.

    Top row: each norm, exact (solid) and floating point (dashed), the y-axis held to the
    exact values' range (a decade either side), so the floating-point curve leaves the axis
    where it runs away instead of stretching it to 1e72. Bottom row: their relative
    difference, with ``tolerance`` (dotted) and the first reverse step above it (the vertical
    line in both rows, labelled with the step).
    """
    seed = path.seed.min()
    path = path[path.seed == seed]
    quantities = [("w_norm", "|w|"), ("v_norm", "|v|"), ("d_meta_norm", "|d_meta|"),
                  ("d_w_norm", "|d_w|")]
    exact = path[path.arithmetic == "exact"].sort_values("reverse_step")
    flt = path[path.arithmetic == "float"].sort_values("reverse_step")
    fig, axes = plt.subplots(2, len(quantities), figsize=(3.3 * len(quantities), 6.4),
                             sharex=True, squeeze=False)
    for k, (col, label) in enumerate(quantities):
        a, b = exact[col].to_numpy(), flt[col].to_numpy()
        step = exact.reverse_step.to_numpy()
        rel = np.abs(b - a) / np.maximum(np.abs(a), 1e-300)
        above = np.nonzero(rel > tolerance)[0]
        parted = int(step[above[0]]) if len(above) else None
        top, bottom = axes[0][k], axes[1][k]
        top.semilogy(step, a, "-", color="black", lw=1.4, label="exact arithmetic")
        top.semilogy(step, b, "--", color="tab:red", lw=1.2, label="floating point (float64)")
        positive = a[a > 0]
        top.set_ylim(positive.min() / 10, positive.max() * 10)
        top.set_title(label, fontsize=11)
        bottom.semilogy(step, np.clip(rel, 1e-17, None), color="tab:red", lw=1.2)
        bottom.axhline(tolerance, color="0.4", ls=":", lw=1.2,
                       label=f"tolerance {tolerance:g} (relative)")
        bottom.set_ylim(1e-17, 1e2)
        bottom.set_xlabel("reverse step")
        for ax in (top, bottom):
            if parted is not None:
                ax.axvline(parted, color="tab:blue", lw=1.0, label="where they part")
        if parted is not None:
            bottom.text(parted, 1e-15, f" step {parted}", color="tab:blue", fontsize=10)
    axes[0][0].set_ylabel("norm")
    axes[1][0].set_ylabel("relative difference")
    fig.suptitle(f"Exact and floating-point reversal (seed {seed}; reverse step 0 is t = T-1)",
                 fontsize=12)
    _shared_legend(fig)
    fig.set_layout_engine("tight", rect=(0, 0.1, 1, 1))  # the legend below the step labels
    return fig


def reversal_precision(results: dict, folder, tolerance: float = 1e-3) -> dict[str, Path]:
    """Fig 3.6 from :func:`hpostudy.experiments.reversal_precision.run`'s results."""
    return {"fig3_6": save(fig3_6_reversal(results["reverse_path"], tolerance), folder,
                           "fig3_6")}


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
    fig, axes = plt.subplots(len(lrs), 3, figsize=(14, 3.8 * len(lrs)), squeeze=False,
                             sharex=True)
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
        row[1].set_ylabel("curvature")
        row[2].set_ylabel("Hessian eigenvalue")
    for ax in axes[-1]:
        ax.set_xlabel("t / T (reverse pass: right to left)")
    seeds = sorted(hessians.seed.unique())
    axes[0][0].set_title("Adjoint norm", fontsize=11)
    axes[0][1].set_title("Curvature met by the adjoint", fontsize=11)
    axes[0][2].set_title("Hessian's extreme eigenvalues", fontsize=11)
    fig.suptitle(f"Reverse passes of seed {seed}; Hessians of seeds "
                 f"{', '.join(map(str, seeds))}", fontsize=12)
    _shared_legend(fig, ncol=4)
    fig.set_layout_engine("tight", rect=(0, 0.1, 1, 1))  # the legend below the axes
    return fig


def drmad_explosion(results: dict, folder) -> dict[str, Path]:
    """The explosion figure from :func:`hpostudy.experiments.drmad_explosion.run`'s results."""
    fig = fig_explosion(results["steps"], results["hessians"])
    return {"fig_drmad_explosion": save(fig, folder, "fig_drmad_explosion")}
