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
#     experiment: hpostudy.experiments.front_mlp
# ---

# %% [markdown]
# # Every hypergradient on the thesis' MLP
#
# **Overview.** On the MLP of thesis section 3.1 (per-unit scale and L2 hyperparameters), every
# estimator of the library computes the hypergradient at the same hyperparameters, per horizon
# T and seed: stored-trajectory and checkpointed reverse mode, exact reversal (the reference),
# DrMAD, DrMAD2, forward mode where its tangents are affordable, truncated reverse mode for
# several K and implicit hypergradients with each solver for several iterations. Each gets its
# relative error and cosine against exact reversal, its process CPU time over plain training of
# the same steps and the bytes it stores: the accuracy-vs-cost front. A few estimators then
# drive the same outer loop (Adam, the same meta-iterations and training steps).
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.front_mlp.Config: edit the knobs there.
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
horizons: "Optional[list[int]]" = None  # training steps T per hypergradient (thesis: 100 to 20,000)
truncation_steps: "Optional[list[int]]" = None  # K of truncated reverse mode (K < T only)
implicit_iterations: "Optional[list[int]]" = None  # solver iterations of the implicit methods
implicit_batches: "Optional[int]" = None  # the implicit methods' training loss: the last this many mini-batches
drmad_steps: "Optional[int]" = None  # DrMAD's reverse steps S (at most T; thesis: about 200)
drmad2_exact_steps: "Optional[int]" = None  # DrMAD2's exact reverse steps before the line (thesis: about 100)
forward_budget: "Optional[float]" = None  # forward mode (m tangents) runs where m x T is at most this
max_stored_bytes: "Optional[float]" = None  # reverse mode's stored trajectory runs up to this
meta_T: "Optional[int]" = None  # training steps per meta-iteration of the outer loops
meta_iterations: "Optional[int]" = None  # meta-iterations of every outer loop (the same for all)
meta_lr: "Optional[float]" = None  # Adam's step on the hyperparameters
meta_methods: "Optional[list[str]]" = None  # estimators of the outer loops (labels)

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import front_mlp
from hpostudy.figures import save
from hpostudy.figures.front import horizon_fronts, outer_panel
from hpostudy.figures.helpers import shared_legend

cfg = front_mlp.Config.from_notebook(globals())
results = front_mlp.run(cfg)

# %% [markdown]
# ## The accuracy-vs-cost front
# One column per horizon; each point an estimator (geometric mean of its relative error over
# seeds, mean cost). Lines join the truncation lengths and the solver iterations of one family.

# %%
fig = horizon_fronts(results["front"])  # one problem: the MLP
fig.suptitle("mlp: error against cost")
shared_legend(fig)
save(fig, cfg.output_dir, "front_mlp");

# %% [markdown]
# ## Where the outer loops end
# Validation and test error after each estimator's outer loop (its last meta-iteration), one
# point per seed, coloured by family; `initial` is the error at the initial hyperparameters.

# %%
outer = results["outer"]
last = outer.sort_values("meta_iteration").groupby(["method", "seed"]).tail(1)
fig, (val, test) = plt.subplots(1, 2, figsize=(11, 0.32 * last.method.nunique() + 1.6))
outer_panel(val, last, "val_error", names=True)  # a row per estimator, named once
outer_panel(test, last, "test_error", names=False)
val.set_title("mlp: val error")
test.set_title("mlp: test error")
fig.tight_layout()
save(fig, cfg.output_dir, "outer_mlp");

# %% [markdown]
# ## Every estimator, every seed

# %%
results["front"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The rows test the claims at the longest horizon run, each behind its scale gate:
# the implicit methods' accuracy only once training has converged, truncation's bias between
# two truncation lengths, and implicit's cost against plain training from T = 1,000 on.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values

EXACT_FAMILIES = ("exact", "reverse", "reverse (checkpointed)", "forward")  # exact to rounding


def _longest(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv: the rows of the longest horizon ``T``."""
    return summary[summary["T"] == summary["T"].max()]


def _approximations(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv: the longest horizon's rows of the estimators that approximate (not exact
    reversal, reverse or forward mode) and ran (a mean ``cosine``)."""
    rows = _longest(summary)
    return rows[~rows.method.isin(EXACT_FAMILIES) & rows.cosine.notna()]


def _last(outer: pd.DataFrame) -> pd.DataFrame:
    """outer.csv: each loop's last row (its highest ``meta_iteration``) per seed."""
    return outer.sort_values("meta_iteration").groupby(["method", "seed"]).tail(1)


@book_values.recorded("summary.csv")
def front_mlp_longest_T(summary: pd.DataFrame) -> float:
    """summary.csv: the longest horizon ``T``."""
    return summary["T"].max()


@book_values.recorded("front.csv")
def front_mlp_decades_most(front: pd.DataFrame) -> float:
    """front.csv: at the longest horizon, the most decades by which any seed's training
    gradient fell from w_0 to w_T (``gradient_decades``)."""
    return front[front["T"] == front["T"].max()].gradient_decades.max()


@book_values.recorded("summary.csv")
def front_mlp_best_cosine(summary: pd.DataFrame) -> float:
    """summary.csv: at the longest horizon, the highest mean ``cosine`` with exact reversal
    of an approximating estimator (`_approximations`)."""
    return _approximations(summary).cosine.max()


@book_values.recorded("summary.csv", show=str)
def front_mlp_best_method(summary: pd.DataFrame) -> str:
    """summary.csv: the estimator of `front_mlp_best_cosine`."""
    rows = _approximations(summary)
    return rows.loc[rows.cosine.idxmax(), "method"]


@book_values.recorded("summary.csv")
def front_mlp_cg_cosine_most(summary: pd.DataFrame) -> float:
    """summary.csv: at the longest horizon, the larger mean ``cosine`` of the implicit CG
    estimators (every number of iterations)."""
    rows = _longest(summary)
    return rows[rows.method.str.startswith("implicit cg")].cosine.max()


@book_values.recorded("summary.csv")
def front_mlp_exact_x_plain(summary: pd.DataFrame) -> float:
    """summary.csv: exact reversal's CPU time over plain training's at the longest horizon."""
    return book_values.cell(_longest(summary), "x_plain", method="exact")


@book_values.recorded("summary.csv")
def front_mlp_exact_MB(summary: pd.DataFrame) -> float:
    """summary.csv: the megabytes exact reversal stores at the longest horizon."""
    return book_values.cell(_longest(summary), "MB", method="exact")


@book_values.recorded("summary.csv")
def front_mlp_checkpointed_MB(summary: pd.DataFrame) -> float:
    """summary.csv: the megabytes checkpointed reverse mode stores at the longest horizon."""
    return book_values.cell(_longest(summary), "MB", method="reverse (checkpointed)")


def _outer_test(outer: pd.DataFrame, method: str) -> float:
    """outer.csv: the mean over seeds of the test error at the end of ``method``'s loop."""
    last = _last(outer)
    return last[last.method == method].test_error.mean()


@book_values.recorded("outer.csv", show=book_values.percent)
def front_mlp_outer_initial(outer: pd.DataFrame) -> float:
    """outer.csv: the test error at the initial hyperparameters (``initial``), mean over seeds."""
    return _outer_test(outer, "initial")


@book_values.recorded("outer.csv", show=book_values.percent)
def front_mlp_outer_exact(outer: pd.DataFrame) -> float:
    """outer.csv: the test error after exact reversal's loop, mean over seeds."""
    return _outer_test(outer, "exact")


@book_values.recorded("outer.csv", show=book_values.percent)
def front_mlp_outer_approximations_best(outer: pd.DataFrame) -> float:
    """outer.csv: the lowest, over the loops of approximating estimators (not ``exact`` or
    ``initial``), of the mean over seeds of the final test error."""
    last = _last(outer)
    return last[~last.method.isin(("exact", "initial"))].groupby("method").test_error.mean().min()


@book_values.recorded("outer.csv", show=book_values.percent)
def front_mlp_outer_approximations_worst(outer: pd.DataFrame) -> float:
    """outer.csv: as `front_mlp_outer_approximations_best`, the highest."""
    last = _last(outer)
    return last[~last.method.isin(("exact", "initial"))].groupby("method").test_error.mean().max()


@book_values.recorded("outer.csv", show=str)
def front_mlp_outer_worst_method(outer: pd.DataFrame) -> str:
    """outer.csv: the estimator of `front_mlp_outer_approximations_worst`."""
    last = _last(outer)
    return last[~last.method.isin(("exact", "initial"))].groupby("method").test_error.mean().idxmax()
