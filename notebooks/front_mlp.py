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
