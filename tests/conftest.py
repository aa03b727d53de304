"""Shared fixtures: small float64 problems that every hypergradient method can solve quickly."""
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
