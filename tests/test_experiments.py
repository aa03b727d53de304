"""The experiments of the chapters "Before DrMAD" (parameter paths, dropout seed) and "Does
DrMAD point the right way?" (DrMAD quality, accumulated norms, reversal precision, why DrMAD
explodes), on tiny sizes; and their configurations' refusals of bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hpostudy import verdicts
from hpostudy.experiments import (accumulated_norms, dropout_seed, drmad_explosion,
                                  drmad_quality, parameter_paths, reversal_precision)
from hpostudy.metaopt import SignSGD, meta_iterations
from hpostudy.settings.mnist_mlp import cosine
from hpostudy.store import Checkpoint
from hpostudy.study.config import ParameterError

TINY = {"n_train": 96, "n_val": 64, "n_test": 64, "hidden": (8,), "batch_size": 16}


def test_cosine_of_a_vector_with_itself_is_one():
    h = torch.randn(50, dtype=torch.float64)
    assert cosine(h, h) == pytest.approx(1.0, abs=1e-15)
    assert cosine(h, -h) == pytest.approx(-1.0, abs=1e-15)
    assert cosine(h, torch.zeros_like(h)) == 0.0


# ---------------------------------------------------------------------- before DrMAD
def test_straightness_measures():
    steps = np.arange(11)
    straight = pd.DataFrame({"step": np.repeat(steps, 2), "coordinate": np.tile([0, 1], 11),
                             "value": np.stack([steps, 2 * steps], 1).reshape(-1) * 1.0})
    assert parameter_paths.straightness(straight) == pytest.approx(0.0, abs=1e-12)
    bent = straight.copy()
    bent.loc[(bent.step == 5) & (bent.coordinate == 1), "value"] += 5.0
    assert parameter_paths.straightness(bent) == pytest.approx((5 / np.sqrt(5)) / np.sqrt(500))
    assert parameter_paths.erratic_ratio(straight) == pytest.approx(1.0)
    assert parameter_paths.erratic_ratio(bent) > 1.0


def _paths(shape, seeds=3, steps=400):
    """Per seed one 2-D path of ``steps`` steps: ``shape(t, rng) -> (x, y)``."""
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        t = np.linspace(0, 1, steps + 1)
        x, y = shape(t, rng)
        rows += [{"seed": seed, "step": i, "coordinate": c, "value": float(val)}
                 for c, values in ((0, x), (1, y)) for i, val in enumerate(values)]
    return pd.DataFrame(rows)


def _measures(paths, steps):
    return pd.DataFrame([{"seed": seed, "steps": steps,
                          "straightness": parameter_paths.straightness(g),
                          "erratic_ratio": parameter_paths.erratic_ratio(g)}
                         for seed, g in paths.groupby("seed")])


def test_parameter_paths_judge_on_made_tables():
    cfg = parameter_paths.Config.for_profile("cpu")
    arc = _paths(lambda t, rng: (np.sin(np.pi * t / 2) * (1 + 0.02 * rng.random()),
                                 1 - np.cos(np.pi * t / 2) + 0.01 * rng.random() * t))
    curved = parameter_paths.judge({"measures": _measures(arc, 2046), "paths": arc}, cfg)
    # a smooth quarter circle: far from straight, bent beyond its shuffled steps, not erratic
    assert curved.verdict.tolist() == [verdicts.AGREE, verdicts.AGREE, verdicts.DISAGREE]
    zigzag = _paths(lambda t, rng: (t, 0.001 * t + 0.05 * (np.arange(len(t)) % 2)
                                    * (1 + 0.1 * rng.random())))
    zz = parameter_paths.judge({"measures": _measures(zigzag, 2046), "paths": zigzag}, cfg)
    # a jittered straight line: near its chord, less bent than its steps in random order
    # would be, and erratic in y
    assert zz.verdict.tolist() == [verdicts.DISAGREE, verdicts.DISAGREE, verdicts.AGREE]
    short = parameter_paths.judge({"measures": _measures(arc, 930)}, cfg)
    assert set(short.verdict) == {verdicts.NOT_COMPARABLE}
    assert "steps 930 < 2000" in short.rule[0] and "paths table" in short.rule[1]


def test_dropout_seed_fixed_gives_distance_exactly_zero(tmp_path):
    cfg = dropout_seed.Config.for_profile("smoke", output_dir=str(tmp_path), epochs=1,
                                          n_train=64, seeds=2)
    res = dropout_seed.run(cfg)
    df = res["distances"]
    final = df.sort_values("step").groupby(["variant", "seed"]).distance.last()
    assert (final[dropout_seed.FIXED] == 0.0).all()
    assert (final[dropout_seed.NOT_FIXED] > 0.0).all()
    assert sorted(df.seed.unique()) == [0, 1]
    assert list(res["comparison"].columns) == verdicts.COLUMNS
    assert set(res["comparison"].verdict) == {verdicts.NOT_COMPARABLE}  # 1 epoch < 5
    assert (tmp_path / "distances.csv").exists() and (tmp_path / "comparison.csv").exists()
    finals = res["finals"].set_index(["variant", "seed"])
    assert (finals["final"].sort_index() == final.sort_index()).all()


def _finals(fixed, other, initial=20.0):
    return pd.DataFrame([{"seed": s, "variant": variant, "initial": initial, "final": value}
                         for variant, values in ((dropout_seed.FIXED, fixed),
                                                 (dropout_seed.NOT_FIXED, other))
                         for s, value in enumerate(values)])


def test_dropout_seed_judge_on_made_tables():
    cfg = dropout_seed.Config.for_profile("cpu")
    agree = dropout_seed.judge({"finals": _finals([0.0] * 6, [5.0, 5.2, 4.9, 5.1, 5.0, 5.3])},
                               cfg)
    assert agree.verdict.tolist() == [verdicts.AGREE] * 2
    three = dropout_seed.judge({"finals": _finals([0.0] * 3, [5.0, 5.2, 4.9])}, cfg)
    assert three.verdict.tolist() == [verdicts.AGREE, verdicts.INCONCLUSIVE]  # 3 of 3: CI > .29
    # a rerun that drifts (nondeterministic kernels): the masks are not shown to matter
    drift = dropout_seed.judge({"finals": _finals([5.0, 4.0, 6.0, 5.5, 4.5, 5.0],
                                                  [5.0, 5.2, 4.9, 5.1, 5.0, 5.3])}, cfg)
    assert drift.verdict.tolist() == [verdicts.INCONCLUSIVE, verdicts.DISAGREE]
    short = dropout_seed.Config.for_profile("cpu", epochs=2)
    gated = dropout_seed.judge({"finals": _finals([0.0] * 6, [5.0] * 6)}, short)
    assert set(gated.verdict) == {verdicts.NOT_COMPARABLE}
    assert set(dropout_seed.judge({}, cfg).verdict) == {verdicts.NOT_COMPARABLE}


# ---------------------------------------------------------------------- DrMAD quality
def test_drmad_quality_tables_cost_and_resume(tmp_path):
    cfg = drmad_quality.Config.for_profile(
        "smoke", output_dir=str(tmp_path), horizons=(12,), reverse_steps=(3, 12),
        meta_iterations=(2,), seeds_per_horizon=(1,), drmad2_exact_steps=2, **TINY)
    res = drmad_quality.run(cfg)
    df = res["metaruns"]
    # two DrMAD-following meta-runs, one DrMAD2-following, two controls; 2 meta-iterations each
    assert len(df) == 5 * 2
    assert sorted(df.follow.unique()) == ["drmad", "drmad2", "exact", "random"]
    d = df[df.follow == "drmad"]
    assert d.cos_drmad.between(-1, 1).all() and d.exact_recovered_w0.all()
    assert (d.norm_exact > 0).all() and list(d.meta_iteration.unique()) == [0, 1]
    # the controls start where DrMAD starts (same seed, initialization, hyperparameters) and
    # are paired with its smallest S
    first = df[df.meta_iteration == 0].set_index(["follow", "S"])
    for follow in ("exact", "random", "drmad2"):
        assert first.loc[(follow, 3), "test_error"] == first.loc[("drmad", 3), "test_error"]
    assert first.loc[("exact", 3), "norm_exact"] == first.loc[("drmad", 3), "norm_exact"]
    later = df[df.meta_iteration == 1].set_index("follow")
    assert later.loc["exact", "norm_exact"] != d[d.meta_iteration == 1].norm_exact.iloc[0]
    cost = res["cost"].set_index("method")
    P = 64 * 8 + 8 + 8 * 10 + 10
    assert cost.loc["reverse", "stored_bytes"] == 12 * P * 8  # every state's weights (float64)
    assert cost.loc["drmad", "stored_bytes"] == P * 8  # w_0
    assert (cost.cpu_seconds > 0).all()
    comparison = res["comparison"]
    # norms at each S, negative cosines at each S, DrMAD2, the fall against the controls, beta
    assert list(comparison.columns) == verdicts.COLUMNS and len(comparison) == 7
    assert set(comparison.verdict) == {verdicts.NOT_COMPARABLE}  # T = 12 < 2,000, digits
    assert all("T 12 < 2000" in rule for rule in comparison.rule)
    pd.testing.assert_frame_equal(drmad_quality.judge(res, cfg), comparison)
    again = drmad_quality.run(cfg)  # every unit loads from the store: the same numbers
    pd.testing.assert_frame_equal(again["metaruns"], df)


def test_drmad_quality_trains_once_for_drmad_and_drmad2_per_meta_iteration(tmp_path,
                                                                            monkeypatch):
    """Issue 20 (overhead): a DrMAD-following meta-iteration trains once for DrMAD and DrMAD2
    (hg.drmad_shared) and once inside the exact hypergradient, not three times."""
    import importlib

    from hpostudy import hypergrad as hg

    drmad_module = importlib.import_module("hpostudy.hypergrad.drmad")
    cfg = drmad_quality.Config.for_profile(
        "smoke", output_dir=str(tmp_path), horizons=(12,), reverse_steps=(3,),
        meta_iterations=(2,), seeds_per_horizon=(1,), drmad2_exact_steps=2, **TINY)
    trainings, exact_calls = [], []
    forward, exact = drmad_module._forward, hg.exact
    monkeypatch.setattr(drmad_module, "_forward",
                        lambda *a, **k: trainings.append(a[3]) or forward(*a, **k))
    monkeypatch.setattr(hg, "exact", lambda *a, **k: exact_calls.append(a[3]) or exact(*a, **k))
    run = drmad_quality.MetaRun(12, 3, "drmad", True, cfg.seed, 2)
    records = drmad_quality.one_meta_run((cfg, run))
    assert len(records) == 2 and trainings == [12, 12] and exact_calls == [12, 12]


def test_drmad_quality_runs_long_horizons_with_fewer_seeds(tmp_path):
    cfg = drmad_quality.Config.for_profile("smoke", horizons=(6, 10), reverse_steps=(2,),
                                           meta_iterations=(2, 1), seeds=2,
                                           seeds_per_horizon=(2, 1))
    runs = drmad_quality.meta_runs(cfg)
    assert {(r.T, r.seed, r.meta_iterations) for r in runs} == {(6, 0, 2), (6, 1, 2),
                                                                (10, 0, 1)}
    assert len({r.name for r in runs}) == len(runs) == 3 * 4  # DrMAD, DrMAD2, two controls
    assert {r.follow for r in runs if r.T == 10} == {"drmad", "drmad2", "exact", "random"}
    bare = drmad_quality.Config.for_profile("smoke", horizons=(6,), reverse_steps=(2,),
                                            meta_iterations=(2,), seeds_per_horizon=(1,),
                                            controls=())
    assert [r.follow for r in drmad_quality.meta_runs(bare)] == ["drmad", "drmad2"]
    assert drmad_quality.Config.for_profile("cpu").controls == ("exact", "random")


def test_random_signs_are_fixed_by_seed_and_meta_iteration_and_balanced():
    theta = torch.zeros(4000, dtype=torch.float64)
    a = drmad_quality.random_signs(theta, 0, 3)
    assert torch.equal(a, drmad_quality.random_signs(theta, 0, 3))
    assert set(a.unique().tolist()) == {-1.0, 1.0} and a.dtype == torch.float64
    assert abs(float(a.mean())) < 0.05  # about half of each
    for other in (drmad_quality.random_signs(theta, 1, 3),
                  drmad_quality.random_signs(theta, 0, 4)):
        assert abs(drmad_quality.cosine(a, other)) < 0.05  # unrelated directions


def _metaruns(T=2000, seeds=(0, 1, 2), falls=None, lowest=(-0.3, -0.25, -0.35),
              ratios=(1.0, 2.0, 0.5), n=10):
    """Hand-made metaruns: DrMAD at S = 200 (norm ratio ``ratios`` per seed, its lowest later
    cosine ``lowest``) and 2,000 (ratio 1e20), DrMAD2, and the runs of ``falls`` (follow ->
    fall of the test error per seed, in error rate; those absent are not in the run)."""
    falls = {"drmad": (0.01, 0.012, 0.011), **(falls or {})}
    rows = []
    for k, seed in enumerate(seeds):
        for i in range(n):
            base = {"meta_iteration": i, "seed": seed, "T": T, "beta_steps_x10": 200.0}
            for S, ratio in ((200, ratios[k]), (2000, 1e20)):
                cos = lowest[k] if i == 5 else 0.5
                rows.append({**base, "S": S, "follow": "drmad", "norm_exact": 1.0,
                             "norm_drmad": ratio, "cos_drmad": cos, "cos_sign_drmad": 0.4,
                             "cos_drmad2": cos + 0.3,
                             "test_error": 0.07 - (falls["drmad"][k] if S == 200 else 0.0)
                             * i / (n - 1)})
            for follow, fall in falls.items():
                if follow != "drmad":
                    rows.append({**base, "S": 200, "follow": follow,
                                 "test_error": 0.07 - fall[k] * i / (n - 1)})
    return pd.DataFrame(rows)


def test_drmad_quality_judge_on_made_tables():
    cfg = drmad_quality.Config.for_profile("cpu", benchmark=(), horizons=(2000,),
                                           meta_iterations=(10,), seeds_per_horizon=(3,))
    rows = drmad_quality.judge({"metaruns": _metaruns(falls={
        "random": (0.002, 0.001, 0.003), "exact": (0.02, 0.022, 0.021)})}, cfg)
    by = dict(zip(rows.finding.str.slice(0, 24), rows.verdict))
    assert len(rows) == 7
    assert rows.verdict.tolist() == [
        verdicts.AGREE,  # S = 2,000: the ratio 1e20 is far above 100
        verdicts.AGREE,  # S = 200: ratios 1, 2, 0.5 within one order
        verdicts.AGREE, verdicts.AGREE,  # lowest cosines -0.25 to -0.35, below -2/sqrt(320)
        verdicts.AGREE,  # DrMAD2's cosine 0.3 above DrMAD's in every seed
        verdicts.AGREE,  # falls 1-1.2 pt against random's 0.1-0.3
        verdicts.AGREE]  # beta: 200
    assert "exact minus random" in rows.reproduced.iloc[5], by
    # falls no larger than random signs': the fall is no evidence for DrMAD
    same = drmad_quality.judge({"metaruns": _metaruns(falls={
        "random": (0.01, 0.013, 0.0105), "exact": (0.02, 0.022, 0.021)})}, cfg)
    assert same.verdict.iloc[5] == verdicts.INCONCLUSIVE
    worse = drmad_quality.judge({"metaruns": _metaruns(falls={
        "random": (0.02, 0.021, 0.022), "exact": (0.02, 0.022, 0.021)})}, cfg)
    assert worse.verdict.iloc[5] == verdicts.DISAGREE
    # cosines of -0.02 to -0.05 are within the noise of unrelated directions in 320 dimensions
    weak = drmad_quality.judge({"metaruns": _metaruns(lowest=(-0.02, -0.05, -0.03))}, cfg)
    assert weak.verdict.iloc[2] == verdicts.DISAGREE and "-0.112" in weak.rule.iloc[2]
    # no controls: not comparable, saying so, with DrMAD's falls at both S
    bare = drmad_quality.judge({"metaruns": _metaruns()}, cfg)
    assert bare.verdict.iloc[5] == verdicts.NOT_COMPARABLE
    assert "not yet recorded" in bare.rule.iloc[5] and "S=2,000" in bare.reproduced.iloc[5]
    # below the scale gate every row is not comparable, whatever the numbers
    short = drmad_quality.judge({"metaruns": _metaruns(T=1000)},
                                cfg.replace(horizons=(1000,)))
    assert set(short.verdict) == {verdicts.NOT_COMPARABLE}
    assert all("T 1000 < 2000" in rule for rule in short.rule)
    few = drmad_quality.judge({"metaruns": _metaruns(n=3)}, cfg.replace(meta_iterations=(3,)))
    assert few.verdict.iloc[5] == few.verdict.iloc[2] == verdicts.NOT_COMPARABLE
    assert few.verdict.iloc[0] == verdicts.AGREE  # the norms need no course of meta-steps


def _bench(rows, name="bench/results/hypergrad_cpu_T10000.csv", raw=()):
    table = pd.DataFrame([{"status": "ok", "data": "MNIST", "device": "CPU, 1 thread",
                           "reverse_steps": 300 if r[0] == "drmad" else None,
                           **dict(zip(["method", "T", "cpu_s_best", "peak_MB", "stored_MB"], r))}
                          for r in rows])
    tables = {name: table}
    if raw:
        tables[name.replace(".csv", "_raw.csv")] = pd.DataFrame(
            [{"status": "ok", **dict(zip(["method", "T", "cpu_s", "peak_bytes"], r))}
             for r in raw])
    return tables


def test_cost_claims_are_judged_on_benchmark_rows_at_the_thesis_horizon():
    raw = [("drmad", 100, 1.0, 1e6), ("drmad", 100, 1.2, 1.5e6), ("exact", 100, 2.0, 1e6),
           ("exact", 100, 2.1, 1e6), ("plain", 100, 1.0, 1.0), ("plain", 100, 9.0, 9.0)]
    tables = _bench([("drmad", 10000, 10.0, 5.0, None), ("exact", 10000, 40.0, 2000.0, 900.0),
                     ("reverse", 10000, 500.0, 300.0, 290.0),
                     ("drmad", 1000, 1.0, 5.0, None), ("exact", 1000, 4.0, 5.5, 1.0)], raw=raw)
    # the spread of repeated measurements of these methods: time 1.2, memory 1.5 (plain, a
    # method of no ratio, with its spread of 9, does not count)
    assert drmad_quality.measurement_spread(tables, "cpu_s") == pytest.approx(1.2)
    assert drmad_quality.measurement_spread(tables, "peak_bytes") == pytest.approx(1.5)
    rows = drmad_quality.benchmark_rows(tables)
    found = {r["finding"]: r for r in rows}
    exact_time = found["DrMAD is at least 45 times faster than exact reversal (T=10,000; the "
                       "DrMAD abstract's claim against the original implementation, tested "
                       "against our vectorized one)"]
    assert exact_time["verdict"] == verdicts.DISAGREE  # 4x, interval [2.8, 5.8]
    assert exact_time["reproduced"].startswith("4x, interval [2.78, 5.76]")
    memory = found["DrMAD needs 100 times less memory than exact reversal (T=10,000; the DrMAD "
                   "abstract's claim against the original implementation, tested against our "
                   "vectorized one)"]
    assert memory["verdict"] == verdicts.AGREE  # 400x, interval [178, 900]
    reverse = found["DrMAD is at least 45 times faster than stored-trajectory reverse mode "
                    "(T=10,000; the DrMAD abstract's claim, tested against this method)"]
    assert reverse["verdict"] == verdicts.INCONCLUSIVE  # 50x, interval [34.7, 72]
    short = [r for r in rows if "(T=1,000;" in r["finding"]]
    assert len(short) == 2 and {r["verdict"] for r in short} == {verdicts.NOT_COMPARABLE}
    assert "T 1000 < 2000" in short[0]["rule"]
    assert "vectorized" in exact_time["setting"] and "big integers" in exact_time["setting"]


def test_cost_claims_on_the_recorded_benchmark():
    cfg = drmad_quality.Config.for_profile("cpu")
    assert cfg.benchmark == drmad_quality.BENCHMARK
    tables = drmad_quality.read_benchmark(cfg.benchmark)
    assert set(cfg.benchmark) <= set(tables)  # committed with the checkout
    rows = {r["finding"]: r for r in drmad_quality.benchmark_rows(tables)}
    T10000 = tables["bench/results/hypergrad_cpu_T10000.csv"].set_index("method")
    ratio = T10000.loc["exact", "cpu_s_best"] / T10000.loc["drmad", "cpu_s_best"]
    row = rows["DrMAD is at least 45 times faster than exact reversal (T=10,000; the DrMAD "
               "abstract's claim against the original implementation, tested against our "
               "vectorized one)"]
    assert row["reproduced"].startswith(f"{verdicts.fmt(ratio)}x")
    assert row["verdict"] == verdicts.DISAGREE
    assert any("(T=200,000;" in f for f in rows)


# ---------------------------------------------------------------------- accumulated norms
def test_end_growth_judges_each_end_on_the_series_own_scale():
    steady = np.arange(1, 201, dtype=float)  # the same change in every window
    assert accumulated_norms.end_growth(steady, 0.01, "late") == pytest.approx(1.0)
    assert accumulated_norms.end_growth(steady, 0.01, "early") == pytest.approx(1.0)
    jumps = steady.copy()
    jumps[:2] += 10.0  # a quick rise in the first window (near t = T-1) ...
    jumps[-2:] += 1000.0  # ... and a much larger one in the last (near t = 0)
    assert accumulated_norms.end_growth(jumps, 0.01, "late") == pytest.approx(6.0)
    assert accumulated_norms.end_growth(jumps, 0.01, "early") == pytest.approx(501.0)
    # the rise near t = T-1 is 1% of the final norm, yet quick on the series' own scale
    assert jumps[1] / jumps[-1] == pytest.approx(0.01) and accumulated_norms.QUICK <= 6.0


def test_accumulated_norm_series_per_horizon_and_seed(tmp_path):
    cfg = accumulated_norms.Config.for_profile("smoke", output_dir=str(tmp_path),
                                               horizons=(7, 15), seeds=2,
                                               seeds_per_horizon=(2, 1), **TINY)
    res = accumulated_norms.run(cfg)
    acc = res["accumulated"]
    for T, seeds in ((7, [0, 1]), (15, [0])):
        assert sorted(acc[acc["T"] == T].seed.unique()) == seeds
        g = acc[(acc["T"] == T) & (acc.seed == 0)]
        assert len(g) == T and g.t.tolist() == list(range(T - 1, -1, -1))
        assert (g.norm >= 0).all() and g.norm.iloc[0] > 0
    runs = res["runs"]
    assert runs.recovered_w0.all() and len(runs) == 3
    assert (runs.buffer_bits_per_param_step >= runs.information_bound_bits * 0.999).all()
    assert list(res["comparison"].columns) == verdicts.COLUMNS


def _runs(T, near_T, near_0, buffer_MB=8.61312):
    return pd.DataFrame([{"T": T, "seed": s, "growth_near_T": a, "growth_near_0": b,
                          "recovered_w0": True, "buffer_bits_per_param_step": 0.074,
                          "information_bound_bits": 0.074, "buffer_MB": buffer_MB}
                         for s, (a, b) in enumerate(zip(near_T, near_0))])


def test_accumulated_norms_judge_on_made_tables():
    cfg = accumulated_norms.Config.for_profile("cpu")
    rows = accumulated_norms.judge({"runs": _runs(20000, (1000, 900, 1100), (1.2, 0.8, 1.0))},
                                   cfg)
    # a steep rise near t = T-1; near t = 0 a change like any other window's
    assert rows.verdict.tolist() == [verdicts.AGREE, verdicts.DISAGREE,
                                     verdicts.NOT_COMPARABLE]
    assert "geometric mean" in rows.rule.iloc[0]
    # the buffer against the one weight vector DrMAD keeps: 44,860 float64 weights, 0.359 MB
    assert accumulated_norms.n_weights(cfg) == 44860
    assert "24 times the one weight vector DrMAD keeps (0.359 MB)" in rows.reproduced.iloc[2]
    near = accumulated_norms.judge({"runs": _runs(20000, (6.0, 4.0, 9.0), (5.0, 4.0, 6.5))}, cfg)
    assert near.verdict.tolist()[:2] == [verdicts.INCONCLUSIVE] * 2  # within reach of 5
    short = accumulated_norms.judge({"runs": _runs(2000, (1000,) * 3, (1000,) * 3)},
                                    cfg.replace(horizons=(2000, 200000)))
    assert short.verdict.tolist()[:2] == [verdicts.NOT_COMPARABLE] * 2
    assert "T 2000 < 20,000" in short.rule.iloc[0]
    # a norm that falls at an end (a negative change) is no rise: it counts as NO_RISE
    fell = accumulated_norms.judge({"runs": _runs(20000, (-2.3, -1.0, 0.5, 0.2, -0.4, 0.3),
                                                  (1000,) * 6)}, cfg)
    assert fell.verdict.iloc[0] == verdicts.DISAGREE and "did not rise" in fell.rule.iloc[0]
    assert "measured per seed: -2.3, -1, 0.5" in fell.reproduced.iloc[0]


# ---------------------------------------------------------------------- reversal precision
def test_reversal_paths_and_parting(tmp_path):
    cfg = reversal_precision.Config.for_profile("smoke", output_dir=str(tmp_path), T=20,
                                                meta_iterations_before=1,
                                                drmad_reverse_steps=5, **TINY)
    res = reversal_precision.run(cfg)
    path = res["reverse_path"]
    assert len(path) == 2 * 20 and set(path.arithmetic) == {"exact", "float"}
    assert set(res["parting"].quantity) == set(reversal_precision.QUANTITIES)
    a = pd.DataFrame({q: [1.0, 1.0, 1.0] for q in reversal_precision.QUANTITIES})
    b = a.copy()
    b.loc[2, "v_norm"] = 1.1
    parted = reversal_precision.parting_step(a, b, 1e-3)
    assert parted["v_norm"] == 2 and parted["w_norm"] == 3  # 3: never, within 3 steps


def _parting(steps):
    return pd.DataFrame([{"seed": seed, "quantity": q, "parting_step": s + i}
                         for seed, s in enumerate(steps)
                         for i, q in enumerate(reversal_precision.QUANTITIES)])


@pytest.mark.parametrize("steps, verdict", [
    ([230, 235, 241], verdicts.AGREE),          # the order of magnitude of "about 100"
    ([1000, 1100, 1200], verdicts.DISAGREE),    # ten times later
    ([20, 300, 100], verdicts.INCONCLUSIVE),    # the interval spans a bound
])
def test_reversal_precision_judge_on_made_tables(steps, verdict):
    cfg = reversal_precision.Config.for_profile("cpu")
    table = reversal_precision.judge({"parting": _parting(steps)}, cfg)
    assert table.verdict.tolist() == [verdict]
    assert "times the thesis' 100" in table.reproduced[0]  # the effect's size, stated


def test_reversal_precision_judge_gates_and_needs_its_table():
    short = reversal_precision.Config.for_profile("cpu", T=300)
    table = reversal_precision.judge({"parting": _parting([230, 235, 241])}, short)
    assert table.verdict[0] == verdicts.NOT_COMPARABLE and "T 300 < 2000" in table.rule[0]
    cfg = reversal_precision.Config.for_profile("cpu")
    one = reversal_precision.judge({"parting": _parting([230])}, cfg)
    assert one.verdict[0] == verdicts.INCONCLUSIVE  # one seed, as the H100 run
    missing = reversal_precision.judge({}, cfg)
    assert missing.verdict[0] == verdicts.NOT_COMPARABLE and "parting" in missing.rule[0]


# ---------------------------------------------------------------------- why DrMAD explodes
def test_drmad_explosion_passes_hessians_and_evidence(tmp_path):
    cfg = drmad_explosion.Config.for_profile("smoke", output_dir=str(tmp_path), T=16,
                                             reverse_steps=(4, 16), points=3,
                                             hessian_batches=2, lanczos_steps=5, **TINY)
    assert cfg.learning_rates == (0.05, 0.3)
    res = drmad_explosion.run(cfg)
    summary = res["summary"].set_index(["lr", "pass"])
    assert set(summary.index.get_level_values("pass")) == {
        "true path", "line, S=4", "line, S=16", "line, S=4, steps x T/S"}
    true = summary.xs("true path", level="pass")
    np.testing.assert_allclose(true.ratio_to_exact, 1.0)
    np.testing.assert_allclose(true.cosine_with_exact, 1.0)
    assert (summary.reverse_steps.xs("line, S=4", level="pass") == 4).all()
    h = res["hessians"]
    assert set(h["where"]) == {"true path", "line"} and (h.lambda_min <= h.lambda_max).all()
    first = h[h.t == 0].groupby("lr")  # both paths start at w_0
    assert (first.lambda_min.nunique() == 1).all()
    assert set(res["evidence"]["reverse pass"]) >= {"true path", "line (Hessian)"}
    assert list(res["comparison"].columns) == verdicts.COLUMNS and len(res["comparison"]) == 6
    assert set(res["comparison"].verdict) == {verdicts.NOT_COMPARABLE}  # T = 16 < 2,000


def _explosion_summary(small, large, path_growth, line_growth, lr=0.05):
    rows = []
    for seed in range(len(small)):
        for name, ratio, growth in (("true path", 1.0, path_growth[seed]),
                                    ("line, S=200", small[seed], 0.0),
                                    ("line, S=2,000", large[seed], line_growth[seed])):
            rows.append({"lr": lr, "seed": seed, "pass": name, "ratio_to_exact": ratio,
                         "log10_growth_per_step": growth})
    return pd.DataFrame(rows)


def test_drmad_explosion_judge_on_made_tables():
    cfg = drmad_explosion.Config.for_profile("cpu", other_learning_rates=())
    agree = drmad_explosion.judge({"summary": _explosion_summary(
        [1.0, 2.0, 1.5], [1e10, 1e12, 1e11], [0.0, 1e-4, -1e-4], [0.01, 0.011, 0.009])}, cfg)
    assert agree.verdict.tolist() == [verdicts.AGREE] * 3
    disagree = drmad_explosion.judge({"summary": _explosion_summary(
        [1e3, 2e3, 3e3], [1.0, 2.0, 3.0], [0.01, 0.011, 0.009], [0.0, 1e-4, -1e-4])}, cfg)
    assert disagree.verdict.tolist() == [verdicts.DISAGREE] * 3
    # a ratio near a bound: within its own uncertainty of 10, inconclusive
    near = drmad_explosion.judge({"summary": _explosion_summary(
        [3.0, 30.0, 10.0], [1e10, 1e12, 1e11], [0.0] * 3, [0.01] * 3)}, cfg)
    assert near.verdict[0] == verdicts.INCONCLUSIVE
    short = drmad_explosion.Config.for_profile("cpu", other_learning_rates=(), T=1000,
                                               reverse_steps=(100, 1000))
    gated = drmad_explosion.judge({"summary": _explosion_summary(
        [1.0, 2.0, 1.5], [1e10, 1e12, 1e11], [0.0] * 3, [0.01] * 3).replace(
        {"line, S=200": "line, S=100", "line, S=2,000": "line, S=1,000"})}, short)
    assert set(gated.verdict) == {verdicts.NOT_COMPARABLE}
    assert gated.rule.str.contains("T 1,000 < 2,000|T 1000 < 2000").all()


# ---------------------------------------------------------------------- the outer loop
def test_meta_iterations_resume_and_stop_on_nan(tmp_path):
    calls = []

    def step(i, theta):
        calls.append(i)
        return theta - 1.0, {"value": float(theta.sum())}

    ckpt = Checkpoint(tmp_path / "meta.pt")
    theta, records = meta_iterations(step, torch.zeros(3), SignSGD(0.5), 3, checkpoint=ckpt)
    assert [r["meta_iteration"] for r in records] == [0, 1, 2] and calls == [0, 1, 2]
    theta2, records2 = meta_iterations(step, torch.zeros(3), SignSGD(0.5), 5, checkpoint=ckpt)
    assert calls == [0, 1, 2, 3, 4] and len(records2) == 5  # resumed after meta-iteration 2

    def bad(i, theta):
        return torch.tensor([float("nan")]), {"i": i}

    with pytest.raises(FloatingPointError, match="meta-iteration 0") as err:
        meta_iterations(bad, torch.zeros(1), SignSGD(0.1), 3, checkpoint=tmp_path / "bad.pt")
    assert err.value.records == [{"meta_iteration": 0, "i": 0}]
    assert Checkpoint(tmp_path / "bad.pt").load()["records"]


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("module, overrides, message", [
    (parameter_paths, {"coordinates": 3}, "even number"),
    (parameter_paths, {"channels": (8,)}, "two convolutions"),
    (parameter_paths, {"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    (parameter_paths, {"epochs": 0}, "must be at least 1"),
    (parameter_paths, {"batch_size": 5000}, "exceeds the training examples"),
    (dropout_seed, {"l2": 0.0}, "l2 must be positive"),
    (drmad_quality, {"horizons": ()}, "must not be empty"),
    (drmad_quality, {"horizons": (10, 0)}, "must be at least 1"),
    (drmad_quality, {"horizons": (10, 10), "meta_iterations": (1, 1),
                     "seeds_per_horizon": (1, 1)}, "distinct"),
    (drmad_quality, {"meta_iterations": (3,)}, "one value per horizon"),
    (drmad_quality, {"seeds_per_horizon": (3, 1)}, "more seeds than seeds=1"),
    (drmad_quality, {"reverse_steps": (500,)}, "exceeds the shortest horizon"),
    (drmad_quality, {"momentum": 0.0}, r"momentum must be in \(0, 1\)"),
    (drmad_quality, {"momentum": 1.2}, r"momentum must be in \(0, 1\)"),
    (drmad_quality, {"lr": 0.0}, "must be positive"),
    (drmad_quality, {"n_train": 0}, "must be at least 1"),
    (drmad_quality, {"batch_size": 2000}, "exceeds the training examples"),
    (drmad_quality, {"dataset": "cifar10"}, "must be one of digits, mnist"),
    (accumulated_norms, {"radix": 70}, r"radix must be in \[36, 56\]"),
    (accumulated_norms, {"seeds_per_horizon": (1,)}, "one value per horizon"),
    (reversal_precision, {"drmad_reverse_steps": 400}, "exceeds T"),
    (reversal_precision, {"tolerance": 0.0}, r"tolerance is a relative difference in \(0, 1\)"),
    (reversal_precision, {"coordinates": 0}, "must be at least 1"),
    (drmad_explosion, {"reverse_steps": (12, 500)}, "exceed T=120"),
    (drmad_explosion, {"points": 1}, "points must be at least 2"),
    (drmad_explosion, {"other_learning_rates": (0.3, -1.0)}, "must be at least 0"),
    (drmad_explosion, {"other_learning_rates": (0.0,)}, "must be positive"),
])
def test_bad_configurations_are_refused_with_the_fix(module, overrides, message):
    with pytest.raises(ParameterError, match=message):
        module.Config.for_profile("smoke", **overrides)


def test_reversal_may_start_without_meta_steps_and_explosion_without_other_rates():
    assert reversal_precision.Config.for_profile("smoke", meta_iterations_before=0)
    cfg = drmad_explosion.Config.for_profile("smoke", other_learning_rates=())
    assert cfg.learning_rates == (cfg.lr,)
