# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   hpostudy:
#     chapter: drmad_quality
#     experiment: hpostudy.experiments.drmad_quality
# ---

# %% [markdown]
# # How good are DrMAD hypergradients? (thesis Figs 3.1, 3.2, 3.3)
#
# **Overview.** DrMAD is cheap, but does its hypergradient point the right way? Following the
# signs of the DrMAD hypergradient for several meta-iterations, we compute the exact
# hypergradient (exact reversal) at the same hyperparameters and compare norms (Fig 3.1),
# directions (Fig 3.2) and the errors reached (Fig 3.3, beside a run that follows DrMAD2), for
# each horizon T, number of reverse steps S and seed. A falling test error is evidence for
# DrMAD's direction only against controls: meta-runs with the same steps along the exact
# hypergradient's signs and along random signs. The three figures come from the same
# meta-runs, so they share one notebook. We also time one hypergradient by each method and
# count the bytes each keeps in this setting; the DrMAD abstract's claims (45x faster, 100x
# less memory) are judged on the dedicated benchmark (`bench/hypergrad.py`) at each horizon
# it recorded, named by `benchmark` (none on `smoke`).
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.drmad_quality.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded) or mnist
n_train: "Optional[int]" = None  # training examples
n_val: "Optional[int]" = None  # validation examples
n_test: "Optional[int]" = None  # test examples
hidden: "Optional[list[int]]" = None  # hidden layer widths
batch_size: "Optional[int]" = None  # mini-batch size (DrMAD code: 50)
lr: "Optional[float]" = None  # thesis-form learning rate alpha (DrMAD code: 0.05)
momentum: "Optional[float]" = None  # gamma (rounded to n/2^16 for the exact method)
init_log_scale: "Optional[float]" = None  # s at the start (w is e^s z)
init_log_l2: "Optional[float]" = None  # lambda at the start (penalty e^lambda ||z||^2)
horizons: "Optional[list[int]]" = None  # elementary iterations T (thesis: 2,000 and 20,000)
reverse_steps: "Optional[list[int]]" = None  # DrMAD reverse steps S (thesis: ~200 and ~2,000)
meta_iterations: "Optional[list[int]]" = None  # meta-iterations, one number per horizon
seeds_per_horizon: "Optional[list[int]]" = None  # seeds run at each horizon (at most seeds)
drmad2_exact_steps: "Optional[int]" = None  # DrMAD2's exact reverse steps (thesis: about 100)
meta_lr: "Optional[float]" = None  # step along the sign of the hypergradient (DrMAD code: 0.07)
controls: "Optional[list[str]]" = None  # control meta-runs: exact signs, random signs
benchmark: "Optional[list[str]]" = None  # benchmark tables the cost claims are judged on

# %%
from hpostudy.experiments import drmad_quality

cfg = drmad_quality.Config.from_notebook(globals())
results = drmad_quality.run(cfg)

# %% [markdown]
# ## Norms, cosines and errors
# One panel per horizon T and number of reverse steps S; one line per seed, told apart by its
# line style, and one legend below the panels (helpers of `hpostudy.figures.helpers`).
#
# **Fig 3.1.** The norms of the DrMAD, DrMAD2 and exact hypergradients per meta-iteration,
# following DrMAD's signs (log scale).

# %%
import matplotlib.pyplot as plt
import numpy as np

from hpostudy.figures import meta_iteration_axis, save
from hpostudy.figures.helpers import (LEGEND, by_seed, meta_iteration_panels, seed_key,
                                     seed_style, shared_legend)

metaruns = results["metaruns"]
drmad = metaruns[metaruns.follow == "drmad"]
run_seeds = sorted(drmad.seed.unique())
panels = list(drmad.groupby(["T", "S"]))
titles = [f"T = {T:,}, S = {S:,}" for (T, S), _ in panels]

fig, axes = meta_iteration_panels(titles, "hypergradient norm", 3.8)
for (_, g), ax in zip(panels, axes):
    by_seed(ax, g, "meta_iteration", "norm_exact", "exact", run_seeds, log=True, color="black",
            marker="o", ms=3)
    by_seed(ax, g, "meta_iteration", "norm_drmad", "DrMAD", run_seeds, log=True,
            color="tab:red", marker="s", ms=3)
    by_seed(ax, g, "meta_iteration", "norm_drmad2", "DrMAD2", run_seeds, log=True,
            color="tab:blue", marker="^", ms=3)
seed_key(axes[0], run_seeds)
shared_legend(fig, ncol=3)
save(fig, cfg.output_dir, "fig3_1")

# %% [markdown]
# **Fig 3.2.** The cosine between the DrMAD (DrMAD2) and the exact hypergradient, and between
# their sign vectors. The grey band holds the cosines that unrelated directions give in this
# many dimensions d: within 2/sqrt(d) of 0.

# %%
d = drmad_quality.n_hyperparameters(cfg)
band = 2 / np.sqrt(d)

fig, axes = meta_iteration_panels(titles, "cosine", 3.8)
for (_, g), ax in zip(panels, axes):
    ax.axhspan(-band, band, color="0.85", zorder=0,
               label=f"|cos| < 2/sqrt(d) = {band:.2f} (d = {d}): as for unrelated directions")
    by_seed(ax, g, "meta_iteration", "cos_drmad", "cos(DrMAD, exact)", run_seeds,
            color="tab:red", marker="o", ms=3)
    by_seed(ax, g, "meta_iteration", "cos_sign_drmad", "cos of their signs", run_seeds,
            color="tab:orange", marker="x", ms=4)
    by_seed(ax, g, "meta_iteration", "cos_drmad2", "cos(DrMAD2, exact)", run_seeds,
            color="tab:blue", marker="^", ms=3)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
seed_key(axes[0], run_seeds)
shared_legend(fig, ncol=3)
save(fig, cfg.output_dir, "fig3_2")

# %% [markdown]
# **Fig 3.3 with its controls**, four panels per horizon T. Top left: the train, validation and
# test error following DrMAD's signs at the smallest S (the thesis' figure). Top right: the
# test error along every direction followed -- DrMAD at each S, DrMAD2 and the controls (the
# exact hypergradient's signs, random signs). Bottom left: what the comparison judges, the fall
# of the test error from the first meta-iteration to the last, per direction and seed (the
# points of one seed joined in its line style). Bottom right: the legend.

# %%
errors = {"train_error": ("train error", "tab:green"),
          "val_error": ("validation error", "tab:purple"),
          "test_error": ("test error", "tab:olive")}
reds = ["tab:red", "tab:orange", "tab:brown", "tab:pink"]
controls = {"drmad2": ("DrMAD2's signs", "tab:blue"),
            "exact": ("exact hypergradient's signs", "black"),
            "random": ("random signs (control)", "0.55")}
has_controls = {"exact", "random"} <= set(metaruns.follow)
horizons_run = sorted(metaruns["T"].unique())

fig, axes = plt.subplots(2 * len(horizons_run), 2, figsize=(10, 8.4 * len(horizons_run)),
                         squeeze=False)
for i, T in enumerate(horizons_run):
    (by_error, by_direction), (falls, key) = axes[2 * i], axes[2 * i + 1]
    at_T = metaruns[metaruns["T"] == T]
    run_seeds = sorted(at_T.seed.unique())
    # the directions followed at this horizon: (label, rows, colour), DrMAD at each S first
    drmad = at_T[at_T.follow == "drmad"]
    runs = [(f"DrMAD's signs, S = {S:,}", drmad[drmad.S == S], reds[k % len(reds)])
            for k, S in enumerate(sorted(drmad.S.unique()))]
    runs += [(label, at_T[at_T.follow == f], color) for f, (label, color) in controls.items()
             if (at_T.follow == f).any()]

    first = runs[0][1]
    for col, (label, color) in errors.items():
        by_seed(by_error, first, "meta_iteration", col, label, run_seeds, color=color)
    by_error.set_title(f"T = {T:,}: following DrMAD, S = {int(first.S.min()):,}")
    for label, g, color in runs:
        by_seed(by_direction, g, "meta_iteration", "test_error", label, run_seeds, color=color)
    by_direction.set_title(f"T = {T:,}: test error per direction")
    for ax in (by_error, by_direction):
        meta_iteration_axis(ax)
        ax.set_ylabel("error rate")

    # the fall of the test error, first minus last meta-iteration (points)
    for k, (label, g, color) in enumerate(runs):
        s = g.sort_values("meta_iteration").groupby("seed").test_error
        falls.scatter([k] * s.ngroups, 100 * (s.first() - s.last()), color=color, zorder=3,
                      s=30)
    for run_seed in run_seeds:
        fall = []
        for _, g, _ in runs:
            e = g[g.seed == run_seed].sort_values("meta_iteration").test_error
            fall.append(100 * (e.iloc[0] - e.iloc[-1]) if len(e) else np.nan)
        falls.plot(range(len(runs)), fall, color="0.3", lw=1.0,
                   **seed_style(run_seeds, run_seed))
    falls.axhline(0, color="0.4", lw=0.8)
    falls.set_xticks(range(len(runs)))
    falls.set_xticklabels([label.replace("'s signs", "").replace(" (control)", "")
                           .replace("exact hypergradient", "exact").replace(", ", "\n")
                           for label, _, _ in runs])
    falls.set_ylabel("fall of the test error (points)")
    if not has_controls:
        falls.text(0.5, 0.96, "controls (exact and random signs)\nnot in this run",
                   transform=falls.transAxes, ha="center", va="top", color="0.3")
    falls.set_title(f"T = {T:,}: first minus last meta-iteration")

    seed_key(by_error, run_seeds)
    handles = {}
    for ax in (by_error, by_direction):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    key.axis("off")
    key.legend(list(handles.values()), list(handles), loc="center", frameon=False,
               fontsize=LEGEND)
fig.tight_layout()
save(fig, cfg.output_dir, "fig3_3")

# %% [markdown]
# ## The cost of one hypergradient
# Process CPU time and the bytes each method keeps for its reverse pass (stored trajectory,
# information buffer, or the initial weights that fix DrMAD's line), in this run's setting.
# The timing shares the run's process, so no verdict reads it: the speed claims are judged on
# the dedicated benchmark.

# %%
results["cost"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The table says, claim by claim and over seeds, whether DrMAD's norms and
# directions behave as the thesis found and whether following its signs beats random signs,
# each row behind its scale gate (below the thesis' horizon and data a row is "not
# comparable"); where the profile names benchmark tables, whether DrMAD's speed and memory
# match the DrMAD abstract's claims at each recorded horizon.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run and from the
# benchmark tables it judges the cost claims on: the book computes them from the recorded
# files at every build (`hpostudy.study.book_values`), each named like its function.
import pandas as pd

from hpostudy.experiments import drmad_quality as _dq
from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd, t_interval


def _drmad_at(metaruns: pd.DataFrame, fewest: bool = True) -> pd.DataFrame:
    """The rows following the DrMAD signs at the first horizon ``T`` with the fewest (or the
    most) reverse steps ``S``, with the DrMAD/exact norm ratio (``norm_drmad / norm_exact``)."""
    d = metaruns[(metaruns.follow == "drmad") & (metaruns["T"] == metaruns["T"].min())]
    d = d[d.S == (d.S.min() if fewest else d.S.max())]
    return d.assign(ratio=lambda x: x.norm_drmad / x.norm_exact)


def _few_steps_ratios(metaruns: pd.DataFrame) -> pd.Series:
    """Per seed: the median over meta-iterations of the DrMAD/exact norm ratio with the fewest
    reverse steps: the values of the comparison's "about 200 reverse steps" row (Fig 3.1)."""
    return _dq.per_seed(_drmad_at(metaruns), "ratio")


@book_values.recorded("metaruns.csv")
def drmad_norm_ratio_few_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the geometric mean over seeds of `_few_steps_ratios` (the row's
    estimate)."""
    return t_interval(_few_steps_ratios(metaruns), log=True).estimate


@book_values.recorded("metaruns.csv")
def drmad_norm_ratio_many_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the median over meta-iterations of the DrMAD/exact norm ratio
    with the most reverse steps; geometric mean over seeds (the explosion row's estimate)."""
    return t_interval(_dq.per_seed(_drmad_at(metaruns, fewest=False), "ratio"),
                      log=True).estimate


@book_values.recorded("metaruns.csv")
def drmad_norm_ratio_few_steps_lowest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the smallest over seeds of `_few_steps_ratios`."""
    return _few_steps_ratios(metaruns).min()


@book_values.recorded("metaruns.csv")
def drmad_norm_ratio_few_steps_highest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the largest over seeds of `_few_steps_ratios`."""
    return _few_steps_ratios(metaruns).max()


@book_values.recorded("metaruns.csv")
def drmad_cosine_few_steps_least_negative(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the lowest cosine with the exact hypergradient (of DrMAD's or of
    its signs) after the first meta-iteration, with the fewest reverse steps
    (`hpostudy.experiments.drmad_quality.lowest_later_cosine`); the largest over seeds."""
    return _dq.lowest_later_cosine(_drmad_at(metaruns)).max()


@book_values.recorded("metaruns.csv")
def drmad_cosine_few_steps_most_negative(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the same, the smallest over seeds."""
    return _dq.lowest_later_cosine(_drmad_at(metaruns)).min()


def _test_fall(name: str, follow: str, longest: bool = False, fewest: bool = True) -> None:
    """Declare the book value ``name``, from metaruns.csv: the mean over seeds of the fall of
    the test error (first meta-iteration minus last, `hpostudy.experiments.drmad_quality.fall`,
    in percentage points) in the meta-run along ``follow`` (``drmad``, or the controls
    ``exact`` and ``random``) at the first (or, with ``longest``, the last) horizon, with the
    fewest (or the most) reverse steps."""
    def value(metaruns: pd.DataFrame) -> float:
        T = metaruns["T"].max() if longest else metaruns["T"].min()
        d = metaruns[(metaruns.follow == follow) & (metaruns["T"] == T)]
        S = d.S.min() if fewest else d.S.max()
        return mean_sd(100 * _dq.fall(d, follow, int(T), int(S)))[0]

    value.__name__ = value.__qualname__ = name  # the book value's name, in its errors
    globals()[name] = book_values.recorded("metaruns.csv")(value)


_test_fall("drmad_test_fall_few_steps", "drmad")  # T = 2,000, S = 200
_test_fall("drmad_test_fall_many_steps", "drmad", fewest=False)  # S = 2,000
_test_fall("drmad_test_fall_random_signs", "random")  # the controls
_test_fall("drmad_test_fall_exact_signs", "exact")
_test_fall("drmad_test_fall_longest", "drmad", longest=True)  # T = 20,000
_test_fall("drmad_test_fall_random_signs_longest", "random", longest=True)
_test_fall("drmad_test_fall_exact_signs_longest", "exact", longest=True)


@book_values.recorded("metaruns.csv")
def drmad_cosine_many_steps_median(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the median over every seed and meta-iteration of DrMAD's cosine with the
    exact hypergradient (``cos_drmad``) with the most reverse steps."""
    return _drmad_at(metaruns, fewest=False).cos_drmad.median()


@book_values.recorded("metaruns.csv")
def drmad_cosine_many_steps_lowest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the lowest cosine after the first meta-iteration (as
    `drmad_cosine_few_steps_most_negative`) with the most reverse steps; mean over seeds (the
    row's estimate)."""
    return mean_sd(_dq.lowest_later_cosine(_drmad_at(metaruns, fewest=False)))[0]


@book_values.recorded("metaruns.csv")
def drmad2_cosine_gap(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the median cosine of DrMAD2 with the exact hypergradient minus
    DrMAD's (``cos_drmad2``, ``cos_drmad``), fewest reverse steps; mean over seeds (the
    comparison's paired difference)."""
    medians = _drmad_at(metaruns).groupby("seed")[["cos_drmad", "cos_drmad2"]].median()
    return mean_sd(medians.cos_drmad2 - medians.cos_drmad)[0]


@book_values.recorded("metaruns.csv")
def drmad_beta_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the number of reverse steps the beta estimate with the factor 10 gives
    (``beta_steps_x10``) at the first meta-iteration and horizon, geometric mean over seeds
    (the comparison row's estimate)."""
    first = metaruns[(metaruns.meta_iteration == 0) & (metaruns["T"] == metaruns["T"].min())]
    return t_interval(first.drop_duplicates("seed").beta_steps_x10, log=True).estimate


@book_values.recorded("cost.csv")
def drmad_exact_memory_ratio(cost: pd.DataFrame) -> float:
    """cost.csv: the bytes exact reversal keeps for its reverse pass (``stored_bytes``) over
    DrMAD's, per seed (`hpostudy.experiments.drmad_quality.over_drmad`), mean over seeds, in
    the thesis' setting at its horizon."""
    return mean_sd(_dq.over_drmad(cost, "exact", "stored_bytes"))[0]


@book_values.recorded("cost.csv")
def drmad_reverse_memory_ratio(cost: pd.DataFrame) -> float:
    """cost.csv: the bytes of the stored trajectory over the bytes DrMAD keeps, per seed, mean
    over seeds."""
    return mean_sd(_dq.over_drmad(cost, "reverse", "stored_bytes"))[0]


def _bench_ratio(table: pd.DataFrame, method: str, column: str) -> float:
    """A benchmark table of one horizon: ``column`` of ``method``'s row over DrMAD's (the
    ratio of the comparison's cost rows, `hpostudy.experiments.drmad_quality.benchmark_rows`)."""
    return (book_values.cell(table, column, method=method)
            / book_values.cell(table, column, method="drmad"))


@book_values.project_file("bench/results/hypergrad_cpu_T10000.csv")
def bench_exact_time_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: exact reversal's best CPU time over DrMAD's (``cpu_s_best``)."""
    return _bench_ratio(table, "exact", "cpu_s_best")


@book_values.project_file("bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_time_over_drmad_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: exact reversal's best CPU time over DrMAD's."""
    return _bench_ratio(table, "exact", "cpu_s_best")


@book_values.project_file("bench/results/hypergrad_cpu_T10000.csv")
def bench_reverse_time_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: stored-trajectory reverse mode's best CPU time over DrMAD's."""
    return _bench_ratio(table, "reverse", "cpu_s_best")


@book_values.project_file("bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_memory_over_drmad_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: exact reversal's peak memory above the warm process over
    DrMAD's (``peak_MB``)."""
    return _bench_ratio(table, "exact", "peak_MB")


@book_values.project_file("bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_kept_MB_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: what exact reversal keeps for its reverse pass, its buffer
    (``stored_MB``), in MB."""
    return book_values.cell(table, "stored_MB", method="exact")


@book_values.project_file("bench/results/hypergrad_cpu_T200000.csv")
def bench_drmad_peak_MB_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: DrMAD's peak memory above the warm process (``peak_MB``)."""
    return book_values.cell(table, "peak_MB", method="drmad")


@book_values.project_file("bench/results/hypergrad_cpu_T10000.csv")
def bench_reverse_memory_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: the stored trajectory's peak memory over DrMAD's."""
    return _bench_ratio(table, "reverse", "peak_MB")
