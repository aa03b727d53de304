"""The README's recipes, followed word for word in a folder outside the repository: adapting
the template notebook to another model and dataset, and re-running a notebook with bare
papermill."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
OTHER_MODEL = '''class Net(nn.Module):
    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_inputs, 12), nn.ReLU(), nn.Linear(12, 8),
                                    nn.Softplus(), nn.Linear(8, n_classes))

    def forward(self, x):
        return self.layers(x)
'''


def recipe(heading: str) -> list[str]:
    """The command lines of the first bash block under ``heading`` in the README."""
    section = README.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines()]


@pytest.fixture
def workdir(tmp_path):
    """A folder outside the repository that sees its notebooks and environment."""
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return tmp_path


def sh(line: str, cwd: Path) -> str:
    proc = subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"`{line}` failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def swap_model(path: Path) -> None:
    source = path.read_text()
    start = source.index("class Net(nn.Module):")
    end = source.index("# %%", start)
    path.write_text(source[:start] + OTHER_MODEL + "\n\n" + source[end:])


def test_adapting_a_notebook_as_the_readme_says(workdir):
    lines = recipe("### Adapting a notebook")
    assert lines[0].startswith("mkdir -p mystudy && cp notebooks/your_own_model.py")
    listing = ""
    for line in lines:
        if line.startswith("#"):  # the edit the README asks for: another model
            swap_model(workdir / "mystudy" / "my_model.py")
            continue
        listing = sh(line, workdir)
    for name in ("methods.csv", "values.csv", "side_by_side.png", "meta.json"):
        assert name in listing.split(), listing
    methods = pd.read_csv(workdir / "build/smoke/results/my_model/methods.csv")
    assert set(methods.method) == {"reverse", "exact", "drmad"}
    exact = methods[methods.method == "exact"].relative_error
    assert (exact < 1e-6).all(), "exact reversal agrees with reverse mode on the new model"
    # the swapped model is the one that ran: 12 + 8 hidden units, breast cancer's 30 features
    values = pd.read_csv(workdir / "build/smoke/results/my_model/values.csv")
    assert values["index"].nunique() == 12 + 8 + 2


def test_the_copied_template_runs_under_bare_papermill(workdir):
    copy = workdir / "elsewhere" / "copy.py"
    copy.parent.mkdir()
    copy.write_text((ROOT / "notebooks" / "your_own_model.py").read_text())
    swap_model(copy)
    sh(".venv/bin/jupytext --to ipynb elsewhere/copy.py -o copy.ipynb", workdir)
    sh(".venv/bin/papermill copy.ipynb out.ipynb -p dataset iris -p T 30 -p seeds 1", workdir)
    folders = list((workdir / "build/smoke/results").glob("hypergradients-*"))
    assert len(folders) == 1, folders  # named by its model and dataset
    methods = pd.read_csv(folders[0] / "methods.csv")
    assert (methods[methods.method == "exact"].relative_error < 1e-6).all()
    # a second copy with the template's own model writes a folder of its own, not over the first
    second = workdir / "second.py"
    second.write_text((ROOT / "notebooks" / "your_own_model.py").read_text())
    sh(".venv/bin/jupytext --to ipynb second.py -o second.ipynb", workdir)
    sh(".venv/bin/papermill second.ipynb out2.ipynb -p dataset iris -p T 30 -p seeds 1", workdir)
    after = sorted((workdir / "build/smoke/results").glob("hypergradients-*"))
    assert len(after) == 2 and folders[0] in after
    assert pd.read_csv(folders[0] / "methods.csv").equals(methods)
    assert all((f / "side_by_side.png").exists() for f in after)
    proc = subprocess.run(["bash", "-c", ".venv/bin/papermill copy.ipynb bad.ipynb -p T0 30"],
                          cwd=workdir, capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown parameter(s) ['T0']" in proc.stderr


def test_rerunning_a_notebook_with_papermill_as_the_readme_says(workdir):
    lines = recipe("### Re-running one notebook with papermill")
    help_text = ""
    for line in lines:
        out = sh(line, workdir)
        if "--help-notebook" in line:
            help_text = out
    assert "epochs" in help_text and "training epochs" in help_text
    results = workdir / "build/smoke/results/parameter_paths"
    assert (results / "comparison.csv").exists() and (results / "fig2_1.png").exists()
    meta = (results / "meta.json").read_text()
    assert '"epochs": 2' in meta and '"status": "complete"' in meta
