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
