"""Self-Tuning Networks on a language model (MacKay et al. 2019, slides "STN - LSTM
experiment"): an LSTM with seven regularization hyperparameters -- embedding, input, hidden
and output dropout, DropConnect on the recurrent weights, activation and temporal activation
regularization -- tuned by an STN, against grid search, random search and Bayesian
optimization with the same network, data, steps per network, hyperparameter boxes and starting
point (:mod:`hpostudy.settings.stn`), for several seeds."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..settings.stn import (PTB_CPU, PTB_PAPER, PTB_TRAIN_TOKENS, SMOKE, LanguageSetting,
                            beats_searches, methods_table, run_versus, searches_setting,
                            slides_scale)
from ..study.experiment_run import prepare

# The slides' table: validation / test perplexity on Penn Treebank (MacKay et al. 2019, slides).
PAPER = {"grid": (97.32, 94.58), "random": (84.81, 81.46), "bayes": (72.13, 69.29),
         "STN": (70.30, 67.68)}
PAPER_SETTING = "AWD-LSTM-style 2-layer LSTM on Penn Treebank, searches of about a day"
# the slides' LSTM schedules run 80,000 iterations; 40 x 70 tokens per batch (the paper
# profile's) over Penn Treebank's training tokens make 241 passes
SCALE = slides_scale(80000, "40 x 70 tokens (the paper profile's batch)",
                     80000 * 40 * 70 / PTB_TRAIN_TOKENS, "LSTM run")


@dataclass(frozen=True)
class Config(LanguageSetting):
    """The knobs of the STN-LSTM experiment: the language setting and the trials of each
    black-box search.
    """
    trials: int = 4  # trials per black-box search (grid: ceil(sqrt(trials)) points per group)

    PRESETS = {"smoke": SMOKE, "cpu": {**PTB_CPU, "steps": 500, "trials": 25},
               "paper": {**PTB_PAPER, "layers": 2, "steps": 20000, "trials": 25}}


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Per seed, the STN and the three searches (units of work, resumable). Returns (and writes
    as CSV) ``runs``, ``methods`` (the book's summary), ``progress``, ``schedule``, ``best``
    and ``comparison``."""
    with prepare(cfg) as run:
        results = run_versus(run, cfg)
        methods = methods_table(results["runs"], "perplexity", PAPER, "perplexity")
        comparison = judge(results, cfg)
        run.save_tables(**results, methods=methods, comparison=comparison)
    return {**results, "methods": methods, "comparison": comparison}


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the slides from the run's table ``runs`` (:func:`run`); also what
    ``hpostudy rejudge`` calls on a recorded run."""
    where = (f"{cfg.profile}: {cfg.describe()}; {searches_setting(cfg)} (slides: "
             f"{PAPER_SETTING})")
    return v.table(beats_searches(tables["runs"], "perplexity", PAPER, where, cfg, SCALE))
