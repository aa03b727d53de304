"""Models: shapes, sizes, functional use, batch-norm statistics for evaluation."""
from __future__ import annotations

import torch
from torch.func import grad

from hpostudy.data import load_digits
from hpostudy.hyper import Group, HyperSpace
from hpostudy.models import MLP, DenseNet, FlatModel, SmallCNN, seeded
from hpostudy.problems import ClassificationTask


def test_densenet_40_has_the_papers_size_and_shape():
    model = DenseNet(depth=40, growth=12, first=16)
    n = sum(p.numel() for p in model.parameters())
    assert 0.95e6 < n < 1.1e6  # "1.0M" in Huang et al. (2017), Table 2
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_flat_model_matches_the_module_and_differentiates_twice():
    module = SmallCNN((1, 8, 8), channels=(4, 4), hidden=8, seed=1)
    flat = FlatModel(module)
    x = torch.randn(5, 1, 8, 8)
    module.eval()
    assert torch.allclose(flat(flat.initial(), x), module(x))
    module.train()
    w = flat.initial()
    with seeded(3, 7):
        a = flat(w, x)
    with seeded(3, 7):
        b = flat(w, x)
    assert torch.equal(a, b)  # dropout masks are a function of (seed, step)
    g = grad(lambda v: flat(v, x).square().sum())(w)
    assert g.shape == w.shape and g.abs().sum() > 0


def test_batch_norm_statistics_are_recomputed_for_evaluation():
    splits = load_digits(image=True)
    splits.x_train, splits.y_train = splits.x_train[:128], splits.y_train[:128]
    model = FlatModel(DenseNet(depth=7, growth=4, first=4, blocks=3, dropout=0.0,
                               in_channels=1))
    space = HyperSpace(model, [Group("l2", "log10_l2", "scalar", init=-4.0)])
    task = ClassificationTask(model, splits, space, batch_size=32)
    w = model.initial()
    errors = task.errors(w, space.init())
    bn = next(m for m in model.module.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert errors == task.errors(w, space.init())  # a function of w alone
    assert 0.0 <= errors["val_error"] <= 1.0
    before = bn.running_mean.clone()
    g = grad(task.train_loss)(w, space.init(), 0)  # functional steps leave statistics alone
    assert g.shape == w.shape and torch.equal(bn.running_mean, before)


def test_mlp_rejects_unknown_activation():
    import pytest

    with pytest.raises(ValueError, match="activation"):
        MLP(4, (3,), 2, activation="swish")
