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

Two controls (verdict issue): meta-iterations of *equal* epochs (``epoch_growth=1``, the cpu
preset), without which a lower error after the updates could come from the longer training of
the later meta-iterations (Fig 3.8); and, for the initial values in ``random_direction``, a
second run per seed whose meta-steps follow random signs of the same size and momentum instead
of DrMAD's (the null of "the updates lower the error" and of "many L2 values decrease", Fig
3.14), paired with the DrMAD run of the same seed. Its tables carry ``direction`` = "random
signs"; meta-iteration 0 of both is the same training run.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import pandas as pd
import torch
from ..progress import tqdm

from .. import hypergrad as hg
from .. import verdicts as v
from ..verdicts import Judgement, Scale
from ..hyper import Group
from ..metaopt import SignSGD, meta_iterations
from ..settings.densenet import (CPU, PAPER, ScheduledSetting, build, check_knobs,
                                 dynamics_for, evaluate, layer_rows, load_splits, rounded,
                                 schedule, setting, sizes_of, weight_names,
                                 DIRECTION_EPOCHS, WHY_DIRECTION)
from ..dynamics import train
from ..study.experiment_run import prepare

PAPER_SETTING = ("DenseNet-40, CIFAR-10, Nesterov; 100 (from 1e-4) or 10 epochs, x1.4 per "
                 "meta-iteration up to 300")
FINISHED = "finished"
DRMAD, RANDOM = "DrMAD", "random signs"  # the direction of the meta-steps


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
    random_direction: tuple[float, ...] = (-7.0,)  # of initial_l2, those also run with random-sign meta-steps (the null; others skipped)

    SIGNED = ("initial_l2", "random_direction")
    EMPTY_OK = ("random_direction",)
    # cpu: 4 meta-iterations of 10 equal epochs (epoch_growth 1: the control of Fig 3.8's
    # epoch confound) and the random-direction null from 1e-4 and 1e-7; paper: one seed -- a
    # meta-iteration took about a day on the thesis' K80
    PRESETS = {"smoke": {},
               "cpu": {**CPU, "n_val": 1000, "first_epochs": (10, 10, 10), "epoch_growth": 1.0,
                       "max_epochs": 10, "meta_iterations": 4, "seeds": 3,
                       "random_direction": (-4.0, -7.0)},
               "paper": {**PAPER, "n_val": 5000, "first_epochs": (100, 10, 10),
                         "max_epochs": 300, "meta_iterations": 9, "random_direction": ()}}

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


def random_signs(size: int, seed: int, i: int, device) -> torch.Tensor:
    """The null's "hypergradient" of meta-iteration ``i``: independent random signs, a
    function of (seed, meta-iteration) only."""
    generator = torch.Generator().manual_seed(1_000_003 * (seed + 1) + i)
    signs = torch.randint(0, 2, (size,), generator=generator, dtype=torch.float64) * 2 - 1
    return signs.to(device)


def one_run(item: tuple, checkpoint) -> dict:
    """Meta-iterations from the initial log10 L2 ``init`` with one seed, the meta-steps along
    the signs of DrMAD's hypergradient or (``direction`` = :data:`RANDOM`) along random signs
    of the same size; resumes from ``checkpoint`` and stops at a NaN, keeping every completed
    meta-iteration."""
    cfg, init, first, seed, direction = (*item, DRMAD) if len(item) == 4 else item
    ids = {"init_l2": init, "seed": seed, "direction": direction}
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
            if direction == RANDOM:
                train(problem, forward, theta, epochs * spe, callback=per_epoch)
                bar.update(epochs * spe)
                h, steps, norm = random_signs(len(theta), seed, i, theta.device), 0, math.nan
            else:
                res = hg.drmad(problem, forward, theta, epochs * spe,
                               reverse_dynamics=reverse, callback=per_epoch, progress=bar)
                h, steps, norm = res.hypergrad, _reverse_steps(res), float(res.hypergrad.norm())
        except FloatingPointError as err:
            raise FloatingPointError(f"meta-iteration {i} ({epochs} epochs): {err}") from err
        final = {k: x for k, x in during[-1].items() if k not in (*ids, "epoch")}
        return h, {**ids, "epochs": epochs, "hypergrad_norm": norm,
                   "zero_hypergrad": bool((h == 0).all()),
                   "reverse_steps": steps,
                   "l2_decreased": float((theta < init - 1e-9).double().mean()), **final,
                   "during": list(during),
                   "layers": layer_rows(space, theta, "l2", **ids, meta_iteration=i)}

    optimizer = SignSGD(cfg.meta_lr, cfg.meta_momentum)
    with tqdm(desc=f"{direction} from 1e{init:g}, seed {seed}", unit="step") as bar:
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
            "sizes": {**ids, "n_train": len(splits.y_train), "n_val": len(splits.y_val),
                      "steps_per_epoch": spe, "hyperparameters": space.size}}


def _reverse_steps(result) -> int:
    """The reverse steps DrMAD took (from the result's diagnostics)."""
    return int(result.diagnostics.reverse_steps)


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """DrMAD meta-iterations per initial L2 and seed, and the random-direction control runs.

    Returns (and writes as CSV) ``meta_iterations`` (one row per completed meta-iteration),
    ``during_training`` (errors per epoch inside each meta-iteration), ``layer_l2`` (per-layer
    average log10 L2 per meta-iteration), ``status`` (how each run ended), ``sizes`` (images,
    steps per epoch and hyperparameters of each run) and ``comparison`` (:func:`judge`); every
    table has a ``direction`` column (:data:`DRMAD` or :data:`RANDOM`).
    """
    items = [(cfg, init, first, s, d) for d in (DRMAD, RANDOM)
             for init, first in zip(cfg.initial_l2, cfg.first_epochs)
             if d == DRMAD or init in cfg.random_direction for s in cfg.seed_list]
    with prepare(cfg) as run:
        results = run.map(one_run, items, desc="DrMAD runs",
                          names=[f"l2_{init:g}_seed{s}" + ("_random" if d == RANDOM else "")
                                 for _, init, _, s, d in items])
        tables = {name: _frame([row for res in results for row in res[key]])
                  for name, key in (("meta_iterations", "records"),
                                    ("during_training", "during"), ("layer_l2", "layers"))}
        tables["status"] = pd.DataFrame([res["status"] for res in results])
        tables["sizes"] = pd.DataFrame([res["sizes"] for res in results])
        tables = {name: rounded(df) for name, df in tables.items()}
        tables["comparison"] = judge(tables, cfg)
        run.save_tables(**tables)
    return tables


def _frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table; with no rows (every run stopped in its first meta-iteration),
    an empty one that still has the identifying columns."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(
        columns=["init_l2", "seed", "direction", "meta_iteration", "epochs", "test_error",
                 "l2_decreased", "zero_hypergrad"])


# ---------------------------------------------------------------------- verdicts
# The scale gates (one policy for the chapter, hpostudy.settings.densenet): a claim about
# what DrMAD's updates do needs meta-iterations of at least the thesis' shortest length; a
# claim about an outcome of the thesis' long runs (an error level, a NaN in meta-iteration k)
# needs the thesis' epochs up to that meta-iteration.
FIG_3_8 = Scale({"meta-iterations of equal epochs": 4,
                 "epochs per meta-iteration": DIRECTION_EPOCHS},
                "a change of the error after the updates is DrMAD's only when the "
                "meta-iterations train equally long (otherwise longer training alone lowers it) "
                "and it takes several updates (the thesis saw none help in 8); " + WHY_DIRECTION)
FIG_3_9 = Scale({"meta-iterations": 9, "epochs of meta-iteration 0": 100},
                "the thesis' NaN came in meta-iteration 8 of a run that began at 100 epochs and "
                "grew by 1.4 to 300: it is an outcome of that much training")
FIG_3_11 = Scale({"epochs of meta-iteration 0": 10},
                 "the pull of an L2 of 1e-2 on the weights accumulates with the steps; the "
                 "thesis' error of random guessing and its zero hypergradient came after a "
                 "first meta-iteration of 10 epochs")
FIG_3_13 = Scale({"meta-iterations": 4, "epochs of meta-iteration 3": 27},
                 "the thesis' NaN came in the last epochs of meta-iteration 3, which trained 27 "
                 "epochs (10 growing by 1.4)")
FIG_3_14 = Scale({"meta-iterations": 2, "epochs per meta-iteration": DIRECTION_EPOCHS},
                 "the share is read after at least one update; " + WHY_DIRECTION)
NULL_SHARE = 0.5
WHY_NULL_SHARE = (
    "the null's share, without its run, is exactly 1/2 by symmetry: a hyperparameter moved by "
    "independent random signs of equal size (with momentum 0.7) ends below its start with "
    "probability 1/2, never exactly at it; over the tens of thousands of hyperparameters its "
    "sampling error is below 0.5 points")


def _with_direction(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """A recorded table from before the controls has no ``direction``: all of it is DrMAD."""
    if df is None or "direction" in df:
        return df
    return df.assign(direction=DRMAD)


def per_seed(meta: pd.DataFrame, status: pd.DataFrame, init: float,
             direction: str = DRMAD) -> pd.DataFrame:
    """One row per seed of the runs from ``init`` in ``direction``: meta-iterations done, the
    epochs of each, the test error of each, the epochs of meta-iteration 0 and how many
    meta-iterations trained as long, whether the first hypergradient is zero, the first test
    error, where a NaN stopped the run, and the share of L2 hyperparameters below their start
    at the last completed meta-iteration."""
    meta, status = _with_direction(meta), _with_direction(status)
    rows = []
    for _, st in status[(status.init_l2 == init) & (status.direction == direction)].iterrows():
        g = meta[(meta.init_l2 == init) & (meta.seed == st.seed)
                 & (meta.direction == direction)].sort_values("meta_iteration")
        done = len(g)
        epochs = [int(e) for e in g.epochs] if "epochs" in g else []
        equal = 0
        for e in epochs:  # the leading meta-iterations as long as meta-iteration 0
            if e != epochs[0]:
                break
            equal += 1
        rows.append({"seed": int(st.seed), "done": done, "epochs": epochs,
                     "errors": [float(x) for x in g.test_error],
                     "first_epochs": epochs[0] if epochs else 0, "equal": equal,
                     "zero_first": bool(g.zero_hypergrad.iloc[0]) if done else False,
                     "first_error": float(g.test_error.iloc[0]) if done else float("nan"),
                     "stopped_in": (float("inf") if pd.isna(st.stopped_in)
                                    else int(st.stopped_in)),
                     "decreased": float(g.l2_decreased.iloc[-1]) if done else 0.0})
    return pd.DataFrame(rows)


def _nan_stopped(s: pd.DataFrame, completed: int) -> Judgement | None:
    short = s[s.done < completed]
    if len(short):
        return v.not_comparable(f"needs {completed} completed meta-iterations in every seed; a "
                                f"NaN stopped seed(s) {list(short.seed)} earlier")
    return None


def _fig_3_8(s: pd.DataFrame, null: pd.DataFrame) -> tuple[Judgement, Judgement]:
    """The thesis' "no improvement" from 1e-4 at equal epochs (meta-iteration 0 against the
    last meta-iteration as long), and DrMAD against the random-direction null there."""
    if s.empty:
        gone = v.not_comparable("no run from 1e-4 completed a meta-iteration")
        return gone, gone
    k = int(s.equal.min())  # meta-iterations 0 .. k-1 trained as long in every seed
    ran = {"meta-iterations of equal epochs": k,
           "epochs per meta-iteration": int(s.first_epochs.min())}
    unequal = ("; the meta-iterations trained " + ", ".join(
        f"{e}" for e in s.epochs.iloc[0]) + " epochs") if k < int(s.done.min()) else ""
    if k < 2:
        main = v.not_comparable("needs at least two meta-iterations of equal epochs; ran "
                                + ", ".join(str(e) for e in s.epochs.iloc[0]) + " epochs")
    else:
        main = v.difference(
            [100 * e[0] for e in s.errors], [100 * e[k - 1] for e in s.errors], unit="%",
            what_lower="the test error at meta-iteration 0 (before any update)",
            what_higher=f"the test error at meta-iteration {k - 1} (after {k - 1} updates, the "
                        f"same {ran['epochs per meta-iteration']} epochs)", paired=True)
        main = Judgement(main.verdict, main.rule + unequal, main.reproduced, main.size,
                         main.interval)
    main = FIG_3_8.gate(main, ran)
    if null.empty:
        control = v.not_comparable("needs a run with the random-direction control from 1e-4 "
                                   "(random_direction including -4): without it a rise or fall "
                                   "of the error cannot be told from what any sign steps of "
                                   "this size do")
    else:
        pairs = s.merge(null, on="seed", suffixes=("", "_null"))
        j = int(min(k, pairs.equal_null.min())) - 1
        if j < 1 or len(pairs) < len(s):
            control = v.not_comparable("the random-direction runs did not complete a paired "
                                       "meta-iteration of equal epochs in every seed")
        else:
            control = v.difference(
                [100 * e[j] for e in pairs.errors_null], [100 * e[j] for e in pairs.errors],
                unit="%",
                what_lower=f"the test error after {j} random sign steps",
                what_higher=f"the test error after {j} DrMAD steps (meta-iteration {j})",
                paired=True)
        control = FIG_3_8.gate(control, ran)
    return main, control


def _fig_3_14(s: pd.DataFrame, null: pd.DataFrame) -> Judgement:
    """The share of L2 hyperparameters below their start after DrMAD's steps against the
    random-direction null, paired by seed."""
    if s.empty:
        return v.not_comparable("no run from 1e-7 completed a meta-iteration")
    ran = {"meta-iterations": int(s.done.min()),
           "epochs per meta-iteration": int(min(min(e) for e in s.epochs))}
    if null.empty:
        lower, what, why = ([100 * NULL_SHARE] * len(s), "50% (the null's share)",
                            "; " + WHY_NULL_SHARE)
    else:
        pairs = s.merge(null, on="seed", suffixes=("", "_null"))
        if len(pairs) < len(s) or (pairs.done_null < pairs.done).any():
            return v.not_comparable("the random-direction runs did not complete as many "
                                    "meta-iterations as DrMAD's in every seed")
        lower, what, why = (list(100 * pairs.decreased_null),
                            "the share after as many random sign steps (the null)", "")
    judged = v.difference(lower, list(100 * s.decreased), what_lower=what,
                          what_higher="the share of L2 hyperparameters below their start "
                                      "after DrMAD's steps (last meta-iteration)",
                          paired=True, unit="%")
    judged = Judgement(judged.verdict, judged.rule + why, judged.reproduced, judged.size,
                       judged.interval)
    return FIG_3_14.gate(judged, ran)


def _needs_tables(reason: str):
    return v.not_comparable(f"needs a run with its tables ({reason})")


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """One row per claim of the thesis about the runs from 1e-4, 1e-2 and 1e-7 (initial
    values it did not run get no row), and the rows of the two controls, each from an
    interval rule over seeds behind its scale gate; from the tables :func:`run` saves."""
    meta, status = _with_direction(tables.get("meta_iterations")), _with_direction(
        tables.get("status"))
    sizes = _with_direction(tables.get("sizes"))
    missing = [n for n, t in (("meta_iterations", meta), ("status", status)) if t is None]
    rows = []
    for init, first in zip(cfg.initial_l2, cfg.first_epochs):
        if missing:
            s = null = pd.DataFrame()
        else:
            s, null = per_seed(meta, status, init), per_seed(meta, status, init, RANDOM)
        size = None if sizes is None else sizes[(sizes.init_l2 == init)
                                                & (sizes.direction == DRMAD)]
        epochs = (", ".join(str(e) for e in s.epochs.iloc[0]) if len(s) and len(s.epochs.iloc[0])
                  else f"{first} growing by {cfg.epoch_growth:g}")
        controls = (f"random-direction control: {len(null)} runs" if len(null) else
                    "no random-direction control")
        where = setting(cfg, *sizes_of(size), f"{cfg.meta_iterations} meta-iteration(s) of "
                        f"{epochs} epochs", cfg.optimizer, controls, thesis=PAPER_SETTING)
        label = f"From L2 1e{init:g}:"

        def gated(scale, judgement, ran, completed=0):
            if missing:
                return _needs_tables(f"{', '.join(missing)}; this recording kept only its "
                                     "verdict table")
            stopped = _nan_stopped(s, completed)
            return scale.gate(stopped or judgement(), ran)

        first_run = {"epochs of meta-iteration 0": int(s.first_epochs.min()) if len(s) else 0}
        if init == -4.0:
            if missing:
                main = control = _needs_tables(f"{', '.join(missing)}; this recording kept "
                                               "only its verdict table")
            else:
                main, control = _fig_3_8(s, null)
            rows.append(v.row(
                f"{label} DrMAD does not improve the test error; the lowest is at "
                "meta-iteration 0, before any update (Fig 3.8; at equal epochs)",
                "lowest at meta-iteration 0 (later meta-iterations trained longer)", main,
                where))
            rows.append(v.row(
                f"{label} control: DrMAD's meta-steps against random sign steps of the same "
                "size (test error, paired by seed)",
                "not run in the thesis; its 'no improvement' means DrMAD's steps do no better "
                "than uninformative ones", control, where))
            rows.append(v.row(
                f"{label} a NaN stops the run (Fig 3.9)", "in meta-iteration 8",
                gated(FIG_3_9, lambda: v.share_of_seeds(
                    s.stopped_in <= 8, what="a NaN stops the run by meta-iteration 8"),
                    {"meta-iterations": cfg.meta_iterations, **first_run}), where))
        elif init == -2.0:
            rows.append(v.row(
                f"{label} the penalty dominates, the error is that of random guessing "
                "(Fig 3.11)", "about 90%",
                gated(FIG_3_11, lambda: v.within(
                    100 * s.first_error, low=85.0, unit="%",
                    what="the test error at meta-iteration 0"), first_run, completed=1),
                where))
            rows.append(v.row(
                f"{label} the hypergradient is zero, the hyperparameters cannot move "
                "(Fig 3.12)", "norm 0",
                gated(FIG_3_11, lambda: v.share_of_seeds(
                    s.zero_first, what="the first hypergradient is exactly zero"), first_run,
                      completed=1), where))
        elif init == -7.0:
            third = [e[3] for e in s.epochs if len(e) > 3] if len(s) else []
            rows.append(v.row(
                f"{label} a NaN stops the run (Fig 3.13)", "in meta-iteration 3",
                gated(FIG_3_13, lambda: v.share_of_seeds(
                    s.stopped_in <= 3, what="a NaN stops the run by meta-iteration 3"),
                    {"meta-iterations": cfg.meta_iterations,
                     "epochs of meta-iteration 3": min(third) if len(third) == len(s) and third
                     else epochs_at(first, cfg.epoch_growth, cfg.max_epochs, 3)}), where))
            if missing:
                share = _needs_tables(", ".join(missing))
            else:
                share = _fig_3_14(s, null)
            rows.append(v.row(
                f"{label} many L2 hyperparameters decrease (Fig 3.14): a larger share than "
                "random sign steps of the same size lower (the null)",
                "many", share, where))
    return v.table(rows)
