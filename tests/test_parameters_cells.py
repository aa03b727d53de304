"""A knob declared once (issue 22.2, issue 24.3): every notebook's parameters cell is what
``hpostudy cells`` writes from its experiment's Config, typed so that ``papermill
--help-notebook`` shows each knob's type and default; the command rewrites that cell only."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hpostudy.study import cells, cli
from hpostudy.study import notebooks as nbs
from hpostudy.study.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[1]
STUDY_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", STUDY_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameters_cell_is_written_from_its_config(path):
    assert nbs.read(path).config is not None, f"{path.name}: names no experiment with a Config"
    assert cells.expected(path) == path.read_text(), (
        f"{path.name}: its parameters cell differs from its Config; run `hpostudy cells`")


def test_the_cell_has_every_knob_typed_with_the_config_comment_profile_first():
    from hpostudy.experiments import stn_cnn

    nb = nbs.read(ROOT / "notebooks" / "stn_cnn.py")
    config = stn_cnn.Config
    assert list(nb.parameters) == list(config.knobs()) and list(nb.parameters)[0] == "profile"
    assert nb.parameters["profile"][0] == "smoke"
    assert all(default is None for name, (default, _) in nb.parameters.items()
               if name != "profile")
    comments = config.comments()
    assert nb.parameters["trials"][1] == comments["trials"]
    lines = cells.cell_lines(config)
    assert 'channels: "Optional[list[int]]" = None  # ' + comments["channels"] in lines
    assert 'lr: "Optional[float]" = None  # ' + comments["lr"] in lines


def test_a_comment_on_the_last_line_of_a_long_declaration_is_read():
    from hpostudy.experiments import front_mlp

    assert front_mlp.Config.comments()["meta_methods"] == "estimators of the outer loops (labels)"


@dataclass(frozen=True)
class _Knobs(ExperimentConfig):
    steps: int = 3  # work per seed
    ratio: float = 0.5  # a share; must be at most 1

    NAME = "knobs"


@dataclass(frozen=True)
class _Silent(ExperimentConfig):
    steps: int = 3

    NAME = "silent"


@dataclass(frozen=True)
class _Equals(ExperimentConfig):
    steps: int = 3  # n = steps

    NAME = "equals"


@dataclass(frozen=True)
class _Mapping(ExperimentConfig):
    weights: dict = None  # per-layer weights

    NAME = "mapping"


@pytest.mark.parametrize("config, message", [
    (_Silent, "knob 'steps' .* has no comment"),
    (_Equals, "comment of knob 'steps' .* contains '='"),
    (_Mapping, "knob 'weights' .* has type"),
])
def test_a_knob_papermill_cannot_show_is_refused_with_the_fix(config, message):
    with pytest.raises(cells.CellError, match=message):
        cells.cell_lines(config)


NOTEBOOK = '''# %% [markdown]
# # A copy

# %% tags=["parameters"]
profile = "smoke"  # by hand
steps = 9  # by hand

# %%
{drawing}
'''


def test_the_command_rewrites_the_parameters_cell_only(tmp_path, monkeypatch):
    path = tmp_path / "copy.py"
    path.write_text(NOTEBOOK.format(drawing="x = 1"))
    expected = cells.splice(path.read_text(), cells.cell_lines(_Knobs))
    assert expected.split('# %% tags=["parameters"]\n')[0] == "# %% [markdown]\n# # A copy\n\n"
    assert expected.endswith("ratio: \"Optional[float]\" = None  # a share; must be at most 1\n"
                             "\n# %%\nx = 1\n")
    # a drawing cell edited between reading the configuration and writing is kept
    monkeypatch.setattr(nbs.Notebook, "config", property(lambda self: _Knobs))
    real = cells.cell_lines

    def edit_meanwhile(config, where=None):
        path.write_text(NOTEBOOK.format(drawing="figure(results)"))
        return real(config, where)

    monkeypatch.setattr(cells, "cell_lines", edit_meanwhile)
    assert cells.write(path)
    text = path.read_text()
    assert text.endswith("\n# %%\nfigure(results)\n") and "by hand" not in text
    assert nbs.read(path).parameters == {"profile": ("smoke", "smoke | cpu | paper; a knob left "
                                                     "at None takes its value"),
                                         **{k: (None, v) for k, v in _Knobs.comments().items()
                                            if k != "profile"}}
    monkeypatch.setattr(cells, "cell_lines", real)
    assert not cells.write(path) and cells.stale([path]) == []


def test_check_names_a_stale_cell_and_writes_nothing(tmp_path, capsys):
    copy = tmp_path / "stn_cnn.py"
    text = (ROOT / "notebooks" / "stn_cnn.py").read_text()
    copy.write_text(text.replace('trials: "Optional[int]" = None', "trials = None"))
    assert cli.main(["cells", "--check", str(copy)]) == 1
    assert "stn_cnn.py: its parameters cell differs from its Config" in capsys.readouterr().out
    assert "trials = None" in copy.read_text()
    assert cli.main(["cells", str(copy)]) == 0
    assert copy.read_text() == text
    assert cli.main(["cells", "--check", str(copy)]) == 0


def test_papermill_help_notebook_shows_each_knob_typed(tmp_path):
    jupytext = pytest.importorskip("jupytext")
    notebook = tmp_path / "stn_cnn.ipynb"
    jupytext.write(jupytext.read(ROOT / "notebooks" / "stn_cnn.py"), notebook)
    shown = subprocess.run([sys.executable, "-m", "papermill", str(notebook), "--help-notebook"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "profile: str (default \"smoke\")" in out
    assert "seeds: Optional[int] (default None)" in out
    assert "channels: Optional[list[int]] (default None)" in out
    assert "Unknown type" not in out and "Unable to parse" not in shown.stderr
    from hpostudy.experiments import stn_cnn

    assert all(f"  {name}: " in out for name in stn_cnn.Config.knobs())


def test_the_cell_executes_without_typing_imported(tmp_path):
    namespace: dict = {}
    exec("\n".join(cells.cell_lines(_Knobs)), namespace)
    assert _Knobs.from_notebook(namespace).ratio == 0.5
    assert {k for k in namespace if not k.startswith("__")} == set(_Knobs.knobs())
