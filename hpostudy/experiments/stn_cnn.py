"""Self-Tuning Networks on an AlexNet-style CNN (MacKay et al. 2019, slides "STN - CNN
experiment"): a dropout rate per layer and the data-augmentation hyperparameters -- colour
jitter (continuous) and cutout holes and length (discrete) -- tuned by an STN, against grid
search, random search and Bayesian optimization with the same network, data, steps per network,
hyperparameter boxes and starting point (:mod:`hpostudy.settings.stn`), for several seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..settings.stn import (CIFAR_CPU, CIFAR_PAPER, SMOKE, SOURCE, ImageSetting, budget,
                            beats_searches, gated, methods_table, run_versus, searches_setting,
                            slides_scale)
from ..study.experiment_run import prepare

# The slides' table: validation / test loss on CIFAR-10 (MacKay et al. 2019, slides).
PAPER = {"grid": (0.794, 0.809), "random": (0.921, 0.752), "bayes": (0.636, 0.651),
         "STN": (0.575, 0.576)}
PAPER_SETTING = "AlexNet on CIFAR-10, searches of about a day"
# the slides' CNN schedules run 120,000 iterations; 128 images per batch and 45,000 training
# images (the paper profile's) make 341 passes over the training images
SCALE = slides_scale(120000, "128 images (the paper profile's batch)", 120000 * 128 / 45000,
                     "CNN run")


@dataclass(frozen=True)
class Config(ImageSetting):
    """The knobs of the STN-CNN experiment: the image setting and the trials of each black-box
    search.
    """
    trials: int = 4  # trials per black-box search (grid: ceil(sqrt(trials)) points per group)

    PRESETS = {"smoke": SMOKE, "cpu": {**CIFAR_CPU, "trials": 25},
               "paper": {**CIFAR_PAPER, "trials": 25}}


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Per seed, the STN and the three searches (units of work, resumable). Returns (and writes
    as CSV) ``runs`` (one row per seed and method), ``methods`` (the book's summary),
    ``progress``, ``schedule``, ``best`` and ``comparison``."""
    with prepare(cfg) as run:
        results = run_versus(run, cfg)
        methods = methods_table(results["runs"], "error", PAPER, "loss")
        comparison = judge(results, cfg)
        run.save_tables(**results, methods=methods, comparison=comparison)
    return {**results, "methods": methods, "comparison": comparison}


def setting(cfg: Config) -> str:
    """The setting line of the comparison: the problem, the searches and the slides' setting.

    Args:
        cfg: the run's configuration.

    Returns:
        str: the setting column.
    """
    return (f"{cfg.profile}: {cfg.describe()}; {searches_setting(cfg)} (slides: "
            f"{PAPER_SETTING})")


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the slides from the run's tables ``runs`` and ``progress``
    (:func:`run`); also what ``hpostudy rejudge`` calls on a recorded run."""
    runs, progress = tables["runs"], tables["progress"]
    where = setting(cfg)
    return v.table(beats_searches(runs, "loss", PAPER, where, cfg, SCALE)
                   + [faster_than_bayes(runs, progress, cfg, where)])


def faster_than_bayes(runs: pd.DataFrame, progress: pd.DataFrame, cfg: Config,
                      where: str) -> dict:
    """The slides: the STN reaches a lower validation loss than Bayesian optimization in under
    a quarter of its time. Time is measured in training steps (CPU seconds are in the methods
    table): per seed, the STN's best validation loss within a quarter of the training steps
    Bayesian optimization spent, against Bayesian optimization's best, paired by seed."""
    quarter, best = [], []
    for seed, g in progress.groupby("seed"):
        bayes = g[g.method == "bayes"]
        stn = g[g.method == "STN"]
        budget_steps = float(bayes.training_steps.max()) / 4
        early = stn[stn.training_steps <= budget_steps].best_val_loss
        quarter.append(float(early.min()) if len(early) else math.inf)
        best.append(float(bayes.best_val_loss.min()))
    stn_steps = float(runs[runs.method == "STN"].training_steps.min())
    judgement = v.difference(quarter, best, paired=True,
                             what_lower="the STN's best validation loss within a quarter of "
                                        "Bayesian optimization's training steps",
                             what_higher="Bayesian optimization's best")
    # the STN's run must reach the quarter for its curve to say what it reaches by then
    search_quarter = float(runs[runs.method == "bayes"].training_steps.max()) / 4
    return v.row("The STN reaches a lower validation loss than Bayesian optimization in under "
                 "a quarter of its time", f"yes ({SOURCE})",
                 gated(judgement, SCALE, {"epochs": cfg.epochs(stn_steps)}, stn_steps,
                       search_quarter, "quarter of Bayesian optimization's run"),
                 f"{where}; budgets per seed: {budget(runs, 'STN')}; {budget(runs, 'bayes')}")
