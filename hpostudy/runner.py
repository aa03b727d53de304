"""Execute the study's notebooks with papermill and assemble the book.

For each notebook ``notebooks/<name>.py`` (jupytext percent format): read it with jupytext, give
it a kernelspec, write ``build/<profile>/notebooks/<name>.ipynb``, execute it with papermill
(parameters injected after the cell tagged ``parameters``) into
``build/<profile>/executed/<name>.ipynb``; its tables and figures land in
``build/<profile>/results/<name>/``. A run whose notebook, parameters and library sources are
unchanged is skipped (``force=True`` re-runs). Every configuration is validated before the first
notebook starts; a notebook that fails is reported by name and cell, and the others still run.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import registry

PACKAGE_DIR = Path(__file__).resolve().parent


class NotebookFailed(RuntimeError):
    """One or more notebooks failed; ``failures`` maps notebook name to a description."""

    def __init__(self, failures: dict[str, str]):
        self.failures = failures
        lines = "\n".join(f"  - {name}: {why}" for name, why in failures.items())
        super().__init__(f"{len(failures)} notebook(s) failed:\n{lines}")


@dataclass
class Outcome:
    name: str
    status: str  # "ran", "skipped (unchanged)", "failed"
    seconds: float
    executed: Path
    results: Path
    error: str = ""


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``notebooks/`` and ``_config.yml`` (the current one or a parent)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (folder / "_config.yml").exists():
            return folder
    raise FileNotFoundError(f"no hpostudy project (notebooks/ and _config.yml) in {here} or its "
                            "parents; run hpostudy from the repository's folder")


def validate(names: list[str], profile: str, device: str | None, params: dict) -> dict:
    """Check every selected notebook's configuration now; returns name -> config."""
    configs = {}
    for name in names:
        nb = registry.get(name)
        known = nb.config.knobs()
        missing = sorted(set(params) - set(known))
        if missing:
            raise ValueError(f"parameter(s) {missing} unknown to notebook '{name}' "
                             f"(its parameters: {sorted(k for k in known if k != 'profile')}); "
                             "select notebooks with --only")
        configs[name] = nb.config.for_profile(profile, device=device, **params)
    return configs


def notebook_parameters(source: Path) -> set[str]:
    """Names assigned in the cell tagged ``parameters`` of a jupytext notebook."""
    import ast

    import jupytext

    cells = [c for c in jupytext.read(source).cells
             if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{source.name}: needs exactly one cell tagged 'parameters'")
    return {t.id for node in ast.parse(cells[0].source).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _library_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def run_notebooks(names: list[str] | None = None, profile: str = "smoke",
                  device: str | None = None, params: dict | None = None,
                  build: Path | None = None, force: bool = False,
                  progress: bool = True) -> list[Outcome]:
    """Validate, then execute the notebooks ``names`` (default: all) on ``profile``."""
    import jupytext
    import papermill
    from tqdm.auto import tqdm

    root = project_root()
    names = list(names or registry.NOTEBOOKS)
    params = dict(params or {})
    # progress bars inside the kernels redraw every few seconds, not every step: an executed
    # notebook of a long run would otherwise hold megabytes of them
    os.environ.setdefault("TQDM_MININTERVAL", "5")
    configs = validate(names, profile, device, params)
    for name in names:
        hidden = sorted(set(params) - notebook_parameters(root / "notebooks" / f"{name}.py"))
        if hidden:
            raise ValueError(f"parameter(s) {hidden} of notebook '{name}' are not in its "
                             "parameters cell, so the notebook would ignore them: add them to "
                             "that cell, or run with --no-notebook")
    build = Path(build or root / "build") / profile
    outcomes: list[Outcome] = []
    digest = _library_digest()
    bar = tqdm(names, desc=f"notebooks ({profile})", unit="nb", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        cfg = configs[name]
        source = root / "notebooks" / f"{name}.py"
        results = build / "results" / name
        executed = build / "executed" / f"{name}.ipynb"
        unexecuted = build / "notebooks" / f"{name}.ipynb"
        parameters = {"profile": profile, "device": cfg.device, "seed": cfg.seed,
                      "output_dir": str(results), **{k: v for k, v in params.items()
                                                     if k not in ("device", "seed")}}
        parameters = {k: list(v) if isinstance(v, tuple) else v for k, v in parameters.items()}
        stamp = hashlib.sha256((source.read_text() + json.dumps(parameters, sort_keys=True)
                                + digest).encode()).hexdigest()
        stamp_file = results / ".stamp"
        if (not force and executed.exists() and stamp_file.exists()
                and stamp_file.read_text() == stamp):
            outcomes.append(Outcome(name, "skipped (unchanged)", 0.0, executed, results))
            continue
        notebook = jupytext.read(source)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        unexecuted.parent.mkdir(parents=True, exist_ok=True)
        executed.parent.mkdir(parents=True, exist_ok=True)
        results.mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook, unexecuted)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(str(unexecuted), str(executed), parameters=parameters,
                                       kernel_name="python3", progress_bar=False,
                                       cwd=str(root), log_output=False)
        except papermill.PapermillExecutionError as err:
            first = (err.source or "").strip().splitlines()
            why = (f"cell {err.cell_index} ({first[0][:60] if first else ''}...) raised "
                   f"{err.ename}: {err.evalue}; partial notebook kept at {executed}")
            outcomes.append(Outcome(name, "failed", time.perf_counter() - start, executed,
                                    results, why))
            continue
        stamp_file.write_text(stamp)
        outcomes.append(Outcome(name, "ran", time.perf_counter() - start, executed, results))
    return outcomes


RECORDED_FILES = ("comparison.csv", "meta.json", "runs.csv", "metaruns.csv", "methods.csv",
                  "finals.csv", "*.png")


def record_results(profile: str, names: list[str] | None = None, build: Path | None = None,
                   target: Path | None = None) -> Path:
    """Copy a profile's comparison tables, run metadata and figures into
    ``book/recorded/<profile>/<notebook>/`` (committed), so the book can quote a long run
    (``cpu`` or ``paper``) next to the build's own ``smoke`` results."""
    root = project_root()
    build = Path(build or root / "build") / profile
    target = Path(target or root / "book" / "recorded" / profile)
    done = []
    for name in names or list(registry.NOTEBOOKS):
        source = build / "results" / name
        if not (source / "comparison.csv").exists():
            continue
        dest = target / name
        dest.mkdir(parents=True, exist_ok=True)
        for pattern in RECORDED_FILES:
            for file in source.glob(pattern):
                shutil.copy2(file, dest / file.name)
        done.append(name)
    if not done:
        raise FileNotFoundError(f"no finished results in {build / 'results'}: run "
                                f"`hpostudy run --profile {profile}` first")
    write_run_times(target)
    return target


def write_run_times(target: Path) -> Path:
    """Summarize the ``meta.json`` of every notebook recorded in ``target`` as
    ``run_times.csv`` (notebook, profile, device, torch, run time), the table the book quotes."""
    rows = []
    for meta_file in sorted(target.glob("*/meta.json")):
        meta = json.loads(meta_file.read_text())
        rows.append({"notebook": meta_file.parent.name,
                     "settings of profile": meta["config"]["profile"],
                     "device": meta["device"], "torch": meta["torch"],
                     "seconds": round(meta["seconds"]),
                     "minutes": round(meta["seconds"] / 60, 1)})
    path = target / "run_times.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, ["notebook", "settings of profile", "device", "torch",
                                      "seconds", "minutes"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def build_book(profile: str = "smoke", build: Path | None = None, strict: bool = True) -> Path:
    """Copy the executed notebooks and their results into ``book/generated`` and build the
    HTML book with Jupyter Book (which does not re-execute anything). Returns the HTML folder."""
    root = project_root()
    build = Path(build or root / "build") / profile
    executed = build / "executed"
    missing = [n for n in registry.NOTEBOOKS if not (executed / f"{n}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(f"no executed notebook for {missing} in {executed}: run "
                                f"`hpostudy run --profile {profile}` first")
    generated = root / "book" / "generated"
    if generated.exists():
        shutil.rmtree(generated)
    (generated / "notebooks").mkdir(parents=True)
    for name in registry.NOTEBOOKS:
        shutil.copy2(executed / f"{name}.ipynb", generated / "notebooks" / f"{name}.ipynb")
        shutil.copytree(build / "results" / name, generated / name,
                        ignore=shutil.ignore_patterns(".stamp", "*.pt", "*.tmp"))
    (generated / "profile.txt").write_text(profile)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe), "build", str(root), "--path-output", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, cwd=root)
    return root / "_build" / "html"
