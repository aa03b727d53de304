"""The rows of a chapter's paper-vs-reproduced table, in the order of :data:`COLUMNS`."""
from __future__ import annotations

from .rules import Judgement

COLUMNS = ["finding", "paper", "reproduced", "setting", "rule", "verdict", "size"]


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
