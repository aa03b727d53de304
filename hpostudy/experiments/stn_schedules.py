"""Hyperparameter schedules of a Self-Tuning Network (MacKay et al. 2019, slides "STN
hyperparameter schedules"): an LSTM language model whose output dropout rate (the only
regularizer) is tuned by an STN from several initial values. The slides find the same schedule
whatever the start, and a schedule that beats fixed rates: the time-average of the schedule
held fixed, the same with Gaussian or sinusoidal noise, the STN's final value held fixed, and a
plain LSTM trained on the STN's schedule. Every run is repeated for each seed; the fixed rates
of a seed come from that seed's STN started at the first initial value.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..settings.stn import (PTB_CPU, PTB_PAPER, PTB_TRAIN_TOKENS, SMOKE, SOURCE,
                            LanguageSetting, mean_sd, seeds, slides_scale, stn_unit)
from ..stn.train import check_converged, perturbed_values, schedule_lookup, train_fixed
from ..study.experiment_run import prepare

# The slides' table (validation / test perplexity, Penn Treebank; MacKay et al. 2019, slides).
PAPER = {"fixed": (85.83, 83.19), "fixed + Gaussian noise": (85.87, 82.29),
         "fixed + sinusoid noise": (85.29, 82.15), "fixed at the final STN value": (89.65, 86.90),
         "STN": (82.58, 79.02), "plain LSTM on the STN schedule": (82.87, 79.93)}
FIXED = ("fixed", "fixed + Gaussian noise", "fixed + sinusoid noise",
         "fixed at the final STN value")
RATE = "drop_output"
MAX_RATE = 0.95  # the box of the output dropout rate is [0, 0.95] (starts up to 0.9)
MODEL = {"tuned": (RATE,), "max_rate": MAX_RATE}
CONVERGED = 1 / 3  # schedules "meet" when their late spread is at most this share of the start's
PAPER_SETTING = "AWD-LSTM-style LSTM on Penn Treebank, 25,000 steps"
# the slides' schedules run 25,000 iterations; 40 x 70 tokens per batch (the paper profile's)
# over Penn Treebank's training tokens make 75 passes
SCALE = slides_scale(25000, "40 x 70 tokens (the paper profile's batch)",
                     25000 * 40 * 70 / PTB_TRAIN_TOKENS, "schedule runs")


@dataclass(frozen=True)
class Config(LanguageSetting):
    """The knobs of the schedules experiment: the language setting, the STNs' initial output
    dropout rates, and the noise on the fixed-rate baselines.
    """
    inits: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)  # initial output dropout rates of the STNs
    noise: float = 0.1  # amplitude of the Gaussian and sinusoidal noise on the fixed rate
    noise_period: int = 100  # steps per period of the sinusoid

    # cpu: the slides' 75 passes over 80,000 training tokens (15,000 steps of 20 x 20 tokens);
    # over the 20,000 of the other LSTM runs the STNs overfit back to the chance level long
    # before (the chapter); an evaluation every 200 steps keeps it near 6% of training
    PRESETS = {"smoke": SMOKE, "cpu": {**PTB_CPU, "train_tokens": 80000, "steps": 15000,
                                       "eval_every": 200, "noise_period": 3000},
               "paper": {**PTB_PAPER, "steps": 25000, "noise_period": 5000}}

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: fewer than two distinct initial rates, or a rate
            outside (0, MAX_RATE).
        """
        super().validate()
        if len(self.inits) < 2 or len(set(self.inits)) != len(self.inits):
            raise ValueError(f"inits needs at least two different rates, got {self.inits}")
        if any(not 0 < p < MAX_RATE for p in self.inits):
            raise ValueError(f"inits must be output dropout rates inside (0, {MAX_RATE}), got "
                             f"{self.inits}")


def values_for(variant: str, schedule: pd.DataFrame, cfg: Config, seed: int):
    """``values_at(t)`` of a fixed-rate run derived from an STN's ``schedule``."""
    mean_rate, final_rate = float(schedule.value.mean()), float(schedule.value.iloc[-1])
    if variant == "fixed":
        return lambda t: {RATE: mean_rate}
    if variant == "fixed at the final STN value":
        return lambda t: {RATE: final_rate}
    if variant == "plain LSTM on the STN schedule":
        return schedule_lookup(schedule)
    kind = "gaussian" if "Gaussian" in variant else "sinusoid"
    return perturbed_values({RATE: mean_rate}, kind, cfg.noise, cfg.noise_period, 0.0,
                            MAX_RATE, seed)


def fixed_unit(item, checkpoint) -> pd.DataFrame:
    """One plain LSTM trained with rates derived from an STN's schedule: ``item = (cfg, seed,
    variant, schedule)``. Returns its curve; fails if it diverged."""
    cfg, seed, variant, schedule = item
    task = cfg.task(seed)
    curve = train_fixed(cfg.model(task, seed, **MODEL), task, cfg.steps,
                        values_for(variant, schedule, cfg, seed), lr=cfg.lr,
                        eval_every=cfg.eval_every, checkpoint=checkpoint,
                        progress=f"{variant}, seed {seed}")
    check_converged(curve, task.chance_loss, f"the run '{variant}' of seed {seed}")
    return curve


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """STNs from every initial value, then the fixed-rate runs, for every seed. Returns (and
    writes as CSV) ``schedules``, ``curves``, ``runs`` (one row per seed and method),
    ``methods`` (the book's summary) and ``comparison``."""
    with prepare(cfg) as run:
        starts = [(cfg, seed, {}, {RATE: p}, MODEL) for seed in cfg.seed_list for p in cfg.inits]
        stns = run.map(stn_unit, starts, desc="STNs from several starts",
                       names=[f"stn-{item[3][RATE]:g}-seed{item[1]}" for item in starts])
        schedules = pd.concat([r["schedule"].assign(seed=item[1], init=item[3][RATE])
                               for item, r in zip(starts, stns)], ignore_index=True)
        curves = [r["curve"].assign(seed=item[1], method="STN", init=item[3][RATE])
                  for item, r in zip(starts, stns)]
        first = {seed: schedules[(schedules.seed == seed) & (schedules.init == cfg.inits[0])]
                 for seed in cfg.seed_list}
        variants = [*FIXED, "plain LSTM on the STN schedule"]
        items = [(cfg, seed, variant, first[seed][["step", "hyperparameter", "value"]])
                 for seed in cfg.seed_list for variant in variants]
        fixed = run.map(fixed_unit, items, desc="fixed-rate runs",
                        names=[f"{variant}-seed{seed}".replace(" ", "_")
                               for _, seed, variant, _ in items])
        curves += [c.assign(seed=item[1], method=item[2]) for item, c in zip(items, fixed)]
        curves = pd.concat(curves, ignore_index=True)
        runs = final_rows(curves, first, cfg)
        methods = methods_table(runs)
        comparison = judge({"schedules": schedules, "runs": runs}, cfg)
        run.save_tables(schedules=schedules, curves=curves, runs=runs, methods=methods,
                        comparison=comparison)
    return {"schedules": schedules, "curves": curves, "runs": runs, "methods": methods,
            "comparison": comparison}


def final_rows(curves: pd.DataFrame, first: dict, cfg: Config) -> pd.DataFrame:
    """One row per seed and method: the final perplexities and the rate it used (the STN's:
    its time-average), for the STN started at the first initial value and every fixed run."""
    rows = []
    for seed in cfg.seed_list:
        schedule = first[seed].value
        rate = {"STN": float(schedule.mean()), "fixed": float(schedule.mean()),
                "fixed + Gaussian noise": float(schedule.mean()),
                "fixed + sinusoid noise": float(schedule.mean()),
                "fixed at the final STN value": float(schedule.iloc[-1]),
                "plain LSTM on the STN schedule": float(schedule.mean())}
        mine = curves[(curves.seed == seed)
                      & ((curves.method != "STN") | (curves.init == cfg.inits[0]))]
        for method, g in mine.groupby("method", sort=False):
            last = g.iloc[-1]
            rows.append({"seed": seed, "method": method, "rate": rate[method],
                         "val_perplexity": float(last.val_perplexity),
                         "test_perplexity": float(last.test_perplexity)})
    return pd.DataFrame(rows)


def methods_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Each method's final output dropout rate and validation and test perplexities (mean
    ± sd over the runs), beside the slides' perplexities.

    Args:
        runs: one row per run, with method, rate, val_perplexity and test_perplexity.

    Returns:
        pd.DataFrame: one row per method.
    """
    rows = []
    for method, g in runs.groupby("method", sort=False):
        rows.append({"method": method, "output dropout": mean_sd(g.rate, 2),
                     "val perplexity": mean_sd(g.val_perplexity),
                     "test perplexity": mean_sd(g.test_perplexity),
                     "slides: val / test perplexity": f"{PAPER[method][0]} / {PAPER[method][1]}"})
    return pd.DataFrame(rows)


def late_spread(schedules: pd.DataFrame, inits) -> pd.Series:
    """Per seed: the spread (largest minus smallest) across starts of the rate averaged over
    the last quarter of training, as a share of the spread of the starts."""
    late = schedules[schedules.step >= 0.75 * schedules.step.max()]
    means = late.groupby(["seed", "init"]).value.mean()
    spread = means.groupby("seed").agg(lambda x: x.max() - x.min())
    return spread / (max(inits) - min(inits))


def setting(cfg: Config) -> str:
    """The setting line of the comparison: the problem, the output dropout range and starts,
    the seeds and the slides' setting.

    Args:
        cfg: the run's configuration.

    Returns:
        str: the setting column.
    """
    return (f"{cfg.profile}: {cfg.describe()}; output dropout only, in [0, {MAX_RATE}], from "
            f"{', '.join(f'{p:g}' for p in cfg.inits)}; {seeds(cfg)} (slides: "
            f"{PAPER_SETTING})")


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the slides from the run's tables ``schedules`` and ``runs``
    (:func:`run`); also what ``hpostudy rejudge`` calls on a recorded run. Every run trains
    ``steps`` steps (equal budgets); below the slides' passes over the data every row is not
    comparable (:data:`SCALE`). The best fixed rate of a seed is the lowest test perplexity of
    the four fixed-rate runs: chosen on the test set, so it favours the fixed rates."""
    schedules, runs = tables["schedules"], tables["runs"]
    where = setting(cfg)
    ran = {"epochs": cfg.epochs(float(schedules.step.max()))}
    test = runs.pivot(index="seed", columns="method", values="test_perplexity")
    best_fixed = test[list(FIXED)].min(axis=1)
    paper_fixed = min(PAPER[m][1] for m in FIXED)

    def beats(method: str, what: str):
        return SCALE.gate(v.difference(test[method], best_fixed, paired=True,
                                       what_lower=what, what_higher="the best fixed rate's",
                                       paper_size=paper_fixed - PAPER[method][1]), ran)
    return v.table([
        v.row("The same schedule whatever the initial value", f"same trajectory ({SOURCE})",
              SCALE.gate(v.within(late_spread(schedules, cfg.inits), high=CONVERGED,
                                  what="the spread across starts of the rate over the last "
                                       "quarter of training, as a share of the starts' "
                                       "spread"), ran), where),
        v.row("The STN beats every fixed rate (test perplexity)",
              f"STN {PAPER['STN'][1]} vs best fixed {paper_fixed} ({SOURCE})",
              beats("STN", "the STN's test perplexity"), where),
        v.row("A plain LSTM trained on the STN schedule beats every fixed rate (test "
              "perplexity)",
              f"{PAPER['plain LSTM on the STN schedule'][1]} vs {paper_fixed} ({SOURCE})",
              beats("plain LSTM on the STN schedule", "the schedule's test perplexity"), where),
    ])
