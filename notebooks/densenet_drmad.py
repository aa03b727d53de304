# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # DrMAD on the DenseNet (thesis Figs 3.8-3.14)
#
# **Overview.** Per-parameter L2 hyperparameters tuned by DrMAD from three starting values
# (1e-4, 1e-2, 1e-7), meta-steps along the sign of the hypergradient with momentum 0.7, the
# number of epochs growing by x1.4 per meta-iteration. A NaN stops a run with its status kept.
#
# **Prerequisites.** The `smoke` profile uses a depth-7 DenseNet on the embedded digits (the same
# code path); `paper` uses the thesis' DenseNet-40 on CIFAR-10 from the data root, with
# `--device cuda`. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/densenet_drmad"  # tables, figures and checkpoints go here
initial_l2 = None  # log10 L2 at the start of each run (thesis: -4, -2, -7)
first_epochs = None  # epochs of meta-iteration 0 per run (thesis: 100, 10, 10)
max_epochs = None  # cap on the epochs (thesis: 300)
meta_iterations = None  # meta-iterations per run

# %%
from hpostudy import figures
from hpostudy.experiments import densenet_drmad

cfg = densenet_drmad.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                 initial_l2=initial_l2, first_epochs=first_epochs,
                                 max_epochs=max_epochs, meta_iterations=meta_iterations)
results = densenet_drmad.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.densenet_drmad(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
