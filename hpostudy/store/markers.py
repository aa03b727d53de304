"""The run marker: ``.running.json`` in a folder being written, a lock and a flag.

:class:`RunMarker` marks an output folder as *being written*: it doubles as a lock (a second
run into the same folder is refused, naming the first) and as the "incomplete" flag (a run
that failed or was killed is never mistaken for a finished one). :func:`marker_alive` tells a
live holder from a dead one, on this machine by its process and on another by the marker's
heartbeat.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import threading
import time
from pathlib import Path

from .errors import FolderBusy, StoreError
from .files import atomic_write

MARKER = ".running.json"
MARKER_HEARTBEAT = 30  # seconds between touches of a held marker
MARKER_GRACE = 120  # a marker of another machine untouched for longer belongs to a dead run
DRAWING = "drawing"  # the marker's status while a notebook draws after its run


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
        """The marker's record.

        Returns:
            dict | None: the record (pid, host, start, status, ...), an ``unreadable marker``
            record when it cannot be read, or None when there is no marker.
        """
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"pid": -1, "host": "?", "started": "?", "status": "unreadable marker"}

    def acquire(self, **info) -> dict:
        """Create the marker exclusively and start touching it, taking over a marker whose run
        is gone.

        Args:
            **info: more fields of the record (e.g. the profile).

        Returns:
            dict: the record written.

        Raises:
            FolderBusy: a live run holds the folder.
            StoreError: the folder cannot be created or written.
        """
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
        """Stop touching the marker and remove it: the folder reads complete."""
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
