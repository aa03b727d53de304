# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Accumulated exact hypergradient along the reverse pass (thesis Figs 3.4, 3.5)
#
# **Overview.** Why does DrMAD explode with many reverse steps? We compute one exact
# hypergradient per horizon with exact reversal and record the norm of the hypergradient
# accumulated after each reverse step, from t = T-1 (right) towards t = 0 (left). The exact
# method stores about log2(1/gamma) bits per parameter per step, so even the thesis' longest
# horizon (200,000 iterations, Fig 3.5) fits in memory.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order
output_dir = "build/results/accumulated_norms"  # tables and figures go here
horizons = None  # T of each figure (None: the profile's value; thesis: 20,000 and 200,000)

# %%
from hpostudy import figures
from hpostudy.experiments import accumulated

cfg = accumulated.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                     horizons=horizons)
results = accumulated.run(cfg)

# %% [markdown]
# ## The accumulated norms

# %%
figures.accumulated_norms(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced (and the cost of each exact hypergradient)

# %%
results["comparison"]
