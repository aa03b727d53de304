"""Preparing and carrying out one run of an experiment.

:func:`prepare` is the explicit step between a configuration (which has no side effects) and
the work: it checks the device and the datasets, switches on deterministic kernels, creates the
output folder and marks it as being written (a second run into the same folder is refused,
naming the first). The returned :class:`Run` is a context manager::

    with prepare(cfg) as run:
        results = run.map(one_seed, [(cfg, s) for s in cfg.seed_list], desc="seeds")
        run.save_tables(metaruns=df, comparison=table)

Inside, every *unit of work* (a seed, a horizon, a meta-run ...) is cached by :meth:`Run.map`
under the run's key -- the full settings and the digest of the code the experiment depends on,
its module and what it imports (:func:`hpostudy.store.settings_key`,
:func:`hpostudy.store.experiment_digest`) -- and may checkpoint its own progress through the
:class:`~hpostudy.store.Checkpoint` it is given. A rerun with the same settings and code
resumes (finished units load, a unit in progress continues from its checkpoint); another seed,
setting or code of the experiment starts afresh beside it. Units run one after another here, or
as tasks of another executor (``HPOSTUDY_EXECUTOR``, set by ``hpostudy run --executor``).

On success the run writes ``meta.json`` (status, key, settings, wall and CPU seconds summed over
every session that worked on its key, device, threads, torch version) and releases the folder;
on failure the folder stays marked incomplete with the reason, so it is never taken for a
finished result.
"""
from __future__ import annotations

import datetime as _dt
import platform
from pathlib import Path
from typing import Callable, Sequence

from .. import store
from .config import ExperimentConfig
from .executors import env_threads
from .profiles import check_device, deterministic
from .session_time import SessionClock


class ResultsOfAnotherProfile(store.StoreError):
    """The output folder already holds results of another profile."""


def _device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    return f"CPU ({platform.machine()}, {threads} thread{'s' if threads != 1 else ''})"


class Run:
    """One run of an experiment in its output folder (use :func:`prepare` to make one)."""

    def __init__(self, cfg: ExperimentConfig, extra: dict | None = None):
        self.cfg = cfg
        self.folder = Path(cfg.output_dir).resolve()  # absolute: units may run elsewhere
        # the code of the experiment's own module and what it imports (store.dependency_digest)
        self.code = store.experiment_digest(type(cfg).__module__)
        self.settings = {**cfg.settings(), **(extra or {})}  # with the code: what the key is of
        self.key = store.settings_key(self.settings, self.code)
        self.checkpoints = self.folder / "checkpoints" / self.key
        self.marker = store.RunMarker(self.folder)
        self.written: dict[str, str] = {}  # file name -> SHA-256, listed in meta.json
        self.clock: SessionClock | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Run":
        meta = self.folder / "meta.json"
        if meta.exists():
            import json

            try:
                other = json.loads(meta.read_text()).get("settings", {}).get("profile")
            except ValueError:
                other = None
            if other and other != self.cfg.profile:
                raise ResultsOfAnotherProfile(
                    f"{self.folder} holds results of profile '{other}', this run is profile "
                    f"'{self.cfg.profile}': give it its own folder (-p output_dir=..., or leave "
                    "output_dir unset for build/<profile>/results/<name>)")
        self.marker.acquire(profile=self.cfg.profile, key=self.key,
                            experiment=self.cfg.name())
        meta.unlink(missing_ok=True)  # the folder is incomplete until this run finishes
        store.write_json({"key": self.key, "experiment": self.cfg.name(),  # for record --partial
                          "module": type(self.cfg).__module__, "code": self.code,
                          "settings": self.settings}, self.checkpoints, "key")
        store.open_run(self.folder, self.written)  # every file written is listed with its digest
        self.clock = SessionClock(self.checkpoints).start()  # summed over resumed sessions
        return self

    def __exit__(self, kind, error, tb) -> bool:
        store.close_run(self.folder)
        self.clock.stop()
        if error is not None:  # Ctrl-C: interrupted, resumed by running again
            self.marker.fail(f"{kind.__name__}: {error}", status="interrupted" if issubclass(
                kind, KeyboardInterrupt) else "failed")
            return False
        try:
            store.write_meta(self.metadata(), self.folder)
        except BaseException as err:  # a full disk: the folder stays incomplete
            self.marker.fail(f"writing meta.json: {type(err).__name__}: {err}")
            raise
        if _watch_notebook():  # complete once the notebook's last cell is done
            _failure.clear()  # only errors after this run count
            store.keep_drawing(self.folder, self.marker)
        else:
            self.marker.release()
        return False

    def metadata(self) -> dict:
        """The run's ``meta.json`` record: status, experiment, key, code digest, settings, wall and
        CPU seconds summed over the sessions that worked on this key (a resumed run has
        several; :class:`~hpostudy.study.session_time.SessionClock`) and their number, device,
        threads, versions, finish time and the files written.

        Returns:
            dict: the record.
        """
        import torch

        return {"status": "complete", "experiment": self.cfg.name(), "key": self.key,
                "code": self.code[:16], "settings": self.cfg.settings(),
                **self.clock.totals(),
                "device": _device_name(self.cfg.device), "threads": torch.get_num_threads(),
                "torch": torch.__version__, "python": platform.python_version(),
                "finished": _dt.datetime.now().isoformat(timespec="seconds"),
                "files": dict(sorted(self.written.items()))}

    # ------------------------------------------------------------------ work
    def checkpoint(self, unit: str) -> store.Checkpoint:
        """The checkpoint of one unit of work of this run (under this run's key)."""
        return store.Checkpoint(self.checkpoints / f"{unit}.pt")

    def map(self, function: Callable, items: Sequence, desc: str | None = None,
            names: Sequence[str] | None = None) -> list:
        """``[function(item, checkpoint) for item in items]``, each result cached.

        ``function`` must be a module-level function (so that other executors can ship it)
        taking one item and the :class:`~hpostudy.store.Checkpoint` where it may save partial
        progress; its result (anything ``torch.save`` can store) is kept under the run's key
        and loaded instead of recomputed on a rerun -- stored as soon as the unit finishes, so
        units that finished before another failed are kept. ``names`` label the units (default
        ``<function>-<index>``). The executor (``HPOSTUDY_EXECUTOR``) may compute units in
        other processes or on other machines of a cluster, in any order.
        """
        from .executors import current_executor

        names = list(names) if names is not None else [
            f"{function.__name__}-{i}" for i in range(len(items))]
        if len(names) != len(items) or len(set(names)) != len(names):
            raise ValueError("map needs one distinct name per item")
        results: dict[int, object] = {}
        todo = []
        for i, name in enumerate(names):
            done = self.checkpoint(f"{name}.result")
            saved = done.load()
            if saved is not None:
                results[i] = saved["result"]
            else:
                todo.append(i)

        def keep(j: int, result) -> None:  # a unit finished: cache it at once
            i = todo[j]
            self.checkpoint(f"{names[i]}.result").save({"result": result})
            self.checkpoint(names[i]).clear()
            results[i] = result

        current_executor().map(function, [items[i] for i in todo],
                               [self.checkpoint(names[i]) for i in todo], keep,
                               device=self.cfg.device, desc=desc, total=len(items),
                               done=len(items) - len(todo),
                               elsewhere=self.clock.add_elsewhere if self.clock else None)
        return [results[i] for i in range(len(items))]

    # ------------------------------------------------------------------ outputs
    def save_tables(self, **tables) -> None:
        """Write each DataFrame as ``<name>.csv`` in the output folder, atomically, listed with
        its digest in ``meta.json``."""
        for name, df in tables.items():
            store.publish(self.folder, f"{name}.csv", df.to_csv(index=False).encode())


NOTEBOOK_SCRIPT = "HPOSTUDY_NOTEBOOK_SCRIPT"  # set by hpostudy run for a notebook run as a script
_failure: list[str] = []  # the first error of a cell (or of the script) after a run ended
_watching: list[bool] = []


def _watch_notebook() -> bool:
    """Whether this process is a notebook's (a Jupyter kernel, or a notebook run as a script by
    ``hpostudy run --no-notebook``); if so, watch it once: a cell that raises after a run ended
    is remembered, and when the process ends the folders of its runs are complete only if none
    did (:func:`hpostudy.store.end_drawing`). A notebook killed before its end leaves them
    incomplete: its figures, drawn after the run, would be missing."""
    import atexit
    import os
    import sys

    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    kernel = shell is not None and getattr(shell, "kernel", None) is not None
    if not kernel and not os.environ.get(NOTEBOOK_SCRIPT):
        return False
    if not _watching:
        _watching.append(True)
        if kernel:
            def after_cell(result) -> None:
                error = result.error_before_exec or result.error_in_exec
                if error is not None and store.drawing_folders() and not _failure:
                    _failure.append(f"a cell after the run raised {type(error).__name__}: "
                                    f"{error}"[:300])
            shell.events.register("post_run_cell", after_cell)
        else:
            earlier = sys.excepthook

            def on_error(kind, error, tb) -> None:
                if store.drawing_folders() and not _failure:
                    _failure.append(f"the notebook raised {kind.__name__} after the run: "
                                    f"{error}"[:300])
                earlier(kind, error, tb)
            sys.excepthook = on_error

        def at_end() -> None:
            for folder in store.drawing_folders():
                store.end_drawing(folder, _failure[0] if _failure else None)
        atexit.register(at_end)
    return True


def prepare(cfg: ExperimentConfig, extra: dict | None = None) -> Run:
    """Check the device and datasets, switch on deterministic kernels and return the
    :class:`Run` of ``cfg`` (enter it with ``with``). Nothing is written before ``with``.

    ``extra`` adds to the run's key what the configuration does not hold (e.g. the fingerprint
    of a model passed as a Python object rather than by name)."""
    from .. import data

    check_device(cfg.device)
    for name in cfg.datasets():
        data.require(name)
    deterministic(cfg.device)
    threads = env_threads()
    if threads:
        import torch

        torch.set_num_threads(threads)
    return Run(cfg, extra)
