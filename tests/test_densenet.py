"""The DenseNet chapter's experiments on a tiny DenseNet: resume after a kill, NaN handling,
bounds on the hyperparameters, exact reversal at DenseNet scale."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from hpostudy.experiments import (densenet_adaptive, densenet_benchmark, densenet_drmad,
                                  densenet_exact)

TINY = {"n_train": 64, "n_val": 48, "growth": 2, "first": 2, "batch_size": 16, "eval_batch": 32}


def test_benchmark_resumes_after_a_kill(tmp_path, monkeypatch):
    whole = densenet_benchmark.run(densenet_benchmark.Config.for_profile(
        "smoke", output_dir=str(tmp_path / "whole"), epochs=3, **TINY))["benchmark"]
    cfg = densenet_benchmark.Config.for_profile("smoke", output_dir=str(tmp_path / "killed"),
                                                epochs=3, **TINY)
    real_train, calls = densenet_benchmark.train, []

    def dies_in_epoch_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(densenet_benchmark, "train", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        densenet_benchmark.run(cfg)
    monkeypatch.setattr(densenet_benchmark, "train", real_train)
    resumed = densenet_benchmark.run(cfg)["benchmark"]
    pd.testing.assert_frame_equal(resumed, whole)  # nothing lost, nothing different


def test_drmad_run_stops_on_nan_and_keeps_results(tmp_path, monkeypatch):
    real = densenet_drmad.hg.drmad

    def nan_at_second(problem, dynamics, theta, T, **kw):
        res = real(problem, dynamics, theta, T, **kw)
        if calls.append(1) or len(calls) % 2 == 0:
            res.hypergrad = torch.full_like(res.hypergrad, float("nan"))
        return res

    calls = []
    monkeypatch.setattr(densenet_drmad.hg, "drmad", nan_at_second)
    cfg = densenet_drmad.Config.for_profile("smoke", output_dir=str(tmp_path), meta_iterations=3,
                                            initial_l2=(-4.0,), first_epochs=(1,), **TINY)
    res = densenet_drmad.run(cfg)
    assert res["status"].status.iloc[0].startswith("stopped: meta-iteration 1")
    assert len(res["meta_iterations"]) == 2  # meta-iterations 0 and 1 are kept
    assert set(res["layer_l2"].meta_iteration) == {0, 1}
    assert (tmp_path / "status.csv").exists()


def test_drmad_epochs_grow_by_the_factor_up_to_the_cap():
    assert [densenet_drmad.epochs_at(100, 1.4, 300, i) for i in range(5)] == [100, 140, 196, 274, 300]


def test_adaptive_learning_rates_stay_below_one(tmp_path):
    cfg = densenet_adaptive.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=2,
                                               experiments=(1,), every=(2, 2), window=(2, 2),
                                               val_sizes=(48, 48), lr_rates=(3.0, 3.0), **TINY)
    res = densenet_adaptive.run(cfg)
    hyper = res["layer_hyperparameters"]
    assert (hyper[hyper.kind == "log10_lr"].value <= 1e-12).all()  # log learning rate clipped at 0
    assert list(res["errors"].epoch) == [1, 2]


def test_exact_hypergradient_at_densenet_scale(tmp_path):
    cfg = densenet_exact.Config.for_profile("smoke", output_dir=str(tmp_path), T=6, **TINY)
    df = densenet_exact.run(cfg)["exact_vs_drmad"]
    assert df.recovered_w0.all()
    assert df.cosine.between(-1, 1).all() and (df.norm_exact > 0).all()
