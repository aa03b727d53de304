"""Whether a notebook runs again: the stamp of its last finished execution.

A notebook is skipped only when its source, parameters and the library are unchanged *and* its
last execution finished *and* what it wrote is still there: the stamp of a run is removed before
the run starts and written only after it succeeded, with the digests of the run's ``meta.json``
and executed notebook. A failed or killed run, a file of the run missing or changed (each file
``meta.json`` lists is checked against its digest), a truncated executed notebook, or a folder
rewritten since by another run (bare papermill with other settings) is executed again, and the
run says why.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import store
from .jobs import Job

STAMP = ".stamp"


def library_digest() -> str:
    """Digest of all library sources (presentation included): part of every notebook stamp.

    Wider than the key of results on purpose: a notebook's figures, tables and verdicts come
    from presentation code too, so any library edit executes it again -- cheaply, since its
    units load from the cache, whose key (:func:`hpostudy.store.experiment_digest`) such an
    edit leaves unchanged."""
    return store.code_digest(include_presentation=True)


def inputs_digest(job: Job) -> str:
    """Digest of what a notebook's execution depends on: source, parameters, library, mode."""
    return hashlib.sha256((job.source.read_text() + json.dumps(job.parameters, sort_keys=True)
                           + library_digest() + str(job.direct)).encode()).hexdigest()


def stamp_record(job: Job, inputs: str) -> str:
    """The stamp of a finished execution: its inputs (:func:`inputs_digest`) and the digests of the
    ``meta.json`` and executed notebook it left (None where there is none)."""
    return json.dumps({"inputs": inputs,
                       "meta": store.file_digest(job.results / "meta.json"),
                       "executed": None if job.direct else store.file_digest(job.executed)})


def rerun_reason(job: Job, inputs: str) -> str | None:
    """Why ``job`` must run (None: its last execution finished with these inputs and all it
    wrote is intact, so it is skipped)."""
    try:
        stamp = json.loads((job.results / STAMP).read_text())
        stamp["inputs"]
    except FileNotFoundError:
        return "no finished execution"
    except (OSError, ValueError, TypeError, KeyError):
        return "its stamp is unreadable or from an older version"
    if stamp["inputs"] != inputs:
        return "its source, parameters or the library changed"
    problem = unfinished(job.results, None if job.direct else job.executed, stamp)
    if problem:
        return problem
    if stamp.get("meta") is not None:
        recorded = (store.read_meta(job.results) or {}).get("settings")
        if job.settings is not None and recorded != job.settings:
            return "its folder holds results of other settings"
    return None


def unfinished(results: Path, executed: Path | None, stamp: dict | None = None) -> str | None:
    """Why the execution that left ``results`` (and the executed notebook ``executed``; None
    for a script) is not a finished one any more (None: it is): no stamp, its ``meta.json``
    or executed notebook is not the one the stamp recorded (missing, truncated, rewritten by
    another run), or a file ``meta.json`` lists is missing or changed."""
    if stamp is None:
        try:
            stamp = json.loads((results / STAMP).read_text())
        except (OSError, ValueError):
            return f"no finished execution in {results}"
    meta = results / "meta.json"
    if not isinstance(stamp, dict) or stamp.get("meta") != store.file_digest(meta):
        return ("its meta.json is missing" if not meta.exists() else
                "its meta.json changed since (rewritten by another run into the same folder, "
                "or edited)")
    if stamp.get("meta") is not None:
        problem = store.incomplete_reason(results)
        if problem:
            return problem
    if executed is not None and stamp.get("executed") != store.file_digest(executed):
        return f"its executed notebook {executed} is missing or changed"
    return None
