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
#     chapter: densenet
#     experiment: hpostudy.experiments.densenet_adaptive
# ---

# %% [markdown]
# # The adaptive method on the DenseNet (thesis Figs 3.15-3.20)
#
# **Overview.** Learning rates and L2 penalties tuned during a single training run: every K
# iterations, a hypergradient through the last n iterations on a validation batch, and a step
# along its sign. Two experiments, as in the thesis, each with every seed.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile trains a
# DenseNet of depth 7 on the embedded 8x8 digits (the same code path, in seconds); `cpu` a
# DenseNet of depth 7 on the real CIFAR-10 subset from the data root; `paper` the thesis'
# DenseNet-40 on the complete CIFAR-10, on a GPU. Every parameter left at `None` takes the
# profile's value. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.densenet_adaptive.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded 8x8) | cifar10 (from the data root)
n_train: "Optional[int]" = None  # training examples (None: all but the validation ones)
depth: "Optional[int]" = None  # DenseNet depth, 4 + 3 x layers per block (thesis: 40)
growth: "Optional[int]" = None  # growth rate (thesis: 12)
first: "Optional[int]" = None  # feature maps of the first convolution (thesis: 16)
dropout: "Optional[float]" = None  # dropout after every convolution (thesis: 0.2)
batch_size: "Optional[int]" = None  # mini-batch size (thesis: 64)
lr: "Optional[float]" = None  # usual-form (initial) learning rate (thesis: 0.1)
eval_batch: "Optional[int]" = None  # size of the cycling evaluation batches (thesis: 500-1000)
epochs: "Optional[int]" = None  # training epochs (thesis: 300)
experiments: "Optional[list[int]]" = None  # which of the thesis' two experiments to run
every: "Optional[list[int]]" = None  # steps between updates, per experiment (thesis: 100, 131)
window: "Optional[list[int]]" = None  # iterations the hypergradient looks back (thesis: 5, 4)
momenta: "Optional[list[float]]" = None  # elementary momentum decay (thesis: 0.9, 0.95)
val_sizes: "Optional[list[int]]" = None  # validation examples (thesis: 10,000, 14,000)
l2_rates: "Optional[list[float]]" = None  # sign step on the log10 L2 (thesis: 0.01, 0.02)
lr_rates: "Optional[list[float]]" = None  # sign step on the ln learning rates (thesis: 0.2, 0.1)
initial_log10_l2: "Optional[float]" = None  # log10 L2 of every weight at the start (thesis: -4)

# %%
from hpostudy.experiments import densenet_adaptive

cfg = densenet_adaptive.Config.from_notebook(globals())
results = densenet_adaptive.run(cfg)

# %% [markdown]
# ## Errors and hyperparameters per epoch
# Figs 3.15 and 3.18: errors per epoch (mean over seeds, range shaded). Figs 3.16, 3.17, 3.19,
# 3.20: per-layer average log10 L2 and log10 learning rates (first seed), coloured from the
# input to the output layer. Each experiment that was run gets its three figures.

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import save
from hpostudy.figures.helpers import LEGEND, errors_over_seeds, layer_lines, seeds_note

errors, hyper = results["errors"], results["layer_hyperparameters"]
numbers = {1: ("fig3_15", "fig3_16", "fig3_17"), 2: ("fig3_18", "fig3_19", "fig3_20")}
for k, (errors_name, l2_name, lr_name) in numbers.items():
    e = errors[errors.experiment == k]
    if e.empty:  # experiment k was not run
        continue
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    errors_over_seeds(ax, e, "epoch")
    ax.set_xlabel("epoch (0: initialization)")
    ax.set_title(f"Errors with the adaptive method, experiment {k} ({seeds_note(e)})",
                 fontsize=10)
    ax.legend(fontsize=LEGEND, ncol=2)
    fig.tight_layout()
    save(fig, cfg.output_dir, errors_name)

    h = hyper[hyper.experiment == k]
    h = h[h.seed == h.seed.min()]
    fig = layer_lines(h[h.kind == "log10_l2"], "epoch", "epoch",
                      f"Per-layer average log10 L2, experiment {k} (first seed)", "log10 L2")
    save(fig, cfg.output_dir, l2_name)
    fig = layer_lines(h[h.kind == "log10_lr"], "epoch", "epoch",
                      f"Per-layer average log10 learning rate, experiment {k} (first seed)",
                      "log10 learning rate")
    save(fig, cfg.output_dir, lr_name)

# %% [markdown]
# ## Paper vs reproduced
# One rule per claim, from a 95% interval over seeds behind the claim's scale gate; the
# rule column says how the verdict follows, the setting column how the run differs from the
# thesis.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis saw a final test error worse than the benchmark's, the validation set
# overfitted after about 30 epochs and learning rates that fell, perhaps too fast; the table
# says which of these the runs can test and what they show.
