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
#     chapter: drmad_quality
#     experiment: hpostudy.experiments.reversal_precision
# ---

# %% [markdown]
# # Reversal with and without exact arithmetic (thesis Fig 3.6)
#
# **Overview.** Reversing SGD with momentum in floating point loses the bits that the
# multiplication by gamma destroys; exact reversal keeps them. After a few meta-steps along the
# DrMAD signs, both reverse passes run side by side from the same final state, once per seed:
# where do their values part?
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed: data split, initialization, batch order, recorded coordinates
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables and figures (None: build/<profile>/results/reversal_precision)
dataset = None  # digits (embedded) or mnist
n_train = None  # training examples
n_val = None  # validation examples
n_test = None  # test examples
hidden = None  # hidden layer widths
batch_size = None  # mini-batch size (DrMAD code: 50)
lr = None  # thesis-form learning rate alpha (DrMAD code: 0.05)
momentum = None  # momentum gamma
init_log_scale = None  # s at the start (w is e^s z)
init_log_l2 = None  # lambda at the start (penalty e^lambda |z|^2)
T = None  # elementary iterations (thesis: 2,000)
meta_iterations_before = None  # DrMAD sign steps before the comparison (thesis: 11)
drmad_reverse_steps = None  # reverse steps S of those DrMAD hypergradients
coordinates = None  # coordinates of w, v, d_w and d_meta recorded
tolerance = None  # relative difference counted as parted
meta_lr = None  # step along the sign of the hypergradient (DrMAD code: 0.07)

# %%
from hpostudy.experiments import reversal_precision
from hpostudy.figures import drmad as figures

cfg = reversal_precision.Config.from_notebook(globals())
results = reversal_precision.run(cfg)

# %% [markdown]
# ## Reverse path values (first seed)

# %%
figures.reversal_precision(results, cfg.output_dir, cfg.tolerance)

# %% [markdown]
# ## Where the two passes part, per seed and quantity

# %%
results["parting"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded runs (on the CPU and on
# the H100): the book computes them from the recorded files at every build
# (`hpostudy.study.book_values`), each named like its function.
import pandas as pd

from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd


@book_values.recorded("parting.csv")
def reversal_parting_step(parting: pd.DataFrame) -> float:
    """parting.csv: per seed the first reverse step at which any quantity parts (the
    smallest ``parting_step``), mean over seeds."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]


@book_values.recorded("parting.csv", profile="h100")
def reversal_parting_step_h100(parting: pd.DataFrame) -> float:
    """The H100 run's parting.csv (one seed): as `reversal_parting_step`."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]
