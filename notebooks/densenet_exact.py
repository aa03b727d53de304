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
#     experiment: hpostudy.experiments.densenet_exact
# ---

# %% [markdown]
# # Beyond the thesis: exact hypergradients for the DenseNet
#
# **Overview.** The thesis could not compute exact hypergradients for the DenseNet. Exact
# reversal can, for a shortened horizon: how close is DrMAD's direction to the exact one at
# this scale? Per seed, the exact hypergradient and DrMAD's (reverse steps from the beta
# estimate, and as many as the forward steps) at the initial hyperparameters.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile trains a
# DenseNet of depth 7 on the embedded 8x8 digits (the same code path, in seconds); `cpu` a
# DenseNet of depth 7 on the real CIFAR-10 subset from the data root; `paper` the thesis'
# DenseNet-40 on the complete CIFAR-10, on a GPU. Every parameter left at `None` takes the
# profile's value. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.densenet_exact.Config: edit the knobs there.
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
T: "Optional[int]" = None  # elementary iterations (a shortened horizon)
log10_l2: "Optional[float]" = None  # log10 L2 of every weight and batch-norm scale
radix: "Optional[int]" = None  # fixed-point fractional bits of the exact method (36 to 60)

# %%
from hpostudy.experiments import densenet_exact

cfg = densenet_exact.Config.from_notebook(globals())
results = densenet_exact.run(cfg)

# %% [markdown]
# ## Agreement with the exact hypergradient
# Cosine and sign cosine between DrMAD's and the exact hypergradient (bars: mean over seeds,
# dots: seeds); the table holds the norms.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hpostudy.figures import save
from hpostudy.figures.helpers import LEGEND

agreement = results["exact_vs_drmad"]
variants = list(dict.fromkeys(agreement.variant))
x = np.arange(len(variants))
fig, ax = plt.subplots(figsize=(6.0, 3.6))
for offset, measure, color in ((-0.2, "cosine", "tab:red"), (0.2, "sign cosine", "tab:blue")):
    by_variant = [agreement[agreement.variant == name][measure] for name in variants]
    ax.bar(x + offset, [values.mean() for values in by_variant], width=0.38, color=color,
           alpha=0.6, label=measure)
    for i, values in enumerate(by_variant):
        ax.plot(np.full(len(values), x[i] + offset), values, "o", color=color, ms=4)
ax.set_xticks(x, [f"{name}\n(S = {int(agreement[agreement.variant == name].S.iloc[0])})"
                  for name in variants])
ax.axhline(0, color="0.5", lw=0.8)
ax.set_ylim(-1, 1)
ax.set_ylabel("agreement with the exact hypergradient")
ax.set_title(f"DrMAD vs exact ({agreement.seed.nunique()} seed(s), dots: seeds)", fontsize=10)
ax.legend(fontsize=LEGEND)
fig.tight_layout()
save(fig, cfg.output_dir, "fig_densenet_exact")

# %% [markdown]
# ## Norms and cosines per seed

# %%
results["exact_vs_drmad"]

# %% [markdown]
# ## Paper vs reproduced
# One rule per claim, from a 95% interval over seeds behind the claim's scale gate; the
# rule column says how the verdict follows, the setting column how the run differs from the
# thesis.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** Sign-SGD, which the thesis' DenseNet runs use, moves along the signs of the
# hypergradient, so the sign cosine matters as much as the cosine; the table says whether
# DrMAD's direction is close to the exact one, and closer than a random direction's.
