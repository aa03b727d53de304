"""Self-Tuning Networks on a language model (MacKay et al. 2019, slides "STN - LSTM
experiment"): an LSTM with seven regularization hyperparameters -- embedding, input, hidden
and output dropout, DropConnect on the recurrent weights, activation and temporal activation
regularization -- tuned by an STN, against grid search, random search and Bayesian
optimization given the same model, data and number of training steps per trial."""
from __future__ import annotations

from dataclasses import dataclass

from .base import Timer
from ..settings.stn import (LanguageConfig, language_model, language_task, save_versus_baselines,
                         stn_versus_baselines)

# The slides' table: validation / test perplexity on Penn Treebank.
PAPER = {"grid": (97.32, 94.58), "random": (84.81, 81.46), "bayes": (72.13, 69.29),
         "STN": (70.30, 67.68)}


@dataclass(frozen=True)
class Config(LanguageConfig):
    trials: int = 4  # fixed-hyperparameter runs per black-box search

    PRESETS = {"smoke": {"steps": 240, "trials": 3},
               "cpu": {"dataset": "ptb", "embed": 200, "hidden": 200, "bptt": 35,
                       "batch_size": 20, "steps": 3000, "trials": 6, "eval_every": 500},
               "paper": {"dataset": "ptb", "embed": 650, "hidden": 650, "bptt": 70,
                         "batch_size": 40, "steps": 20000, "trials": 20, "lr": 1e-3,
                         "eval_every": 1000}}


def run(cfg: Config) -> dict:
    with Timer() as timer:
        task = language_task(cfg)
        result = stn_versus_baselines(cfg, task, lambda: language_model(cfg, task), cfg.trials,
                                      "perplexity")
    return save_versus_baselines(cfg, result, "perplexity", "validation / test perplexity",
                                 PAPER, timer.seconds)
