# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   hpostudy:
#     chapter: drmad_quality
#     experiment: hpostudy.experiments.reversal_precision
# ---

# %% [markdown]
# # Reversal with and without exact arithmetic (thesis Fig 3.6)
#
# **Overview.** Reversing SGD with momentum in floating point loses the bits that the
# multiplication by gamma destroys; exact reversal keeps them. After a few meta-steps along the
# DrMAD signs, both reverse passes run side by side from the same final state, once per seed:
# where do their values part?
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.reversal_precision.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded) or mnist
n_train: "Optional[int]" = None  # training examples
n_val: "Optional[int]" = None  # validation examples
n_test: "Optional[int]" = None  # test examples
hidden: "Optional[list[int]]" = None  # hidden layer widths
batch_size: "Optional[int]" = None  # mini-batch size (DrMAD code: 50)
lr: "Optional[float]" = None  # thesis-form learning rate alpha (DrMAD code: 0.05)
momentum: "Optional[float]" = None  # gamma (rounded to n/2^16 for the exact method)
init_log_scale: "Optional[float]" = None  # s at the start (w is e^s z)
init_log_l2: "Optional[float]" = None  # lambda at the start (penalty e^lambda ||z||^2)
T: "Optional[int]" = None  # elementary iterations (thesis: 2,000)
meta_iterations_before: "Optional[int]" = None  # DrMAD sign steps first (thesis: 11)
drmad_reverse_steps: "Optional[int]" = None  # S of those DrMAD steps
coordinates: "Optional[int]" = None  # coordinates of w, v, d_w and d_meta recorded
tolerance: "Optional[float]" = None  # relative difference at which the paths "part"
meta_lr: "Optional[float]" = None  # step along the sign of the hypergradient (DrMAD code: 0.07)

# %%
from hpostudy.experiments import reversal_precision

cfg = reversal_precision.Config.from_notebook(globals())
results = reversal_precision.run(cfg)

# %% [markdown]
# ## Reverse path values (first seed)
# Fig 3.6. Top row: each norm with exact arithmetic (solid) and in floating point (dashed),
# the y-axis held to the exact values' range (a decade either side), so the floating-point
# curve leaves the axis where it runs away instead of stretching it to 1e72. Bottom row: their
# relative difference, with the tolerance (dotted). The vertical line marks the first reverse
# step where they differ by more than the tolerance (the `parting` table below).

# %%
import matplotlib.pyplot as plt
import numpy as np

from hpostudy.figures import save
from hpostudy.figures.helpers import shared_legend

path = results["reverse_path"]
shown_seed = path.seed.min()
path = path[path.seed == shown_seed]
exact = path[path.arithmetic == "exact"].sort_values("reverse_step")
flt = path[path.arithmetic == "float"].sort_values("reverse_step")
parting = results["parting"]
parting = parting[parting.seed == shown_seed].set_index("quantity").parting_step
quantities = {"w_norm": "|w|", "v_norm": "|v|", "d_meta_norm": "|d_meta|", "d_w_norm": "|d_w|"}

fig, axes = plt.subplots(2, len(quantities), figsize=(3.3 * len(quantities), 6.4),
                         sharex=True, squeeze=False)
for k, (col, label) in enumerate(quantities.items()):
    step = exact.reverse_step.to_numpy()
    a, b = exact[col].to_numpy(), flt[col].to_numpy()
    rel = np.abs(b - a) / np.maximum(np.abs(a), 1e-300)
    top, bottom = axes[0][k], axes[1][k]
    top.semilogy(step, a, "-", color="black", lw=1.4, label="exact arithmetic")
    top.semilogy(step, b, "--", color="tab:red", lw=1.2, label="floating point (float64)")
    positive = a[a > 0]
    top.set_ylim(positive.min() / 10, positive.max() * 10)
    top.set_title(label, fontsize=11)
    bottom.semilogy(step, np.clip(rel, 1e-17, None), color="tab:red", lw=1.2)
    bottom.axhline(cfg.tolerance, color="0.4", ls=":", lw=1.2,
                   label=f"tolerance {cfg.tolerance:g} (relative)")
    bottom.set_ylim(1e-17, 1e2)
    bottom.set_xlabel("reverse step")
    if parting[col] < len(step):  # the table's step count means "never parted"
        for ax in (top, bottom):
            ax.axvline(parting[col], color="tab:blue", lw=1.0, label="where they part")
        bottom.text(parting[col], 1e-15, f" step {parting[col]}", color="tab:blue",
                    fontsize=10)
axes[0][0].set_ylabel("norm")
axes[1][0].set_ylabel("relative difference")
fig.suptitle(f"Exact and floating-point reversal (seed {shown_seed}; reverse step 0 is "
             "t = T-1)", fontsize=12)
shared_legend(fig)
fig.set_layout_engine("tight", rect=(0, 0.1, 1, 1))  # the legend below the step labels
save(fig, cfg.output_dir, "fig3_6")

# %% [markdown]
# ## Where the two passes part, per seed and quantity

# %%
results["parting"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded runs (on the CPU and on
# the H100): the book computes them from the recorded files at every build
# (`hpostudy.study.book_values`), each named like its function.
import pandas as pd

from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd


@book_values.recorded("parting.csv")
def reversal_parting_step(parting: pd.DataFrame) -> float:
    """parting.csv: per seed the first reverse step at which any quantity parts (the
    smallest ``parting_step``), mean over seeds."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]


@book_values.recorded("parting.csv", profile="h100")
def reversal_parting_step_h100(parting: pd.DataFrame) -> float:
    """The H100 run's parting.csv (one seed): as `reversal_parting_step`."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]
