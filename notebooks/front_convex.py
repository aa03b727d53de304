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
