"""A finished run's ``meta.json``: sealed when written, and what it says of its folder.

:func:`write_meta` seals the metadata (:func:`seal`), so an edit of the file is seen;
:func:`incomplete_reason` and :func:`folder_state` read a folder's marker, its ``meta.json``
and the digests of the files it lists to tell a finished run from one that is running, failed,
was killed or lost a file.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import StoreError
from .files import atomic_write, digest, file_digest
from .markers import DRAWING, MARKER, RunMarker, marker_alive


def read_meta(folder: Path) -> dict | None:
    """The ``meta.json`` of ``folder`` (None if there is none); :class:`StoreError` naming the
    file if it exists but is not a JSON object (truncated, edited)."""
    path = Path(folder) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise StoreError(f"{path} is unreadable ({type(err).__name__}: {err})") from None
    if not isinstance(meta, dict):
        raise StoreError(f"{path} is not a run's metadata (a JSON object)")
    return meta


def seal(meta: dict) -> str:
    """Digest of ``meta`` without its own ``sealed`` entry: written into a run's ``meta.json``,
    so that an edit of the file (settings, file digests) is seen."""
    content = {k: v for k, v in meta.items() if k != "sealed"}
    return digest(json.dumps(content, sort_keys=True, default=str).encode())


def write_meta(meta: dict, folder: Path) -> Path:
    """``meta`` as ``folder/meta.json``, sealed (:func:`seal`), atomically."""
    meta = {**meta, "sealed": None}
    meta["sealed"] = seal(meta)
    return atomic_write(Path(folder) / "meta.json", json.dumps(meta, indent=2, default=str))


def missing_files(folder: Path, meta: dict) -> list[str]:
    """What is wrong with the files ``meta`` lists: each one missing, or whose digest is not
    the one recorded (an edited, truncated or replaced file); empty when all are intact."""
    files = meta.get("files")
    if not isinstance(files, dict):
        return ["meta.json lists no file digests (written by an older version)"]
    problems = []
    for name, recorded in sorted(files.items()):
        found = file_digest(Path(folder) / name)
        if found is None:
            problems.append(f"{name} is missing")
        elif found != recorded:
            problems.append(f"{name} differs from what the run wrote")
    return problems


def incomplete_reason(folder: Path) -> str | None:
    """Why ``folder`` does not hold a finished run (None when it does): a run holds or held its
    marker, ``meta.json`` is missing, unreadable or not ``complete``, or a file it lists is
    missing or not what the run wrote."""
    folder = Path(folder)
    marker = RunMarker(folder).read()
    if marker is not None:
        drawing = marker.get("status") == DRAWING
        if marker_alive(marker, folder / MARKER):
            what = "its notebook is still drawing after the run" if drawing else \
                "a run is writing into it"
            return f"{what} (process {marker.get('pid')} on {marker.get('host')})"
        if drawing:
            return ("its notebook stopped after the run, before its last cell (its figures may "
                    "be missing): run it again (its units load from the cache)")
        return f"its last run did not finish ({marker.get('status', '?')}: " \
               f"{marker.get('reason', 'killed')})"
    try:
        meta = read_meta(folder)
    except StoreError as err:
        return str(err)
    if meta is None:
        return "it holds no meta.json"
    if meta.get("status") != "complete":
        return f"its meta.json says status {meta.get('status')!r}, not 'complete'"
    if meta.get("sealed") != seal(meta):
        return "its meta.json was edited after the run wrote it"
    problems = missing_files(folder, meta)
    return "; ".join(problems) if problems else None


def folder_state(folder: Path) -> str:
    """``"complete"``, ``"running"``, ``"incomplete"`` (failed or killed, or a file it lists is
    missing or changed: see :func:`incomplete_reason`) or ``"empty"`` (no ``meta.json``)."""
    folder = Path(folder)
    marker = RunMarker(folder).read()
    if marker is not None:
        return "running" if marker_alive(marker, folder / MARKER) else "incomplete"
    if not (folder / "meta.json").exists():
        return "empty"
    return "complete" if incomplete_reason(folder) is None else "incomplete"
