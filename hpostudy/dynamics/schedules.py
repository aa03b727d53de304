r"""Schedules of the training step: a learning rate or momentum given as a number or as a
function of the step ``t``, the :math:`\alpha_t` and :math:`\gamma_t` of thesis Algorithm 1.
"""
from __future__ import annotations

from typing import Callable


Schedule = float | Callable[[int], float]


def at(schedule: Schedule, t: int) -> float:
    r"""The value of a schedule at step ``t``: :math:`\alpha_t` (or :math:`\gamma_t`) from a
    constant or from a function of the step.

    Args:
        schedule: a number, or a function ``t -> value``.
        t: the step (from 0).

    Returns:
        float: the schedule's value at step ``t``.

    Raises:
        TypeError: the schedule gave something that is not a number.
    """
    value = schedule(t) if callable(schedule) else schedule
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a learning-rate or momentum schedule gave {value!r} at step {t}; it "
                        "must give a number") from None


def piecewise(base: float, milestones: list[int], factor: float = 0.1) -> Callable[[int], float]:
    r"""A step schedule: ``base`` multiplied by ``factor`` at each milestone,
    :math:`\alpha_t = \mathrm{base}\cdot\mathrm{factor}^{|\{m \in \mathrm{milestones} : t \ge m\}|}`
    (e.g. the learning rate divided by 10 at epochs 30 and 60, as DenseNet's training does).

    Args:
        base: the value before the first milestone.
        milestones: the steps at which the value is multiplied by ``factor`` (any order).
        factor: the multiplier applied at each milestone.

    Returns:
        Callable[[int], float]: the schedule ``t -> value``, for :func:`at`.
    """
    steps = sorted(int(m) for m in milestones)

    def schedule(t: int) -> float:
        return base * factor ** sum(t >= m for m in steps)

    return schedule
