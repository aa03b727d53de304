"""Verdicts: a source's claim against our runs, by a rule stated in words.

Every row of a chapter's paper-vs-reproduced table comes from one rule of this module applied
to values measured over seeds, and reads: the finding, the paper's value, ours with its spread,
how our setting differs from the paper's, the rule in words, and the verdict:

* ``agree`` -- every seed (or the mean, for comparisons of means) is on the paper's side of
  the rule's threshold;
* ``disagree`` -- every seed (or the mean) is on the other side;
* ``inconclusive`` -- the seeds fall on both sides, the difference is within the spread, or
  fewer than :data:`MIN_SEEDS` seeds were run (``smoke`` runs one seed, so its verdicts are
  inconclusive by construction);
* ``not comparable`` -- the setting differs from the paper's too much for the claim to be
  tested (the reason is given).

No rule looks at wall-clock time: two identical runs always get the same verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE = ("agree", "disagree", "inconclusive",
                                                 "not comparable")
VERDICTS = (AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE)
MIN_SEEDS = 3  # claims about a run's outcome need at least this many seeds
COLUMNS = ["finding", "paper", "reproduced", "setting", "rule", "verdict"]


@dataclass(frozen=True)
class Judgement:
    """What a rule concluded: the verdict, the rule in words and our value with its spread."""

    verdict: str
    rule: str
    reproduced: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict '{self.verdict}': one of {VERDICTS}")


# ---------------------------------------------------------------------- numbers
def fmt(x: float, digits: int = 3) -> str:
    """``x`` for reading, to ``digits`` significant digits (``1.5950000000000002`` -> ``1.6``).

    Counts (ints) are exact, with thousands separators from 10,000 on; values from
    ``10**digits`` to a thousand times that are rounded to whole numbers (``5535.83`` ->
    ``5536``); larger and tiny ones take the exponent form. A value that is not exactly 1 or -1
    never reads as one: a cosine of 0.99999 shows as ``0.99999``, not ``1``.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10000 else str(x)
    whole = float(x).is_integer()
    if abs(x) < 10 ** digits * 1000 and (whole or abs(x) >= 10 ** digits):
        return fmt(int(round(x)))
    text = f"{x:.{digits}g}"
    if "e" in text and 1 <= abs(x) < 10 ** digits:  # rounded up to 10**digits (999.96)
        return fmt(int(round(x)))
    while not whole and float(text) in (1.0, -1.0) and digits < 12:
        digits += 1
        text = f"{x:.{digits}g}"
    return text


def _values(values: Iterable) -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError("a verdict needs at least one value")
    return out


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    v = _values(values)
    mean = sum(v) / len(v)
    if len(v) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


def spread(values: Sequence[float], digits: int = 3, unit: str = "") -> str:
    """``mean ± sd (n seeds)``, or the value and ``(1 seed)``."""
    v = _values(values)
    u = f" {unit}" if unit else ""
    if len(v) == 1:
        return f"{fmt(v[0], digits)}{u} (1 seed)"
    mean, sd = mean_sd(v)
    return f"{fmt(mean, digits)} ± {fmt(sd, 2)}{u} ({len(v)} seeds)"


def _too_few(n: int, rule: str, reproduced: str, min_seeds: int) -> Judgement | None:
    if n < min_seeds:
        return Judgement(INCONCLUSIVE, f"{rule}; needs at least {min_seeds} seeds, ran {n}",
                         reproduced)
    return None


# ---------------------------------------------------------------------- rules
def each_seed_within(values: Sequence[float], low: float = -math.inf, high: float = math.inf,
                     *, what: str = "the value", digits: int = 3, unit: str = "",
                     min_seeds: int = MIN_SEEDS) -> Judgement:
    """Agree if every seed's value lies in ``[low, high]``, disagree if none does."""
    v = _values(values)
    bounds = (f"at least {fmt(low)}" if math.isinf(high) else
              f"at most {fmt(high)}" if math.isinf(low) else f"in [{fmt(low)}, {fmt(high)}]")
    rule = f"agree if {what} is {bounds} for every seed, disagree if for none"
    reproduced = spread(v, digits, unit)
    early = _too_few(len(v), rule, reproduced, min_seeds)
    if early:
        return early
    inside = [low <= x <= high for x in v]
    verdict = AGREE if all(inside) else DISAGREE if not any(inside) else INCONCLUSIVE
    return Judgement(verdict, rule, reproduced)


def holds_for_each_seed(flags: Sequence[bool], *, what: str,
                        min_seeds: int = MIN_SEEDS) -> Judgement:
    """Agree if a property holds in every seed's run, disagree if it holds in none."""
    f = [bool(x) for x in flags]
    if not f:
        raise ValueError("a verdict needs at least one value")
    rule = f"agree if {what} in every seed's run, disagree if in none"
    reproduced = f"{sum(f)} of {len(f)} seeds"
    early = _too_few(len(f), rule, reproduced, min_seeds)
    if early:
        return early
    verdict = AGREE if all(f) else DISAGREE if not any(f) else INCONCLUSIVE
    return Judgement(verdict, rule, reproduced)


def mean_below(lower: Sequence[float], higher: Sequence[float], *, what_lower: str,
               what_higher: str, digits: int = 3, z: float = 2.0,
               min_seeds: int = MIN_SEEDS) -> Judgement:
    """Agree if the mean of ``lower`` is below the mean of ``higher`` by more than ``z``
    standard errors of the difference, disagree if above by as much, else inconclusive."""
    a, b = _values(lower), _values(higher)
    rule = (f"agree if {what_lower} is below {what_higher} by more than {z:g} standard errors "
            "of the difference of means, disagree if above by as much")
    reproduced = f"{spread(a, digits)} vs {spread(b, digits)}"
    early = _too_few(min(len(a), len(b)), rule, reproduced, min_seeds)
    if early:
        return early
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    se = math.sqrt(sa ** 2 / len(a) + sb ** 2 / len(b))
    diff = mb - ma
    if diff > z * se and diff > 0:
        verdict = AGREE
    elif -diff > z * se and diff < 0:
        verdict = DISAGREE
    else:
        verdict = INCONCLUSIVE
    return Judgement(verdict, rule, reproduced)


def paired_mean_below(lower: Sequence[float], higher: Sequence[float], *, what_lower: str,
                      what_higher: str, margin: float = 0.0, digits: int = 3, z: float = 2.0,
                      min_seeds: int = MIN_SEEDS) -> Judgement:
    """Paired by seed (the same split, data or initialization in both): with the differences
    :math:`d_i = \\text{higher}_i - \\text{lower}_i`, agree if their mean exceeds ``-margin`` by
    more than ``z`` standard errors of the mean difference, disagree if it falls short of
    ``-margin`` by as much, else inconclusive.

    ``margin = 0`` tests that ``lower`` is below ``higher``; ``margin > 0`` tests that ``lower``
    is not above ``higher`` by more than ``margin`` ("at least as high, up to ``margin``").
    Pairing removes what the seeds share (a hard split is hard for both), so a difference
    smaller than either spread can still be judged.
    """
    a, b = _values(lower), _values(higher)
    if len(a) != len(b):
        raise ValueError(f"paired values need one pair per seed, got {len(a)} and {len(b)}")
    if not margin >= 0:
        raise ValueError(f"the margin must be non-negative, got {margin}")
    claim = (f"{what_lower} is below {what_higher}" if margin == 0 else
             f"{what_lower} is not above {what_higher} by more than {fmt(margin)}")
    rule = (f"agree if, paired by seed, {claim} by more than {z:g} standard errors of the mean "
            "difference, disagree if the opposite holds by as much")
    d = [y - x for x, y in zip(a, b)]
    mean, sd = mean_sd(d)
    reproduced = (f"{spread(a, digits)} vs {spread(b, digits)}; difference "
                  f"{fmt(mean, digits)} ± {fmt(sd / math.sqrt(len(d)), 2)} (standard error)")
    early = _too_few(len(d), rule, reproduced, min_seeds)
    if early:
        return early
    se = sd / math.sqrt(len(d))
    if mean + margin > z * se:
        verdict = AGREE
    elif mean + margin < -z * se:
        verdict = DISAGREE
    else:
        verdict = INCONCLUSIVE
    return Judgement(verdict, rule, reproduced)


def not_comparable(reason: str, reproduced: str = "-") -> Judgement:
    """The setting cannot test the claim (``reason`` says why)."""
    return Judgement(NOT_COMPARABLE, f"not comparable: {reason}", reproduced)


def row(finding: str, paper: str, judgement: Judgement, setting: str) -> dict:
    """One row of a paper-vs-reproduced table (columns :data:`COLUMNS`)."""
    return {"finding": finding, "paper": paper, "reproduced": judgement.reproduced,
            "setting": setting, "rule": judgement.rule, "verdict": judgement.verdict}


def table(rows: list[dict]):
    """The rows as a DataFrame with the columns in :data:`COLUMNS` order."""
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)
