# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The adaptive method on the DenseNet (thesis Figs 3.15-3.20)
#
# **Overview.** Learning rates and L2 penalties tuned during a single training run: every K
# iterations, a hypergradient through the last n iterations on a validation batch, and a step
# along its sign. Two experiments, as in the thesis.
#
# **Prerequisites.** The `smoke` profile uses a depth-7 DenseNet on the embedded digits (the same
# code path); `paper` uses the thesis' DenseNet-40 on CIFAR-10 from the data root, with
# `--device cuda`. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/densenet_adaptive"  # tables, figures and checkpoints go here
epochs = None  # training epochs (thesis: 300)
experiments = None  # which of the two experiments to run, e.g. [1]

# %%
from hpostudy import figures
from hpostudy.experiments import densenet_adaptive

cfg = densenet_adaptive.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                    epochs=epochs, experiments=experiments)
results = densenet_adaptive.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.densenet_adaptive(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
