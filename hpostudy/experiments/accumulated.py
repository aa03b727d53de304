"""Norm of the accumulated exact hypergradient along the reverse pass (thesis Figs 3.4, 3.5).

One exact hypergradient (exact reversal) per horizon T at the initial hyperparameters of the
section 3.1 setting; after each reverse step we record the norm of the hypergradient
accumulated so far (it starts at 0 at t = T-1). The thesis sees quick growth near t = T-1 and
near t = 0, which explains why DrMAD with many reverse steps explodes and motivates DrMAD2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import hypergrad as hg
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.mnist_mlp import CPU, MLPSetting, build


@dataclass(frozen=True)
class Config(MLPSetting):
    horizons: tuple[int, ...] = (300, 1200)  # T per panel (thesis: 20,000 and 200,000)
    radix: int = 48  # fixed-point fractional bits of the exact method

    PRESETS = {"smoke": {}, "cpu": {**CPU, "horizons": (20000, 200000)},
               "paper": {**CPU, "horizons": (20000, 200000)}}


def run(cfg: Config) -> dict:
    rows, meta = [], []
    with Timer() as timer:
        for T in cfg.horizons:
            task, problem, space, dynamics, theta = build(cfg)
            with tqdm(total=2 * T, desc=f"exact hypergradient T={T}") as bar:
                with Timer() as t_run:
                    res = hg.exact(problem, dynamics, theta, T, radix=cfg.radix,
                                   record_norms=True, progress=bar)
            norms = np.asarray(res.diagnostics.accumulated_norm)
            rows.append(pd.DataFrame({"T": T, "reverse_step": np.arange(len(norms)),
                                      "t": T - 1 - np.arange(len(norms)), "norm": norms}))
            meta.append({"T": T, "seconds": round(t_run.seconds, 1),
                         "recovered_w0": res.diagnostics.recovered_w0,
                         "buffer_bits_per_param_step": res.diagnostics.buffer_bits_per_param_step,
                         "information_bound_bits": res.diagnostics.information_bound_bits,
                         "buffer_MB": res.diagnostics.buffer_bytes / 1e6})
    df = pd.concat(rows, ignore_index=True)
    runs = pd.DataFrame(meta)
    comparison = compare(df, runs, cfg)
    save_table(df, cfg.out, "accumulated")
    save_table(runs, cfg.out, "runs")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"accumulated": df, "runs": runs, "comparison": comparison}


def growth_share(norms: np.ndarray, fraction: float, end: str) -> float:
    """Share of the final norm reached within the first (``end='late'``: near t = T-1) or gained
    within the last (``end='early'``: near t = 0) ``fraction`` of the reverse steps."""
    final = norms[-1] if norms[-1] > 0 else 1.0
    k = max(1, int(round(fraction * len(norms))))
    if end == "late":
        return float(norms[k - 1] / final)
    return float((norms[-1] - norms[-k - 1]) / final) if len(norms) > k else 1.0


def compare(df: pd.DataFrame, runs: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    rows = []
    for T, grp in df.groupby("T"):
        norms = grp.sort_values("reverse_step").norm.to_numpy()
        late = growth_share(norms, 0.01, "late")
        early = growth_share(norms, 0.01, "early")
        rows.append(comparison_row(
            f"T={T}: quick increase of the accumulated norm near t = T-1",
            "quick increase", f"{late:.0%} of the final norm after the first 1% of reverse steps",
            cfg.profile, late > 0.05))
        rows.append(comparison_row(
            f"T={T}: quick increase of the accumulated norm near t = 0",
            "quick increase", f"{early:.0%} of the final norm gained in the last 1% of reverse steps",
            cfg.profile, early > 0.05))
    for r in runs.itertuples():
        rows.append(comparison_row(
            f"T={r.T}: exact reversal feasible, at log2(1/gamma) bits per parameter per step",
            "infeasible on GPU (Maclaurin's buffer grows without bound)",
            f"w_0 recovered bit-exactly: {r.recovered_w0}; {r.buffer_bits_per_param_step:.5f} "
            f"bit/param/step (bound {r.information_bound_bits:.5f}), {r.buffer_MB:.1f} MB, "
            f"{r.seconds:.0f} s", cfg.profile, None, "beyond the thesis"))
    return pd.DataFrame(rows)
