"""Verdicts: a source's claim against our runs, by a rule stated in words.

Every row of a chapter's paper-vs-reproduced table comes from one rule of this module applied
to values measured over seeds, and reads: the finding, the paper's value, ours with its
confidence interval, how our setting differs from the paper's, the rule in words, the verdict
on the claim's *direction* and, where the paper states a size, the verdict on its *size*.

The statistics are those of small samples, stated in each rule:

* a mean over seeds gets the two-sided 95% Student-t interval
  :math:`\\bar x \\pm t_{0.975,\\,n-1}\\, s/\\sqrt n` (:func:`t_interval`; with 3 seeds
  :math:`t = 4.30`, not the normal 1.96); values that span orders of magnitude (norm ratios)
  get it on their log10, reported as a geometric mean;
* a difference gets the same interval on the paired differences (same seed, split or
  initialization on both sides) or Welch's interval for unpaired samples (:func:`difference`);
* a share of seeds gets the exact Clopper-Pearson interval of a binomial proportion
  (:func:`share_of_seeds`), so more seeds make a claim easier to establish, never harder.

The direction verdicts:

* ``agree`` -- the whole interval lies on the paper's side of the claim's threshold;
* ``disagree`` -- the whole interval lies on the other side;
* ``inconclusive`` -- the interval contains the threshold (the value is within its own
  uncertainty of it: a threshold never decides a row alone), or there are too few seeds for an
  interval (``smoke`` runs one seed, so its verdicts are inconclusive by construction);
* ``not comparable`` -- the run is below the smallest setting at which the claim can be tested
  (its :class:`Scale` gate, with the reason), or the setting differs too much otherwise.

The size verdicts (:func:`size_verdict`), where the paper gives the effect's size: ``size
reproduced`` (the paper's value lies inside our interval), ``direction only`` (the interval is
on the paper's side of zero but excludes its value), ``size rejected`` (the interval contains
zero but excludes the paper's value), ``opposite`` (the interval lies on the other side of
zero) and ``size untested`` (the interval contains both zero and the paper's value).

No rule looks at wall-clock time: two identical runs always get the same verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE = ("agree", "disagree", "inconclusive",
                                                 "not comparable")
VERDICTS = (AGREE, DISAGREE, INCONCLUSIVE, NOT_COMPARABLE)
SIZE_REPRODUCED, DIRECTION_ONLY, SIZE_REJECTED, OPPOSITE, SIZE_UNTESTED = (
    "size reproduced", "direction only", "size rejected", "opposite", "size untested")
SIZE_VERDICTS = (SIZE_REPRODUCED, DIRECTION_ONLY, SIZE_REJECTED, OPPOSITE, SIZE_UNTESTED)
LEVEL = 0.95  # the confidence level of every interval
MIN_SEEDS = 3  # claims about a run's outcome need at least this many seeds
COLUMNS = ["finding", "paper", "reproduced", "setting", "rule", "verdict", "size"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval.

    Attributes:
        estimate: the mean (geometric mean for an interval on log10), difference or share.
        low: the interval's lower end (NaN where ``n`` is too small for an interval).
        high: the interval's upper end (NaN likewise).
        n: the number of values.
        method: how it was computed (``"t"``, ``"t on log10"``, ``"paired t"``, ``"Welch t"``,
            ``"Clopper-Pearson"``).
    """

    estimate: float
    low: float
    high: float
    n: int
    method: str

    @property
    def defined(self) -> bool:
        """Whether both ends of the interval are numbers (not NaN).

        Returns:
            bool: False where ``n`` was too small for an interval.
        """
        return not (math.isnan(self.low) or math.isnan(self.high))

    def text(self, digits: int = 3, unit: str = "", what: str = "seeds") -> str:
        """The estimate and its interval for a table cell.

        Args:
            digits: significant digits (:func:`fmt`).
            unit: a unit written after the numbers.
            what: what ``n`` counts (``"seeds"``; singular for one).

        Returns:
            str: e.g. ``"1.6, 95% CI [1.2, 2] (3 seeds)"``, or the estimate and count alone where
            the interval is undefined.
        """
        u = f" {unit}" if unit else ""
        count = f"{self.n} {what[:-1] if self.n == 1 and what.endswith('s') else what}"
        if not self.defined:
            return f"{fmt(self.estimate, digits)}{u} ({count})"
        return (f"{fmt(self.estimate, digits)}{u}, {LEVEL:.0%} CI [{fmt(self.low, digits)}, "
                f"{fmt(self.high, digits)}] ({count})")


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


# ---------------------------------------------------------------------- numbers
def fmt(x: float, digits: int = 3) -> str:
    """``x`` for reading, to ``digits`` significant digits (``1.5950000000000002`` -> ``1.6``).

    Counts (ints) are exact, with thousands separators from 10,000 on; values from
    ``10**digits`` to a thousand times that are rounded to whole numbers (``5535.83`` ->
    ``5536``); larger and tiny ones take the exponent form. A value that is not exactly 1 or -1
    never reads as one: a cosine of 0.99999 shows as ``0.99999``, not ``1``.

    Args:
        x: a number (None or NaN reads ``n/a``).
        digits: significant digits.

    Returns:
        str: the number as text.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10000 else str(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
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
    r"""Mean :math:`\bar x` and sample standard deviation :math:`s = \sqrt{\sum_i (x_i - \bar
    x)^2/(n-1)}`.

    Args:
        values: at least one number.

    Returns:
        tuple[float, float]: ``(mean, sd)``; sd is 0 for a single value.

    Raises:
        ValueError: no values.
    """
    v = _values(values)
    mean = sum(v) / len(v)
    if len(v) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


def spread(values: Sequence[float], digits: int = 3, unit: str = "") -> str:
    """The spread of the seeds for a table of measurements (verdict rows give intervals instead).

    Args:
        values: one value per seed.
        digits: significant digits of the mean.
        unit: a unit written after the numbers.

    Returns:
        str: ``"mean ± sd (n seeds)"``, or ``"value (1 seed)"``.
    """
    v = _values(values)
    u = f" {unit}" if unit else ""
    if len(v) == 1:
        return f"{fmt(v[0], digits)}{u} (1 seed)"
    mean, sd = mean_sd(v)
    return f"{fmt(mean, digits)} ± {fmt(sd, 2)}{u} ({len(v)} seeds)"


# ---------------------------------------------------------------------- intervals
def t_quantile(n: int, level: float = LEVEL) -> float:
    r"""The two-sided Student-t quantile :math:`t_{(1+\text{level})/2,\,n-1}`.

    4.30 for 3 values at 95%, 2.09 for 20.

    Args:
        n: the number of values (at least 2).
        level: the confidence level.

    Returns:
        float: the quantile.

    Raises:
        ValueError: fewer than 2 values.
    """
    from scipy.stats import t

    if n < 2:
        raise ValueError(f"a t interval needs at least 2 values, got {n}")
    return float(t.ppf((1 + level) / 2, n - 1))


def t_interval(values: Sequence[float], level: float = LEVEL, log: bool = False) -> Interval:
    r"""The mean of ``values`` with its Student-t interval :math:`\bar x \pm
    t_{(1+\text{level})/2,\,n-1}\, s / \sqrt n`.

    ``log=True`` computes it on :math:`\log_{10}` of the (positive) values and maps it back:
    the estimate is then the geometric mean, for quantities that span orders of magnitude.
    Infinite values (a norm that overflowed) make the interval unbounded on that side.

    Args:
        values: one value per seed.
        level: the confidence level.
        log: compute on :math:`\log_{10}` of the values.

    Returns:
        Interval: the estimate and its interval (ends NaN for a single value).

    Raises:
        ValueError: a NaN among the values (count a diverged run with
            :func:`share_of_seeds`), or a non-positive value with ``log=True``.
    """
    v = _values(values)
    if any(math.isnan(x) for x in v):
        raise ValueError(f"an interval needs numbers, got NaN among {v}: count a run that "
                         "diverged explicitly (share_of_seeds), do not average it")
    if log:
        if any(x <= 0 for x in v):
            raise ValueError(f"log=True needs positive values, got {v}")
        logs = [math.log10(x) if math.isfinite(x) else math.inf for x in v]
        if any(math.isinf(x) for x in logs):
            return Interval(math.inf, _finite_low(logs), math.inf, len(v), "t on log10")
        inner = t_interval(logs, level)
        return Interval(10 ** inner.estimate, 10 ** inner.low if inner.defined else math.nan,
                        10 ** inner.high if inner.defined else math.nan, len(v), "t on log10")
    if any(math.isinf(x) for x in v):
        return Interval(math.inf if max(v) == math.inf else -math.inf, math.nan, math.nan,
                        len(v), "t")
    mean, sd = mean_sd(v)
    if len(v) < 2:
        return Interval(mean, math.nan, math.nan, 1, "t")
    half = t_quantile(len(v), level) * sd / math.sqrt(len(v))
    return Interval(mean, mean - half, mean + half, len(v), "t")


def _finite_low(logs: list[float]) -> float:
    finite = [x for x in logs if math.isfinite(x)]
    return 10 ** min(finite) if finite else math.inf


def difference_interval(lower: Sequence[float], higher: Sequence[float], *, paired: bool,
                        level: float = LEVEL) -> Interval:
    r"""The mean of ``higher - lower`` with its interval.

    Student-t on the paired differences :math:`d_i = \text{higher}_i - \text{lower}_i`, or
    Welch's interval :math:`\bar b - \bar a \pm t_{\nu}\sqrt{s_a^2/n_a + s_b^2/n_b}` with the
    Welch-Satterthwaite degrees of freedom :math:`\nu` for two unpaired samples.

    Args:
        lower: the values claimed lower.
        higher: the values claimed higher.
        paired: pair the values by position (same seed on both sides).
        level: the confidence level.

    Returns:
        Interval: the mean difference and its interval.

    Raises:
        ValueError: paired samples of different lengths, or an empty sample.
    """
    a, b = _values(lower), _values(higher)
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired values need one pair per seed, got {len(a)} and {len(b)}")
        inner = t_interval([y - x for x, y in zip(a, b)], level)
        return Interval(inner.estimate, inner.low, inner.high, inner.n, "paired t")
    from scipy.stats import t

    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    n = min(len(a), len(b))
    if n < 2:
        return Interval(mb - ma, math.nan, math.nan, n, "Welch t")
    va, vb = sa ** 2 / len(a), sb ** 2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(mb - ma, mb - ma, mb - ma, n, "Welch t")
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(t.ppf((1 + level) / 2, dof)) * se
    return Interval(mb - ma, mb - ma - half, mb - ma + half, n, "Welch t")


def binomial_interval(successes: int, n: int, level: float = LEVEL) -> Interval:
    r"""The share ``successes / n`` with its exact (Clopper-Pearson) interval.

    The ends are quantiles of Beta distributions:
    :math:`[B_{\alpha/2}(k, n-k+1),\; B_{1-\alpha/2}(k+1, n-k)]`, :math:`\alpha = 1 - \text{level}`
    (0 and 1 where k = 0 or k = n).

    Args:
        successes: k, the runs in which the event happened.
        n: the runs.
        level: the confidence level.

    Returns:
        Interval: the share and its interval.

    Raises:
        ValueError: unless ``0 <= successes <= n`` and ``n >= 1``.
    """
    from scipy.stats import beta

    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"a share needs 0 <= successes <= n and n >= 1, got {successes} of {n}")
    alpha = 1 - level
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, successes + 1,
                                                     n - successes))
    return Interval(successes / n, low, high, n, "Clopper-Pearson")


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


# ---------------------------------------------------------------------- rules
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


# ---------------------------------------------------------------------- the scale gate
@dataclass(frozen=True)
class Scale:
    """The smallest setting at which a claim can be tested, and why.

    Below it, any run's verdict on the claim is ``not comparable`` (:meth:`gate`).

    Attributes:
        needs: the smallest value of each setting, e.g. ``{"epochs": 100}``.
        why: why the claim needs it.
    """

    needs: Mapping[str, float]
    why: str

    def shortfall(self, ran: Mapping[str, float]) -> list[str]:
        """What the run lacks.

        Args:
            ran: the run's value of each setting in ``needs``.

        Returns:
            list[str]: one ``"epochs 10 < 100"`` per setting below the gate (empty: none).

        Raises:
            ValueError: ``ran`` lacks a setting the gate needs.
        """
        missing = set(self.needs) - set(ran)
        if missing:
            raise ValueError(f"the run's setting lacks {sorted(missing)}, which the scale gate "
                             f"needs ({dict(self.needs)})")
        return [f"{k} {fmt(ran[k])} < {fmt(self.needs[k])}" for k in self.needs
                if ran[k] < self.needs[k]]

    def gate(self, judgement: Judgement, ran: Mapping[str, float]) -> Judgement:
        """The judgement if the run reaches the gate, else ``not comparable``.

        Args:
            judgement: the rule's judgement of the run.
            ran: the run's value of each setting in ``needs``.

        Returns:
            Judgement: ``judgement`` itself, or ``not comparable`` keeping our value and saying what
            the claim needs and why.
        """
        short = self.shortfall(ran)
        if not short:
            return judgement
        return Judgement(NOT_COMPARABLE,
                         f"not comparable: below the claim's scale ({'; '.join(short)}): "
                         f"{self.why}", judgement.reproduced, interval=judgement.interval)


# ---------------------------------------------------------------------- rows
def row(finding: str, paper: str, judgement: Judgement, setting: str) -> dict:
    """One row of a paper-vs-reproduced table.

    Args:
        finding: the claim in words.
        paper: the paper's value.
        judgement: the rule's judgement of our runs.
        setting: how our setting differs from the paper's.

    Returns:
        dict: the row, keyed by the names of ``COLUMNS``.
    """
    return {"finding": finding, "paper": paper, "reproduced": judgement.reproduced,
            "setting": setting, "rule": judgement.rule, "verdict": judgement.verdict,
            "size": judgement.size}


def table(rows: list[dict]):
    """The rows as a table.

    Args:
        rows: rows made by :func:`row`.

    Returns:
        pandas.DataFrame: the rows, columns in the order of ``COLUMNS``.
    """
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)
