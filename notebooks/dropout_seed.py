# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Symmetry and the dropout seed (thesis Fig 2.3)
#
# **Overview.** A meta-iteration retrains from the same initialization and batch order. If the
# dropout masks differ (the thesis forgot to seed them), the second run breaks symmetry
# differently and ends far from the first; with the masks seeded by (seed, step) it retraces the
# first run exactly.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/dropout_seed"  # tables and figures go here
epochs = None  # epochs of each run (None: the profile's value; thesis: 5)

# %%
from hpostudy import figures
from hpostudy.experiments import dropout_seed

cfg = dropout_seed.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                      epochs=epochs)
results = dropout_seed.run(cfg)

# %% [markdown]
# ## Distance from the first run's final parameters

# %%
figures.dropout_seed(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
