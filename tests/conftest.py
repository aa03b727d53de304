"""Shared fixtures: small float64 problems that every hypergradient method can solve quickly;
the study's notebooks executed once on smoke, and the book built from them (both expensive,
shared by every test of the session that needs them)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hpostudy.data import load_digits
from hpostudy.dynamics import Problem, SGDMomentum
from hpostudy.hyper import Group, HyperSpace
from hpostudy.hypergrad import effective_gamma
from hpostudy.models import MLP, FlatModel
from hpostudy.problems import ClassificationTask

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _pinned_threads():
    torch.set_num_threads(1)  # bitwise-repeatable gradients (exact reversal)
    yield


def mlp_task(dtype=torch.float64, hidden=(12,), lr_hyper=True, activation="tanh", n_train=200,
             batch_size=25, seed=0):
    """A small MLP on digits with per-unit log10 L2 (and per-layer log learning rates)."""
    splits = load_digits(seed=seed)
    splits.x_train, splits.y_train = splits.x_train[:n_train], splits.y_train[:n_train]
    splits = splits.to(dtype=dtype)
    model = FlatModel(MLP(64, hidden, 10, activation=activation, seed=seed).to(dtype))
    groups = [Group("l2", "log10_l2", "unit", init=-2.5)]
    if lr_hyper:
        groups.append(Group("lr", "log_lr", "layer", init=0.0, params=model.names))
    space = HyperSpace(model, groups)
    task = ClassificationTask(model, splits, space, batch_size=batch_size, seed=seed)
    return task, task.problem(model.initial(dtype)), space


@pytest.fixture
def mlp():
    task, problem, space = mlp_task()
    dynamics = SGDMomentum(lr=0.2, momentum=effective_gamma(0.9),
                           lr_hyper=lambda th: space.learning_rate(th))
    theta = space.init()
    theta = theta + 0.1 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(1),
                                      dtype=theta.dtype)
    return problem, dynamics, theta, space


def quadratic(dim: int = 3):
    """:math:`L = \\tfrac12 \\sum_j e^{\\theta_j}(w_j - c_j)^2`, :math:`f = \\tfrac12\\|w - b\\|^2`."""
    c = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)[:dim]
    b = torch.tensor([0.3, -1.0, 1.5], dtype=torch.float64)[:dim]

    def train_loss(w, theta, t):
        return 0.5 * (torch.exp(theta) * (w - c) ** 2).sum()

    def val_loss(w, theta):
        return 0.5 * ((w - b) ** 2).sum()

    w0 = torch.zeros(dim, dtype=torch.float64)
    return Problem(train_loss, val_loss, w0), c, b


def killed_on_call(monkeypatch, owner, name: str, n: int, run) -> None:
    """A run killed midway: call ``run()`` with ``owner.<name>`` replaced by a wrapper that
    raises ``KeyboardInterrupt`` at its ``n``-th call (the calls before it run as usual), check
    that the interrupt ended the run, then put the original back so that the caller can resume.

    Args:
        monkeypatch: the test's monkeypatch.
        owner: the module or object whose attribute is replaced.
        name: the attribute: a function the run calls once per unit of work.
        n: the call that is killed (1: the first).
        run: starts the run (no arguments)."""
    real, calls = getattr(owner, name), []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(owner, name, real)


# ------------------------------------------------------------------ the smoke build and the book
ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption(
        "--book-chapters", nargs="+", metavar="CHAPTER", default=None,
        help="run only the notebooks of these chapter pages on smoke and build the book of "
             "these chapters only (while other chapters cannot run); default: all")


@pytest.fixture(scope="session")
def book_chapters(request) -> list[str] | None:
    """The chapters the smoke build covers (None: every chapter)."""
    return request.config.getoption("--book-chapters")


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory, book_chapters):
    """The study's notebooks executed once on the smoke profile: (build folder, outcomes by
    notebook name)."""
    from hpostudy.study import execute, notebooks as nbs

    names = [n for n, nb in nbs.discover(ROOT).items()
             if book_chapters is None or nb.chapter in book_chapters]
    build = tmp_path_factory.mktemp("build")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        outcomes = execute.run_notebooks(names, "smoke", None, {}, build=build, progress=False)
    return build, {o.name: o for o in outcomes}


@pytest.fixture(scope="session")
def book_html(smoke_build, book_chapters, tmp_path_factory) -> Path:
    """The HTML book built (Sphinx -W) from the smoke build in a temporary folder (never the
    project's own ``_build/html`` or ``book/generated``); its HTML folder."""
    from hpostudy.study import book

    build, _ = smoke_build
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        return book.build_book("smoke", build=build, chapters=book_chapters,
                               output=tmp_path_factory.mktemp("book"))
