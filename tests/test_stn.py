"""Self-Tuning Networks: the compact best-response layers, hyperparameters, augmentation, the
training algorithm and the black-box baselines."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from hpostudy import data
from hpostudy.metaopt import black_box_search
from hpostudy.stn import augment
from hpostudy.stn.hyperparameters import Hyperparameter, HyperparameterSet
from hpostudy.stn.layers import HyperConv2d, HyperLinear, dropout
from hpostudy.stn.models import HyperCNN, HyperLanguageModel
from hpostudy.stn.tasks import ImageTask, LanguageTask
from hpostudy.store import Checkpoint
from hpostudy.stn.train import (STNSettings, perturbed_values, schedule_lookup, train_fixed,
                                train_stn)


def test_hyper_linear_with_zero_hyper_weights_is_nn_linear():
    torch.manual_seed(0)
    layer, plain = HyperLinear(7, 5, n_hyper=3), nn.Linear(7, 5)
    plain.load_state_dict(layer.elem.state_dict())
    x, hyper = torch.randn(4, 7), torch.randn(4, 3)
    assert torch.equal(layer(x, hyper), plain(x))


def test_hyper_conv_with_zero_hyper_weights_is_nn_conv():
    torch.manual_seed(0)
    layer, plain = HyperConv2d(2, 4, 3, n_hyper=2, padding=1), nn.Conv2d(2, 4, 3, padding=1)
    plain.load_state_dict(layer.elem.state_dict())
    x, hyper = torch.randn(3, 2, 6, 6), torch.randn(3, 2)
    assert torch.equal(layer(x, hyper), plain(x))


@pytest.mark.parametrize("make", [lambda: (HyperLinear(6, 4, 2), torch.randn(5, 6)),
                                  lambda: (HyperConv2d(2, 3, 3, 2, padding=1),
                                           torch.randn(5, 2, 5, 5))])
def test_each_example_gets_its_own_hyperparameters(make):
    torch.manual_seed(0)
    layer, x = make()
    nn.init.normal_(layer.to_scalars.weight)
    hyper = torch.randn(5, 2)
    out = layer(x, hyper)
    changed = hyper.clone()
    changed[2] += 1.0
    out2 = layer(x, changed)
    others = [0, 1, 3, 4]
    assert torch.allclose(out[others], out2[others]) and not torch.allclose(out[2], out2[2])
    alone = layer(x[2:3], changed[2:3])
    assert torch.allclose(alone, out2[2:3], atol=1e-6)


def test_gradients_reach_hyperparameters_and_scale():
    torch.manual_seed(0)
    hypers = HyperparameterSet([Hyperparameter("a", "rate", 0.3),
                                Hyperparameter("b", "scale", 1.0)])
    layer = HyperLinear(4, 3, 2)
    nn.init.normal_(layer.to_scalars.weight)
    u = hypers.sample(8)
    loss = layer(torch.randn(8, 4), u).pow(2).mean() - 0.1 * hypers.entropy()
    loss.backward()
    assert hypers.unconstrained.grad.abs().min() > 0
    assert hypers.log_scale.grad.abs().min() > 0


def test_entropy_is_the_gaussian_closed_form():
    hypers = HyperparameterSet([Hyperparameter("a", "rate", 0.5),
                                Hyperparameter("b", "scale", 2.0),
                                Hyperparameter("c", "count", 3.0, low=1.0)], init_scale=0.3)
    with torch.no_grad():
        hypers.log_scale.copy_(torch.tensor([-1.0, 0.2, 0.7]))
    expected = torch.distributions.Normal(0.0, hypers.log_scale.exp()).entropy().sum()
    assert torch.allclose(hypers.entropy(), expected)


def test_constrained_values_round_trip_and_bad_specs_are_refused():
    for spec in (Hyperparameter("p", "rate", 0.3), Hyperparameter("a", "scale", 0.7),
                 Hyperparameter("n", "count", 4.0, low=1.0)):
        u = spec.unconstrain(spec.init)
        assert math.isclose(float(spec.constrain(torch.tensor(u))), spec.init, rel_tol=1e-6)
    assert math.isfinite(Hyperparameter("p", "rate", 0.3).unconstrain(0.0))
    with pytest.raises(ValueError, match="unknown kind"):
        Hyperparameter("p", "probability", 0.3)
    with pytest.raises(ValueError, match="inside"):
        Hyperparameter("p", "rate", 1.2)
    with pytest.raises(ValueError, match="unique"):
        HyperparameterSet([Hyperparameter("p", "rate", 0.3)] * 2)


def test_per_example_dropout_rates():
    torch.manual_seed(0)
    x = torch.ones(2, 20000)
    out = dropout(x, torch.tensor([0.0, 0.5]))
    assert torch.equal(out[0], x[0])
    assert abs(float((out[1] == 0).float().mean()) - 0.5) < 0.02
    assert abs(float(out[1].mean()) - 1.0) < 0.03  # inverted dropout keeps the mean
    assert dropout(x, None) is x


def test_augmentations():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8)
    zero = torch.zeros(4)
    for name, transform in augment.CONTINUOUS.items():
        assert torch.allclose(transform(x, zero), x, atol=1e-5), name
    c = augment.contrast(x, torch.full((4,), 0.5))
    assert torch.allclose(c.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)
    assert torch.equal(augment.cutout(x, zero, torch.full((4,), 3.0)), x)
    cut = augment.cutout(x, torch.ones(4), torch.full((4,), 3.0))
    holes = (cut == 0).all(dim=1).sum(dim=(1, 2))
    assert ((holes >= 1) & (holes <= 9)).all()
    grey = torch.randn(2, 1, 8, 8)
    out = augment.augment(grey, {"hue": torch.ones(2), "saturation": torch.ones(2)})
    assert torch.equal(out, grey)  # colour-only jitters skip greyscale images


def test_language_model_shapes_and_names():
    torch.manual_seed(0)
    model = HyperLanguageModel(30, 8, 8, layers=2)
    assert [s.name for s in model.specs] == list(HyperLanguageModel.HYPERPARAMETERS)
    tokens = torch.randint(30, (3, 5))
    hypers = HyperparameterSet(model.specs)
    u = hypers.sample(3)
    logits, penalty = model(tokens, u, hypers.constrain(u))
    assert logits.shape == (3, 5, 30) and penalty > 0
    logits, penalty = model(tokens, u, None)
    assert float(penalty) == 0.0
    with pytest.raises(ValueError, match="unknown LSTM hyperparameters"):
        HyperLanguageModel(30, tuned=("dropout",))


def _digits_task():
    return ImageTask(data.load_digits(image=True), 64, seed=0)


def test_stn_moves_a_bad_dropout_rate_toward_the_known_good_one():
    """On a short run of a small CNN the network underfits, so little dropout is best: we check
    that here with plain training, then start the STN at the bad rate 0.5."""
    task = _digits_task()

    def model():
        torch.manual_seed(0)
        return HyperCNN((1, 8, 8), (8, 16), (32,), augmentations=())

    bad = {name: 0.5 for name in model().dropout_names}
    good = {name: 0.05 for name in bad}
    loss_bad = train_fixed(model(), task, 300, lambda t: bad, lr=3e-3).val_loss.iloc[-1]
    loss_good = train_fixed(model(), task, 300, lambda t: good, lr=3e-3).val_loss.iloc[-1]
    assert loss_good < loss_bad
    torch.manual_seed(0)
    result = train_stn(model(), task, 300, STNSettings(lr=3e-3, hyper_lr=0.03), init=bad,
                       eval_every=100, progress=None)
    assert all(result["final"][name] < 0.2 for name in bad)
    curve = result["curve"]
    assert curve.val_loss.iloc[-1] < 0.5 * curve.val_loss.iloc[0]
    assert set(result["schedule"].hyperparameter) == set(bad)


def test_stn_resumes_from_its_checkpoint(tmp_path):
    task = _digits_task()

    def run(steps, checkpoint):
        torch.manual_seed(0)
        model = HyperCNN((1, 8, 8), (4,), (8,), augmentations=())
        return train_stn(model, task, steps, STNSettings(), eval_every=10,
                         checkpoint=checkpoint, progress=None)

    whole = run(40, None)
    run(20, Checkpoint(tmp_path / "stn.pt"))
    resumed = run(40, Checkpoint(tmp_path / "stn.pt"))
    pd.testing.assert_frame_equal(whole["schedule"], resumed["schedule"])
    assert whole["curve"].val_loss.tolist() == resumed["curve"].val_loss.tolist()


def test_stn_stops_with_a_clear_message_on_nan():
    task = _digits_task()
    torch.manual_seed(0)
    model = HyperCNN((1, 8, 8), (4,), (8,), augmentations=())
    with pytest.raises(FloatingPointError, match="lower the learning rates"):
        train_stn(model, task, 50, STNSettings(lr=1e12), eval_every=10, progress=None)


def test_language_task_batches_are_a_function_of_the_step():
    corpus = data.generated_corpus(vocab=20, tokens=2000, seed=1)
    task = LanguageTask(corpus, batch_size=4, bptt=6, seed=3)
    x, y = task.train_batch(5)
    x2, y2 = task.train_batch(5)
    assert torch.equal(x, x2) and torch.equal(x[:, 1:], y[:, :-1])
    with pytest.raises(ValueError, match="bptt"):
        LanguageTask(corpus, 4, bptt=500)


def test_schedules_replay_and_noise():
    schedule = pd.DataFrame({"step": [0, 10, 20], "hyperparameter": "p",
                             "value": [0.1, 0.2, 0.3], "scale": 0.5})
    at = schedule_lookup(schedule)
    assert at(0) == {"p": 0.1} and at(15) == {"p": 0.2} and at(99) == {"p": 0.3}
    wave = perturbed_values({"p": 0.5}, "sinusoid", 0.1, period=4)
    assert [round(wave(t)["p"], 6) for t in range(4)] == [0.5, 0.6, 0.5, 0.4]
    assert perturbed_values({"p": 0.9}, "sinusoid", 0.2, 4)(1)["p"] == 0.95
    with pytest.raises(ValueError, match="unknown noise"):
        perturbed_values({"p": 0.5}, "uniform", 0.1, 4)


def test_black_box_search_baselines(tmp_path):
    def f(p):
        return (p["a"] - 0.3) ** 2 + math.log10(p["b"] / 3) ** 2

    space = {"a": (0.0, 1.0), "b": (0.1, 100.0, "log")}
    grid = black_box_search(f, space, "grid", 9)
    assert sorted(set(grid.a)) == [0.0, 0.5, 1.0]
    assert sorted(round(b, 6) for b in set(grid.b)) == [0.1, round(0.1 * 1000 ** 0.5, 6), 100.0]
    for method in ("random", "bayes"):
        df = black_box_search(f, space, method, 12, seed=0)
        assert len(df) == 12 and df.best_value.is_monotonic_decreasing
        assert (df.seconds.diff().dropna() >= 0).all() and df.best_value.iloc[-1] < 0.5
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = []
    black_box_search(lambda p: calls.append(p) or f(p), space, "random", 3, storage=storage)
    again = black_box_search(lambda p: calls.append(p) or f(p), space, "random", 5,
                             storage=storage)
    assert len(calls) == 5 and len(again) == 5  # resumed: two more trials, not five
    with pytest.raises(ValueError, match="unknown search"):
        black_box_search(f, space, "hyperband", 3)
    with pytest.raises(ValueError, match="low < high"):
        black_box_search(f, {"a": (1.0, 0.0)}, "random", 3)
