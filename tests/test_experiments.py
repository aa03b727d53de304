"""The experiment functions behind each figure, on tiny sizes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hpostudy.experiments import accumulated, dropout_seed, drmad_quality, paths, reversal
from hpostudy.settings.mnist_mlp import cosine
from hpostudy.metaopt import SignSGD, meta_iterations

TINY = {"n_train": 96, "n_val": 64, "n_test": 64, "hidden": (8,), "batch_size": 16}


def test_cosine_of_a_vector_with_itself_is_one():
    h = torch.randn(50, dtype=torch.float64)
    assert cosine(h, h) == pytest.approx(1.0, abs=1e-15)
    assert cosine(h, -h) == pytest.approx(-1.0, abs=1e-15)
    assert cosine(h, torch.zeros_like(h)) == 0.0


def test_straightness_measures():
    steps = np.arange(11)
    straight = pd.DataFrame({"step": np.repeat(steps, 2), "coordinate": np.tile([0, 1], 11),
                             "value": np.stack([steps, 2 * steps], 1).reshape(-1) * 1.0})
    assert paths.straightness(straight) == pytest.approx(0.0, abs=1e-12)
    bent = straight.copy()
    bent.loc[(bent.step == 5) & (bent.coordinate == 1), "value"] += 5.0
    assert paths.straightness(bent) == pytest.approx((5 / np.sqrt(5)) / np.sqrt(500))  # 0.1
    assert paths.erratic_ratio(straight) == pytest.approx(1.0)
    assert paths.erratic_ratio(bent) > 1.0


def test_dropout_seed_fixed_gives_distance_exactly_zero(tmp_path):
    cfg = dropout_seed.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=1,
                                          n_train=160, coordinates=2)
    res = dropout_seed.run(cfg)
    df = res["distances"]
    assert set(df.columns) >= {"variant", "step", "epoch", "distance"}
    final = df.groupby("variant").distance.last()
    assert final["dropout seed fixed"] == 0.0
    assert final["dropout seed not fixed"] > 0.0
    assert (tmp_path / "distances.csv").exists() and (tmp_path / "comparison.csv").exists()


def test_drmad_quality_tables_and_resume(tmp_path):
    cfg = drmad_quality.Config.for_profile("smoke", output_dir=str(tmp_path), horizons=(12,),
                                           reverse_steps=(3, 12), meta_iterations=2,
                                           drmad2_exact_steps=2, **TINY)
    res = drmad_quality.run(cfg)
    df = res["metaruns"]
    assert len(df) == 2 * 2 + 2  # two DrMAD-following runs and one DrMAD2-following run
    for col in ("norm_exact", "norm_drmad", "norm_drmad2", "cos_drmad", "cos_sign_drmad",
                "train_error", "val_error", "test_error", "beta_steps"):
        assert col in df.columns
    d = df[df.follow == "drmad"]
    assert d.cos_drmad.between(-1, 1).all() and d.exact_recovered_w0.all()
    assert (d.norm_exact > 0).all()
    assert list(res["comparison"].columns) == ["finding", "paper", "reproduced", "profile",
                                               "verdict", "note"]
    again = drmad_quality.run(cfg)  # resumes from the checkpoints: the same numbers
    pd.testing.assert_frame_equal(again["metaruns"], df)


def test_accumulated_norm_series_has_one_value_per_reverse_step(tmp_path):
    cfg = accumulated.Config.for_profile("smoke", output_dir=str(tmp_path), horizons=(7, 15),
                                         **TINY)
    res = accumulated.run(cfg)
    acc = res["accumulated"]
    for T in (7, 15):
        g = acc[acc["T"] == T]
        assert len(g) == T and g.t.tolist() == list(range(T - 1, -1, -1))
        assert (g.norm >= 0).all() and g.norm.iloc[0] > 0
    assert res["runs"].recovered_w0.all()
    assert accumulated.growth_share(np.array([1.0, 2.0, 4.0]), 0.34, "late") == 0.25


def test_reversal_paths_and_parting(tmp_path):
    cfg = reversal.Config.for_profile("smoke", output_dir=str(tmp_path), T=20,
                                      meta_iterations_before=1, drmad_reverse_steps=5, **TINY)
    res = reversal.run(cfg)
    path = res["reverse_path"]
    assert len(path) == 2 * 20 and set(path.arithmetic) == {"exact", "float"}
    a = pd.DataFrame({q: [1.0, 1.0, 1.0] for q in reversal.QUANTITIES})
    b = a.copy()
    b.loc[2, "v_norm"] = 1.1
    parted = reversal.parting_step(a, b, 1e-3)
    assert parted["v_norm"] == 2 and parted["w_norm"] is None


def test_meta_iterations_resume_and_stop_on_nan(tmp_path):
    calls = []

    def step(i, theta):
        calls.append(i)
        return theta - 1.0, {"value": float(theta.sum())}

    ckpt = tmp_path / "meta.pt"
    theta, records = meta_iterations(step, torch.zeros(3), SignSGD(0.5), 3, checkpoint=ckpt)
    assert [r["meta_iteration"] for r in records] == [0, 1, 2] and calls == [0, 1, 2]
    theta2, records2 = meta_iterations(step, torch.zeros(3), SignSGD(0.5), 5, checkpoint=ckpt)
    assert calls == [0, 1, 2, 3, 4] and len(records2) == 5  # resumed after meta-iteration 2

    def bad(i, theta):
        return torch.tensor([float("nan")]), {"i": i}

    with pytest.raises(FloatingPointError, match="meta-iteration 0") as err:
        meta_iterations(bad, torch.zeros(1), SignSGD(0.1), 3, checkpoint=tmp_path / "bad.pt")
    assert err.value.records == [{"meta_iteration": 0, "i": 0}]
    assert torch.load(tmp_path / "bad.pt", weights_only=False)["records"]
