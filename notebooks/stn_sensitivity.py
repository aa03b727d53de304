# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Self-Tuning Networks: sensitivity to the step ratio and the perturbation scale
#
# **Overview.** The CNN of the STN-CNN notebook, tuned by STNs that alternate 1/1, 2/1, 10/1
# and 15/15 training/validation steps, and by STNs with the perturbation scale fixed at 0.1, 0.5
# and 1.0 instead of learned.
#
# **Prerequisites.** As for the STN-CNN notebook.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order, dropout masks and searches
output_dir = "build/results/stn_sensitivity"  # tables, figures and checkpoints go here
ratios = None  # train/val steps per cycle, e.g. ['1/1', '2/1']
fixed_scales = None  # fixed perturbation scales
steps = None  # training steps per run

# %%
from hpostudy import figures
from hpostudy.experiments import stn_sensitivity

cfg = stn_sensitivity.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
        ratios=ratios, fixed_scales=fixed_scales, steps=steps)
results = stn_sensitivity.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.stn_sensitivity(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
