"""Execute notebooks with papermill (or as plain scripts) and assemble the book.

For each notebook (jupytext percent ``.py``): the parameters ``profile``, ``device``,
``output_dir`` and the ``-p`` overrides are injected after its ``parameters`` cell, and it is
executed into ``build/<profile>/executed/<name>.ipynb``; its tables, figures and ``meta.json``
land in ``build/<profile>/results/<name>/`` (each profile its own folder). Every configuration
is validated before the first notebook starts. Notebooks run in parallel worker processes (one
per core by default, each kernel with its share of the threads), or with ``executor="ray"`` as
tasks of a Ray cluster (one GPU each on ``cuda``; the units of their runs become Ray tasks too,
see :mod:`hpostudy.study.executors`); a notebook that fails is reported by name and cell while
the others still run.

A notebook is skipped only when its source, parameters and the library are unchanged *and* its
last execution finished *and* what it wrote is still there: the stamp of a run is removed before
the run starts and written only after it succeeded, with the digests of the run's ``meta.json``
and executed notebook. A failed or killed run, a file of the run missing or changed (each file
``meta.json`` lists is checked against its digest), a truncated executed notebook, or a folder
rewritten since by another run (bare papermill with other settings) is executed again, and the
run says why.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .. import store
from ..importing import importable_from, resolve, shadowing
from . import notebooks as nbs, partial, provenance, shutdown, verdict_page
from .executors import (connect, env_threads, environment, import_ray, task_resources,
                        unit_threads)

COMMON = ("profile", "device", "output_dir")  # parameters every study notebook has
NOTEBOOK_SCRIPT = "HPOSTUDY_NOTEBOOK_SCRIPT"  # a notebook run as a script (study.run watches it)
STAMP = ".stamp"


@dataclass
class Outcome:
    name: str
    status: str  # "ran", "skipped (unchanged)", "failed"
    seconds: float
    executed: Path | None
    results: Path
    error: str = ""
    note: str = ""  # why a notebook ran again although its inputs are unchanged


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``notebooks/`` and ``_config.yml`` (the current one or a parent)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "_config.yml").exists():
            return folder
    raise FileNotFoundError(f"no hpostudy project (notebooks/ and _config.yml) in {here} or its "
                            "parents; run hpostudy from the repository's folder")


def _root_or_cwd() -> Path:
    try:
        return project_root()
    except FileNotFoundError:
        return Path.cwd()


# ---------------------------------------------------------------------- validation
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
        shadow = shadowing([_root_or_cwd(), nb.path.parent])
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


def library_digest() -> str:
    """Digest of all library sources (presentation included): part of every notebook stamp.

    Wider than the key of results on purpose: a notebook's figures, tables and verdicts come
    from presentation code too, so any library edit executes it again -- cheaply, since its
    units load from the cache, whose key (:func:`hpostudy.store.experiment_digest`) such an
    edit leaves unchanged."""
    return store.code_digest(include_presentation=True)


# ---------------------------------------------------------------------- execution
@dataclass
class Job:
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
        return self.scratch or self.results.parent.parent


def _stamp(job: Job) -> str:
    """Digest of what a notebook's execution depends on: source, parameters, library, mode."""
    return hashlib.sha256((job.source.read_text() + json.dumps(job.parameters, sort_keys=True)
                           + library_digest() + str(job.direct)).encode()).hexdigest()


def _stamp_record(job: Job, inputs: str) -> str:
    """The stamp of a finished execution: its inputs (:func:`_stamp`) and the digests of the
    ``meta.json`` and executed notebook it left (None where there is none)."""
    return json.dumps({"inputs": inputs,
                       "meta": store.file_digest(job.results / "meta.json"),
                       "executed": None if job.direct else store.file_digest(job.executed)})


def rerun_reason(job: Job, inputs: str) -> str | None:
    """Why ``job`` must run (None: its last execution finished with these inputs and all it
    wrote is intact, so it is skipped)."""
    try:
        stamp = json.loads((job.results / STAMP).read_text())
        stamp["inputs"]
    except FileNotFoundError:
        return "no finished execution"
    except (OSError, ValueError, TypeError, KeyError):
        return "its stamp is unreadable or from an older version"
    if stamp["inputs"] != inputs:
        return "its source, parameters or the library changed"
    problem = unfinished(job.results, None if job.direct else job.executed, stamp)
    if problem:
        return problem
    if stamp.get("meta") is not None:
        recorded = (store.read_meta(job.results) or {}).get("settings")
        if job.settings is not None and recorded != job.settings:
            return "its folder holds results of other settings"
    return None


def unfinished(results: Path, executed: Path | None, stamp: dict | None = None) -> str | None:
    """Why the execution that left ``results`` (and the executed notebook ``executed``; None
    for a script) is not a finished one any more (None: it is): no stamp, its ``meta.json``
    or executed notebook is not the one the stamp recorded (missing, truncated, rewritten by
    another run), or a file ``meta.json`` lists is missing or changed."""
    if stamp is None:
        try:
            stamp = json.loads((results / STAMP).read_text())
        except (OSError, ValueError):
            return f"no finished execution in {results}"
    meta = results / "meta.json"
    if not isinstance(stamp, dict) or stamp.get("meta") != store.file_digest(meta):
        return ("its meta.json is missing" if not meta.exists() else
                "its meta.json changed since (rewritten by another run into the same folder, "
                "or edited)")
    if stamp.get("meta") is not None:
        problem = store.incomplete_reason(results)
        if problem:
            return problem
    if executed is not None and stamp.get("executed") != store.file_digest(executed):
        return f"its executed notebook {executed} is missing or changed"
    return None


def _execute(job: Job) -> Outcome:
    """Run one notebook (in a worker process or a Ray task) with its environment, restored
    afterwards (a worker runs other notebooks next, maybe without a search storage); never
    raises."""
    variables = {**job.environment, "OMP_NUM_THREADS": str(job.threads),
                 "HPOSTUDY_THREADS": str(job.threads),
                 "TQDM_MININTERVAL": os.environ.get("TQDM_MININTERVAL", "5")}  # redraw seldom
    with environment(variables):
        return _execute_in(job)


def _execute_in(job: Job) -> Outcome:
    """:func:`_execute` inside the notebook's environment."""
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
    root = _root_or_cwd()
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
        cluster = _RayNotebooks(address, injected, profile)
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
        current = _stamp(job)
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
        finished_jobs = ((job, stamp, _execute(job)) for job, stamp in todo)
        for job, stamp, outcome in finished_jobs:
            _settle(job, stamp, outcome, outcomes, bar, notes)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_execute, job): (job, stamp) for job, stamp in todo}
            for future in as_completed(futures):
                job, stamp = futures[future]
                _settle(job, stamp, future.result(), outcomes, bar, notes)
    bar.close()
    return [outcomes[nb.name] for nb in notebooks]


class _RayNotebooks:
    """The notebooks of one ``run_notebooks`` call as tasks of a Ray cluster: each asks for one
    GPU on ``cuda`` (else ``HPOSTUDY_THREADS`` CPUs) and runs :func:`_execute` on whichever node
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
        task = self.ray.remote(_execute)
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
        if self.started_here:
            self.ray.shutdown()


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
            store.atomic_write(job.results / STAMP, _stamp_record(job, stamp))
    outcome.note = notes.get(job.name, "")
    outcomes[job.name] = outcome
    shutdown.IN_FLIGHT.pop(job.name, None)
    bar.set_postfix_str(f"{job.name}: {outcome.status}")
    bar.update(1)


# ---------------------------------------------------------------------- recording
RECORDED = ("*.csv", "meta.json", "*.png")


def record_results(profile: str, names: list[str] | None = None, build: Path | None = None,
                   target: Path | None = None) -> Path:
    """Copy a profile's finished results (tables, run metadata and figures; no checkpoints)
    into ``book/recorded/<profile>/<notebook>/`` (committed), where the chapters show them
    before the build's own ``smoke`` results, and summarize their run times. A partial
    recording there (``hpostudy record --partial``) goes with the old recording when it is of
    the recorded run's key, and stays when it is of another run (:mod:`.partial`).

    Nothing recorded is lost on the way: see :func:`install_recording`."""
    root = _root_or_cwd()
    build = Path(build or root / "build") / profile
    target = Path(target or root / "book" / "recorded" / profile)
    folders = ([build / "results" / n for n in names] if names
               else sorted(p for p in (build / "results").glob("*") if p.is_dir()))
    states = {f: store.folder_state(f) for f in folders}
    finished = [f for f in folders if states[f] == "complete"]
    unfinished = {f.name: state for f, state in states.items() if state != "complete"}
    if names and unfinished:
        present = sorted(p.name for p in (build / "results").glob("*") if p.is_dir())
        raise FileNotFoundError(
            "--only " + ", ".join(f"{n}: {'no results' if state == 'empty' else state}"
                                  for n, state in unfinished.items())
            + f" in {build / 'results'} (results there: {', '.join(present) or 'none'}); run "
            f"`hpostudy run NAME --profile {profile}` to finish it, or leave it out")
    if not finished:
        raise FileNotFoundError(f"no finished results in {build / 'results'}: run "
                                f"`hpostudy run --profile {profile}` first")
    return install_recording(finished, target)


def install_recording(sources: list[Path], target: Path) -> Path:
    """Record the complete results folders ``sources`` as ``target/<name>/`` and summarize
    ``target/run_times.csv``: stage, verify, then swap. Every file a folder's ``meta.json``
    lists, and the ``meta.json``, is copied into a staging folder beside ``target`` and checked
    against its digest, and the new ``run_times.csv`` is written there; only then each
    recorded folder and ``run_times.csv`` are renamed into place. A failure before the swap (a
    full disk) leaves the earlier recording and ``run_times.csv`` exactly as they were."""
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    try:
        try:
            for source in sources:
                meta = store.read_meta(source) or {}
                listed = [*meta.get("files", {}), "meta.json"]
                digests = {**meta.get("files", {}),
                           "meta.json": store.file_digest(source / "meta.json")}
                store.stage_files({n: source / n for n in listed}, digests,
                                  staging / source.name)
            kept = [m for m in sorted(target.glob("*/meta.json"))
                    if m.parent.name not in {s.name for s in sources}
                    and not m.parent.name.startswith(".")]
            metas = sorted([*kept, *(staging / s.name / "meta.json" for s in sources)],
                           key=lambda m: m.parent.name)
            store.write_table(run_times(metas), staging, "run_times")
        except OSError as err:
            raise store.StoreError(
                f"recording into {target} failed ({err.strerror or err}); the earlier recording "
                "there is unchanged: free space or fix the cause, then record again") from err
        for source in sources:
            dest = target / source.name
            aside = partial.set_aside(dest, staging / source.name / "meta.json")
            store.swap_in(staging / source.name, dest)
            partial.put_back(aside, dest)
        store.swap_in(staging / "run_times.csv", target / "run_times.csv")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def run_times(metas: list[Path]):
    """One row per recorded run (``meta.json`` files): notebook, profile, data, seeds, device,
    threads, torch, wall and CPU time."""
    import pandas as pd

    rows = []
    for meta in metas:
        run = provenance.run_summary(meta)
        seconds, cpu_seconds = run.pop("seconds"), run.pop("cpu_seconds")
        rows.append({**run, "wall minutes": round(seconds / 60, 1),
                     "CPU minutes": "" if cpu_seconds is None else round(cpu_seconds / 60, 1)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- the book
def build_book(profile: str = "smoke", build: Path | None = None, strict: bool = True,
               chapters: list[str] | None = None, output: Path | None = None) -> Path:
    """Copy the executed notebooks (each labelled with its profile) and their results into
    ``book/generated``, write the tables of where each chapter's results come from
    (:mod:`.provenance`) and build the HTML book with Jupyter Book (which executes nothing).
    ``chapters`` (chapter page names) builds the book of those chapters only, with the
    introduction and the reference pages, from their notebooks' runs. Returns the HTML folder.

    Only finished runs are published: each notebook's stamp, ``meta.json``, listed files and
    executed notebook must be the ones its execution left (:func:`unfinished`). Paths into the
    build folder are shown on the pages relative to it (``build/<profile>/...``), wherever it
    lies. ``output`` is the folder that receives ``book/generated`` and ``_build/html``: by
    default the project itself; any other folder gets a copy of the book's sources (``book/``
    without ``generated/``, ``_config.yml``, ``_toc.yml``, ``bench/results/``) and the
    project's own book is left untouched (the tests build there)."""
    import nbformat

    root = project_root()
    build = (Path(build or root / "build") / profile).resolve()
    source = root if output is None else _book_sources(root, Path(output).resolve())
    every = nbs.discover(root)
    found = every
    toc = source / "_toc.yml"
    generated = source / "book" / "generated"
    if chapters:
        toc_text = _toc_of_chapters(toc, chapters)
        found = {n: nb for n, nb in every.items() if nb.chapter in chapters}
    missing = {n: unfinished(build / "results" / n, build / "executed" / f"{n}.ipynb")
               for n in found}
    missing = {n: why for n, why in missing.items() if why}
    if missing:
        raise FileNotFoundError(
            f"no finished run of {sorted(missing)} in {build} ("
            + "; ".join(f"{n}: {why}" for n, why in sorted(missing.items()))
            + f"): run `hpostudy run --profile {profile} {' '.join(sorted(missing))}` first")
    if generated.exists():
        shutil.rmtree(generated)
    for name, nb in found.items():
        chapter = nb.chapter or "other"
        dest = generated / "notebooks" / chapter / f"{name}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        executed = nbformat.read(build / "executed" / f"{name}.ipynb", as_version=4)
        readable_page(executed)
        executed.cells.insert(1, nbformat.v4.new_markdown_cell(
            _profile_banner(build / "results" / name, profile)))
        shown = nbformat.writes(executed).replace(f"{build.parent}{os.sep}", "build/")
        store.atomic_write(dest, shown)
        shutil.copytree(build / "results" / name, generated / name,
                        ignore=shutil.ignore_patterns(STAMP, store.MARKER, "checkpoints",
                                                      "*.pt", "*.tmp"))
    by_chapter: dict[str, list[str]] = {}
    for name, nb in every.items():
        if nb.chapter:
            by_chapter.setdefault(nb.chapter, []).append(name)
    provenance.write_tables(source / "book", by_chapter)
    verdict_page.write_tables(source / "book", by_chapter)
    if chapters:
        toc = generated / "_toc.yml"
        toc.write_text(toc_text)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe), "build", str(source), "--path-output", str(source), "--toc", str(toc)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    done = subprocess.run(cmd, cwd=source, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode:
        problems = [line for line in (done.stdout + done.stderr).splitlines()
                    if "WARNING" in line or "ERROR" in line]
        raise BookBuildError(
            "the book did not build (jupyter-book exit status "
            f"{done.returncode}{'; warnings are errors' if strict else ''}):\n"
            + "\n".join(problems[:30] or done.stderr.splitlines()[-30:]))
    return source / "_build" / "html"


def readable_page(notebook) -> None:
    """An executed notebook made fit for its page, in place: the output folder papermill
    injected (``output_dir = ...``, a path of the machine that ran it) left out of the
    injected-parameters cell, and outputs that only print what a cell returned about files (a
    dict of ``PosixPath`` objects, e.g. the paths of the figures just drawn) dropped; the
    figures themselves and every table stay."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if not line.startswith("output_dir ="))
        cell.outputs = [o for o in cell.get("outputs", []) if not _paths_only(o)]


def _paths_only(output) -> bool:
    """True for an output whose only content is the plain text of paths (``PosixPath(...)``)."""
    data = output.get("data", {})
    text = data.get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return (output.get("output_type") == "execute_result" and set(data) == {"text/plain"}
            and ("PosixPath(" in text or "WindowsPath(" in text))


def _book_sources(root: Path, output: Path) -> Path:
    """A copy of the book's sources of ``root`` in ``output`` (its generated pages left out),
    to build a book there; returns ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, output / name)
    if (output / "book").exists():
        shutil.rmtree(output / "book")
    shutil.copytree(root / "book", output / "book", ignore=shutil.ignore_patterns("generated"))
    if (root / "bench" / "results").is_dir():  # the engine page's benchmark tables
        shutil.rmtree(output / "bench" / "results", ignore_errors=True)
        shutil.copytree(root / "bench" / "results", output / "bench" / "results")
    return output


class BookBuildError(RuntimeError):
    """Jupyter Book failed; the message lists its warnings and errors."""


def _toc_of_chapters(toc: Path, chapters: list[str]) -> str:
    """The table of contents ``toc`` without the chapter pages (``book/chapters/<name>``) not
    named in ``chapters`` (YAML text)."""
    import yaml

    content = yaml.safe_load(Path(toc).read_text())
    pages = {p["file"].removeprefix("book/chapters/") for part in content["parts"]
             for p in part["chapters"] if p["file"].startswith("book/chapters/")}
    unknown = sorted(set(chapters) - pages)
    if unknown:
        raise ValueError(f"no chapter page {unknown} in {toc}: choose from {sorted(pages)}")
    parts = []
    for part in content["parts"]:
        kept = [p for p in part["chapters"] if not p["file"].startswith("book/chapters/")
                or p["file"].removeprefix("book/chapters/") in chapters]
        if kept:
            parts.append({**part, "chapters": kept})
    return yaml.safe_dump({**content, "parts": parts}, sort_keys=False)


def _profile_banner(results: Path, profile: str) -> str:
    try:
        meta = json.loads((results / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}
    settings = meta.get("settings", {})
    where = f"{meta.get('device', 'unknown device')}, torch {meta.get('torch', '?')}"
    data = settings.get("dataset", "see the parameters")
    note = (" The `smoke` profile runs tiny sizes on embedded data to check the code path: its "
            "numbers say little about the papers' claims." if profile == "smoke" else "")
    return (f"```{{note}}\nThis page was executed with profile **{profile}** "
            f"(data: {data}; {settings.get('seeds', 1)} seed(s); {where}).{note}\n```")
