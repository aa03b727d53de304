"""How good are DrMAD hypergradients? (thesis section 3.1, Figs 3.1, 3.2 and 3.3; and the cost
claims of the DrMAD abstract)

For each horizon T (elementary iterations), number S of DrMAD reverse steps and seed,
meta-iterations follow the sign of the DrMAD hypergradient while the exact hypergradient (exact
reversal, :func:`hpostudy.hypergrad.exact`) and DrMAD2's are computed at the same
hyperparameters. Per meta-iteration we record the norms (Fig 3.1), the cosines between DrMAD
(and DrMAD2) and the exact hypergradient and between their sign vectors (Fig 3.2), the errors
(Fig 3.3), and the number of reverse steps the thesis' beta estimate would choose (factor 1 and
10). A second meta-run per horizon and seed follows the DrMAD2 signs instead (Fig 3.3).

**Controls** (Fig 3.3). That the test error falls while following DrMAD's signs is evidence for
DrMAD only if it falls less along a direction that knows nothing: per horizon and seed, the
meta-runs of ``controls`` take the same meta-steps (same T, meta_lr, meta-iterations, seed and
initialization) along the signs of the exact hypergradient (``exact``: what an informative
direction gives) and along random signs (``random``: a fresh uniformly random sign vector per
meta-iteration from a fixed generator, :func:`random_signs`). They are paired by seed with the
DrMAD-following run at the smallest S.

**Cost.** The DrMAD abstract claims DrMAD is at least 45 times faster and needs 100 times less
memory than exact reverse mode. Per seed, one hypergradient by each of the stored-trajectory
reverse mode, exact reversal and DrMAD at the first horizon is timed in process CPU time, and
the bytes each keeps for its reverse pass are counted (``cost``: a measurement of this setting,
not judged: its timing shares the run's process). The claims are judged on the dedicated
benchmark (``bench/hypergrad.py``: one process per measurement) at every horizon it recorded,
read from the files named by ``benchmark`` (:func:`benchmark_rows`).

Every meta-run is one unit of work that checkpoints after each meta-iteration and resumes.
The comparison is a function of the recorded tables and the settings (:func:`judge`), so
``hpostudy rejudge`` recomputes it without training.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch

from .. import hypergrad as hg
from ..dynamics import train
from ..metaopt import SignSGD, meta_iterations
from ..settings.mnist_mlp import CPU, MLPSetting, build, cosine
from ..study.config import ParameterError
from ..study.experiment_run import prepare
# the comparison and the cost claims live in their own modules; their names stay readable
# here (drmad_quality.judge, drmad_quality.fall, ...), as the notebook and rejudge read them
from .drmad_quality_cost import (BENCHMARK, COST_SCALE, ROOT, measurement_spread, over_drmad,
                                 ratio_judgement, read_benchmark)
from .drmad_quality_judge import (CONTROLS, COURSE, PAPER_SETTING, SCALE, benchmark_rows,
                                  cosine_noise, error_fall, fall, judge, lowest_later_cosine,
                                  n_hyperparameters, per_seed, quality_rows, setting)

FOLLOW = ("drmad", "drmad2", "exact", "random")  # what a meta-run steps along (signs)
RANDOM_SIGNS_SEED = 20170  # base of the generator of the random-sign control (random_signs)


@dataclass(frozen=True)
class Config(MLPSetting):
    """The knobs of the DrMAD-quality experiment (thesis Figs 3.1-3.3): horizons, DrMAD's reverse
    steps, meta-iterations and seeds per horizon, DrMAD2's exact steps, the meta-step, the
    control meta-runs and the benchmark tables of the cost claims.
    """
    horizons: tuple[int, ...] = (30, 120)  # elementary iterations T (thesis: 2,000 and 20,000)
    reverse_steps: tuple[int, ...] = (6, 60)  # DrMAD reverse steps S (thesis: ~200 and ~2,000)
    meta_iterations: tuple[int, ...] = (3, 2)  # meta-iterations, one number per horizon
    seeds_per_horizon: tuple[int, ...] = (1, 1)  # seeds run at each horizon (at most seeds)
    drmad2_exact_steps: int = 4  # DrMAD2's exact reverse steps (thesis: about 100)
    meta_lr: float = 0.07  # step along the sign of the hypergradient (DrMAD code: 0.07)
    controls: tuple[str, ...] = CONTROLS  # control meta-runs: exact signs, random signs
    benchmark: tuple[str, ...] = ()  # benchmark tables the cost claims are judged on

    PRESETS = {
        "smoke": {},
        "cpu": {**CPU, "horizons": (2000, 20000), "reverse_steps": (200, 2000),
                "meta_iterations": (10, 5), "seeds": 3, "seeds_per_horizon": (3, 3),
                "drmad2_exact_steps": 100, "benchmark": BENCHMARK},
        "paper": {**CPU, "horizons": (2000, 20000), "reverse_steps": (200, 2000),
                  "meta_iterations": (20, 20), "seeds": 3, "seeds_per_horizon": (3, 3),
                  "drmad2_exact_steps": 100},
    }
    CHOICES = {**MLPSetting.CHOICES, "controls": CONTROLS}
    EMPTY_OK = ("controls", "benchmark")

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ParameterError: per-horizon knobs that do not fit, reverse steps
            beyond every horizon, repeated controls, or a benchmark name that is not a .csv table.
        """
        super().validate()
        self.check_per_horizon(self.horizons, self.seeds_per_horizon,
                               meta_iterations=self.meta_iterations)
        if min(self.reverse_steps) > min(self.horizons):
            raise ParameterError(f"every reverse_steps value {self.reverse_steps} exceeds the "
                                 f"shortest horizon {min(self.horizons)}: DrMAD takes at most "
                                 "T reverse steps")
        if len(set(self.controls)) != len(self.controls):
            raise ParameterError(f"controls must be distinct, got {self.controls}")
        for name in self.benchmark:
            if not name.endswith(".csv"):
                raise ParameterError(f"benchmark names tables of bench/hypergrad.py (.csv, "
                                     f"relative to the checkout), got {name!r}")


@dataclass(frozen=True)
class MetaRun:
    """One meta-run: follow the signs of ``follow`` (:data:`FOLLOW`); DrMAD with ``S`` reverse
    steps (a control run carries the S of the DrMAD run it is paired with)."""

    T: int
    S: int
    follow: str
    with_exact: bool
    seed: int
    meta_iterations: int

    @property
    def name(self) -> str:
        """The meta-run's label: ``<follow>-T<T>-S<S>-seed<seed>``."""
        return f"{self.follow}-T{self.T}-S{self.S}-seed{self.seed}"


def meta_runs(cfg: Config) -> list[MetaRun]:
    """Per horizon and seed: one DrMAD-following run per S (with the exact hypergradient), one
    DrMAD2-following run at the smallest S, and one run per control (exact signs, random
    signs), paired with the smallest S."""
    runs = []
    for T, n_meta, n_seeds in zip(cfg.horizons, cfg.meta_iterations, cfg.seeds_per_horizon):
        S0 = min(min(cfg.reverse_steps), T)
        for seed in cfg.seed_list[:n_seeds]:
            runs += [MetaRun(T, min(S, T), "drmad", True, seed, n_meta) for S in cfg.reverse_steps]
            runs.append(MetaRun(T, S0, "drmad2", False, seed, n_meta))
            runs += [MetaRun(T, S0, follow, False, seed, n_meta) for follow in cfg.controls]
    return runs


def random_signs(like: torch.Tensor, seed: int, meta_iteration: int) -> torch.Tensor:
    """The random-sign control's direction at ``meta_iteration`` of ``seed``'s run: each entry
    +1 or -1 with probability 1/2, from a generator seeded with
    ``RANDOM_SIGNS_SEED + 1000 * seed + meta_iteration`` (the same on every machine)."""
    g = torch.Generator().manual_seed(RANDOM_SIGNS_SEED + 1000 * seed + meta_iteration)
    bits = torch.randint(0, 2, like.shape, generator=g)
    return (2 * bits - 1).to(dtype=like.dtype, device=like.device)


def one_meta_run(item: tuple[Config, MetaRun], checkpoint=None) -> list[dict]:
    """The records of one meta-run (one per meta-iteration), checkpointed every meta-iteration."""
    cfg, r = item
    task, problem, space, dynamics, theta0 = build(cfg, r.seed)
    K = min(cfg.drmad2_exact_steps, r.T)

    def base(i):
        return {"seed": r.seed, "T": r.T, "S": r.S, "follow": r.follow}

    def control(i, theta):
        if r.follow == "exact":
            exact = hg.exact(problem, dynamics, theta, r.T)
            return exact.hypergrad, {**base(i), "norm_exact": float(exact.hypergrad.norm()),
                                     **task.errors(exact.w_final, theta)}
        w_final = train(problem, dynamics, theta, r.T)[0]
        return random_signs(theta, r.seed, i), {**base(i), **task.errors(w_final, theta)}

    def step(i, theta):
        if r.follow in CONTROLS:
            return control(i, theta)
        # DrMAD and DrMAD2 from one forward training (the same T steps from the same theta):
        # bit for bit hg.drmad(..., reverse_steps=S) and hg.drmad2(..., exact_steps=K, ...)
        drmad, drmad2 = hg.drmad_shared(problem, dynamics, theta, r.T, [
            {"reverse_steps": r.S}, {"exact_steps": K, "reverse_steps": max(r.S - K, 1)}])
        beta_steps = drmad.diagnostics.beta_reverse_steps
        record = {**base(i), "norm_drmad": float(drmad.hypergrad.norm()),
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
                     "stored_bytes": int(res.diagnostics.stored_bytes)})
    return rows


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
        comparison = judge({"metaruns": metaruns, "cost": cost}, cfg)
        run.save_tables(metaruns=metaruns, cost=cost, comparison=comparison)
    return {"metaruns": metaruns, "cost": cost, "comparison": comparison}
