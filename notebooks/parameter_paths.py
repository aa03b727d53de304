# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Parameter paths of a small CNN (thesis Figs 2.1 and 2.2)
#
# **Overview.** DrMAD reverses training along the straight line from the initial to the final
# weights. How straight are the real paths? We train the thesis' small CNN
# (conv-maxpool-conv-maxpool-dropout-FC-dropout-FC, dropout 0.5) with SGD with momentum
# (learning rate 0.005, momentum 0.95, L2 0.02) and record random coordinates of the weights at
# every step.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile uses the
# embedded digits; `cpu` and `paper` use CIFAR-10 from the data root.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order and dropout masks
output_dir = "build/results/parameter_paths"  # tables and figures go here
epochs = None  # training epochs (None: the profile's value)
lr = None  # learning rate, usual form (thesis: 0.005)
coordinates = None  # random coordinates recorded

# %%
from hpostudy import figures
from hpostudy.experiments import paths

cfg = paths.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
                               epochs=epochs, lr=lr, coordinates=coordinates)
results = paths.run(cfg)

# %% [markdown]
# ## The paths
# Each panel of the first figure follows two random coordinates from the initial value (green)
# to the final one (red); the second figure shows single coordinates against the iteration.

# %%
figures.parameter_paths(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis found the paths far from straight and erratic in random coordinates,
# so a straight reverse path (DrMAD) is a crude approximation; the table above says whether
# this run agrees, with the measure it used.
