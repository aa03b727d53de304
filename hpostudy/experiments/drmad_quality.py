"""How good are DrMAD hypergradients? (thesis section 3.1, Figs 3.1, 3.2 and 3.3; and the cost
claims of the DrMAD abstract)

For each horizon T (elementary iterations), number S of DrMAD reverse steps and seed,
meta-iterations follow the sign of the DrMAD hypergradient while the exact hypergradient (exact
reversal, :func:`hpostudy.hypergrad.exact`) and DrMAD2's are computed at the same
hyperparameters. Per meta-iteration we record the norms (Fig 3.1), the cosines between DrMAD
(and DrMAD2) and the exact hypergradient and between their sign vectors (Fig 3.2), the errors
(Fig 3.3), and the number of reverse steps the thesis' beta estimate would choose (factor 1 and
10). A second meta-run per horizon and seed follows the DrMAD2 signs instead (Fig 3.3).

The DrMAD abstract claims DrMAD is at least 45 times faster and needs 100 times less memory
than exact reverse mode. Per seed, one hypergradient by each of the stored-trajectory reverse
mode, exact reversal and DrMAD at the first horizon is timed in process CPU time, and the bytes
each keeps for its reverse pass are counted.

Every meta-run is one unit of work that checkpoints after each meta-iteration and resumes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import hypergrad as hg
from .. import verdicts as v
from ..metaopt import SignSGD, meta_iterations
from ..settings.mnist_mlp import CPU, MLPSetting, build, cosine
from ..study.config import ParameterError
from ..study.run import prepare

PAPER_SETTING = ("MNIST 15,000/5,000/5,000, T = 2,000 and 20,000 (up to 200,000), about 200 "
                 "and 2,000 reverse steps; learning rate and batch size unstated, the DrMAD "
                 "code it builds on uses 0.05 and 50")


@dataclass(frozen=True)
class Config(MLPSetting):
    horizons: tuple[int, ...] = (30, 120)  # elementary iterations T (thesis: 2,000 and 20,000)
    reverse_steps: tuple[int, ...] = (6, 60)  # DrMAD reverse steps S (thesis: ~200 and ~2,000)
    meta_iterations: tuple[int, ...] = (3, 2)  # meta-iterations, one number per horizon
    seeds_per_horizon: tuple[int, ...] = (1, 1)  # seeds run at each horizon (at most seeds)
    drmad2_exact_steps: int = 4  # DrMAD2's exact reverse steps (thesis: about 100)
    meta_lr: float = 0.07  # step along the sign of the hypergradient (DrMAD code: 0.07)

    PRESETS = {
        "smoke": {},
        "cpu": {**CPU, "horizons": (2000,), "reverse_steps": (200, 2000),
                "meta_iterations": (10,), "seeds": 3, "seeds_per_horizon": (3,),
                "drmad2_exact_steps": 100},
        "paper": {**CPU, "horizons": (2000, 20000), "reverse_steps": (200, 2000),
                  "meta_iterations": (20, 20), "seeds": 3, "seeds_per_horizon": (3, 3),
                  "drmad2_exact_steps": 100},
    }

    def validate(self):
        super().validate()
        self.check_per_horizon(self.horizons, self.seeds_per_horizon,
                               meta_iterations=self.meta_iterations)
        if min(self.reverse_steps) > min(self.horizons):
            raise ParameterError(f"every reverse_steps value {self.reverse_steps} exceeds the "
                                 f"shortest horizon {min(self.horizons)}: DrMAD takes at most "
                                 "T reverse steps")


@dataclass(frozen=True)
class MetaRun:
    """One meta-run: follow the signs of ``follow`` (drmad or drmad2) with S reverse steps."""

    T: int
    S: int
    follow: str
    with_exact: bool
    seed: int
    meta_iterations: int

    @property
    def name(self) -> str:
        return f"{self.follow}-T{self.T}-S{self.S}-seed{self.seed}"


def meta_runs(cfg: Config) -> list[MetaRun]:
    """Per horizon and seed: one DrMAD-following run per S (with the exact hypergradient) and
    one DrMAD2-following run at the smallest S."""
    runs = []
    for T, n_meta, n_seeds in zip(cfg.horizons, cfg.meta_iterations, cfg.seeds_per_horizon):
        for seed in cfg.seed_list[:n_seeds]:
            runs += [MetaRun(T, min(S, T), "drmad", True, seed, n_meta) for S in cfg.reverse_steps]
            runs.append(MetaRun(T, min(min(cfg.reverse_steps), T), "drmad2", False, seed, n_meta))
    return runs


def one_meta_run(item: tuple[Config, MetaRun], checkpoint=None) -> list[dict]:
    """The records of one meta-run (one per meta-iteration), checkpointed every meta-iteration."""
    cfg, r = item
    task, problem, space, dynamics, theta0 = build(cfg, r.seed)
    K = min(cfg.drmad2_exact_steps, r.T)

    def step(i, theta):
        drmad = hg.drmad(problem, dynamics, theta, r.T, reverse_steps=r.S)
        drmad2 = hg.drmad2(problem, dynamics, theta, r.T, exact_steps=K,
                           reverse_steps=max(r.S - K, 1))
        beta_steps = drmad.diagnostics.beta_reverse_steps
        record = {"seed": r.seed, "T": r.T, "S": r.S, "follow": r.follow,
                  "norm_drmad": float(drmad.hypergrad.norm()),
                  "norm_drmad2": float(drmad2.hypergrad.norm()),
                  "beta_steps": beta_steps, "beta_steps_x10": beta_steps / 10,
                  **task.errors(drmad.w_final, theta)}
        if r.with_exact:
            exact = hg.exact(problem, dynamics, theta, r.T)
            e = exact.hypergrad
            record.update({
                "norm_exact": float(e.norm()),
                "cos_drmad": cosine(drmad.hypergrad, e),
                "cos_sign_drmad": cosine(torch.sign(drmad.hypergrad), torch.sign(e)),
                "cos_drmad2": cosine(drmad2.hypergrad, e),
                "cos_sign_drmad2": cosine(torch.sign(drmad2.hypergrad), torch.sign(e)),
                "exact_recovered_w0": exact.diagnostics.recovered_w0})
        return (drmad if r.follow == "drmad" else drmad2).hypergrad, record

    _, records = meta_iterations(step, theta0, SignSGD(cfg.meta_lr), r.meta_iterations,
                                 checkpoint=checkpoint)
    return records


def one_cost(item: tuple[Config, int], checkpoint=None) -> list[dict]:
    """Process CPU time and stored bytes of one hypergradient by the stored-trajectory reverse
    mode, exact reversal and DrMAD (S = the smallest reverse_steps) at the first horizon, in an
    order rotated by the seed (so no method always runs first)."""
    cfg, seed = item
    task, problem, space, dynamics, theta = build(cfg, seed)
    T, S = cfg.horizons[0], min(min(cfg.reverse_steps), cfg.horizons[0])
    calls = {"reverse": lambda: hg.reverse(problem, dynamics, theta, T),
             "exact": lambda: hg.exact(problem, dynamics, theta, T),
             "drmad": lambda: hg.drmad(problem, dynamics, theta, T, reverse_steps=S)}
    order = list(calls)[seed % 3:] + list(calls)[:seed % 3]
    rows = []
    for method in order:
        start = time.process_time()
        res = calls[method]()
        seconds = time.process_time() - start
        rows.append({"seed": seed, "method": method, "T": T, "S": S if method == "drmad" else T,
                     "cpu_seconds": seconds, "threads": torch.get_num_threads(),
                     "stored_bytes": stored_bytes(method, res, problem.w0)})
    return rows


def stored_bytes(method: str, res, w0: torch.Tensor) -> int:
    """Bytes a method keeps for its reverse pass beyond the weights and velocity it trains:
    the stored trajectory (reverse: every state's weights), the information buffer
    (exact reversal), the initial weights that fix the straight line (DrMAD)."""
    vector = w0.numel() * w0.element_size()
    if method == "reverse":
        return int(res.diagnostics.stored_bytes)
    if method == "exact":
        return int(res.diagnostics.buffer_bytes)
    return vector


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """All meta-runs and cost measurements; returns (and writes) ``metaruns`` (one row per
    meta-iteration), ``cost`` (one row per method and seed) and ``comparison``."""
    runs = meta_runs(cfg)
    with prepare(cfg) as run:
        records = run.map(one_meta_run, [(cfg, r) for r in runs], desc="meta-runs",
                          names=[r.name for r in runs])
        costs = run.map(one_cost, [(cfg, s) for s in cfg.seed_list], desc="cost",
                        names=[f"cost-seed{s}" for s in cfg.seed_list])
        metaruns = pd.DataFrame([row for rows in records for row in rows])
        cost = pd.DataFrame([row for rows in costs for row in rows])
        comparison = compare(metaruns, cost, cfg)
        run.save_tables(metaruns=metaruns, cost=cost, comparison=comparison)
    return {"metaruns": metaruns, "cost": cost, "comparison": comparison}


def setting(cfg: Config) -> str:
    """How this run's setting differs from the thesis'."""
    data = ("8x8 digits instead of MNIST" if cfg.dataset == "digits"
            else f"MNIST {cfg.n_train:,}/{cfg.n_val:,}/{cfg.n_test:,}")
    runs = "; ".join(f"T={T:,}: {n} seed(s) x {m} meta-iterations" for T, m, n in
                     zip(cfg.horizons, cfg.meta_iterations, cfg.seeds_per_horizon))
    return (f"{cfg.profile}: {data}; {runs}; S in {list(cfg.reverse_steps)}; lr {cfg.lr:g}, "
            f"batch {cfg.batch_size} (thesis: {PAPER_SETTING})")


def per_seed(df: pd.DataFrame, column: str, how: str = "median") -> pd.Series:
    """One value per seed (``how`` over the seed's meta-iterations)."""
    return df.groupby("seed")[column].agg(how)


def compare(metaruns: pd.DataFrame, cost: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The thesis' findings of section 3.1 and the DrMAD abstract's claims next to ours, each
    by a rule over seeds (the first horizon has the most seeds; its runs decide)."""
    where = setting(cfg)
    T0 = cfg.horizons[0]
    d = metaruns[(metaruns.follow == "drmad") & (metaruns["T"] == T0)].copy()
    d["ratio"] = d.norm_drmad / d.norm_exact
    small, large = d.S.min(), d.S.max()
    later = metaruns[(metaruns.follow == "drmad") & (metaruns.meta_iteration > 0)]
    negative = ((later.cos_drmad < 0) | (later.cos_sign_drmad < 0)).groupby(later.seed).any()
    follow = d[d.S == small].sort_values("meta_iteration").groupby("seed")
    test_fell = follow.test_error.last() < follow.test_error.first()
    gap = d[d.S == small].assign(gap=lambda x: x.cos_drmad2 - x.cos_drmad)
    beta = d[d.meta_iteration == 0].drop_duplicates("seed").set_index("seed").beta_steps_x10
    rows = [
        v.row(f"DrMAD norms explode with ~{large:,} reverse steps (T={T0:,}, Fig 3.1)",
              "several orders of magnitude above the exact norm",
              v.each_seed_within(per_seed(d[d.S == large], "ratio"), low=100.0,
                                 what=f"the median DrMAD/exact norm ratio at S={large:,}"),
              where),
        v.row(f"With ~{small:,} reverse steps DrMAD has the exact norm's order of magnitude "
              f"(T={T0:,}, Fig 3.1)", "same order of magnitude",
              v.each_seed_within(per_seed(d[d.S == small], "ratio"), low=0.1, high=10.0,
                                 what=f"the median DrMAD/exact norm ratio at S={small:,}"),
              where),
        v.row("Cosines (or sign cosines) with the exact hypergradient turn negative after the "
              "first meta-iteration (Fig 3.2)", "sometimes negative",
              v.holds_for_each_seed(negative, what="a later meta-iteration has a negative "
                                                    "cosine or sign cosine"), where),
        v.row(f"Test error falls following the DrMAD signs (S={small:,}, Fig 3.3)", "decreases",
              v.holds_for_each_seed(test_fell, what="the test error at the last meta-iteration "
                                                     "is below the first's"), where),
        v.row(f"DrMAD2 agrees better with the exact hypergradient than DrMAD (T={T0:,}, "
              f"S={small:,}, Fig 3.2)", "better for 200-2,000 iterations",
              v.each_seed_within(per_seed(gap, "gap"), low=0.0,
                                 what="the median of cos(DrMAD2, exact) - cos(DrMAD, exact)"),
              where),
        v.row("The beta estimate with the factor 10 gives roughly 200 reverse steps",
              "roughly 200 for 2,000-200,000 iterations",
              v.each_seed_within(beta, low=100.0, high=400.0,
                                 what=f"1/(10 beta) at T={T0:,}, first meta-iteration"), where),
    ]
    rows += cost_rows(cost, where)
    return v.table(rows)


def over_drmad(cost: pd.DataFrame, other: str, column: str) -> pd.Series:
    """Per seed, ``column`` of the method ``other`` over DrMAD's (a row of ``cost.csv`` per
    seed and method): the ratios the DrMAD abstract's cost claims are about."""
    wide = cost.pivot(index="seed", columns="method", values=column)
    return wide[other] / wide["drmad"]


def cost_rows(cost: pd.DataFrame, where: str) -> list[dict]:
    """The DrMAD abstract's claims: at least 45x faster, 100x less memory, per seed."""
    T, S = int(cost["T"].max()), int(cost.loc[cost.method == "drmad", "S"].iloc[0])
    threads = int(cost.threads.max())
    where = (f"{where}; one hypergradient per seed at T={T:,}, S={S} (process CPU time, "
             f"{threads} thread{'s' if threads > 1 else ''})")
    rows = []
    for other, label in (("exact", "exact reversal"), ("reverse", "stored-trajectory reverse")):
        speed = over_drmad(cost, other, "cpu_seconds")
        memory = over_drmad(cost, other, "stored_bytes")
        rows.append(v.row(f"DrMAD is at least 45 times faster than {label} (DrMAD abstract)",
                          "at least 45x", v.each_seed_within(
                              speed, low=45.0, what=f"CPU time of {label} / DrMAD's"), where))
        rows.append(v.row(f"DrMAD needs 100 times less memory than {label} (DrMAD abstract)",
                          "100x less", v.each_seed_within(
                              memory, low=100.0, what=f"bytes {label} stores / DrMAD's"), where))
    return rows
