"""The page of every verdict: one table of every row of every recorded comparison table.

Each chapter shows its experiments' paper-vs-reproduced tables next to their figures; this
module gathers the rows of the *recorded* ones (``book/recorded/<machine>/<notebook>/
comparison.csv``) into ``book/generated/verdicts/``, which ``book/verdicts.md`` shows:

* ``counts.csv`` -- per chapter and machine, how many rows got each verdict;
* ``rows.csv`` -- every row: chapter, notebook, run (machine), finding, the paper's value, ours
  with its interval, the verdict on the direction and, where the paper gives a size, on the size;
* ``<chapter>.csv`` -- one chapter's counts (one row per machine), which its page shows at the
  top, under its question.

:func:`comparison_view` is how a chapter page shows one comparison table (the extension's
``comparison-table`` directive): the setting stated once above the table instead of in every
row, the verdict next to the finding, the rules apart.

This build's own (``smoke``) tables are never mixed in: they check the code path and say
little about the papers' claims; each chapter shows them in its own section.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import store
from ..verdicts import VERDICTS
from .provenance import chapter_title

NO_RECORDED_RUN = "no recorded run yet"
ROW_COLUMNS = ["chapter", "notebook", "run", "finding", "paper", "reproduced", "verdict", "size"]
COUNT_COLUMNS = ["chapter", "run", *VERDICTS, "rows"]
CHAPTER_COUNT_COLUMNS = COUNT_COLUMNS[1:]
SHOWN_COLUMNS = ["finding", "verdict", "size", "paper", "reproduced"]


def recorded_rows(book: Path, chapters: dict[str, list[str]]) -> pd.DataFrame:
    """Every row of every recorded comparison table of ``chapters`` (chapter name -> its
    notebooks, in book order), machine by machine (columns :data:`ROW_COLUMNS`)."""
    frames = []
    machines = sorted(p for p in (Path(book) / "recorded").glob("*") if p.is_dir())
    for chapter, notebooks in chapters.items():
        title = chapter_title(book, chapter)
        for machine in machines:
            for notebook in notebooks:
                path = machine / notebook / "comparison.csv"
                if not path.exists():
                    continue
                try:
                    table = pd.read_csv(path, keep_default_na=False)
                except (OSError, ValueError) as err:
                    raise ValueError(f"{path} cannot be read as a comparison table ({err}); "
                                     "run `hpostudy rejudge` or record the run again") from err
                missing = {"finding", "paper", "reproduced", "verdict"} - set(table.columns)
                if missing:
                    raise ValueError(f"{path} lacks the column(s) {sorted(missing)} of a "
                                     "comparison table; run `hpostudy rejudge` to rewrite it")
                unknown = sorted(set(table.verdict) - set(VERDICTS))
                if unknown:
                    raise ValueError(f"{path} has verdict(s) {unknown}, not one of {VERDICTS}")
                if "size" not in table.columns:
                    table["size"] = ""
                frames.append(table.assign(chapter=title, notebook=notebook,
                                           run=f"recorded ({machine.name})")[ROW_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=ROW_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Per chapter and run, the number of rows with each verdict (columns
    :data:`COUNT_COLUMNS`), chapters in book order, and a last row of totals."""
    if rows.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    order = list(dict.fromkeys(rows.chapter))
    table = (rows.groupby(["chapter", "run"], sort=False).verdict.value_counts()
             .unstack(fill_value=0).reindex(columns=list(VERDICTS), fill_value=0)
             .reset_index())
    table["chapter"] = pd.Categorical(table.chapter, categories=order, ordered=True)
    table = table.sort_values(["chapter", "run"]).reset_index(drop=True)
    table["chapter"] = table.chapter.astype(str)
    table["rows"] = table[list(VERDICTS)].sum(axis=1)
    total = {"chapter": "all chapters", "run": "recorded",
             **{k: int(table[k].sum()) for k in (*VERDICTS, "rows")}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)[COUNT_COLUMNS]


def chapter_counts(rows: pd.DataFrame, title: str) -> pd.DataFrame:
    """The counts of one chapter's recorded rows (the chapter titled ``title``), one row per
    machine (columns :data:`CHAPTER_COUNT_COLUMNS`); a single row of zeros, its run reading
    :data:`NO_RECORDED_RUN`, where the chapter has none."""
    mine = rows[rows.chapter == title]
    if mine.empty:
        return pd.DataFrame([{"run": NO_RECORDED_RUN, **{k: 0 for k in (*VERDICTS, "rows")}}],
                            columns=CHAPTER_COUNT_COLUMNS)
    return counts(mine).iloc[:-1][CHAPTER_COUNT_COLUMNS].reset_index(drop=True)


def comparison_view(table: pd.DataFrame) -> tuple[str, list[str], pd.DataFrame, pd.DataFrame]:
    """One comparison table as a page shows it: ``(common, lettered, shown, rules)``.

    ``common`` is the part of the setting every row shares (its ``"; "``-separated parts that
    all rows' settings contain, in order); ``lettered`` the rest of each distinct setting, in
    order of appearance (empty where all rows share one setting); ``shown`` has the columns
    :data:`SHOWN_COLUMNS` (the verdict next to the finding; ``size`` only where some row has
    one) and, where ``lettered`` is not empty, a last column ``setting`` naming each row's by
    letter (A for ``lettered[0]``, ...); ``rules`` pairs each finding with its rule. The table
    itself (what ``hpostudy rejudge`` and the tests check) is left unchanged."""
    table = table.fillna("").astype(str)
    settings = [s for s in dict.fromkeys(table.get("setting", pd.Series(dtype=str))) if s]
    parts = {s: setting_parts(s) for s in settings}
    common = [p for p in (parts[settings[0]] if settings else [])
              if all(p in parts[s] for s in settings)]
    lettered = ["; ".join(p for p in parts[s] if p not in common) or "the common setting only"
                for s in settings] if len(settings) > 1 else []
    columns = [c for c in SHOWN_COLUMNS if c in table.columns
               and (c != "size" or table[c].str.strip().any())]
    shown = table[columns].copy()
    if lettered:
        letter = {s: setting_letter(i) for i, s in enumerate(settings)}
        shown["setting"] = table.setting.map(lambda s: letter.get(s, ""))
    rules = table[["finding", "rule"]] if "rule" in table.columns else table[["finding"]]
    return "; ".join(common), lettered, shown.reset_index(drop=True), rules.reset_index(drop=True)


def setting_parts(setting: str) -> list[str]:
    """A setting split at its ``"; "`` separators outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(setting):
        depth += (char in "([") - (char in ")]")
        if char == ";" and depth <= 0 and setting[i + 1:i + 2] in (" ", ""):
            parts.append(setting[start:i].strip())
            start = i + 1
    parts.append(setting[start:].strip())
    return [p for p in parts if p]


def setting_letter(i: int) -> str:
    """The name of the ``i``-th setting of a table: A, B, ..., Z, AA, AB, ..."""
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(ord("A") + r) + name
    return name


def in_book_order(book: Path, chapters: dict[str, list[str]]) -> dict[str, list[str]]:
    """``chapters`` in the order their pages appear in the table of contents (``_toc.yml``
    beside ``book/``); chapters it does not list come last."""
    toc = Path(book).parent / "_toc.yml"
    text = toc.read_text() if toc.exists() else ""
    position = {c: text.find(f"book/chapters/{c}\n") for c in chapters}
    ordered = sorted(chapters, key=lambda c: (position[c] < 0, position[c]))
    return {c: chapters[c] for c in ordered}


def write_tables(book: Path, chapters: dict[str, list[str]]) -> Path:
    """Write ``verdicts/rows.csv``, ``verdicts/counts.csv`` and each chapter's
    ``verdicts/<chapter>.csv`` into ``book/generated``, the chapters in book order; returns
    that folder."""
    folder = Path(book) / "generated" / "verdicts"
    rows = recorded_rows(book, in_book_order(book, chapters))
    store.write_table(rows, folder, "rows")
    store.write_table(counts(rows), folder, "counts")
    for chapter in chapters:
        store.write_table(chapter_counts(rows, chapter_title(book, chapter)), folder, chapter)
    return folder
