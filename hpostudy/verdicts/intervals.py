"""Confidence intervals of small samples: Student-t on a mean (or on log10, a geometric mean),
paired-t or Welch on a difference, exact Clopper-Pearson on a binomial proportion; every one at
the two-sided level :data:`LEVEL`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .numbers import _values, fmt, mean_sd

LEVEL = 0.95  # the confidence level of every interval


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
