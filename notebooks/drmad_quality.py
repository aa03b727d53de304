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
#     experiment: hpostudy.experiments.drmad_quality
# ---

# %% [markdown]
# # How good are DrMAD hypergradients? (thesis Figs 3.1, 3.2, 3.3)
#
# **Overview.** DrMAD is cheap, but does its hypergradient point the right way? Following the
# signs of the DrMAD hypergradient for several meta-iterations, we compute the exact
# hypergradient (exact reversal) at the same hyperparameters and compare norms (Fig 3.1),
# directions (Fig 3.2) and the errors reached (Fig 3.3, beside a run that follows DrMAD2), for
# each horizon T, number of reverse steps S and seed. A falling test error is evidence for
# DrMAD's direction only against controls: meta-runs with the same steps along the exact
# hypergradient's signs and along random signs. The three figures come from the same
# meta-runs, so they share one notebook. We also time one hypergradient by each method and
# count the bytes each keeps in this setting; the DrMAD abstract's claims (45x faster, 100x
# less memory) are judged on the dedicated benchmark (`bench/hypergrad.py`) at each horizon
# it recorded, named by `benchmark` (none on `smoke`).
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed: data split, initialization and batch order
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables, figures, checkpoints (None: build/<profile>/results/drmad_quality)
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
horizons = None  # elementary iterations T (thesis: 2,000 and 20,000)
reverse_steps = None  # DrMAD reverse steps S (thesis: about 200 and 2,000)
meta_iterations = None  # meta-iterations, one number per horizon
seeds_per_horizon = None  # seeds run at each horizon (at most seeds)
drmad2_exact_steps = None  # DrMAD2's exact reverse steps (thesis: about 100)
meta_lr = None  # step along the sign of the hypergradient (DrMAD code: 0.07)
controls = None  # control meta-runs: exact signs, random signs
benchmark = None  # benchmark tables the cost claims are judged on

# %%
from hpostudy.experiments import drmad_quality
from hpostudy.figures import drmad as figures

cfg = drmad_quality.Config.from_notebook(globals())
results = drmad_quality.run(cfg)

# %% [markdown]
# ## Norms, cosines and errors
# One panel per horizon T and number of reverse steps S; one line per seed, told apart by its
# line style. The grey band of Fig 3.2 holds the cosines that unrelated directions give in
# this many dimensions (within 2/sqrt(d) of 0); Fig 3.3 sets DrMAD's fall of the test error
# beside the controls' (exact signs, random signs), seed by seed.

# %%
figures.drmad_quality(results, cfg.output_dir, drmad_quality.n_hyperparameters(cfg))

# %% [markdown]
# ## The cost of one hypergradient
# Process CPU time and the bytes each method keeps for its reverse pass (stored trajectory,
# information buffer, or the initial weights that fix DrMAD's line), in this run's setting.
# The timing shares the run's process, so no verdict reads it: the speed claims are judged on
# the dedicated benchmark.

# %%
results["cost"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The table says, claim by claim and over seeds, whether DrMAD's norms and
# directions behave as the thesis found and whether following its signs beats random signs,
# each row behind its scale gate (below the thesis' horizon and data a row is "not
# comparable"); where the profile names benchmark tables, whether DrMAD's speed and memory
# match the DrMAD abstract's claims at each recorded horizon.
