"""Files of a run's folder listed in its ``meta.json`` as they are written.

A run of this process is *open* (:func:`open_run` to :func:`close_run`): :func:`publish`
writes each file atomically and adds its digest to the run's future ``meta.json``; into a
finished run's folder it adds the file to the sealed ``meta.json``. A notebook that draws
after its run keeps the folder's marker meanwhile (:func:`keep_drawing` to
:func:`end_drawing`), so a folder never reads complete without its figures.
"""
from __future__ import annotations

import json
from pathlib import Path

from .files import atomic_write, digest
from .markers import DRAWING, RunMarker, marker_alive
from .meta import read_meta, write_meta

_OPEN_RUNS: dict[Path, dict] = {}  # folder -> {file name: digest} of a run open in this process
_DRAWING: dict[Path, RunMarker] = {}  # folder -> its marker, kept while a notebook draws


def open_run(folder: Path, files: dict) -> None:
    """Register a run of this process writing into ``folder``: :func:`publish` adds the digest of
    every file written there to ``files`` (its future ``meta.json``) until :func:`close_run`."""
    _OPEN_RUNS[Path(folder).resolve()] = files
    _DRAWING.pop(Path(folder).resolve(), None)


def keep_drawing(folder: Path, marker: RunMarker) -> None:
    """A run of a notebook (or of a notebook run as a script) wrote its ``meta.json``; its
    notebook goes on to draw figures from it. Keep the folder's ``marker`` (held by this
    process, status ``drawing``) until :func:`end_drawing`: the folder reads incomplete until
    the notebook's last cell is done -- a notebook killed between its run and its figures never
    leaves a folder that reads complete without them. :func:`publish` adds each file drawn
    meanwhile to ``meta.json``."""
    record = marker.read() or {}
    record["status"] = DRAWING
    atomic_write(marker.path, json.dumps(record))
    _DRAWING[Path(folder).resolve()] = marker


def end_drawing(folder: Path, failure: str | None = None) -> None:
    """The notebook drawing into ``folder`` ended: without ``failure`` the folder is complete
    (its marker removed), with it the folder stays incomplete, saying why."""
    marker = _DRAWING.pop(Path(folder).resolve(), None)
    if marker is None:
        return
    if failure:
        marker.fail(failure)
    else:
        marker.release()


def notebook_ended(folder: Path) -> None:
    """The notebook that ran into ``folder`` ended without an error (its runner knows: papermill
    or the script succeeded): a ``drawing`` marker its process left -- a kernel ended before
    its own exit handler ran -- is removed."""
    marker = RunMarker(folder)
    record = marker.read()
    if record is not None and record.get("status") == DRAWING and not marker_alive(
            record, marker.path):
        marker.release()


def drawing_folders() -> list[Path]:
    """The folders whose notebook, in this process, is still drawing."""
    return list(_DRAWING)


def close_run(folder: Path) -> None:
    """Close the run of ``folder`` that :func:`open_run` opened in this process (nothing if
    none is open).

    Args:
        folder: the run's folder.
    """
    _OPEN_RUNS.pop(Path(folder).resolve(), None)


def publish(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/name`` atomically and list it with its digest in the run's
    metadata: the open run's of this process (see :func:`open_run`), or the ``meta.json`` of
    a finished run already there (a figure a notebook draws after the run). That folder is
    taken again while the file is written (its marker: it reads incomplete meanwhile), and
    stays incomplete if writing fails (a full disk): it is never complete without the file. A
    folder that holds no run gets the file only."""
    folder = Path(folder)
    open_files = _OPEN_RUNS.get(folder.resolve())
    drawing = _DRAWING.get(folder.resolve())
    if drawing is not None:  # the marker is ours already (keep_drawing)
        try:
            meta = read_meta(folder) or {}
            path = atomic_write(folder / name, data)
            meta.setdefault("files", {})[name] = digest(data)
            write_meta(meta, folder)
        except BaseException as err:
            _DRAWING.pop(folder.resolve(), None)
            drawing.fail(f"writing {name}: {type(err).__name__}: {err}")
            raise
        return path
    if open_files is not None or not (folder / "meta.json").exists():
        path = atomic_write(folder / name, data)
        if open_files is not None:
            open_files[name] = digest(data)
        return path
    marker = RunMarker(folder)
    marker.acquire(adding=name)
    try:
        meta = read_meta(folder) or {}
        path = atomic_write(folder / name, data)
        if not isinstance(meta.get("files"), dict):  # not a finished run: it stays incomplete
            marker.release()
            return path
        meta["files"][name] = digest(data)
        write_meta(meta, folder)
    except BaseException as err:
        marker.fail(f"writing {name}: {type(err).__name__}: {err}")
        raise
    marker.release()
    return path
