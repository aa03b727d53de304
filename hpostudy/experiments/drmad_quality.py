"""How good are DrMAD hypergradients? (thesis section 3.1, Figs 3.1, 3.2 and 3.3)

For each horizon T (elementary iterations) and number S of DrMAD reverse steps, meta-iterations
follow the sign of the DrMAD hypergradient while the exact hypergradient (exact reversal,
:func:`hpostudy.hypergrad.exact`) and DrMAD2's are computed at the same hyperparameters. Per
meta-iteration we record the norms (Fig 3.1), the cosines between DrMAD (and DrMAD2) and the
exact hypergradient and between their sign vectors (Fig 3.2), the errors (Fig 3.3), and the
number of reverse steps the thesis' beta estimate would choose (factor 1 and 10). A second
meta-run per horizon follows the DrMAD2 signs instead (Fig 3.3, beside DrMAD).

Every meta-run checkpoints after each meta-iteration in ``output_dir/checkpoints`` and resumes.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import hypergrad as hg
from ..metaopt import SignSGD, meta_iterations
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.mnist_mlp import CPU, MLPSetting, build, cosine


@dataclass(frozen=True)
class Config(MLPSetting):
    horizons: tuple[int, ...] = (40, 160)  # elementary iterations T (thesis: 2,000 and 20,000)
    reverse_steps: tuple[int, ...] = (8, 80)  # DrMAD reverse steps S (thesis: ~200 and ~2,000)
    meta_iterations: int = 3  # meta-iterations per run
    drmad2_exact_steps: int = 4  # DrMAD2's exact reverse steps (thesis: about 100)

    PRESETS = {
        "smoke": {},
        "cpu": {**CPU, "horizons": (2000, 20000), "reverse_steps": (200, 2000),
                "meta_iterations": 10, "drmad2_exact_steps": 100},
        "paper": {**CPU, "horizons": (2000, 20000), "reverse_steps": (200, 2000),
                  "meta_iterations": 20, "drmad2_exact_steps": 100},
    }


def _meta_run(cfg: Config, T: int, S: int, follow: str, with_exact: bool, bar) -> list[dict]:
    task, problem, space, dynamics, theta0 = build(cfg)
    K = min(cfg.drmad2_exact_steps, T)

    def step(i, theta):
        drmad = hg.drmad(problem, dynamics, theta, T, reverse_steps=S)
        drmad2 = hg.drmad2(problem, dynamics, theta, T, exact_steps=K,
                           reverse_steps=max(S - K, 1))
        record = {"T": T, "S": S, "follow": follow,
                  "norm_drmad": float(drmad.hypergrad.norm()),
                  "norm_drmad2": float(drmad2.hypergrad.norm()),
                  "beta_steps": drmad.diagnostics.beta_reverse_steps,
                  "beta_steps_x10": drmad.diagnostics.beta_reverse_steps / 10,
                  **task.errors(drmad.w_final, theta)}
        if with_exact:
            exact = hg.exact(problem, dynamics, theta, T)
            e = exact.hypergrad
            record.update({
                "norm_exact": float(e.norm()),
                "cos_drmad": cosine(drmad.hypergrad, e),
                "cos_sign_drmad": cosine(torch.sign(drmad.hypergrad), torch.sign(e)),
                "cos_drmad2": cosine(drmad2.hypergrad, e),
                "cos_sign_drmad2": cosine(torch.sign(drmad2.hypergrad), torch.sign(e)),
                "exact_recovered_w0": exact.diagnostics.recovered_w0})
        bar.update(1)
        bar.set_postfix(T=T, S=S, follow=follow, test_error=f"{record['test_error']:.3f}")
        return (drmad if follow == "drmad" else drmad2).hypergrad, record

    checkpoint = cfg.out / "checkpoints" / f"{follow}_T{T}_S{S}.pt"
    _, records = meta_iterations(step, theta0, SignSGD(cfg.meta_lr), cfg.meta_iterations,
                                 checkpoint=checkpoint)
    return records


def run(cfg: Config) -> dict:
    """All meta-runs; returns and writes ``metaruns`` (one row per meta-iteration) and
    ``comparison``."""
    runs = [(T, S, "drmad", True) for T in cfg.horizons for S in cfg.reverse_steps]
    runs += [(T, cfg.reverse_steps[0], "drmad2", False) for T in cfg.horizons]
    with Timer() as timer:
        bar = tqdm(total=len(runs) * cfg.meta_iterations, desc="DrMAD meta-iterations")
        rows = []
        for T, S, follow, with_exact in runs:
            rows += _meta_run(cfg, T, min(S, T), follow, with_exact, bar)
        bar.close()
    df = pd.DataFrame(rows)
    comparison = compare(df, cfg)
    save_table(df, cfg.out, "metaruns")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"metaruns": df, "comparison": comparison}


def compare(df: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The thesis' findings of section 3.1 next to ours (numbers from ``df``)."""
    d = df[df.follow == "drmad"]
    small, large = min(cfg.reverse_steps), max(cfg.reverse_steps)
    ratio = (d.norm_drmad / d.norm_exact)
    r_small = float(ratio[d.S == d.S.min()].median())
    r_large = float(ratio[d.S == d.S.max()].median())
    neg = d[(d.meta_iteration > 0) & ((d.cos_drmad < 0) | (d.cos_sign_drmad < 0))]
    first = d[d.meta_iteration == 0]
    last = d[d.meta_iteration == d.meta_iteration.max()]
    test_drop = float((first.test_error.values - last.test_error.values).mean())
    beta = d[d.meta_iteration == 0][["T", "beta_steps", "beta_steps_x10"]]
    beta_txt = "; ".join(f"T={int(r.T)}: {r.beta_steps:.0f} (x10: {r.beta_steps_x10:.0f})"
                         for r in beta.drop_duplicates("T").itertuples())
    d2 = d[d.S == d.S.min()]
    rows = [
        comparison_row(f"DrMAD norms explode with ~{large} or more reverse steps",
                       "several orders of magnitude above the exact norm",
                       f"median DrMAD/exact norm ratio {r_large:.3g} with S={large}",
                       cfg.profile, r_large > 10),
        comparison_row(f"With ~{small} reverse steps DrMAD matches the exact norm in order of magnitude",
                       "same order of magnitude",
                       f"median DrMAD/exact norm ratio {r_small:.3g} with S={small}",
                       cfg.profile, 0.1 <= r_small <= 10),
        comparison_row("Cosines (and sign cosines) can turn negative after the first meta-iterations",
                       "sometimes negative", f"{len(neg)} of {len(d[d.meta_iteration > 0])} later "
                       f"meta-iterations have a negative cosine", cfg.profile, len(neg) > 0),
        comparison_row("Test error still falls following the DrMAD signs", "decreases",
                       f"mean test error change first->last meta-iteration: {-test_drop:+.4f}",
                       cfg.profile, test_drop > 0),
        comparison_row("DrMAD2 agrees better with the exact hypergradient for short horizons",
                       "better for 200-2,000 iterations, unclear for 20,000",
                       f"median cosine DrMAD2 {d2.cos_drmad2.median():.3f} vs DrMAD "
                       f"{d2.cos_drmad.median():.3f} (S={int(d2.S.min())})", cfg.profile,
                       bool(d2.cos_drmad2.median() > d2.cos_drmad.median())),
        comparison_row("The beta estimate of the number of reverse steps (x10 in the thesis' CPU runs)",
                       "roughly 200 for 2,000-200,000 iterations (with the factor 10)", beta_txt,
                       cfg.profile, None),
    ]
    return pd.DataFrame(rows)
