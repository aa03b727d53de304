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
#     chapter: franceschi
#     experiment: hpostudy.experiments.rt_ho
# ---

# %% [markdown]
# # Real-time hyperparameter optimization (Franceschi et al. 2017, Figure 1 right)
#
# **Overview.** Two 5-layer feed-forward networks share their first three layers: a classifier
# (the primary task) and a regressor (the secondary task), trained together on
# $E_P + \rho E_S$ by SGD with momentum, $v_t = \mu v_{t-1} - \eta g_t$, $w_t = w_{t-1} + v_t$.
# The baseline searches a grid of $\rho$ at fixed $\eta, \mu$. RT-HO trains once and, every 20
# steps, moves $(\rho, \eta, \mu)$ along FORWARD-HO's partial hypergradient of the validation
# cross-entropy (projected Adam on $\rho \ge 0$, $\eta \ge 0$, $0 \le \mu \le 1$). Both stop
# early on the validation error.
#
# **The substitute for TIMIT.** TIMIT is licensed. The classifier reads CIFAR-10 pixels; the
# secondary target of a training image is the hidden-layer embedding that a small CNN, trained
# on the same training images, gives it: like the paper's phonetic embeddings, a dense vector
# learned for the training data by another model, carrying the class structure, so that the
# two networks can share their representation.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile uses the
# embedded digits; `cpu` and `paper` use CIFAR-10 from the data root. Every parameter left at
# `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.rt_ho.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded) | cifar10
n_train: "Optional[int]" = None  # training images (a fixed split; the teacher CNN trains on them too)
n_val: "Optional[int]" = None  # validation images (never trained on by either network)
embedding: "Optional[int]" = None  # dimension of the secondary target: the teacher CNN's hidden layer
teacher_epochs: "Optional[int]" = None  # epochs of the teacher CNN
teacher_channels: "Optional[list[int]]" = None  # feature maps of its two convolutions
hidden: "Optional[int]" = None  # units of every hidden layer of the two networks
batch_size: "Optional[int]" = None  # mini-batch size
T: "Optional[int]" = None  # most training steps (early stopping usually ends a run before)
eval_every: "Optional[int]" = None  # steps between measurements of the validation error
patience: "Optional[int]" = None  # measurements without improvement before training stops
lr: "Optional[float]" = None  # eta: fixed for the grid, RT-HO's start
momentum: "Optional[float]" = None  # mu: fixed for the grid, RT-HO's start
rho_grid: "Optional[list[float]]" = None  # the baseline's rho values
rho_start: "Optional[float]" = None  # RT-HO's initial rho
every: "Optional[int]" = None  # RT-HO: steps between hyperparameter updates (paper: 20)
hyper_steps: "Optional[list[float]]" = None  # projected Adam steps of rho, eta, mu
growth_horizons: "Optional[list[int]]" = None  # T of the exact hypergradient at the start
growth_seeds: "Optional[int]" = None  # the first this many seeds compute the exact hypergradient against T

# %%
import matplotlib.pyplot as plt
import numpy as np

from hpostudy.experiments import rt_ho
from hpostudy.figures import save
from hpostudy.figures import helpers

cfg = rt_ho.Config.from_notebook(globals())
results = rt_ho.run(cfg)

# %% [markdown]
# ## Grid against RT-HO (Figure 1 right)
# Left: the baseline's best validation error for each $\rho$ of the grid, one grey line per
# seed (a red cross marks a run that diverged); if the lines are flat, $\rho$ does not matter
# on this task and the comparison says little. Middle: test accuracy against the process CPU
# time of the whole search, a thin line joining each seed's two points (numbered by seed when
# there are few). Right: RT-HO's validation error along its single run, one line per seed.

# %%
grid, methods, trajectory = results["grid"], results["methods"], results["trajectory"]
fig, (by_rho, cost, runs) = plt.subplots(1, 3, figsize=(14, 4.2))

position = {rho: i for i, rho in enumerate(sorted(grid.rho.unique()))}  # rho evenly spaced
for k, (seed, group) in enumerate(grid.groupby("seed")):
    group = group.sort_values("rho")
    by_rho.plot(group.rho.map(position), group.val_error, color="0.75", lw=0.8, marker="o",
                ms=3, label=f"one seed ({grid.seed.nunique()})" if k == 0 else None)
mean = grid.groupby("rho").val_error.mean()
by_rho.plot(mean.index.map(position), mean.to_numpy(), color="k", marker="o",
            label="mean over seeds")
failed = grid[grid.diverged]
if len(failed):
    by_rho.scatter(failed.rho.map(position), failed.val_error.clip(upper=1.0), marker="x",
                   color="#c44e52", s=50, zorder=3, label="training diverged")
by_rho.set_xticks(list(position.values()), [f"{rho:g}" for rho in position], rotation=45)
by_rho.set_xlabel("rho (grid)")
by_rho.set_ylabel("best validation error")
by_rho.set_ylim(top=min(1.0, by_rho.get_ylim()[1]))
by_rho.legend()
by_rho.set_title("Baseline: grid search on rho")

few_seeds = methods.seed.nunique() <= helpers.FEW_SEEDS
for seed, pair in methods.groupby("seed"):  # the two methods of one seed, joined
    cost.plot(pair.cpu_seconds, pair.test_accuracy, color="0.8", lw=0.7, zorder=1)
for method, marker in (("Baseline", "s"), ("RT-HO", "o")):
    mine = methods[methods.method == method]
    cost.scatter(mine.cpu_seconds, mine.test_accuracy, marker=marker, s=50 if few_seeds else 25,
                 label=method, zorder=2)
    for row in mine.itertuples() if few_seeds else ():  # the seed beside its point
        cost.annotate(str(row.seed), (row.cpu_seconds, row.test_accuracy), fontsize=8,
                      xytext=(4, 3), textcoords="offset points")
cost.set_xlabel("process CPU seconds (whole search)")
cost.set_ylabel("test accuracy")
cost.set_title("Accuracy and cost " + ("(number: seed)" if few_seeds else "(a line per seed)"))
cost.legend()

helpers.per_seed_lines(runs, trajectory, "step", "val_error")
runs.set_xlabel("training step")
runs.set_ylabel("validation error")
runs.set_title("RT-HO runs")
runs.legend(fontsize=8)
fig.tight_layout()
save(fig, cfg.output_dir, "fig1_right_rt_ho");

# %% [markdown]
# ## The hyperparameters along training
# How RT-HO moved $\rho$, $\eta$ and $\mu$ while it trained, one line per seed.

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, (column, label) in zip(axes, (("rho", "rho"), ("eta", "learning rate eta"),
                                      ("mu", "momentum mu"))):
    helpers.per_seed_lines(ax, trajectory, "step", column)
    ax.set_xlabel("training step")
    ax.set_ylabel(label)
axes[0].legend()
fig.suptitle("Hyperparameters tuned by RT-HO during training")
fig.tight_layout()
save(fig, cfg.output_dir, "rt_ho_hyperparameters");

# %% [markdown]
# ## The size of the hypergradients
# Left: the norm of RT-HO's hypergradient at every update, one line per seed (a cross at the
# last finite update of a run that diverged). Middle: the norm of the exact hypergradient after
# $T$ steps at RT-HO's starting hyperparameters, held fixed (REVERSE-HO in float64: lines; in
# float32: crosses). Right: the relative error of the float32 hypergradient against float64
# (crosses), and the relative difference of forward and reverse mode in float64 (dotted); one
# colour per seed, logarithmic axes.

# %%
updates, growth = results["updates"], results["growth"]
diverged = set(methods[(methods.method == "RT-HO") & methods.diverged.astype(bool)].seed)
fig, (steps, exact_norm, errors) = plt.subplots(1, 3, figsize=(16, 4.2))
finite_updates = updates[np.isfinite(updates.hypergradient_norm)]
colours = helpers.per_seed_lines(steps, finite_updates, "step", "hypergradient_norm")
for seed in sorted(diverged):  # a cross at the last finite update of a run that diverged
    last = finite_updates[finite_updates.seed == seed].sort_values("step").iloc[-1:]
    steps.scatter(last.step, last.hypergradient_norm, marker="x", s=60, zorder=3,
                  color=colours[seed] if len(colours) <= helpers.FEW_SEEDS else "#c44e52",
                  label=None if seed != min(diverged) else "run diverged")
steps.set_yscale("log")
steps.set_xlabel("training step")
steps.set_ylabel("norm of RT-HO's hypergradient")
steps.set_title("RT-HO's updates")
steps.legend(fontsize=8, loc="lower right")

for k, (seed, group) in enumerate(growth.groupby("seed")):
    double = group[group.precision == "float64"]
    single = group[group.precision == "float32"]
    exact_norm.plot(double["T"], double.reverse_norm, color=f"C{k % 10}", lw=1,
                    label=f"seed {seed}")
    exact_norm.scatter(single["T"], single.reverse_norm, color=f"C{k % 10}", marker="x", s=30)
    errors.plot(single["T"], single.error_vs_float64, color=f"C{k % 10}", lw=1, marker="x")
    errors.plot(double["T"], double.relative_difference, color=f"C{k % 10}", lw=1, ls=":",
                marker="o", ms=3)
horizons = sorted(growth["T"].unique())
for ax in (exact_norm, errors):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(horizons, [str(T) for T in horizons])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel("horizon T (steps)")
exact_norm.set_ylabel("norm of the exact hypergradient")
exact_norm.set_title("Exact hypergradient at the start")
errors.set_ylabel("relative error")
errors.set_title("Relative errors")
fig.tight_layout()
save(fig, cfg.output_dir, "hypergradient_growth");

# %% [markdown]
# ## The paper's table: accuracy and CPU time

# %%
results["summary"]

# %% [markdown]
# ## Paper vs reproduced
# Accuracies and step counts are compared on paired seeds; the CPU times are shown but judged
# by no rule (they depend on the machine and its load).

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The paper found RT-HO slightly more accurate than a grid search on $\rho$ in
# about half the CPU time on TIMIT; the tables above give the same two numbers on the
# substitute task, with their spread over seeds.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values


@book_values.recorded("methods.csv")
def rt_ho_diverged_runs(methods: pd.DataFrame) -> float:
    """methods.csv: the number of RT-HO runs (seeds) stopped by a hypergradient or a training
    step that was not finite (``diverged``)."""
    return int(methods[methods.method == "RT-HO"].diverged.astype(bool).sum())


@book_values.recorded("updates.csv")
def rt_ho_update_growth_lowest(updates: pd.DataFrame) -> float:
    """updates.csv: per seed, the largest finite norm of RT-HO's hypergradient over its first
    one (``hypergradient_norm``, in the order of ``step``); the smallest over seeds."""
    def growth(norms: pd.Series) -> float:
        finite = norms[norms.abs() < float("inf")]
        return finite.max() / finite.iloc[0]
    return updates.sort_values("step").groupby("seed").hypergradient_norm.agg(growth).min()


def _growth_per_seed(growth: pd.DataFrame) -> pd.Series:
    """growth.csv: per seed, the float64 exact hypergradient's norm (``reverse_norm``) at the
    longest horizon over its norm at the shortest."""
    exact = growth[growth.precision == "float64"].sort_values("T")
    return exact.groupby("seed").reverse_norm.agg(lambda norms: norms.iloc[-1] / norms.iloc[0])


@book_values.recorded("growth.csv")
def rt_ho_growth_lowest(growth: pd.DataFrame) -> float:
    """growth.csv: the smallest over seeds of `_growth_per_seed`."""
    return _growth_per_seed(growth).min()


@book_values.recorded("growth.csv")
def rt_ho_growth_highest(growth: pd.DataFrame) -> float:
    """growth.csv: the largest over seeds of `_growth_per_seed`."""
    return _growth_per_seed(growth).max()


def _float32_error(growth: pd.DataFrame, longest: bool) -> pd.Series:
    """growth.csv: per seed, float32's relative error against float64 (``error_vs_float64``)
    at the longest (or the shortest) horizon."""
    single = growth[growth.precision == "float32"]
    T = single["T"].max() if longest else single["T"].min()
    return single[single["T"] == T].error_vs_float64


@book_values.recorded("growth.csv")
def rt_ho_float32_error_shortest(growth: pd.DataFrame) -> float:
    """growth.csv: the largest over seeds of float32's relative error at the shortest horizon."""
    return _float32_error(growth, longest=False).max()


@book_values.recorded("growth.csv")
def rt_ho_float32_error_longest(growth: pd.DataFrame) -> float:
    """growth.csv: the smallest over seeds of float32's relative error at the longest horizon."""
    return _float32_error(growth, longest=True).min()


def _faster_without_divergence(methods: pd.DataFrame):
    """methods.csv: the paired difference, baseline minus RT-HO, of the step of the best
    validation error (``best_step``), over the seeds whose RT-HO run never diverged (a run
    stopped by a non-finite hypergradient ends early, which could alone make it look faster),
    with its paired Student-t interval."""
    from hpostudy.verdicts.intervals import t_interval

    steps = methods.pivot_table(index="seed", columns="method", values="best_step")
    kept = methods[(methods.method == "RT-HO") & ~methods.diverged.astype(bool)].seed
    return t_interval((steps.Baseline - steps["RT-HO"]).loc[sorted(kept)].tolist())


@book_values.recorded("methods.csv")
def rt_ho_finite_runs(methods: pd.DataFrame) -> float:
    """methods.csv: the number of RT-HO runs that never diverged."""
    return int((~methods[methods.method == "RT-HO"].diverged.astype(bool)).sum())


@book_values.recorded("methods.csv")
def rt_ho_faster_finite_low(methods: pd.DataFrame) -> float:
    """methods.csv: the lower end of `_faster_without_divergence`'s interval (steps)."""
    return _faster_without_divergence(methods).low


@book_values.recorded("methods.csv")
def rt_ho_faster_finite_high(methods: pd.DataFrame) -> float:
    """methods.csv: the upper end of `_faster_without_divergence`'s interval (steps)."""
    return _faster_without_divergence(methods).high
