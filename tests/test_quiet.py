"""Quiet runs: a healthy notebook run through the CLI prints no WARNING or ERROR line (no
kernel transport warning, no interrupt caught at shutdown) and its executed notebook holds no
progress-widget warning."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_healthy_cli_run_prints_no_warning_or_error(tmp_path):
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    hpostudy = Path(sys.executable).parent / "hpostudy"
    proc = subprocess.run([str(hpostudy), "run", "your_own_model", "--profile", "smoke",
                           "-p", "T=20", "-p", "dataset=iris"], cwd=tmp_path,
                          capture_output=True, text=True)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed[-3000:]
    loud = [line for line in printed.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not loud, "\n".join(loud)
    executed = tmp_path / "build/smoke/executed/your_own_model.ipynb"
    outputs = json.dumps([cell.get("outputs", []) for cell in
                          json.loads(executed.read_text())["cells"]])
    for noise in ("TqdmWarning", "IProgress", "WARNING", "ERROR"):
        assert noise not in outputs, noise


def test_the_progress_bar_needs_no_widgets_it_cannot_draw():
    import tqdm.std

    from hpostudy.progress import tqdm as bar

    if importlib.util.find_spec("ipywidgets") is None:
        assert bar is tqdm.std.tqdm


def test_bare_papermill_starts_a_quiet_kernel(tmp_path):
    """The installed kernelspec (Makefile: ``python -m hpostudy.study.kernel``) drops the
    plain-TCP warning that a kernel started by bare papermill prints, and nothing else."""
    from hpostudy.study.kernel import kernelspec_argv

    spec = Path(sys.prefix) / "share/jupyter/kernels/python3/kernel.json"
    assert json.loads(spec.read_text())["argv"] == kernelspec_argv(), \
        f"{spec} is not the quiet kernelspec: run `{sys.executable} -m hpostudy.study.kernel`"
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": "import logging\nlogging.getLogger('IPKernelApp').warning('kept')\n"
                      "print(1 + 1)"}
    notebook = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3",
                "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "in.ipynb").write_text(json.dumps(notebook))
    papermill = Path(sys.executable).parent / "papermill"
    proc = subprocess.run([str(papermill), "in.ipynb", "out.ipynb", "--log-output"],
                          cwd=tmp_path, capture_output=True, text=True)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed[-3000:]
    assert "without encryption" not in printed and "kept" in printed  # other warnings stay
    assert "2" in json.dumps(json.loads((tmp_path / "out.ipynb").read_text())["cells"][0])
