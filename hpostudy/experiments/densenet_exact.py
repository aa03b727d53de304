"""Beyond the thesis: DrMAD against the exact hypergradient at DenseNet scale.

The thesis could not compute exact hypergradients for the DenseNet. Exact reversal
(:func:`hpostudy.hypergrad.exact`) can, for a shortened horizon: with regular momentum and
per-parameter log10 L2 hyperparameters, we compute the exact hypergradient and DrMAD's (reverse
steps from the beta estimate, and as many as the forward steps) at the initial hyperparameters,
and report norms and cosines.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch

from .. import hypergrad as hg
from ..hyper import Group
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.densenet import PAPER, Setting, build, dynamics_for, load_splits, weight_names
from ..settings.mnist_mlp import cosine


@dataclass(frozen=True)
class Config(Setting):
    T: int = 20  # elementary iterations (shortened horizon)
    log10_l2: float = -4.0
    radix: int = 48  # fixed-point fractional bits of the exact method

    SIGNED = ("log10_l2",)
    PRESETS = {"smoke": {}, "cpu": {**PAPER, "T": 50}, "paper": {**PAPER, "T": 500}}


def run(cfg: Config) -> dict:
    cfg = dataclasses.replace(cfg, optimizer="momentum", momentum=hg.effective_gamma(cfg.momentum))
    with Timer() as timer:
        splits = load_splits(cfg)
        task, w0, space = build(cfg, lambda m: [Group("l2", "log10_l2", "parameter", cfg.log10_l2,
                                                      params=weight_names(m))], splits)
        lr = lambda t: cfg.lr  # constant: a short horizon inside the first phase of the schedule
        forward, _ = dynamics_for(cfg, lr)
        theta = space.init(device=cfg.device)
        problem = task.problem(w0)
        with Timer() as t_exact:
            exact = hg.exact(problem, forward, theta, cfg.T, radix=cfg.radix)
        rows = []
        for label, S in (("beta estimate", None), ("S = T", cfg.T)):
            with Timer() as t_d:
                d = hg.drmad(problem, forward, theta, cfg.T, reverse_steps=S)
            rows.append({"variant": label, "reverse_steps": d.diagnostics.reverse_steps,
                         "norm_drmad": float(d.hypergrad.norm()),
                         "norm_exact": float(exact.hypergrad.norm()),
                         "cosine": cosine(d.hypergrad, exact.hypergrad),
                         "sign_cosine": cosine(torch.sign(d.hypergrad), torch.sign(exact.hypergrad)),
                         "seconds_drmad": round(t_d.seconds, 2),
                         "seconds_exact": round(t_exact.seconds, 2)})
    df = pd.DataFrame(rows)
    df["hyperparameters"] = space.size
    df["recovered_w0"] = exact.diagnostics.recovered_w0
    comparison = pd.DataFrame([comparison_row(
        f"DrMAD vs exact hypergradient at DenseNet scale ({r.variant}, T={cfg.T})",
        "not computed in the thesis", f"cosine {r.cosine:.3f}, sign cosine {r.sign_cosine:.3f}, "
        f"norm ratio {r.norm_drmad / r.norm_exact:.3g}", cfg.profile, None, "beyond the thesis")
        for r in df.itertuples()])
    save_table(df, cfg.out, "exact_vs_drmad")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"exact_vs_drmad": df, "comparison": comparison}
