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

cfg = parameter_paths.Config.from_notebook(globals())
results = parameter_paths.run(cfg)

# %% [markdown]
# ## The paths
# Fig 2.1: each panel follows two random coordinates of the first seed's parameters from the
# initial value (green) to the final one (red).

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import grid, save
from hpostudy.figures.helpers import few_ticks

paths = results["paths"]
shown_seed = paths.seed.min()
wide = paths[paths.seed == shown_seed].pivot(index="step", columns="coordinate",
                                             values="value")
names = list(wide.columns)

n = min(6, len(names) // 2)
fig, axes = grid(n)
for k, ax in zip(range(n), axes):
    x, y = wide[names[2 * k]].to_numpy(), wide[names[2 * k + 1]].to_numpy()
    ax.plot(x, y, lw=0.8, color="0.3")
    ax.scatter([x[0]], [y[0]], color="green", zorder=3, s=30)
    ax.scatter([x[-1]], [y[-1]], color="red", zorder=3, s=30)
    ax.set_xlabel(f"w[{names[2 * k]}]")
    ax.set_ylabel(f"w[{names[2 * k + 1]}]")
    few_ticks(ax)
fig.suptitle(f"Parameter paths on pairs of random coordinates (seed {shown_seed})")
fig.tight_layout()
save(fig, cfg.output_dir, "fig2_1")

# %% [markdown]
# Fig 2.2: single coordinates of the same parameters against the iteration.

# %%
fig, axes = grid(min(6, len(names)))
for name, ax in zip(names[:6], axes):
    y = wide[name].to_numpy()
    ax.plot(wide.index, y, lw=0.8, color="0.3")
    ax.scatter([wide.index[0]], [y[0]], color="green", zorder=3, s=30)
    ax.scatter([wide.index[-1]], [y[-1]], color="red", zorder=3, s=30)
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"w[{name}]")
    few_ticks(ax, "y")
fig.suptitle(f"Single coordinates along training (seed {shown_seed})")
fig.tight_layout()
save(fig, cfg.output_dir, "fig2_2")

# %% [markdown]
# ## Paper vs reproduced
# One measure per claim, computed for every seed; the rule column says how the verdict follows.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis found the paths far from straight and erratic in random coordinates,
# so a straight reverse path (DrMAD) is a crude approximation; the table above says whether
# these runs agree, with the measure and the rule used.
