"""Self-Tuning Networks on an AlexNet-style CNN (MacKay et al. 2019, slides "STN - CNN
experiment"): a dropout rate per layer and the data-augmentation hyperparameters -- colour
jitter (continuous) and cutout holes and length (discrete) -- tuned by an STN, against grid
search, random search and Bayesian optimization with the same network, data, steps per network,
hyperparameter boxes and starting point (:mod:`hpostudy.settings.stn`), for several seeds.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..settings.stn import (CIFAR_CPU, CIFAR_PAPER, SMOKE, SOURCE, ImageSetting,
                            beats_searches, methods_table, run_versus, searches_setting)
from ..study.run import prepare

# The slides' table: validation / test loss on CIFAR-10 (MacKay et al. 2019, slides).
PAPER = {"grid": (0.794, 0.809), "random": (0.921, 0.752), "bayes": (0.636, 0.651),
         "STN": (0.575, 0.576)}
PAPER_SETTING = "AlexNet on CIFAR-10, searches of about a day"


@dataclass(frozen=True)
class Config(ImageSetting):
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
        comparison = compare(results, cfg)
        run.save_tables(**results, methods=methods, comparison=comparison)
    return {**results, "methods": methods, "comparison": comparison}


def setting(cfg: Config) -> str:
    return (f"{cfg.profile}: {cfg.describe()}; {searches_setting(cfg)} (slides: "
            f"{PAPER_SETTING})")


def compare(results: dict, cfg: Config) -> pd.DataFrame:
    where = setting(cfg)
    return v.table(beats_searches(results["runs"], "loss", PAPER, where)
                   + [faster_than_bayes(results["progress"], cfg, where)])


def faster_than_bayes(progress: pd.DataFrame, cfg: Config, where: str) -> dict:
    """The slides: the STN reaches a lower validation loss than Bayesian optimization in under
    a quarter of its time. Time is measured in training steps (wall-clock is in the methods
    table): per seed, does the STN's validation loss go below Bayesian optimization's best
    within a quarter of the training steps Bayesian optimization spent?"""
    flags = []
    for seed, g in progress.groupby("seed"):
        bayes = g[g.method == "bayes"]
        stn = g[g.method == "STN"]
        budget = float(bayes.training_steps.max()) / 4
        target = float(bayes.best_val_loss.min())
        flags.append(bool((stn[stn.training_steps <= budget].best_val_loss < target).any()))
    return v.row("The STN reaches a lower validation loss than Bayesian optimization in under "
                 "a quarter of its time", f"yes ({SOURCE})",
                 v.holds_for_each_seed(flags, what="the STN's validation loss goes below "
                                       "Bayesian optimization's best within a quarter of its "
                                       "training steps"), where)
