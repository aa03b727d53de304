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
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda (None: the profile's device)
seed = 0  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds = None  # number of seeds (claims about outcomes need at least 3)
output_dir = None  # tables and figures (None: build/<profile>/results/stn_schedules)
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
start = None  # not used here: the STNs start at inits (a knob of every STN notebook)
dataset = None  # generated (a small Markov-chain corpus, smoke) or ptb
vocab = None  # word types of the generated corpus
tokens = None  # tokens of the generated corpus
train_tokens = None  # training tokens used, from the start of the split (0: all)
eval_tokens = None  # validation and test tokens evaluated, from the start (0: all)
embed = None  # embedding width
hidden = None  # LSTM width
layers = None  # LSTM layers
bptt = None  # tokens per training sequence
inits = None  # initial output dropout rates of the STNs
noise = None  # amplitude of the Gaussian and sinusoidal noise on the fixed rate
noise_period = None  # steps per period of the sinusoid

# %%
from hpostudy.experiments import stn_schedules
from hpostudy.figures import stn as figures

cfg = stn_schedules.Config.from_notebook(globals())
results = stn_schedules.run(cfg)

# %% [markdown]
# ## The schedules
# Output dropout rate against the training step, one colour per start, one line per seed.

# %%
figures.stn_schedules(results, cfg.output_dir)

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
