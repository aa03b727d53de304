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
#     experiment: hpostudy.experiments.densenet_benchmark
# ---

# %% [markdown]
# # The DenseNet benchmark (thesis Fig 3.7)
#
# **Overview.** The reference every DrMAD and adaptive run is compared with: a DenseNet trained
# with SGD with Nesterov momentum, a fixed L2 of 1e-4 and the thesis' learning-rate schedule;
# errors per epoch on the full sets and, as in the thesis, on cycling batches, once per seed.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile trains a
# DenseNet of depth 7 on the embedded 8x8 digits (the same code path, in seconds); `cpu` a
# DenseNet of depth 7 on the real CIFAR-10 subset from the data root; `paper` the thesis'
# DenseNet-40 on the complete CIFAR-10, on a GPU. Every parameter left at `None` takes the
# profile's value. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.densenet_benchmark.Config: edit the knobs there.
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
n_val: "Optional[int]" = None  # validation examples (thesis: 5,000 of CIFAR-10's 50,000 training images)
momentum: "Optional[float]" = None  # momentum decay (thesis: 0.9)
optimizer: "Optional[str]" = None  # nesterov (the thesis) | momentum (regular, DrMAD's derivation)
lr_schedule: "Optional[str]" = None  # thesis: /10 at epochs 30 and 60 | densenet: at 50% and 75%
epochs: "Optional[int]" = None  # training epochs (the thesis' runs: 300)
log10_l2: "Optional[float]" = None  # L2 coefficient 10**log10_l2 on weights and batch-norm scales

# %%
from hpostudy.experiments import densenet_benchmark

cfg = densenet_benchmark.Config.from_notebook(globals())
results = densenet_benchmark.run(cfg)

# %% [markdown]
# ## Errors per epoch
# The mean over seeds (the range shaded where there are several): full sets solid, cycling
# batches dotted. Epoch 0 is the initialization.

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import save
from hpostudy.figures.helpers import LEGEND, errors_over_seeds, seeds_note

benchmark = results["benchmark"]
fig, ax = plt.subplots(figsize=(6.4, 3.8))
errors_over_seeds(ax, benchmark, "epoch")
ax.set_xlabel("epoch (0: initialization)")
ax.set_title(f"DenseNet benchmark ({seeds_note(benchmark)})", fontsize=10)
ax.legend(fontsize=LEGEND, ncol=2)
fig.tight_layout()
save(fig, cfg.output_dir, "fig3_7")

# %% [markdown]
# ## Paper vs reproduced
# One rule per claim, from a 95% interval over seeds behind the claim's scale gate; the
# rule column says how the verdict follows, the setting column how the run differs from the
# thesis.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis' benchmark error belongs to a converged DenseNet-40 on CIFAR-10; a
# shorter or smaller run is marked "not comparable" and shows its own errors beside it. A run
# whose loss explodes or whose training error stays at chance level stops with a message
# instead of yielding a verdict.
