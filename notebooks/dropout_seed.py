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
# Written by `hpostudy cells` from hpostudy.experiments.dropout_seed.Config: edit the knobs there.
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
epochs: "Optional[int]" = None  # epochs of each run (thesis: 5)

# %%
from hpostudy.experiments import dropout_seed

cfg = dropout_seed.Config.from_notebook(globals())
results = dropout_seed.run(cfg)

# %% [markdown]
# ## Distance from the first run's final parameters
# Red: the second run with other dropout masks; black: with the same masks (it stays at 0).

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from hpostudy.figures import save

distances = results["distances"]
styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3))]  # one per seed
fig, ax = plt.subplots(figsize=(6.4, 3.8))
for variant, color in (("dropout seed not fixed", "tab:red"), ("dropout seed fixed", "black")):
    g = distances[distances.variant == variant]
    for i, (run_seed, s) in enumerate(g.groupby("seed")):
        ax.plot(s.epoch, s.distance, color=color, lw=1.2, ls=styles[i % len(styles)],
                label=f"{variant}, seed {run_seed}")
ax.set_xlabel("epoch of the second run")
ax.set_ylabel("distance from the first run's\nfinal parameters")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))
ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
fig.tight_layout()
save(fig, cfg.output_dir, "fig2_3")

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** Fixing the initialization and the batch order is not enough: every source of
# randomness, dropout masks included, must be replayed for a meta-iteration to retrace the
# previous one (and, on a GPU, the convolution kernels must be deterministic too).
