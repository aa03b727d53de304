"""The results store: every result and checkpoint keyed by what produced it.

A result of the study is a function of its *settings* (an experiment's full configuration) and
of the *library code* that computed it. :func:`settings_key` hashes both, so a changed seed,
setting or library fix never picks up an old result: it starts afresh, and a rerun with the same
settings and code resumes its own earlier run.

*Which* code: an experiment's results are keyed by :func:`dependency_digest` of its module, the
sources of the modules it imports, transitively, within the package (read with :mod:`ast`,
relative imports resolved, the ``__init__`` of every package on the way included), less the
presentation and orchestration modules of ``PRESENTATION``. Editing a figure, a message in the
study layer or another chapter's experiment keeps a run's key; editing anything the experiment
can execute while it computes -- a hypergradient method, a model, its settings module or the
experiment module itself -- changes it. We chose this over an explicit version number that a
numerical change must bump: a forgotten bump silently mixes results of two codes, and a test
that catches it must itself know which modules are numerical -- exactly the import graph, which
the digest reads directly. The digest reads what the code computes (:func:`code_statements`):
documenting, commenting or reformatting a module, or moving a definition to another module of
the package, keeps every key, so a long run survives a refactoring; any other edit of an
imported module starts its experiments afresh, while an edit elsewhere never does (an experiment
module's own comparison code counts as imported: presentation that should not restart runs
belongs in ``figures/`` or ``verdicts.py``). Code an experiment reaches without an import
statement (a model named by a ``"module:Class"`` string, or defined in a notebook) enters the
key through the run's ``extra`` settings instead. A configuration defined outside the package
is keyed by the package modules its file imports (:func:`experiment_digest`).

This module is the bottom layer of the study (it imports nothing from the rest of the
package): the experiments, the STN trainer and the outer loop all checkpoint through
:class:`Checkpoint`, and every file is written atomically (a killed run never leaves half a
file). :class:`RunMarker` marks an output folder as *being written*: it doubles as a lock
(a second run into the same folder is refused, naming the first) and as the "incomplete" flag
(a run that failed or was killed is never mistaken for a finished one).
"""
from __future__ import annotations

import ast
import datetime as _dt
import functools
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent

# Presentation and orchestration code: changing it does not change any computed number, so it
# is left out of the key of checkpoints and cached results (comparison tables are recomputed
# from the cached results on every run; this module only stores what others compute).
PRESENTATION = ("figures", "study", "verdicts.py", "store.py", "progress.py")


class StoreError(RuntimeError):
    """A result folder or checkpoint cannot be used as it is; the message says what to do."""


class CheckpointCorrupt(StoreError):
    """A checkpoint file could not be read (truncated or not a checkpoint)."""


class FolderBusy(StoreError):
    """Another live process is writing into the same output folder."""


# ---------------------------------------------------------------------- keys
@functools.lru_cache(maxsize=None)
def code_digest(include_presentation: bool = False) -> str:
    """SHA-256 of the library's Python sources (by default without the presentation and
    orchestration modules listed in ``PRESENTATION``)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if not include_presentation and relative.startswith(PRESENTATION):
            continue
        h.update(relative.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _read_source(relative: str) -> bytes:
    """The source of the package's file ``relative`` (a path below ``PACKAGE_DIR``)."""
    return (PACKAGE_DIR / relative).read_bytes()


def _module_file(module: str) -> str | None:
    """The package-relative path of ``module`` (dotted, ``hpostudy.…``), None if it is not a
    file of this package."""
    parts = module.split(".")
    if parts[0] != PACKAGE_DIR.name:
        return None
    if len(parts) == 1:
        return "__init__.py"
    stem = "/".join(parts[1:])
    for candidate in (f"{stem}/__init__.py", f"{stem}.py"):
        if (PACKAGE_DIR / candidate).is_file():
            return candidate
    return None


def _is_presentation(relative: str) -> bool:
    return relative.split("/")[0] in PRESENTATION


def _imported(source: bytes, package: str, filename: str) -> set[str]:
    """Names of the modules that ``source`` (a module of ``package``, read from ``filename``)
    imports anywhere in it, with each package they lie in; relative imports resolved."""
    tree = ast.parse(source, filename=filename)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from X import y`` imports X, and X.y when y is a submodule
            targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


@functools.lru_cache(maxsize=None)
def dependencies(module: str) -> tuple[str, ...]:
    """Package-relative paths of the sources ``module`` depends on: itself and every module of
    the package it imports, transitively (the ``__init__`` of each package on the way
    included), without the ``PRESENTATION`` modules and what only they import."""
    start = _module_file(module)
    if start is None:
        raise ValueError(f"{module} is not a module of the {PACKAGE_DIR.name} package "
                         f"({PACKAGE_DIR})")
    parts = module.split(".")
    return _closure(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # with its packages


def _closure(names) -> tuple[str, ...]:
    """Package-relative paths of the modules ``names`` of the package and all they import of
    it, transitively, less ``PRESENTATION`` (names outside the package are passed over)."""
    todo, found = list(names), set()
    while todo:
        name = todo.pop()
        relative = _module_file(name)
        if relative is None or relative in found or _is_presentation(relative):
            continue
        found.add(relative)
        package = name if relative.endswith("__init__.py") else name.rpartition(".")[0]
        todo.extend(_imported(_read_source(relative), package, relative))
    return tuple(sorted(found))


@functools.lru_cache(maxsize=None)
def dependency_digest(module: str) -> str:
    """SHA-256 of the sources of :func:`dependencies` of ``module`` (path and content each)."""
    return _sources_digest(dependencies(module))


def _sources_digest(relatives) -> str:
    """SHA-256 of the code of the package's files ``relatives``: the multiset of their
    top-level definitions as :func:`code_statements` reads them, whichever file holds each.
    Moving a function or constant between modules (splitting a module into a package, say)
    keeps the digest; changing what any definition computes changes it."""
    statements = sorted(digest(s.encode()) for relative in relatives
                        for s in code_statements(_read_source(relative)))
    return digest("\n".join(statements).encode())


def code_statements(source: bytes) -> list[str]:
    """The top-level statements of ``source`` as what they compute: each statement's tokens
    joined by spaces, without its docstrings, comments or layout, and without the statements
    that only name things kept elsewhere (imports, ``__all__``, the module docstring).

    Documenting a method (or fixing its docstring's math), commenting it, reformatting it or
    moving it to another module computes nothing differently, so none of them may restart a
    long run keyed by the code; any change of a token of a definition does. A source that
    does not parse is one statement, kept whole."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [source.decode(errors="replace")]
    docstring_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    lines = source.decode().splitlines(keepends=True)
    statements = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or _names_all(node):
            continue
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        text = "".join(line for number, line in enumerate(lines, 1)
                       if first <= number <= node.end_lineno and number not in docstring_lines)
        if text.strip():
            statements.append(_tokens(text))
    return statements


def _names_all(node: ast.stmt) -> bool:
    """Whether ``node`` assigns ``__all__`` (what a module re-exports, not what it computes)."""
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _tokens(text: str) -> str:
    """``text``'s tokens joined by spaces, indentation kept as INDENT/DEDENT, comments and
    blank lines dropped (:mod:`tokenize`, whose output does not depend on the Python
    version the way :mod:`ast` dumps do)."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        return " ".join(token.string if token.type not in (tokenize.INDENT, tokenize.DEDENT)
                        else tokenize.tok_name[token.type]
                        for token in tokenize.generate_tokens(io.StringIO(text).readline)
                        if token.type not in skip)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text


def experiment_digest(module: str) -> str:
    """The code digest of results computed by the experiment module ``module`` (the module of
    its configuration class): :func:`dependency_digest` for a module of the package. For a
    module outside it (a test, a notebook run as a script), the digest of the package modules
    its file imports, transitively -- not of the file itself, whose text changes with the
    parameters injected into a notebook; one without a file (a notebook's Jupyter kernel) is
    keyed by the whole library (less ``PRESENTATION``), since what it imports cannot be read."""
    if _module_file(module) is not None:
        return dependency_digest(module)
    path = getattr(sys.modules.get(module), "__file__", None)
    if path is None:
        return code_digest()
    imported = _imported(Path(path).read_bytes(), module.rpartition(".")[0], path)
    return _sources_digest(_closure(imported))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def settings_key(settings: dict, code: str | None = None, length: int = 16) -> str:
    """Hex key of ``settings`` (any JSON-like dict) together with the library code digest."""
    payload = json.dumps({"settings": _jsonable(settings), "code": code or code_digest()},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


# ---------------------------------------------------------------------- atomic files
def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the old
    file or the new one, never half of one. Files are readable by everyone (results are)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise StoreError(f"cannot write into {path.parent} ({err.strerror}): choose a writable "
                         "output folder (-p output_dir=...) or fix its permissions") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(df, folder: Path, name: str) -> Path:
    """``df`` as ``folder/name.csv``, atomically."""
    return atomic_write(Path(folder) / f"{name}.csv", df.to_csv(index=False))


def write_json(obj: dict, folder: Path, name: str) -> Path:
    """``obj`` as ``folder/name.json``, atomically (non-JSON values written by ``str``)."""
    return atomic_write(Path(folder) / f"{name}.json", json.dumps(obj, indent=2, default=str))


# ---------------------------------------------------------------------- checkpoints
class Checkpoint:
    """One resumable piece of work: ``load()`` what an earlier run saved (None if nothing),
    ``save(obj)`` atomically. A file that cannot be read is moved aside (never deleted) and
    :class:`CheckpointCorrupt` says where it went; running again then starts that piece afresh.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self):
        import torch

        if not self.path.exists():
            return None
        try:
            return torch.load(self.path, weights_only=False, map_location="cpu")
        except Exception as err:  # truncated zip, pickle garbage, empty file ...
            aside = self.path.with_name(
                f"{self.path.name}.corrupt-{_dt.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(self.path, aside)
            raise CheckpointCorrupt(
                f"checkpoint {self.path} is unreadable ({type(err).__name__}: "
                f"{str(err)[:120]}); it was moved to {aside.name} beside it. Run again to "
                "start this part afresh (or restore the file if you have a good copy).") from err

    def save(self, obj) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(obj, buffer)
        atomic_write(self.path, buffer.getvalue())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"Checkpoint({self.path})"


# ---------------------------------------------------------------------- run marker (lock)
MARKER = ".running.json"
MARKER_HEARTBEAT = 30  # seconds between touches of a held marker
MARKER_GRACE = 120  # a marker of another machine untouched for longer belongs to a dead run


def process_start(pid: int) -> str | None:
    """When process ``pid`` of this machine started, as the boot's id and the start time in
    clock ticks since boot (``/proc/<pid>/stat``), None where that cannot be read: a process id
    reused by another process after a restart or a crash has another start."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie -- dead, not yet waited for by
    its parent, which may never do so in a container -- does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunMarker:
    """``folder/.running.json`` while a run writes into ``folder``.

    :meth:`acquire` creates it exclusively; if it exists and its run is alive, the folder is
    busy (:class:`FolderBusy`, naming that process, its machine and its start time); if its run
    is gone, the earlier run was killed and its marker is taken over. A run is alive when its
    process runs on this machine, or -- for a run on another machine of a cluster sharing the
    folder -- when its marker's modification time is younger than ``MARKER_GRACE`` seconds:
    the holder touches it every ``MARKER_HEARTBEAT`` seconds (clocks of the machines must agree
    to within a minute or so). The marker stays when a run fails (``status`` says why), so the
    folder reads as incomplete until a run finishes and :meth:`release` removes it.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / MARKER
        self._stop = threading.Event()

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"pid": -1, "host": "?", "started": "?", "status": "unreadable marker"}

    def acquire(self, **info) -> dict:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the output folder {self.folder} ({err.strerror}): "
                             "choose another output_dir or fix its permissions") from err
        record = {"pid": os.getpid(), "pid_start": process_start(os.getpid()),
                  "host": socket.gethostname(),
                  "started": _dt.datetime.now().isoformat(timespec="seconds"),
                  "status": "running", **info}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self.read() or {}
                if other.get("pid") != record["pid"] and marker_alive(other, self.path):
                    raise FolderBusy(
                        f"{self.folder} is being written by another run: process "
                        f"{other['pid']} on {other['host']}, started {other['started']} "
                        f"(profile {other.get('profile', '?')}). Wait for it to finish, stop it "
                        f"(kill {other['pid']} on {other['host']}), or give this run another "
                        "output folder (-p output_dir=...). If that run is gone and the lock "
                        f"is stale, delete {self.path}"
                        + ("" if other.get("host") == socket.gethostname() else
                           f" (a run on another machine counts as alive while its lock was "
                           f"touched in the last {MARKER_GRACE} s by this machine's clock: "
                           "machines whose clocks differ (clock skew) can keep a dead run's "
                           "lock alive)") + ".") from None
                self.path.unlink(missing_ok=True)  # left by a killed or failed run
                continue
            except OSError as err:
                raise StoreError(f"cannot write into {self.folder} ({err.strerror}): choose "
                                 "another output_dir or fix its permissions") from err
            with os.fdopen(fd, "w") as fh:
                json.dump(record, fh)
            self._stop.clear()
            threading.Thread(target=self._beat, daemon=True).start()
            return record
        raise FolderBusy(f"could not take {self.path}: another run keeps recreating it")

    def _beat(self) -> None:
        """Touch the marker while the run holds it (how other machines see it is alive)."""
        while not self._stop.wait(MARKER_HEARTBEAT):
            try:
                os.utime(self.path)
            except OSError:
                return

    def fail(self, reason: str, status: str = "failed") -> None:
        """Keep the marker (the folder stays incomplete) and say why the run stopped
        (``status``: ``failed``, or ``interrupted`` by a signal to ``hpostudy run``)."""
        self._stop.set()
        record = self.read() or {}
        record.update({"status": status, "reason": reason[:500], "pid": -1})
        atomic_write(self.path, json.dumps(record))

    def release(self) -> None:
        self._stop.set()
        self.path.unlink(missing_ok=True)


def marker_alive(record: dict, path: Path) -> bool:
    """Whether the run that wrote marker ``record`` (at ``path``) is still running (or its
    notebook still drawing, see :func:`keep_drawing`)."""
    if record.get("status") not in ("running", DRAWING):
        return False
    if record.get("host") == socket.gethostname():
        pid = int(record.get("pid", -1))
        started = record.get("pid_start")
        # the process id may have been taken by another process since: compare start times
        return process_alive(pid) and (started is None or process_start(pid) in (None, started))
    try:
        return abs(time.time() - path.stat().st_mtime) < MARKER_GRACE
    except OSError:
        return False


def digest(data: bytes) -> str:
    """SHA-256 (hex) of ``data``: how a run's ``meta.json`` records each file it wrote."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str | None:
    """:func:`digest` of the file at ``path``, None if it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


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


# ---------------------------------------------------------------------- files of a finished run
_OPEN_RUNS: dict[Path, dict] = {}  # folder -> {file name: digest} of a run open in this process


def open_run(folder: Path, files: dict) -> None:
    """Register a run of this process writing into ``folder``: :func:`publish` adds the digest of
    every file written there to ``files`` (its future ``meta.json``) until :func:`close_run`."""
    _OPEN_RUNS[Path(folder).resolve()] = files
    _DRAWING.pop(Path(folder).resolve(), None)


DRAWING = "drawing"  # the marker's status while a notebook draws after its run
_DRAWING: dict[Path, RunMarker] = {}  # folder -> its marker, kept while a notebook draws


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


# ---------------------------------------------------------------------- staged copies
def stage_files(files: dict[str, Path], digests: dict[str, str], staging: Path) -> None:
    """Copy each ``files[name]`` to ``staging/name`` and check the copy against
    ``digests[name]``: a copy cut short (a full disk) or a source changed since it was
    listed raises :class:`StoreError` naming the file. The first step of stage, verify, swap:
    nothing outside ``staging`` is touched."""
    staging.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        shutil.copyfile(source, staging / name)
        if file_digest(staging / name) != digests[name]:
            raise StoreError(f"the copy of {source} differs from what its run wrote (changed "
                             "while it was copied, or the copy was cut short)")


def swap_in(staged: Path, dest: Path) -> None:
    """Make ``staged`` (a folder or file, on the same file system) ``dest``, replacing what is
    there by renames only: the old one is removed after the new one is in place."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(staged, dest)
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)
