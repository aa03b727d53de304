"""DrMAD on the DenseNet (thesis section 3.2.1, Figs 3.8-3.14).

Per-parameter L2 hyperparameters on a log10 scale (weights and batch-norm scales); meta-steps
of 0.3333 along the sign of the DrMAD hypergradient with momentum 0.7; weights clipped to
:math:`[-10^3, 10^3]`; reverse steps from the beta estimate without the extra factor. One run per
initial L2: 1e-4 (starting from 100 epochs), 1e-2 and 1e-7 (from 10 epochs), the number of
epochs growing by x1.4 per meta-iteration up to 300. The thesis saw NaNs (meta-iteration 8 from
1e-4, 3 from 1e-7) and a zero hypergradient from 1e-2; here a NaN stops that run with a clear
status, every result up to it is kept, and the other runs go on. Each run checkpoints after
every meta-iteration and resumes.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from tqdm.auto import tqdm

from .. import hypergrad as hg
from ..hyper import Group
from ..metaopt import SignSGD, meta_iterations
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.densenet import (PAPER, Setting, build, dynamics_for, evaluate, layer_rows, load_splits,
                       schedule, weight_names)


@dataclass(frozen=True)
class Config(Setting):
    initial_l2: tuple[float, ...] = (-4.0, -2.0, -7.0)  # log10 L2 at the start, one run each
    first_epochs: tuple[int, ...] = (2, 1, 1)  # epochs of meta-iteration 0 per run (thesis: 100, 10, 10)
    epoch_growth: float = 1.4  # epochs multiply by this each meta-iteration
    max_epochs: int = 3  # cap on the epochs (thesis: 300)
    meta_iterations: int = 3
    meta_lr: float = 0.3333
    meta_momentum: float = 0.7
    clip: float = 1000.0  # weights projected onto [-clip, clip]

    SIGNED = ("initial_l2",)
    PRESETS = {"smoke": {},
               "cpu": {**PAPER, "first_epochs": (1, 1, 1), "max_epochs": 2, "meta_iterations": 2},
               "paper": {**PAPER, "first_epochs": (100, 10, 10), "max_epochs": 300,
                         "meta_iterations": 10}}

    def __post_init__(self):
        super().__post_init__()
        if len(self.first_epochs) != len(self.initial_l2):
            raise ValueError("first_epochs needs one value per initial_l2")


def epochs_at(first: int, growth: float, cap: int, i: int) -> int:
    return int(min(round(first * growth ** i), cap))


def _one_run(cfg: Config, splits, init: float, first: int, bar):
    task, w0, space = build(cfg, lambda m: [Group("l2", "log10_l2", "parameter", init,
                                                  params=weight_names(m))], splits)
    spe = task.stream.batches_per_epoch
    problem = task.problem(w0)
    during: list[dict] = []
    layers: list[dict] = []

    def step(i, theta):
        epochs = epochs_at(first, cfg.epoch_growth, cfg.max_epochs, i)
        T = epochs * spe
        forward, reverse = dynamics_for(cfg, schedule(cfg, epochs, spe), clip=cfg.clip)
        layers.extend(layer_rows(space, theta, "l2", init_l2=init, meta_iteration=i))

        def per_epoch(t, state):
            if (t + 1) % spe == 0:
                during.append({"init_l2": init, "meta_iteration": i, "epoch": (t + 1) // spe,
                               **evaluate(task, state[0], theta, (t + 1) // spe)})

        res = hg.drmad(problem, forward, theta, T, reverse_dynamics=reverse, callback=per_epoch)
        h = res.hypergrad
        bar.update(1)
        return h, {"init_l2": init, "epochs": epochs, "hypergrad_norm": float(h.norm()),
                   "zero_hypergrad": bool((h == 0).all()),
                   "reverse_steps": res.diagnostics.reverse_steps,
                   **evaluate(task, res.w_final, theta, i)}

    status = "finished"
    try:
        _, records = meta_iterations(step, space.init(device=cfg.device),
                                     SignSGD(cfg.meta_lr, cfg.meta_momentum), cfg.meta_iterations,
                                     checkpoint=cfg.out / "checkpoints" / f"drmad_l2_{init:g}.pt")
    except FloatingPointError as err:
        records = getattr(err, "records", [])
        status = f"stopped: {err}"
    return records, during, layers, status


def run(cfg: Config) -> dict:
    with Timer() as timer:
        splits = load_splits(cfg)
        bar = tqdm(total=len(cfg.initial_l2) * cfg.meta_iterations, desc="DenseNet DrMAD")
        metas, during, layers, statuses = [], [], [], []
        for init, first in zip(cfg.initial_l2, cfg.first_epochs):
            r, d, lay, status = _one_run(cfg, splits, init, first, bar)
            metas += r
            during += d
            layers += lay
            statuses.append({"init_l2": init, "status": status,
                             "meta_iterations_done": len(r)})
        bar.close()
    meta = pd.DataFrame(metas)
    tables = {"meta_iterations": meta, "during_training": pd.DataFrame(during),
              "layer_l2": pd.DataFrame(layers), "status": pd.DataFrame(statuses)}
    tables["comparison"] = compare(meta, tables["status"], cfg)
    for name, df in tables.items():
        save_table(df, cfg.out, name)
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return tables


def compare(meta: pd.DataFrame, status: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    rows = []
    for init, g in meta.groupby("init_l2"):
        st = status[status.init_l2 == init].status.iloc[0]
        best = int(g.test_error.idxmin() - g.index[0])
        rows.append(comparison_row(
            f"Initial L2 1e{init:g}: does DrMAD improve the test error?",
            {-4.0: "no: best test error before any update; NaN at meta-iteration 8",
             -2.0: "error ~0.9, hypergradient of norm 0", -7.0: "NaN at meta-iteration 3; "
             "many L2 hyperparameters decreased"}.get(init, "-"),
            f"best test error {g.test_error.min():.1%} at meta-iteration {best}; "
            f"zero hypergradient: {bool(g.zero_hypergrad.any())}; {st}", cfg.profile, None,
            "runs shortened" if cfg.profile != "paper" else ""))
    return pd.DataFrame(rows)
