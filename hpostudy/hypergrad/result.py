"""The result types of the hypergradient methods: one :class:`HypergradResult` for the methods
that return a hypergradient, one :class:`OnlineResult` for those that update the
hyperparameters during training, and one frozen diagnostics class per method."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

State = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Diagnostics:
    """Method-specific extras of a result; every field is documented on the subclass."""

    def scalars(self) -> dict[str, bool | int | float]:
        """The fields that are single numbers (for tables and benchmark rows)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), (bool, int, float))}


@dataclass(frozen=True)
class ReverseDiagnostics(Diagnostics):
    """:func:`~.reverse.reverse`: ``stored_states`` kept (T, or the checkpoints), the
    recomputed ``segment`` length (1: nothing recomputed), ``stored_bytes`` of the stored
    trajectory, and with ``record_norms`` the ``accumulated_norm`` after each reverse step
    (index 0 is step T-1; thesis Fig 3.4)."""

    stored_states: int
    segment: int
    stored_bytes: int
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ExactDiagnostics(Diagnostics):
    """:func:`~.exact.exact`: the momentum ``gamma`` really used (``n/2^k``), ``radix`` and
    ``k``; ``recovered_w0`` (True when the reverse pass ended on :math:`w_0` bit for bit);
    ``buffer_bits_per_param_step`` (the information the buffer holds) next to
    ``information_bound_bits`` (:math:`\\log_2(1/\\gamma)`, the minimum) and ``buffer_bytes``
    (what it stores, words and per-element states). With ``record_norms``:
    ``accumulated_norm``; with ``record_path``: ``path`` (one record per reverse step, thesis
    Fig 3.6); with ``also_float``: ``float_path``, ``float_hypergrad`` and
    ``float_lost_at_step`` (None if the floating-point path stayed finite)."""

    gamma: float
    radix: int
    k: int
    recovered_w0: bool
    buffer_bits_per_param_step: float
    information_bound_bits: float
    buffer_bytes: int
    accumulated_norm: list[float] | None = None
    path: list[dict] | None = None
    float_path: list[dict] | None = None
    float_hypergrad: torch.Tensor | None = None
    float_lost_at_step: int | None = None


@dataclass(frozen=True)
class FloatReversalDiagnostics(Diagnostics):
    """:func:`~.exact.float_reversal`: ``w0_error`` = :math:`\\|\\hat w_0 - w_0\\|_\\infty`, the
    drift of the reconstructed path; ``accumulated_norm`` and ``path`` as for exact."""

    w0_error: float
    accumulated_norm: list[float] | None = None
    path: list[dict] | None = None


@dataclass(frozen=True)
class DrmadDiagnostics(Diagnostics):
    """:func:`~.drmad.drmad`: ``reverse_steps`` S taken on the line, ``exact_steps`` taken on
    the reversed true path first (DrMAD2), ``beta`` and ``beta_reverse_steps`` (1/beta, thesis
    section 3.1), and with ``record_norms`` the ``accumulated_norm`` per reverse step."""

    reverse_steps: int
    exact_steps: int
    beta: float
    beta_reverse_steps: float
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ForwardDiagnostics(Diagnostics):
    """:func:`~.forward.forward`: ``m`` hyperparameters (JVPs per step), ``tangent_floats``
    held by the tangent :math:`Z_t`, and with ``record_partial_every`` the ``partial``
    hypergradients (eq. 7) as ``(steps done, hypergradient)`` pairs."""

    m: int
    tangent_floats: int
    partial: list[tuple[int, torch.Tensor]] | None = None


@dataclass(frozen=True)
class TruncatedDiagnostics(Diagnostics):
    """:func:`~.truncated.truncated`: the ``steps`` K reversed (the last K of T), and for the
    stored part as in :class:`ReverseDiagnostics`: ``stored_states``, the recomputed
    ``segment`` length, ``stored_bytes`` of the stored trajectory, ``hvps`` (Hessian-vector
    products, one per reverse step: K) and with ``record_norms`` the ``accumulated_norm``
    after each reverse step (index 0 is step T-1)."""

    steps: int
    stored_states: int
    segment: int
    stored_bytes: int
    hvps: int
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ImplicitDiagnostics(Diagnostics):
    """:func:`~.implicit.implicit`: the ``solver`` and the ``iterations`` it took; ``residual``,
    the relative residual of the linear system it solves when it stopped (``residuals``: after
    0, 1, ... iterations, index 0 is 1.0), ``converged`` (``residual <= tol``); ``hvps``, the
    Hessian-vector products used in all (solver iterations, the Lanczos estimate of Neumann's
    step, and the final mixed product); ``stored_bytes`` of the vectors the solver keeps
    between iterations (no trajectory is stored); the Neumann step ``alpha`` (None for the
    other solvers), the ``damping`` added to the Hessian (0.0 for none), ``batches`` averaged
    in the training loss, ``negative_curvature`` (conjugate gradient met a direction of
    non-positive curvature and stopped there) and ``dynamics_entries``, the entries of theta
    the training step itself depends on (learning rates, momenta), which the implicit function
    theorem does not differentiate."""

    solver: str
    iterations: int
    residual: float
    converged: bool
    hvps: int
    stored_bytes: int
    alpha: float | None
    damping: float
    batches: int
    negative_curvature: bool
    dynamics_entries: tuple[int, ...]
    residuals: list[float]


@dataclass
class HypergradResult:
    """``hypergrad`` = :math:`df(w_T, \\theta)/d\\theta`; ``grad_w0`` = :math:`df/dw_0` where the method
    defines it (None otherwise); ``w_final`` = :math:`w_T`; ``val_loss`` = :math:`f(w_T)`;
    ``diagnostics``: the method's :class:`Diagnostics`."""

    method: str
    hypergrad: torch.Tensor
    grad_w0: torch.Tensor | None
    w_final: torch.Tensor
    val_loss: float
    diagnostics: Diagnostics

    def __post_init__(self):
        self.hypergrad = self.hypergrad.detach()
        self.w_final = self.w_final.detach()
        if self.grad_w0 is not None:
            self.grad_w0 = self.grad_w0.detach()

    def __repr__(self) -> str:
        return (f"HypergradResult({self.method}, |dtheta|={self.hypergrad.norm():.4g}, "
                f"f={self.val_loss:.4g}, {type(self.diagnostics).__name__})")


@dataclass(frozen=True)
class OnlineUpdate:
    """One update of the hyperparameters during training: after ``step`` steps, the
    validation loss ``val_loss`` and the ``hypergrad`` the update used (and its norm)."""

    step: int
    val_loss: float
    hypergrad_norm: float
    hypergrad: torch.Tensor = field(repr=False)


@dataclass
class OnlineResult:
    """What :func:`~.forward.rt_ho` and :func:`~.online.online` return: the final
    hyperparameters ``theta``, the final training ``state`` ``(w, v)`` (to continue training
    from) and the ``history`` of updates."""

    method: str
    theta: torch.Tensor
    state: State
    history: list[OnlineUpdate]

    def records(self) -> list[dict]:
        """The history as records for a table (step, validation loss, hypergradient norm)."""
        return [{"step": u.step, "val_loss": u.val_loss, "hypergrad_norm": u.hypergrad_norm}
                for u in self.history]
