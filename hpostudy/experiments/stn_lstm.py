"""Self-Tuning Networks on a language model (MacKay et al. 2019, slides "STN - LSTM
experiment"): an LSTM with seven regularization hyperparameters -- embedding, input, hidden
and output dropout, DropConnect on the recurrent weights, activation and temporal activation
regularization -- tuned by an STN, against grid search, random search and Bayesian
optimization given the same model, data and number of training steps per trial."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .base import Timer, comparison_row, run_metadata, save_json, save_table
from .stn_common import LanguageConfig, language_model, language_task, stn_versus_baselines

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
    methods = result["methods"]
    methods["paper_val_perplexity"] = methods.method.map(lambda m: PAPER[m][0])
    methods["paper_test_perplexity"] = methods.method.map(lambda m: PAPER[m][1])
    comparison = pd.DataFrame(comparisons(methods, cfg.profile, "perplexity",
                                          "validation / test perplexity", PAPER))
    for name in ("methods", "progress", "schedule", "curve"):
        save_table(methods if name == "methods" else result[name], cfg.out, name)
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {**result, "methods": methods, "comparison": comparison}


def comparisons(methods: pd.DataFrame, profile: str, metric: str, what: str,
                paper: dict) -> list[dict]:
    """The rows of a slides table: does the STN beat each black-box search on validation and
    test, and does it reach a lower validation loss than Bayesian optimization sooner?"""
    by = methods.set_index("method")
    stn = by.loc["STN"]
    rows = []
    for method, name in (("grid", "grid search"), ("random", "random search"),
                         ("bayes", "Bayesian optimization")):
        other = by.loc[method]
        beats = (stn[f"val_{metric}"] < other[f"val_{metric}"]
                 and stn[f"test_{metric}"] < other[f"test_{metric}"])
        rows.append(comparison_row(
            f"STN beats {name} ({what})",
            f"STN {paper['STN'][0]} / {paper['STN'][1]} vs {paper[method][0]} / {paper[method][1]}",
            f"STN {stn[f'val_{metric}']:.3f} / {stn[f'test_{metric}']:.3f} vs "
            f"{other[f'val_{metric}']:.3f} / {other[f'test_{metric}']:.3f} "
            f"({int(other.trials)} trials)", profile, bool(beats)))
    return rows
