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
#     chapter: stn
#     experiment: hpostudy.experiments.stn_sensitivity
# ---

# %% [markdown]
# # Self-Tuning Networks: sensitivity to the step ratio and the perturbation scale
#
# **Overview.** The CNN of the STN-CNN notebook, tuned by STNs that alternate 1/1, 2/1, 10/1
# and 15/15 training/validation steps, and by STNs whose perturbation scale is fixed at 0.1, 0.5
# or 1.0 instead of learned. The slides draw each variant against Bayesian optimization, which
# runs here beside them with the STN-CNN notebook's budget. Every run is repeated per seed.
#
# **Prerequisites.** As for the STN-CNN notebook. Every parameter left at `None` takes the
# profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.stn_sensitivity.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
steps: "Optional[int]" = None  # training steps of every network: the STN's and each search trial's
batch_size: "Optional[int]" = None  # examples (or sequences) per training and validation batch
train_steps: "Optional[int]" = None  # T_train, training steps per cycle of Algorithm 1
val_steps: "Optional[int]" = None  # T_val, validation steps per cycle
lr: "Optional[float]" = None  # Adam step of the network weights (the STN's and every trial's)
hyper_lr: "Optional[float]" = None  # Adam step of the STN's hyperparameters
scale_lr: "Optional[float]" = None  # Adam step of the STN's log perturbation scale
entropy_weight: "Optional[float]" = None  # tau, weight of the entropy of the perturbation
init_scale: "Optional[float]" = None  # initial perturbation scale sigma, in unconstrained units
eval_every: "Optional[int]" = None  # training steps between evaluations of a training curve
start: "Optional[float]" = None  # where every method starts: this position in every box (0.5: centre)
stn_steps: "Optional[int]" = None  # the STN's training steps (0: trials * steps, a search's total)
dataset: "Optional[str]" = None  # digits (embedded 8x8) or cifar10
n_train: "Optional[int]" = None  # training images (0: all that remain beside the validation images)
n_val: "Optional[int]" = None  # validation images (cifar10: taken from its training files)
channels: "Optional[list[int]]" = None  # widths of the 3x3 convolutions, 2x2 pooling after each
hidden: "Optional[list[int]]" = None  # widths of the fully connected layers
ratios: "Optional[list[str]]" = None  # train/val steps per cycle
fixed_scales: "Optional[list[float]]" = None  # fixed perturbation scales
trials: "Optional[int]" = None  # trials of the Bayesian optimization every variant is compared with

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import stn_sensitivity
from hpostudy.figures import save

cfg = stn_sensitivity.Config.from_notebook(globals())
results = stn_sensitivity.run(cfg)

# %% [markdown]
# ## Validation loss during training
# Mean over seeds per variant; the dashed line is Bayesian optimization's best trial (mean over
# seeds).

# %%
from hpostudy.figures.stn import LEGEND, WIDTH  # the chapter's figure width, legend size

curves, runs = results["curves"], results["runs"]
studies = list(dict.fromkeys(curves.study))
reference = runs[runs.study == "reference"].val_loss.mean()  # Bayesian optimization's best
fig, axes = plt.subplots(len(studies), 1, figsize=(WIDTH, 3.2 * len(studies)), sharex=True,
                         squeeze=False)
for study, ax in zip(studies, axes[:, 0]):
    for variant, g in curves[curves.study == study].groupby("variant", sort=False):
        mean = g.groupby("step").val_loss.mean()  # over seeds
        ax.plot(mean.index, mean.values, label=variant)
    ax.axhline(reference, color="0.3", ls="--", lw=1.2, label="Bayesian optimization")
    ax.set_title(study, fontsize=11)
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=LEGEND)
axes[-1, 0].set_xlabel("training step")
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_sensitivity");

# %% [markdown]
# ## Final losses per variant

# %%
results["finals"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The slides show every variant ahead of Bayesian optimization; the table says
# whether these runs agree, seed by seed.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values


def _variant_means(runs: pd.DataFrame) -> pd.Series:
    """runs.csv: each STN variant's final validation loss, averaged over seeds."""
    return runs[runs.study != "reference"].groupby("variant").val_loss.mean()


@book_values.recorded("runs.csv")
def stn_sensitivity_variant_val_loss_lowest(runs: pd.DataFrame) -> float:
    """runs.csv: the lowest of the variants' mean final validation losses (`_variant_means`)."""
    return _variant_means(runs).min()


@book_values.recorded("runs.csv")
def stn_sensitivity_variant_val_loss_highest(runs: pd.DataFrame) -> float:
    """runs.csv: the highest of the variants' mean final validation losses
    (`_variant_means`)."""
    return _variant_means(runs).max()


@book_values.recorded("runs.csv")
def stn_sensitivity_bayes_val_loss(runs: pd.DataFrame) -> float:
    """runs.csv: the validation loss of Bayesian optimization's best trial, averaged over
    seeds."""
    return runs[runs.study == "reference"].val_loss.mean()
