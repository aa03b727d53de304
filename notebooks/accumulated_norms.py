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
#     experiment: hpostudy.experiments.accumulated_norms
# ---

# %% [markdown]
# # Accumulated exact hypergradient along the reverse pass (thesis Figs 3.4, 3.5)
#
# **Overview.** How does the exact hypergradient build up during the reverse pass? For each
# horizon T and seed we compute one exact hypergradient with exact reversal and record the
# norm of the hypergradient accumulated after each reverse step, from t = T-1 (right) towards
# t = 0 (left). The exact method stores about log2(1/gamma) bits per parameter per step, so
# even the thesis' longest horizon (200,000 iterations, Fig 3.5) fits in memory; the table
# reports the buffer's measured size.
#
# **Prerequisites.** The `smoke` profile uses the embedded digits; `cpu` and `paper` read
# MNIST from the data root. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.accumulated_norms.Config: edit the knobs there.
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
horizons: "Optional[list[int]]" = None  # T per panel (thesis: 20,000 and 200,000)
seeds_per_horizon: "Optional[list[int]]" = None  # seeds run at each horizon (at most seeds)
radix: "Optional[int]" = None  # fixed-point fractional bits of the exact method

# %%
from hpostudy.experiments import accumulated_norms

cfg = accumulated_norms.Config.from_notebook(globals())
results = accumulated_norms.run(cfg)

# %% [markdown]
# ## The accumulated norms
# One line per seed, named in the legend. Look at how fast the norm changes at each end of the
# reverse pass (the shaded first and last 1% of the reverse steps) compared with its typical
# change in between: that is what the table's rule measures, on a log scale over seeds.

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

from hpostudy.figures import save
from hpostudy.figures.helpers import seed_style, shared_legend

accumulated = results["accumulated"]
share = 0.01  # the first and last 1% of the reverse steps, where the rule judges the rise
colors = ["black", "tab:blue", "tab:red", "tab:green", "tab:purple"]

for number, T in zip(("3.4", "3.5"), sorted(accumulated["T"].unique())):
    g = accumulated[accumulated["T"] == T]
    run_seeds = sorted(g.seed.unique())
    fig, ax = plt.subplots(figsize=(6.8, 4.0))
    k = max(1, int(round(share * T)))
    for lo, hi in ((T - k, T - 1), (0, k - 1)):
        ax.axvspan(lo, hi, color="0.88", zorder=0,
                   label=f"first and last {share:.0%} of the reverse steps (judged)")
    for i, (run_seed, s) in enumerate(g.sort_values("t").groupby("seed")):
        ax.plot(s.t, s.norm, color=colors[i % len(colors)], lw=1.2, label=f"seed {run_seed}",
                **seed_style(run_seeds, run_seed))
    positive = g.norm[g.norm > 0]  # linear around 0, logarithmic above the smallest norm
    ax.set_yscale("symlog", linthresh=max(float(positive.min()), 1e-12) if len(positive) else 1)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{int(x):,}"))
    ax.set_xlabel("elementary iteration t (the reverse pass runs right to left)")
    ax.set_ylabel("norm of the accumulated hypergradient")
    ax.set_title(f"Fig {number}: T = {T:,}", fontsize=11)
    shared_legend(fig, ncol=2)
    save(fig, cfg.output_dir, f"fig{number.replace('.', '_')}")

# %% [markdown]
# ## Each exact hypergradient: time, buffer, recovery of w_0

# %%
results["runs"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.experiments import accumulated_norms as _an
from hpostudy.study import book_values
from hpostudy.verdicts import t_interval


def _buffer_over_vector(runs: pd.DataFrame, longest: bool) -> float:
    """runs.csv: exact reversal's buffer (``buffer_MB``, mean over seeds) at the longest (or
    shortest) horizon over the one float64 weight vector DrMAD keeps, the MLP of the recorded
    cpu profile (`hpostudy.experiments.accumulated_norms.n_weights`)."""
    T = runs["T"].max() if longest else runs["T"].min()
    vector_MB = _an.n_weights(_an.Config.for_profile("cpu")) * 8e-6
    return runs[runs["T"] == T].buffer_MB.mean() / vector_MB


@book_values.recorded("runs.csv")
def exact_buffer_over_drmad_shorter(runs: pd.DataFrame) -> float:
    """runs.csv: `_buffer_over_vector` at the shorter horizon (T = 20,000)."""
    return _buffer_over_vector(runs, longest=False)


@book_values.recorded("runs.csv")
def exact_buffer_over_drmad_longest(runs: pd.DataFrame) -> float:
    """runs.csv: `_buffer_over_vector` at the longest horizon (T = 200,000)."""
    return _buffer_over_vector(runs, longest=True)


def _growth(name: str, column: str, longest: bool) -> None:
    """Declare the book value ``name``, from runs.csv: ``column`` (``growth_near_T``: the rise
    near t = T-1; ``growth_near_0``: near t = 0) at the longest (or the shorter) horizon,
    geometric mean over seeds (the row's estimate)."""
    def value(runs: pd.DataFrame) -> float:
        T = runs["T"].max() if longest else runs["T"].min()
        return t_interval(runs[runs["T"] == T][column], log=True).estimate

    value.__name__ = value.__qualname__ = name  # the book value's name, in its errors
    globals()[name] = book_values.recorded("runs.csv")(value)


_growth("accumulated_growth_near_end_shorter", "growth_near_T", longest=False)  # T = 20,000
_growth("accumulated_growth_near_start_shorter", "growth_near_0", longest=False)
_growth("accumulated_growth_near_end_longest", "growth_near_T", longest=True)  # T = 200,000
_growth("accumulated_growth_near_start_longest", "growth_near_0", longest=True)
