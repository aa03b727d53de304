"""Partial recordings: carry a long run's finished units across stops and machines.

A run keeps its progress in ``build/<profile>/results/<notebook>/checkpoints/<key>/`` (not
committed): ``<unit>.result.pt`` for each finished unit of work and, for a unit in progress, its
latest checkpoint (``<unit>.pt``; a search's Optuna study ``<unit>.db``), beside ``key.json``
(what the key stands for, written by :class:`~hpostudy.study.experiment_run.Run`) and
``time.json`` (the time of each session so far, :mod:`hpostudy.study.session_time`).
:func:`record_partial` (``hpostudy record --partial``) copies these files, for the key of the
folder's last run, into
``book/recorded/<profile>/<notebook>/partial/`` (committed), with ``manifest.json``: status
``partial``, the key, the settings and code digest it stands for, the units done and in progress,
when the run started and when it was recorded, and each file's SHA-256. A running run may be
recorded: checkpoints are replaced atomically (a copy reads a whole one) and a study is copied
through SQLite's backup. The folder is written beside the old one and swapped in.

A partial recording is never a result: the book, its provenance tables and ``hpostudy record``
read a recorded run's ``meta.json`` and tables, and a partial recording has neither.

Before ``hpostudy run`` executes a notebook, :func:`pick_up` copies its partial recording into
the build's checkpoint folder of the recorded key -- a file already there is never replaced:
local progress wins -- and the run resumes from it (finished units load, units in progress
continue from their checkpoints) when its key is the recorded one: the same settings and the
same code of the experiment (:func:`hpostudy.store.experiment_digest`). Otherwise the files
stay unused under their own key and :func:`pick_up` says which settings or code differ.
Recording the complete run of that key with ``hpostudy record`` removes the partial recording
(:func:`set_aside` keeps one of another key).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import sqlite3
from pathlib import Path

from .. import store
from .session_time import TIMES

PARTIAL = "partial"  # the folder of a partial recording, in book/recorded/<profile>/<notebook>/
MANIFEST = "manifest.json"
DESCRIPTOR = "key.json"  # in each checkpoint folder: what its key stands for
DONE = ".result.pt"  # the cached result of a finished unit (hpostudy.study.experiment_run.Run.map)
IN_PROGRESS = (".pt", ".db")  # a unit's latest checkpoint; a search's Optuna study


def unit_files(folder: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """What carries the progress of the checkpoint folder ``folder``: ``(files by name, units
    done, units in progress)``. A unit is done when its result is cached; the checkpoints of
    a done unit, temporary files and files moved aside as corrupt are left out; the sessions'
    time (``time.json``) is carried too."""
    files = {p.name: p for p in Path(folder).iterdir() if p.is_file()}
    done = sorted(n.removesuffix(DONE) for n in files if n.endswith(DONE))
    carried = {n: files[n] for n in files if n.endswith(DONE)}
    for name, path in files.items():
        stem, suffix = os.path.splitext(name)
        if suffix in IN_PROGRESS and not name.endswith(DONE) and stem not in done:
            carried[name] = path
    running = sorted({os.path.splitext(n)[0] for n in carried if not n.endswith(DONE)})
    if TIMES in files:
        carried[TIMES] = files[TIMES]
    return dict(sorted(carried.items())), done, running


def _copy(source: Path, dest: Path) -> None:
    """Copy one unit file; an SQLite study through its backup API (a consistent copy even
    while a search writes into it)."""
    if source.suffix != ".db":
        shutil.copyfile(source, dest)
        return
    src = sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def record_one(results: Path, dest: Path) -> tuple[bool, str]:
    """Record the progress of the unfinished run in the results folder ``results`` as the
    partial recording ``dest``; returns whether it did, and what happened in words (nothing
    is written when there is nothing to carry)."""
    name = results.name
    state = store.folder_state(results)
    if state == "complete":
        return False, f"{name}: complete, not partial: record it with `hpostudy record`"
    marker = store.RunMarker(results).read() or {}
    key = marker.get("key")
    if not key:
        return False, f"{name}: no run has started in {results}"
    folder = results / "checkpoints" / key
    try:
        descriptor = json.loads((folder / DESCRIPTOR).read_text())
    except FileNotFoundError:
        return False, f"{name}: its run (key {key}) has finished no unit yet"
    except (OSError, ValueError) as err:
        raise store.StoreError(f"{folder / DESCRIPTOR} is unreadable ({err}); run the "
                               "notebook again to write it") from None
    files, done, running = unit_files(folder)
    if not files:
        return False, f"{name}: its run (key {key}) has finished no unit yet"
    staging = dest.with_name(f".{dest.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "units").mkdir(parents=True)
    try:
        digests = {}
        for file_name, path in files.items():
            _copy(path, staging / "units" / file_name)
            digests[file_name] = store.file_digest(staging / "units" / file_name)
        manifest = {
            "status": "partial", "note": "not a result: the finished units and latest "
            "checkpoints of an unfinished run, picked up by the next `hpostudy run` with the "
            "same key", "notebook": name, "key": key, **descriptor,
            "run": {"state": state, "host": marker.get("host"), "started": marker.get("started"),
                    "status": marker.get("status"), "reason": marker.get("reason")},
            "units_done": done, "units_in_progress": running,
            "recorded": _dt.datetime.now().isoformat(timespec="seconds"),
            "recorded_on": socket.gethostname(), "files": digests}
        store.write_json(manifest, staging, MANIFEST.removesuffix(".json"))
        store.swap_in(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True, (f"{name}: {len(done)} unit(s) done, {len(running)} in progress (key {key}) "
                  f"-> {dest}")


def record_partial(profile: str, names: list[str] | None = None, build: Path | None = None,
                   target: Path | None = None) -> list[str]:
    """``hpostudy record --partial``: the progress of every unfinished run of ``profile``
    (or of the notebooks ``names``) in ``build/<profile>/results/`` as partial recordings in
    ``target/<notebook>/partial/`` (default ``book/recorded/<profile>``); returns a line per
    notebook saying what was done. FileNotFoundError when nothing could be recorded."""
    from .project import root_or_cwd

    root = root_or_cwd()
    results = Path(build or root / "build") / profile / "results"
    target = Path(target or root / "book" / "recorded" / profile)
    folders = ([results / n for n in names] if names
               else sorted(p for p in results.glob("*") if p.is_dir()))
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise FileNotFoundError(f"no results folder of {missing} in {results}: run "
                                f"`hpostudy run {' '.join(missing)} --profile {profile}` first")
    outcomes = [record_one(f, target / f.name / PARTIAL) for f in folders]
    lines = [line for _, line in outcomes]
    if not any(recorded for recorded, _ in outcomes):
        raise FileNotFoundError("nothing to record as partial:\n" + "\n".join(lines))
    return lines


def pick_up(recorded: Path, results: Path, cfg=None) -> str | None:
    """Copy the partial recording in the folder ``recorded`` (``book/recorded/<profile>/
    <notebook>``) into the checkpoint folder of its key in ``results``, never replacing a file
    that is there, before a run of that notebook; returns what happened, in words (None if
    there is no partial recording). With the run's configuration ``cfg``, says whether the run
    will resume from it, or which settings or code keep it from doing so."""
    recorded = Path(recorded)
    try:
        manifest = json.loads((recorded / PARTIAL / MANIFEST).read_text())
        key, files = manifest["key"], dict(manifest["files"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        return (f"its partial recording {recorded / PARTIAL} is unreadable "
                f"({type(err).__name__}: {err}): not used")
    units = recorded / PARTIAL / "units"
    folder = Path(results) / "checkpoints" / key
    folder.mkdir(parents=True, exist_ok=True)
    copied, kept, damaged = 0, 0, []
    for name, digest in files.items():
        dest = folder / name
        unit_done = folder / (os.path.splitext(name)[0] + DONE)
        if dest.exists() or (not name.endswith(DONE) and unit_done.exists()):
            kept += 1
            continue
        if store.file_digest(units / name) != digest:
            damaged.append(name)  # a Git LFS pointer, a truncated checkout, an edit
            continue
        tmp = folder / f".{name}.partial.tmp"
        _copy(units / name, tmp)
        os.replace(tmp, dest)
        copied += 1
    words = (f"picked up {copied} file(s) of the partial recording {recorded / PARTIAL} "
             f"(key {key}, {len(manifest.get('units_done', []))} unit(s) done)"
             + (f", {kept} already here kept" if kept else "")
             + (f"; {damaged} differ from the manifest's digests and were left out (their "
                "units run again)" if damaged else ""))
    if cfg is not None:
        return words + "; " + _match(manifest, cfg)
    return words


def _match(manifest: dict, cfg) -> str:
    """Whether a run of ``cfg`` has the key of ``manifest``, in words (what differs if not)."""
    settings = json.loads(json.dumps(cfg.settings(), default=str))
    recorded = manifest.get("settings", {})
    differ = sorted(k for k in settings if recorded.get(k) != settings[k])
    code = store.experiment_digest(type(cfg).__module__) != manifest.get("code")
    if not differ and not code:
        return "the run resumes from it"
    reasons = []
    if differ:
        reasons.append("settings " + ", ".join(f"{k}={recorded.get(k)!r} (now {settings[k]!r})"
                                               for k in differ))
    if code:
        reasons.append("the code of the experiment (its module or one it imports changed "
                       "since the recording)")
    return f"NOT used by this run: it differs in {' and '.join(reasons)}"


def set_aside(dest: Path, meta: Path) -> Path | None:
    """Before a complete run (``meta``: its ``meta.json``) is recorded into ``dest``: the
    partial recording there, moved out of ``dest`` if it is of another key (returned, for
    :func:`put_back`); one of the run's own key is left to go with the old recording."""
    partial = Path(dest) / PARTIAL
    if not partial.is_dir():
        return None
    try:
        recorded_key = json.loads((partial / MANIFEST).read_text()).get("key")
    except (OSError, ValueError):
        recorded_key = None  # unreadable: kept, never lost
    if recorded_key is not None and recorded_key == json.loads(Path(meta).read_text()).get("key"):
        return None
    aside = Path(dest).with_name(f".{Path(dest).name}.{PARTIAL}-{os.getpid()}")
    os.replace(partial, aside)
    return aside


def put_back(aside: Path | None, dest: Path) -> None:
    """Return a partial recording that :func:`set_aside` moved out of ``dest``."""
    if aside is not None:
        os.replace(aside, Path(dest) / PARTIAL)
