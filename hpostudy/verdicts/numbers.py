"""Numbers for reading: significant digits (:func:`fmt`), the mean and sample standard deviation
of the seeds (:func:`mean_sd`) and their spread as a table cell (:func:`spread`)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence


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
