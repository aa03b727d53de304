"""Where the units of work of a run are computed: in this process, or as tasks of a Ray cluster.

:meth:`hpostudy.study.experiment_run.Run.map` hands the units that are not cached yet to the current
executor, with a callback that stores each result as soon as it is known (a unit that fails
loses nothing the others computed). ``HPOSTUDY_EXECUTOR`` selects the executor (``hpostudy run
--executor`` sets it for the notebooks it starts):

* ``local`` (default) -- :class:`LocalExecutor`, one unit after another in this process;
* ``ray`` -- :class:`RayExecutor`, units as tasks of the Ray cluster at ``RAY_ADDRESS`` (a new
  local one if unset), each asking for one GPU on ``cuda`` and ``HPOSTUDY_THREADS`` CPUs
  (default 1) on ``cpu``. Ray is imported only here, when asked for.

Nested use, and why it cannot deadlock. ``hpostudy run --executor ray`` makes each notebook a
Ray task holding one GPU (on ``cuda``); inside it, ``Run.map`` could submit its units as
further one-GPU tasks and wait for them. On a cluster with as many GPUs as running notebooks,
those units would wait for GPUs that only the waiting notebooks could give back: a deadlock
(Ray lends a blocked task's CPUs to others, never its GPUs). So the notebook's own process is
one of the workers of its map: the units sit on a board (a small Ray actor); the notebook
takes units from it one after another and computes them itself, while helper tasks -- one per
further unit, each with its own GPU -- take units from the same board whenever the cluster has
room for them. When the board is empty the notebook waits only for units that a helper has
already started (they hold their GPUs and finish); helpers still queued are cancelled. A
cluster without a free GPU thus runs a notebook's units one after another inside it, exactly
as locally, and every free GPU speeds it up. A helper killed with its machine is retried by
Ray and takes up its own unit again (from the unit's checkpoint).

Results and checkpoints are files under the run's output folder: on a cluster it must be on
storage that every node shares (as must the data).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

# joining a cluster lives in its own module; its names stay readable here (executors.connect)
from .ray_cluster import RAY_MISSING, RAY_TIMEOUT, connect, import_ray, reachable  # noqa: F401


class LocalExecutor:
    """One unit after another, in this process."""

    name = "local"

    def map(self, function: Callable, items: Sequence, checkpoints: Sequence,
            keep: Callable[[int, object], None], device: str = "cpu",
            desc: str | None = None, total: int | None = None, done: int = 0,
            elsewhere: Callable[[float], None] | None = None) -> None:
        """Compute ``function(items[i], checkpoints[i])`` for every ``i`` and hand each result
        to ``keep(i, result)`` as soon as it is known (every unit runs in this process, so
        ``elsewhere`` is never called)."""
        with _bar(desc, total or len(items), done) as bar:
            for i, (item, checkpoint) in enumerate(zip(items, checkpoints)):
                keep(i, function(item, checkpoint))
                bar.update(1)


def _bar(desc: str | None, total: int, done: int):
    from ..progress import tqdm

    return tqdm(total=total, initial=done, desc=desc, unit="unit",
                disable=desc is None or total <= 1)


# ---------------------------------------------------------------------- Ray
def task_resources(device: str, threads: int = 1) -> dict:
    """The resources one task asks for: a GPU on ``cuda``, ``threads`` CPUs."""
    return {"num_gpus": 1 if device == "cuda" else 0, "num_cpus": threads}


def env_threads(default: int | None = None) -> int | None:
    """``HPOSTUDY_THREADS``, PyTorch threads per run, as a positive whole number (``default``
    where it is unset or empty); anything else is refused naming the variable and the fix."""
    raw = os.environ.get("HPOSTUDY_THREADS", "")
    if not raw.strip():
        return default
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"HPOSTUDY_THREADS={raw!r} is not a positive whole number of PyTorch "
                         "threads per run: set it to 1, 2, ... (HPOSTUDY_THREADS=1 when several "
                         "runs share a machine) or unset it for the machine's cores divided by "
                         "--jobs")
    return threads


def unit_threads() -> int:
    """CPU threads per unit task (``HPOSTUDY_THREADS``, default 1)."""
    return env_threads(1)


class UnitBoard:
    """The units of one ``map`` not taken yet (runs as a Ray actor). A taker names itself;
    asking again under the same name (a retried helper) returns the unit it already took."""

    def __init__(self, count: int):
        self.left = list(range(count))
        self.taken: dict[str, int] = {}

    def take(self, taker: str) -> int | None:
        """The unit of ``taker``: the one it took before, else the next one left.

        Args:
            taker: the name of the worker asking.

        Returns:
            int | None: the unit's index, or None when none is left.
        """
        if taker not in self.taken:
            if not self.left:
                return None
            self.taken[taker] = self.left.pop(0)
        return self.taken[taker]

    def takers(self) -> list[str]:
        """The names of the workers that took a unit.

        Returns:
            list[str]: in the order they took them.
        """
        return list(self.taken)

    def close(self) -> None:
        """Leave no unit to take (after a failure): no helper starts another."""
        self.left = []


FORWARDED = ("HPOSTUDY_SEARCH_STORAGE",)  # settings of the run that its helper tasks must see


def forwarded_environment() -> dict:
    """The variables of :data:`FORWARDED` set in this process (``hpostudy run --storage`` sets
    the search storage in the notebook's): a helper task on another worker process or machine
    gets them explicitly, so that its searches use the same storage as the notebook's."""
    return {k: os.environ[k] for k in FORWARDED if k in os.environ}


class environment:
    """Set ``variables`` in ``os.environ`` for the duration of a ``with`` block, then restore
    what was there (a Ray worker process serves tasks of other runs afterwards)."""

    def __init__(self, variables: dict):
        self.variables = variables
        self.saved: dict = {}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.variables}
        os.environ.update(self.variables)
        return self

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _helper(function: Callable, items: Sequence, checkpoints: Sequence, board, name: str,
            device: str, threads: int, variables: dict):
    """A helper task: take one unit from ``board`` and compute it as the notebook would, with
    the notebook's ``variables`` (:func:`forwarded_environment`). Returns ``(index, result,
    cpu_seconds)``, the last the process CPU time the unit took here, or ``None`` when the
    board was empty."""
    import time

    import ray
    import torch

    from .profiles import deterministic

    index = ray.get(board.take.remote(name))
    if index is None:
        return None
    deterministic(device)
    torch.set_num_threads(threads)
    cpu = time.process_time()
    with environment(variables):
        result = function(items[index], checkpoints[index])
    return index, result, time.process_time() - cpu


class RayExecutor:
    """Units as Ray tasks, the calling process one of the workers (see the module's text)."""

    name = "ray"

    def map(self, function: Callable, items: Sequence, checkpoints: Sequence,
            keep: Callable[[int, object], None], device: str = "cpu",
            desc: str | None = None, total: int | None = None, done: int = 0,
            elsewhere: Callable[[float], None] | None = None) -> None:
        """Compute ``function(item, checkpoint)`` for every item as Ray tasks, this process working
        too, and hand each result to ``keep`` as it arrives; after a failure no new unit starts,
        the units under way finish and the first error is raised.

        Args:
            function: the unit of work.
            items: the units' inputs.
            checkpoints: one checkpoint per item.
            keep: called with ``(index, result)`` for every finished unit.
            device: ``cpu`` or ``cuda``, the resources each task asks for.
            desc: the progress bar's label.
            total: the progress bar's total (default: the number of items).
            done: units already done before this call (the bar's start).
            elsewhere: called with the process CPU seconds of every unit a helper finished
                (the session clock adds them to the run's CPU time).
        """
        if not items:
            return
        ray = connect()
        board = ray.remote(num_cpus=0)(UnitBoard).remote(len(items))
        shipped = ray.put(list(items)), ray.put(list(checkpoints))
        helper = ray.remote(_helper).options(**task_resources(device, unit_threads()))
        variables = forwarded_environment()
        helpers = {f"helper-{h}": helper.remote(function, *shipped, board, f"helper-{h}", device,
                                                unit_threads(), variables)
                   for h in range(1, len(items))}
        failure = None
        with _bar(desc, total or len(items), done) as bar:
            taken = 0
            while failure is None and (
                    index := ray.get(board.take.remote(f"self-{taken}"))) is not None:
                taken += 1
                try:
                    keep(index, function(items[index], checkpoints[index]))
                    bar.update(1)
                except Exception as err:  # the helpers at work finish first
                    failure = err
                failure = self._collect(ray, helpers, keep, elsewhere, bar,
                                        timeout=0) or failure
            ray.get(board.close.remote())  # after a failure: no helper starts another unit
            busy = set(ray.get(board.takers.remote()))
            for name in [n for n in helpers if n not in busy]:
                ray.cancel(helpers.pop(name))
            failure = self._collect(ray, helpers, keep, elsewhere, bar,
                                    timeout=None) or failure
        if failure is not None:
            raise failure

    @staticmethod
    def _collect(ray, helpers: dict, keep, elsewhere, bar, timeout) -> BaseException | None:
        """Store the results of finished helpers (all of them with ``timeout=None``) and report
        their CPU seconds to ``elsewhere``; returns the first error of a failed one, after the
        others finished."""
        failure = None
        while helpers:
            ready, _ = ray.wait(list(helpers.values()), num_returns=1, timeout=timeout)
            if not ready:
                break
            name = next(n for n, ref in helpers.items() if ref == ready[0])
            del helpers[name]
            try:
                outcome = ray.get(ready[0])
            except Exception as err:  # the unit raised, or its worker died beyond retries
                failure = failure or getattr(err, "cause", None) or err
                continue
            if outcome is not None:
                index, result, cpu_seconds = outcome
                keep(index, result)
                if elsewhere is not None:
                    elsewhere(cpu_seconds)
                bar.update(1)
        return failure


EXECUTORS: dict[str, Callable[[], object]] = {"local": LocalExecutor, "ray": RayExecutor}


def current_executor():
    """The executor named by ``HPOSTUDY_EXECUTOR`` (default ``local``)."""
    name = os.environ.get("HPOSTUDY_EXECUTOR", "local")
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor '{name}' (HPOSTUDY_EXECUTOR): choose one of "
                         f"{', '.join(EXECUTORS)}")
    return EXECUTORS[name]()
