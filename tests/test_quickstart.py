"""The README's library quick start, run word for word (the book's page shows the same code),
and the conventions it relies on: exact reversal's rounded momentum is announced, and
``HyperSpace.describe`` names every entry of theta and what is left unpenalized."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from hpostudy import hypergrad as hg
from hpostudy.hyper import Group, HyperSpace
from hpostudy.models import FlatModel

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> str:
    section = (ROOT / "README.md").read_text().split("### The library from a script", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_book_shows_the_readme_quick_start():
    assert quick_start() in (ROOT / "book/chapters/your_own_model.md").read_text()


def test_the_readme_quick_start_runs_word_for_word(capsys):
    code = quick_start()
    assert 20 <= len([line for line in code.splitlines() if line.strip()]) <= 30
    namespace = {"__name__": "__quickstart__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a quick start that warns teaches nothing
        exec(compile(code, "README quick start", "exec"), namespace)
    out = capsys.readouterr().out
    assert "theta[0] body.0.weight" in out and "theta[1] body.2.weight" in out
    assert "not penalized: body.0.bias, body.2.bias" in out and "log10" in out
    printed = [line.split()[0] for line in out.splitlines() if line.split()
               and line.split()[0] in ("reverse", "exact", "drmad")]
    assert printed == ["reverse", "exact", "drmad"]
    # the objects it leaves agree with what it claims: exact equals reverse to rounding
    problem, dynamics, theta = namespace["problem"], namespace["dynamics"], namespace["theta"]
    reverse = hg.hypergradient("reverse", problem, dynamics, theta, T=100).hypergrad
    assert torch.allclose(reverse, hg.exact(problem, dynamics, theta, 100).hypergrad,
                          rtol=1e-6)


def _tiny():
    from hpostudy import data
    from hpostudy.dynamics import SGDMomentum
    from hpostudy.problems import ClassificationTask

    splits = data.load_table("iris", seed=0).to(dtype=torch.float64)
    torch.manual_seed(0)
    model = FlatModel(nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double())
    space = HyperSpace(model, [Group("l2", "log10_l2", "layer", init=-2.0)])
    task = ClassificationTask(model, splits, space, batch_size=16, seed=0)
    return task.problem(model.initial(torch.float64)), space.init(), SGDMomentum


def test_exact_announces_the_momentum_it_rounds_and_keeps_its_numbers():
    problem, theta, SGDMomentum = _tiny()
    with pytest.warns(hg.MomentumRoundedWarning,
                      match=r"momentum 0\.9 \(step 0\) runs as 0\.899993896484375.*"
                            r"effective_gamma\(0\.9\)"):
        rounded = hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), theta, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        given = hg.exact(problem, SGDMomentum(lr=0.1, momentum=hg.effective_gamma(0.9)),
                         theta, 20)
    # rounding inside exact is what it always did: the same bits either way
    assert torch.equal(rounded.hypergrad, given.hypergrad)
    assert rounded.diagnostics.gamma == given.diagnostics.gamma == hg.effective_gamma(0.9)


def test_describe_names_the_parametrization_and_every_entry():
    model = FlatModel(nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)))
    text = HyperSpace(model, [Group("l2", "log10_l2", "unit", init=-3.0),
                              Group("lr", "log_lr", "scalar")]).describe()
    assert "theta[0:5] 0.weight (one per output unit)" in text
    assert "theta[5:8] 2.weight (one per output unit)" in text
    assert "10**theta_j * w_j**2" in text and "weight_decay" in text
    assert "not penalized: 0.bias, 2.bias (include_bias=True covers biases)" in text
    assert "theta[8] 0.weight, 0.bias, 2.weight, 2.bias" in text and "exp(theta)" in text
