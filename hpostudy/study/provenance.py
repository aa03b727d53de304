"""Where the book's results come from, read from the ``meta.json`` every finished run writes.

For each run shown in the book -- the recorded long runs (``book/recorded/<machine>/<notebook>``,
written by ``hpostudy record``) and this build's own (``book/generated/<notebook>``) -- one row
says which profile, data, seeds, device and torch produced it and how long it ran.
:func:`write_tables` writes them as ``book/generated/provenance/<chapter>.csv`` (one row per
run, recorded runs first) for a chapter page to show with ``{csv-table}``, and
``book/generated/provenance/all.csv`` (one row per chapter and source) for the introduction.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import store
from ..verdicts import fmt

DATA = {"digits": "embedded 8x8 digits", "mnist": "MNIST", "cifar10": "CIFAR-10",
        "ptb": "Penn Treebank", "generated": "generated corpus", "wine": "wine (scikit-learn)",
        "iris": "iris (scikit-learn)", "breast_cancer": "breast cancer (scikit-learn)"}
THIS_BUILD = "this build"
COLUMNS = ["source", "notebook", "profile, seeds", "data", "device", "torch", "run time"]
SUMMARY_COLUMNS = ["chapter", *COLUMNS[:1], *COLUMNS[2:]]


def data_label(settings: dict) -> str:
    """The dataset of a run in words, with its training-set size where the run set one."""
    dataset = settings.get("dataset")
    if dataset is None:
        return "see the notebook"
    label = DATA.get(dataset, str(dataset))
    n_train = settings.get("n_train")
    if isinstance(n_train, int) and n_train > 0:
        return f"{label} ({n_train:,} training example{'s' if n_train != 1 else ''})"
    return f"{label} (all training examples)" if n_train == 0 else label


def device_label(device: str) -> str:
    """A run's device as its ``meta.json`` names it, with the thread count's noun agreeing
    (runs recorded before the fix say ``1 threads``)."""
    return re.sub(r"\b1 threads\b", "1 thread", str(device))


def seeds_label(seeds: list[int]) -> str:
    """``1 seed``, ``3 seeds`` or the range ``1-3 seeds`` (kept on one line)."""
    low, high = min(seeds), max(seeds)
    return (f"{low}-{high}\u00a0seeds" if low != high
            else f"{low}\u00a0seed{'s' if low != 1 else ''}")


def torch_label(version: str) -> str:
    """``2.11.0+cu130`` as ``2.11.0 (cu130)``: the build tag may go to its own line."""
    release, _, build = version.partition("+")
    return f"{release} ({build})" if build else release


def duration(seconds: float) -> str:
    """A run time in the unit that reads best: seconds, minutes or hours (the number and its
    unit joined by a no-break space)."""
    if seconds < 90:
        return f"{fmt(seconds, 2)}\u00a0s"
    if seconds < 90 * 60:
        return f"{fmt(seconds / 60, 2)}\u00a0min"
    return f"{fmt(seconds / 3600, 2)}\u00a0h"


def run_time_label(seconds: float, cpu_seconds: float | None, sessions: int = 1) -> str:
    """The wall time of a run, with its process CPU time beside it where recorded, and the
    number of sessions it was summed over when it was resumed."""
    wall = duration(seconds)
    notes = ([f"{duration(cpu_seconds)} CPU"] if cpu_seconds is not None else []) + (
        [f"{sessions} sessions"] if sessions > 1 else [])
    return f"{wall} ({', '.join(notes)})" if notes else wall


def run_summary(meta_file: Path) -> dict:
    """One finished run (its ``meta.json``): notebook, profile, data, seeds, device, threads,
    torch, wall and CPU seconds (None where not recorded) summed over its sessions, and their
    number (1 where not recorded)."""
    try:
        meta = json.loads(Path(meta_file).read_text())
        settings = meta.get("settings") or meta.get("config", {})  # "config": an older layout
        return {"notebook": Path(meta_file).parent.name, "profile": settings.get("profile"),
                "data": data_label(settings), "seeds": settings.get("seeds", 1),
                "device": device_label(meta["device"]), "threads": meta.get("threads", ""),
                "torch": meta["torch"], "seconds": meta["seconds"],
                "cpu_seconds": meta.get("cpu_seconds"), "sessions": meta.get("sessions", 1)}
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise ValueError(f"{meta_file} is not a finished run's metadata ({type(err).__name__}: "
                         f"{err}; truncated or edited?): record the run again (`hpostudy "
                         "record`), restore the file from git, or remove its folder") from err


def runs(book: Path, notebooks: list[str]) -> list[dict]:
    """Every run of ``notebooks`` the book shows: recorded ones (by machine folder), then this
    build's; each row starts with its source."""
    rows = []
    for machine in sorted(p for p in (Path(book) / "recorded").glob("*") if p.is_dir()):
        rows += [{"source": f"recorded ({machine.name})", **run_summary(machine / n / "meta.json")}
                 for n in notebooks if (machine / n / "meta.json").exists()]
    generated = Path(book) / "generated"
    rows += [{"source": THIS_BUILD, **run_summary(generated / n / "meta.json")}
             for n in notebooks if (generated / n / "meta.json").exists()]
    return rows


def chapter_title(book: Path, chapter: str) -> str:
    """The first heading of ``book/chapters/<chapter>.md`` (the chapter's name if none)."""
    page = Path(book) / "chapters" / f"{chapter}.md"
    if page.exists():
        for line in page.read_text().splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return chapter


def _joined(values, separator: str = ", ") -> str:
    """The distinct values, in order of appearance."""
    return separator.join(dict.fromkeys(str(v) for v in values if v not in ("", None)))


def write_tables(book: Path, chapters: dict[str, list[str]]) -> Path:
    """Write ``provenance/<chapter>.csv`` for every chapter (name -> its notebooks) and
    ``provenance/all.csv`` into ``book/generated``; returns that folder."""
    import pandas as pd

    folder = Path(book) / "generated" / "provenance"
    summary = []
    for chapter, notebooks in chapters.items():
        rows = runs(book, notebooks)
        shown = [{**r, "profile, seeds": f"{r['profile']}, {seeds_label([r['seeds']])}",
                  "torch": torch_label(r["torch"]),
                  "run time": run_time_label(r["seconds"], r["cpu_seconds"], r["sessions"])}
                 for r in rows]
        store.write_table(pd.DataFrame(shown, columns=COLUMNS), folder, chapter)
        for source in dict.fromkeys(r["source"] for r in rows):
            mine = [r for r in rows if r["source"] == source]
            summary.append({
                "chapter": chapter_title(book, chapter), "source": source,
                "profile, seeds": (f"{_joined((r['profile'] for r in mine), ' and ')}, "
                                   f"{seeds_label([r['seeds'] for r in mine])}"),
                "data": _joined((r["data"] for r in mine), "; "),
                "device": _joined(r["device"] for r in mine),
                "torch": _joined(torch_label(r["torch"]) for r in mine),
                "run time": duration(sum(r["seconds"] for r in mine))})
    store.write_table(pd.DataFrame(summary, columns=SUMMARY_COLUMNS), folder, "all")
    return folder
