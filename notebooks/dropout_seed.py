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
#     chapter: parameter_paths
#     experiment: hpostudy.experiments.dropout_seed
# ---

# %% [markdown]
# # Symmetry and the dropout seed (thesis Fig 2.3)
#
# **Overview.** A meta-iteration retrains from the same initialization and batch order. If the
# dropout masks differ (the thesis forgot to seed them in its GPU runs), the second run breaks
# symmetry differently and ends far from the first; with the masks seeded by (seed, step) it
# retraces the first run exactly. We train the small CNN of the parameter-path notebook once,
# then again with the same and with other dropout masks, and record the distance from the first
# run's final parameters, once per seed.
#
# **Prerequisites.** `hpostudy` installed. The `smoke` profile uses the embedded digits; `cpu`
# and `paper` use CIFAR-10 from the data root. Every parameter left at `None` takes the
# profile's value.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed: initialization, batch order and dropout masks
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables and figures (None: build/<profile>/results/dropout_seed)
dataset = None  # digits (embedded) or cifar10
n_train = None  # training examples
batch_size = None  # mini-batch size
lr = None  # learning rate, usual form (thesis: 0.005)
momentum = None  # momentum (thesis: 0.95)
l2 = None  # L2 coefficient on the weights (thesis: 0.02)
channels = None  # feature maps of the two convolutions
hidden = None  # units of the hidden fully connected layer
epochs = None  # epochs of each run (thesis: 5)

# %%
from hpostudy.experiments import dropout_seed
from hpostudy.figures import parameter_paths as figures

cfg = dropout_seed.Config.from_notebook(globals())
results = dropout_seed.run(cfg)

# %% [markdown]
# ## Distance from the first run's final parameters
# Red: the second run with other dropout masks; black: with the same masks (it stays at 0).

# %%
figures.dropout_seed(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** Fixing the initialization and the batch order is not enough: every source of
# randomness, dropout masks included, must be replayed for a meta-iteration to retrace the
# previous one (and, on a GPU, the convolution kernels must be deterministic too).
