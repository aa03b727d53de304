"""Hypergradient methods, one contract.

Every method is called as ``method(problem, dynamics, theta, T, **options)`` (options are
keyword-only, typed arguments) and returns a :class:`HypergradResult` whose ``diagnostics`` is
the method's frozen dataclass (:class:`ReverseDiagnostics`, :class:`ExactDiagnostics`,
:class:`FloatReversalDiagnostics`, :class:`DrmadDiagnostics`, :class:`ForwardDiagnostics`,
:class:`TruncatedDiagnostics`, :class:`ImplicitDiagnostics`), each with ``stored_bytes``, the
bytes the method keeps for its hypergradient (the memory column below, measured):

============== ============================================================= ==================
name           what                                                          memory
============== ============================================================= ==================
reverse        REVERSE-HO, stored trajectory (optionally checkpointed)       O(T) / O(sqrt T)
exact          exact reversal in fixed point (Maclaurin et al. 2015)         ~log2(1/gamma) bit/param/step
float_reversal the same reverse pass in floating point (drifts)              O(1)
drmad          DrMAD, straight-line reverse path (thesis Algorithm 3)        O(1)
drmad2         DrMAD2: exact reverse steps first, then the line              O(1)
forward        FORWARD-HO, Z_t = A_t Z_{t-1} + B_t                           O(m)
truncated      reverse mode through the last K steps (Shaban et al. 2019)    O(K)
implicit       implicit function theorem at w_T (cg, neumann, fixed_point)   O(1)
============== ============================================================= ==================

Online methods that update the hyperparameters during training, :func:`rt_ho` (real-time
FORWARD-HO) and :func:`online` (Luketina et al. 2016), return an :class:`OnlineResult` (final
hyperparameters and state, one :class:`OnlineUpdate` per update).

Every method checks its inputs first (horizon, hyperparameters against the problem's space,
dynamics, options) and raises ``ValueError``/``TypeError`` naming what was expected; a NaN or
infinity appearing during training raises ``FloatingPointError`` naming the step.
"""
import inspect

from .drmad import beta_estimate, drmad, drmad2, drmad_shared
from .exact import MomentumRoundedWarning, exact, float_reversal
from .fixedpoint import effective_gamma
from .forward import forward, rt_ho
from .implicit import implicit
from .online import online
from .result import (Diagnostics, DrmadDiagnostics, ExactDiagnostics, FloatReversalDiagnostics,
                     ForwardDiagnostics, HypergradResult, ImplicitDiagnostics, OnlineResult,
                     OnlineUpdate, ReverseDiagnostics, TruncatedDiagnostics)
from .reverse import reverse
from .truncated import truncated

METHODS = {
    "reverse": reverse,
    "exact": exact,
    "float_reversal": float_reversal,
    "drmad": drmad,
    "drmad2": drmad2,
    "forward": forward,
    "truncated": truncated,
    "implicit": implicit,
}


def hypergradient(method: str, problem, dynamics, theta, T: int, **options) -> HypergradResult:
    """The hypergradient by the method called ``method``, one of ``METHODS``.

    Args:
        method: ``"reverse"``, ``"exact"``, ``"float_reversal"``, ``"drmad"``, ``"drmad2"``,
            ``"forward"``, ``"truncated"`` or ``"implicit"``.
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`).
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters, a flat tensor.
        T: the training steps.
        **options: the method's own keyword options.

    Returns:
        HypergradResult: what the method returns.

    Raises:
        ValueError: an unknown method.
        TypeError: an option the method does not have (named with the ones it has).
    """
    if method not in METHODS:
        raise ValueError(f"unknown hypergradient method '{method}': choose one of {sorted(METHODS)}")
    fn = METHODS[method]
    declared = drmad if fn is drmad2 else fn  # drmad2 passes its options on to drmad
    known = [p.name for p in inspect.signature(declared).parameters.values()
             if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"method '{method}' has no option {', '.join(map(repr, unknown))}; its "
                        f"options are {known}")
    return fn(problem, dynamics, theta, T, **options)


__all__ = ["METHODS", "HypergradResult", "OnlineResult", "OnlineUpdate", "Diagnostics",
           "ReverseDiagnostics", "ExactDiagnostics", "FloatReversalDiagnostics",
           "DrmadDiagnostics", "ForwardDiagnostics", "TruncatedDiagnostics",
           "ImplicitDiagnostics", "hypergradient", "reverse", "exact", "float_reversal", "drmad",
           "drmad2", "drmad_shared", "forward", "truncated", "implicit", "rt_ho", "online",
           "beta_estimate",
           "effective_gamma", "MomentumRoundedWarning"]
