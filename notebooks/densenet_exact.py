# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Beyond the thesis: exact hypergradients for the DenseNet
#
# **Overview.** The thesis could not compute exact hypergradients for the DenseNet. Exact
# reversal can, for a shortened horizon: how well does DrMAD agree with it at this scale?
#
# **Prerequisites.** The `smoke` profile uses a depth-7 DenseNet on the embedded digits (the same
# code path); `paper` uses the thesis' DenseNet-40 on CIFAR-10 from the data root, with
# `--device cuda`. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/densenet_exact"  # tables, figures and checkpoints go here
T = None  # elementary iterations (shortened horizon)

# %%
from hpostudy import figures
from hpostudy.experiments import densenet_exact

cfg = densenet_exact.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                 T=T)
results = densenet_exact.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.densenet_exact(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
