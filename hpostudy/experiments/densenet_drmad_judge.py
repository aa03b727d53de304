"""The comparison of :mod:`hpostudy.experiments.densenet_drmad`: the thesis' claims about
DrMAD on the DenseNet (section 3.2.1, Figs 3.8-3.14) and the random-direction null, judged from
the run's tables.

Each claim is an interval rule over seeds behind its scale gate (``FIG_3_8`` ... ``FIG_3_14``
of :mod:`hpostudy.experiments.densenet_drmad_gates`, one policy for the chapter); :func:`per_seed` reads the
runs of one initial value and direction, :func:`judge` makes the table, a function of the
recorded tables and the settings only (``hpostudy rejudge``). ``cfg`` is the experiment's
:class:`~hpostudy.experiments.densenet_drmad.Config` (named in annotations only: this module
is imported by the experiment module, not the other way round).
"""
from __future__ import annotations

import pandas as pd

from .. import verdicts as v
from ..settings.densenet import setting, sizes_of
from ..verdicts import Judgement
# the scale gates live in their own module; their names stay readable here
# (densenet_drmad_judge.FIG_3_8, ...), as the experiment module reads them
from .densenet_drmad_gates import FIG_3_8, FIG_3_9, FIG_3_11, FIG_3_13, FIG_3_14

PAPER_SETTING = ("DenseNet-40, CIFAR-10, Nesterov; 100 (from 1e-4) or 10 epochs, x1.4 per "
                 "meta-iteration up to 300")
DRMAD, RANDOM = "DrMAD", "random signs"  # the direction of the meta-steps


def epochs_at(first: int, growth: float, cap: int, i: int) -> int:
    """Epochs of meta-iteration ``i``: ``first * growth**i``, rounded, at most ``cap``.

    Args:
        first: the epochs of meta-iteration 0.
        growth: the factor per meta-iteration (the thesis: 1.4).
        cap: the most epochs of a meta-iteration (the thesis: 300).
        i: the meta-iteration.

    Returns:
        int: its epochs.
    """
    return int(min(round(first * growth ** i), cap))


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
    at the last completed meta-iteration.

    Args:
        meta: the ``meta_iterations`` table.
        status: the ``status`` table (one row per run).
        init: the initial L2 hyperparameter of the runs.
        direction: ``DRMAD`` or ``RANDOM``, the direction of the meta-steps.

    Returns:
        pd.DataFrame: one row per seed.
    """
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
    interval rule over seeds behind its scale gate; from the tables :func:`run` saves.

    Args:
        tables: the run's tables by name (``meta_iterations``, ``status``, ``sizes``).
        cfg: the run's configuration.

    Returns:
        pd.DataFrame: the comparison table.
    """
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
