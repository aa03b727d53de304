"""The notebook pipeline: every notebook runs on smoke and writes its figures and tables; bad
input fails early with a clear message; a failing notebook is reported and the others kept."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import pytest
import torch

from hpostudy import cli, registry, runner
from hpostudy.experiments.base import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_FILES = sorted((ROOT / "notebooks").glob("*.py"))
COMMON = {"profile", "device", "seed", "output_dir"}


def parameters_of(path: Path) -> dict:
    notebook = jupytext.read(path)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    tree = ast.parse(cells[0].source)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign)}


@pytest.fixture(scope="module")
def smoke_build(tmp_path_factory):
    """Every notebook executed once on the smoke profile (shared by the tests below)."""
    build = tmp_path_factory.mktemp("build")
    cwd = Path.cwd()
    import os
    os.chdir(ROOT)
    try:
        outcomes = runner.run_notebooks(None, "smoke", "cpu", {}, build=build, progress=False)
    finally:
        os.chdir(cwd)
    return build, {o.name: o for o in outcomes}


def test_every_notebook_is_registered_and_vice_versa():
    assert {p.stem for p in NOTEBOOK_FILES} == set(registry.NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_parameters_match_its_config(path):
    params = parameters_of(path)
    assert COMMON <= set(params), f"{path.name} lacks {COMMON - set(params)}"
    knobs = registry.get(path.stem).config.knobs()
    assert set(params) <= set(knobs), f"{path.name}: {set(params) - set(knobs)} not in its Config"
    assert all(params[k] is None for k in set(params) - COMMON), "knobs default to the profile"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_notebook_runs_on_smoke_and_writes_its_outputs(path, smoke_build):
    build, outcomes = smoke_build
    outcome = outcomes[path.stem]
    assert outcome.status == "ran", outcome.error
    nb = registry.get(path.stem)
    results = build / "smoke" / "results" / nb.name
    for fig in nb.figures:
        assert (results / f"{fig}.png").stat().st_size > 5000, fig
    for table in nb.tables:
        text = (results / f"{table}.csv").read_text()
        assert text.count("\n") >= 2, table
    assert (build / "smoke" / "executed" / f"{nb.name}.ipynb").exists()


def test_book_builds_offline_without_warnings(smoke_build, monkeypatch):
    build, _ = smoke_build
    monkeypatch.chdir(ROOT)
    html = runner.build_book("smoke", build=build)
    page = (html / "book" / "chapters" / "parameter_paths.html").read_text()
    assert "fig2_1.png" in page and "Paper vs reproduced" in page
    for file in html.rglob("*.html"):
        text = file.read_text()
        assert '<script src="http' not in text and 'src="https://cdn' not in text, file
        assert '<link rel="stylesheet" href="http' not in text, file
    assert (html / "_static" / "mathjax").is_dir()


# ------------------------------------------------------------------ errors before any work
def run_cli(capsys, *args):
    code = cli.main(["run", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-p", "colour=3"], "unknown to notebook"),
    (["-p", "epochs=two"], "must be int"),
    (["-p", "epochs=-3"], "non-negative"),
    (["--only", "nonexistent"], "unknown notebook"),
    (["--only", "stn_cnn", "-p", "eval_every=250"], "not in its parameters cell"),
])
def test_cli_rejects_bad_parameters_before_running(capsys, monkeypatch, tmp_path, args, message):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runner, "project_root", lambda: ROOT)
    code, err = run_cli(capsys, "--only", "parameter_paths", *args) if "--only" not in args \
        else run_cli(capsys, *args)
    assert code == 2 and message in err


def test_cli_rejects_unknown_profile(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--profile", "huge"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cli_rejects_cuda_without_gpu(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, err = run_cli(capsys, "--only", "parameter_paths", "--device", "cuda")
    assert code == 2 and "no CUDA GPU" in err


def test_missing_dataset_fails_before_any_work(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    code, err = run_cli(capsys, "--only", "parameter_paths", "--profile", "cpu")
    assert code == 2 and "cifar10" in err and str(tmp_path) in err


def test_config_validation():
    from hpostudy.experiments import paths

    with pytest.raises(ValueError, match="unknown profile"):
        paths.Config.for_profile("huge")
    with pytest.raises(TypeError, match="must be float"):
        paths.Config.for_profile("smoke", lr="fast")
    cfg = paths.Config.for_profile("smoke", lr=1, epochs=None)
    assert cfg.lr == 1.0 and cfg.epochs == paths.Config.PRESETS["smoke"].get("epochs", 15)
    assert isinstance(cfg, ExperimentConfig)


def test_failing_notebook_is_reported_and_others_kept(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "_config.yml").write_text("title: test\n")
    header = ('# %% tags=["parameters"]\nprofile = "smoke"\ndevice = "cpu"\nseed = 0\n'
              'output_dir = "out"\n\n# %%\nfrom pathlib import Path\n')
    (project / "notebooks" / "fine.py").write_text(
        header + 'Path(output_dir).mkdir(parents=True, exist_ok=True)\n'
                 '(Path(output_dir) / "done.txt").write_text("ok")\n')
    (project / "notebooks" / "broken.py").write_text(header + "1 / 0\n")
    fake = {n: registry.Notebook(n, "paths", (), (), "test", n, draw="unused")
            for n in ("broken", "fine")}
    monkeypatch.setattr(registry, "NOTEBOOKS", fake)
    monkeypatch.chdir(project)
    outcomes = {o.name: o for o in runner.run_notebooks(None, "smoke", "cpu", {},
                                                        progress=False)}
    assert outcomes["broken"].status == "failed"
    assert "cell" in outcomes["broken"].error and "ZeroDivisionError" in outcomes["broken"].error
    assert outcomes["fine"].status == "ran"
    assert (project / "build" / "smoke" / "results" / "fine" / "done.txt").exists()
    again = {o.name: o for o in runner.run_notebooks(["fine"], "smoke", "cpu", {},
                                                     progress=False)}
    assert again["fine"].status == "skipped (unchanged)"


def test_record_copies_finished_results_and_summarizes_run_times(tmp_path):
    source = tmp_path / "build" / "cpu" / "results" / "drmad_quality"
    source.mkdir(parents=True)
    (source / "comparison.csv").write_text("finding,paper,reproduced,profile,verdict,note\n")
    (source / "fig3_1.png").write_bytes(b"png")
    (source / "checkpoint.pt").write_bytes(b"not recorded")
    (source / "meta.json").write_text(json.dumps(
        {"config": {"profile": "cpu"}, "seconds": 4471.9, "device": "CPU (1 threads)",
         "torch": "2.14.1"}))
    target = runner.record_results("cpu", build=tmp_path / "build", target=tmp_path / "rec")
    recorded = sorted(p.name for p in (target / "drmad_quality").iterdir())
    assert recorded == ["comparison.csv", "fig3_1.png", "meta.json"]
    times = (target / "run_times.csv").read_text().splitlines()
    assert times[1] == "drmad_quality,cpu,CPU (1 threads),2.14.1,4472,74.5"
    with pytest.raises(FileNotFoundError, match="hpostudy run --profile paper"):
        runner.record_results("paper", build=tmp_path / "build", target=tmp_path / "rec")
