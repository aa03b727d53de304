"""The study layer: results keyed by what produced them, runs that mark themselves incomplete,
one validation of parameters, notebooks found on disk, folders that two runs cannot share."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch

from hpostudy import store
from hpostudy.study import notebooks as nbs
from hpostudy.study import execute, record, stamps
from hpostudy.study.config import ExperimentConfig, ParameterError
from hpostudy.study.experiment_run import ResultsOfAnotherProfile, prepare

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- a tiny experiment
@dataclass(frozen=True)
class TinyConfig(ExperimentConfig):
    steps: int = 3  # work per seed
    scale: float = 1.0  # multiplies every value
    labels: tuple[str, ...] = ("a", "b")  # a sequence knob

    NAME = "tiny"
    PRESETS = {"cpu": {"steps": 5, "seeds": 3}}
    CHOICES = {"labels": ("a", "b", "c")}


CALLS: list = []


def tiny_unit(item, checkpoint):
    cfg, seed = item
    CALLS.append(seed)
    saved = checkpoint.load() or {"done": 0, "values": []}
    for step in range(saved["done"], cfg.steps):  # value of a step: a function of (seed, step)
        gen = torch.Generator().manual_seed(1000 * seed + step)
        saved["values"].append(float(torch.rand((), generator=gen)) * cfg.scale)
        saved["done"] = step + 1
        checkpoint.save(saved)
    return saved["values"]


def tiny_run(cfg):
    with prepare(cfg) as run:
        values = run.map(tiny_unit, [(cfg, s) for s in cfg.seed_list],
                         names=[f"seed{s}" for s in cfg.seed_list])
        df = pd.DataFrame([{"seed": s, "sum": sum(v)} for s, v in zip(cfg.seed_list, values)])
        run.save_tables(sums=df)
    return df


def tiny(tmp_path, **overrides):
    overrides.setdefault("output_dir", str(tmp_path / "out"))
    return TinyConfig.for_profile(overrides.pop("profile", "smoke"), **overrides)


# ---------------------------------------------------------------------- results keyed by settings
def test_another_seed_or_setting_gives_other_results_and_the_same_settings_resume(tmp_path):
    CALLS.clear()
    first = tiny_run(tiny(tmp_path))
    assert CALLS == [0]
    again = tiny_run(tiny(tmp_path))
    assert CALLS == [0], "the same settings load the finished unit"
    pd.testing.assert_frame_equal(first, again)
    other_seed = tiny_run(tiny(tmp_path, seed=3))
    assert CALLS == [0, 3] and other_seed["sum"].iloc[0] != first["sum"].iloc[0]
    other_setting = tiny_run(tiny(tmp_path, scale=2.0))
    assert CALLS == [0, 3, 0]
    assert other_setting["sum"].iloc[0] == pytest.approx(2 * first["sum"].iloc[0])
    written = pd.read_csv(tmp_path / "out" / "sums.csv")
    assert written["sum"].iloc[0] == pytest.approx(other_setting["sum"].iloc[0])


def test_a_changed_library_changes_the_key(monkeypatch):
    cfg = TinyConfig.for_profile("smoke")
    before = store.settings_key(cfg.settings())
    monkeypatch.setattr(store.keys, "code_digest",  # where settings_key looks it up
                        lambda include_presentation=False: "other code")
    assert store.settings_key(cfg.settings()) != before


def test_a_unit_killed_midway_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    CALLS.clear()
    cfg = tiny(tmp_path, steps=4)
    uninterrupted = tiny_run(tiny(tmp_path / "whole", steps=4))

    real_save = store.Checkpoint.save
    calls = {"n": 0}

    def dying_save(self, obj):
        real_save(self, obj)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(store.Checkpoint, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        tiny_run(cfg)
    monkeypatch.setattr(store.Checkpoint, "save", real_save)
    assert store.folder_state(tmp_path / "out") == "incomplete"
    resumed = tiny_run(cfg)
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert store.folder_state(tmp_path / "out") == "complete"


def test_a_failed_run_leaves_the_folder_incomplete_with_the_reason(tmp_path):
    cfg = tiny(tmp_path)
    tiny_run(cfg)
    assert store.folder_state(cfg.out) == "complete"
    with pytest.raises(ZeroDivisionError):
        with prepare(cfg):
            1 / 0
    assert store.folder_state(cfg.out) == "incomplete"
    marker = json.loads((cfg.out / store.MARKER).read_text())
    assert marker["status"] == "failed" and "ZeroDivisionError" in marker["reason"]
    assert not (cfg.out / "meta.json").exists()


def test_two_runs_cannot_share_a_folder(tmp_path):
    cfg = tiny(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        marker = store.RunMarker(cfg.out)
        cfg.out.mkdir(parents=True)
        (cfg.out / store.MARKER).write_text(json.dumps({
            "pid": other.pid, "host": os.uname().nodename, "started": "2026-11-25T10:00:00",
            "status": "running", "profile": "smoke"}))
        with pytest.raises(store.FolderBusy, match=f"process {other.pid}.*2026-11-25T10:00:00"):
            tiny_run(cfg)
        assert marker.read()["pid"] == other.pid, "the other run's marker is left alone"
    finally:
        other.kill()
        other.wait()
    tiny_run(cfg)  # its process is gone: the marker of the killed run is taken over
    assert store.folder_state(cfg.out) == "complete"


def test_results_of_two_profiles_never_share_a_folder(tmp_path):
    tiny_run(tiny(tmp_path))
    with pytest.raises(ResultsOfAnotherProfile, match="profile 'smoke'"):
        tiny_run(tiny(tmp_path, profile="cpu"))
    default = TinyConfig.for_profile("cpu")
    assert Path(default.output_dir) == Path("build/cpu/results/tiny")


def test_a_corrupt_checkpoint_is_moved_aside_and_named(tmp_path):
    checkpoint = store.Checkpoint(tmp_path / "unit.pt")
    checkpoint.save({"x": 1})
    data = (tmp_path / "unit.pt").read_bytes()
    (tmp_path / "unit.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(store.CheckpointCorrupt, match="unit.pt.*moved to unit.pt.corrupt-"):
        checkpoint.load()
    assert not checkpoint.exists()
    assert len(list(tmp_path.glob("unit.pt.corrupt-*"))) == 1
    assert checkpoint.load() is None  # the next run starts that part afresh


def test_an_unwritable_folder_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # (chmod would not stop root, which CI runs as)
    with pytest.raises(store.StoreError, match="cannot create the output folder .*a_file/out"):
        tiny_run(TinyConfig.for_profile("smoke", output_dir=str(blocker / "out")))
    with pytest.raises(store.StoreError, match="cannot write into"):
        store.write_table(pd.DataFrame({"a": [1]}), blocker / "sub", "t")


# ---------------------------------------------------------------------- one validation
def test_building_a_configuration_has_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        cfg = TinyConfig.for_profile("smoke")
        assert not Path(cfg.output_dir).exists() and not any(tmp_path.iterdir())
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(flags)


@pytest.mark.parametrize("overrides, message", [
    ({"stepz": 3}, r"unknown parameter\(s\) \['stepz'\] for 'tiny'"),
    ({"steps": "three"}, "must be int"),
    ({"steps": 0}, "must be at least 1"),
    ({"steps": -2}, "must be at least 1"),
    ({"scale": -1.0}, "must be at least 0"),
    ({"scale": float("nan")}, "finite"),
    ({"labels": []}, "must not be empty"),
    ({"labels": ["a", "z"]}, "must be one of a, b, c"),
    ({"labels": "a"}, "must be a list"),
    ({"device": "tpu"}, "must be one of cpu, cuda"),
    ({"seeds": 0}, "must be at least 1"),
    ({"seed": True}, "must be int"),
])
def test_bad_parameters_are_refused_with_the_knob_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        TinyConfig.for_profile("smoke", **overrides)


def test_profile_values_and_overrides():
    cfg = TinyConfig.for_profile("cpu", scale=3)
    assert (cfg.steps, cfg.seeds, cfg.scale, cfg.device) == (5, 3, 3.0, "cpu")
    assert cfg.seed_list == [0, 1, 2]
    assert TinyConfig.for_profile("paper").device == "cuda"
    assert TinyConfig.for_profile("paper", device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="unknown profile"):
        TinyConfig.for_profile("huge")


def test_replace_keeps_the_profile_and_validates_the_change():
    cfg = TinyConfig.for_profile("cpu", scale=3)
    changed = cfg.replace(steps=7)
    assert (changed.profile, changed.steps, changed.scale, changed.seeds) == ("cpu", 7, 3.0, 3)
    with pytest.raises(ParameterError, match="must be one of a, b, c"):
        cfg.replace(labels=("z",))


def test_from_notebook_refuses_a_misspelt_parameter_like_the_cli():
    import math

    namespace = {"profile": "smoke", "device": None, "steps": 4, "epoch": 3, "math": math,
                 "In": [], "_": None, "TinyConfig": TinyConfig}
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['epoch'\] for 'tiny'"):
        TinyConfig.from_notebook(namespace)
    del namespace["epoch"]
    assert TinyConfig.from_notebook(namespace).steps == 4


# ---------------------------------------------------------------------- notebooks on disk
STUDY_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", STUDY_NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_the_configuration(path):
    """papermill's view of the knobs (the parameters cell) equals the configuration's."""
    nb = nbs.read(path)
    assert nb.chapter and nb.experiment, f"{path.name}: needs hpostudy chapter/experiment metadata"
    knobs = nb.config.knobs()
    assert set(nb.parameters) == set(knobs), (
        f"{path.name}: cell lacks {sorted(set(knobs) - set(nb.parameters))}, has extra "
        f"{sorted(set(nb.parameters) - set(knobs))}")
    for name, (default, comment) in nb.parameters.items():
        assert comment, f"{path.name}: parameter '{name}' needs a comment for --help-notebook"
        if name not in ("profile", "seed"):
            assert default is None, f"{path.name}: '{name}' defaults to the profile's (None)"


def test_notebooks_are_discovered_and_a_bad_one_is_named(tmp_path):
    found = nbs.discover(ROOT)
    assert {p.stem for p in STUDY_NOTEBOOKS} == set(found)
    bad = tmp_path / "bad.py"
    bad.write_text('# %% tags=["parameters"]\nprofile = "smoke"\nepochs = 3 +\n')
    with pytest.raises(nbs.NotebookError, match="bad.py: the parameters cell has a syntax error"):
        nbs.read(bad)
    none = tmp_path / "none.py"
    none.write_text("# %%\nx = 1\n")
    with pytest.raises(nbs.NotebookError, match="exactly one cell tagged 'parameters'"):
        nbs.read(none)
    with pytest.raises(nbs.NotebookError, match="unknown notebook 'nonexistent'"):
        nbs.resolve(["nonexistent"], ROOT)


# ---------------------------------------------------------------------- running notebooks
HEADER = ('# %% tags=["parameters"]\nprofile = "smoke"  # profile\ndevice = None  # device\n'
          'output_dir = "out"  # folder\nvalue = 1  # a knob\n\n# %%\nfrom pathlib import Path\n'
          'Path(output_dir).mkdir(parents=True, exist_ok=True)\n')


def _project(tmp_path, **notebooks):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "_config.yml").write_text("title: test\n")
    for name, body in notebooks.items():
        (project / "notebooks" / f"{name}.py").write_text(HEADER + body)
    return project


def test_failing_notebook_is_reported_others_kept_and_failure_never_skipped(tmp_path,
                                                                          monkeypatch):
    project = _project(tmp_path,
                       fine='(Path(output_dir) / "done.txt").write_text(str(value))\n',
                       broken="1 / value\n")
    monkeypatch.chdir(project)
    out = {o.name: o for o in execute.run_notebooks(None, "smoke", None, {}, progress=False)}
    assert out["fine"].status == "ran" and out["broken"].status == "ran"
    again = execute.run_notebooks(["fine"], "smoke", None, {}, progress=False)
    assert again[0].status == "skipped (unchanged)"
    # the same notebook with a parameter that makes it fail: reported, the other kept
    out = {o.name: o for o in execute.run_notebooks(None, "smoke", None, {"value": 0},
                                                   progress=False, jobs=2)}
    assert out["broken"].status == "failed"
    assert "cell" in out["broken"].error and "ZeroDivisionError" in out["broken"].error
    assert out["fine"].status == "ran"
    # back to the first parameters: the broken notebook's failed run is not taken as done
    out = {o.name: o for o in execute.run_notebooks(None, "smoke", None, {}, progress=False)}
    assert out["broken"].status == "ran" and out["fine"].status == "ran"
    results = project / "build" / "smoke" / "results"
    assert (results / "fine" / "done.txt").read_text() == "1"


def test_a_run_killed_after_a_success_is_not_skipped(tmp_path, monkeypatch):
    project = _project(tmp_path, fine='(Path(output_dir) / "done.txt").write_text("ok")\n')
    monkeypatch.chdir(project)
    execute.run_notebooks(None, "smoke", None, {}, progress=False)
    results = project / "build" / "smoke" / "results" / "fine"
    # a killed re-run (--force) removed the stamp and left its marker behind
    (results / stamps.STAMP).unlink()
    store.RunMarker(results).acquire(profile="smoke")
    store.RunMarker(results).fail("killed")
    out = execute.run_notebooks(None, "smoke", None, {}, progress=False)
    assert out[0].status == "ran"


def test_no_notebook_mode_runs_the_code_as_a_script(tmp_path, monkeypatch):
    project = _project(tmp_path, fine='(Path(output_dir) / "done.txt").write_text(str(value))\n')
    monkeypatch.chdir(project)
    out = execute.run_notebooks(None, "smoke", None, {"value": 7}, progress=False, direct=True)
    assert out[0].status == "ran", out[0].error
    assert (project / "build" / "smoke" / "results" / "fine" / "done.txt").read_text() == "7"


def test_record_copies_finished_results_only_and_summarizes_run_times(tmp_path):
    cfg = tiny(tmp_path, profile="cpu", output_dir=str(tmp_path / "build/cpu/results/tiny"))
    tiny_run(cfg)
    broken = tmp_path / "build/cpu/results/broken"
    store.RunMarker(broken).acquire(profile="cpu")
    target = record.record_results("cpu", build=tmp_path / "build", target=tmp_path / "rec")
    assert sorted(p.name for p in target.iterdir()) == ["run_times.csv", "tiny"]
    assert sorted(p.name for p in (target / "tiny").iterdir()) == ["meta.json", "sums.csv"]
    (target / "tiny" / "stale.csv").write_text("from an earlier recording\n")
    record.record_results("cpu", build=tmp_path / "build", target=tmp_path / "rec")
    assert not (target / "tiny" / "stale.csv").exists()  # a new recording replaces the old
    times = pd.read_csv(target / "run_times.csv")
    assert times.notebook.tolist() == ["tiny"] and times.seeds.tolist() == [3]
    with pytest.raises(FileNotFoundError, match="hpostudy run --profile paper"):
        record.record_results("paper", build=tmp_path / "build", target=tmp_path / "rec")
