"""The time a run took, over every session that worked on it.

A long run is often interrupted and resumed -- ``hpostudy run`` again on the same machine, or on
another one through a partial recording (:mod:`hpostudy.study.partial`) -- so the time of its
last session is not the time it took. :class:`SessionClock` keeps, in the run's checkpoint
folder (``checkpoints/<key>/time.json``), one entry per session of that key: when it started,
on which host, and its wall and process CPU seconds so far. A session rewrites its own entry
every ``interval`` seconds from a background thread and once more when it ends, so a session
that is killed outright loses at most the last ``interval`` seconds. A partial recording
carries the file with the units; :meth:`SessionClock.totals` sums the entries for the run's
``meta.json`` (and so for ``run_times.csv`` and the book's provenance tables).

CPU time is this process's (``time.process_time``) plus, in ``helpers_cpu_seconds``, the
process CPU time of the units that an executor computed in other processes or on other machines
(:meth:`SessionClock.add_elsewhere`; the Ray executor's helpers report each unit's). A helper's
unit that failed or was cancelled is not counted.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import threading
import time
import warnings
from pathlib import Path

from .. import store

TIMES = "time.json"  # in a run's checkpoint folder: one entry per session of its key


class SessionClock:
    """Wall and CPU seconds of the sessions of one run key, kept in ``folder/time.json``.

    Args:
        folder: the run's checkpoint folder (``checkpoints/<key>``).
        interval: seconds between the background rewrites of this session's entry (0: only
            when stopped).
    """

    def __init__(self, folder: Path, interval: float = 60.0):
        self.folder = Path(folder)
        self.interval = interval
        self.earlier = self._read()
        self.session = {"started": _dt.datetime.now().isoformat(timespec="seconds"),
                        "host": socket.gethostname(), "seconds": 0.0, "cpu_seconds": 0.0,
                        "helpers_cpu_seconds": 0.0}
        self._wall = self._cpu = 0.0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _read(self) -> list[dict]:
        """The entries of the earlier sessions; an unreadable file is moved aside with a
        warning (their time is then not counted: the run itself is unaffected)."""
        path = self.folder / TIMES
        try:
            sessions = json.loads(path.read_text())["sessions"]
            for entry in sessions:  # helpers' CPU time: absent in entries from before it
                times = [entry["seconds"], entry["cpu_seconds"],
                         entry.get("helpers_cpu_seconds", 0.0)]
                if not all(isinstance(t, (int, float)) and t >= 0 for t in times):
                    raise ValueError(f"bad entry {entry}")
            return list(sessions)
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as err:
            aside = path.with_name(f"{TIMES}.unreadable-{os.getpid()}")
            os.replace(path, aside)
            warnings.warn(f"{path} is unreadable ({type(err).__name__}: {err}); moved to "
                          f"{aside.name}: the earlier sessions' time is not counted in this "
                          "run's meta.json (the run resumes as usual)", stacklevel=3)
            return []

    def start(self) -> "SessionClock":
        """Start timing this session and write its entry (then every ``interval`` seconds)."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._write()
        if self.interval > 0:
            self._thread = threading.Thread(target=self._beat, name="hpostudy-session-clock",
                                            daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stopped.wait(self.interval):
            self._write()

    def _write(self) -> None:
        with self._lock:
            self.session["seconds"] = round(time.perf_counter() - self._wall, 2)
            self.session["cpu_seconds"] = round(time.process_time() - self._cpu, 2)
            try:
                store.write_json({"sessions": self.earlier + [self.session]}, self.folder,
                                 TIMES.removesuffix(".json"))
            except (OSError, store.StoreError) as err:  # a full disk: still summed in memory
                warnings.warn(f"could not write {self.folder / TIMES}: {err}", stacklevel=2)

    def add_elsewhere(self, cpu_seconds: float) -> None:
        """Count ``cpu_seconds`` of a unit computed in another process (a Ray helper) as this
        session's; written with the entry's next rewrite."""
        with self._lock:
            self.session["helpers_cpu_seconds"] = round(
                self.session["helpers_cpu_seconds"] + float(cpu_seconds), 2)

    def stop(self) -> None:
        """Stop timing this session and write its final entry."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        self._write()

    def totals(self) -> dict:
        """``seconds`` and ``cpu_seconds`` (this process's and its helpers') summed over every
        session of this key (this one as of its last write), and the number of ``sessions``."""
        sessions = self.earlier + [self.session]
        return {"seconds": round(sum(s["seconds"] for s in sessions), 2),
                "cpu_seconds": round(sum(s["cpu_seconds"] + s.get("helpers_cpu_seconds", 0.0)
                                         for s in sessions), 2),
                "sessions": len(sessions)}
