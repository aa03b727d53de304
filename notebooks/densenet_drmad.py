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
#     experiment: hpostudy.experiments.densenet_drmad
# ---

# %% [markdown]
# # DrMAD on the DenseNet (thesis Figs 3.8-3.14)
#
# **Overview.** Per-parameter L2 hyperparameters tuned by DrMAD from three starting values
# (1e-4, 1e-2, 1e-7), meta-steps along the sign of the hypergradient with momentum 0.7, the
# number of epochs growing by x1.4 per meta-iteration. A NaN stops a run: its completed
# meta-iterations are kept, and the status table says where and why it stopped.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile trains a
# DenseNet of depth 7 on the embedded 8x8 digits (the same code path, in seconds); `cpu` a
# DenseNet of depth 7 on the real CIFAR-10 subset from the data root; `paper` the thesis'
# DenseNet-40 on the complete CIFAR-10, on a GPU. Every parameter left at `None` takes the
# profile's value. Runs checkpoint and resume where they stopped.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.densenet_drmad.Config: edit the knobs there.
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
initial_l2: "Optional[list[float]]" = None  # log10 L2 at the start (thesis: -4, -2, -7)
first_epochs: "Optional[list[int]]" = None  # epochs of meta-iteration 0 (thesis: 100, 10, 10)
epoch_growth: "Optional[float]" = None  # the epochs multiply by this each meta-iteration (thesis: 1.4)
max_epochs: "Optional[int]" = None  # cap on the epochs of a meta-iteration (thesis: 300)
meta_iterations: "Optional[int]" = None  # meta-iterations per run (thesis: up to 9)
meta_lr: "Optional[float]" = None  # sign step on the log10 L2 hyperparameters (thesis: 0.3333)
meta_momentum: "Optional[float]" = None  # momentum of the meta-steps (thesis: 0.7)
clip: "Optional[float]" = None  # weights projected onto [-clip, clip] (thesis: 1000)
random_direction: "Optional[list[float]]" = None  # of initial_l2, those also run with random-sign meta-steps (the null; others skipped)

# %%
from hpostudy.experiments import densenet_drmad

cfg = densenet_drmad.Config.from_notebook(globals())
results = densenet_drmad.run(cfg)

# %% [markdown]
# ## Errors and hyperparameters per meta-iteration
# Fig 3.8: the test error at the end of each meta-iteration, one panel per initial L2, one line
# per seed; dashed, the random-direction control of the same seed where it ran. Each tick names
# the meta-iteration's epochs, and the meta-iterations that train longer than meta-iteration 0
# are shaded: their error is not comparable with its (the epoch confound).

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import save
from hpostudy.figures.helpers import LEGEND, errors_over_seeds, layer_lines, shared_legend

meta, during, layers = (results["meta_iterations"], results["during_training"],
                        results["layer_l2"])
if "direction" not in meta:  # a run without the random-direction control
    meta = meta.assign(direction="DrMAD")
inits = list(dict.fromkeys(meta.init_l2))
cols = min(max(len(inits), 1), 2)
rows = -(-max(len(inits), 1) // cols)
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
axes = axes.flat
for ax in axes[len(inits):]:
    ax.set_visible(False)
for init, ax in zip(inits, axes):
    g = meta[meta.init_l2 == init]
    for (direction, run_seed), run in g.groupby(["direction", "seed"]):
        run = run.sort_values("meta_iteration")
        ax.plot(run.meta_iteration, 100 * run.test_error,
                "-o" if direction == "DrMAD" else "--x", ms=4,
                color=colors[int(run_seed) % len(colors)],
                label=f"seed {int(run_seed)}" + ("" if direction == "DrMAD" else
                                                 f", {direction}"))
    epochs_run = g[g.direction == "DrMAD"].groupby("meta_iteration").epochs.max()
    if len(epochs_run):
        longer = epochs_run[epochs_run != epochs_run.iloc[0]]
        for i in longer.index:
            ax.axvspan(i - 0.5, i + 0.5, color="0.85", lw=0, zorder=0)
        ax.set_xticks(list(epochs_run.index), [f"{i}\n{e} ep" for i, e in epochs_run.items()])
        note = (f"shaded: longer than meta-iteration 0 ({epochs_run.iloc[0]} epoch(s))"
                if len(longer) else f"every meta-iteration {epochs_run.iloc[0]} epochs")
        ax.set_title(f"initial L2 1e{init:g}\n{note}", fontsize=10)
    ax.set_xlabel("meta-iteration (its epochs)")
    ax.set_ylabel("test error (%)")
shared_legend(fig, ncol=3)  # below the panels: a legend on one would hide its lines
save(fig, cfg.output_dir, "fig3_8")

# %% [markdown]
# Figs 3.9, 3.11, 3.13: the errors during training with DrMAD, the meta-iterations one after
# another (first seed; grey lines separate the meta-iterations). Figs 3.10, 3.12, 3.14: the
# per-layer average log10 L2 per meta-iteration (first seed), coloured from the input to the
# output layer. One pair per initial L2 of the thesis that was run.

# %%
if "direction" in during:
    during = during[during.direction == "DrMAD"]
if "direction" in layers:
    layers = layers[layers.direction == "DrMAD"]
numbers = {-4.0: ("fig3_9", "fig3_10"), -2.0: ("fig3_11", "fig3_12"),
           -7.0: ("fig3_13", "fig3_14")}
for init, (during_name, layer_name) in numbers.items():
    if init not in set(meta.init_l2) | set(during.init_l2):
        continue
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    d = during[during.init_l2 == init]
    shown = ""
    if len(d):
        shown_seed = int(d.seed.min())
        d = d[d.seed == shown_seed].sort_values(["meta_iteration", "epoch"])
        # epochs counted on from the end of the previous meta-iteration
        offsets = d.groupby("meta_iteration").epoch.max().cumsum().shift(fill_value=0)
        d = d.assign(x=d.epoch + d.meta_iteration.map(offsets))
        errors_over_seeds(ax, d, "x", batch=False)
        for boundary in offsets.iloc[1:]:
            ax.axvline(boundary, color="0.6", lw=0.8)
        ax.legend(fontsize=LEGEND)
        shown = f" (seed {shown_seed})"
    ax.set_xlabel("epoch (meta-iterations one after another)")
    ax.set_title(f"Errors during training with DrMAD, initial L2 1e{init:g}{shown}",
                 fontsize=10)
    fig.tight_layout()
    save(fig, cfg.output_dir, during_name)

    lay = layers[layers.init_l2 == init]
    fig = layer_lines(lay[lay.seed == lay.seed.min()], "meta_iteration", "meta-iteration",
                      f"Per-layer average log10 L2 with DrMAD, starting at {init:g} (seed "
                      f"{int(layers.seed.min()) if len(layers) else 0})", "log10 L2")
    save(fig, cfg.output_dir, layer_name)

# %% [markdown]
# ## How each run ended

# %%
results["status"]

# %% [markdown]
# ## Paper vs reproduced
# One rule per claim, from a 95% interval over seeds behind the claim's scale gate; the
# rule column says how the verdict follows, the setting column how the run differs from the
# thesis.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The thesis found no improvement from 1e-4, a zero hypergradient from 1e-2 and
# NaNs from 1e-4 and 1e-7; each claim gets a rule over seeds above, judged at equal epochs and
# against random sign steps of the same size where the runs include that control, and a claim
# the runs are too short to test is marked "not comparable" with the reason.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd


def _drmad_runs(meta: pd.DataFrame, init: float) -> pd.DataFrame:
    """The DrMAD runs (not the random-direction control) from ``init`` in meta_iterations.csv,
    ordered by seed and meta-iteration."""
    if "direction" in meta:
        meta = meta[meta.direction == "DrMAD"]
    return meta[meta.init_l2 == init].sort_values(["seed", "meta_iteration"])


@book_values.recorded("meta_iterations.csv")
def densenet_equal_epoch_rises(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-4: the seeds whose test error is higher at the last
    meta-iteration that trains as many epochs as meta-iteration 0 than at meta-iteration 0."""
    count = 0
    for _, g in _drmad_runs(meta, -4.0).groupby("seed"):
        same = g[g.epochs == g.epochs.iloc[0]]
        count += int(same.test_error.iloc[-1] > same.test_error.iloc[0])
    return count


@book_values.recorded("meta_iterations.csv")
def densenet_drmad_seeds(meta: pd.DataFrame) -> float:
    """meta_iterations.csv: the number of seeds of the DrMAD runs from 1e-4."""
    return _drmad_runs(meta, -4.0).seed.nunique()


@book_values.recorded("meta_iterations.csv", show=book_values.percent)
def densenet_first_error_1e2(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-2: the test error at meta-iteration 0, mean over
    seeds."""
    g = _drmad_runs(meta, -2.0)
    return mean_sd(g[g.meta_iteration == 0].test_error)[0]


@book_values.recorded("meta_iterations.csv")
def densenet_nonfinite_first_1e2(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-2: the seeds whose first hypergradient (meta-iteration
    0) is NaN or infinite (its norm not recorded)."""
    g = _drmad_runs(meta, -2.0)
    return int(g[g.meta_iteration == 0].hypergrad_norm.isna().sum())


@book_values.recorded("meta_iterations.csv")
def densenet_largest_first_norm_1e2(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-2: the largest finite norm of a first hypergradient
    (meta-iteration 0)."""
    g = _drmad_runs(meta, -2.0)
    return float(g[g.meta_iteration == 0].hypergrad_norm.max())


@book_values.recorded("meta_iterations.csv", show=book_values.percent)
def densenet_share_decreased_1e7(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-7: the share of L2 hyperparameters below their start
    at each seed's last meta-iteration, mean over seeds."""
    g = _drmad_runs(meta, -7.0)
    return mean_sd(g.groupby("seed").l2_decreased.last())[0]
