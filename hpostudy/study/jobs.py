"""One notebook's execution: a :class:`Job` run to its :class:`Outcome`.

:func:`run_job` executes a notebook with papermill into its executed ``.ipynb`` (or, for a
direct job, its code cells as one plain Python script) inside the job's environment, in
whichever process runs it: this one, a worker process, or a Ray task (:class:`RayNotebooks`,
one GPU each on ``cuda``). It never raises: a notebook that fails is an outcome that names
the cell and its error.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import store
from . import notebooks as nbs
from .executors import connect, environment, import_ray, task_resources
from .experiment_run import NOTEBOOK_SCRIPT


@dataclass
class Outcome:
    """How one notebook's execution ended, and where it left its notebook and results."""

    name: str
    status: str  # "ran", "skipped (unchanged)", "failed"
    seconds: float
    executed: Path | None
    results: Path
    error: str = ""
    note: str = ""  # why a notebook ran again although its inputs are unchanged


@dataclass
class Job:
    """One notebook to execute: its source, the parameters injected, where it writes, its
    threads and environment, and whether it runs as a plain script (``direct``)."""

    name: str
    source: Path
    parameters: dict
    executed: Path
    results: Path
    cwd: Path
    threads: int
    direct: bool
    environment: dict  # variables set for the notebook (executor, cluster, search storage)
    settings: dict | None = None  # the settings its run must record (None: no Config)
    scratch: Path | None = None  # where its input notebook and script go (default: the build)

    @property
    def work(self) -> Path:
        """The folder the job works in: ``scratch``, else two levels above its results."""
        return self.scratch or self.results.parent.parent


def run_job(job: Job) -> Outcome:
    """Run one notebook (in a worker process or a Ray task) with its environment, restored
    afterwards (a worker runs other notebooks next, maybe without a search storage); never
    raises."""
    variables = {**job.environment, "OMP_NUM_THREADS": str(job.threads),
                 "HPOSTUDY_THREADS": str(job.threads),
                 "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "5")}  # redraw seldom
    with environment(variables):
        return _execute_in(job)


def _execute_in(job: Job) -> Outcome:
    """:func:`run_job` inside the notebook's environment."""
    start = time.perf_counter()
    try:
        if job.direct:
            _execute_as_script(job)
        else:
            _execute_with_papermill(job)
    except _Failed as err:
        return Outcome(job.name, "failed", time.perf_counter() - start,
                       None if job.direct else job.executed, job.results, str(err))
    except Exception as err:  # a broken kernel, an unwritable folder ...
        return Outcome(job.name, "failed", time.perf_counter() - start, None, job.results,
                       f"{type(err).__name__}: {err}")
    return Outcome(job.name, "ran", time.perf_counter() - start,
                   None if job.direct else job.executed, job.results)


class _Failed(RuntimeError):
    pass


def _execute_with_papermill(job: Job) -> None:
    import jupytext
    import papermill

    from .kernel import kernel_options

    notebook = jupytext.read(job.source)
    notebook.metadata["kernelspec"] = dict(nbs.KERNELSPEC)
    unexecuted = job.work / "notebooks" / job.executed.name
    unexecuted.parent.mkdir(parents=True, exist_ok=True)
    job.executed.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(notebook, unexecuted)
    try:
        papermill.execute_notebook(str(unexecuted), str(job.executed), parameters=job.parameters,
                                   kernel_name="python3", progress_bar=False,
                                   cwd=str(job.cwd), log_output=False, **kernel_options())
    except papermill.PapermillExecutionError as err:
        first = (err.source or "").strip().splitlines()
        raise _Failed(f"cell {err.cell_index} ({first[0][:60] if first else ''}...) raised "
                      f"{err.ename}: {err.evalue}; partial notebook kept at {job.executed}") \
            from None


def notebook_script(source: Path, parameters: dict) -> str:
    """The notebook's code cells as one Python script, ``parameters`` assigned right after the
    ``parameters`` cell (what papermill does)."""
    import jupytext

    parts = []
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "code":
            continue
        parts.append(cell.source)
        if "parameters" in cell.metadata.get("tags", []):
            parts.append("\n".join(f"{k} = {v!r}" for k, v in parameters.items()))
    return "\n\n".join(parts) + "\n"


def _execute_as_script(job: Job) -> None:
    script = job.work / "scripts" / f"{job.name}.py"
    store.atomic_write(script, notebook_script(job.source, job.parameters))
    proc = subprocess.run([sys.executable, str(script)], cwd=job.cwd, capture_output=True,
                          text=True, env={**os.environ, NOTEBOOK_SCRIPT: "1"})
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise _Failed(f"{tail[0]} (script {script})")


class RayNotebooks:
    """The notebooks of one ``run_notebooks`` call as tasks of a Ray cluster: each asks for one
    GPU on ``cuda`` (else ``HPOSTUDY_THREADS`` CPUs) and runs :func:`run_job` on whichever node
    has it; the notebook's kernel joins the same cluster for the units of its run."""

    def __init__(self, address: str | None, injected: dict, profile: str):
        from .profiles import get_profile

        ray = import_ray()
        self.started_here = not ray.is_initialized()
        self.ray = connect(address)
        self.devices = {name: values.get("device") or get_profile(profile).default_device
                        for name, values in injected.items()}
        gpus = self.ray.cluster_resources().get("GPU", 0)
        on_gpu = sorted(n for n, d in self.devices.items() if d == "cuda")
        if on_gpu and gpus < 1:
            self.close()
            raise RuntimeError(f"the notebooks {on_gpu} run on cuda but the Ray cluster has no "
                               "GPU: start its nodes on GPU machines (ray start --num-gpus N), "
                               "or run with --device cpu")
        self.environment = {"HPOSTUDY_EXECUTOR": "ray",
                            "RAY_ADDRESS": self.ray.get_runtime_context().gcs_address}

    def run(self, todo: list):
        """Yield ``(job, stamp, outcome)`` as the notebooks finish; a task whose worker died
        (after Ray's retries) is a failed notebook like any other."""
        task = self.ray.remote(run_job)
        pending = {task.options(**task_resources(self.devices[job.name], job.threads))
                   .remote(job): (job, stamp) for job, stamp in todo}
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1)
            job, stamp = pending.pop(ready[0])
            try:
                outcome = self.ray.get(ready[0])
            except Exception as err:
                outcome = Outcome(job.name, "failed", 0.0, None, job.results,
                                  f"its Ray task failed: {type(err).__name__}: "
                                  f"{str(err).strip().splitlines()[-1][:300]}")
            yield job, stamp, outcome

    def close(self) -> None:
        """Shut Ray down if this object started it."""
        if self.started_here:
            self.ray.shutdown()
