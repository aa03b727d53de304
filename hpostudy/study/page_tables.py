"""Wide tables reshaped for a page: no table wider than the text column.

A table of many columns (a benchmark's timings, memories and ratios; a summary of methods) is
shown as a few narrower tables instead of one that scrolls sideways: columns that hold the same
value in every row are stated once above the tables, columns empty in every row are left out,
and the rest is split into parts of at most ``max_columns`` columns, each repeating the key
columns (the method, the horizon) that name its rows. The book's ``{wide-table}`` directive
(``book/_ext/hpostudy_book.py``) shows a CSV file this way; the file itself is unchanged.
"""
from __future__ import annotations

import pandas as pd


def split_wide(frame: pd.DataFrame, keys: int = 1, max_columns: int = 7
               ) -> tuple[dict[str, str], list[pd.DataFrame]]:
    """``(constants, parts)`` of ``frame``: ``constants`` maps each non-key column whose value
    is the same (and not empty) in every row of a table of more than one row to that value;
    ``parts`` are frames of the first ``keys`` columns followed by at most
    ``max_columns - keys`` of the other columns each, in their order, columns empty in every
    row left out. A frame that fits is returned as one part."""
    if max_columns <= keys:
        raise ValueError(f"max_columns ({max_columns}) must exceed the key columns ({keys})")
    frame = frame.fillna("").astype(str)
    key_columns = list(frame.columns[:keys])
    constants: dict[str, str] = {}
    rest = []
    for column in frame.columns[keys:]:
        values = frame[column].str.strip()
        if not values.any():
            continue
        if len(frame) > 1 and values.nunique() == 1:
            constants[column] = values.iloc[0]
        else:
            rest.append(column)
    width = max_columns - keys
    parts = [frame[key_columns + rest[i:i + width]] for i in range(0, len(rest), width)]
    return constants, parts or [frame[key_columns]]
