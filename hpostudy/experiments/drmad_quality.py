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

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from .. import hypergrad as hg
from .. import verdicts as v
from ..dynamics import train
from ..metaopt import SignSGD, meta_iterations
from ..settings.mnist_mlp import CPU, MLPSetting, build, cosine
from ..study.config import ParameterError
from ..study.experiment_run import prepare

PAPER_SETTING = ("MNIST 15,000/5,000/5,000, T = 2,000 and 20,000 (up to 200,000), about 200 "
                 "and 2,000 reverse steps; learning rate and batch size unstated, the DrMAD "
                 "code it builds on uses 0.05 and 50")
FOLLOW = ("drmad", "drmad2", "exact", "random")  # what a meta-run steps along (signs)
CONTROLS = ("exact", "random")
RANDOM_SIGNS_SEED = 20170  # base of the generator of the random-sign control (random_signs)
BENCHMARK = ("bench/results/hypergrad_cpu.csv", "bench/results/hypergrad_cpu_T10000.csv",
             "bench/results/hypergrad_cpu_T200000.csv")
ROOT = Path(__file__).resolve().parents[2]  # the checkout: benchmark paths are relative to it

# ---------------------------------------------------------------------- the scale gates
SCALE = v.Scale({"T": 2000, "MNIST training images": 15000},
                "the thesis measures DrMAD against the exact hypergradient at T = 2,000 and "
                "20,000 on MNIST with 15,000 training images; how far DrMAD's straight line "
                "strays from the training path depends on the horizon and the data")
COURSE = v.Scale({"T": 2000, "MNIST training images": 15000, "meta-iterations": 5},
                 "the thesis' claim is about the course of the meta-iterations on MNIST at "
                 "T = 2,000 and 20,000: a meta-step of 0.07 along the signs moves each "
                 "log-hyperparameter by 0.07, so fewer than 5 leave the errors where they "
                 "started")
COST_SCALE = v.Scale({"T": 2000},
                     "the thesis runs DrMAD at T = 2,000 and 20,000 (and an exact "
                     "hypergradient at 200,000, Fig 3.5): exact reversal's buffer and the "
                     "stored trajectory grow with T while DrMAD's memory does not, so a shorter "
                     "horizon understates the ratios")


@dataclass(frozen=True)
class Config(MLPSetting):
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


# ---------------------------------------------------------------------- the comparison
def setting(cfg: Config, T: int | None = None) -> str:
    """How this run's setting differs from the thesis' (at horizon ``T``, or every horizon)."""
    data = ("8x8 digits instead of MNIST" if cfg.dataset == "digits"
            else f"MNIST {cfg.n_train:,}/{cfg.n_val:,}/{cfg.n_test:,}")
    runs = "; ".join(f"T={h:,}: {n} seed(s) x {m} meta-iterations" for h, m, n in
                     zip(cfg.horizons, cfg.meta_iterations, cfg.seeds_per_horizon)
                     if T is None or h == T)
    return (f"{cfg.profile}: {data}; {runs}; S in {list(cfg.reverse_steps)}; lr {cfg.lr:g}, "
            f"batch {cfg.batch_size}, meta-steps {cfg.meta_lr:g} (thesis: {PAPER_SETTING})")


def per_seed(df: pd.DataFrame, column: str, how: str = "median") -> pd.Series:
    """One value per seed (``how`` over the seed's meta-iterations)."""
    return df.groupby("seed")[column].agg(how)


def n_hyperparameters(cfg: Config) -> int:
    """The number d of hyperparameters of the section 3.1 setting (:func:`build`): a scale s
    and an L2 coefficient lambda per unit of every layer, output layer included."""
    return 2 * (sum(cfg.hidden) + 10)


def cosine_noise(d: int) -> float:
    """Twice :math:`1/\\sqrt d`, the standard deviation of the cosine between two unrelated
    (independent, uniformly oriented) directions in ``d`` dimensions, and of the cosine of two
    independent random sign vectors: a cosine within this of 0 is indistinguishable from that
    of an unrelated direction (about 95% of unrelated pairs fall inside)."""
    return 2 / math.sqrt(d)


def fall(metaruns: pd.DataFrame, follow: str, T: int, S: int | None = None,
         column: str = "test_error") -> pd.Series:
    """Per seed, ``column`` at the first meta-iteration minus at the last, in the meta-run that
    follows ``follow`` at horizon ``T`` (and ``S`` reverse steps where given): positive where
    the error fell."""
    d = metaruns[(metaruns.follow == follow) & (metaruns["T"] == T)]
    if S is not None:
        d = d[d.S == S]
    g = d.sort_values("meta_iteration").groupby("seed")[column]
    return g.first() - g.last()


def lowest_later_cosine(d: pd.DataFrame) -> pd.Series:
    """Per seed, the lowest cosine with the exact hypergradient -- of DrMAD's hypergradient or
    of its sign vector -- after the first meta-iteration."""
    later = d[d.meta_iteration > 0]
    return later[["cos_drmad", "cos_sign_drmad"]].min(axis=1).groupby(later.seed).min()


def _with(judgement: v.Judgement, reproduced: str = "", rule: str = "") -> v.Judgement:
    """``judgement`` with text appended to what it reproduced and to its rule."""
    return dataclasses.replace(judgement, reproduced=judgement.reproduced + reproduced,
                               rule=judgement.rule + rule)


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison table from the run's tables (``metaruns``, ``cost``) and settings: the
    thesis' findings of section 3.1 per horizon (:func:`quality_rows`) and the DrMAD
    abstract's cost claims on the benchmark tables named by ``cfg.benchmark``
    (:func:`benchmark_rows`)."""
    rows = []
    metaruns = tables["metaruns"]
    for T in sorted(metaruns["T"].unique()):
        rows += quality_rows(metaruns[metaruns["T"] == T], cfg, int(T))
    if cfg.benchmark:
        rows += benchmark_rows(read_benchmark(cfg.benchmark))
    return v.table(rows)


def quality_rows(metaruns: pd.DataFrame, cfg: Config, T: int) -> list[dict]:
    """The thesis' findings of section 3.1 at horizon ``T`` (rows of one horizon's runs), each
    by an interval rule over seeds behind its scale gate."""
    where = setting(cfg, T)
    n_meta = dict(zip(cfg.horizons, cfg.meta_iterations)).get(T, int(
        metaruns.meta_iteration.max()) + 1)
    ran = {"T": T, "MNIST training images": cfg.n_train if cfg.dataset == "mnist" else 0,
           "meta-iterations": n_meta}
    d = metaruns[metaruns.follow == "drmad"].assign(
        ratio=lambda x: x.norm_drmad / x.norm_exact)
    Ss = sorted(int(S) for S in d.S.unique())
    small, large = Ss[0], Ss[-1]
    d_small = d[d.S == small]
    rows = []

    def add(finding, paper, judgement, scale=SCALE):
        finding = (f"{finding[:-1]}, T={T:,})" if finding.endswith(")") else
                   f"{finding} (T={T:,})")
        rows.append(v.row(finding, paper, scale.gate(judgement, ran), where))

    if large != small:
        add(f"DrMAD norms explode with ~{large:,} reverse steps (Fig 3.1)",
            "several orders of magnitude above the exact norm",
            v.within(per_seed(d[d.S == large], "ratio"), low=100.0, log=True,
                     what=f"the median over meta-iterations of the DrMAD/exact norm ratio at "
                          f"S={large:,}"))
    add(f"With ~{small:,} reverse steps DrMAD has the exact norm's order of magnitude "
        "(Fig 3.1)", "same order of magnitude",
        v.within(per_seed(d_small, "ratio"), low=0.1, high=10.0, log=True,
                 what=f"the median over meta-iterations of the DrMAD/exact norm ratio at "
                      f"S={small:,}"))
    d_hyper = n_hyperparameters(cfg)
    noise = cosine_noise(d_hyper)
    for S in Ss:
        add(f"Cosines (or sign cosines) of DrMAD (S={S:,}) with the exact hypergradient turn "
            "negative after the first meta-iteration (Fig 3.2)", "sometimes negative",
            _with(v.within(lowest_later_cosine(d[d.S == S]), high=-noise,
                           what=f"each seed's lowest cosine (of the hypergradients or of their "
                                f"signs) after the first meta-iteration"),
                  rule=f"; -{v.fmt(noise)} = -2/sqrt(d), d = {d_hyper} hyperparameters: "
                       f"twice the spread of the cosine of unrelated directions, within which "
                       f"a cosine is indistinguishable from 0"), COURSE)
    medians = d_small.groupby("seed")[["cos_drmad", "cos_drmad2"]].median()
    add(f"DrMAD2 agrees better with the exact hypergradient than DrMAD (S={small:,}, Fig 3.2)",
        "better for 200-2,000 iterations",
        v.difference(medians.cos_drmad, medians.cos_drmad2,
                     what_lower="the median cosine of DrMAD with the exact hypergradient",
                     what_higher="DrMAD2's", paired=True))
    add(f"Test error falls following the DrMAD signs (S={small:,}, Fig 3.3), more than along "
        "random signs", "decreases", error_fall(metaruns, T, small, large, cfg), COURSE)
    first = d[d.meta_iteration == 0].drop_duplicates("seed").set_index("seed").beta_steps_x10
    add("The beta estimate with the factor 10 gives roughly 200 reverse steps",
        "roughly 200 for 2,000-200,000 iterations",
        v.within(first, low=100.0, high=400.0, log=True,
                 what="1/(10 beta) at the first meta-iteration"))
    return rows


def error_fall(metaruns: pd.DataFrame, T: int, small: int, large: int,
               cfg: Config) -> v.Judgement:
    """Fig 3.3's claim against its controls: the fall of the test error following DrMAD's
    signs (S = ``small``) minus its fall along random signs, paired by seed; the fall along
    the exact hypergradient's signs beside it. Without the controls in the tables the row is
    not comparable and says why (the fall at S = ``large`` shows what an uninformative DrMAD
    gives)."""
    drmad = fall(metaruns, "drmad", T, small)
    unit = "pt"
    pts = lambda s: 100 * s  # noqa: E731 -- error rates in percentage points
    followed = set(metaruns.follow)
    if not set(CONTROLS) <= followed:
        text = f"fall of the test error following DrMAD (S={small:,}): " + \
            v.t_interval(pts(drmad)).text(3, unit)
        if large != small:
            text += (f"; following DrMAD with S={large:,}, whose cosine with the exact "
                     f"hypergradient is about 0: " +
                     v.t_interval(pts(fall(metaruns, "drmad", T, large))).text(3, unit))
        return v.not_comparable(
            "not yet recorded: this run has no control meta-runs (along the exact "
            "hypergradient's signs and along random signs, same T, meta-steps and seeds); "
            "without them a fall is no evidence for DrMAD's direction", text)
    random, exact = fall(metaruns, "random", T), fall(metaruns, "exact", T)
    seeds = sorted(set(drmad.index) & set(random.index) & set(exact.index))
    judgement = v.difference(pts(random[seeds]), pts(drmad[seeds]), paired=True, unit=unit,
                             what_lower="the fall of the test error along random signs",
                             what_higher="its fall following DrMAD's signs")
    informative = v.difference_interval(pts(random[seeds]), pts(exact[seeds]), paired=True)
    reproduced = (f"fall following DrMAD: {v.spread(pts(drmad[seeds]), 3, unit)}; along random "
                  f"signs: {v.spread(pts(random[seeds]), 3, unit)}; DrMAD minus random "
                  f"{judgement.interval.text(3, unit)}; along the exact hypergradient's signs: "
                  f"{v.spread(pts(exact[seeds]), 3, unit)}, exact minus random "
                  f"{informative.text(3, unit)}")
    return dataclasses.replace(judgement, reproduced=reproduced, rule=judgement.rule + (
        " (falls in percentage points, first meta-iteration minus last)"))


# ---------------------------------------------------------------------- cost, on the benchmark
def over_drmad(cost: pd.DataFrame, other: str, column: str) -> pd.Series:
    """Per seed, ``column`` of the method ``other`` over DrMAD's (a row of ``cost.csv`` per
    seed and method): the ratios of the DrMAD abstract's cost claims, in this run's setting."""
    wide = cost.pivot(index="seed", columns="method", values=column)
    return wide[other] / wide["drmad"]


def read_benchmark(files: tuple[str, ...], root: Path = ROOT) -> dict[str, pd.DataFrame]:
    """The benchmark tables ``files`` (paths relative to ``root``, the checkout) and their raw
    measurements (``<stem>_raw.csv`` beside each), by file name; a missing file is left out."""
    tables = {}
    for name in files:
        path = Path(root) / name
        raw = path.with_name(path.stem + "_raw.csv")
        if path.exists():
            tables[name] = pd.read_csv(path)
        if raw.exists():
            tables[str(Path(name).with_name(raw.name))] = pd.read_csv(raw)
    return tables


def measurement_spread(tables: dict[str, pd.DataFrame], column: str,
                       methods=("reverse", "exact", "drmad")) -> float:
    """The largest ratio between two measurements of ``column`` of the same configuration
    (method and T, each in its own process) in the benchmark's raw tables, over ``methods``:
    the factor by which one measurement may be off."""
    raws = [t for name, t in tables.items() if name.endswith("_raw.csv")]
    if not raws:
        return math.nan
    raw = pd.concat(raws, ignore_index=True)
    ok = raw[(raw.status == "ok") & raw.method.isin(methods) & (raw[column] > 0)]
    spreads = ok.groupby(["method", "T"])[column].agg(lambda x: x.max() / x.min())
    return float(spreads.max()) if len(spreads) else math.nan


def ratio_judgement(ratio: float, factor: float, low: float, what: str) -> v.Judgement:
    """A claim that ``ratio`` (of two single benchmark measurements) is at least ``low``: the
    interval ``[ratio / factor, ratio * factor]`` (``factor``: the measurements' spread, on
    each of the two) decides -- agree if it lies at least ``low``, disagree if wholly below,
    else inconclusive."""
    iv = v.Interval(ratio, ratio / factor, ratio * factor, 1, "measurement spread")
    rule = (f"agree if {what}, divided and multiplied by {v.fmt(factor)} (the square of the "
            f"benchmark's largest spread between repeated measurements of one configuration of "
            f"these methods), lies at least {v.fmt(low)}, disagree if wholly below, else "
            "inconclusive")
    reproduced = f"{v.fmt(ratio)}x, interval [{v.fmt(iv.low)}, {v.fmt(iv.high)}]"
    return v.Judgement(v.side_of(iv, low=low), rule, reproduced, interval=iv)


def benchmark_rows(tables: dict[str, pd.DataFrame]) -> list[dict]:
    """The DrMAD abstract's claims (at least 45 times faster, 100 times less memory than exact
    reverse mode) at every horizon of the benchmark tables, for our exact reversal and for the
    stored-trajectory reverse mode: time is the best process CPU time of a dedicated process,
    memory the peak above the warm process (``cpu_s_best``, ``peak_MB``), both over DrMAD's at
    the same T; behind :data:`COST_SCALE`."""
    summaries = {name: t for name, t in tables.items() if not name.endswith("_raw.csv")}
    if not summaries:
        return [v.row("DrMAD's cost against exact reversal (DrMAD abstract)", "45x faster, "
                      "100x less memory", v.not_comparable("the benchmark tables are not in "
                                                           "this checkout"), "-")]
    time_spread = measurement_spread(tables, "cpu_s") ** 2
    memory_spread = measurement_spread(tables, "peak_bytes") ** 2
    rows = []
    for name, table in summaries.items():
        ok = table[table.status == "ok"].set_index(["method", "T"])
        for T in sorted(table["T"].unique()):
            if ("drmad", T) not in ok.index:
                continue
            drmad = ok.loc[("drmad", T)]
            device = str(drmad.device)
            for other, label in (("exact", "exact reversal"),
                                 ("reverse", "stored-trajectory reverse mode")):
                if (other, T) not in ok.index:
                    continue
                o = ok.loc[(other, T)]
                where = (f"{name}: {drmad.data}, MLP 784-50-50-50-10, float32, momentum 0.9, "
                         f"batch 128, {device}; one process per measurement after a warm-up; "
                         f"DrMAD with S={int(drmad.reverse_steps)} reverse steps (its beta "
                         f"estimate); our exact reversal is vectorized (a range-ANS buffer of "
                         f"tensors), not the original's Python big integers")
                tested = (f"{label} (T={int(T):,}; the DrMAD abstract's claim against the "
                          "original implementation, tested against our vectorized one)"
                          if other == "exact" else
                          f"{label} (T={int(T):,}; the DrMAD abstract's claim, tested against "
                          "this method)")
                speed = ratio_judgement(float(o.cpu_s_best) / float(drmad.cpu_s_best),
                                        time_spread, 45.0,
                                        f"the CPU time of {label} over DrMAD's")
                speed = _with(speed, reproduced=(
                    f" ({v.fmt(float(o.cpu_s_best))} s against {v.fmt(float(drmad.cpu_s_best))}"
                    f" s)"))
                memory = ratio_judgement(float(o.peak_MB) / float(drmad.peak_MB),
                                         memory_spread, 100.0,
                                         f"the peak memory of {label} over DrMAD's")
                kept = (f"; kept for the reverse pass: {v.fmt(float(o.stored_MB))} MB"
                        if not pd.isna(o.get("stored_MB")) else "")
                memory = _with(memory, reproduced=(
                    f" ({v.fmt(float(o.peak_MB))} MB against {v.fmt(float(drmad.peak_MB))} MB "
                    f"above the warm process{kept})"))
                rows.append(v.row(f"DrMAD is at least 45 times faster than {tested}",
                                  "at least 45x", COST_SCALE.gate(speed, {"T": T}), where))
                rows.append(v.row(f"DrMAD needs 100 times less memory than {tested}",
                                  "100x less", COST_SCALE.gate(memory, {"T": T}), where))
    return rows
