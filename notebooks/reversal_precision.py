# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Reversal with and without exact arithmetic (thesis Fig 3.6)
#
# **Overview.** Reversing SGD with momentum in floating point loses the bits that the
# multiplication by gamma destroys; exact reversal keeps them. Starting from the same final
# state, both reverse passes run side by side: where do their values part?

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order, recorded coordinates
output_dir = "build/results/reversal_precision"  # tables and figures go here
T = None  # elementary iterations (None: the profile's value; thesis: 2,000)
meta_iterations_before = None  # DrMAD sign steps before the comparison (thesis: 11)
tolerance = None  # relative difference counted as "parted"

# %%
from hpostudy import figures
from hpostudy.experiments import reversal

cfg = reversal.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir, T=T,
                                  meta_iterations_before=meta_iterations_before,
                                  tolerance=tolerance)
results = reversal.run(cfg)

# %% [markdown]
# ## Reverse path values

# %%
figures.reversal(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
