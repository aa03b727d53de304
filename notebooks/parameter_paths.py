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
#     experiment: hpostudy.experiments.parameter_paths
# ---

# %% [markdown]
# # Parameter paths of a small CNN (thesis Figs 2.1 and 2.2)
#
# **Overview.** DrMAD reverses training along the straight line from the initial to the final
# weights. How straight are the real paths? We train the thesis' small CNN
# (conv-maxpool-conv-maxpool-dropout-FC-dropout-FC, dropout 0.5) with SGD with momentum
# (learning rate 0.005, momentum 0.95, L2 0.02) and record random coordinates of the weights at
# every step, once per seed.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile uses the
# embedded digits; `cpu` and `paper` use CIFAR-10 from the data root. Every parameter left at
# `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.parameter_paths.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded) or cifar10
n_train: "Optional[int]" = None  # training examples (None: all but the 1,000 validation ones)
batch_size: "Optional[int]" = None  # mini-batch size
lr: "Optional[float]" = None  # usual-form learning rate (thesis: 0.005)
momentum: "Optional[float]" = None  # momentum (thesis: 0.95)
l2: "Optional[float]" = None  # L2 coefficient on the weights (biases unregularized)
channels: "Optional[list[int]]" = None  # feature maps of the two convolutions
hidden: "Optional[int]" = None  # units of the hidden fully connected layer
epochs: "Optional[int]" = None  # training epochs
coordinates: "Optional[int]" = None  # random coordinates recorded (6 pairs for Fig 2.1)

# %%
from hpostudy.experiments import parameter_paths
from hpostudy.figures import parameter_paths as figures

cfg = parameter_paths.Config.from_notebook(globals())
results = parameter_paths.run(cfg)

# %% [markdown]
# ## The paths
# Each panel of the first figure follows two random coordinates from the initial value (green)
# to the final one (red); the second figure shows single coordinates against the iteration
# (first seed).

# %%
figures.parameter_paths(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced
# One measure per claim, computed for every seed; the rule column says how the verdict follows.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis found the paths far from straight and erratic in random coordinates,
# so a straight reverse path (DrMAD) is a crude approximation; the table above says whether
# these runs agree, with the measure and the rule used.
