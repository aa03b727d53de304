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
#     experiment: hpostudy.experiments.stn_cnn
# ---

# %% [markdown]
# # Self-Tuning Networks: a CNN with dropout and data-augmentation hyperparameters
#
# **Overview.** A dropout rate per layer of an AlexNet-style CNN, colour jitter (brightness,
# contrast, saturation, hue) and cutout (holes and length, discrete), tuned by a Self-Tuning
# Network (MacKay et al. 2019), against grid search, random search and Bayesian optimization.
# Every method trains the same network for the same number of steps per network, searches the
# same boxes and starts from the same point (`start`: a position in every box, by default its
# centre); the grid spans two tied groups (every dropout rate; every augmentation). Each method
# runs once per seed.
#
# **Prerequisites.** `smoke` uses the embedded 8x8 digits (greyscale: hue and saturation do not
# apply); `cpu` and `paper` read the CIFAR-10 subset from the data root. The STN checkpoints and
# the searches keep their trials in an SQLite study, so a killed run resumes. Every parameter
# left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.stn_cnn.Config: edit the knobs there.
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
trials: "Optional[int]" = None  # trials per black-box search (grid: ceil(sqrt(trials)) points per group)

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import stn_cnn
from hpostudy.figures import save
from hpostudy.figures.stn import best_so_far_panel, group_panels

cfg = stn_cnn.Config.from_notebook(globals())
results = stn_cnn.run(cfg)

# %% [markdown]
# ## Schedules
# The STN's hyperparameters during training (first seed), one panel per kind.

# %%
schedule = results["schedule"]  # a panel per group, top down (the names the run has)
fig = group_panels(schedule[schedule.seed == schedule.seed.min()], {  # the first seed's run
    "dropout rate": [n for n in schedule.hyperparameter.unique() if n.startswith("drop")],
    "jitter strength": ["brightness", "contrast", "saturation", "hue"],
    "cutout (holes, length)": ["cutout_holes", "cutout_length"]})
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_cnn_schedules");

# %% [markdown]
# ## Progress
# The best validation loss each method had found against the training steps it had spent (log
# scale; one line per seed): the STN trains one network, a search one per trial.

# %%
from hpostudy.figures.stn import WIDTH  # the chapter's figure width

fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
best_so_far_panel(ax, results["progress"])  # the loss
ax.set_ylabel("best validation loss")
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_cnn_time");

# %% [markdown]
# ## The methods
# Final validation and test loss and test error (mean ± standard deviation over seeds) of the
# STN's network and of each search's best trial, with the training they cost.

# %%
results["methods"]

# %% [markdown]
# ## Paper vs reproduced
# One row per claim of the slides; the rule column says how the verdict follows from the seeds.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The slides found the STN ahead of every search at a fraction of their cost; the
# table says whether these runs agree, seed by seed, at their stated (smaller) setting.
