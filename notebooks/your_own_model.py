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
#     chapter: your_own_model
#     experiment: hpostudy.experiments.hypergradients
# ---

# %% [markdown]
# # Your own model: hypergradients by reverse mode, exact reversal and DrMAD
#
# **Overview.** A template to copy. It defines a small model right here, trains it on a
# scikit-learn dataset with per-unit L2 penalties as hyperparameters, and computes the
# hypergradient of the validation loss with respect to them by three methods of the study:
# reverse mode over the stored trajectory (REVERSE-HO), exact reversal (Maclaurin et al.), and
# DrMAD's straight-line approximation. The table and the figure show how far DrMAD is from the
# exact answer on *your* model.
#
# **To adapt it**, copy this file anywhere, change the `Net` class below (any `nn.Module` built
# as `Net(n_inputs, n_classes)`) and the `dataset` parameter (a scikit-learn dataset name, or
# `"your_package.module:function"` returning `(X, y)`), then run
# `hpostudy run path/to/your_copy.py -p T=200` -- or with papermill directly (see the README).
# No library edit, registry or table of contents is needed.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.hypergradients.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits | wine | breast_cancer | iris | "module:function" -> (X, y)
model: "Optional[str]" = None  # "module:Builder", called Builder(n_inputs, n_classes) ("": given to run())
T: "Optional[int]" = None  # training steps per hypergradient
batch_size: "Optional[int]" = None  # mini-batch size
lr: "Optional[float]" = None  # thesis-form learning rate alpha
momentum: "Optional[float]" = None  # gamma (rounded to n/2^16, the value exact reversal represents)
init_log10_l2: "Optional[float]" = None  # every L2 hyperparameter at the start (log10)
methods: "Optional[list[str]]" = None  # the first is the reference
n_val: "Optional[float]" = None  # validation share (or count)
n_test: "Optional[float]" = None  # test share (or count)

# %% [markdown]
# ## The model
# Any `nn.Module` that PyTorch can differentiate twice works (dropout, batch norm and
# `nn.MultiheadAttention` included); it is evaluated as a function of one flat parameter vector
# by the library, on float64 inputs of shape `(batch, n_inputs)`. A package of yours beside
# this notebook imports as usual under `hpostudy run` (`model="your_package.module:Net"`).

# %%
from torch import nn


class Net(nn.Module):
    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_inputs, 24), nn.Tanh(), nn.Linear(24, n_classes))

    def forward(self, x):
        return self.layers(x)


# %% [markdown]
# ## Hypergradients by each method

# %%
from hpostudy.experiments import hypergradients

cfg = hypergradients.Config.from_notebook(globals())
results = hypergradients.run(cfg, model=Net)
results["methods"]

# %% [markdown]
# ## Side by side
# Each point is one hyperparameter: its hypergradient by reverse mode (x) and by another
# method (y). Exact reversal lies on the diagonal; DrMAD's straight line does not have to.

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import save

values, methods_table = results["values"], results["methods"]
shown_seed = values.seed.min()
v = values[values.seed == shown_seed]
names = list(dict.fromkeys(v.method))  # the first is the reference
reference = v[v.method == names[0]].set_index("index").hypergradient
cosines = methods_table[methods_table.seed == shown_seed].set_index("method").cosine

fig, ax = plt.subplots(figsize=(5.2, 4.4))
low, high = float(reference.min()), float(reference.max())
ax.plot([low, high], [low, high], color="0.6", lw=1, label="equal")
for name, marker in zip(names[1:], "osd^v"):
    other = v[v.method == name].set_index("index").hypergradient
    ax.scatter(reference, other.loc[reference.index], s=14, marker=marker,
               label=f"{name} (cosine {cosines[name]:.3f})")
ax.set_xlabel(f"{names[0]} hypergradient entry")
ax.set_ylabel("other method's entry")
ax.legend(fontsize=9)
fig.tight_layout()
save(fig, cfg.output_dir, "side_by_side")
