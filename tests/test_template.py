"""The template takes any module PyTorch can differentiate twice: attention, a user package
beside a copied notebook (no PYTHONPATH, checked before the kernel starts), and a folder named
``hpostudy`` that would shadow the package, refused by name."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hpostudy.experiments import hypergradients
from hpostudy.study import notebooks as nbs
from hpostudy.study.execute import preflight

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = '''from torch import nn


class Net(nn.Module):
    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_inputs, 5), nn.Tanh(), nn.Linear(5, n_classes))

    def forward(self, x):
        return self.layers(x)
'''


class Attention(nn.Module):
    """Each feature a token: embedding, one multi-head attention block, mean pooling."""

    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.embed = nn.Linear(1, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = nn.Linear(8, n_classes)

    def forward(self, x):
        tokens = self.embed(x.unsqueeze(-1))
        mixed, _ = self.attn(tokens, tokens, tokens, need_weights=False)  # the fused kernel
        return self.out(mixed.mean(1))


def test_the_template_runs_with_an_attention_block(tmp_path):
    cfg = hypergradients.Config.for_profile("smoke", dataset="iris", T=8,
                                            output_dir=str(tmp_path))
    methods = hypergradients.run(cfg, model=Attention)["methods"]
    assert set(methods.method) == {"reverse", "exact", "drmad"}
    assert (methods[methods.method == "exact"].relative_error < 1e-6).all()


def test_attention_without_a_second_derivative_is_refused_with_the_fix():
    class Fused(nn.Module):
        def __init__(self, n_inputs, n_classes):
            super().__init__()
            self.qkv = nn.Linear(1, 24)
            self.out = nn.Linear(8, n_classes)

        def forward(self, x):
            q, k, v = self.qkv(x.unsqueeze(-1)).chunk(3, -1)
            return self.out(F.scaled_dot_product_attention(q, k, v).mean(1))

    try:
        hypergradients.fingerprint(Fused, 4, 3)
    except ValueError as err:  # the fused CPU kernel has no double backward (torch 2.14)
        assert "cannot be differentiated twice" in str(err)
        assert "hpostudy.models.math_attention()" in str(err)


def _copied_template(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "my_model.py"
    copy.write_text((ROOT / "notebooks" / "your_own_model.py").read_text())
    return copy


def test_a_package_beside_the_notebook_runs_without_pythonpath(tmp_path):
    copy = _copied_template(tmp_path / "mystudy")
    (tmp_path / "mystudy" / "mynets").mkdir()
    (tmp_path / "mystudy" / "mynets" / "__init__.py").write_text("")
    (tmp_path / "mystudy" / "mynets" / "small.py").write_text(PACKAGE)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    hpostudy = Path(sys.executable).parent / "hpostudy"
    proc = subprocess.run([str(hpostudy), "run", str(copy), "-p", "model=mynets.small:Net",
                           "-p", "dataset=iris", "-p", "T=10"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    values = pd.read_csv(tmp_path / "build/smoke/results/my_model/values.csv")
    assert values["index"].nunique() == 5 + 3  # the package's model ran: 5 + 3 units


def test_a_missing_package_fails_before_the_kernel_starts(tmp_path):
    notebook = nbs.resolve([str(_copied_template(tmp_path / "mystudy"))], tmp_path)
    with pytest.raises(ValueError, match=r"model 'nowhere.nets:Net': cannot import module "
                                         r"'nowhere.nets'.*beside the notebook"):
        preflight(notebook, "smoke", None, {"model": "nowhere.nets:Net"})


def test_a_folder_named_hpostudy_beside_the_notebook_is_named(tmp_path):
    copy = _copied_template(tmp_path / "mystudy")
    (tmp_path / "mystudy" / "hpostudy").mkdir()  # a checkout, say
    notebook = nbs.resolve([str(copy)], tmp_path)
    with pytest.raises(nbs.NotebookError, match=r"mystudy/hpostudy would shadow the hpostudy "
                                                r"package.*Rename it"):
        preflight(notebook, "smoke", None, {})
