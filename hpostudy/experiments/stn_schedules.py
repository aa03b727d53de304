"""Hyperparameter schedules of a Self-Tuning Network (MacKay et al. 2019, slides "STN
hyperparameter schedules"): an LSTM language model whose output dropout rate is tuned by an
STN from several initial values. The slides find the same schedule whatever the start, and a
schedule that beats every fixed value: the fixed time-average of the schedule, the same with
Gaussian or sinusoidal noise, the STN's final value, and a plain LSTM trained on the STN's
schedule."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..store import Checkpoint
from ..stn.train import perturbed_values, schedule_lookup, train_fixed, train_stn
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.stn import LanguageConfig, language_model, language_task

# The slides' table (validation / test perplexity, Penn Treebank).
PAPER = {"fixed": (85.83, 83.19), "fixed + Gaussian noise": (85.87, 82.29),
         "fixed + sinusoid noise": (85.29, 82.15), "fixed at the final STN value": (89.65, 86.90),
         "STN": (82.58, 79.02), "plain LSTM on the STN schedule": (82.87, 79.93)}


@dataclass(frozen=True)
class Config(LanguageConfig):
    inits: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)  # initial output dropout rates
    noise: float = 0.1  # amplitude of the Gaussian and sinusoidal noise on the fixed rate
    noise_period: int = 100  # steps per period of the sinusoid

    PRESETS = {"smoke": {"layers": 1, "steps": 300},
               "cpu": {"dataset": "ptb", "embed": 200, "hidden": 200, "bptt": 35,
                       "batch_size": 20, "steps": 3000, "eval_every": 500, "layers": 1,
                       "noise_period": 1000},
               "paper": {"dataset": "ptb", "embed": 650, "hidden": 650, "bptt": 70,
                         "batch_size": 40, "steps": 25000, "lr": 1e-3, "eval_every": 1000,
                         "layers": 1, "noise_period": 5000}}

    def __post_init__(self):
        super().__post_init__()
        if not self.inits or any(not 0 < p < 1 for p in self.inits):
            raise ValueError(f"inits must be dropout rates inside (0, 1), got {self.inits}")


def run(cfg: Config) -> dict:
    with Timer() as timer:
        task = language_task(cfg)

        def model(init=None):
            return language_model(cfg, task, tuned=("drop_output",), init=init)

        schedules, curves = [], []
        for p in cfg.inits:
            stn = train_stn(model({"drop_output": p}), task, cfg.steps, cfg.settings(),
                            eval_every=cfg.eval_every,
                            checkpoint=Checkpoint(cfg.checkpoints / f"stn_{p}.pt"),
                            progress=f"STN from {p}")
            schedules.append(stn["schedule"].assign(init=p))
            curves.append(stn["curve"].assign(init=p))
        schedule = pd.concat(schedules, ignore_index=True)
        first = schedule[schedule.init == cfg.inits[0]]
        mean_rate = float(first.value.mean())
        final_rate = float(first.value.iloc[-1])
        fixed_runs = {
            "fixed": lambda t: {"drop_output": mean_rate},
            "fixed + Gaussian noise": perturbed_values({"drop_output": mean_rate}, "gaussian",
                                                       cfg.noise, cfg.noise_period, cfg.seed),
            "fixed + sinusoid noise": perturbed_values({"drop_output": mean_rate}, "sinusoid",
                                                       cfg.noise, cfg.noise_period),
            "fixed at the final STN value": lambda t: {"drop_output": final_rate},
            "plain LSTM on the STN schedule": schedule_lookup(first),
        }
        rows = [{"method": "STN", **_last(curves[0])}]
        for name, values_at in fixed_runs.items():
            curve = train_fixed(model(), task, cfg.steps, values_at, lr=cfg.lr,
                                eval_every=cfg.eval_every, progress=name)
            rows.append({"method": name, **_last(curve)})
    methods = pd.DataFrame(rows)
    methods["rate"] = methods.method.map({"fixed": mean_rate, "fixed + Gaussian noise": mean_rate,
                                          "fixed + sinusoid noise": mean_rate,
                                          "fixed at the final STN value": final_rate})
    methods["paper_val_perplexity"] = methods.method.map(lambda m: PAPER[m][0])
    methods["paper_test_perplexity"] = methods.method.map(lambda m: PAPER[m][1])
    comparison = pd.DataFrame(_comparisons(schedule, methods, cfg))
    save_table(schedule, cfg.out, "schedules")
    save_table(pd.concat(curves, ignore_index=True), cfg.out, "curves")
    save_table(methods, cfg.out, "methods")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"schedules": schedule, "methods": methods, "comparison": comparison}


def _last(curve: pd.DataFrame) -> dict:
    last = curve.iloc[-1]
    return {"val_perplexity": float(last.val_perplexity),
            "test_perplexity": float(last.test_perplexity)}


def _comparisons(schedule: pd.DataFrame, methods: pd.DataFrame, cfg: Config) -> list[dict]:
    finals = schedule.groupby("init").value.last()
    start_spread = max(cfg.inits) - min(cfg.inits)
    end_spread = float(finals.max() - finals.min())
    by = methods.set_index("method").val_perplexity
    fixed = [m for m in by.index if m not in ("STN", "plain LSTM on the STN schedule")]
    rows = [comparison_row(
        "The same schedule whatever the initial dropout rate", "same trajectory",
        f"final rates {', '.join(f'{v:.2f}' for v in finals)} from "
        f"{', '.join(f'{p:g}' for p in cfg.inits)}: spread {end_spread:.2f} "
        f"(start {start_spread:.2f})", cfg.profile, bool(end_spread < start_spread / 3)),
        comparison_row(
        "The STN beats every fixed rate (validation perplexity)",
        f"STN {PAPER['STN'][0]} vs best fixed {min(PAPER[m][0] for m in fixed)}",
        f"STN {by['STN']:.2f} vs best fixed {by[fixed].min():.2f}", cfg.profile,
        bool(by["STN"] < by[fixed].min())),
        comparison_row(
        "A plain LSTM trained on the STN schedule beats every fixed rate",
        f"{PAPER['plain LSTM on the STN schedule'][0]} vs {min(PAPER[m][0] for m in fixed)}",
        f"{by['plain LSTM on the STN schedule']:.2f} vs {by[fixed].min():.2f}", cfg.profile,
        bool(by["plain LSTM on the STN schedule"] < by[fixed].min()))]
    return rows
