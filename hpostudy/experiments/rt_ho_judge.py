"""The comparison of :mod:`hpostudy.experiments.rt_ho` with Franceschi et al. (2017),
section 4: the paper's numbers (``PAPER``), the summary of both methods beside them, and the
verdicts on accuracy, CPU time and the agreement of the forward and reverse modes, a function of
the recorded tables and the settings only (``hpostudy rejudge``). ``cfg`` is the experiment's
:class:`~hpostudy.experiments.rt_ho.Config` (named in annotations only: this module is imported
by the experiment module, not the other way round).
"""
from __future__ import annotations

import pandas as pd
import torch

from .. import verdicts as v

PAPER = {"Baseline": {"accuracy": 0.4567, "cpu_seconds": 712},
         "RT-HO": {"accuracy": 0.4616, "cpu_seconds": 412}}
PAPER_SETTING = ("TIMIT (a twelfth), 123 -> 183 phone states, 300-d phonetic embeddings, "
                 "updates every 20 SGDM steps")


def summarize(methods: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per method, the paper's accuracy and CPU time
    beside.

    Args:
        methods: the ``methods`` table (one row per seed and method).

    Returns:
        pd.DataFrame: one row per method (Baseline, RT-HO).
    """
    rows = []
    for name in ("Baseline", "RT-HO"):
        mine = methods[methods.method == name]
        spread = (lambda col: mine[col].std(ddof=1) if len(mine) > 1 else 0.0)
        rows.append({"method": name, "paper_accuracy": PAPER[name]["accuracy"],
                     "test_accuracy": mine.test_accuracy.mean(), "sd": spread("test_accuracy"),
                     "paper_cpu_seconds": PAPER[name]["cpu_seconds"],
                     "cpu_seconds": mine.cpu_seconds.mean(), "cpu_sd": spread("cpu_seconds"),
                     "steps": mine.steps.mean(), "threads": torch.get_num_threads(),
                     "seeds": len(mine), "diverged": int(mine.diverged.sum())})
    return pd.DataFrame(rows)


def setting(cfg: Config) -> str:
    """How this run's setting differs from the paper's.

    Args:
        cfg: the run's configuration (a :class:`~hpostudy.experiments.rt_ho.Config`).

    Returns:
        str: the setting column of the comparison.
    """
    data_text = ("embedded 8x8 digits" if cfg.dataset == "digits" else
                 f"CIFAR-10 pixels ({cfg.n_train:,} training, {cfg.n_val:,} validation images, "
                 "the test images of the data root)")
    return (f"{cfg.profile}: {data_text}, secondary target the {cfg.embedding}-d embedding of "
            f"a CNN trained on the training images (not TIMIT's phonetic embeddings); "
            f"{cfg.hidden} units per layer; grid over "
            f"{len(cfg.rho_grid)} rho values at eta = {cfg.lr:g}, mu = {cfg.momentum:g} "
            f"(paper: {PAPER_SETTING})")


# in float64 the two modes differ by rounding only; a larger relative difference would mean
# they compute different things
MODES_AGREE = 1e-6


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the paper from the run's tables ``grid``, ``methods`` and
    ``growth`` (:func:`run`); also what ``hpostudy rejudge`` calls on a recorded run.

    Every claim is paired by seed (the same initialization and batch order for both methods).
    Whether rho matters is judged on the test images by the rho values the validation error
    ranks best and worst (ranking and judging on the same errors would make any grid "matter").
    RT-HO's faster convergence is judged against one training at the rho the grid chose, not
    against the whole grid (one run against seven would be fewer steps by construction).

    Args:
        tables: the run's tables by name.
        cfg: the run's configuration.

    Returns:
        pd.DataFrame: the comparison table.
    """
    grid, methods, growth = tables["grid"], tables["methods"], tables["growth"]
    where = setting(cfg)
    wide = methods.pivot(index="seed", columns="method", values="test_accuracy")
    best_step = methods.pivot(index="seed", columns="method", values="best_step")
    steps = methods.pivot(index="seed", columns="method", values="steps")
    cpu = methods.pivot(index="seed", columns="method", values="cpu_seconds")
    ranked = grid.sort_values(["seed", "val_error", "rho"])
    chosen = ranked.groupby("seed").first()  # the lowest validation error per seed
    rejected = ranked.groupby("seed").last()  # the highest
    budget = (f"{where}; budgets per seed: RT-HO one run of {v.spread(steps['RT-HO'])} steps "
              f"(each also pushes 3 tangents), {v.fmt(float(cpu['RT-HO'].mean()))} CPU s; grid "
              f"{len(cfg.rho_grid)} runs, {v.spread(steps['Baseline'])} steps in all, "
              f"{v.fmt(float(cpu['Baseline'].mean()))} CPU s")
    modes = growth[growth.precision == "float64"].groupby("seed").relative_difference.max()
    return v.table([
        v.row("rho matters: the rho with the lowest validation error is more accurate on the "
              "test images than the rho with the highest", "rho tuned by grid search (Baseline)",
              v.difference(rejected.test_accuracy, chosen.test_accuracy.reindex(rejected.index),
                           what_lower="the test accuracy at the grid's worst rho (by validation)",
                           what_higher="at its best", paired=True), where),
        v.row("RT-HO generalizes better than the grid search on rho (Fig 1 right)",
              f"{PAPER['RT-HO']['accuracy']} vs {PAPER['Baseline']['accuracy']} test accuracy "
              f"(+{PAPER['RT-HO']['accuracy'] - PAPER['Baseline']['accuracy']:.4f})",
              v.difference(wide["Baseline"], wide["RT-HO"], what_lower="the grid's test accuracy",
                           what_higher="RT-HO's", paired=True,
                           paper_size=PAPER["RT-HO"]["accuracy"] - PAPER["Baseline"]["accuracy"]),
              budget),
        v.row("RT-HO converges faster: it reaches its best validation error in fewer steps than "
              "one training at the rho the grid chose (each RT-HO step also pushes 3 tangents)",
              "\"could bring to faster convergence\" (text of Fig 1 right)",
              v.difference(best_step["RT-HO"], best_step["Baseline"],
                           what_lower="RT-HO's steps to its best validation error",
                           what_higher="the chosen grid run's", paired=True), budget),
        v.row("RT-HO takes less CPU time than the grid search (Fig 1 right)",
              f"{PAPER['RT-HO']['cpu_seconds']} s vs {PAPER['Baseline']['cpu_seconds']} s",
              v.not_comparable(f"one run against the grid's {len(cfg.rho_grid)}: the grid's "
                               "size decides the ratio, and a speed claim needs a dedicated "
                               "benchmark row; the process CPU times are in the table above",
                               f"{v.spread(cpu['RT-HO'], unit='s')} vs "
                               f"{v.spread(cpu['Baseline'], unit='s')}"), budget),
        v.row("FORWARD-HO and REVERSE-HO compute the same hypergradient (Algorithms 1 and 2), "
              f"in float64 at every horizon T in {list(cfg.growth_horizons)} from RT-HO's start",
              "the two modes are exact",
              v.within(modes.clip(lower=1e-16), high=MODES_AGREE, log=True,
                       what="the largest relative difference of the two modes (below 1e-16 "
                            "counted as 1e-16)"), where),
    ])
