"""Hyperparameters of a Self-Tuning Network (MacKay et al. 2019, section 4).

Each hyperparameter lives on an unconstrained scale ``u``; the network's regularizers read the
constrained value ``c(u)``:

* ``rate``  -- dropout-like rates in (0, 1): ``c = sigmoid(u)`` (``u`` is the logit);
* ``scale`` -- non-negative amounts (AR/TAR coefficients, jitter strengths): ``c = softplus(u)``;
* ``count`` -- discrete settings (cutout holes, cutout length): ``c = round(low + softplus(u))``
  when applied; the best-response approximation sees the continuous ``u``.

The STN perturbs every example's hyperparameters, ``u + eps`` with ``eps ~ N(0, diag sigma^2)``,
and learns ``sigma`` through the entropy term ``tau * H[p(eps | sigma)]`` of the validation
objective (slides "Adjusting the hyperparameter distribution").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

KINDS = ("rate", "scale", "count")


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    kind: str  # rate | scale | count
    init: float  # initial constrained value
    low: float = 0.0  # for counts: the smallest value (c = low + softplus(u))

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"hyperparameter '{self.name}': unknown kind '{self.kind}', "
                             f"choose one of {KINDS}")
        if self.kind == "rate" and not 0 < self.init < 1:
            raise ValueError(f"rate '{self.name}' must start inside (0, 1), got {self.init}")
        if self.kind in ("scale", "count") and self.init - self.low <= 0:
            raise ValueError(f"'{self.name}' must start above {self.low}, got {self.init}")

    def unconstrain(self, value: float) -> float:
        """Inverse of :meth:`constrain`; values on the edge of the domain (a rate of 0, a count
        at its lowest) are moved ``1e-4`` inside it."""
        if self.kind == "rate":
            value = min(max(value, 1e-4), 1 - 1e-4)
            return math.log(value / (1 - value))
        x = max(value - self.low, 1e-4)  # inverse softplus
        return x + math.log(-math.expm1(-x))

    def constrain(self, u: torch.Tensor) -> torch.Tensor:
        if self.kind == "rate":
            return torch.sigmoid(u)
        return self.low + F.softplus(u)


class HyperparameterSet(nn.Module):
    """The tuned hyperparameters ``u`` (one entry per :class:`Hyperparameter`) and the log of
    the perturbation scale ``sigma``, both ``nn.Parameter`` so that the STN's validation step
    (Algorithm 1, inner loop 2) updates them."""

    def __init__(self, specs: list[Hyperparameter], init_scale: float = 0.5,
                 learn_scale: bool = True):
        super().__init__()
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"hyperparameter names must be unique, got {names}")
        if init_scale <= 0:
            raise ValueError(f"the perturbation scale must be positive, got {init_scale}")
        self.specs = list(specs)
        self.unconstrained = nn.Parameter(torch.tensor([s.unconstrain(s.init) for s in specs]))
        self.log_scale = nn.Parameter(torch.full((len(specs),), math.log(init_scale)),
                                      requires_grad=learn_scale)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def scale(self) -> torch.Tensor:
        return self.log_scale.exp()

    def sample(self, batch: int, perturb: bool = True) -> torch.Tensor:
        """Per-example unconstrained hyperparameters ``u + sigma * eps``, shape (batch, n);
        reparametrized, so gradients reach ``u`` and ``sigma``."""
        u = self.unconstrained.expand(batch, -1)
        if not perturb:
            return u
        return u + self.scale * torch.randn_like(u)

    def constrain(self, u: torch.Tensor) -> dict[str, torch.Tensor]:
        """Constrained values per name, each of shape ``u.shape[:-1]``."""
        return {s.name: s.constrain(u[..., i]) for i, s in enumerate(self.specs)}

    def values(self) -> dict[str, float]:
        """The current (unperturbed) constrained values."""
        with torch.no_grad():
            return {k: float(v) for k, v in self.constrain(self.unconstrained).items()}

    def entropy(self) -> torch.Tensor:
        """Entropy of ``N(0, diag sigma^2)``: ``sum(log sigma) + n/2 * (1 + log 2 pi)``."""
        n = self.log_scale.numel()
        return self.log_scale.sum() + 0.5 * n * (1 + math.log(2 * math.pi))
