"""The verdicts of the "Every hypergradient" chapter: the accuracy-vs-cost front summarized
per problem, horizon and estimator over seeds (:func:`summary`) and its claims
(:func:`front_rows`): implicit hypergradients within 5% of exact reversal once training has
converged, the truncation bias growing as K shrinks, implicit hypergradients only a few times
the cost of plain training -- each behind its scale gate. The rows they read:
:func:`hpostudy.settings.front.measure`.
"""
from __future__ import annotations

import math

from .. import verdicts as v
from .front_variants import IMPLICIT_SOLVERS


def summary(front):
    """The front per problem, horizon and estimator over seeds: runs that finished (of those
    tried), the geometric mean relative error and the mean cosine against exact reversal,
    the mean CPU time over plain training, the megabytes stored, the Hessian-vector products;
    a skipped or failed estimator keeps its first reason.

    Args:
        front: rows of :func:`hpostudy.settings.front.measure` with ``problem`` and ``seed``.

    Returns:
        pandas.DataFrame: one row per problem, horizon and estimator.
    """
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
    CPU time of plain training (gate :data:`COST`).

    Args:
        front: the rows of one problem, every horizon and seed.
        problem: the problem's name, opening each claim.
        where: the run's setting in words.

    Returns:
        The verdict rows, in that order.
    """
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
