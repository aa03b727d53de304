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
#     experiment: hpostudy.experiments.drmad_explosion
# ---

# %% [markdown]
# # Why DrMAD's hypergradient explodes
#
# **Overview.** The thesis found DrMAD's hypergradient of the exact one's order of magnitude
# with about 200 reverse steps and several orders of magnitude larger with 2,000. We run the
# same adjoint recursion along the true training path (giving the exact hypergradient) and
# along DrMAD's straight line, with S unscaled steps as the thesis and the DrMAD code did and
# with steps scaled by T/S; we record the norm of the adjoint and the curvature it meets at
# every reverse step, and the extreme eigenvalues of the training loss' Hessian (Lanczos
# iterations with Hessian-vector products) at points of the path and of the line. All of it for
# the setting's learning rate and for larger ones, and for several seeds.
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.drmad_explosion.Config: edit the knobs there.
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
T: "Optional[int]" = None  # elementary iterations (thesis: 2,000 to 200,000)
reverse_steps: "Optional[list[int]]" = None  # DrMAD reverse steps S (thesis: ~200, ~2,000)
other_learning_rates: "Optional[list[float]]" = None  # thesis-form alphas compared with lr
points: "Optional[int]" = None  # points of each path where the Hessian's extreme eigenvalues are taken
hessian_batches: "Optional[int]" = None  # mini-batches averaged in those Hessians
lanczos_steps: "Optional[int]" = None  # Lanczos iterations per Hessian

# %%
from hpostudy.experiments import drmad_explosion

cfg = drmad_explosion.Config.from_notebook(globals())
results = drmad_explosion.run(cfg)

# %% [markdown]
# ## Inside the reverse passes
# Left: the adjoint's norm along each reverse pass (first seed). Middle: the curvature of the
# mini-batch loss in the adjoint's direction; where it is negative, each reverse step
# multiplies the adjoint by more than 1. Right: the smallest and largest eigenvalue of the
# loss' Hessian on the true path and on the straight line (every seed).

# %%
import matplotlib.pyplot as plt

from hpostudy.figures import save
from hpostudy.figures.helpers import shared_legend

steps, hessians = results["steps"], results["hessians"]
shown_seed = steps.seed.min()
rates = sorted(steps.lr.unique())
passes = list(dict.fromkeys(steps.sort_values("pass", key=lambda s: s != "true path")["pass"]))
lines = [name for name in passes if name != "true path"]  # DrMAD's lines, coloured in turn
line_colors = ["tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink"]
styles = {"true path": {"color": "black", "lw": 1.8}}
styles.update({name: {"color": line_colors[i % len(line_colors)],
                      "ls": ":" if "T/S" in name else "-"} for i, name in enumerate(lines)})

fig, axes = plt.subplots(len(rates), 3, figsize=(14, 3.8 * len(rates)), squeeze=False,
                         sharex=True)
for row, rate in zip(axes, rates):
    s = steps[(steps.lr == rate) & (steps.seed == shown_seed)]
    for name in passes:
        g = s[s["pass"] == name].sort_values("position")
        row[0].semilogy(g.position, g.dw_norm, label=name, **styles[name])
        if "T/S" not in name:  # running mean over 5% of the pass
            smooth = g.curvature.rolling(max(1, len(g) // 20), center=True,
                                         min_periods=1).mean()
            row[1].plot(g.position, smooth, label=name, **styles[name])
    h = hessians[hessians.lr == rate]
    for where, color in (("true path", "black"), ("line", "tab:red")):
        g = h[h["where"] == where]
        row[2].scatter(g.position, g.lambda_min, color=color, marker="v", s=22,
                       label=f"smallest eigenvalue, {where}")
        row[2].scatter(g.position, g.lambda_max, color=color, marker="^", s=22,
                       facecolors="none", label=f"largest eigenvalue, {where}")
    row[2].set_yscale("symlog", linthresh=1.0)
    row[1].axhline(0, color="0.5", lw=0.8)
    row[0].set_ylabel(f"learning rate {rate:g}\n|dw| (adjoint)")
    row[1].set_ylabel("curvature")
    row[2].set_ylabel("Hessian eigenvalue")
for ax in axes[-1]:
    ax.set_xlabel("t / T (reverse pass: right to left)")
axes[0][0].set_title("Adjoint norm", fontsize=11)
axes[0][1].set_title("Curvature met by the adjoint", fontsize=11)
axes[0][2].set_title("Hessian's extreme eigenvalues", fontsize=11)
fig.suptitle(f"Reverse passes of seed {shown_seed}; Hessians of seeds "
             f"{', '.join(map(str, sorted(hessians.seed.unique())))}", fontsize=12)
shared_legend(fig, ncol=4)
fig.set_layout_engine("tight", rect=(0, 0.1, 1, 1))  # the legend below the axes
save(fig, cfg.output_dir, "fig_drmad_explosion")

# %% [markdown]
# ## The evidence, with its spread over seeds

# %%
results["evidence"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd


def _explosion_pass(summary: pd.DataFrame, column: str, S: int) -> float:
    """summary.csv: ``column`` of the unscaled line with ``S`` reverse steps at the smallest
    learning rate (the DrMAD code's 0.05 in the recorded run), mean over seeds."""
    g = summary[(summary.lr == summary.lr.min()) & (summary["pass"] == f"line, S={S:,}")]
    return mean_sd(g.groupby("seed")[column].mean())[0]


@book_values.recorded("summary.csv")
def explosion_growth_few(summary: pd.DataFrame) -> float:
    """summary.csv: log10 growth of |dw| per reverse step (``log10_growth_per_step``) along
    the line with 200 steps, learning rate 0.05, mean over seeds."""
    return _explosion_pass(summary, "log10_growth_per_step", 200)


@book_values.recorded("summary.csv")
def explosion_growth_many(summary: pd.DataFrame) -> float:
    """summary.csv: the same along the line with 2,000 steps."""
    return _explosion_pass(summary, "log10_growth_per_step", 2000)


@book_values.recorded("summary.csv")
def explosion_curvature_few(summary: pd.DataFrame) -> float:
    """summary.csv: the mean curvature the adjoint meets (``mean_curvature``) along the line
    with 200 steps, learning rate 0.05, mean over seeds."""
    return _explosion_pass(summary, "mean_curvature", 200)


@book_values.recorded("summary.csv")
def explosion_curvature_many(summary: pd.DataFrame) -> float:
    """summary.csv: the same along the line with 2,000 steps."""
    return _explosion_pass(summary, "mean_curvature", 2000)
