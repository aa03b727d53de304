"""Files of the store: written atomically, checkpoints, digests and staged copies.

Every file is written through a temporary file and a rename (:func:`atomic_write`), so a
killed run never leaves half a file; :class:`Checkpoint` is one resumable piece of work;
:func:`digest` and :func:`file_digest` are how a run's ``meta.json`` records what it wrote;
:func:`stage_files` and :func:`swap_in` copy finished files elsewhere by stage, verify, swap.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import CheckpointCorrupt, StoreError


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
        """Whether an earlier run saved this piece.

        Returns:
            bool: whether the file exists.
        """
        return self.path.exists()

    def load(self):
        """What an earlier run saved, on the CPU.

        Returns:
            The saved object, or None when nothing was saved.

        Raises:
            CheckpointCorrupt: the file cannot be read; it was moved aside (never deleted).
        """
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
        """Save ``obj`` (with :func:`torch.save`), atomically.

        Args:
            obj: what to save.
        """
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(obj, buffer)
        atomic_write(self.path, buffer.getvalue())

    def clear(self) -> None:
        """Delete the saved file, if any."""
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"Checkpoint({self.path})"


# ---------------------------------------------------------------------- digests
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
