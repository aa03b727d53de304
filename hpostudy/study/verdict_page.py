"""The page of every verdict: one table of every row of every recorded comparison table.

Each chapter shows its experiments' paper-vs-reproduced tables next to their figures; this
module gathers the rows of the *recorded* ones (``book/recorded/<machine>/<notebook>/
comparison.csv``) into ``book/generated/verdicts/``, which ``book/verdicts.md`` shows:

* ``counts.csv`` -- per chapter and machine, how many rows got each verdict;
* ``rows.csv`` -- every row: chapter, notebook, run (machine), finding, the paper's value, ours
  with its interval, the verdict on the direction and, where the paper gives a size, on the size.

This build's own (``smoke``) tables are never mixed in: they check the code path and say
little about the papers' claims; each chapter shows them in its own section.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import store
from ..verdicts import VERDICTS
from .provenance import chapter_title

ROW_COLUMNS = ["chapter", "notebook", "run", "finding", "paper", "reproduced", "verdict", "size"]
COUNT_COLUMNS = ["chapter", "run", *VERDICTS, "rows"]


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


def in_book_order(book: Path, chapters: dict[str, list[str]]) -> dict[str, list[str]]:
    """``chapters`` in the order their pages appear in the table of contents (``_toc.yml``
    beside ``book/``); chapters it does not list come last."""
    toc = Path(book).parent / "_toc.yml"
    text = toc.read_text() if toc.exists() else ""
    position = {c: text.find(f"book/chapters/{c}\n") for c in chapters}
    ordered = sorted(chapters, key=lambda c: (position[c] < 0, position[c]))
    return {c: chapters[c] for c in ordered}


def write_tables(book: Path, chapters: dict[str, list[str]]) -> Path:
    """Write ``verdicts/rows.csv`` and ``verdicts/counts.csv`` into ``book/generated``, the
    chapters in book order; returns that folder."""
    folder = Path(book) / "generated" / "verdicts"
    rows = recorded_rows(book, in_book_order(book, chapters))
    store.write_table(rows, folder, "rows")
    store.write_table(counts(rows), folder, "counts")
    return folder
