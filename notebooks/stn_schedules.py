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
#     experiment: hpostudy.experiments.stn_schedules
# ---

# %% [markdown]
# # Self-Tuning Networks: schedules from several starts
#
# **Overview.** An LSTM language model whose output dropout rate -- its only regularizer -- is
# tuned by a Self-Tuning Network (MacKay et al. 2019) from several initial values. The slides
# find the same schedule from every start, and a schedule that beats fixed rates: the schedule's
# time-average (alone, with Gaussian noise, with sinusoidal noise), the STN's final value, and a
# plain LSTM replaying the STN's schedule. Every run is repeated per seed.
#
# **Prerequisites.** `smoke` uses a corpus the library generates (a Markov chain over 60 word
# types); `cpu` and `paper` read Penn Treebank from the data root. Every run checkpoints and
# resumes. Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.stn_schedules.Config: edit the knobs there.
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
dataset: "Optional[str]" = None  # generated (a small Markov-chain corpus, smoke) or ptb
vocab: "Optional[int]" = None  # word types (ptb: its most frequent words, the rest <unk>; 0: all 10,000)
tokens: "Optional[int]" = None  # tokens of the generated corpus
train_tokens: "Optional[int]" = None  # training tokens used, from the start of the split (0: all)
eval_tokens: "Optional[int]" = None  # validation and test tokens evaluated, from the start (0: all)
embed: "Optional[int]" = None  # embedding width
hidden: "Optional[int]" = None  # LSTM width
layers: "Optional[int]" = None  # LSTM layers
bptt: "Optional[int]" = None  # tokens per training sequence
inits: "Optional[list[float]]" = None  # initial output dropout rates of the STNs
noise: "Optional[float]" = None  # amplitude of the Gaussian and sinusoidal noise on the fixed rate
noise_period: "Optional[int]" = None  # steps per period of the sinusoid

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import stn_schedules
from hpostudy.figures import save

cfg = stn_schedules.Config.from_notebook(globals())
results = stn_schedules.run(cfg)

# %% [markdown]
# ## The schedules
# Output dropout rate against the training step, one colour per start, one line per seed.

# %%
from hpostudy.figures.stn import LEGEND, WIDTH  # the chapter's figure width, legend size

fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
for k, (start, runs) in enumerate(results["schedules"].groupby("init")):
    for j, (_, run) in enumerate(runs.groupby("seed")):  # the first seed's line stronger
        ax.plot(run.step, run.value, color=f"C{k}", lw=1.2, alpha=0.9 if j == 0 else 0.45,
                label=f"start {start:g}" if j == 0 else None)
ax.set_ylim(0, 1)
ax.set_xlabel("training step")
ax.set_ylabel("output dropout rate")
ax.legend(fontsize=LEGEND)
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_dropout_schedules");

# %% [markdown]
# ## Fixed rates, noisy rates and schedules
# The rate each run used (for the STN: the time-average of its schedule) and the final
# perplexities, mean ± standard deviation over seeds.

# %%
results["methods"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The slides found one schedule from every start, better than any fixed rate; the
# table says whether these runs agree, seed by seed, at their stated (smaller) setting.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values


def _stn_lowest(curves: pd.DataFrame) -> pd.DataFrame:
    """curves.csv: per STN (seed and start), its row at its lowest validation perplexity (the
    first step at which it reached it)."""
    stn = curves[curves.method == "STN"].sort_values("step").reset_index(drop=True)
    return stn.loc[stn.groupby(["seed", "init"]).val_perplexity.idxmin()]


@book_values.recorded("curves.csv")
def stn_schedules_lowest_val_perplexity(curves: pd.DataFrame) -> float:
    """curves.csv: the mean over the STNs (every seed and start) of their lowest validation
    perplexity (`_stn_lowest`)."""
    return _stn_lowest(curves).val_perplexity.mean()


@book_values.recorded("curves.csv")
def stn_schedules_lowest_step_latest(curves: pd.DataFrame) -> float:
    """curves.csv: the latest step over the STNs at which one was lowest (`_stn_lowest`)."""
    return _stn_lowest(curves).step.max()


@book_values.recorded("curves.csv")
def stn_schedules_final_val_perplexity(curves: pd.DataFrame) -> float:
    """curves.csv: the mean over the STNs (every seed and start) of their validation
    perplexity at the last step."""
    stn = curves[curves.method == "STN"].sort_values("step")
    return stn.groupby(["seed", "init"]).val_perplexity.last().mean()


def _late_rates(schedules: pd.DataFrame) -> pd.Series:
    """schedules.csv: per STN (seed and start), its output dropout rate averaged over the last
    quarter of training (as the first comparison row)."""
    late = schedules[schedules.step >= 0.75 * schedules.step.max()]
    return late.groupby(["init", "seed"]).value.mean()


def _band(schedules: pd.DataFrame) -> pd.Series:
    """schedules.csv: the late rates (`_late_rates`) of the STNs of every start but the
    highest."""
    late = _late_rates(schedules)
    return late[late.index.get_level_values("init") < schedules.init.max()]


def _highest_start(schedules: pd.DataFrame) -> pd.Series:
    """schedules.csv: the late rates (`_late_rates`) of the STNs of the highest start."""
    late = _late_rates(schedules)
    return late[late.index.get_level_values("init") == schedules.init.max()]


@book_values.recorded("schedules.csv")
def stn_schedules_band_low(schedules: pd.DataFrame) -> float:
    """schedules.csv: the lowest late rate of the STNs of every start but the highest
    (`_band`)."""
    return _band(schedules).min()


@book_values.recorded("schedules.csv")
def stn_schedules_band_high(schedules: pd.DataFrame) -> float:
    """schedules.csv: the highest late rate of the STNs of every start but the highest
    (`_band`)."""
    return _band(schedules).max()


@book_values.recorded("schedules.csv")
def stn_schedules_highest_start_late_low(schedules: pd.DataFrame) -> float:
    """schedules.csv: the lowest late rate of the STNs of the highest start
    (`_highest_start`)."""
    return _highest_start(schedules).min()


@book_values.recorded("schedules.csv")
def stn_schedules_highest_start_late_high(schedules: pd.DataFrame) -> float:
    """schedules.csv: the highest late rate of the STNs of the highest start
    (`_highest_start`)."""
    return _highest_start(schedules).max()


@book_values.recorded("schedules.csv")
def stn_schedules_highest_start_dip(schedules: pd.DataFrame) -> float:
    """schedules.csv: the lowest rate any STN of the highest start had along its run."""
    return schedules[schedules.init == schedules.init.max()].value.min()
