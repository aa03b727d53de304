"""The DenseNet chapter's experiments on a tiny DenseNet: resume after a kill, NaNs that keep
every completed meta-iteration, divergence that fails without a verdict, bad sizes refused up
front, the paper profile's code path on CPU, verdict rows over seeds, exact reversal at
DenseNet scale."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from hpostudy import verdicts as v
from hpostudy.experiments import (densenet_adaptive, densenet_benchmark, densenet_drmad,
                                  densenet_exact)
from hpostudy.settings import densenet as setting
from hpostudy.study.config import ParameterError

from .conftest import killed_on_call

TINY = {"n_train": 64, "growth": 2, "first": 2, "batch_size": 16, "eval_batch": 32}
SPLIT = {**TINY, "n_val": 48}


def tables(folder) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in folder.glob("*.csv")}


# ---------------------------------------------------------------------- resume after a kill
def test_benchmark_resumes_after_a_kill(tmp_path, monkeypatch):
    densenet_benchmark.run(densenet_benchmark.Config.for_profile(
        "smoke", output_dir=str(tmp_path / "whole"), epochs=3, **SPLIT))
    cfg = densenet_benchmark.Config.for_profile("smoke", output_dir=str(tmp_path / "killed"),
                                                epochs=3, **SPLIT)
    killed_on_call(monkeypatch, densenet_benchmark, "train", 2,  # in epoch two
                   lambda: densenet_benchmark.run(cfg))
    densenet_benchmark.run(cfg)
    whole, resumed = tables(tmp_path / "whole"), tables(tmp_path / "killed")
    pd.testing.assert_frame_equal(resumed["benchmark"], whole["benchmark"])
    assert list(resumed["benchmark"].epoch) == [0, 1, 2, 3]


def test_drmad_resumes_after_a_kill_in_a_later_meta_iteration(tmp_path, monkeypatch):
    kw = dict(meta_iterations=3, initial_l2=(-4.0,), first_epochs=(1,), max_epochs=1, **SPLIT)
    densenet_drmad.run(densenet_drmad.Config.for_profile(
        "smoke", output_dir=str(tmp_path / "whole"), **kw))
    cfg = densenet_drmad.Config.for_profile("smoke", output_dir=str(tmp_path / "killed"), **kw)
    killed_on_call(monkeypatch, densenet_drmad.hg, "drmad", 3,  # in meta-iteration two
                   lambda: densenet_drmad.run(cfg))
    densenet_drmad.run(cfg)
    whole, resumed = tables(tmp_path / "whole"), tables(tmp_path / "killed")
    for name in ("meta_iterations", "during_training", "layer_l2", "status"):
        pd.testing.assert_frame_equal(resumed[name], whole[name])


def test_adaptive_method_resumes_after_a_kill(tmp_path, monkeypatch):
    kw = dict(epochs=3, experiments=(1,), every=(2, 2), window=(2, 2), val_sizes=(48, 48),
              **TINY)
    densenet_adaptive.run(densenet_adaptive.Config.for_profile(
        "smoke", output_dir=str(tmp_path / "whole"), **kw))
    cfg = densenet_adaptive.Config.for_profile("smoke", output_dir=str(tmp_path / "killed"), **kw)
    killed_on_call(monkeypatch, densenet_adaptive, "_train_epoch", 2,  # in epoch two
                   lambda: densenet_adaptive.run(cfg))
    densenet_adaptive.run(cfg)
    whole, resumed = tables(tmp_path / "whole"), tables(tmp_path / "killed")
    for name in ("errors", "layer_hyperparameters"):
        pd.testing.assert_frame_equal(resumed[name], whole[name])


# ---------------------------------------------------------------------- NaNs in DrMAD
def test_drmad_nan_hypergradient_stops_the_run_and_keeps_results(tmp_path, monkeypatch):
    real, calls = densenet_drmad.hg.drmad, []

    def nan_at_second(problem, dynamics, theta, T, **kw):
        res = real(problem, dynamics, theta, T, **kw)
        calls.append(1)
        if len(calls) == 2:
            res.hypergrad = torch.full_like(res.hypergrad, float("nan"))
        return res

    monkeypatch.setattr(densenet_drmad.hg, "drmad", nan_at_second)
    cfg = densenet_drmad.Config.for_profile("smoke", output_dir=str(tmp_path), meta_iterations=3,
                                            initial_l2=(-4.0,), first_epochs=(1,), **SPLIT)
    res = densenet_drmad.run(cfg)
    status = res["status"].iloc[0]
    assert status.status.startswith("stopped: meta-iteration 1") and status.stopped_in == 1
    assert list(res["meta_iterations"].meta_iteration) == [0, 1]  # both kept
    assert set(res["layer_l2"].meta_iteration) == {0, 1}
    assert (tmp_path / "status.csv").exists() and (tmp_path / "meta.json").exists()


def test_drmad_nan_in_a_later_forward_pass_keeps_the_earlier_meta_iterations(tmp_path):
    """The case of issue 10: meta_lr=400 sends the L2 to 1e396 in meta-iteration 1."""
    cfg = densenet_drmad.Config.for_profile("smoke", output_dir=str(tmp_path), meta_lr=400.0,
                                            initial_l2=(-4.0,), first_epochs=(1,), **SPLIT)
    res = densenet_drmad.run(cfg)
    status = res["status"].iloc[0]
    assert status.stopped_in == 1 and status.meta_iterations_done == 1
    assert "meta-iteration 1" in status.status and "NaN" in status.status
    written = tables(tmp_path)
    assert list(written["meta_iterations"].meta_iteration) == [0]
    during = written["during_training"]
    assert set(during.meta_iteration) <= {0, 1} and during[during.meta_iteration == 0].size
    interrupted = during[during.meta_iteration == 1]  # what the stopped one saw, NaN included
    assert interrupted.train_loss.isna().all()
    lowest = written["comparison"][written["comparison"].finding.str.contains("lowest")]
    assert lowest.verdict.iloc[0] == v.NOT_COMPARABLE  # one meta-iteration cannot show it


def test_drmad_nan_in_the_first_meta_iteration_still_writes_every_table(tmp_path):
    cfg = densenet_drmad.Config.for_profile("smoke", output_dir=str(tmp_path),
                                            initial_l2=(400.0, -4.0), first_epochs=(1, 1),
                                            meta_iterations=1, **SPLIT)
    res = densenet_drmad.run(cfg)
    assert list(res["status"].stopped_in.fillna(-1)) == [0, -1]
    assert list(res["status"].meta_iterations_done) == [0, 1]
    assert list(res["meta_iterations"].init_l2) == [-4.0]
    assert {"status", "meta_iterations", "comparison"} <= set(tables(tmp_path))


def test_drmad_epochs_grow_by_the_factor_up_to_the_cap():
    assert [densenet_drmad.epochs_at(100, 1.4, 300, i) for i in range(5)] == [100, 140, 196, 274, 300]


# ---------------------------------------------------------------------- divergence
def test_divergence_rule_on_both_sides_of_its_thresholds():
    chance = setting.chance_error(torch.tensor([0, 0, 1, 2, 3, 4, 5, 6, 7, 8]))
    assert chance == pytest.approx(0.8)
    ok = {"epoch": 2, "train_loss": 2.9 * 2.3, "train_error": 0.78}
    setting.check_divergence(ok, 2.3, chance, "run")  # below both thresholds
    setting.check_divergence({**ok, "epoch": 1, "train_error": 0.95}, 2.3, chance, "run")
    with pytest.raises(setting.Diverged, match="more than 3 times"):
        setting.check_divergence({**ok, "train_loss": 3.1 * 2.3}, 2.3, chance, "run")
    with pytest.raises(setting.Diverged, match="loss is nan"):
        setting.check_divergence({**ok, "train_loss": math.nan}, 2.3, chance, "run")
    with pytest.raises(setting.Diverged, match="chance level"):
        setting.check_divergence({**ok, "train_error": 0.795}, 2.3, chance, "run")


def test_a_diverging_benchmark_fails_with_a_message_and_no_verdict(tmp_path):
    cfg = densenet_benchmark.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=2,
                                                lr=1000.0, **SPLIT)
    with pytest.raises(setting.Diverged, match=r"benchmark \(seed 0\) diverged in epoch 1.*lr"):
        densenet_benchmark.run(cfg)
    assert not (tmp_path / "comparison.csv").exists() and not (tmp_path / "meta.json").exists()


def test_a_diverging_adaptive_run_fails_with_a_message_and_no_verdict(tmp_path):
    cfg = densenet_adaptive.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=2,
                                               experiments=(1,), initial_log10_l2=3.0,
                                               val_sizes=(48, 48), **TINY)
    with pytest.raises(setting.Diverged, match=r"adaptive method \(experiment 1, seed 0\)"):
        densenet_adaptive.run(cfg)
    assert not (tmp_path / "comparison.csv").exists()


# ---------------------------------------------------------------------- bad sizes
@pytest.mark.parametrize("module, overrides, message", [
    (densenet_benchmark, {"epochs": 0}, "'epochs'.*at least 1"),
    (densenet_benchmark, {"n_val": 0}, "'n_val'.*at least 1"),
    (densenet_benchmark, {"batch_size": 0}, "'batch_size'.*at least 1"),
    (densenet_benchmark, {"depth": 8}, "depth must be 4 \\+ 3"),
    (densenet_benchmark, {"optimizer": "adam"}, "'optimizer'.*nesterov, momentum"),
    (densenet_benchmark, {"lr": 0.0}, "lr must be positive"),
    (densenet_drmad, {"meta_iterations": 0}, "'meta_iterations'.*at least 1"),
    (densenet_drmad, {"initial_l2": []}, "'initial_l2'.*must not be empty"),
    (densenet_drmad, {"first_epochs": [0, 1, 1]}, "'first_epochs'.*at least 1"),
    (densenet_drmad, {"first_epochs": [1, 1]}, "first_epochs must be one value per initial_l2"),
    (densenet_drmad, {"max_epochs": 0}, "'max_epochs'.*at least 1"),
    (densenet_drmad, {"epoch_growth": 0.5}, "epoch_growth must be at least 1"),
    (densenet_adaptive, {"experiments": []}, "'experiments'.*must not be empty"),
    (densenet_adaptive, {"experiments": [3]}, "'experiments'.*one of 1, 2"),
    (densenet_adaptive, {"every": [0, 13]}, "'every'.*at least 1"),
    (densenet_adaptive, {"window": [11, 4]}, "window must be at most every \\(10, 13\\)"),
    (densenet_adaptive, {"val_sizes": [360]}, "val_sizes must be one value for each"),
    (densenet_adaptive, {"epochs": 0}, "'epochs'.*at least 1"),
    (densenet_exact, {"T": 0}, "'T'.*at least 1"),
    (densenet_exact, {"radix": 20}, "radix must be in"),
])
def test_zero_empty_and_inconsistent_sizes_are_refused_up_front(module, overrides, message):
    with pytest.raises((ParameterError, ValueError), match=message):
        module.Config.for_profile("smoke", **overrides)


def test_a_training_set_larger_than_the_data_is_refused_with_the_sizes(tmp_path):
    cfg = densenet_benchmark.Config.for_profile("smoke", output_dir=str(tmp_path),
                                                n_train=5000)
    with pytest.raises(ValueError, match="n_train=5000 but only 1077 images"):
        densenet_benchmark.run(cfg)


# ---------------------------------------------------------------------- the paper profile
PAPER_TINY = {"device": "cpu", "dataset": "digits", "depth": 7, "eval_batch": 32,
              "n_train": 64, "growth": 2, "first": 2, "batch_size": 16}


def test_the_paper_profile_code_paths_run_on_cpu_at_tiny_sizes(tmp_path):
    """The paper presets (Nesterov, the thesis' schedule, DrMAD's epoch growth, the thesis'
    every/window) with the sizes overridden to a tiny DenseNet on the digits."""
    runs = [
        (densenet_benchmark, {"n_val": 48, "epochs": 2}),
        (densenet_drmad, {"n_val": 48, "initial_l2": (-4.0,), "first_epochs": (1,),
                          "max_epochs": 2, "meta_iterations": 2}),
        (densenet_adaptive, {"epochs": 1, "experiments": (2,), "every": (3, 3),
                             "window": (2, 2), "val_sizes": (48, 48)}),
        (densenet_exact, {"n_val": 48, "T": 6}),
    ]
    for module, sizes in runs:
        cfg = module.Config.for_profile("paper", output_dir=str(tmp_path / module.__name__),
                                        **PAPER_TINY, **sizes)
        assert cfg.profile == "paper" and cfg.device == "cpu"
        comparison = module.run(cfg)["comparison"]
        assert len(comparison) and comparison.setting.str.startswith("paper: DenseNet-7").all()


# ---------------------------------------------------------------------- verdicts
def _bench(epochs: int, errors: list[float]) -> pd.DataFrame:
    return pd.DataFrame([{"seed": s, "epoch": e, "test_error": err + 0.002 * e / epochs}
                         for s, err in enumerate(errors) for e in range(1, epochs + 1)])


def _sizes(n_train: int, n_val: int, seeds: int = 3) -> pd.DataFrame:
    return pd.DataFrame([{"seed": s, "n_train": n_train, "n_val": n_val} for s in range(seeds)])


def test_the_benchmark_is_not_comparable_below_its_scale_gate_and_judged_above_it():
    paper = densenet_benchmark.Config.for_profile("paper", device="cpu")
    short = densenet_benchmark.Config.for_profile("paper", device="cpu", epochs=3)
    table = densenet_benchmark.judge({"benchmark": _bench(3, [0.11, 0.115, 0.12]),
                                      "sizes": _sizes(3000, 1000)}, short)
    assert table.verdict.iloc[0] == v.NOT_COMPARABLE  # the thesis' error, yet too short
    assert "epochs 3 < 300" in table.rule.iloc[0] and "training images 3000" in table.rule.iloc[0]
    assert "3 of 300 epochs" in table.setting.iloc[0] and "CIFAR-10 subset" in table.setting.iloc[0]
    full = {"benchmark": _bench(300, [0.11, 0.115, 0.12]), "sizes": _sizes(45000, 5000)}
    assert densenet_benchmark.judge(full, paper).verdict.iloc[0] == v.AGREE
    worse = {"benchmark": _bench(300, [0.2, 0.21, 0.22]), "sizes": _sizes(45000, 5000)}
    assert densenet_benchmark.judge(worse, paper).verdict.iloc[0] == v.DISAGREE
    edge = {"benchmark": _bench(300, [0.12, 0.135, 0.15]), "sizes": _sizes(45000, 5000)}
    assert densenet_benchmark.judge(edge, paper).verdict.iloc[0] == v.INCONCLUSIVE  # 13.4 inside


def _drmad_tables(errors: dict, epochs: list[int], decreased=0.3, null=None) -> dict:
    """Tables of DrMAD runs from 1e-4 and 1e-7 with test errors ``errors[seed]`` per
    meta-iteration, and (``null``: errors per seed, share decreased) random-direction runs."""
    rows, status = [], []
    runs = [(d, init) for d in (densenet_drmad.DRMAD,) for init in (-4.0, -7.0)]
    if null is not None:
        runs += [(densenet_drmad.RANDOM, init) for init in (-4.0, -7.0)]
    for direction, init in runs:
        for seed, errs in (null[0] if direction == densenet_drmad.RANDOM else errors).items():
            share = null[1] if direction == densenet_drmad.RANDOM else decreased
            for i, err in enumerate(errs):
                rows.append({"init_l2": init, "seed": seed, "direction": direction,
                             "meta_iteration": i, "epochs": epochs[i], "test_error": err,
                             "zero_hypergrad": False,
                             "l2_decreased": 0.0 if i == 0 else share + 0.01 * seed})
            status.append({"init_l2": init, "seed": seed, "direction": direction,
                           "meta_iterations_done": len(errs), "stopped_in": None,
                           "status": "finished"})
    return {"meta_iterations": pd.DataFrame(rows), "status": pd.DataFrame(status)}


def _drmad_cfg(epochs=10, meta=4):
    return densenet_drmad.Config.for_profile("smoke", seeds=3, initial_l2=(-4.0, -7.0),
                                             first_epochs=(epochs, epochs), epoch_growth=1.0,
                                             max_epochs=epochs, meta_iterations=meta)


def _row(table, text):
    return table[table.finding.str.contains(text, regex=False)].iloc[0]


def test_fig_3_8_is_judged_at_equal_epochs_only():
    rising = {s: [0.30 + 0.01 * s, 0.31 + 0.01 * s, 0.32 + 0.01 * s, 0.33 + 0.012 * s]
              for s in range(3)}
    table = densenet_drmad.judge(_drmad_tables(rising, [10] * 4), _drmad_cfg())
    assert _row(table, "Fig 3.8").verdict == v.AGREE  # the error rose at equal epochs
    falling = {s: list(reversed(e)) for s, e in rising.items()}
    assert _row(densenet_drmad.judge(_drmad_tables(falling, [10] * 4), _drmad_cfg()),
                "Fig 3.8").verdict == v.DISAGREE
    # the last meta-iteration trains longer: only meta-iterations 0-2 count, too few for the gate
    longer = {s: e[:3] + [0.1] for s, e in rising.items()}
    row = _row(densenet_drmad.judge(_drmad_tables(longer, [10, 10, 10, 14]), _drmad_cfg()),
               "Fig 3.8")
    assert row.verdict == v.NOT_COMPARABLE and "meta-iterations of equal epochs 3 < 4" in row.rule
    short = _row(densenet_drmad.judge(_drmad_tables(rising, [1] * 4), _drmad_cfg(1)), "Fig 3.8")
    assert short.verdict == v.NOT_COMPARABLE and "epochs per meta-iteration 1 < 10" in short.rule


def test_the_random_direction_controls_on_both_sides():
    errors = {s: [0.30, 0.31, 0.32, 0.33 + 0.001 * s] for s in range(3)}
    no_null = densenet_drmad.judge(_drmad_tables(errors, [10] * 4, decreased=0.495),
                                   _drmad_cfg())
    assert "random-direction control" in _row(no_null, "control").rule
    share = _row(no_null, "Fig 3.14")
    assert share.verdict == v.INCONCLUSIVE and "1/2 by symmetry" in share.rule
    worse = {s: [0.30, 0.28, 0.27, 0.26 - 0.001 * s] for s in range(3)}  # random steps do better
    table = densenet_drmad.judge(_drmad_tables(errors, [10] * 4, decreased=0.7,
                                               null=(worse, 0.5)), _drmad_cfg())
    assert _row(table, "control").verdict == v.AGREE  # DrMAD's error above random's
    assert _row(table, "Fig 3.14").verdict == v.AGREE  # 70% against the null's 50%
    better = {s: [0.30, 0.33, 0.34, 0.35 + 0.001 * s] for s in range(3)}
    table = densenet_drmad.judge(_drmad_tables(errors, [10] * 4, decreased=0.3,
                                               null=(better, 0.5)), _drmad_cfg())
    assert _row(table, "control").verdict == v.DISAGREE
    assert _row(table, "Fig 3.14").verdict == v.DISAGREE


def test_a_recording_without_its_tables_is_not_comparable_with_the_reason():
    cfg = densenet_drmad.Config.for_profile("paper", device="cpu", initial_l2=(-4.0,),
                                            first_epochs=(1,), meta_iterations=1)
    table = densenet_drmad.judge({}, cfg)
    assert (table.verdict == v.NOT_COMPARABLE).all()
    assert table.rule.str.contains("needs a run with its tables").all()


def test_the_null_of_falling_learning_rates_is_exact():
    f = densenet_adaptive.null_mean_log_lr
    assert f(-1.0, 0.1, 0) == -1.0 and f(-1.0, 0.1, 5) == pytest.approx(-1.0)  # no clipping yet
    assert f(-0.1, 0.1, 1) == pytest.approx(-0.1)  # clipped at 0: (0 - 0.2) / 2
    assert f(-0.1, 0.1, 2) == pytest.approx((0 - 0.1 - 0.1 - 0.3) / 4)  # 0 -> 0 or -0.1
    assert f(0.0, 0.1, 1) == pytest.approx(-0.05)  # from the ceiling, only down counts
    assert f(-2.3, 0.2, 200) < f(-2.3, 0.2, 20) < -2.3 + 1e-9


def test_adaptive_learning_rates_are_judged_against_the_null():
    cfg = densenet_adaptive.Config.for_profile("smoke", seeds=3, epochs=10, experiments=(1,))
    def tables(end):
        rows = [{"experiment": 1, "seed": s, "epoch": e, "test_error": 0.5, "val_error": 0.5,
                 "mean_log10_lr": -1.0 if e == 0 else end + 0.01 * s} for s in range(3)
                for e in (0, 10)]
        sizes = pd.DataFrame([{"experiment": 1, "seed": s, "n_train": 1000, "n_val": 360,
                               "steps_per_epoch": 100} for s in range(3)])
        return {"errors": pd.DataFrame(rows), "sizes": sizes}
    lr = lambda end: _row(densenet_adaptive.judge(tables(end), cfg), "learning rates")
    assert lr(-1.5).verdict == v.AGREE
    assert lr(-0.8).verdict == v.DISAGREE
    null = densenet_adaptive.null_mean_log_lr(math.log(0.1), 0.2, 100) / math.log(10)
    assert lr(null - 0.01).verdict == v.INCONCLUSIVE  # below the start, but not below the null
    short = densenet_adaptive.Config.for_profile("smoke", seeds=3, epochs=2, experiments=(1,))
    t = tables(-1.5)
    t["errors"] = t["errors"].assign(epoch=lambda d: d.epoch.clip(upper=2))
    assert _row(densenet_adaptive.judge(t, short), "learning rates").verdict == v.NOT_COMPARABLE


def test_adaptive_experiment_two_alone_uses_its_own_settings(tmp_path):
    cfg = densenet_adaptive.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=1,
                                               experiments=(2,), every=(2, 3), window=(2, 3),
                                               val_sizes=(48, 96), **TINY)
    res = densenet_adaptive.run(cfg)
    assert set(res["errors"].experiment) == {2}
    assert "64 / 96 training / validation images" in res["comparison"].setting.iloc[0]
    assert "an update every 3 of 4 steps" in res["comparison"].setting.iloc[0]


def test_adaptive_learning_rates_stay_below_one(tmp_path):
    cfg = densenet_adaptive.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=2,
                                               experiments=(1,), every=(2, 2), window=(2, 2),
                                               val_sizes=(48, 48), lr_rates=(3.0, 3.0), **TINY)
    res = densenet_adaptive.run(cfg)
    hyper = res["layer_hyperparameters"]
    assert (hyper[hyper.kind == "log10_lr"].value <= 1e-12).all()  # log learning rate clipped at 0
    assert list(res["errors"].epoch) == [0, 1, 2]
    assert list(hyper[hyper.kind == "log10_l2"].groupby("epoch").depth.max().unique()) == [
        hyper[hyper.kind == "log10_l2"].layer.nunique() - 1]  # depths number every layer


# ---------------------------------------------------------------------- exact reversal
def test_exact_hypergradient_at_densenet_scale(tmp_path):
    cfg = densenet_exact.Config.for_profile("smoke", output_dir=str(tmp_path), T=6, **SPLIT)
    df = densenet_exact.run(cfg)["exact_vs_drmad"]
    assert list(df.variant) == ["beta estimate", "S = T"] and (df["S"] <= 6).all()
    assert df.cosine.between(-1, 1).all() and (df["exact norm"] > 0).all()
