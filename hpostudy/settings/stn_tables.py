"""The tables and verdicts of the Self-Tuning Network experiments (MacKay et al. 2019): the
book's table of an STN-versus-searches run (mean ± sd over seeds, budgets beside), the
paired comparison of the STN with each search at equal training steps, and the scale gate of
an STN claim. The runs they read: :func:`hpostudy.settings.stn.run_versus`.
"""
from __future__ import annotations

import math

import pandas as pd

from .. import verdicts as v
from .stn_configs import SEARCHES, SOURCE


def _cpu(values) -> str:
    """Process CPU seconds per seed, or ``n/a`` where a run did not record them."""
    values = [float(x) for x in values]
    return "n/a" if any(math.isnan(x) for x in values) else mean_sd(values, 3)


def seeds(cfg) -> str:
    """The number of seeds in words.

    Args:
        cfg: a configuration with ``seeds``.

    Returns:
        ``"1 seed"`` or ``"<n> seeds"``.
    """
    return f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}"


def mean_sd(values, digits: int = 3) -> str:
    """``mean ± sd`` to ``digits`` significant digits (the value alone for one seed).

    Args:
        values: one value per seed.
        digits: significant digits of the mean (the sd gets two).

    Returns:
        The formatted mean and sample standard deviation.
    """
    mean, sd = v.mean_sd(list(values))
    return v.fmt(mean, digits) if len(values) == 1 else f"{v.fmt(mean, digits)} ± {v.fmt(sd, 2)}"


def _count(values) -> str:
    """A count per seed: one number, or the range where seeds differ."""
    low, high = int(min(values)), int(max(values))
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def methods_table(runs: pd.DataFrame, metric: str, paper: dict,
                  compared: str) -> pd.DataFrame:
    """The book's table of an STN-versus-searches run: per method the final validation and test
    loss and ``metric`` (mean ± sd over seeds), networks trained, training steps and
    wall-clock, with the slides' validation / test ``compared`` (loss or perplexity) beside.

    Args:
        runs: one row per seed and method, as :func:`hpostudy.settings.stn.run_versus` returns.
        metric: the task's metric column (``error`` is shown in percent).
        paper: per method the slides' ``(validation, test)`` value of ``compared``.
        compared: the name of the slides' quantity (``loss`` or ``perplexity``).

    Returns:
        One row per method.
    """
    unit = " (%)" if metric == "error" else ""
    scale = 100 if metric == "error" else 1
    rows = []
    for method, g in runs.groupby("method", sort=False):
        rows.append({"method": "STN" if method == "STN" else SEARCHES[method],
                     "val loss": mean_sd(g.val_loss), "test loss": mean_sd(g.test_loss),
                     f"test {metric}{unit}": mean_sd(g[f"test_{metric}"] * scale),
                     "networks": _count(g.networks),
                     "training steps": _count(g.training_steps),
                     "CPU (s)": _cpu(g.cpu_seconds) if "cpu_seconds" in g else "n/a",
                     "wall-clock (min)": mean_sd(g.wall_minutes, 2),
                     f"slides: val / test {compared}": f"{paper[method][0]} / {paper[method][1]}"})
    return pd.DataFrame(rows)


def budget(runs: pd.DataFrame, method: str) -> str:
    """A method's training steps per seed, in words. Its process CPU seconds stand beside it
    in the methods table, not here: a comparison row must be the same for a run resumed from
    a checkpoint (which counts only its last part of the time) as for an uninterrupted one.

    Args:
        runs: one row per seed and method.
        method: ``STN`` or a key of ``SEARCHES``.

    Returns:
        The method's name and its training steps (a range where seeds differ).
    """
    g = runs[runs.method == method]
    name = "STN" if method == "STN" else SEARCHES[method]
    return f"{name} {_count(g.training_steps)} training steps"


def gated(judgement: v.Judgement, scale: v.Scale, ran: dict, stn_steps: float,
          search_steps: float, name: str) -> v.Judgement:
    """``judgement`` through the claim's scale gate and the budget gate: an STN that trained
    fewer steps than the search it is compared with makes the row not comparable.

    Args:
        judgement: the verdict of the comparison.
        scale: the claim's scale gate.
        ran: the scale of the run (``epochs``: the STN's passes over its training data).
        stn_steps: the STN's training steps.
        search_steps: the search's training steps in all.
        name: the search's name.

    Returns:
        ``judgement``, or a not-comparable verdict saying which gate it failed.
    """
    judgement = scale.gate(judgement, ran)
    if stn_steps >= search_steps:
        return judgement
    reason = (f"unequal budgets: the STN trained {v.fmt(int(stn_steps))} steps, the {name} "
              f"{v.fmt(int(search_steps))} in all; needs a run with the STN at the search's "
              "total (stn_steps = trials x steps)")
    if judgement.verdict == v.NOT_COMPARABLE:
        reason += "; " + judgement.rule.removeprefix("not comparable: ")
    return v.not_comparable(reason, judgement.reproduced)


def beats_searches(runs: pd.DataFrame, compared: str, paper: dict, where: str, cfg,
                   scale: v.Scale) -> list[dict]:
    """One verdict row per search: is the STN's final test ``compared`` (loss or perplexity)
    below the search's best trial's? Paired by seed (the same data, initialization and batch
    order), with the slides' difference as the size; judged only at equal training steps and
    at the claim's scale (:func:`gated`; the STN's passes over the training data).

    Args:
        runs: one row per seed and method.
        compared: the test quantity compared (``loss`` or ``perplexity``).
        paper: per method the slides' ``(validation, test)`` value of ``compared``.
        where: the run's setting in words.
        cfg: the experiment's configuration (its ``epochs``).
        scale: the claim's scale gate.

    Returns:
        One verdict row per search.
    """
    by = {m: g.sort_values("seed") for m, g in runs.groupby("method")}
    stn = by["STN"]
    stn_steps = float(stn.training_steps.min())
    ran = {"epochs": cfg.epochs(stn_steps)}
    rows = []
    for method, name in SEARCHES.items():
        judgement = v.difference(
            stn[f"test_{compared}"].tolist(), by[method][f"test_{compared}"].tolist(),
            what_lower=f"the STN's test {compared}", what_higher=f"the {name}'s best trial's",
            paired=True, paper_size=paper[method][1] - paper["STN"][1])
        rows.append(v.row(
            f"The STN beats {name} (test {compared})",
            f"STN {paper['STN'][1]} vs {paper[method][1]} ({SOURCE})",
            gated(judgement, scale, ran, stn_steps, float(by[method].training_steps.max()),
                  name),
            f"{where}; budgets per seed: {budget(runs, 'STN')}; {budget(runs, method)}"))
    return rows


def slides_scale(iterations: int, batch: str, epochs: float, what: str) -> v.Scale:
    """The scale gate of an STN claim: the STN's passes over its training data at least the
    slides' (``iterations`` steps of ``batch``, ``epochs`` passes).

    Args:
        iterations: the slides' training iterations.
        batch: their batch in words.
        epochs: the passes over the training data they make.
        what: the slides' run in words.

    Returns:
        The gate needing ``epochs`` passes.
    """
    return v.Scale(needs={"epochs": round(epochs)},
                   why=f"the slides' {what} ran {iterations:,} iterations of {batch}, "
                       f"{round(epochs)} passes over the training data; a regularization "
                       "schedule and the networks it is compared with are judged where training "
                       "has gone as far into overfitting")


def searches_setting(cfg) -> str:
    """The searches' budget in words (the ``setting`` column): a grid of ``ceil(sqrt(trials))``
    points per group, so it visits at most ``trials`` of them.

    Args:
        cfg: the experiment's configuration (``trials``, ``start``, ``seeds``).

    Returns:
        The start, trials per search, the grid and the seeds, in words.
    """
    points = max(2, math.ceil(cfg.trials ** 0.5))
    visited = min(cfg.trials, points ** 2)
    on_grid = abs(cfg.start * (points - 1) - round(cfg.start * (points - 1))) < 1e-9
    start = "with" if on_grid and visited == points ** 2 else "without"
    return (f"every method from box position {cfg.start:g}; {cfg.trials} trials per search; "
            f"grid {points} x {points} over two tied groups, {visited} points visited, {start} "
            f"the start; {seeds(cfg)}")
