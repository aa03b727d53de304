"""Judge recorded runs again: a run's comparison table from its own recorded tables.

A comparison table (``comparison.csv``) is a function of a run's measured tables and its
settings only: every experiment module defines ``judge(tables, cfg)`` (the tables it saved,
by name, and its configuration) and calls it at the end of its own run. When the verdict
rules change (:mod:`hpostudy.verdicts`), or a claim gets a scale gate, the recorded runs are
judged again from what they recorded -- no training is repeated -- by :func:`rejudge`
(``hpostudy rejudge``). Only ``comparison.csv`` is rewritten (atomically); the measured tables
and figures are left as they were.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd

from .. import store

COMPARISON = "comparison"


class RejudgeError(store.StoreError):
    """A recorded run cannot be judged again; the message names the folder and why."""


def experiment_module(name: str):
    """The module ``hpostudy.experiments.<name>``, which must define ``Config`` and
    ``judge(tables, cfg)``."""
    try:
        module = importlib.import_module(f"hpostudy.experiments.{name}")
    except ModuleNotFoundError as err:
        raise RejudgeError(f"no experiment '{name}' in hpostudy.experiments") from err
    if not hasattr(module, "judge"):
        raise RejudgeError(f"hpostudy.experiments.{name} has no judge(tables, cfg): its "
                           "comparison cannot be recomputed from recorded tables")
    return module


def recorded_config(folder: Path, module, meta: dict):
    """The configuration a recorded run ran with, from its metadata ``meta``."""
    meta_file = Path(folder) / "meta.json"
    try:
        settings = dict(meta["settings"])
    except (KeyError, TypeError, ValueError) as err:
        raise RejudgeError(f"{meta_file} cannot be read as a run's metadata ({err}); record "
                           "the run again with `hpostudy record`") from err
    settings.pop("experiment", None)
    profile = settings.pop("profile", "smoke")
    config = getattr(module, "Config")
    known = config.knobs()
    dropped = sorted(set(settings) - set(known))
    if dropped:
        raise RejudgeError(f"{meta_file} has settings {dropped} that {config.__module__} no "
                           "longer knows: its run cannot be judged by today's rules; run it "
                           "again")
    return config.for_profile(profile, **{**settings, "output_dir": str(folder)})


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every CSV table of a recorded run but its comparison, by name."""
    tables = {}
    for path in sorted(Path(folder).glob("*.csv")):
        if path.stem == COMPARISON:
            continue
        try:
            tables[path.stem] = pd.read_csv(path)
        except (OSError, ValueError) as err:
            raise RejudgeError(f"{path} cannot be read as a table ({err})") from err
    return tables


def rejudge(folder: Path) -> pd.DataFrame:
    """Recompute and rewrite ``folder/comparison.csv`` from the folder's recorded tables and
    settings by today's rules; returns the new table."""
    folder = Path(folder)
    try:  # read once: it names the experiment, gives the settings and keeps the digests
        meta = json.loads((folder / "meta.json").read_text())
        name = meta["settings"]["experiment"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RejudgeError(f"{folder / 'meta.json'} does not name its experiment ({err})") \
            from err
    module = experiment_module(name)
    comparison = module.judge(read_tables(folder), recorded_config(folder, module, meta))
    written = store.write_table(comparison, folder, COMPARISON)
    _update_digest(folder, written, meta)
    return comparison


def _update_digest(folder: Path, written: Path, meta: dict) -> None:
    """Where ``meta`` (the run's ``meta.json``) records each file's digest, record the
    rewritten table's (and seal the metadata again, :func:`hpostudy.store.write_meta`), so the
    folder stays a complete run: the measured tables it was judged from are unchanged."""
    if isinstance(meta.get("files"), dict):
        meta["files"][written.name] = store.file_digest(written)
        store.write_meta(meta, folder)


def rejudge_all(target: Path, names: list[str] | None = None) -> list[str]:
    """Judge again every recorded run in ``target`` (``book/recorded/<profile>``), or those
    named; returns the names judged."""
    folders = ([Path(target) / n for n in names] if names else
               sorted(p for p in Path(target).iterdir() if (p / "meta.json").exists()))
    missing = [f.name for f in folders if not (f / "meta.json").exists()]
    if missing:
        raise RejudgeError(f"no recorded run {missing} in {target}")
    for folder in folders:
        rejudge(folder)
    return [f.name for f in folders]
