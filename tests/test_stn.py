"""Self-Tuning Networks: the compact best-response layers, hyperparameters in the searches'
boxes, augmentation, the training algorithm, divergence, the black-box baselines, and the four
experiments' fair comparisons, resumption and refusals."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import optuna
import pytest
import torch
from torch import nn

from hpostudy import data, store
from hpostudy.experiments import stn_cnn, stn_lstm, stn_schedules, stn_sensitivity
from hpostudy.metaopt import black_box_search
from hpostudy.settings import stn as settings
from hpostudy.stn import augment
from hpostudy.stn.hyperparameters import Hyperparameter, HyperparameterSet
from hpostudy.stn.layers import HyperConv2d, HyperLinear, HyperLSTM, dropout
from hpostudy.stn.models import HyperCNN, HyperLanguageModel
from hpostudy.stn.tasks import ImageTask, LanguageTask, frequent_words
from hpostudy.stn.train import (DIVERGENCE_SHARE, Diverged, STNSettings, check_converged,
                                diverged, perturbed_values, schedule_lookup, train_fixed,
                                train_stn)
from hpostudy.store import Checkpoint
from hpostudy.study.config import ParameterError

from .conftest import SHARED_DATA, killed_on_call


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


def test_without_hyperparameters_a_layer_is_its_plain_layer():
    """The baselines train the plain network: ``hyper=None`` skips the correction even when
    the hyper-weights are not zero."""
    torch.manual_seed(0)
    for layer, x in ((HyperLinear(6, 4, 2), torch.randn(5, 6)),
                     (HyperConv2d(2, 3, 3, 2, padding=1), torch.randn(5, 2, 5, 5))):
        nn.init.normal_(layer.to_scalars.weight)
        assert torch.equal(layer(x, None), layer.elem(x))
        assert not torch.allclose(layer(x, torch.ones(5, 2)), layer.elem(x))
    lstm = HyperLSTM(3, 4, 2)
    nn.init.normal_(lstm.hidden_gates.to_scalars.weight)
    plain = nn.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        plain.weight_ih_l0.copy_(lstm.input_gates.elem.weight)
        plain.bias_ih_l0.copy_(lstm.input_gates.elem.bias)
        plain.weight_hh_l0.copy_(lstm.hidden_gates.elem.weight)
        plain.bias_hh_l0.copy_(lstm.hidden_gates.elem.bias)
    x = torch.randn(2, 5, 3)
    assert torch.allclose(lstm(x, None), plain(x)[0], atol=1e-6)


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
    hypers = HyperparameterSet([Hyperparameter("a", 0.0, 0.8),
                                Hyperparameter("b", 0.01, 4.0, log=True)], {"a": 0.3})
    layer = HyperLinear(4, 3, 2)
    nn.init.normal_(layer.to_scalars.weight)
    u = hypers.sample(8)
    loss = layer(torch.randn(8, 4), u).pow(2).mean() - 0.1 * hypers.entropy()
    loss.backward()
    assert hypers.unconstrained.grad.abs().min() > 0
    assert hypers.log_scale.grad.abs().min() > 0


def test_entropy_is_the_gaussian_closed_form():
    hypers = HyperparameterSet([Hyperparameter("a", 0.0, 0.8),
                                Hyperparameter("b", 0.01, 4.0, log=True),
                                Hyperparameter("c", 1.0, 16.0, discrete=True)], init_scale=0.3)
    with torch.no_grad():
        hypers.log_scale.copy_(torch.tensor([-1.0, 0.2, 0.7]))
    expected = torch.distributions.Normal(0.0, hypers.log_scale.exp()).entropy().sum()
    assert torch.allclose(hypers.entropy(), expected)


def test_values_live_in_the_searches_boxes_and_start_at_their_centres():
    rate, coefficient = Hyperparameter("p", 0.0, 0.8), Hyperparameter("a", 0.01, 4.0, log=True)
    holes = Hyperparameter("n", 0.0, 4.0, discrete=True)
    assert rate.centre == pytest.approx(0.4) and holes.centre == pytest.approx(2.0)
    assert coefficient.centre == pytest.approx(math.sqrt(0.01 * 4.0))  # log-uniform box
    assert coefficient.bounds == (0.01, 4.0, "log") and rate.bounds == (0.0, 0.8)
    for spec, value in ((rate, 0.3), (coefficient, 0.5), (holes, 3.0)):
        u = spec.unconstrain(value)
        assert float(spec.constrain(torch.tensor(u))) == pytest.approx(value, rel=1e-5)
        assert spec.at(spec.position(value)) == pytest.approx(value)
    huge = torch.tensor([-1e4, -30.0, 0.0, 30.0, 1e4])
    for spec in (rate, coefficient, holes):
        values = spec.constrain(huge)
        assert (values >= spec.low).all() and (values <= spec.high).all()
    assert math.isfinite(rate.unconstrain(0.0))  # an edge is moved just inside
    hypers = HyperparameterSet([rate, coefficient, holes])
    assert hypers.values() == pytest.approx({"p": 0.4, "a": 0.2, "n": 2.0})
    with pytest.raises(ValueError, match="low < high"):
        Hyperparameter("p", 0.8, 0.0)
    with pytest.raises(ValueError, match="low > 0"):
        Hyperparameter("a", 0.0, 4.0, log=True)
    with pytest.raises(ValueError, match="outside its box"):
        rate.unconstrain(0.9)
    with pytest.raises(ValueError, match="unique"):
        HyperparameterSet([rate] * 2)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        HyperparameterSet([rate], {"q": 0.1})


def test_an_stn_never_leaves_the_box():
    """With a huge hyperparameter step the STN is pushed to the edge of its box, never past
    it (the brightness of an unconstrained STN once reached 0.94, outside the searches' 0.5)."""
    task = _digits_task()
    torch.manual_seed(0)
    model = HyperCNN((1, 8, 8), (4,), (8,))
    result = train_stn(model, task, 40, STNSettings(hyper_lr=5.0), eval_every=40, progress=None)
    boxes = {s.name: s for s in model.specs}
    for row in result["schedule"].itertuples():
        spec = boxes[row.hyperparameter]
        assert spec.low - 1e-6 <= row.value <= spec.high + 1e-6, row  # float32 rounding


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
    assert model.grid_groups() == {"dropout": list(HyperLanguageModel.RATES),
                                   "AR/TAR": ["alpha", "beta"]}
    one_layer = HyperLanguageModel(30, 8, 8, layers=1)
    assert "drop_hidden" not in [s.name for s in one_layer.specs]  # it acts between layers
    only = HyperLanguageModel(30, 8, 8, layers=1, tuned=("drop_output",), max_rate=0.95)
    assert [(s.name, s.high) for s in only.specs] == [("drop_output", 0.95)]
    values = {"drop_output": torch.zeros(3)}
    torch.manual_seed(1)
    first = only(tokens, None, values)
    torch.manual_seed(1)
    assert torch.equal(first[0], only(tokens, None, None)[0]), "untuned regularizers are off"
    assert float(first[1]) == 0.0
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
    result = train_stn(model(), task, 300, STNSettings(lr=3e-3, hyper_lr=0.03), start=bad,
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


def test_plain_training_resumes_from_its_checkpoint(tmp_path):
    task = _digits_task()

    def run(steps, checkpoint):
        torch.manual_seed(0)
        model = HyperCNN((1, 8, 8), (4,), (8,))
        values = {s.name: s.centre for s in model.specs}
        return train_fixed(model, task, steps, lambda t: values, eval_every=10,
                           checkpoint=checkpoint)

    whole = run(30, None)
    run(20, Checkpoint(tmp_path / "fixed.pt"))
    resumed = run(30, Checkpoint(tmp_path / "fixed.pt"))
    assert whole.val_loss.tolist() == resumed.val_loss.tolist()
    # values read back from a search's table are numpy float64: they train the float32 network
    torch.manual_seed(0)
    model = HyperCNN((1, 8, 8), (4,), (8,))
    float64 = {s.name: np.float64(s.centre) for s in model.specs}
    assert train_fixed(model, task, 5, lambda t: float64).val_loss.notna().all()


def test_nan_stops_with_the_step_and_names_only_a_checkpoint_that_exists(tmp_path):
    task = _digits_task()

    def stn(settings, checkpoint=None):
        torch.manual_seed(0)
        model = HyperCNN((1, 8, 8), (4,), (8,), augmentations=())
        return train_stn(model, task, 60, settings, eval_every=10, checkpoint=checkpoint,
                         progress=None)

    with pytest.raises(FloatingPointError, match=r"at training step \d+.*lower the learning "
                                                 "rates") as caught:
        stn(STNSettings(lr=1e12), Checkpoint(tmp_path / "early.pt"))
    assert "saved" not in str(caught.value) and not (tmp_path / "early.pt").exists()
    # a NaN after the first save names the saved file, which exists
    checkpoint = Checkpoint(tmp_path / "late.pt")
    stn(STNSettings(), checkpoint)  # 60 clean steps, saved at every evaluation
    real = task.train_batch
    task.train_batch = lambda step: ((real(step)[0] * math.nan, real(step)[1]) if step >= 70
                                     else real(step))
    torch.manual_seed(0)
    model = HyperCNN((1, 8, 8), (4,), (8,), augmentations=())
    with pytest.raises(FloatingPointError) as caught:
        train_stn(model, task, 100, STNSettings(), eval_every=10, checkpoint=checkpoint,
                  progress=None)
    message = str(caught.value)
    assert "training step 70" in message and str(checkpoint.path) in message
    assert "(step 70)" in message and checkpoint.exists(), message  # saved, then step 70


def test_the_divergence_rule_on_both_sides_of_its_threshold():
    chance = math.log(10)
    assert not diverged(0.5, chance) and not diverged(0.98 * chance, chance)
    assert diverged(DIVERGENCE_SHARE * chance, chance) and diverged(14931.0, chance)
    assert diverged(math.nan, chance) and diverged(math.inf, chance)
    check_converged(pd.DataFrame({"step": [0, 50], "val_loss": [2.3, 1.0]}), chance, "run")
    with pytest.raises(Diverged, match=r"run diverged: its validation loss after 50 training "
                                       r"steps is 14931.*no table or verdict"):
        check_converged(pd.DataFrame({"step": [0, 50], "val_loss": [2.3, 14931.0]}), chance,
                        "run")
    # learned (1.0 at step 50), then rose above the threshold: said to be overfitting
    with pytest.raises(Diverged, match=r"run overfit: its validation loss fell to 1 at training "
                                       r"step 50, then rose to 2.3 after 90 steps.*more "
                                       r"training data"):
        check_converged(pd.DataFrame({"step": [0, 50, 90], "val_loss": [2.4, 1.0, 2.3]}),
                        chance, "run")
    with pytest.raises(Diverged, match=r"run diverged"):  # not finite: diverged, not overfit
        check_converged(pd.DataFrame({"step": [0, 50, 90], "val_loss": [2.4, 1.0, math.nan]}),
                        chance, "run")


def test_language_task_batches_are_a_function_of_the_step():
    corpus = data.generated_corpus(vocab=20, tokens=2000, seed=1)
    task = LanguageTask(corpus, batch_size=4, bptt=6, seed=3)
    x, y = task.train_batch(5)
    x2, y2 = task.train_batch(5)
    assert torch.equal(x, x2) and torch.equal(x[:, 1:], y[:, :-1])
    assert task.chance_loss == pytest.approx(math.log(20))
    short = LanguageTask(corpus, 4, bptt=6, train_tokens=100, eval_tokens=50)
    assert len(short.splits["train"]) == 100 and len(short.splits["test"]) == 50
    assert int(short.train_batch(3)[0].max()) < 20
    with pytest.raises(ValueError, match="bptt"):
        LanguageTask(corpus, 4, bptt=500)


def test_frequent_words_keeps_the_most_frequent_and_maps_the_rest_to_unk():
    vocab = ["a", "<unk>", "b", "c", "d"]
    ids = {w: i for i, w in enumerate(vocab)}
    train = torch.tensor([ids[w] for w in "a b b c c c d a c".split()])
    corpus = data.Corpus(train, torch.tensor([ids["d"], ids["c"]]), torch.tensor([ids["b"]]),
                         vocab, "toy")
    small = frequent_words(corpus, 3)
    assert small.vocab == ["<unk>", "c", "a"]  # <unk> always; then by count, ties by order
    assert [small.vocab[i] for i in small.train] == "a <unk> <unk> c c c <unk> a c".split()
    assert [small.vocab[i] for i in small.valid] == ["<unk>", "c"]
    with pytest.raises(ValueError, match="at least 2"):
        frequent_words(corpus, 1)


def test_schedules_replay_and_noise():
    schedule = pd.DataFrame({"step": [0, 10, 20], "hyperparameter": "p",
                             "value": [0.1, 0.2, 0.3], "scale": 0.5})
    at = schedule_lookup(schedule)
    assert at(0) == {"p": 0.1} and at(15) == {"p": 0.2} and at(99) == {"p": 0.3}
    wave = perturbed_values({"p": 0.5}, "sinusoid", 0.1, 4, 0.0, 0.95)
    assert [round(wave(t)["p"], 6) for t in range(4)] == [0.5, 0.6, 0.5, 0.4]
    assert perturbed_values({"p": 0.9}, "sinusoid", 0.2, 4, 0.0, 0.95)(1)["p"] == 0.95
    noisy = perturbed_values({"p": 0.5}, "gaussian", 0.1, 4, 0.0, 0.95, seed=3)
    again = perturbed_values({"p": 0.5}, "gaussian", 0.1, 4, 0.0, 0.95, seed=3)
    draws = [noisy(t)["p"] for t in range(200)]
    assert [again(t)["p"] for t in reversed(range(200))] == draws[::-1]  # a function of t
    assert 0.08 < float(np.std(draws)) < 0.12
    with pytest.raises(ValueError, match="unknown noise"):
        perturbed_values({"p": 0.5}, "uniform", 0.1, 4, 0.0, 0.95)


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


def test_a_search_can_start_from_a_given_point_and_keep_what_its_objective_reports():
    def f(p):
        return {"value": (p["a"] - 0.3) ** 2, "test": 2 * p["a"], "diverged": False}

    for method in ("random", "bayes"):
        df = black_box_search(f, {"a": (0.0, 1.0)}, method, 4, seed=1, first={"a": 0.5})
        assert df.a.iloc[0] == 0.5 and len(df) == 4
        assert (df.test == 2 * df.a).all() and not df.diverged.any()


# ---------------------------------------------------------------------- the experiments
TINY_CNN = {"steps": 60, "eval_every": 30, "trials": 9, "channels": (8,), "hidden": (16,)}
TINY_LSTM = {"steps": 12, "eval_every": 6, "embed": 8, "hidden": 8, "bptt": 6, "tokens": 2000,
             "batch_size": 8}


@pytest.mark.parametrize("module, knob, value, message", [
    (stn_cnn, "steps", 0, "must be at least 1"),
    (stn_cnn, "trials", 0, "must be at least 1"),
    (stn_cnn, "channels", [], "must not be empty"),
    (stn_cnn, "hidden", [0], "must be at least 1"),
    (stn_cnn, "eval_every", 0, "must be at least 1"),
    (stn_cnn, "n_val", 0, "must be at least 1"),
    (stn_cnn, "seeds", 0, "must be at least 1"),
    (stn_lstm, "bptt", 0, "must be at least 1"),
    (stn_lstm, "vocab", 1, "vocab >= 2"),
    (stn_lstm, "dataset", "wikitext", "must be one of generated, ptb"),
    (stn_schedules, "inits", [], "must not be empty"),
    (stn_schedules, "inits", [0.3], "at least two different rates"),
    (stn_schedules, "inits", [0.3, 0.97], "inside"),
    (stn_cnn, "start", 0.0, "strictly between 0 and 1"),
    (stn_lstm, "start", 1.0, "strictly between 0 and 1"),
    (stn_sensitivity, "ratios", [], "must not be empty"),
    (stn_sensitivity, "ratios", ["2:1"], "reads 'train/val'"),
    (stn_sensitivity, "ratios", ["0/1"], "at least 1"),
])
def test_bad_sizes_are_refused_before_any_work(module, knob, value, message):
    with pytest.raises((ParameterError, ValueError), match=message):
        module.Config.for_profile("smoke", **{knob: value})


def test_the_grid_spans_tied_groups_and_contains_the_start():
    model = HyperCNN((3, 32, 32), (4,), (8,))
    space, values = settings.grid_space(model, 0.5)
    assert space == {"dropout": (0.0, 1.0), "augmentation": (0.0, 1.0)}
    centre = values({"dropout": 0.5, "augmentation": 0.5})
    assert centre == pytest.approx({s.name: s.centre for s in model.specs})
    corner = values({"dropout": 0.0, "augmentation": 1.0})
    assert corner["drop_input"] == 0.0 and corner["drop_2"] == 0.0
    assert corner["hue"] == 0.5 and corner["cutout_holes"] == 4.0
    assert corner["cutout_length"] == 16.0


def _tiny(module, tmp_path, name="out", **changes):
    sizes = TINY_LSTM if module in (stn_lstm, stn_schedules) else TINY_CNN
    sizes = {k: v for k, v in sizes.items() if k in module.Config.knobs()}
    return module.Config.for_profile("smoke", output_dir=str(tmp_path / name),
                                     **{**sizes, **changes})


def test_every_method_gets_the_same_budget_boxes_and_start(tmp_path):
    cfg = _tiny(stn_cnn, tmp_path)
    results = stn_cnn.run(cfg)
    runs = results["runs"].set_index("method")
    # equal budgets: the STN's one network trains as many steps as each search in all
    assert runs.loc["STN", "training_steps"] == cfg.trials * cfg.steps
    assert runs.loc["STN", "networks"] == 1
    for method in ("grid", "random", "bayes"):
        assert runs.loc[method, "networks"] == cfg.trials
        assert runs.loc[method, "training_steps"] == cfg.trials * cfg.steps
    assert (runs.cpu_seconds > 0).all()
    assert results["methods"]["CPU (s)"].ne("n/a").all()
    folder = cfg.out / "checkpoints"
    model = cfg.model(cfg.task(0), 0)
    centre = {s.name: s.centre for s in model.specs}
    assert cfg.starts(model) == pytest.approx(centre)  # start 0.5: every box's centre
    for method in ("random", "bayes"):  # the STN's start is every search's first trial
        study = next(folder.rglob(f"{method}-seed0.db"))
        first = optuna.load_study(study_name=f"{study.parent.name}-{study.stem}",
                                  storage=f"sqlite:///{study}").trials[0].params
        assert first == pytest.approx(centre)
    grid = next(folder.rglob("grid-seed0.db"))
    points = {tuple(t.params.values()) for t in optuna.load_study(
        study_name=f"{grid.parent.name}-{grid.stem}", storage=f"sqlite:///{grid}").trials}
    assert (0.5, 0.5) in points and len(points) == 9  # 3 x 3 over two groups
    best = results["best"].set_index("method")
    for spec in model.specs:
        assert ((best[spec.name] >= spec.low) & (best[spec.name] <= spec.high)).all()
    # a few hundred tiny steps are far below the slides' passes over the data
    assert set(results["comparison"].verdict) == {"not comparable"}
    assert results["comparison"].rule.str.contains("below the claim's scale").all()
    assert (cfg.out / "comparison.csv").exists() and store.folder_state(cfg.out) == "complete"


def test_a_diverged_run_fails_and_writes_no_verdict(tmp_path):
    cfg = _tiny(stn_cnn, tmp_path, lr=3.0, trials=2)
    with pytest.raises((Diverged, FloatingPointError)):
        stn_cnn.run(cfg)
    assert not (cfg.out / "comparison.csv").exists()
    assert store.folder_state(cfg.out) == "incomplete"


def test_a_run_killed_during_a_search_resumes(tmp_path, monkeypatch):
    """A kill during a baseline search (here: an interrupt inside the second random-search
    trial) leaves its study on disk; the next run loads the finished units and finishes the
    search with float hyperparameters read back from the study."""
    whole = stn_cnn.run(_tiny(stn_cnn, tmp_path, "whole", trials=4))["runs"]
    cfg = _tiny(stn_cnn, tmp_path, trials=4)
    # killed in the sixth trial: the grid's four, then the second random one
    killed_on_call(monkeypatch, settings, "train_fixed", 4 + 2, lambda: stn_cnn.run(cfg))
    results = stn_cnn.run(cfg)
    resumed = results["runs"]
    random = results["trials"][results["trials"].method == "random"]
    assert 1 < len(random) <= 4 and random.val_loss.notna().all()
    assert (resumed.networks[resumed.method.isin(["grid", "bayes"])] == 4).all()
    same = resumed.method.isin(["STN", "grid", "bayes"])
    columns = ["val_loss", "test_loss", "val_error", "test_error"]
    pd.testing.assert_frame_equal(resumed.loc[same, columns], whole.loc[same, columns])


def test_schedules_from_several_starts_and_their_rule(tmp_path):
    cfg = _tiny(stn_schedules, tmp_path, inits=(0.3, 0.7))
    results = stn_schedules.run(cfg)
    assert set(results["schedules"].init) == {0.3, 0.7}
    assert set(results["runs"].method) == {"STN", *stn_schedules.FIXED,
                                           "plain LSTM on the STN schedule"}
    assert len(results["comparison"]) == 3
    met = pd.DataFrame({"seed": 0, "init": [0.3] * 4 + [0.7] * 4, "step": [0, 1, 2, 3] * 2,
                        "value": [0.3, 0.4, 0.5, 0.5, 0.7, 0.6, 0.52, 0.5]})
    assert stn_schedules.late_spread(met, (0.3, 0.7)).iloc[0] == pytest.approx(0.0)
    apart = met.assign(value=[0.3] * 4 + [0.7] * 4)
    assert stn_schedules.late_spread(apart, (0.3, 0.7)).iloc[0] == pytest.approx(1.0)


def test_sensitivity_runs_each_distinct_variant_once(tmp_path):
    cfg = _tiny(stn_sensitivity, tmp_path, ratios=("1/1", "2/1"), fixed_scales=(0.5,),
                trials=2)
    results = stn_sensitivity.run(cfg)
    assert set(results["runs"].variant) == {"1/1", "2/1", "fixed 0.5", "learned",
                                            "Bayesian optimization"}
    units = {p.name for p in (cfg.out / "checkpoints").rglob("*.result.pt")}
    assert units == {"1-1-seed0.result.pt", "2-1-seed0.result.pt", "fixed 0.5-seed0.result.pt",
                     "bayes-seed0.result.pt"}  # "learned" is the 2/1 run
    assert len(results["comparison"]) == 2


@pytest.fixture
def no_scale_gate(monkeypatch):
    """The judges' rules without the slides' scale gate (every run passes it)."""
    from hpostudy import verdicts as v
    anywhere = v.Scale(needs={"epochs": 0}, why="test")
    for module in (stn_cnn, stn_lstm, stn_schedules, stn_sensitivity):
        monkeypatch.setattr(module, "SCALE", anywhere)


def test_faster_than_bayes_counts_training_steps(no_scale_gate):
    def progress(stn_curve):
        rows = [{"seed": 0, "method": "bayes", "training_steps": 100 * (k + 1),
                 "best_val_loss": 1.0 + 0.01 * k} for k in range(8)]
        rows += [{"seed": 0, "method": "STN", "training_steps": s, "best_val_loss": loss}
                 for s, loss in stn_curve]
        return pd.DataFrame(rows)

    def runs(stn_steps):
        return pd.DataFrame([{"seed": s, "method": m, "training_steps": n}
                             for s in range(3) for m, n in (("STN", stn_steps), ("bayes", 800))])

    cfg = stn_cnn.Config.for_profile("smoke", seeds=3)
    fast = pd.concat([progress([(0, 2.0), (100, 0.9 + 0.01 * s)]).assign(seed=s)
                      for s in range(3)])
    slow = pd.concat([progress([(0, 2.0), (100, 1.1 + 0.01 * s), (300, 0.9)]).assign(seed=s)
                      for s in range(3)])
    assert stn_cnn.faster_than_bayes(runs(800), fast, cfg, "")["verdict"] == "agree"
    assert stn_cnn.faster_than_bayes(runs(800), slow, cfg, "")["verdict"] == "disagree"
    # an STN that stopped before a quarter of Bayesian optimization's steps: not judged
    short = stn_cnn.faster_than_bayes(runs(100), fast, cfg, "")
    assert short["verdict"] == "not comparable" and "unequal budgets" in short["rule"]


def _versus_runs(stn_lead: float, stn_steps: int = 100, seeds: int = 3) -> pd.DataFrame:
    """Hand-made ``runs`` of an STN-versus-searches run: the STN ``stn_lead`` below every
    search's test loss (with seed noise), each search 4 x 25 = 100 training steps."""
    rows = []
    for s in range(seeds):
        for k, m in enumerate(("grid", "random", "bayes")):
            rows.append({"seed": s, "method": m, "test_loss": 1.0 + 0.01 * ((s + k) % 3),
                         "test_perplexity": 100.0 + s, "training_steps": 100,
                         "cpu_seconds": 10.0})
        rows.append({"seed": s, "method": "STN", "test_loss": 1.0 - stn_lead + 0.002 * s,
                     "test_perplexity": 100.0 + s - 100 * stn_lead,
                     "training_steps": stn_steps, "cpu_seconds": 12.0})
    return pd.DataFrame(rows)


def test_beats_searches_pairs_seeds_and_gates_budget_and_scale(no_scale_gate):
    cfg = stn_cnn.Config.for_profile("smoke", seeds=3, trials=4, steps=25)
    progress = pd.DataFrame([{"seed": s, "method": m, "training_steps": 100,
                              "best_val_loss": 1.0} for s in range(3) for m in ("STN", "bayes")])
    judged = stn_cnn.judge({"runs": _versus_runs(0.1), "progress": progress}, cfg)
    assert judged.verdict.tolist()[:3] == ["agree"] * 3
    assert "budgets per seed: STN 100 training steps; grid search 100 training steps" \
        in judged.setting.iloc[0]
    assert "CPU" not in judged.setting.iloc[0]  # times stay in the methods table
    worse = stn_cnn.judge({"runs": _versus_runs(-0.1), "progress": progress}, cfg)
    assert worse.verdict.tolist()[:3] == ["disagree"] * 3
    assert worse["size"].tolist()[:3] == ["opposite"] * 3
    # the recorded runs' STN: 400 steps against each search's 10,000
    short = stn_cnn.judge({"runs": _versus_runs(0.1, stn_steps=4), "progress": progress}, cfg)
    assert set(short.verdict) == {"not comparable"}
    assert short.rule.str.contains("unequal budgets: the STN trained 4 steps").all()
    lstm = stn_lstm.judge({"runs": _versus_runs(0.05)},
                          stn_lstm.Config.for_profile("smoke", seeds=3, trials=4, steps=25))
    assert lstm.verdict.tolist() == ["agree"] * 3


def test_the_slides_scale_gate_in_passes_over_the_data():
    cpu = stn_lstm.Config.for_profile("cpu")
    assert cpu.stn_length() == 25 * 500 and cpu.epochs(cpu.stn_length()) == 250
    assert stn_lstm.SCALE.needs["epochs"] == 241 and not stn_lstm.SCALE.shortfall(
        {"epochs": cpu.epochs(cpu.stn_length())})
    image = stn_cnn.Config.for_profile("cpu")
    assert image.epochs(image.stn_length()) == 400 and stn_cnn.SCALE.needs["epochs"] == 341
    schedules = stn_schedules.Config.for_profile("cpu")
    assert schedules.stn_length() == schedules.steps == 15000  # no searches: as the fixed runs
    assert schedules.epochs(15000) == 75 and stn_schedules.SCALE.needs["epochs"] == 75
    assert not stn_schedules.SCALE.shortfall({"epochs": schedules.epochs(schedules.steps)})
    assert stn_schedules.SCALE.shortfall({"epochs": schedules.epochs(14000)})
    recorded = stn_schedules.Config.for_profile("cpu", train_tokens=20000)
    assert stn_schedules.SCALE.shortfall({"epochs": recorded.epochs(600)})  # the recorded run
    judged = stn_cnn.judge({"runs": _versus_runs(0.1, stn_steps=100), "progress": pd.DataFrame(
        [{"seed": s, "method": m, "training_steps": 100, "best_val_loss": 1.0}
         for s in range(3) for m in ("STN", "bayes")])},
        stn_cnn.Config.for_profile("smoke", seeds=3, trials=4, steps=25))
    assert set(judged.verdict) == {"not comparable"}
    assert judged.rule.str.contains("below the claim's scale").all()


def test_schedules_and_sensitivity_judges_on_hand_made_tables(no_scale_gate):
    cfg = stn_schedules.Config.for_profile("smoke", seeds=3, inits=(0.3, 0.7))
    schedules = pd.DataFrame([{"seed": s, "init": p, "step": t, "value": 0.5 + (p - 0.5) / (t + 1)
                               + 0.01 * s} for s in range(3) for p in (0.3, 0.7)
                              for t in range(8)])
    methods = [*stn_schedules.FIXED, "STN", "plain LSTM on the STN schedule"]
    runs = pd.DataFrame([{"seed": s, "method": m, "test_perplexity":
                          (80.0 if m in ("STN", "plain LSTM on the STN schedule") else 84.0)
                          + 0.5 * s + 0.1 * k} for s in range(3) for k, m in enumerate(methods)])
    met, stn, plain = stn_schedules.judge({"schedules": schedules, "runs": runs},
                                          cfg).itertuples()
    assert met.verdict == "agree" and stn.verdict == plain.verdict == "agree"
    apart = schedules.assign(value=schedules.init)
    assert stn_schedules.judge({"schedules": apart, "runs": runs}, cfg).verdict.iloc[0] == \
        "disagree"
    cfg = stn_sensitivity.Config.for_profile("smoke", seeds=3, ratios=("1/1", "2/1"),
                                             fixed_scales=(0.5,), trials=2, steps=10)
    rows = []
    for s in range(3):
        for study, variant in ((stn_sensitivity.RATIOS, "1/1"), (stn_sensitivity.RATIOS, "2/1"),
                               (stn_sensitivity.SCALES, "fixed 0.5")):
            rows.append({"seed": s, "study": study, "variant": variant,
                         "val_loss": 1.0 + 0.01 * s + (0.3 if variant == "2/1" else 0)})
        rows.append({"seed": s, "study": "reference", "variant": "Bayesian optimization",
                     "val_loss": 1.1 + 0.012 * s, "training_steps": 20})
    curves = pd.DataFrame({"step": [0, 20]})
    ratios, scales = stn_sensitivity.judge({"runs": pd.DataFrame(rows), "curves": curves},
                                           cfg).itertuples()
    # one variant (2/1) ends above Bayesian optimization: "every variant" fails
    assert ratios.verdict == "disagree" and scales.verdict == "agree"
    short = stn_sensitivity.judge({"runs": pd.DataFrame(rows), "curves": curves.assign(
        step=[0, 10])}, cfg)
    assert set(short.verdict) == {"not comparable"}


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data not present")
@pytest.mark.parametrize("module, tiny", [
    (stn_cnn, {"n_val": 200, "channels": (8, 8, 8, 8, 8), "hidden": (16, 16), "batch_size": 32,
               "steps": 80, "eval_every": 40, "trials": 4, "start": 0.05, "lr": 3e-3}),
    (stn_lstm, {"embed": 8, "hidden": 8, "bptt": 10, "batch_size": 8, "steps": 20,
                "eval_every": 10, "trials": 2, "train_tokens": 5000, "eval_tokens": 2000,
                "lr": 0.03}),
])
def test_the_paper_profile_runs_on_cpu_at_tiny_sizes(module, tiny, tmp_path, monkeypatch):
    """The paper profile's code path (CIFAR-10 with five convolutions, the full Penn Treebank
    vocabulary with two LSTM layers) on the CPU, at sizes a test affords (a tiny network
    learns within 80 steps only from light regularization: start 0.05)."""
    monkeypatch.setenv("HPOSTUDY_DATA", str(SHARED_DATA))
    cfg = module.Config.for_profile("paper", device="cpu", seeds=1,
                                    output_dir=str(tmp_path / "out"), **tiny)
    assert cfg.dataset in ("cifar10", "ptb") and cfg.profile == "paper"
    results = module.run(cfg)
    assert len(results["runs"]) == 4 and (cfg.out / "comparison.csv").exists()
    assert results["comparison"].setting.str.startswith("paper:").all()
