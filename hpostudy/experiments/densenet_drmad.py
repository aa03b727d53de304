"""DrMAD on the DenseNet (thesis section 3.2.1, Figs 3.8-3.14).

Per-parameter L2 hyperparameters on a log10 scale (weights and batch-norm scales); meta-steps
of 0.3333 along the sign of the DrMAD hypergradient (thesis Algorithm 3) with momentum 0.7;
weights clipped to :math:`[-10^3, 10^3]`; reverse steps from the beta estimate without the
extra factor. One run per initial L2 and seed: 1e-4 (thesis: starting from 100 epochs), 1e-2
and 1e-7 (from 10 epochs), the number of epochs growing by x1.4 per meta-iteration up to 300.

The thesis saw NaNs (meta-iteration 8 from 1e-4, 3 from 1e-7) and a zero hypergradient from
1e-2. Here a NaN -- in the forward pass or in the hypergradient -- stops that run: every
completed meta-iteration is kept and written, the errors of the interrupted one up to the NaN
too, and the ``status`` table says where and why the run stopped; the other runs go on. Each
run checkpoints after every meta-iteration and resumes from there.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import hypergrad as hg
from .. import verdicts as v
from ..hyper import Group
from ..metaopt import SignSGD, meta_iterations
from ..settings.densenet import (CPU, PAPER, ScheduledSetting, build, check_knobs,
                                 dynamics_for, evaluate, layer_rows, load_splits, rounded,
                                 schedule, setting, weight_names)
from ..study.run import prepare

PAPER_SETTING = ("DenseNet-40, CIFAR-10, Nesterov; 100 (from 1e-4) or 10 epochs, x1.4 per "
                 "meta-iteration up to 300")
FINISHED = "finished"


@dataclass(frozen=True)
class Config(ScheduledSetting):
    initial_l2: tuple[float, ...] = (-4.0, -2.0, -7.0)  # log10 L2 at the start (thesis: -4, -2, -7)
    first_epochs: tuple[int, ...] = (2, 1, 1)  # epochs of meta-iteration 0 (thesis: 100, 10, 10)
    epoch_growth: float = 1.4  # the epochs multiply by this each meta-iteration (thesis: 1.4)
    max_epochs: int = 3  # cap on the epochs of a meta-iteration (thesis: 300)
    meta_iterations: int = 3  # meta-iterations per run (thesis: up to 9)
    meta_lr: float = 0.3333  # sign step on the log10 L2 hyperparameters (thesis: 0.3333)
    meta_momentum: float = 0.7  # momentum of the meta-steps (thesis: 0.7)
    clip: float = 1000.0  # weights projected onto [-clip, clip] (thesis: 1000)

    SIGNED = ("initial_l2",)
    # paper: one seed -- a meta-iteration took about a day on the thesis' K80
    PRESETS = {"smoke": {},
               "cpu": {**CPU, "n_val": 1000, "first_epochs": (1, 1, 1), "max_epochs": 2,
                       "meta_iterations": 3, "seeds": 3},
               "paper": {**PAPER, "n_val": 5000, "first_epochs": (100, 10, 10),
                         "max_epochs": 300, "meta_iterations": 9}}

    def validate(self):
        super().validate()
        check_knobs(self, ("first_epochs", lambda f: len(f) == len(self.initial_l2),
                           f"one value per initial_l2 ({len(self.initial_l2)})"),
                    ("initial_l2", lambda i: len(set(i)) == len(i), "distinct values"),
                    ("epoch_growth", lambda g: g >= 1, "at least 1 (the epochs grow)"),
                    ("meta_momentum", lambda m: 0 <= m < 1, "in [0, 1)"),
                    ("clip", lambda c: c > 0, "positive"))


def epochs_at(first: int, growth: float, cap: int, i: int) -> int:
    """Epochs of meta-iteration ``i``: ``first * growth**i``, rounded, at most ``cap``."""
    return int(min(round(first * growth ** i), cap))


def one_run(item: tuple[Config, float, int, int], checkpoint) -> dict:
    """DrMAD meta-iterations from the initial log10 L2 ``init`` with one seed; resumes from
    ``checkpoint`` and stops at a NaN, keeping every completed meta-iteration."""
    cfg, init, first, seed = item
    ids = {"init_l2": init, "seed": seed}
    splits = load_splits(cfg, seed, cfg.n_val)
    task, w0, space = build(cfg, lambda m: [Group("l2", "log10_l2", "parameter", init,
                                                  params=weight_names(m))], splits, seed)
    spe = task.stream.batches_per_epoch
    problem = task.problem(w0)
    during: list[dict] = []  # errors per epoch of the meta-iteration in progress
    current = {"meta_iteration": 0}

    def step(i: int, theta: torch.Tensor):
        epochs = epochs_at(first, cfg.epoch_growth, cfg.max_epochs, i)
        forward, reverse = dynamics_for(cfg, schedule(cfg, epochs, spe), clip=cfg.clip)
        during.clear()
        current["meta_iteration"] = i

        def per_epoch(t, state):
            if (t + 1) % spe == 0:
                during.append({**ids, "meta_iteration": i, "epoch": (t + 1) // spe,
                               **evaluate(task, state[0], theta, (t + 1) // spe)})

        try:
            res = hg.drmad(problem, forward, theta, epochs * spe, reverse_dynamics=reverse,
                           callback=per_epoch, progress=bar)
        except FloatingPointError as err:
            raise FloatingPointError(f"meta-iteration {i} ({epochs} epochs): {err}") from err
        h = res.hypergrad
        final = {k: x for k, x in during[-1].items() if k not in (*ids, "epoch")}
        return h, {**ids, "epochs": epochs, "hypergrad_norm": float(h.norm()),
                   "zero_hypergrad": bool((h == 0).all()),
                   "reverse_steps": _reverse_steps(res),
                   "l2_decreased": float((theta < init - 1e-9).double().mean()), **final,
                   "during": list(during),
                   "layers": layer_rows(space, theta, "l2", **ids, meta_iteration=i)}

    optimizer = SignSGD(cfg.meta_lr, cfg.meta_momentum)
    with tqdm(desc=f"DrMAD from 1e{init:g}, seed {seed}", unit="step") as bar:
        try:
            _, records = meta_iterations(step, space.init(device=cfg.device), optimizer,
                                         cfg.meta_iterations, checkpoint=checkpoint)
            status = {"stopped_in": None, "status": FINISHED}
            interrupted = []
        except FloatingPointError as err:
            saved = checkpoint.load()
            records = saved["records"] if saved else []
            status = {"stopped_in": current["meta_iteration"], "status": f"stopped: {err}"}
            interrupted = [row for row in during if row["meta_iteration"] >= len(records)]
    return {"records": [{k: x for k, x in r.items() if k not in ("during", "layers")}
                        for r in records],
            "during": [row for r in records for row in r["during"]] + interrupted,
            "layers": [row for r in records for row in r["layers"]],
            "status": {**ids, "meta_iterations_done": len(records), **status},
            "n_train": len(splits.y_train), "n_val": len(splits.y_val)}


def _reverse_steps(result) -> int:
    """The reverse steps DrMAD took (from the result's diagnostics)."""
    return int(result.diagnostics.reverse_steps)


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """DrMAD meta-iterations per initial L2 and seed.

    Returns (and writes as CSV) ``meta_iterations`` (one row per completed meta-iteration),
    ``during_training`` (errors per epoch inside each meta-iteration), ``layer_l2`` (per-layer
    average log10 L2 per meta-iteration), ``status`` (how each run ended) and ``comparison``.
    """
    items = [(cfg, init, first, s) for init, first in zip(cfg.initial_l2, cfg.first_epochs)
             for s in cfg.seed_list]
    with prepare(cfg) as run:
        results = run.map(one_run, items, desc="DrMAD runs",
                          names=[f"l2_{init:g}_seed{s}" for _, init, _, s in items])
        tables = {name: _frame([row for res in results for row in res[key]])
                  for name, key in (("meta_iterations", "records"),
                                    ("during_training", "during"), ("layer_l2", "layers"))}
        tables["status"] = pd.DataFrame([res["status"] for res in results])
        tables["comparison"] = compare(tables["meta_iterations"], tables["status"], cfg,
                                       results[0]["n_train"], results[0]["n_val"])
        tables = {name: rounded(df) for name, df in tables.items()}
        run.save_tables(**tables)
    return tables


def _frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table; with no rows (every run stopped in its first meta-iteration),
    an empty one that still has the identifying columns."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(
        columns=["init_l2", "seed", "meta_iteration", "test_error"])


# ---------------------------------------------------------------------- verdicts
def per_seed(meta: pd.DataFrame, status: pd.DataFrame, init: float) -> pd.DataFrame:
    """One row per seed of the runs from ``init``: meta-iterations done, the one with the
    lowest test error, whether the first hypergradient is zero, the first test error, whether
    a NaN stopped the run and in which meta-iteration, and the share of L2 hyperparameters
    below their start at the last completed meta-iteration."""
    rows = []
    for _, st in status[status.init_l2 == init].iterrows():
        g = meta[(meta.init_l2 == init) & (meta.seed == st.seed)].sort_values("meta_iteration")
        done = len(g)
        rows.append({"seed": st.seed, "done": done,
                     "best": int(g.meta_iteration.iloc[g.test_error.argmin()]) if done else -1,
                     "zero_first": bool(g.zero_hypergrad.iloc[0]) if done else False,
                     "first_error": float(g.test_error.iloc[0]) if done else float("nan"),
                     "stopped_in": (float("inf") if pd.isna(st.stopped_in)
                                    else int(st.stopped_in)),
                     "decreased": float(g.l2_decreased.iloc[-1]) if done else 0.0})
    return pd.DataFrame(rows)


def _needs(cfg: Config, s: pd.DataFrame, planned: int, judge, completed: int = 0):
    """``judge()``, or "not comparable" when the runs were planned shorter than the claim
    needs (``planned`` meta-iterations) or a NaN stopped a seed before ``completed``."""
    if cfg.meta_iterations < planned:
        return v.not_comparable(f"needs {planned} meta-iterations, ran {cfg.meta_iterations}")
    short = s[s.done < completed]
    if len(short):
        return v.not_comparable(f"needs {completed} completed meta-iterations; a NaN stopped "
                                f"seed(s) {list(short.seed)} earlier")
    return judge()


def compare(meta: pd.DataFrame, status: pd.DataFrame, cfg: Config, n_train: int,
            n_val: int) -> pd.DataFrame:
    """One row per claim of the thesis about the runs from 1e-4, 1e-2 and 1e-7 (initial
    values it did not run get no row), each from a rule over seeds."""
    rows = []
    for init, first in zip(cfg.initial_l2, cfg.first_epochs):
        s = per_seed(meta, status, init)
        last = epochs_at(first, cfg.epoch_growth, cfg.max_epochs, cfg.meta_iterations - 1)
        where = setting(cfg, n_train, n_val,
                        f"{cfg.meta_iterations} meta-iterations of {first} to {last} epochs",
                        cfg.optimizer, thesis=PAPER_SETTING)
        label = f"From L2 1e{init:g}:"
        if init == -4.0:
            rows.append(v.row(
                f"{label} DrMAD does not improve the test error; the lowest is at "
                "meta-iteration 0, before any update (Fig 3.8)", "lowest at meta-iteration 0",
                _needs(cfg, s, 2, lambda: v.holds_for_each_seed(
                    s.best == 0, what="the lowest test error is at meta-iteration 0"),
                       completed=2), where))
            rows.append(v.row(
                f"{label} a NaN stops the run (Fig 3.9)", "in meta-iteration 8",
                _needs(cfg, s, 9, lambda: v.holds_for_each_seed(
                    s.stopped_in <= 8, what="a NaN stops the run by meta-iteration 8")), where))
        elif init == -2.0:
            rows.append(v.row(
                f"{label} the penalty dominates, the error is that of random guessing "
                "(Fig 3.11)", "about 90%",
                _needs(cfg, s, 1, lambda: v.each_seed_within(
                    100 * s.first_error, low=85.0, unit="%",
                    what="the test error at meta-iteration 0"), completed=1), where))
            rows.append(v.row(
                f"{label} the hypergradient is zero, the hyperparameters cannot move "
                "(Fig 3.12)", "norm 0",
                _needs(cfg, s, 1, lambda: v.holds_for_each_seed(
                    s.zero_first, what="the first hypergradient is exactly zero"),
                       completed=1), where))
        elif init == -7.0:
            rows.append(v.row(
                f"{label} a NaN stops the run (Fig 3.13)", "in meta-iteration 3",
                _needs(cfg, s, 4, lambda: v.holds_for_each_seed(
                    s.stopped_in <= 3, what="a NaN stops the run by meta-iteration 3")), where))
            rows.append(v.row(
                f"{label} many L2 hyperparameters decrease (Fig 3.14)", "many",
                _needs(cfg, s, 2, lambda: v.each_seed_within(
                    100 * s.decreased, low=10.0, unit="%",
                    what="the share of L2 hyperparameters below their start at the last "
                         "meta-iteration"), completed=2), where))
    return v.table(rows)
