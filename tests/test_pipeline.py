"""The notebook pipeline end to end: every notebook of notebooks/ runs on smoke (in parallel)
and writes its figures and tables, every figure and paper-vs-reproduced table appears in the
book, the book builds offline without warnings; bad input fails early with a clear message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from hpostudy.study import book_values, cli, notebooks as nbs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = nbs.discover(ROOT)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_on_smoke_and_writes_its_outputs(name, smoke_build):
    build, outcomes = smoke_build
    if name not in outcomes:
        pytest.skip(f"{name}: its chapter is not among --book-chapters")
    outcome = outcomes[name]
    assert outcome.status == "ran", outcome.error
    results = build / "smoke" / "results" / name
    figures = list(results.glob("*.png"))
    assert figures and all(f.stat().st_size > 5000 for f in figures), name
    for table in results.glob("*.csv"):
        assert table.read_text().count("\n") >= 2, table
    assert (results / "meta.json").exists() and (build / "smoke" / "executed" / f"{name}.ipynb").exists()


def test_book_shows_every_figure_and_table_and_builds_offline(smoke_build, book_html,
                                                              book_chapters):
    build, outcomes = smoke_build
    files = ([ROOT / "book" / "chapters" / f"{c}.md" for c in book_chapters] if book_chapters
             else list((ROOT / "book" / "chapters").glob("*.md")))
    pages = "\n".join(p.read_text() for p in files)
    shown = set(re.findall(r"generated/(\w+/\w+\.(?:png|csv))", pages))
    for name in outcomes:
        results = build / "smoke" / "results" / name
        for fig in results.glob("*.png"):
            assert f"{name}/{fig.name}" in shown, f"{name}/{fig.name} is not shown in the book"
        if (results / "comparison.csv").exists():
            assert f"{name}/comparison.csv" in shown, f"{name}: no paper-vs-reproduced table"
    generated = book_html.parents[1] / "book" / "generated"  # the book's own, not the project's
    missing = [ref for ref in shown if not (generated / ref).exists()]
    assert not missing, f"chapter pages show files no notebook wrote: {missing}"
    page = (book_html / "book" / "chapters" / "parameter_paths.html").read_text()
    assert "fig2_1.png" in page and "Paper vs reproduced" in page
    intro = (book_html / "book" / "intro.html").read_text()
    assert "Where the results come from" in intro and "this build" in intro  # provenance
    for file in book_html.rglob("*.html"):
        text = file.read_text()
        assert '<script src="http' not in text and 'src="https://cdn' not in text, file
        assert '<link rel="stylesheet" href="http' not in text, file
    assert (book_html / "_static" / "mathjax").is_dir()
    values = book_values.substitutions(ROOT / "book")
    for file in [*files, *(ROOT / "book").glob("*.md")]:  # numbers quoted from recorded runs
        html = (book_html / file.relative_to(ROOT).with_suffix(".html")).read_text()
        for name in re.findall(r"\{\{\s*(\w+)\s*\}\}", file.read_text()):
            assert name not in html and values[name] in html, f"{file.name}: {name} not rendered"
    notebook_page = next((book_html / "book" / "generated" / "notebooks").rglob("parameter_paths.html"))
    assert "executed with profile" in notebook_page.read_text()
    for page in (book_html / "book" / "generated" / "notebooks").rglob("*.html"):
        assert str(build) not in page.read_text(), f"{page.name} shows the test's build folder"


def test_every_notebook_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in NOTEBOOKS.values():
        assert f"file: book/chapters/{nb.chapter}" in toc, nb.chapter
        assert f"glob: book/generated/notebooks/{nb.chapter}/*" in toc, nb.chapter


# ------------------------------------------------------------------ errors before any work
def run_cli(capsys, *args):
    code = cli.main(["run", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-p", "colour=3"], "not in the parameters cell"),
    (["-p", "epochs=two"], "must be int"),
    (["-p", "epochs=-3"], "must be at least 1"),
    (["-p", "epochs=0"], "must be at least 1"),
    (["-p", "channels=[]"], "must not be empty"),
    (["-p", "dataset=imagenet"], "must be one of digits, cifar10"),
    (["-p", "seeds=0"], "must be at least 1"),
    (["nonexistent"], "unknown notebook"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_cli_rejects_bad_parameters_before_running(capsys, monkeypatch, args, message):
    monkeypatch.chdir(ROOT)
    selection = [] if args and not args[0].startswith("-") else ["parameter_paths"]
    code, err = run_cli(capsys, *selection, *args)
    assert code == 2 and message in err, err


def test_cli_rejects_unknown_profile(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--profile", "huge"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cli_rejects_cuda_without_gpu_and_names_the_fix(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, err = run_cli(capsys, "parameter_paths", "--device", "cuda")
    assert code == 2 and "no CUDA GPU" in err and "-p device=cpu" in err


def test_device_cpu_as_a_parameter_works(monkeypatch, tmp_path):
    """``-p device=cpu``, which the no-GPU message recommends, is accepted everywhere."""
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    (tmp_path / "_config.yml").symlink_to(ROOT / "_config.yml")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "parameter_paths", "--profile", "paper", "-p", "device=cpu",
                     "-p", "epochs=1", "-p", "seeds=1", "-p", "n_train=64", "-p",
                     "dataset=digits", "--no-notebook"])
    assert code == 0


def test_missing_dataset_fails_before_any_work_and_says_where(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HPOSTUDY_DATA", str(tmp_path))
    code, err = run_cli(capsys, "parameter_paths", "--profile", "cpu")
    assert code == 2 and "cifar10" in err and str(tmp_path) in err
