# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # How good are DrMAD hypergradients? (thesis Figs 3.1, 3.2, 3.3)
#
# **Overview.** DrMAD is cheap, but does its hypergradient point the right way? Following the
# signs of the DrMAD hypergradient for a few meta-iterations, we compute the exact hypergradient
# (exact reversal) at the same hyperparameters and compare norms (Fig 3.1), directions
# (Fig 3.2) and the errors reached (Fig 3.3, beside a run that follows DrMAD2). The three
# figures come from the same meta-runs, so they share one notebook.
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order
output_dir = "build/results/drmad_quality"  # tables, figures and checkpoints go here
horizons = None  # elementary iterations T per run (None: the profile's value)
reverse_steps = None  # DrMAD reverse steps S per run
meta_iterations = None  # meta-iterations per run
drmad2_exact_steps = None  # exact reverse steps of DrMAD2

# %%
from hpostudy import figures
from hpostudy.experiments import drmad_quality

cfg = drmad_quality.Config.for_profile(
    profile, device=device, seed=seed, output_dir=output_dir, horizons=horizons,
    reverse_steps=reverse_steps, meta_iterations=meta_iterations,
    drmad2_exact_steps=drmad2_exact_steps)
results = drmad_quality.run(cfg)

# %% [markdown]
# ## Norms, cosines and errors

# %%
figures.drmad_quality(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
