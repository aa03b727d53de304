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
    """Method-specific extras of a result; the other fields are documented on the subclass.

    Attributes:
        stored_bytes: the bytes the method keeps for its hypergradient beyond the state it
            trains -- the stored trajectory (reverse, truncated), the information buffer
            (exact), the tangent (forward), the solver's vectors (implicit), :math:`w_0` fixing
            DrMAD's line -- every method's memory in one field (keyword-only).
    """

    stored_bytes: int = field(kw_only=True)

    def scalars(self) -> dict[str, bool | int | float]:
        """The fields that are single numbers (for tables and benchmark rows).

        Returns:
            dict: field name -> value, for the fields holding a bool, int or float (lists,
            tensors and None left out).
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), (bool, int, float))}


@dataclass(frozen=True)
class ReverseDiagnostics(Diagnostics):
    """Diagnostics of :func:`reverse` (REVERSE-HO).

    Attributes:
        stored_states: states kept for the reverse pass (T, or the checkpoints).
        segment: length of the segments recomputed during the reverse pass (1: nothing
            recomputed).
        accumulated_norm: with ``record_norms``, the norm of the accumulated hypergradient
            after each reverse step (index 0 is step T-1; thesis Fig 3.4), else None.
        stored_bytes: bytes of the stored trajectory (weights, the velocities where the
            adjoint reads them, and the checkpoints).
    """

    stored_states: int
    segment: int
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ExactDiagnostics(Diagnostics):
    r"""Diagnostics of :func:`exact` (exact reversal in fixed point, Maclaurin et al. 2015).

    Attributes:
        gamma: the momentum really used, rounded to :math:`n/2^k`.
        radix: the fixed-point radix (fraction bits of the weights and velocity).
        k: the momentum's denominator is :math:`2^k`.
        recovered_w0: True when the reverse pass ended on :math:`w_0` bit for bit.
        buffer_bits_per_param_step: the information the buffer holds, in bits per parameter
            per step.
        information_bound_bits: the minimum, :math:`\log_2(1/\gamma)` bits.
        accumulated_norm: with ``record_norms``, the accumulated hypergradient's norm per
            reverse step.
        path: with ``record_path``, one record per reverse step (thesis Fig 3.6).
        float_path: with ``also_float``, the same records for the floating-point reversal.
        float_hypergrad: with ``also_float``, the floating-point reversal's hypergradient.
        float_lost_at_step: with ``also_float``, the step where the floating-point path became
            non-finite (None if it stayed finite).
        stored_bytes: what the information buffer stores after the forward pass (words and
            per-element states), in bytes.
    """

    gamma: float
    radix: int
    k: int
    recovered_w0: bool
    buffer_bits_per_param_step: float
    information_bound_bits: float
    accumulated_norm: list[float] | None = None
    path: list[dict] | None = None
    float_path: list[dict] | None = None
    float_hypergrad: torch.Tensor | None = None
    float_lost_at_step: int | None = None


@dataclass(frozen=True)
class FloatReversalDiagnostics(Diagnostics):
    r"""Diagnostics of :func:`float_reversal` (the reverse pass of :func:`exact` in floating
    point).

    Attributes:
        w0_error: :math:`\|\hat w_0 - w_0\|_\infty`, the drift of the reconstructed path.
        accumulated_norm: as in :class:`ExactDiagnostics`.
        path: as in :class:`ExactDiagnostics`.
        stored_bytes: 0: the reverse pass reconstructs the path from :math:`(w_T, v_T)` alone.
    """

    w0_error: float
    accumulated_norm: list[float] | None = None
    path: list[dict] | None = None


@dataclass(frozen=True)
class DrmadDiagnostics(Diagnostics):
    r"""Diagnostics of :func:`drmad` and :func:`drmad2` (thesis Algorithm 3, section 3.1).

    Attributes:
        reverse_steps: the steps S taken backwards on the straight line.
        exact_steps: the steps taken first on the exactly reversed true path (DrMAD2; 0 for
            DrMAD).
        beta: the estimate :math:`\beta` of the thesis (section 3.1).
        beta_reverse_steps: :math:`1/\beta`, the number of reverse steps it suggests.
        accumulated_norm: with ``record_norms``, the accumulated hypergradient's norm per
            reverse step.
        stored_bytes: the bytes of :math:`w_0`, which fixes the line's other end (:math:`w_T`
            is the trained state).
    """

    reverse_steps: int
    exact_steps: int
    beta: float
    beta_reverse_steps: float
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ForwardDiagnostics(Diagnostics):
    """Diagnostics of :func:`forward` (FORWARD-HO, Franceschi et al. 2017).

    Attributes:
        m: the number of hyperparameters (Jacobian-vector products per step).
        partial: with ``record_partial_every``, the partial hypergradients (Franceschi et al.
            eq. 7) as ``(steps done, hypergradient)`` pairs.
        stored_bytes: the bytes of the tangent :math:`Z_t` (m copies of the state).
    """

    m: int
    partial: list[tuple[int, torch.Tensor]] | None = None


@dataclass(frozen=True)
class TruncatedDiagnostics(Diagnostics):
    """Diagnostics of :func:`truncated` (reverse mode through the last K steps, Shaban et al.
    2019).

    Attributes:
        steps: the steps K reversed (the last K of T).
        stored_states: states kept, as in :class:`ReverseDiagnostics`.
        segment: the recomputed segment length, as in :class:`ReverseDiagnostics`.
        hvps: Hessian-vector products, one per reverse step (K).
        accumulated_norm: with ``record_norms``, the norm after each reverse step (index 0 is
            step T-1).
        stored_bytes: bytes of the stored part of the trajectory.
    """

    steps: int
    stored_states: int
    segment: int
    hvps: int
    accumulated_norm: list[float] | None = None


@dataclass(frozen=True)
class ImplicitDiagnostics(Diagnostics):
    r"""Diagnostics of :func:`implicit` (implicit function theorem at :math:`w_T`).

    Attributes:
        solver: ``"cg"``, ``"neumann"`` or ``"fixed_point"``.
        iterations: the iterations the solver took.
        residual: the relative residual of the linear system when the solver stopped.
        converged: ``residual <= tol``.
        hvps: Hessian-vector products used in all (solver iterations, the Lanczos estimate of
            Neumann's step, and the final mixed product).
        alpha: the Neumann step (None for the other solvers).
        damping: the damping :math:`\delta` added to the Hessian (0.0 for none).
        batches: the mini-batches averaged in the training loss.
        negative_curvature: conjugate gradient met a direction of non-positive curvature and
            stopped there.
        dynamics_entries: the entries of theta the training step itself depends on (learning
            rates, momenta), which the implicit function theorem does not differentiate.
        residuals: the relative residual after 0, 1, ... iterations (index 0 is 1.0).
        stored_bytes: bytes of the vectors the solver keeps between iterations (no trajectory
            is stored).
    """

    solver: str
    iterations: int
    residual: float
    converged: bool
    hvps: int
    alpha: float | None
    damping: float
    batches: int
    negative_curvature: bool
    dynamics_entries: tuple[int, ...]
    residuals: list[float]


@dataclass
class HypergradResult:
    r"""What every hypergradient method returns.

    Attributes:
        method: the method's name (a key of ``METHODS``).
        hypergrad: :math:`df(w_T, \theta)/d\theta`, detached.
        grad_w0: :math:`df/dw_0` where the method defines it, None otherwise.
        w_final: the final weights :math:`w_T`.
        val_loss: the validation loss :math:`f(w_T, \theta)`.
        diagnostics: the method's :class:`Diagnostics` subclass.
    """

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
    """One update of the hyperparameters during training.

    Attributes:
        step: the training steps done before the update.
        val_loss: the validation loss at that point.
        hypergrad_norm: the norm of ``hypergrad``.
        hypergrad: the hypergradient the update used.
    """

    step: int
    val_loss: float
    hypergrad_norm: float
    hypergrad: torch.Tensor = field(repr=False)


@dataclass
class OnlineResult:
    """What :func:`rt_ho` and :func:`online` return.

    Attributes:
        method: ``"rt_ho"`` or ``"online"``.
        theta: the final hyperparameters.
        state: the final training state ``(w, v)``, to continue training from.
        history: one :class:`OnlineUpdate` per update.
    """

    method: str
    theta: torch.Tensor
    state: State
    history: list[OnlineUpdate]

    def records(self) -> list[dict]:
        """The history as records for a table.

        Returns:
            list[dict]: one ``{"step", "val_loss", "hypergrad_norm"}`` record per update.
        """
        return [{"step": u.step, "val_loss": u.val_loss, "hypergrad_norm": u.hypergrad_norm}
                for u in self.history]
