"""The one result type every hypergradient method returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class HypergradResult:
    """``hypergrad`` = :math:`df(w_T, \\theta)/d\\theta`; ``grad_w0`` = :math:`df/dw_0` where the method
    defines it (None otherwise); ``w_final`` = :math:`w_T`; ``val_loss`` = :math:`f(w_T)`;
    ``diagnostics``: method-specific extras (accumulated-norm series, reverse steps used,
    reversed path values, buffer size ...)."""

    method: str
    hypergrad: torch.Tensor
    grad_w0: torch.Tensor | None
    w_final: torch.Tensor
    val_loss: float
    diagnostics: dict = field(default_factory=dict)

    def __post_init__(self):
        self.hypergrad = self.hypergrad.detach()
        self.w_final = self.w_final.detach()
        if self.grad_w0 is not None:
            self.grad_w0 = self.grad_w0.detach()

    def __repr__(self) -> str:
        return (f"HypergradResult({self.method}, |dtheta|={self.hypergrad.norm():.4g}, "
                f"f={self.val_loss:.4g}, diagnostics={sorted(self.diagnostics)})")
