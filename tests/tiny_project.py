"""A tiny project built in a temporary folder, for the tests of runs, folders and records
(``test_nothing_lost``, ``test_notebook_end``): one experiment (``tinyexp``, which writes one
table in its run) and one notebook (``notebooks/tiny.py``) that runs it and draws a figure
after the run, as the study's notebooks do."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TINY_EXPERIMENT = '''
import dataclasses

import pandas as pd

from hpostudy.study.config import ExperimentConfig
from hpostudy.study.experiment_run import prepare


@dataclasses.dataclass(frozen=True)
class Config(ExperimentConfig):
    epochs: int = 2  # rows of the table
    NAME = "tinyexp"


def run(cfg):
    with prepare(cfg) as run:
        run.save_tables(values=pd.DataFrame({"epoch": range(cfg.epochs)}))
'''

_RUN = '''# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   hpostudy:
#     chapter: tiny
#     experiment: tinyexp
# ---

# %% tags=["parameters"]
profile = "smoke"  # smoke | cpu | paper
device = None  # cpu | cuda
output_dir = None  # tables and figures
epochs = None  # rows

# %%
import matplotlib.pyplot as plt

import tinyexp
from hpostudy.figures import save

cfg = tinyexp.Config.from_notebook(globals())
tinyexp.run(cfg)
'''

_FIGURE = '''fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
save(fig, cfg.output_dir, "curve")
'''


def tiny_notebook(between: str = "") -> str:
    """The text of the tiny notebook (jupytext percent format): its parameters cell, then the
    run and the figure ``curve`` in one cell.

    Args:
        between: cells (percent format) to run after the run and before the figure; when
            given, the figure is drawn in a cell of its own after them.

    Returns:
        The notebook's text."""
    if not between:
        return _RUN + _FIGURE
    return f"{_RUN}\n{between.strip()}\n\n# %%\n{_FIGURE}"


TINY_NOTEBOOK = tiny_notebook()


def tiny_project(tmp_path: Path, monkeypatch, notebook: str = TINY_NOTEBOOK) -> Path:
    """Build the tiny project in ``tmp_path / "project"`` and make it the current folder, with
    ``tinyexp`` importable here and in the processes it starts (Jupyter kernels).

    Args:
        tmp_path: the test's temporary folder.
        monkeypatch: the test's monkeypatch (undoes the folder, path and environment changes).
        notebook: the text of ``notebooks/tiny.py``.

    Returns:
        The project's root folder."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "_config.yml").write_text("title: test\n")
    (root / "tinyexp.py").write_text(TINY_EXPERIMENT)
    (root / "notebooks" / "tiny.py").write_text(notebook)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), str(ROOT)]))
    return root
