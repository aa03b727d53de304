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

The estimators are listed in :mod:`hpostudy.settings.front_variants`, the front's summary and
verdicts are in :mod:`hpostudy.settings.front_judge`; every name of both is readable here.
"""
from __future__ import annotations

import math
import time
import warnings

import torch

from .. import hypergrad as hg
from ..dynamics import train
from ..metaopt import ProjectedAdam, meta_iterations
# the estimators and the verdicts live in their own modules; their names stay readable here
# (settings.front.variants, settings.front.front_rows, ...), as the experiments read them
from .front_judge import (CONVERGED, CONVERGED_DECADES, COST, COST_HORIZON, FEW_TIMES,
                          IMPLICIT_WITHIN, TRUNCATION, front_rows, summary)
from .front_variants import IMPLICIT_SOLVERS, Variant, variants


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
    r"""The cosine of the angle between an estimate and the exact hypergradient.

    Args:
        a: one vector.
        b: the other.

    Returns:
        float: :math:`a\cdot b/(\|a\|\|b\|)`; NaN when either is zero.
    """
    denom = float(a.norm() * b.norm())
    return float(a @ b) / denom if denom > 0 else float("nan")


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""The relative error of an estimate.

    Args:
        a: the estimate.
        b: the reference (the exact hypergradient).

    Returns:
        float: :math:`\|a - b\|/\|b\|`; NaN when ``b`` is zero.
    """
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
    """The clock every method is timed with: this process's CPU time.

    Returns:
        float: seconds of :func:`time.process_time`.
    """
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

