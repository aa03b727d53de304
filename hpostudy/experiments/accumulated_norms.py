"""Norm of the accumulated exact hypergradient along the reverse pass (thesis Figs 3.4, 3.5).

One exact hypergradient (exact reversal) per horizon T and seed at the initial hyperparameters
of the section 3.1 setting; after each reverse step we record the norm of the hypergradient
accumulated so far (it starts at 0 at t = T-1). The thesis sees a quick increase near t = T-1
and near t = 0 (and takes the latter for the reason why DrMAD with many reverse steps explodes;
see the explosion experiment for what we find). "Quick" is judged against the series' own
scale: the change of the norm over the first (last) 1% of the reverse steps, in multiples of
the median change over a window of 1% (:func:`end_growth`).

The information buffer of exact reversal is measured too: its bits per parameter and step
against the bound :math:`\\log_2(1/\\gamma)`, its size, and whether :math:`w_0` came back
bit-exactly.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import hypergrad as hg
from .. import verdicts as v
from ..settings.mnist_mlp import CPU, MLPSetting, build
from ..study.config import ParameterError
from ..study.experiment_run import prepare

QUICK = 5.0  # a change at an end of at least this many median window changes is "quick"
NO_RISE = 0.01  # a change that is no rise (<= 0) enters the log-scale interval as this value
WINDOW = 0.01  # window: 1% of the reverse steps


@dataclass(frozen=True)
class Config(MLPSetting):
    """The knobs of the accumulated-norms experiment (thesis Figs 3.4, 3.5): the horizons of
    the panels, the seeds run at each and the radix of exact reversal, on the MLP setting.
    """
    horizons: tuple[int, ...] = (300, 1200)  # T per panel (thesis: 20,000 and 200,000)
    seeds_per_horizon: tuple[int, ...] = (1, 1)  # seeds run at each horizon (at most seeds)
    radix: int = 48  # fixed-point fractional bits of the exact method

    PRESETS = {"smoke": {},
               "cpu": {**CPU, "horizons": (20000, 200000), "seeds": 3,
                       "seeds_per_horizon": (3, 1)},
               "paper": {**CPU, "horizons": (20000, 200000), "seeds": 3,
                         "seeds_per_horizon": (3, 3)}}

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ParameterError: horizons or seeds_per_horizon that do not fit
            (:meth:`~hpostudy.settings.mnist_mlp.MLPSetting.check_per_horizon`), or a radix outside
            [36, 56].
        """
        super().validate()
        self.check_per_horizon(self.horizons, self.seeds_per_horizon)
        if not 36 <= self.radix <= 56:
            raise ParameterError(f"radix must be in [36, 56] (precision 2^(16-radix), range "
                             f"2^(62-radix)), got {self.radix}")


def one_exact(item: tuple[Config, int, int], checkpoint=None) -> dict:
    """One exact hypergradient over ``T`` steps with the accumulated norm after each step."""
    cfg, T, seed = item
    task, problem, space, dynamics, theta = build(cfg, seed)
    start = time.process_time()
    res = hg.exact(problem, dynamics, theta, T, radix=cfg.radix, record_norms=True)
    seconds = time.process_time() - start
    d = res.diagnostics
    norms = np.asarray(d.accumulated_norm)
    late, early = end_growth(norms, WINDOW, "late"), end_growth(norms, WINDOW, "early")
    keep = thinned(len(norms), WINDOW)
    return {"norms": pd.DataFrame({"T": T, "seed": seed, "reverse_step": keep,
                                   "t": T - 1 - keep, "norm": norms[keep]}),
            "run": {"T": T, "seed": seed, "cpu_seconds": round(seconds, 1),
                    "growth_near_T": late, "growth_near_0": early,
                    "recovered_w0": d.recovered_w0,
                    "buffer_bits_per_param_step": d.buffer_bits_per_param_step,
                    "information_bound_bits": d.information_bound_bits,
                    "buffer_MB": d.stored_bytes / 1e6}}  # recorded runs name the column so


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Returns (and writes) ``accumulated`` (T, seed, reverse step, t, norm; every step near
    both ends, 2,000 in between), ``runs`` (one row per exact hypergradient, its measures
    taken on every step) and ``comparison``."""
    items = [(cfg, T, s) for T, n in zip(cfg.horizons, cfg.seeds_per_horizon)
             for s in cfg.seed_list[:n]]
    with prepare(cfg) as run:
        results = run.map(one_exact, items, desc="exact hypergradients",
                          names=[f"T{T}-seed{s}" for _, T, s in items])
        accumulated = pd.concat([r["norms"] for r in results], ignore_index=True)
        runs = pd.DataFrame([r["run"] for r in results])
        comparison = judge({"runs": runs}, cfg)
        run.save_tables(accumulated=accumulated, runs=runs, comparison=comparison)
    return {"accumulated": accumulated, "runs": runs, "comparison": comparison}


def thinned(n: int, fraction: float, points: int = 2000) -> np.ndarray:
    """Reverse steps kept in the ``accumulated`` table: every step of the first and the last
    ``fraction`` (where the ends are judged) and ``points`` evenly spaced ones in between."""
    k = max(1, int(round(fraction * n)))
    ends = np.r_[np.arange(min(k, n)), np.arange(max(n - k - 1, 0), n)]
    return np.unique(np.r_[ends, np.linspace(0, n - 1, min(n, points)).round().astype(int)])


def end_growth(norms: np.ndarray, fraction: float, end: str) -> float:
    """How quickly the accumulated norm changes at one end of the reverse pass, on the series'
    own scale: the change of the norm over the first (``end='late'``: from 0 before the first
    step, near t = T-1) or the last (``end='early'``: near t = 0) ``fraction`` of the reverse
    steps, divided by the median absolute change over all windows of that length. 1 is a
    typical window; the thesis' "quick increase" is many times that."""
    norms = np.asarray(norms, dtype=float)
    k = max(1, int(round(fraction * len(norms))))
    series = np.concatenate([[0.0], norms])
    changes = np.abs(series[k::k] - series[:-k:k])
    scale = float(np.median(changes)) if len(changes) else 0.0
    change = series[k] - series[0] if end == "late" else series[-1] - series[-1 - k]
    return float(change / scale) if scale > 0 else float("inf") if change > 0 else 0.0


def setting(cfg: Config) -> str:
    """The setting line of the comparison: the data, the seeds per horizon, the learning rate and
    batch size, and the thesis' setting beside them.

    Args:
        cfg: the run's configuration.

    Returns:
        str: the setting column.
    """
    data = ("8x8 digits instead of MNIST" if cfg.dataset == "digits"
            else f"MNIST {cfg.n_train:,}/{cfg.n_val:,}/{cfg.n_test:,}")
    seeds = ", ".join(f"T={T:,}: {n} seed(s)" for T, n in zip(cfg.horizons,
                                                           cfg.seeds_per_horizon))
    return (f"{cfg.profile}: {data}, initial hyperparameters; {seeds}; lr {cfg.lr:g}, batch "
            f"{cfg.batch_size} (thesis: T = 20,000 and 200,000, learning rate unstated)")


SCALE = v.Scale({"T": 20000, "MNIST training images": 15000},
                "the thesis draws Figs 3.4 and 3.5 at T = 20,000 and 200,000 on MNIST with "
                "15,000 training images; what the reverse pass accumulates near either end "
                "depends on the horizon and the data")


def n_weights(cfg: Config) -> int:
    """The number of weights (biases included) of the section 3.1 MLP
    (:func:`hpostudy.settings.mnist_mlp.build`): 784 inputs on MNIST, 64 on the digits, 10
    classes."""
    widths = [784 if cfg.dataset == "mnist" else 64, *cfg.hidden, 10]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison table from the run's ``runs`` table and settings: the quick increase of
    the accumulated norm at each end of the reverse pass (Figs 3.4, 3.5; an interval over seeds
    of the log of the change in median window changes, behind :data:`SCALE`), and exact
    reversal's buffer against the memory DrMAD keeps (one weight vector) and the stored
    trajectory (T of them)."""
    runs = tables["runs"]
    where = setting(cfg)
    what = (f"the change of the norm over the {{}} {WINDOW:.0%} of the reverse steps, in "
            f"median changes per {WINDOW:.0%} window")
    images = cfg.n_train if cfg.dataset == "mnist" else 0
    rows = []
    for T, g in runs.groupby("T"):
        ran = {"T": int(T), "MNIST training images": images}
        figure = "3.4" if T == runs["T"].min() else "3.5"
        for end, column, which in (("t = T-1", "growth_near_T", "first"),
                                   ("t = 0", "growth_near_0", "last")):
            judgement = v.within(g[column].clip(lower=NO_RISE), low=QUICK, log=True,
                                 what=what.format(which))
            if (g[column] <= 0).any():
                judgement = dataclasses.replace(
                    judgement, rule=judgement.rule + (
                        f"; a seed whose norm did not rise there counts as {v.fmt(NO_RISE)}"),
                    reproduced=judgement.reproduced + "; measured per seed: " + ", ".join(
                        v.fmt(float(x)) for x in g[column]))
            rows.append(v.row(f"T={T:,}: quick increase of the accumulated norm near {end} "
                              f"(Fig {figure})", "quick increase", SCALE.gate(judgement, ran),
                              where))
    vector_MB = n_weights(cfg) * 8 / 1e6  # one float64 weight vector
    for T, g in runs.groupby("T"):
        reproduced = (f"w_0 recovered bit-exactly in {int(g.recovered_w0.sum())} of {len(g)} "
                      f"runs; {v.spread(g.buffer_bits_per_param_step, 5)} bit per parameter "
                      f"and step (bound log2(1/gamma) = {v.fmt(g.information_bound_bits.iloc[0], 5)}"
                      f"); buffer {v.spread(g.buffer_MB, 3, 'MB')}, "
                      f"{v.fmt(float(g.buffer_MB.mean()) / vector_MB)} times the one weight "
                      f"vector DrMAD keeps ({v.fmt(vector_MB)} MB) and "
                      f"{v.fmt(float(g.buffer_MB.mean()) / (T * vector_MB))} of the stored "
                      f"trajectory ({v.fmt(T * vector_MB / 1000)} GB)")
        rows.append(v.row(f"T={T:,}: exact reversal's information buffer grows without bound",
                          "unsuitable for GPUs (thesis section 1.2.2)",
                          v.not_comparable("the thesis gives no size; the buffer grows "
                                           "linearly in T at the measured rate", reproduced),
                          where))
    return v.table(rows)
