# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The DenseNet benchmark (thesis Fig 3.7)
#
# **Overview.** The reference every DrMAD and adaptive run is compared with: a DenseNet trained with
# SGD with Nesterov momentum, a fixed L2 of 1e-4 and the thesis' learning-rate schedule, errors
# per epoch on the full sets and on cycling batches as in the thesis.
#
# **Prerequisites.** The `smoke` profile uses a depth-7 DenseNet on the embedded digits (the same
# code path); `paper` uses the thesis' DenseNet-40 on CIFAR-10 from the data root, with
# `--device cuda`. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/densenet_benchmark"  # tables, figures and checkpoints go here
epochs = None  # training epochs (None: the profile value)
optimizer = None  # nesterov (the thesis) | momentum
lr_schedule = None  # thesis (/10 at epochs 30 and 60) | densenet (at 50% and 75%)

# %%
from hpostudy import figures
from hpostudy.experiments import densenet_benchmark

cfg = densenet_benchmark.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                                     epochs=epochs, optimizer=optimizer, lr_schedule=lr_schedule)
results = densenet_benchmark.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.densenet_benchmark(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
