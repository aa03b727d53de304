"""Self-Tuning Networks on an AlexNet-style CNN (MacKay et al. 2019, slides "STN - CNN
experiment"): a dropout rate per layer and the data-augmentation hyperparameters -- colour
jitter (continuous) and cutout holes and length (discrete) -- tuned by an STN, against grid
search, random search and Bayesian optimization on the same model, data and steps."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .base import Timer, comparison_row
from ..settings.stn import (ImageConfig, image_model, image_task, save_versus_baselines,
                         stn_versus_baselines)

# The slides' table: validation / test loss on CIFAR-10.
PAPER = {"grid": (0.794, 0.809), "random": (0.921, 0.752), "bayes": (0.636, 0.651),
         "STN": (0.575, 0.576)}


@dataclass(frozen=True)
class Config(ImageConfig):
    trials: int = 4  # fixed-hyperparameter runs per black-box search

    PRESETS = {"smoke": {},
               "cpu": {"dataset": "cifar10", "n_val": 1000, "channels": (32, 64, 128),
                       "hidden": (256,), "batch_size": 64, "steps": 3000, "trials": 6,
                       "eval_every": 500},
               "paper": {"dataset": "cifar10", "n_val": 5000, "channels": (64, 192, 384, 256, 256),
                         "hidden": (1024, 1024), "batch_size": 128, "steps": 20000,
                         "trials": 20, "lr": 1e-4, "eval_every": 1000}}


def run(cfg: Config) -> dict:
    with Timer() as timer:
        task = image_task(cfg)
        result = stn_versus_baselines(cfg, task, lambda: image_model(cfg, task), cfg.trials,
                                      "error")
    return save_versus_baselines(cfg, result, "loss", "validation / test loss", PAPER,
                                 timer.seconds,
                                 [faster_than_bayes(result["progress"], cfg.profile)])


def faster_than_bayes(progress: pd.DataFrame, profile: str) -> dict:
    """The slides: the STN reaches a lower validation loss than Bayesian optimization in less
    than a quarter of the time."""
    stn = progress[progress.method == "STN"]
    bayes = progress[progress.method == "bayes"]
    target = float(bayes.best_val_loss.min())
    reached = stn[stn.best_val_loss < target]
    if reached.empty:
        ours, agree = (f"the STN never went below Bayesian optimization's best "
                       f"validation loss {target:.3f}"), False
    else:
        share = float(reached.seconds.iloc[0]) / float(bayes.seconds.max())
        ours, agree = (f"below {target:.3f} after {share:.0%} of Bayesian optimization's "
                       "time"), share < 0.25
    return comparison_row("STN reaches a lower validation loss than Bayesian optimization in "
                          "under 1/4 of the time", "yes", ours, profile, agree)
