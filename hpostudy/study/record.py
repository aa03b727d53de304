"""``hpostudy record``: copy finished results into ``book/recorded/<profile>/``.

Stage, verify, swap (:func:`install_recording`): nothing recorded is lost on the way, and a
failure before the swap leaves the earlier recording as it was.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .. import store
from . import partial, provenance
from .project import root_or_cwd


def record_results(profile: str, names: list[str] | None = None, build: Path | None = None,
                   target: Path | None = None) -> Path:
    """Copy a profile's finished results (tables, run metadata and figures; no checkpoints)
    into ``book/recorded/<profile>/<notebook>/`` (committed), where the chapters show them
    before the build's own ``smoke`` results, and summarize their run times. A partial
    recording there (``hpostudy record --partial``) goes with the old recording when it is of
    the recorded run's key, and stays when it is of another run (:mod:`.partial`).

    Nothing recorded is lost on the way: see :func:`install_recording`."""
    root = root_or_cwd()
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
    threads, torch, wall and CPU time summed over the sessions of a resumed run, and their
    number."""
    import pandas as pd

    rows = []
    for meta in metas:
        run = provenance.run_summary(meta)
        seconds, cpu_seconds = run.pop("seconds"), run.pop("cpu_seconds")
        sessions = run.pop("sessions")
        rows.append({**run, "wall minutes": round(seconds / 60, 1),
                     "CPU minutes": "" if cpu_seconds is None else round(cpu_seconds / 60, 1),
                     "sessions": sessions})
    return pd.DataFrame(rows)
