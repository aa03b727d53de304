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
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed: data, corruption and split
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables, figures, checkpoints (None: build/<profile>/results/front_convex)
problems = None  # ridge (per-feature L2) and/or cleaning (per-example weights)
horizons = None  # training steps T per hypergradient
ridge_features = None  # ridge: features, one L2 coefficient each
ridge_train = None  # ridge: training examples
ridge_init = None  # ridge: every log L2 coefficient at the start
ridge_lr = None  # ridge: thesis-form learning rate alpha
cleaning_dataset = None  # cleaning: digits (embedded) or mnist
cleaning_train = None  # cleaning: training examples, one weight each
cleaning_corrupt = None  # cleaning: share of training labels made wrong
cleaning_l2 = None  # cleaning: L2 coefficient mu on the classifier
cleaning_init = None  # cleaning: every example's weight logit at the start
cleaning_lr = None  # cleaning: thesis-form learning rate alpha
n_val = None  # validation examples (both problems)
n_test = None  # test examples (both problems)
momentum = None  # momentum gamma
truncation_steps = None  # K of truncated reverse mode (K < T only)
implicit_iterations = None  # solver iterations of the implicit methods
drmad_steps = None  # DrMAD's reverse steps S (at most T)
drmad2_exact_steps = None  # DrMAD2's exact reverse steps before the line
forward_budget = None  # forward mode runs where m x T is at most this
max_stored_bytes = None  # reverse mode's stored trajectory runs up to this many bytes
meta_T = None  # training steps per meta-iteration of the outer loops
meta_iterations = None  # meta-iterations of every outer loop (the same for all)
meta_lr = None  # Adam's step on the hyperparameters
meta_methods = None  # estimators of the outer loops (labels as in the front table, or all)

# %%
from hpostudy.experiments import front_convex
from hpostudy.figures import front as figures

cfg = front_convex.Config.from_notebook(globals())
results = front_convex.run(cfg)

# %% [markdown]
# ## The accuracy-vs-cost fronts
# One figure per problem, one column per horizon; each point an estimator (geometric mean of
# its relative error over seeds, mean cost). The `front` table also gives each estimator's
# error against the answer at the optimum (`relative_error_closed`).

# %%
figures.draw(results, cfg.output_dir, "convex")

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
