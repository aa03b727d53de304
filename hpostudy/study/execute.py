"""``hpostudy run``: validate, then execute the selected notebooks (or skip them).

For each notebook (jupytext percent ``.py``): the parameters ``profile``, ``device``,
``output_dir`` and the ``-p`` overrides are injected after its ``parameters`` cell, and it is
executed into ``build/<profile>/executed/<name>.ipynb``; its tables, figures and ``meta.json``
land in ``build/<profile>/results/<name>/`` (each profile its own folder). Every configuration
is validated before the first notebook starts. Notebooks run in parallel worker processes (one
per core by default, each kernel with its share of the threads), or with ``executor="ray"`` as
tasks of a Ray cluster (one GPU each on ``cuda``; the units of their runs become Ray tasks too,
see :mod:`hpostudy.study.executors`); a notebook that fails is reported by name and cell while
the others still run.

A notebook is skipped when its last execution finished with the same inputs and all it wrote
is intact (:mod:`.stamps`); each one run is a :class:`~hpostudy.study.jobs.Job`
(:mod:`.jobs`).
"""
from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .. import store
from ..importing import importable_from, resolve, shadowing
from . import notebooks as nbs, partial, shutdown
from .executors import env_threads, unit_threads
from .jobs import Job, Outcome, RayNotebooks, run_job
from .project import root_or_cwd
from .stamps import STAMP, inputs_digest, rerun_reason, stamp_record

COMMON = ("profile", "device", "output_dir")  # parameters every study notebook has


def preflight(notebooks: list[nbs.Notebook], profile: str, device: str | None,
              params: dict, local: bool = True, configs: dict | None = None) -> dict:
    """Check every selected notebook's parameters now; returns name -> parameters to inject.
    ``local=False`` (notebooks run on a cluster): the GPU is checked there, not here. Each
    notebook's configuration -- its cell's own values, then ``params`` -- is validated here
    once and, given ``configs``, kept there by name for the rest of the run (its settings, a
    partial recording's key); the kernel validates it again only because bare papermill
    has no other check."""
    from .profiles import get_profile

    get_profile(profile)
    injected = {}
    for nb in notebooks:
        missing = [k for k in COMMON if k not in nb.parameters]
        if missing:
            raise nbs.NotebookError(f"{nb.path.name}: its parameters cell lacks {missing}; "
                                    "every notebook run by hpostudy declares profile, device "
                                    "and output_dir (see the README, 'Adapting a notebook')")
        hidden = sorted(set(params) - set(nb.parameters))
        if hidden:
            raise nbs.NotebookError(
                f"parameter(s) {hidden} are not in the parameters cell of notebook '{nb.name}' "
                f"(its parameters: {sorted(k for k in nb.parameters if k != 'profile')}); "
                "select notebooks with --only, or add the knob to that cell")
        shadow = shadowing([root_or_cwd(), nb.path.parent])
        if shadow:
            raise nbs.NotebookError(f"{nb.path.name}: {shadow}")
        config = nb.config
        if config is not None:
            from .. import data
            from .profiles import check_device

            cfg = config.for_profile(profile, device=device, **{**_cell_values(nb), **params})
            if configs is not None:
                configs[nb.name] = cfg
            if local:
                check_device(cfg.device)
            for dataset in cfg.datasets():
                data.require(dataset)
            with importable_from(nb.path.parent):  # the user's code, as the kernel will see it
                for knob in getattr(config, "IMPORTABLE", ()):
                    spec = getattr(cfg, knob)
                    if isinstance(spec, str) and ":" in spec:
                        resolve(spec, knob)
        values = {"profile": profile, **params}
        if device is not None:
            values["device"] = device
        injected[nb.name] = {k: list(v) if isinstance(v, tuple) else v
                             for k, v in values.items()}
    return injected


def _python_path(folder: Path) -> str:
    """``PYTHONPATH`` for a notebook's kernel: its own folder first (a package of the user's
    beside the notebook imports without any set-up), then what was already there."""
    return os.pathsep.join([str(folder.resolve())]
                           + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def run_notebooks(selection: list[str] | None = None, profile: str = "smoke",
                  device: str | None = None, params: dict | None = None,
                  build: Path | None = None, force: bool = False, jobs: int | None = None,
                  progress: bool = True, direct: bool = False, executor: str = "local",
                  address: str | None = None, storage: str | None = None) -> list[Outcome]:
    """Validate, then execute the notebooks of ``selection`` (names or paths; default: all of
    ``notebooks/``) on ``profile``, ``jobs`` at a time (default: one per core), or with
    ``executor="ray"`` as tasks of the Ray cluster at ``address`` (default: a local one).
    ``storage`` is an Optuna storage URL shared by the black-box searches of the notebooks
    (:data:`hpostudy.metaopt.SEARCH_STORAGE`)."""
    from tqdm.auto import tqdm

    if executor not in ("local", "ray"):
        raise ValueError(f"unknown executor '{executor}': choose local or ray")
    root = root_or_cwd()
    notebooks = nbs.resolve(selection, root)
    params = dict(params or {})
    if params.get("output_dir") is not None and len(notebooks) > 1:
        raise ValueError(f"-p output_dir={params['output_dir']} names one folder for "
                         f"{len(notebooks)} notebooks, whose results would overwrite each "
                         "other: run one notebook with it (or leave output_dir unset for "
                         "build/<profile>/results/<name>)")
    configs: dict = {}
    injected = preflight(notebooks, profile, device, params, local=executor == "local",
                         configs=configs)
    environment = {}
    if storage:
        from ..metaopt import SEARCH_STORAGE, check_search_storage

        check_search_storage(storage)
        environment[SEARCH_STORAGE] = storage
    build = Path(build or root / "build").resolve() / profile
    if executor == "ray":
        cluster = RayNotebooks(address, injected, profile)
        environment.update(cluster.environment)
        jobs = len(notebooks)
        threads = unit_threads()
    else:
        cores = os.cpu_count() or 1
        jobs = max(1, min(jobs or cores, len(notebooks)))
        threads = env_threads(max(1, cores // jobs))
    outcomes: dict[str, Outcome] = {}
    notes: dict[str, str] = {}
    todo = []
    for nb in notebooks:
        results, executed, scratch = _placement(nb, build, root, params.get("output_dir"))
        job = Job(nb.name, nb.path.resolve(), {**injected[nb.name], "output_dir": str(results)},
                  executed, results, root, threads, direct,
                  {**environment, "PYTHONPATH": _python_path(nb.path.parent)},
                  _settings(configs.get(nb.name)), scratch)
        stamp = results / STAMP
        current = inputs_digest(job)
        reason = rerun_reason(job, current)
        if reason is None and not force:
            outcomes[nb.name] = Outcome(nb.name, "skipped (unchanged)", 0.0,
                                        None if direct else job.executed, results)
            continue
        if reason not in (None, "no finished execution",
                          "its source, parameters or the library changed"):
            notes[nb.name] = f"ran again: {reason}"
        stamp.unlink(missing_ok=True)  # written again only when this run succeeds
        state = store.folder_state(results)
        if state == "running":
            marker = store.RunMarker(results).read()
            outcomes[nb.name] = Outcome(
                nb.name, "failed", 0.0, None, results,
                f"{results} is being written by process {marker['pid']} on {marker['host']} "
                f"(started {marker['started']}); wait for it or stop it, then run again")
            continue
        if state == "incomplete":
            store.RunMarker(results).release()  # left by a killed or failed run
        picked = partial.pick_up(root / "book" / "recorded" / profile / nb.name, results,
                                 configs.get(nb.name))
        if picked:
            print(f"{nb.name}: {picked}", file=sys.stderr)
        todo.append((job, current))
    where = "on Ray" if executor == "ray" else f"{jobs} at a time"
    bar = tqdm(total=len(todo), desc=f"notebooks ({profile}, {where})", unit="nb",
               disable=not progress or not todo)
    shutdown.IN_FLIGHT.update({job.name: job.results for job, _ in todo})  # what a signal stops
    if executor == "ray":
        for job, stamp, outcome in cluster.run(todo):
            _settle(job, stamp, outcome, outcomes, bar, notes)
        cluster.close()
    elif jobs == 1:
        finished_jobs = ((job, stamp, run_job(job)) for job, stamp in todo)
        for job, stamp, outcome in finished_jobs:
            _settle(job, stamp, outcome, outcomes, bar, notes)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_job, job): (job, stamp) for job, stamp in todo}
            for future in as_completed(futures):
                job, stamp = futures[future]
                _settle(job, stamp, future.result(), outcomes, bar, notes)
    bar.close()
    return [outcomes[nb.name] for nb in notebooks]


def _placement(nb: nbs.Notebook, build: Path, root: Path,
               output_dir: str | None) -> tuple[Path, Path, Path | None]:
    """``(results folder, executed notebook, scratch folder)`` of ``nb``:
    ``build/results/<name>``, ``build/executed/<name>.ipynb`` and the build itself, or with
    ``-p output_dir=DIR`` (relative to the project) the folder ``DIR``, ``DIR/<name>.ipynb``
    and ``DIR/.hpostudy``: nothing is written outside ``DIR``."""
    if output_dir is None:
        return build / "results" / nb.name, build / "executed" / f"{nb.name}.ipynb", None
    results = (root / Path(output_dir).expanduser()).resolve()
    return results, results / f"{nb.name}.ipynb", results / ".hpostudy"


def _cell_values(nb: nbs.Notebook) -> dict:
    """The values a notebook's parameters cell gives its knobs (a copy's own defaults; None,
    the profile's value, left out), less those the run itself sets."""
    return {k: value for k, (value, _) in nb.parameters.items()
            if value is not None and k not in ("profile", "device", "output_dir")}


def _settings(cfg) -> dict | None:
    """The settings a run of the configuration ``cfg`` (validated by :func:`preflight`)
    records in its ``meta.json``, as JSON reads them back; None without a configuration."""
    if cfg is None:
        return None
    return json.loads(json.dumps(cfg.settings(), default=str))


def _settle(job: Job, stamp: str, outcome: Outcome, outcomes: dict, bar, notes: dict) -> None:
    """Record a finished notebook: its stamp if it ran and left a complete folder (else it
    failed, saying why)."""
    if outcome.status == "ran":
        store.notebook_ended(job.results)
        state = store.folder_state(job.results)
        if state not in ("complete", "empty"):
            problem = store.incomplete_reason(job.results)
            outcome = Outcome(job.name, "failed", outcome.seconds, outcome.executed,
                              job.results, f"the notebook ended but its results folder "
                                           f"{job.results} is not complete: {problem}")
        else:
            store.atomic_write(job.results / STAMP, stamp_record(job, stamp))
    outcome.note = notes.get(job.name, "")
    outcomes[job.name] = outcome
    shutdown.IN_FLIGHT.pop(job.name, None)
    bar.set_postfix_str(f"{job.name}: {outcome.status}")
    bar.update(1)
