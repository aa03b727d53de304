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
#     experiment: hpostudy.experiments.stn_lstm
# ---

# %% [markdown]
# # Self-Tuning Networks: an LSTM with seven hyperparameters
#
# **Overview.** Embedding, input, hidden and output dropout, DropConnect on the recurrent
# weights, activation and temporal activation regularization (AR, TAR) of an LSTM language
# model, tuned by a Self-Tuning Network (MacKay et al. 2019), against grid search, random search
# and Bayesian optimization. Every method trains the same network for the same number of steps
# per network, searches the same boxes and starts from the same point (`start`: a position in
# every box, by default its centre); the grid spans two tied groups (every dropout rate; AR and
# TAR). Each method runs once per seed.
#
# **Prerequisites.** `smoke` uses a corpus the library generates (a Markov chain over 60 word
# types); `cpu` and `paper` read Penn Treebank from the data root. The STN checkpoints and the
# searches keep their trials in an SQLite study, so a killed run resumes. Every parameter left
# at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.stn_lstm.Config: edit the knobs there.
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
trials: "Optional[int]" = None  # trials per black-box search (grid: ceil(sqrt(trials)) points per group)

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import stn_lstm
from hpostudy.figures import save
from hpostudy.figures.stn import best_so_far_panel, group_panels

cfg = stn_lstm.Config.from_notebook(globals())
results = stn_lstm.run(cfg)

# %% [markdown]
# ## Schedules
# The STN's dropout rates and AR/TAR coefficients during training (first seed).

# %%
schedule = results["schedule"]  # a panel per group, top down (the names the run has)
fig = group_panels(schedule[schedule.seed == schedule.seed.min()], {  # the first seed's run
    "dropout rate": [n for n in schedule.hyperparameter.unique() if "drop" in n],
    "AR / TAR coefficient": ["alpha", "beta"]})
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_lstm_schedules");

# %% [markdown]
# ## Progress
# The best validation perplexity each method had found against the training steps it had spent
# (log scale; one line per seed).

# %%
from hpostudy.figures.stn import WIDTH  # the chapter's figure width

fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
best_so_far_panel(ax, results["progress"], perplexity=True)
ax.set_ylabel("best validation perplexity")
fig.tight_layout()
save(fig, cfg.output_dir, "fig_stn_lstm_time");

# %% [markdown]
# ## The methods
# Final validation and test loss and test perplexity (mean ± standard deviation over seeds) of
# the STN's network and of each search's best trial, with the training they cost.

# %%
results["methods"]

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The slides found the STN ahead of every search; the table says whether these
# runs agree, seed by seed, at their stated (smaller) setting.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.study import book_values


def _stn_lowest(progress: pd.DataFrame) -> pd.DataFrame:
    """progress.csv: per seed, the STN's row at its lowest validation loss along its run
    (``best_val_loss``) and the first training step at which it had reached it
    (``training_steps``)."""
    stn = progress[progress.method == "STN"].sort_values("training_steps")
    return stn.loc[stn.groupby("seed").best_val_loss.idxmin()]


@book_values.recorded("progress.csv")
def stn_lstm_stn_lowest_val_loss(progress: pd.DataFrame) -> float:
    """progress.csv: the mean over seeds of the STN's lowest validation loss (`_stn_lowest`)."""
    return _stn_lowest(progress).best_val_loss.mean()


@book_values.recorded("progress.csv")
def stn_lstm_stn_lowest_step_latest(progress: pd.DataFrame) -> float:
    """progress.csv: the latest over seeds of the step at which the STN's validation loss was
    lowest (`_stn_lowest`)."""
    return _stn_lowest(progress).training_steps.max()


@book_values.recorded("runs.csv")
def stn_lstm_stn_final_val_loss(runs: pd.DataFrame) -> float:
    """runs.csv: the mean over seeds of the STN's validation loss at the end of its run."""
    return runs[runs.method == "STN"].val_loss.mean()


@book_values.recorded("runs.csv")
def stn_lstm_search_val_loss_lowest(runs: pd.DataFrame) -> float:
    """runs.csv: the validation loss of each search's best trial, averaged over seeds; the
    lowest of the three searches."""
    return runs[runs.method != "STN"].groupby("method").val_loss.mean().min()


@book_values.recorded("runs.csv")
def stn_lstm_search_val_loss_highest(runs: pd.DataFrame) -> float:
    """runs.csv: as `stn_lstm_search_val_loss_lowest`, the highest of the three searches."""
    return runs[runs.method != "STN"].groupby("method").val_loss.mean().max()
