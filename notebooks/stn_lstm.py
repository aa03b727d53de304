# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Self-Tuning Networks: an LSTM with seven hyperparameters
#
# **Overview.** Embedding, input, hidden and output dropout, DropConnect, activation and
# temporal activation regularization of an LSTM language model, tuned by one STN run, against
# grid search, random search and Bayesian optimization (Optuna) with the same model, data and
# training steps per trial.
#
# **Prerequisites.** `smoke` uses the generated corpus; `cpu` and `paper` read Penn Treebank.
# The STN checkpoints and the searches keep their trials in an SQLite study, so a killed run
# resumes.

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = "cpu"  # cpu | cuda
seed = 0  # initialization, batch order, dropout masks and searches
output_dir = "build/results/stn_lstm"  # tables, figures and checkpoints go here
steps = None  # training steps of the STN and of every trial
trials = None  # trials per black-box search

# %%
from hpostudy import figures
from hpostudy.experiments import stn_lstm

cfg = stn_lstm.Config.for_profile(profile, device=device, seed=seed, output_dir=output_dir,
        steps=steps, trials=trials)
results = stn_lstm.run(cfg)

# %% [markdown]
# ## Figures

# %%
figures.stn_lstm(results, cfg.output_dir)

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]
