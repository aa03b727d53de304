"""Symmetry and the dropout seed (thesis section 2.3, Fig 2.3).

The small CNN of the parameter-path chapter is trained twice for a few epochs from the same
initialization and batch order. During the second run we record the distance of its parameters
from the first run's final parameters. In the thesis' GPU experiments the dropout seed was
accidentally not fixed: the second run ends elsewhere. With the seed fixed (our default) it
retraces the first run and ends at distance exactly zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..dynamics import SGDMomentum, train
from ..problems import ClassificationTask
from . import paths
from .base import Timer, comparison_row, run_metadata, save_json, save_table


@dataclass(frozen=True)
class Config(paths.Config):
    epochs: int = 5  # epochs of each run (thesis: 5)

    PRESETS = {"smoke": {},
               "cpu": {**paths.Config.PRESETS["cpu"], "epochs": 5},
               "paper": {**paths.Config.PRESETS["paper"], "epochs": 5}}


def run(cfg: Config) -> dict:
    with Timer() as timer:
        splits = paths.load_splits(cfg)
        task, w0, space = paths.build(cfg, splits)
        theta = space.init(device=cfg.device)
        dynamics = SGDMomentum(lr=cfg.lr / (1 - cfg.momentum), momentum=cfg.momentum)
        T = cfg.epochs * task.stream.batches_per_epoch
        with tqdm(total=3 * T, desc="dropout seed") as bar:
            w_first, _ = train(task.problem(w0), dynamics, theta, T,
                               callback=lambda t, s: bar.update(1))
            rows = []
            for variant, dropout_seed in (("dropout seed fixed", cfg.seed),
                                          ("dropout seed not fixed", cfg.seed + 1)):
                second = ClassificationTask(task.model, task.splits, space, cfg.batch_size,
                                            seed=cfg.seed, dropout_seed=dropout_seed)
                distances = [float((w0 - w_first).norm())]

                def record(t, state):
                    distances.append(float((state[0] - w_first).norm()))
                    bar.update(1)

                train(second.problem(w0), dynamics, theta, T, callback=record)
                rows.append(pd.DataFrame({"variant": variant, "step": np.arange(T + 1),
                                          "epoch": np.arange(T + 1) / task.stream.batches_per_epoch,
                                          "distance": distances}))
    df = pd.concat(rows, ignore_index=True)
    final = df.groupby("variant").distance.last()
    start = float(df.distance.iloc[0])
    comparison = pd.DataFrame([
        comparison_row("Without a fixed dropout seed the second meta-iteration ends elsewhere",
                       "distance stays far from zero",
                       f"final distance {final['dropout seed not fixed']:.4g} "
                       f"(initial {start:.4g})", cfg.profile,
                       bool(final["dropout seed not fixed"] > 1e-3 * start)),
        comparison_row("With the dropout seed fixed the second run retraces the first",
                       "(the thesis' fix)", f"final distance {final['dropout seed fixed']:.3g}",
                       cfg.profile, bool(final["dropout seed fixed"] == 0.0)),
    ])
    save_table(df, cfg.out, "distances")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"distances": df, "comparison": comparison}
