"""What the Self-Tuning Network experiments share (MacKay et al. 2019): the settings of
Algorithm 1, the two problems (an LSTM language model, an AlexNet-style CNN), and the
comparison of an STN with grid search, random search and Bayesian optimization.

**A fair comparison.** Every method gets

* *the same total budget*: every search trial's network trains for ``steps`` steps of the
  same batches with the same optimizer, so a search of ``trials`` trials spends
  ``trials * steps`` training steps; the STN's one network trains as many
  (``stn_steps``, by default ``trials * steps``; plus its validation steps). Each method's
  training steps and process CPU seconds are reported beside the results, and a comparison
  whose STN trained fewer steps than the search is not judged;
* *the same ranges*: the STN's hyperparameters live in the very boxes the searches sample
  (:mod:`hpostudy.stn.hyperparameters`), so the STN cannot reach a value no search could try;
* *the same starting information*: every hyperparameter starts at the same position
  ``start`` of its box (0.5: the centre); the STN starts there, random search and Bayesian
  optimization evaluate that point as their first trial, and the grid contains it when the
  position is one of its points (25 trials: 5 x 5 points at positions 0, 1/4, ..., 1, all
  visited; the ``setting`` column says whether a run's grid did);
* *a grid only over what matters*: the grid has two dimensions, groups of hyperparameters tied
  at the same position of their boxes (every dropout rate; every augmentation, or AR and TAR),
  the only way a grid stays dense at a budget of tens of trials. Random search and Bayesian
  optimization search every hyperparameter.

Every claim is judged over ``seeds`` seeds (data split, initialization, batch order, masks and
the searches' samplers all follow the seed).

This module runs the comparison (the STN's and the searches' units of work, collected by
:func:`run_versus`); the configurations are in :mod:`hpostudy.settings.stn_configs`, the tables
and verdicts in :mod:`hpostudy.settings.stn_tables`, and every name of both is readable here.
"""
from __future__ import annotations

import math
import time

import pandas as pd

from ..metaopt import black_box_search
from ..stn.train import check_converged, divergence, diverged, train_fixed, train_stn
# the configurations and the tables live in their own modules; their names stay readable
# here (settings.stn.ImageSetting, settings.stn.methods_table, ...), as the experiments read them
from .stn_configs import (CIFAR_CPU, CIFAR_PAPER, METHODS, PTB_CPU, PTB_PAPER, PTB_TRAIN_TOKENS,
                          SEARCHES, SMOKE, SOURCE, ImageSetting, LanguageSetting, STNSetting)
from .stn_tables import (beats_searches, budget, gated, mean_sd, methods_table, searches_setting,
                         seeds, slides_scale)


# ---------------------------------------------------------------------- units of work
def stn_unit(item, checkpoint) -> dict:
    """One STN run. ``item = (cfg, seed, changes, start, model_options)``: Algorithm 1's knobs
    changed by ``changes``, hyperparameters starting at ``start`` (None: ``cfg.starts``).
    Fails with :class:`~hpostudy.stn.train.Diverged` for a run that diverged."""
    cfg, seed, changes, start, options = item
    cpu = time.process_time()
    task = cfg.task(seed)
    model = cfg.model(task, seed, **options)
    result = train_stn(model, task, cfg.stn_length(), cfg.stn_settings(**changes),
                       start=cfg.starts(model) if start is None else start,
                       eval_every=cfg.eval_every, checkpoint=checkpoint,
                       progress=f"STN, seed {seed}")
    check_converged(result["curve"], task.chance_loss, f"the STN run of seed {seed}")
    # process CPU seconds of this call (a run resumed from a checkpoint counts its last part)
    return {**result, "cpu_seconds": time.process_time() - cpu}


def grid_space(model, start: float = 0.5) -> tuple[dict, callable]:
    """The grid's space -- one dimension per group of :meth:`grid_groups`, the position in the
    boxes from 0 to 1 -- and the map from a grid point to every hyperparameter's value (a
    hyperparameter in no group stays at position ``start``)."""
    specs = {s.name: s for s in model.specs}
    groups = model.grid_groups()

    def values(point: dict) -> dict[str, float]:
        out = {name: float(spec.at(start)) for name, spec in specs.items()}
        for group, names in groups.items():
            out.update({name: float(specs[name].at(point[group])) for name in names})
        return out
    return {group: (0.0, 1.0) for group in groups}, values


def search_unit(item, checkpoint) -> dict:
    """One black-box search: ``item = (cfg, seed, method)``. Every trial trains the plain
    network from the same initialization for ``cfg.steps`` steps; its final validation loss
    is the objective. The search keeps its trials in an SQLite study beside ``checkpoint``, so a
    killed search resumes. Returns ``trials`` (one row per trial) and ``best`` (the best
    trial's hyperparameter values); fails if even the best trial diverged."""
    cfg, seed, method = item
    task = cfg.task(seed)
    model = cfg.model(task, seed)
    specs = model.specs
    if method == "grid":
        space, values_of = grid_space(model, cfg.start)
    else:
        space, values_of = {s.name: s.bounds for s in specs}, (lambda point: dict(point))

    def objective(point: dict) -> dict:
        values = {k: float(x) for k, x in values_of(point).items()}
        cpu = time.process_time()
        try:
            curve = train_fixed(cfg.model(task, seed), task, cfg.steps, lambda t: values,
                                lr=cfg.lr)
        except FloatingPointError:
            return {"value": math.inf, "val_loss": math.inf, "diverged": True,
                    "cpu_seconds": time.process_time() - cpu}
        final = {k: float(x) for k, x in curve.iloc[-1].items() if k not in ("step", "seconds")}
        return {"value": final["val_loss"], **final, "cpu_seconds": time.process_time() - cpu,
                "diverged": diverged(final["val_loss"], task.chance_loss)}

    trials = black_box_search(
        objective, space, method, cfg.trials, seed=seed,
        storage=f"sqlite:///{checkpoint.path.with_suffix('.db')}",
        study=f"{checkpoint.path.parent.name}-{checkpoint.path.stem}",
        progress=f"{SEARCHES[method]}, seed {seed}",
        first=None if method == "grid" else cfg.starts(model))
    trials = trials.reset_index(drop=True)
    best = trials.loc[trials.value.idxmin()]
    if diverged(float(best.val_loss), task.chance_loss):
        raise divergence(float(best.val_loss), cfg.steps, task.chance_loss,
                         f"every trial of the {SEARCHES[method]} of seed {seed}")
    point = {name: float(best[name]) for name in space}
    return {"trials": trials.drop(columns=list(space)), "best": values_of(point)}


def versus_unit(item, checkpoint) -> dict:
    """``item = (cfg, seed, method)``: the STN from ``cfg.starts``, or a search."""
    cfg, seed, method = item
    if method == "STN":
        return stn_unit((cfg, seed, {}, None, {}), checkpoint)
    return search_unit(item, checkpoint)


def run_versus(run, cfg) -> dict:
    """Run the STN and the three searches for every seed (units of ``run``) and collect them:
    ``runs`` (one row per seed and method: final losses and metric, networks trained, training
    steps, wall-clock), ``progress`` (best validation loss so far against training steps
    spent), ``trials`` (every search trial's final losses), ``schedule`` (the STN's, per seed)
    and ``best`` (each method's hyperparameters)."""
    items = [(cfg, seed, method) for seed in cfg.seed_list for method in METHODS]
    results = run.map(versus_unit, items, desc="STN and searches",
                      names=[f"{method}-seed{seed}" for _, seed, method in items])
    rows, progress, schedules, best, every = [], [], [], [], []
    for (_, seed, method), result in zip(items, results):
        if method == "STN":
            curve = result["curve"]
            last = curve.iloc[-1]
            rows.append({"seed": seed, "method": "STN", **_finals(last), "networks": 1,
                         "training_steps": int(last.step), "validation_steps": int(last.val_steps),
                         "wall_minutes": float(last.seconds) / 60,
                         "cpu_seconds": float(result.get("cpu_seconds", math.nan))})
            progress.append(pd.DataFrame({"seed": seed, "method": "STN", "training_steps":
                                          curve.step, "best_val_loss": curve.val_loss.cummin()}))
            schedules.append(result["schedule"].assign(seed=seed))
            best.append({"seed": seed, "method": "STN", **result["final"]})
            continue
        trials = result["trials"]
        trials = trials[trials.value.notna()].reset_index(drop=True)  # completed trials
        top = trials.loc[trials.value.idxmin()]
        rows.append({"seed": seed, "method": method, **_finals(top), "networks": len(trials),
                     "training_steps": len(trials) * cfg.steps, "validation_steps": 0,
                     "wall_minutes": float(trials.trial_seconds.sum()) / 60,
                     "cpu_seconds": float(trials.cpu_seconds.sum())
                     if "cpu_seconds" in trials else math.nan})
        progress.append(pd.DataFrame({"seed": seed, "method": method, "training_steps":
                                      (trials.index + 1) * cfg.steps,
                                      "best_val_loss": trials.value.cummin()}))
        every.append(trials.drop(columns=["seconds", "best_value"]).assign(seed=seed))
        best.append({"seed": seed, "method": method, **result["best"]})
    return {"runs": pd.DataFrame(rows), "progress": pd.concat(progress, ignore_index=True),
            "trials": pd.concat(every, ignore_index=True),
            "schedule": pd.concat(schedules, ignore_index=True), "best": pd.DataFrame(best)}


def _finals(row) -> dict:
    return {k: float(row[k]) for k in row.index
            if k.startswith(("val_", "test_")) and k != "val_steps"}

