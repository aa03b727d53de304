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
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables and figures (None: build/<profile>/results/stn_lstm)
steps = None  # training steps of each search trial (and of the STN when stn_steps is 0)
stn_steps = None  # the STN's training steps (0: trials x steps, a search's total budget)
batch_size = None  # examples (or sequences) per training and validation batch
train_steps = None  # T_train, training steps per cycle of Algorithm 1
val_steps = None  # T_val, validation steps per cycle
lr = None  # Adam step of the network weights (the STN's and every trial's)
hyper_lr = None  # Adam step of the STN's hyperparameters
scale_lr = None  # Adam step of the STN's log perturbation scale
entropy_weight = None  # tau, weight of the entropy of the perturbation
init_scale = None  # initial perturbation scale sigma, in unconstrained units
eval_every = None  # training steps between evaluations of a training curve
start = None  # where every method starts: this position in every box (0.5: centre)
dataset = None  # generated (a small Markov-chain corpus, smoke) or ptb
vocab = None  # word types of the generated corpus
tokens = None  # tokens of the generated corpus
train_tokens = None  # training tokens used, from the start of the split (0: all)
eval_tokens = None  # validation and test tokens evaluated, from the start (0: all)
embed = None  # embedding width
hidden = None  # LSTM width
layers = None  # LSTM layers
bptt = None  # tokens per training sequence
trials = None  # trials per black-box search (grid: ceil(sqrt(trials)) points per group)

# %%
from hpostudy.experiments import stn_lstm
from hpostudy.figures import stn as figures

cfg = stn_lstm.Config.from_notebook(globals())
results = stn_lstm.run(cfg)

# %% [markdown]
# ## Schedules and progress
# The STN's dropout rates and AR/TAR coefficients during training (first seed), and the best
# validation perplexity each method had found against the training steps it had spent (log
# scale; one line per seed).

# %%
figures.stn_lstm(results, cfg.output_dir)

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
