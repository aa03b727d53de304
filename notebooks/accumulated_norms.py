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
#     experiment: hpostudy.experiments.accumulated_norms
# ---

# %% [markdown]
# # Accumulated exact hypergradient along the reverse pass (thesis Figs 3.4, 3.5)
#
# **Overview.** How does the exact hypergradient build up during the reverse pass? For each
# horizon T and seed we compute one exact hypergradient with exact reversal and record the
# norm of the hypergradient accumulated after each reverse step, from t = T-1 (right) towards
# t = 0 (left). The exact method stores about log2(1/gamma) bits per parameter per step, so
# even the thesis' longest horizon (200,000 iterations, Fig 3.5) fits in memory; the table
# reports the buffer's measured size.
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed: data split, initialization and batch order
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables and figures (None: build/<profile>/results/accumulated_norms)
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
horizons = None  # T of each figure (thesis: 20,000 and 200,000)
seeds_per_horizon = None  # seeds run at each horizon (at most seeds)
radix = None  # fixed-point fractional bits of the exact method

# %%
from hpostudy.experiments import accumulated_norms
from hpostudy.figures import drmad as figures

cfg = accumulated_norms.Config.from_notebook(globals())
results = accumulated_norms.run(cfg)

# %% [markdown]
# ## The accumulated norms
# One line per seed, named in the legend. Look at how fast the norm changes at each end of the
# reverse pass (the shaded first and last 1% of the reverse steps) compared with its typical
# change in between: that is what the table's rule measures, on a log scale over seeds.

# %%
figures.accumulated_norms(results, cfg.output_dir)

# %% [markdown]
# ## Each exact hypergradient: time, buffer, recovery of w_0

# %%
results["runs"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
