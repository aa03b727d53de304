"""The estimators of the "Every hypergradient" chapter at a horizon ``T``: reverse mode with
the stored trajectory and checkpointed, exact reversal, DrMAD, DrMAD2, forward mode, truncated
reverse mode for several K and implicit hypergradients with each solver
(:data:`IMPLICIT_SOLVERS`) for several iterations, each with the reason where it is skipped.
How each is measured: :mod:`hpostudy.settings.front`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
    (K = T is ``reverse``).

    Args:
        T: the horizon, training steps per hypergradient.
        P: the number of weights.
        m: the number of hyperparameters.
        truncation_steps: the truncation lengths K (those below ``T`` are kept).
        implicit_iterations: the iterations of each implicit solver.
        drmad_steps: DrMAD's reverse steps S (at most ``T``).
        drmad2_exact_steps: DrMAD2's exactly reversed steps E (at most ``T``), followed by
            ``max(S - E, 1)`` steps along the line.
        implicit_batches: the mini-batches of the last steps the implicit methods average.
        implicit_damping: the damping of the CG and Neumann solves (None: their default).
        max_stored_bytes: the cap on the stored trajectory.
        forward_budget: the cap on forward mode's ``m x T`` tangent steps.
        element_size: bytes per stored weight.

    Returns:
        One :class:`Variant` per estimator, those not run with their ``skip`` reason.
    """
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

