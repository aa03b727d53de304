"""Partial recordings (``hpostudy record --partial``): a run interrupted on one machine resumes
on a fresh clone from what was committed, computes only what was left, and ends with the
results of an uninterrupted run; a partial recording is never taken for a result."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hpostudy.study import cli, execute, partial, record
from hpostudy.study.jobs import Outcome

# A notebook whose run has four units (seeds) of three checkpointed steps each; with
# LONG_STOP=<seed> it is interrupted in the middle of that seed (after its first step). Every
# step computed is logged in steps.txt beside the notebooks.
NOTEBOOK = '''# %% tags=["parameters"]
profile = "smoke"  # profile
device = None  # device
output_dir = "out"  # folder
seeds = 4  # seeds

# %%
import os
from dataclasses import dataclass

import pandas as pd
import torch

from hpostudy.study.config import ExperimentConfig
from hpostudy.study.experiment_run import prepare


@dataclass(frozen=True)
class Config(ExperimentConfig):
    steps: int = 3  # steps per seed
    NAME = "long"


def unit(item, checkpoint):
    cfg, seed = item
    saved = checkpoint.load() or {"done": 0, "values": []}
    for step in range(saved["done"], cfg.steps):
        if str(seed) == os.environ.get("LONG_STOP") and step == 1:
            raise KeyboardInterrupt("the machine was switched off")
        with open("steps.txt", "a") as log:
            log.write(f"{seed}:{step}\\n")
        gen = torch.Generator().manual_seed(1000 * seed + step)
        saved["values"].append(float(torch.rand((), generator=gen)))
        saved["done"] = step + 1
        checkpoint.save(saved)
    return saved["values"]


cfg = Config.for_profile(profile, device=device, output_dir=output_dir, seeds=seeds)
with prepare(cfg) as run:
    values = run.map(unit, [(cfg, s) for s in cfg.seed_list],
                     names=[f"seed{s}" for s in cfg.seed_list])
    run.save_tables(sums=pd.DataFrame({"seed": cfg.seed_list, "sum": [sum(v) for v in values]}))
'''


def _clone(path: Path, source: Path | None = None) -> Path:
    """A checkout: the notebook and the project files, and the committed ``book/`` of
    ``source`` if given (no build folder: a fresh clone)."""
    (path / "notebooks").mkdir(parents=True)
    (path / "_config.yml").write_text("title: test\n")
    (path / "notebooks" / "long.py").write_text(NOTEBOOK)
    if source is not None:
        shutil.copytree(source / "book", path / "book")
    return path


def _run(project: Path, monkeypatch) -> Outcome:
    monkeypatch.chdir(project)
    return execute.run_notebooks(["long"], "smoke", None, {}, progress=False, direct=True)[0]


def _steps(project: Path) -> list[str]:
    return (project / "steps.txt").read_text().split()


def test_an_interrupted_run_resumes_on_a_fresh_clone_from_its_partial_recording(tmp_path,
                                                                               monkeypatch):
    first = _clone(tmp_path / "first")
    monkeypatch.setenv("LONG_STOP", "2")
    assert _run(first, monkeypatch).status == "failed"
    assert _steps(first) == ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2", "2:0"]

    assert cli.main(["record", "--partial", "--profile", "smoke", "--only", "long"]) == 0
    recorded = first / "book" / "recorded" / "smoke" / "long"
    manifest = json.loads((recorded / "partial" / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["experiment"] == "long"
    assert manifest["units_done"] == ["seed0", "seed1"]
    assert manifest["units_in_progress"] == ["seed2"]
    assert manifest["settings"]["seeds"] == 4 and manifest["run"]["status"] == "interrupted"
    assert sorted(p.name for p in (recorded / "partial" / "units").iterdir()) == \
        ["seed0.result.pt", "seed1.result.pt", "seed2.pt", "time.json"]
    first_session = json.loads((recorded / "partial/units/time.json").read_text())["sessions"]
    assert len(first_session) == 1 and first_session[0]["cpu_seconds"] > 0
    # not a result: nothing to record as complete, no run time, no meta.json
    with pytest.raises(FileNotFoundError, match="no finished results"):
        record.record_results("smoke")
    assert not (recorded / "meta.json").exists()

    monkeypatch.delenv("LONG_STOP")
    clone = _clone(tmp_path / "clone", source=first)  # committed files only, no build/
    outcome = _run(clone, monkeypatch)
    assert outcome.status == "ran", outcome.error
    assert _steps(clone) == ["2:1", "2:2", "3:0", "3:1", "3:2"], "only what was left"
    # its run time counts both sessions: the one on the first machine and this one
    meta = json.loads((clone / "build/smoke/results/long/meta.json").read_text())
    sessions = json.loads(next((clone / "build/smoke/results/long/checkpoints").glob(
        "*/time.json")).read_text())["sessions"]
    assert sessions[0] == first_session[0] and meta["sessions"] == 2
    assert meta["cpu_seconds"] == pytest.approx(sum(s["cpu_seconds"] for s in sessions),
                                                abs=0.011)

    whole = _clone(tmp_path / "whole")
    assert _run(whole, monkeypatch).status == "ran"
    results = Path("build/smoke/results/long/sums.csv")
    pd.testing.assert_frame_equal(pd.read_csv(clone / results), pd.read_csv(whole / results))

    # recording the complete run of that key removes the partial recording
    monkeypatch.chdir(clone)
    record.record_results("smoke")
    mine = clone / "book" / "recorded" / "smoke" / "long"
    assert (mine / "meta.json").exists() and not (mine / "partial").exists()
    times = pd.read_csv(clone / "book/recorded/smoke/run_times.csv")
    assert times.notebook.tolist() == ["long"] and times.sessions.tolist() == [2]


def _recording(tmp_path, key: str) -> Path:
    """A recorded notebook folder holding a partial recording of ``key`` (one unit file)."""
    folder = tmp_path / "recorded" / "long"
    units = folder / "partial" / "units"
    units.mkdir(parents=True)
    (units / "seed0.result.pt").write_bytes(b"result")
    (units / "seed1.pt").write_bytes(b"progress")
    (folder / "partial" / "manifest.json").write_text(json.dumps({
        "status": "partial", "key": key, "units_done": ["seed0"], "settings": {},
        "files": {"seed0.result.pt": partial.store.file_digest(units / "seed0.result.pt"),
                  "seed1.pt": partial.store.file_digest(units / "seed1.pt")}}))
    return folder


def test_a_partial_recording_of_another_run_survives_a_complete_recording(tmp_path):
    folder = _recording(tmp_path, "k-long")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"key": "k-short"}))
    aside = partial.set_aside(folder, meta)
    assert aside is not None and not (folder / "partial").exists()
    partial.put_back(aside, folder)
    assert (folder / "partial" / "units" / "seed1.pt").read_bytes() == b"progress"
    meta.write_text(json.dumps({"key": "k-long"}))
    assert partial.set_aside(folder, meta) is None  # its own run: goes with the old recording


def test_pick_up_never_replaces_local_progress_and_leaves_out_damaged_files(tmp_path):
    folder = _recording(tmp_path, "k")
    results = tmp_path / "build" / "long"
    local = results / "checkpoints" / "k"
    local.mkdir(parents=True)
    (local / "seed1.pt").write_bytes(b"newer progress here")
    said = partial.pick_up(folder, results)
    assert "picked up 1 file" in said and "1 already here kept" in said
    assert (local / "seed0.result.pt").read_bytes() == b"result"
    assert (local / "seed1.pt").read_bytes() == b"newer progress here"

    (local / "seed0.result.pt").unlink()
    (folder / "partial" / "units" / "seed0.result.pt").write_text("version https://git-lfs")
    said = partial.pick_up(folder, results)
    assert "['seed0.result.pt'] differ from the manifest" in said
    assert not (local / "seed0.result.pt").exists()


def test_pick_up_says_which_settings_keep_a_run_from_resuming(tmp_path):
    from tests.test_study_layer import TinyConfig

    folder = _recording(tmp_path, "k")
    cfg = TinyConfig.for_profile("smoke", steps=7)
    manifest = json.loads((folder / "partial" / "manifest.json").read_text())
    manifest.update(settings={**json.loads(json.dumps(cfg.settings())), "steps": 5},
                    code=partial.store.experiment_digest(type(cfg).__module__))
    (folder / "partial" / "manifest.json").write_text(json.dumps(manifest))
    said = partial.pick_up(folder, tmp_path / "build", cfg)
    assert "NOT used by this run" in said and "steps=5 (now 7)" in said
    assert "the run resumes from it" in partial.pick_up(folder, tmp_path / "build",
                                                          cfg.replace(steps=5))
