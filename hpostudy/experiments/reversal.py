"""Exact reversal with and without exact arithmetic (thesis Fig 3.6).

After ``meta_iterations_before`` meta-steps along the DrMAD signs (the thesis shows
meta-iteration 11), the reverse pass over T elementary iterations is run twice from the same
final state: with exact (fixed-point, information-buffer) arithmetic and in plain floating point.
Along both we record w, v, the accumulated hypergradient (d_meta) and d_w: norms and a few
coordinates per reverse step. Where do they part? The thesis: not before about 100 reverse
iterations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import hypergrad as hg
from ..metaopt import SignSGD
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.mnist_mlp import CPU, MLPSetting, build


@dataclass(frozen=True)
class Config(MLPSetting):
    T: int = 300  # elementary iterations (thesis: 2,000)
    meta_iterations_before: int = 2  # DrMAD sign steps first (thesis: 11)
    drmad_reverse_steps: int = 30  # S of those DrMAD steps
    coordinates: int = 3  # coordinates of w, v, d_w and d_meta recorded
    tolerance: float = 1e-3  # relative difference at which the paths "part"

    PRESETS = {"smoke": {}, "cpu": {**CPU, "T": 2000, "meta_iterations_before": 11,
                                    "drmad_reverse_steps": 200},
               "paper": {**CPU, "T": 2000, "meta_iterations_before": 11,
                         "drmad_reverse_steps": 200}}


QUANTITIES = ("w_norm", "v_norm", "d_meta_norm", "d_w_norm")


def run(cfg: Config) -> dict:
    with Timer() as timer:
        task, problem, space, dynamics, theta = build(cfg)
        step = SignSGD(cfg.meta_lr)
        for _ in tqdm(range(cfg.meta_iterations_before), desc="DrMAD meta-steps first"):
            h = hg.drmad(problem, dynamics, theta, cfg.T, reverse_steps=cfg.drmad_reverse_steps)
            theta = step(theta, h.hypergrad)
        with tqdm(total=2 * cfg.T, desc="exact and float reversal") as bar:
            res = hg.exact(problem, dynamics, theta, cfg.T, record_path=cfg.coordinates,
                           also_float=True, path_seed=cfg.seed, progress=bar)
    exact = pd.DataFrame(res.diagnostics.path).assign(arithmetic="exact")
    flt = pd.DataFrame(res.diagnostics.float_path).assign(arithmetic="float")
    path = pd.concat([exact, flt], ignore_index=True)
    path["reverse_step"] = cfg.T - 1 - path["t"]
    parted = parting_step(exact, flt, cfg.tolerance)
    comparison = pd.DataFrame([comparison_row(
        "Exact and floating-point reversal part only after about 100 reverse iterations",
        "about 100", "; ".join(f"{q.replace('_norm', '')}: "
                               f"{'never' if s is None else s}" for q, s in parted.items()),
        cfg.profile, _agree(parted),
        f"first reverse step (from t = T-1) where the relative difference exceeds {cfg.tolerance}")])
    save_table(path, cfg.out, "reverse_path")
    save_table(comparison, cfg.out, "comparison")
    save_json({**run_metadata(cfg, timer.seconds), "parted_at": parted}, cfg.out, "meta")
    return {"reverse_path": path, "comparison": comparison, "parted_at": parted}


def parting_step(exact: pd.DataFrame, flt: pd.DataFrame, tolerance: float) -> dict:
    """Per quantity, the first reverse step at which the two paths differ by more than
    ``tolerance`` relative to the exact value (None if they never do)."""
    out = {}
    for q in QUANTITIES:
        a, b = exact[q].to_numpy(), flt[q].to_numpy()
        rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-300)
        hits = np.nonzero(rel > tolerance)[0]
        out[q] = int(hits[0]) if len(hits) else None
    return out


def _agree(parted: dict) -> bool | None:
    steps = [s for s in parted.values() if s is not None]
    if not steps:
        return None
    return min(steps) >= 30
