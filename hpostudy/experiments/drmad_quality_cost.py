"""The cost claims of the DrMAD abstract, judged on the dedicated benchmark (the cost part of
:mod:`hpostudy.experiments.drmad_quality`).

DrMAD is claimed at least 45 times faster and 100 times less memory-hungry than exact reverse
mode. ``bench/hypergrad.py`` measures each method in its own process; its tables
(``BENCHMARK``, read by :func:`read_benchmark`) give the ratios at every horizon it recorded,
judged by :func:`benchmark_rows` with an interval as wide as the spread between repeated
measurements (:func:`measurement_spread`, :func:`ratio_judgement`), behind
:data:`COST_SCALE`. :func:`over_drmad` gives the same ratios for the run's own ``cost`` table.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd

from .. import verdicts as v

BENCHMARK = ("bench/results/hypergrad_cpu.csv", "bench/results/hypergrad_cpu_T10000.csv",
             "bench/results/hypergrad_cpu_T200000.csv")
ROOT = Path(__file__).resolve().parents[2]  # the checkout: benchmark paths are relative to it


COST_SCALE = v.Scale({"T": 2000},
                     "the thesis runs DrMAD at T = 2,000 and 20,000 (and an exact "
                     "hypergradient at 200,000, Fig 3.5): exact reversal's buffer and the "
                     "stored trajectory grow with T while DrMAD's memory does not, so a shorter "
                     "horizon understates the ratios")


def _with(judgement: v.Judgement, reproduced: str = "", rule: str = "") -> v.Judgement:
    """``judgement`` with text appended to what it reproduced and to its rule.

    Args:
        judgement: a verdict.
        reproduced: appended to its ``reproduced``.
        rule: appended to its ``rule``.

    Returns:
        v.Judgement: a copy with the longer texts.
    """
    return dataclasses.replace(judgement, reproduced=judgement.reproduced + reproduced,
                               rule=judgement.rule + rule)


def over_drmad(cost: pd.DataFrame, other: str, column: str) -> pd.Series:
    """Per seed, ``column`` of the method ``other`` over DrMAD's (a row of ``cost.csv`` per
    seed and method): the ratios of the DrMAD abstract's cost claims, in this run's setting.

    Args:
        cost: the run's ``cost`` table.
        other: the method in the numerator (``reverse`` or ``exact``).
        column: what is compared (``cpu_seconds``, ``stored_bytes``).

    Returns:
        pd.Series: the ratio per seed.
    """
    wide = cost.pivot(index="seed", columns="method", values=column)
    return wide[other] / wide["drmad"]


def read_benchmark(files: tuple[str, ...], root: Path = ROOT) -> dict[str, pd.DataFrame]:
    """The benchmark tables ``files`` (paths relative to ``root``, the checkout) and their raw
    measurements (``<stem>_raw.csv`` beside each), by file name; a missing file is left out.

    Args:
        files: the tables' paths, relative to ``root``.
        root: the checkout.

    Returns:
        dict[str, pd.DataFrame]: each table found, by its name (the raw ones as
        ``<stem>_raw.csv`` beside the summary's name).
    """
    tables = {}
    for name in files:
        path = Path(root) / name
        raw = path.with_name(path.stem + "_raw.csv")
        if path.exists():
            tables[name] = pd.read_csv(path)
        if raw.exists():
            tables[str(Path(name).with_name(raw.name))] = pd.read_csv(raw)
    return tables


def measurement_spread(tables: dict[str, pd.DataFrame], column: str,
                       methods=("reverse", "exact", "drmad")) -> float:
    """The largest ratio between two measurements of ``column`` of the same configuration
    (method and T, each in its own process) in the benchmark's raw tables, over ``methods``:
    the factor by which one measurement may be off.

    Args:
        tables: the benchmark tables (:func:`read_benchmark`).
        column: the measured quantity (``cpu_s``, ``peak_bytes``).
        methods: the methods whose measurements count.

    Returns:
        float: the largest max/min ratio, NaN without raw tables.
    """
    raws = [t for name, t in tables.items() if name.endswith("_raw.csv")]
    if not raws:
        return math.nan
    raw = pd.concat(raws, ignore_index=True)
    ok = raw[(raw.status == "ok") & raw.method.isin(methods) & (raw[column] > 0)]
    spreads = ok.groupby(["method", "T"])[column].agg(lambda x: x.max() / x.min())
    return float(spreads.max()) if len(spreads) else math.nan


def ratio_judgement(ratio: float, factor: float, low: float, what: str) -> v.Judgement:
    """A claim that ``ratio`` (of two single benchmark measurements) is at least ``low``: the
    interval ``[ratio / factor, ratio * factor]`` (``factor``: the measurements' spread, on
    each of the two) decides -- agree if it lies at least ``low``, disagree if wholly below,
    else inconclusive.

    Args:
        ratio: the measured ratio.
        factor: the measurements' spread, squared (one factor per measurement).
        low: the claimed least ratio.
        what: the ratio, in words, for the rule.

    Returns:
        v.Judgement: the verdict with its rule and interval.
    """
    iv = v.Interval(ratio, ratio / factor, ratio * factor, 1, "measurement spread")
    rule = (f"agree if {what}, divided and multiplied by {v.fmt(factor)} (the square of the "
            f"benchmark's largest spread between repeated measurements of one configuration of "
            f"these methods), lies at least {v.fmt(low)}, disagree if wholly below, else "
            "inconclusive")
    reproduced = f"{v.fmt(ratio)}x, interval [{v.fmt(iv.low)}, {v.fmt(iv.high)}]"
    return v.Judgement(v.side_of(iv, low=low), rule, reproduced, interval=iv)


def benchmark_rows(tables: dict[str, pd.DataFrame]) -> list[dict]:
    """The DrMAD abstract's claims (at least 45 times faster, 100 times less memory than exact
    reverse mode) at every horizon of the benchmark tables, for our exact reversal and for the
    stored-trajectory reverse mode: time is the best process CPU time of a dedicated process,
    memory the peak above the warm process (``cpu_s_best``, ``peak_MB``), both over DrMAD's at
    the same T; behind :data:`COST_SCALE`.

    Args:
        tables: the benchmark tables (:func:`read_benchmark`).

    Returns:
        list[dict]: two rows of the comparison (time, memory) per horizon and method, or one
        not-comparable row without the tables.
    """
    summaries = {name: t for name, t in tables.items() if not name.endswith("_raw.csv")}
    if not summaries:
        return [v.row("DrMAD's cost against exact reversal (DrMAD abstract)", "45x faster, "
                      "100x less memory", v.not_comparable("the benchmark tables are not in "
                                                           "this checkout"), "-")]
    time_spread = measurement_spread(tables, "cpu_s") ** 2
    memory_spread = measurement_spread(tables, "peak_bytes") ** 2
    rows = []
    for name, table in summaries.items():
        ok = table[table.status == "ok"].set_index(["method", "T"])
        for T in sorted(table["T"].unique()):
            if ("drmad", T) not in ok.index:
                continue
            drmad = ok.loc[("drmad", T)]
            device = str(drmad.device)
            for other, label in (("exact", "exact reversal"),
                                 ("reverse", "stored-trajectory reverse mode")):
                if (other, T) not in ok.index:
                    continue
                o = ok.loc[(other, T)]
                where = (f"{name}: {drmad.data}, MLP 784-50-50-50-10, float32, momentum 0.9, "
                         f"batch 128, {device}; one process per measurement after a warm-up; "
                         f"DrMAD with S={int(drmad.reverse_steps)} reverse steps (its beta "
                         f"estimate); our exact reversal is vectorized (a range-ANS buffer of "
                         f"tensors), not the original's Python big integers")
                tested = (f"{label} (T={int(T):,}; the DrMAD abstract's claim against the "
                          "original implementation, tested against our vectorized one)"
                          if other == "exact" else
                          f"{label} (T={int(T):,}; the DrMAD abstract's claim, tested against "
                          "this method)")
                speed = ratio_judgement(float(o.cpu_s_best) / float(drmad.cpu_s_best),
                                        time_spread, 45.0,
                                        f"the CPU time of {label} over DrMAD's")
                speed = _with(speed, reproduced=(
                    f" ({v.fmt(float(o.cpu_s_best))} s against {v.fmt(float(drmad.cpu_s_best))}"
                    f" s)"))
                memory = ratio_judgement(float(o.peak_MB) / float(drmad.peak_MB),
                                         memory_spread, 100.0,
                                         f"the peak memory of {label} over DrMAD's")
                kept = (f"; kept for the reverse pass: {v.fmt(float(o.stored_MB))} MB"
                        if not pd.isna(o.get("stored_MB")) else "")
                memory = _with(memory, reproduced=(
                    f" ({v.fmt(float(o.peak_MB))} MB against {v.fmt(float(drmad.peak_MB))} MB "
                    f"above the warm process{kept})"))
                rows.append(v.row(f"DrMAD is at least 45 times faster than {tested}",
                                  "at least 45x", COST_SCALE.gate(speed, {"T": T}), where))
                rows.append(v.row(f"DrMAD needs 100 times less memory than {tested}",
                                  "100x less", COST_SCALE.gate(memory, {"T": T}), where))
    return rows
