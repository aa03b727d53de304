"""Every hypergradient method on one problem: the estimators of the "Every hypergradient"
chapter, how each is measured against the exact hypergradient, and one outer loop per method.

:func:`variants` lists the estimators at a horizon ``T`` (reverse mode with the stored
trajectory and checkpointed, exact reversal, DrMAD, DrMAD2, forward mode, truncated reverse
mode for several K, implicit hypergradients with each solver for several iterations), each
with the reason where it is skipped (memory above the cap, forward mode's m tangents above its
budget). :func:`measure` computes each one's hypergradient at the same hyperparameters and
records, against a reference (exact reversal, float64) and optionally a second one (the
closed form at the optimum): the cosine and relative error, the process CPU time and its ratio
to plain training of the same ``T`` steps (measured in the same process just before), the
bytes the method stores (its diagnostics), Hessian-vector products, solver residuals.
:func:`outer_loop` runs meta-iterations with one estimator, the same meta-optimizer and the
same budget of training steps for every estimator, and ends with the validation and test error
of training at the final hyperparameters.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import torch

from .. import hypergrad as hg
from .. import verdicts as v
from ..dynamics import train
from ..metaopt import ProjectedAdam, meta_iterations

IMPLICIT_SOLVERS = ("cg", "neumann", "fixed_point")


@dataclass(frozen=True)
class Variant:
    """One estimator: its ``label`` (unique), the method's name and options, its ``family``
    (the figure's colour), ``knob`` (K or iterations, else 0) and, if it is not run, ``skip``
    (the reason)."""

    label: str
    method: str
    options: dict = field(default_factory=dict)
    family: str = ""
    knob: int = 0
    skip: str = ""


def variants(T: int, P: int, m: int, *, truncation_steps, implicit_iterations,
             drmad_steps: int, drmad2_exact_steps: int, implicit_batches: int = 1,
             implicit_damping: float | None = None, max_stored_bytes: float = 2e9,
             forward_budget: float = 1e6, element_size: int = 8) -> list[Variant]:
    """The estimators at horizon ``T`` for ``P`` weights and ``m`` hyperparameters.

    ``reverse`` (stored trajectory) is skipped where its ``T x P`` stored weights exceed
    ``max_stored_bytes``; ``forward`` where ``m x T`` (tangent steps, each a Jacobian-vector
    product of the training step) exceeds ``forward_budget``; truncated K only for K < T
    (K = T is ``reverse``)."""
    out = []
    stored = T * P * element_size
    out.append(Variant("reverse", "reverse", {}, "reverse", T, "" if stored <= max_stored_bytes
                       else f"the stored trajectory would take {stored / 1e9:.3g} GB, above the "
                            f"cap of {max_stored_bytes / 1e9:.3g} GB (max_stored_bytes)"))
    out.append(Variant("reverse (checkpointed)", "reverse", {"checkpoint_every": "sqrt"},
                       "reverse", T))
    out.append(Variant("exact", "exact", {}, "exact", T))
    S = min(drmad_steps, T)
    out.append(Variant(f"DrMAD S={S:,}", "drmad", {"reverse_steps": S}, "DrMAD", S))
    E = min(drmad2_exact_steps, T)
    out.append(Variant(f"DrMAD2 {E:,}+{max(S - E, 1):,}", "drmad2",
                       {"exact_steps": E, "reverse_steps": max(S - E, 1)}, "DrMAD", S))
    out.append(Variant("forward", "forward", {}, "forward", m,
                       "" if m * T <= forward_budget else
                       f"forward mode carries m = {m:,} tangents: m x T = {m * T:,} tangent steps "
                       f"exceed the budget of {forward_budget:,.0f} (forward_budget)"))
    for K in sorted(k for k in set(truncation_steps) if k < T):
        out.append(Variant(f"truncated K={K:,}", "truncated", {"steps": K}, "truncated", K))
    for solver in IMPLICIT_SOLVERS:
        for it in sorted(set(implicit_iterations)):
            opts = {"solver": solver, "iterations": it, "tol": 0.0,
                    "batches": min(implicit_batches, T)}
            if implicit_damping is not None and solver != "fixed_point":
                opts["damping"] = implicit_damping
            out.append(Variant(f"implicit {solver} {it}", "implicit", opts,
                               f"implicit {solver}", it))
    return out


def stored_bytes(result) -> int:
    """What a method keeps for its reverse pass or solve beyond the state it trains: the
    stored trajectory (reverse, truncated), the information buffer (exact), the tangent
    (forward), the solver's vectors (implicit), the initial weights fixing the line (DrMAD).

    Args:
        result: a :class:`~hpostudy.hypergrad.HypergradResult`.

    Returns:
        int: ``result.diagnostics.stored_bytes``, every method's one memory field.
    """
    return int(result.diagnostics.stored_bytes)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    denom = float(a.norm() * b.norm())
    return float(a @ b) / denom if denom > 0 else float("nan")


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm()) if float(b.norm()) > 0 else float("nan")


def gradient_decades(problem, theta: torch.Tensor, w_T: torch.Tensor, T: int,
                     batches: int) -> float:
    """How many decades the training gradient fell: :math:`\\log_{10}(\\|\\nabla L(w_0)\\| /
    \\|\\nabla L(w_T)\\|)` with :math:`L` averaged over the mini-batches of the last
    ``batches`` steps (the loss the implicit methods solve with)."""
    def norm(w):
        return float(sum(problem.grad(w, theta, t) for t in range(T - batches, T)).norm())
    end = norm(w_T)
    return math.log10(norm(problem.w0) / end) if end > 0 else float("inf")


def clock() -> float:
    return time.process_time()


def measure(problem, dynamics, theta: torch.Tensor, T: int, todo: list[Variant],
            second: torch.Tensor | None = None, batches: int = 1) -> tuple[list[dict], dict]:
    """Every variant's hypergradient against exact reversal (the reference, computed first
    and timed as the variant ``exact``) and, with ``second``, against that vector too (the
    closed form). Returns the rows (one per variant) and the plain-training record
    (``plain_seconds``, ``gradient_decades``)."""
    theta = theta.detach()
    start = clock()
    w_T, _ = train(problem, dynamics, theta, T)
    plain = clock() - start
    decades = gradient_decades(problem, theta, w_T, T, min(batches, T))
    threads = torch.get_num_threads()
    results, rows = {}, []
    order = sorted(todo, key=lambda v: v.method != "exact")  # the reference first
    reference = None
    for var in order:
        row = {"T": T, "method": var.label, "family": var.family, "knob": var.knob,
               "plain_seconds": plain, "threads": threads, "gradient_decades": decades}
        if var.skip:
            rows.append({**row, "status": f"skipped: {var.skip}"})
            continue
        start = clock()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                res = hg.hypergradient(var.method, problem, dynamics, theta, T, **var.options)
        except (FloatingPointError, ValueError, MemoryError, RuntimeError) as err:
            if var.method == "exact":
                raise  # the reference
            rows.append({**row, "cpu_seconds": clock() - start,
                         "status": f"failed: {type(err).__name__}: {str(err)[:200]}"})
            continue
        seconds = clock() - start
        h = res.hypergrad.detach()
        if var.method == "exact":
            reference = h
        results[var.label] = h
        diag = res.diagnostics
        row.update({"status": "ok", "cpu_seconds": seconds, "x_plain": seconds / plain,
                    "stored_bytes": stored_bytes(res),
                    "hvps": getattr(diag, "hvps", None),
                    "residual": getattr(diag, "residual", None),
                    "negative_curvature": getattr(diag, "negative_curvature", None),
                    "norm": float(h.norm()), "cosine": cosine(h, reference),
                    "relative_error": relative_error(h, reference)})
        if second is not None:
            row.update({"cosine_closed": cosine(h, second),
                        "relative_error_closed": relative_error(h, second)})
        rows.append(row)
    if second is not None:
        rows.append({"T": T, "method": "closed form", "family": "closed form", "knob": 0,
                     "plain_seconds": plain, "threads": threads, "gradient_decades": decades,
                     "status": "ok", "norm": float(second.norm()),
                     "cosine": cosine(second, reference),
                     "relative_error": relative_error(second, reference),
                     "cosine_closed": 1.0, "relative_error_closed": 0.0})
    return rows, {"plain_seconds": plain, "gradient_decades": decades}


def outer_loop(problem, dynamics, theta0: torch.Tensor, T: int, var: Variant, iterations: int,
               meta_lr: float, errors, checkpoint=None, lower: float = -math.inf,
               upper: float = math.inf) -> list[dict]:
    """``iterations`` meta-iterations of Adam (``meta_lr``, projected onto ``[lower,
    upper]``) along ``var``'s hypergradient, each training ``T`` steps from the same
    initialization; then ``T`` steps at the final hyperparameters. One record per
    meta-iteration (validation loss, CPU seconds of the hypergradient) and a last one
    (``meta_iteration = iterations``) with ``errors(w, theta)`` (validation and test error) at
    the final hyperparameters; every record counts the training steps spent so far."""
    def step(i, theta):
        start = clock()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = hg.hypergradient(var.method, problem, dynamics, theta, T, **var.options)
        return res.hypergrad, {"method": var.label, "family": var.family,
                               "val_loss": res.val_loss, "cpu_seconds": clock() - start,
                               "training_steps": (i + 1) * T, **errors(res.w_final, theta)}

    theta, records = meta_iterations(step, theta0.detach(), ProjectedAdam(meta_lr, lower=lower,
                                                                          upper=upper),
                                     iterations, checkpoint=checkpoint)
    w, _ = train(problem, dynamics, theta, T)
    f = float(problem.val_loss(w, theta))
    records.append({"meta_iteration": iterations, "method": var.label, "family": var.family,
                    "val_loss": f, "cpu_seconds": 0.0,
                    "training_steps": (iterations + 1) * T, **errors(w, theta)})
    return records


def summary(front):
    """The front per problem, horizon and estimator over seeds: runs that finished (of those
    tried), the geometric mean relative error and the mean cosine against exact reversal,
    the mean CPU time over plain training, the megabytes stored, the Hessian-vector products;
    a skipped or failed estimator keeps its first reason."""
    import numpy as np
    import pandas as pd

    out = []
    for (problem, T, method), g in front.groupby(["problem", "T", "method"], sort=False):
        ok = g[g.status == "ok"]
        err = ok.relative_error.astype(float)
        out.append({
            "problem": problem, "T": int(T), "method": method, "runs": f"{len(ok)} of {len(g)}",
            "relative_error": (float(np.exp(np.log(err.clip(lower=1e-300)).mean()))
                               if len(ok) and (err > 0).all() else
                               float(err.mean()) if len(ok) else float("nan")),
            "cosine": float(ok.cosine.mean()) if len(ok) else float("nan"),
            "x_plain": float(ok.x_plain.mean()) if len(ok) and "x_plain" in ok else float("nan"),
            "MB": (float(ok.stored_bytes.mean()) / 1e6 if len(ok) and "stored_bytes" in ok
                   else float("nan")),
            "hvps": float(ok.hvps.mean()) if "hvps" in ok and ok.hvps.notna().any()
            else float("nan"),
            "note": "" if len(ok) == len(g) else str(g[g.status != "ok"].status.iloc[0])})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- verdicts
IMPLICIT_WITHIN = 0.05  # "implicit is within 5% of exact once training has converged"
CONVERGED_DECADES = 6.0  # training has converged: its gradient fell by 6 decades
FEW_TIMES = 5.0  # "only a few times more costly than standard training": at most 5x
COST_HORIZON = 1000  # the smallest T at which that ratio says something

CONVERGED = v.Scale({"decades the training gradient fell": CONVERGED_DECADES},
                    "the implicit function theorem holds at a stationary point; before training "
                    "has converged its error measures the unconverged training, not the solver")
TRUNCATION = v.Scale({"truncation lengths K < T": 2, "T": 100},
                     "the bias is compared between two truncation lengths below the horizon, "
                     "over a horizon long enough for the dropped steps to matter")
COST = v.Scale({"T": COST_HORIZON},
               "Lorraine et al. train thousands of steps per hypergradient; over a shorter "
               "horizon a fixed solve of tens of Hessian-vector products is compared with "
               "almost no training")


def _per_seed(front, method: str, column: str):
    rows = front[(front.method == method) & (front.status == "ok")]
    return rows.set_index("seed")[column].astype(float)


def front_rows(front, problem: str, where: str) -> list[dict]:
    """The verdict rows of one problem's accuracy-vs-cost table ``front`` (rows of
    :func:`measure` with ``seed``): at its longest horizon, (1) each implicit solver with its
    most iterations within :data:`IMPLICIT_WITHIN` of the exact hypergradient once training
    has converged (gate :data:`CONVERGED`); (2) the truncation bias larger at the smallest K
    than at the largest K below T, on log10 of the relative errors, paired by seed (gate
    :data:`TRUNCATION`); (3) each implicit solver at most :data:`FEW_TIMES` times the process
    CPU time of plain training (gate :data:`COST`)."""
    T = int(front["T"].max())
    at = front[front["T"] == T]
    threads = int(at.threads.max())
    where = (f"{where}; T = {T:,}, process CPU time with {threads} "
             f"thread{'s' if threads > 1 else ''}")
    decades = float(at.groupby("seed").gradient_decades.first().min())
    rows = []
    implicit = at[at.method.str.startswith("implicit ")]
    for solver in IMPLICIT_SOLVERS:
        mine = implicit[implicit.method.str.startswith(f"implicit {solver} ")]
        if mine.empty:
            continue
        it = int(mine.knob.max())
        label = f"implicit {solver} {it}"
        errors = _per_seed(at, label, "relative_error")
        judgement = (v.within(errors.clip(lower=1e-300), high=IMPLICIT_WITHIN, log=True,
                              what=f"the relative error of {label} against exact reversal")
                     if len(errors) else v.not_comparable(f"{label} failed in every seed"))
        rows.append(v.row(f"{problem}: implicit ({solver}, {it} iterations) is within "
                          f"{IMPLICIT_WITHIN:.0%} of the exact hypergradient once training has "
                          "converged", "accurate at convergence (Lorraine et al. 2020)",
                          CONVERGED.gate(judgement, {"decades the training gradient fell":
                                                     decades}), where))
    ks = sorted(int(k) for k in at[at.family == "truncated"].knob.unique())
    if ks:
        small, large = ks[0], ks[-1]
        lo = _per_seed(at, f"truncated K={large:,}", "relative_error")
        hi = _per_seed(at, f"truncated K={small:,}", "relative_error")
        both = lo.index.intersection(hi.index)
        log = lambda s: [math.log10(max(x, 1e-300)) for x in s.loc[both]]  # noqa: E731
        judgement = v.difference(log(lo), log(hi), paired=True,
                                 what_lower=f"log10 relative error at K = {large:,}",
                                 what_higher=f"at K = {small:,}")
        rows.append(v.row(f"{problem}: truncation bias grows as K shrinks (K = {small:,} vs "
                          f"{large:,})", "bias shrinks like rho^K (Shaban et al. 2019)",
                          TRUNCATION.gate(judgement, {"truncation lengths K < T": len(ks),
                                                      "T": T}), where))
    for solver in IMPLICIT_SOLVERS:
        mine = implicit[implicit.method.str.startswith(f"implicit {solver} ")]
        if mine.empty:
            continue
        it = int(mine.knob.max())
        label = f"implicit {solver} {it}"
        ratio = _per_seed(at, label, "x_plain")
        judgement = (v.within(ratio, high=FEW_TIMES, log=True,
                              what=f"process CPU time of {label} (training included) over "
                                   "plain training's")
                     if len(ratio) else v.not_comparable(f"{label} failed in every seed"))
        rows.append(v.row(f"{problem}: implicit ({solver}, {it} iterations) costs only a few "
                          "times standard training", "only a few times more costly "
                          "(Lorraine et al. 2020)", COST.gate(judgement, {"T": T}), where))
    return rows
