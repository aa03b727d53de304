# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Self-Tuning Networks: a CNN with dropout and data-augmentation hyperparameters
#
# **Overview.** A dropout rate per layer of an AlexNet-style CNN, colour jitter and cutout
# (holes and length, discrete), tuned by one STN run against grid search, random search and
# Bayesian optimization with the same model, data and training steps per trial.
#
# **Prerequisites.** `smoke` uses the embedded 8x8 digits (greyscale: hue and saturation do not
# apply); `cpu` and `paper` read CIFAR-10 from the data root (on this project's machines, the
# 5,000-image subset: lower `n_val`).

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order, dropout masks and searches
output_dir = "build/results/stn_cnn"  # tables, figures and checkpoints go here
steps = None  # training steps of the STN and of every trial
trials = None  # trials per black-box search
n_val = None  # validation images

# %%
from hpostudy import figures
from hpostudy.experiments import stn_cnn

cfg = stn_cnn.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
        steps=steps, trials=trials, n_val=n_val)
results = stn_cnn.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.stn_cnn(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
