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
#     chapter: every_hypergradient
#     experiment: hpostudy.experiments.front_convex
# ---

# %% [markdown]
# # Every hypergradient on convex problems with an exact answer
#
# **Overview.** Ridge regression with one L2 coefficient per feature (closed form) and data
# cleaning with one weight per training example (the optimum by Newton's method to 1e-13): per
# horizon T and seed, every estimator's hypergradient against exact reversal of the same T
# steps and against the answer at the optimum, its CPU time over plain training and the bytes
# it stores; then one outer loop per estimator (Adam, the same meta-iterations and training
# steps for all) ending with validation and test error.
#
# **Prerequisites.** The `smoke` profile uses the embedded digits for data cleaning; `cpu` and
# `paper` read MNIST from the data root. Every parameter left at `None` takes the profile's
# value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.front_convex.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
problems: "Optional[list[str]]" = None  # ridge (per-feature L2) and/or cleaning (per-example weights)
horizons: "Optional[list[int]]" = None  # training steps T per hypergradient
ridge_features: "Optional[int]" = None  # ridge: features, one L2 coefficient each
ridge_train: "Optional[int]" = None  # ridge: training examples
ridge_init: "Optional[float]" = None  # ridge: every log L2 coefficient at the start
ridge_lr: "Optional[float]" = None  # ridge: thesis-form learning rate alpha
cleaning_dataset: "Optional[str]" = None  # cleaning: digits (embedded) or mnist
cleaning_train: "Optional[int]" = None  # cleaning: training examples, one weight each
cleaning_corrupt: "Optional[float]" = None  # cleaning: share of training labels made wrong
cleaning_l2: "Optional[float]" = None  # cleaning: L2 coefficient mu on the classifier
cleaning_init: "Optional[float]" = None  # cleaning: every example's weight logit at the start
cleaning_lr: "Optional[float]" = None  # cleaning: thesis-form learning rate alpha
n_val: "Optional[int]" = None  # validation examples (both problems)
n_test: "Optional[int]" = None  # test examples (both problems)
momentum: "Optional[float]" = None  # gamma (rounded to n/2^16, the value exact reversal represents)
truncation_steps: "Optional[list[int]]" = None  # K of truncated reverse mode (K < T only)
implicit_iterations: "Optional[list[int]]" = None  # solver iterations of the implicit methods
drmad_steps: "Optional[int]" = None  # DrMAD's reverse steps S (at most T)
drmad2_exact_steps: "Optional[int]" = None  # DrMAD2's exact reverse steps before the line
forward_budget: "Optional[float]" = None  # forward mode runs where m x T is at most this
max_stored_bytes: "Optional[float]" = None  # reverse mode's stored trajectory runs up to this
meta_T: "Optional[int]" = None  # training steps per meta-iteration of the outer loops
meta_iterations: "Optional[int]" = None  # meta-iterations of every outer loop (the same for all)
meta_lr: "Optional[float]" = None  # Adam's step on the hyperparameters
meta_methods: "Optional[list[str]]" = None  # estimators of the outer loops (labels, or all)

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import front_convex
from hpostudy.figures import save
from hpostudy.figures.front import horizon_fronts, outer_panel
from hpostudy.figures.helpers import shared_legend

cfg = front_convex.Config.from_notebook(globals())
results = front_convex.run(cfg)

# %% [markdown]
# ## The accuracy-vs-cost fronts
# One figure per problem, one column per horizon; each point an estimator (geometric mean of
# its relative error over seeds, mean cost). The `front` table also gives each estimator's
# error against the answer at the optimum (`relative_error_closed`).

# %%
for problem, table in results["front"].groupby("problem", sort=False):  # a figure each
    fig = horizon_fronts(table)
    fig.suptitle(f"{problem}: error against cost")
    shared_legend(fig)
    save(fig, cfg.output_dir, f"front_{problem}")

# %% [markdown]
# ## Where the outer loops end
# Validation and test error after each estimator's outer loop (its last meta-iteration), one
# point per seed, coloured by family; `initial` is the error at the initial hyperparameters.

# %%
outer = results["outer"]
last = outer.sort_values("meta_iteration").groupby(["problem", "method", "seed"]).tail(1)
problems = list(dict.fromkeys(last.problem))
fig, axes = plt.subplots(len(problems), 2, squeeze=False,
                         figsize=(11, 0.32 * last.method.nunique() * len(problems) + 1.6))
for row, problem in zip(axes, problems):  # a row per problem, a row per estimator in each panel
    for k, column in enumerate(("val_error", "test_error")):
        outer_panel(row[k], last[last.problem == problem], column, names=k == 0)
        row[k].set_title(f"{problem}: {column.replace('_', ' ')}")
fig.tight_layout()
save(fig, cfg.output_dir, "outer_convex");

# %% [markdown]
# ## Every estimator, every seed

# %%
results["front"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** Per problem, at the longest horizon run: implicit within 5% of exact once the
# training gradient has fallen six decades, truncation's bias between the shortest and the
# longest K below T, and implicit's CPU time against plain training from T = 1,000 on.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values


def _at(summary: pd.DataFrame, problem: str, T=None) -> pd.DataFrame:
    """summary.csv: the rows of ``problem`` at horizon ``T`` (None: its longest)."""
    rows = summary[summary.problem == problem]
    return rows[rows["T"] == (rows["T"].max() if T is None else T)]


def _solver_error(summary: pd.DataFrame, problem: str, solver: str, T=None) -> float:
    """summary.csv: the relative error against exact reversal (geometric mean over seeds) of
    the implicit ``solver`` with its most iterations, for ``problem`` at ``T`` (None: its
    longest horizon)."""
    rows = _at(summary, problem, T)
    rows = rows[rows.method.str.startswith(f"implicit {solver} ")]
    most = rows.method.str.rsplit(" ", n=1).str[1].astype(int).idxmax()
    return float(rows.loc[most, "relative_error"])


def _decades(front: pd.DataFrame, problem: str) -> pd.Series:
    """front.csv: per seed, the decades by which ``problem``'s training gradient fell by its
    longest horizon (``gradient_decades``)."""
    rows = front[front.problem == problem]
    return rows[rows["T"] == rows["T"].max()].groupby("seed").gradient_decades.first()


@book_values.recorded("front.csv")
def front_convex_ridge_decades_least(front: pd.DataFrame) -> float:
    """front.csv: the fewest decades, over seeds, by which ridge's training gradient fell by
    its longest horizon (`_decades`)."""
    return _decades(front, "ridge").min()


@book_values.recorded("front.csv")
def front_convex_cleaning_decades_most(front: pd.DataFrame) -> float:
    """front.csv: the most decades, over seeds, by which the cleaning problem's training
    gradient fell by its longest horizon (`_decades`)."""
    return _decades(front, "cleaning").max()


@book_values.recorded("summary.csv")
def front_convex_ridge_cg_error(summary: pd.DataFrame) -> float:
    """summary.csv: ridge, longest horizon: CG's relative error (`_solver_error`)."""
    return _solver_error(summary, "ridge", "cg")


@book_values.recorded("summary.csv")
def front_convex_ridge_implicit_worst(summary: pd.DataFrame) -> float:
    """summary.csv: ridge, longest horizon: the largest relative error of the three solvers,
    each with its most iterations (`_solver_error`)."""
    return max(_solver_error(summary, "ridge", s) for s in ("cg", "neumann", "fixed_point"))


@book_values.recorded("summary.csv")
def front_convex_cleaning_cg_error(summary: pd.DataFrame) -> float:
    """summary.csv: cleaning, longest horizon: CG's relative error (`_solver_error`)."""
    return _solver_error(summary, "cleaning", "cg")


@book_values.recorded("summary.csv")
def front_convex_cleaning_iterative_best(summary: pd.DataFrame) -> float:
    """summary.csv: cleaning, longest horizon: the smaller relative error of the Neumann and
    fixed-point solvers, each with its most iterations (`_solver_error`)."""
    return min(_solver_error(summary, "cleaning", s) for s in ("neumann", "fixed_point"))


@book_values.recorded("summary.csv")
def front_convex_cleaning_cg_error_1000(summary: pd.DataFrame) -> float:
    """summary.csv: cleaning at T = 1,000: CG's relative error (`_solver_error`)."""
    return _solver_error(summary, "cleaning", "cg", 1000)


@book_values.recorded("summary.csv")
def front_convex_cleaning_closed_1000(summary: pd.DataFrame) -> float:
    """summary.csv: cleaning at T = 1,000: the relative difference between the answer at the
    optimum (``closed form``) and exact reversal of the 1,000 steps."""
    return book_values.cell(_at(summary, "cleaning", 1000), "relative_error",
                            method="closed form")


@book_values.recorded("summary.csv")
def front_convex_cleaning_closed_longest(summary: pd.DataFrame) -> float:
    """summary.csv: as `front_convex_cleaning_closed_1000`, at the longest horizon."""
    return book_values.cell(_at(summary, "cleaning"), "relative_error", method="closed form")


def _outer_means(outer: pd.DataFrame, problem: str, column: str) -> pd.Series:
    """outer.csv: per loop of ``problem`` (``method``), the mean over seeds of ``column`` at its
    last meta-iteration."""
    rows = outer[outer.problem == problem].sort_values("meta_iteration")
    return rows.groupby(["method", "seed"]).tail(1).groupby("method")[column].mean()


@book_values.recorded("outer.csv")
def front_convex_outer_ridge_spread(outer: pd.DataFrame) -> float:
    """outer.csv: ridge: the largest minus the smallest final validation error (mean over
    seeds) of the estimators' loops (`_outer_means`, ``initial`` left out)."""
    means = _outer_means(outer, "ridge", "val_error").drop("initial")
    return means.max() - means.min()


@book_values.recorded("outer.csv", show=book_values.percent)
def front_convex_outer_cleaning_initial(outer: pd.DataFrame) -> float:
    """outer.csv: cleaning: the test error at the initial weights of the examples."""
    return _outer_means(outer, "cleaning", "test_error")["initial"]


@book_values.recorded("outer.csv", show=book_values.percent)
def front_convex_outer_cleaning_best(outer: pd.DataFrame) -> float:
    """outer.csv: cleaning: the lowest final test error of the estimators' loops."""
    return _outer_means(outer, "cleaning", "test_error").drop("initial").min()


@book_values.recorded("outer.csv", show=book_values.percent)
def front_convex_outer_cleaning_worst(outer: pd.DataFrame) -> float:
    """outer.csv: cleaning: the highest final test error of the estimators' loops."""
    return _outer_means(outer, "cleaning", "test_error").drop("initial").max()


@book_values.recorded("outer.csv", show=book_values.percent)
def front_convex_outer_cleaning_second_worst(outer: pd.DataFrame) -> float:
    """outer.csv: cleaning: the second highest final test error of the estimators' loops."""
    return _outer_means(outer, "cleaning", "test_error").drop("initial").nlargest(2).iloc[-1]


@book_values.recorded("outer.csv", show=str)
def front_convex_outer_cleaning_worst_method(outer: pd.DataFrame) -> str:
    """outer.csv: cleaning: the estimator of `front_convex_outer_cleaning_worst`."""
    return _outer_means(outer, "cleaning", "test_error").drop("initial").idxmax()
