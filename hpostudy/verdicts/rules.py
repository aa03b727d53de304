"""The rules that judge a claim from an interval: the direction verdicts (:func:`side_of`,
:func:`within`, :func:`difference`, :func:`share_of_seeds`, :func:`not_comparable`) and the size
verdict of an effect whose size the paper states (:func:`size_verdict`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from .intervals import LEVEL, Interval, binomial_interval, difference_interval, t_interval
from .numbers import _values, fmt, spread

AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE = ("agree", "disagree", "inconclusive",
                                                 "not comparable")
VERDICTS = (AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE)
SIZE_REPRODUCED, DIRECTION_ONLY, SIZE_REJECTED, OPPOSITE, SIZE_UNTESTED = (
    "size reproduced", "direction only", "size rejected", "opposite", "size untested")
SIZE_VERDICTS = (SIZE_REPRODUCED, DIRECTION_ONLY, SIZE_REJECTED, OPPOSITE, SIZE_UNTESTED)
MIN_SEEDS = 3  # claims about a run's outcome need at least this many seeds


@dataclass(frozen=True)
class Judgement:
    """What a rule concluded.

    Attributes:
        verdict: ``agree``, ``disagree``, ``inconclusive`` or ``not comparable``.
        rule: the rule in words.
        reproduced: our value with its interval, for the table.
        size: where the paper states a size, the size verdict (:func:`size_verdict`); else
            ``""``.
        interval: the interval the verdict rests on (None for ``not comparable``).

    Raises:
        ValueError: an unknown verdict or size verdict.
    """

    verdict: str
    rule: str
    reproduced: str
    size: str = ""
    interval: Interval | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict '{self.verdict}': one of {VERDICTS}")
        if self.size and self.size not in SIZE_VERDICTS:
            raise ValueError(f"unknown size verdict '{self.size}': one of {SIZE_VERDICTS}")


def side_of(interval: Interval, low: float = -math.inf, high: float = math.inf) -> str:
    """Where an interval lies with respect to ``[low, high]``.

    Args:
        interval: our interval.
        low: the lower bound of the claim's side.
        high: the upper bound.

    Returns:
        str: ``agree`` if the interval lies wholly inside, ``disagree`` if wholly outside, else
        ``inconclusive`` (it contains a bound, or is undefined).
    """
    if not interval.defined:
        return INCONCLUSIVE
    if low <= interval.low and interval.high <= high:
        return AGREE
    if interval.high < low or interval.low > high:
        return DISAGREE
    return INCONCLUSIVE


def size_verdict(interval: Interval, paper: float) -> str:
    """The size verdict of an effect whose paper value is ``paper``, from our interval of the same
    effect.

    See the module docstring for the five verdicts.

    Args:
        interval: our interval of the effect.
        paper: the paper's value (non-zero: its sign is the claim).

    Returns:
        str: ``size reproduced``, ``direction only``, ``size rejected``, ``opposite`` or
        ``size untested``.

    Raises:
        ValueError: ``paper`` is zero.
    """
    if paper == 0:
        raise ValueError("a size verdict needs a non-zero paper value (its sign is the claim)")
    if not interval.defined:
        return SIZE_UNTESTED
    sign = 1 if paper > 0 else -1
    lo, hi = sorted((sign * interval.low, sign * interval.high))  # the paper's side positive
    target = abs(paper)
    if hi < 0:
        return OPPOSITE
    if lo <= target <= hi:  # the paper's value is inside: reproduced unless zero is too
        return SIZE_UNTESTED if lo <= 0 else SIZE_REPRODUCED
    return DIRECTION_ONLY if lo > 0 else SIZE_REJECTED


def _too_few(n: int, rule: str, reproduced: str, min_seeds: int,
             interval: Interval | None = None) -> Judgement | None:
    if n < min_seeds:
        return Judgement(INCONCLUSIVE, f"{rule}; needs at least {min_seeds} seeds, ran {n}",
                         reproduced, interval=interval)
    return None


def _bounds(low: float, high: float) -> str:
    return (f"at least {fmt(low)}" if math.isinf(high) else
            f"at most {fmt(high)}" if math.isinf(low) else f"in [{fmt(low)}, {fmt(high)}]")


def within(values: Sequence[float], low: float = -math.inf, high: float = math.inf, *,
           what: str = "the value", log: bool = False, digits: int = 3, unit: str = "",
           min_seeds: int = MIN_SEEDS) -> Judgement:
    """The claim that a mean over seeds lies in ``[low, high]``, by its 95% t-interval.

    Agree if the interval of the mean of ``values`` (of their log10 with ``log=True``) lies
    inside ``[low, high]``, disagree if it lies wholly outside, else inconclusive: a mean within
    its own uncertainty of a bound decides nothing.

    Args:
        values: one value per seed.
        low: the lower bound (``-inf``: none).
        high: the upper bound (``inf``: none).
        what: what the values are, for the rule in words.
        log: judge the geometric mean (interval on log10).
        digits: significant digits shown.
        unit: a unit written after the numbers.
        min_seeds: fewer seeds give ``inconclusive``.

    Returns:
        Judgement: the verdict, the rule in words and our value with its interval.
    """
    iv = t_interval(values, log=log)
    mean = "geometric mean" if log else "mean"
    rule = (f"agree if the {LEVEL:.0%} t-interval of the {mean} over seeds of {what} lies "
            f"{_bounds(low, high)}, disagree if it lies wholly outside, else inconclusive")
    reproduced = iv.text(digits, unit)
    early = _too_few(iv.n, rule, reproduced, min_seeds, iv)
    if early:
        return early
    return Judgement(side_of(iv, low, high), rule, reproduced, interval=iv)


def difference(lower: Sequence[float], higher: Sequence[float], *, what_lower: str,
               what_higher: str, paired: bool, margin: float = 0.0,
               paper_size: float | None = None, digits: int = 3, unit: str = "",
               min_seeds: int = MIN_SEEDS) -> Judgement:
    r"""The claim that ``lower`` is below ``higher``, by the 95% interval of the mean difference.

    The interval is that of :math:`\text{higher} - \text{lower}` (:func:`difference_interval`):
    agree if it lies above ``-margin``, disagree if below, else inconclusive. Pairing removes
    what the seeds share (a hard split is hard for both), so a difference smaller than either
    spread can still be judged.

    Args:
        lower: the values claimed lower, one per seed.
        higher: the values claimed higher.
        what_lower: what ``lower`` is, for the rule in words.
        what_higher: what ``higher`` is.
        paired: pair the values by seed (else Welch's interval).
        margin: with ``margin > 0`` the claim is that ``lower`` is not above ``higher`` by more
            than ``margin``.
        paper_size: the paper's value of ``higher - lower``; adds the size verdict
            (:func:`size_verdict`).
        digits: significant digits shown.
        unit: a unit written after the numbers.
        min_seeds: fewer seeds give ``inconclusive``.

    Returns:
        Judgement: the verdict, the rule, both spreads and the difference's interval, and the
        size verdict if ``paper_size`` was given.

    Raises:
        ValueError: a negative margin.
    """
    if not margin >= 0:
        raise ValueError(f"the margin must be non-negative, got {margin}")
    iv = difference_interval(lower, higher, paired=paired)
    claim = (f"{what_lower} is below {what_higher}" if margin == 0 else
             f"{what_lower} is not above {what_higher} by more than {fmt(margin)}")
    how = "paired by seed" if paired else "unpaired (Welch)"
    rule = (f"{claim}: agree if the {LEVEL:.0%} interval of the mean difference ({how}) lies "
            f"above {fmt(-margin) if margin else 0}, disagree if below, else inconclusive")
    a, b = _values(lower), _values(higher)
    reproduced = (f"{spread(a, digits, unit)} vs {spread(b, digits, unit)}; difference "
                  f"{iv.text(digits, unit)}")
    size = ""
    if paper_size is not None:
        size = size_verdict(iv, paper_size)
        rule += f"; size: is the paper's difference {fmt(paper_size)} inside the interval"
    early = _too_few(iv.n, rule, reproduced, min_seeds, iv)
    if early:
        return Judgement(early.verdict, early.rule, reproduced, size and SIZE_UNTESTED, iv)
    if not iv.defined:
        verdict = INCONCLUSIVE
    else:  # strictly: identical values (an interval [0, 0]) show no difference either way
        verdict = AGREE if iv.low > -margin else DISAGREE if iv.high < -margin else INCONCLUSIVE
    return Judgement(verdict, rule, reproduced, size, iv)


def share_of_seeds(flags: Sequence[bool], *, what: str, above: float = 0.5,
                   min_seeds: int = MIN_SEEDS) -> Judgement:
    """The claim that ``what`` happens in more than a share ``above`` of runs, by the exact 95%
    interval of the observed share.

    Agree if the Clopper-Pearson interval (:func:`binomial_interval`) lies above ``above``,
    disagree if below, else inconclusive. Unlike "in every seed", more seeds can only sharpen
    it.

    Args:
        flags: per run, whether it happened.
        what: the event, for the rule in words.
        above: the share to exceed, in [0, 1).
        min_seeds: fewer runs give ``inconclusive``.

    Returns:
        Judgement: the verdict, the rule and the share with its interval.

    Raises:
        ValueError: no runs, or ``above`` outside [0, 1).
    """
    f = [bool(x) for x in flags]
    if not f:
        raise ValueError("a verdict needs at least one value")
    if not 0 <= above < 1:
        raise ValueError(f"the share to exceed must be in [0, 1), got {above}")
    iv = binomial_interval(sum(f), len(f))
    rule = (f"agree if the exact {LEVEL:.0%} interval of the share of runs in which {what} "
            f"lies above {fmt(above)}, disagree if below, else inconclusive")
    reproduced = (f"{sum(f)} of {len(f)} runs; {LEVEL:.0%} CI [{fmt(iv.low)}, "
                  f"{fmt(iv.high)}]")
    early = _too_few(len(f), rule, reproduced, min_seeds, iv)
    if early:
        return early
    verdict = AGREE if iv.low > above else DISAGREE if iv.high < above else INCONCLUSIVE
    return Judgement(verdict, rule, reproduced, interval=iv)


def not_comparable(reason: str, reproduced: str = "-") -> Judgement:
    """The judgement of a setting that cannot test the claim.

    Args:
        reason: why it cannot.
        reproduced: our value, if any.

    Returns:
        Judgement: ``not comparable``, with the reason as its rule.
    """
    return Judgement(NOT_COMPARABLE, f"not comparable: {reason}", reproduced)
