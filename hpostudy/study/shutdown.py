"""Stopping ``hpostudy run`` cleanly on SIGTERM or Ctrl-C (SIGINT).

The processes of a run are not all in the command's process group: papermill's kernels start
in sessions of their own (jupyter_client does so to interrupt them), as children of the worker
processes of the pool or of the command itself, and a notebook run as a script is a child of
either. So a signal to the command, or Ctrl-C to the terminal's group, used to leave kernels
and workers running as orphans that kept their folders locked.

:func:`install` (called by ``hpostudy run``) makes SIGINT and SIGTERM end the command this
way, whatever it is doing:

1. every process descending from it -- workers, kernels, scripts and what they started, in any
   process group or session -- is frozen (SIGSTOP, again until no new one appears, so none can
   start another meanwhile), then killed (SIGKILL) and waited for; nothing is lost by that:
   every result and checkpoint is written atomically, as the kill drills check;
2. the folder of every notebook that had started and not finished keeps its run marker, now
   with status ``interrupted`` and no live process: it reads incomplete, is not locked, and the
   same command resumes it from its last checkpoint;
3. one line on stderr says what was stopped and the command that resumes, and the command exits
   with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), without a traceback.

Forked workers inherit the handler; in them it does nothing on SIGINT (a terminal's Ctrl-C
reaches the whole group: the command stops them) and lets SIGTERM kill them as by default.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .. import store

SIGNALS = (signal.SIGINT, signal.SIGTERM)
IN_FLIGHT: dict[str, Path] = {}  # notebook name -> results folder: handed out, not settled


@contextlib.contextmanager
def stopping(command: str):
    """Within the block, SIGINT and SIGTERM stop this process and all it started (see the
    module's text); ``command`` is the command line that resumes the run, quoted in the
    message. The earlier handlers are restored after the block (a caller such as a test process
    keeps its own); outside the main thread nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    earlier = {s: signal.getsignal(s) for s in SIGNALS}
    install(command)
    try:
        yield
    finally:
        for s, handler in earlier.items():
            signal.signal(s, handler)
        IN_FLIGHT.clear()


def install(command: str) -> None:
    """Make SIGINT and SIGTERM stop this process and all it started (see the module's text)."""
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:  # a forked worker: the command stops it
            if signum == signal.SIGTERM:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C does not cut the clean-up short
        try:
            message = stop(signum, command)
        except BaseException as err:  # never a traceback: say what could not be done
            message = (f"hpostudy run stopped by {signal.Signals(signum).name}, but the "
                       f"clean-up failed ({type(err).__name__}: {err}); check for leftover "
                       f"processes, then run `{command}` again to resume")
        try:
            sys.stdout.flush()
        except Exception:
            pass
        erase = "\r\x1b[K" if sys.stderr.isatty() else ""  # over a progress bar's line
        print(erase + message, file=sys.stderr, flush=True)
        os._exit(128 + signum)

    for s in SIGNALS:
        signal.signal(s, handler)


def descendants_stopped() -> list:
    """Freeze every process descending from this one (SIGSTOP), looking again until no new one
    appears; returns them (``psutil.Process``)."""
    import psutil

    me = psutil.Process()
    frozen: dict[int, psutil.Process] = {}
    for _ in range(50):
        new = [p for p in me.children(recursive=True) if p.pid not in frozen]
        if not new:
            break
        for p in new:
            try:
                p.suspend()
                frozen[p.pid] = p
            except psutil.NoSuchProcess:
                pass
    return list(frozen.values())


def running(process) -> bool:
    """Whether ``process`` still runs (a zombie, dead but not yet waited for, does not)."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_descendants(timeout: float = 10.0) -> list[int]:
    """Kill every process descending from this one and wait (at most ``timeout`` seconds) until
    none runs; returns their process ids."""
    import psutil

    reaper = _adopt_orphans()  # the killed ones' children come to this process to be waited for
    processes = descendants_stopped()
    for p in processes:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap()
        if not any(running(p) for p in processes) and (not reaper or not _reap()):
            break
        time.sleep(0.05)
    return [p.pid for p in processes]


def _adopt_orphans() -> bool:
    """Make this process the Linux "child subreaper" of its descendants: one whose parent dies
    becomes its child, so that it can be waited for here rather than stay a zombie (a
    container's first process may never wait for it). False where that is not possible."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap() -> bool:
    """Wait for every child of this process that has ended; whether any child is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def stop(signum: int, command: str) -> str:
    """Kill this process' descendants, mark the folders of the notebooks in flight interrupted,
    and return the one-line message."""
    name = signal.Signals(signum).name
    killed = kill_descendants()
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    interrupted, waiting = [], []
    for notebook, folder in sorted(IN_FLIGHT.items()):
        marker = store.RunMarker(folder)
        record = marker.read()
        if record is None:  # not started yet (or between its run and its figures)
            waiting.append(notebook)
            continue
        if record.get("status") in ("running", "interrupted", store.DRAWING) and (
                int(record.get("pid", -1)) in killed or not store.marker_alive(record,
                                                                                 marker.path)):
            marker.fail(f"stopped by {name} at {when}; `{command}` resumes it from its last "
                        "checkpoint", status="interrupted")
        interrupted.append(notebook)
    stopped = (f"interrupted {', '.join(interrupted)} (left incomplete, not locked)"
               if interrupted else "no notebook had started")
    if waiting:
        stopped += f"; not finished: {', '.join(waiting)}"
    return (f"hpostudy run stopped by {name}: {stopped}; {len(killed)} process(es) ended. "
            f"Run `{command}` again to resume from the last checkpoint.")
