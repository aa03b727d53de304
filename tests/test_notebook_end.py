"""Issue 21, the gap between a run and its figures: a notebook's folder is complete only once the
notebook's last cell is done. Its run's marker stays (status ``drawing``, held by the kernel)
while the notebook draws; a kernel killed between the run cell and the figure cell, or a figure
cell that raises, leaves the folder incomplete, and ``hpostudy record`` refuses it. Bare papermill
runs at the smallest size, and a notebook run as a script by ``hpostudy run --no-notebook``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpostudy import store

from .tiny_project import tiny_notebook, tiny_project

NOTEBOOK = tiny_notebook(between='''
# %%
import os
import signal

if os.environ.get("TINY_END") == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ.get("TINY_END") == "raises":
    raise RuntimeError("the figure cell failed")
''')


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The tiny project, its notebook killed or failing between its run and its figure as
    ``TINY_END`` says; the current folder."""
    return tiny_project(tmp_path, monkeypatch, NOTEBOOK)


def papermill(project: Path, folder: Path, end: str) -> subprocess.CompletedProcess:
    import jupytext

    notebook = project / "tiny.ipynb"
    jupytext.write(jupytext.read(project / "notebooks" / "tiny.py"), notebook)
    return subprocess.run([sys.executable, "-m", "papermill", str(notebook),
                           str(project / "out.ipynb"), "-p", "output_dir", str(folder),
                           "--no-progress-bar"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "TINY_END": end, "HPOSTUDY_THREADS": "1"})


@pytest.mark.parametrize("end, why", [
    ("killed", "its notebook stopped after the run, before its last cell"),
    ("raises", "a cell after the run raised RuntimeError: the figure cell failed"),
])
def test_a_notebook_that_ends_before_its_figures_leaves_its_folder_incomplete(project, end,
                                                                                why):
    from hpostudy.study import record

    folder = project / "build" / "smoke" / "results" / "tiny"
    done = papermill(project, folder, end)
    assert done.returncode != 0
    assert (folder / "meta.json").exists() and not (folder / "curve.png").exists()
    assert store.folder_state(folder) == "incomplete"
    assert why in store.incomplete_reason(folder)
    with pytest.raises(FileNotFoundError, match="tiny: incomplete"):
        record.record_results("smoke", ["tiny"], target=project / "recorded")

    again = papermill(project, folder, "")  # the same notebook again: complete, figure listed
    assert again.returncode == 0, again.stderr[-2000:]
    assert store.folder_state(folder) == "complete"
    assert "curve.png" in store.read_meta(folder)["files"]


def test_a_notebook_run_as_a_script_is_complete_only_after_its_last_line(project, monkeypatch):
    from hpostudy.study import execute

    monkeypatch.setenv("TINY_END", "killed")
    (outcome,) = execute.run_notebooks(["tiny"], "smoke", None, {}, progress=False, direct=True)
    assert outcome.status == "failed"
    assert "before its last cell" in store.incomplete_reason(outcome.results)
    monkeypatch.setenv("TINY_END", "")
    (outcome,) = execute.run_notebooks(["tiny"], "smoke", None, {}, progress=False, direct=True)
    assert outcome.status == "ran", outcome.error
    assert store.folder_state(outcome.results) == "complete"
    assert sorted(store.read_meta(outcome.results)["files"]) == ["curve.png", "values.csv"]
