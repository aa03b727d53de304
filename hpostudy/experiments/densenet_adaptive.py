"""The adaptive method on the DenseNet (thesis section 3.2.2, Figs 3.15-3.20).

Elementary learning rates (natural log, clipped below 0) and L2 penalties (log10) are
hyperparameters, shared per unit in the dense (fully connected) layer and per parameter
elsewhere. During one training run, every ``every`` iterations the hypergradient of the loss on
a validation batch is taken through the last ``window`` iterations
(:func:`hpostudy.hypergrad.online`) and the hyperparameters take a step along its sign.
Experiment 1: 40,000 / 10,000 split, every 100 from the last 5, momentum 0.9, meta rates 0.01
(L2) and 0.2 (log learning rate). Experiment 2: 36,000 / 14,000, every 131 from the last 4,
momentum 0.95, rates 0.02 and 0.1. Checkpoints every epoch; a restarted run resumes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import hypergrad as hg
from ..dynamics import SGDMomentum
from ..hyper import Group
from ..metaopt import SignSGD
from .base import (Timer, comparison_row, load_checkpoint, run_metadata, save_checkpoint,
                   save_json, save_table)
from ..settings.densenet import PAPER, Setting, build, evaluate, layer_rows, load_splits, weight_names


@dataclass(frozen=True)
class Config(Setting):
    epochs: int = 3  # training epochs (thesis: 300)
    experiments: tuple[int, ...] = (1, 2)  # which of the thesis' two experiments to run
    every: tuple[int, ...] = (10, 13)  # iterations between updates, per experiment (100, 131)
    window: tuple[int, ...] = (5, 4)  # iterations the hypergradient looks back (5, 4)
    momenta: tuple[float, ...] = (0.9, 0.95)  # elementary momentum per experiment
    val_sizes: tuple[int, ...] = (360, 480)  # validation examples per experiment (10,000, 14,000)
    l2_rates: tuple[float, ...] = (0.01, 0.02)  # meta rate of the log10 L2 hyperparameters
    lr_rates: tuple[float, ...] = (0.2, 0.1)  # meta rate of the log learning rates
    initial_log10_l2: float = -4.0

    SIGNED = ("initial_log10_l2",)
    PRESETS = {"smoke": {},
               "cpu": {**PAPER, "epochs": 1, "every": (100, 131),
                       "val_sizes": (10000, 14000)},
               "paper": {**PAPER, "epochs": 300, "every": (100, 131),
                         "val_sizes": (10000, 14000)}}


def groups(cfg: Config):
    def make(model):
        fc = [n for n in model.names if n.startswith("net.") and n.endswith(("weight", "bias"))
              and model.shapes[model.names.index(n)] and
              len(model.shapes[model.names.index(n)]) == 2]
        fc_all = fc + [n.replace("weight", "bias") for n in fc]
        rest = [n for n in model.names if n not in fc_all]
        return [
            Group("l2_fc", "log10_l2", "unit", cfg.initial_log10_l2, params=fc),
            Group("l2", "log10_l2", "parameter", cfg.initial_log10_l2,
                  params=[n for n in weight_names(model) if n not in fc]),
            Group("lr_fc", "log_lr", "unit", math.log(cfg.lr), params=fc_all, bounds=(-math.inf, 0.0)),
            Group("lr", "log_lr", "parameter", math.log(cfg.lr), params=rest, bounds=(-math.inf, 0.0)),
        ]
    return make


def _experiment(cfg: Config, k: int, bar) -> tuple[list[dict], list[dict]]:
    i = cfg.experiments.index(k)
    splits = load_splits(cfg, n_val=cfg.val_sizes[i])
    task, w0, space = build(cfg, groups(cfg), splits, val_batch_size=cfg.batch_size)
    gamma = cfg.momenta[i]
    dynamics = SGDMomentum(lr=1.0 / (1 - gamma), momentum=gamma,
                           lr_hyper=lambda th: space.learning_rate(th))
    rates = torch.zeros(space.size, dtype=torch.float64, device=cfg.device)
    for name, g in space.groups.items():
        rates[space.offsets[name]] = cfg.l2_rates[i] if g.kind == "log10_l2" else cfg.lr_rates[i]
    update = SignSGD(rates, project=space.clip)
    problem = task.problem(w0)
    spe = task.stream.batches_per_epoch
    path = cfg.out / "checkpoints" / f"adaptive_{k}.pt"
    ckpt = load_checkpoint(path)
    if ckpt:
        state, theta, rows, layers = ckpt["state"], ckpt["theta"], ckpt["rows"], ckpt["layers"]
        update.load_state_dict(ckpt["update"])
    else:
        state, theta, rows, layers = dynamics.init(w0), space.init(device=cfg.device), [], []
    for epoch in range(len(rows), cfg.epochs):
        try:
            res = hg.online(problem, dynamics, theta, spe, every=cfg.every[i],
                            window=cfg.window[i], update=update, state=state, t0=epoch * spe)
        except FloatingPointError:
            rows.append({"experiment": k, "epoch": epoch + 1, "status": "NaN: stopped"})
            break
        theta, state = res.theta, res.state
        if not torch.isfinite(state[0]).all() or not torch.isfinite(theta).all():
            rows.append({"experiment": k, "epoch": epoch + 1, "status": "NaN: stopped"})
            break
        rows.append({"experiment": k, "epoch": epoch + 1, "status": "ok",
                     **evaluate(task, state[0], theta, epoch)})
        for group, scale in (("l2", 1.0), ("l2_fc", 1.0), ("lr", 1 / math.log(10)),
                             ("lr_fc", 1 / math.log(10))):
            kind = "log10_l2" if group.startswith("l2") else "log10_lr"
            layers += [{**r, "kind": kind} for r in
                       layer_rows(space, theta, group, scale, experiment=k, epoch=epoch + 1)]
        save_checkpoint({"state": state, "theta": theta, "rows": rows, "layers": layers,
                         "update": update.state_dict()}, path)
        bar.update(1)
        bar.set_postfix(experiment=k, test_error=f"{rows[-1]['test_error']:.3f}")
    return rows, layers


def run(cfg: Config) -> dict:
    with Timer() as timer:
        bar = tqdm(total=len(cfg.experiments) * cfg.epochs, desc="DenseNet adaptive", unit="epoch")
        rows, layers = [], []
        for k in cfg.experiments:
            r, lay = _experiment(cfg, k, bar)
            rows += r
            layers += lay
        bar.close()
    errors, hyper = pd.DataFrame(rows), pd.DataFrame(layers)
    comparison = compare(errors, cfg)
    save_table(errors, cfg.out, "errors")
    save_table(hyper, cfg.out, "layer_hyperparameters")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"errors": errors, "layer_hyperparameters": hyper, "comparison": comparison}


def compare(errors: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    rows = []
    for k, g in errors[errors.status == "ok"].groupby("experiment"):
        gap_start = float(g.val_error.iloc[0] - g.train_error.iloc[0])
        gap_end = float(g.val_error.iloc[-1] - g.train_error.iloc[-1])
        rows.append(comparison_row(f"Experiment {k}: final test error", "15.3% (benchmark 11.4%)",
                                   f"{g.test_error.iloc[-1]:.1%} after {int(g.epoch.iloc[-1])} "
                                   f"epochs", cfg.profile, None))
        rows.append(comparison_row(
            f"Experiment {k}: the validation error drifts toward the training error "
            "(overfitting the validation set)", "after about 30 epochs",
            f"validation - training error: {gap_start:+.3f} at first, {gap_end:+.3f} at the end",
            cfg.profile, None if cfg.profile != "paper" else bool(gap_end < gap_start)))
    return pd.DataFrame(rows)
