"""Parameters a user can discover: ``hpostudy show``, "did you mean" for a misspelt knob, and
a one-line error under papermill."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hpostudy.experiments import hypergradients, parameter_paths
from hpostudy.study.cli import main
from hpostudy.study.config import ParameterError

ROOT = Path(__file__).resolve().parents[1]


def test_show_prints_every_knob_with_type_range_profile_value_and_comment(capsys):
    assert main(["show", "your_own_model", "--profile", "cpu"]) == 0
    out = capsys.readouterr().out
    for knob in hypergradients.Config.knobs():
        assert f"\n  {knob} " in out, knob
    assert "T              1000  (int, >= 1)\n" in out  # the cpu profile's value
    assert "training steps per hypergradient" in out
    assert "methods        ('reverse', 'exact', 'drmad')  (tuple[str, ...], reverse | exact" in out
    assert "mini-batch size" in out  # no comment in Config: the parameters cell's


def test_a_misspelt_knob_is_answered_with_the_closest_one():
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['epoch'\] for "
                                             r"'parameter_paths' \(did you mean 'epochs'\?\)"):
        parameter_paths.Config.for_profile("smoke", epoch=2)


def test_a_bad_parameter_under_papermill_is_one_line(tmp_path):
    bin_ = Path(sys.executable).parent
    subprocess.run([str(bin_ / "jupytext"), "--to", "ipynb", str(ROOT / "notebooks/parameter_paths.py"),
                    "-o", "pp.ipynb"], cwd=tmp_path, check=True, capture_output=True)
    proc = subprocess.run([str(bin_ / "papermill"), "pp.ipynb", "out.ipynb", "-p", "profile",
                           "smoke", "-p", "epoch", "2"], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    kernel = proc.stderr.split('Exception encountered at "In [', 1)[1].splitlines()[1:]
    kernel = [line for line in kernel if line.strip()]
    assert kernel == [line for line in kernel if line.startswith("ParameterError: unknown")]
    assert len(kernel) == 1 and "did you mean 'epochs'?" in kernel[0]
