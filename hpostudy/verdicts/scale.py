"""The scale gate: the smallest setting at which a claim can be tested; below it a run's
verdict on the claim is ``not comparable``, with the reason."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .numbers import fmt
from .rules import NOT_COMPARABLE, Judgement


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
