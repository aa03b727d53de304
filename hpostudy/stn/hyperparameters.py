"""Hyperparameters of a Self-Tuning Network (MacKay et al. 2019, section 4).

Every hyperparameter has a *box* ``[low, high]`` -- the same box the black-box searches sample
from, so an STN can never reach a value no search could try -- uniform in the value or, with
``log=True``, in its logarithm (AR/TAR coefficients). :meth:`Hyperparameter.at` maps a
position ``s`` in ``[0, 1]`` to the box; the STN tunes the unconstrained ``u`` and its network
reads ``c(u) = at(sigmoid(u))``. ``u = 0`` is the centre of the box, where every method starts
unless told otherwise. Discrete hyperparameters (cutout holes and length) are rounded where they
are applied; the best-response approximation sees the continuous ``u``.

The STN perturbs every example's hyperparameters, ``u + eps`` with ``eps ~ N(0, diag sigma^2)``,
and learns ``sigma`` through the entropy term ``tau * H[p(eps | sigma)]`` of the validation
objective (slides "Adjusting the hyperparameter distribution").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

EDGE = 1e-4  # a start on the edge of the box is moved this far (in box position) inside it


@dataclass(frozen=True)
class Hyperparameter:
    """One tuned hyperparameter and its box ``[low, high]``, linear or log-scaled, continuous
    or discrete; maps the box to positions in [0, 1] and the unconstrained ``u`` the STN
    learns to values (:meth:`constrain`).
    """
    name: str
    low: float
    high: float
    log: bool = False  # the box is uniform in log(value) (needs low > 0)
    discrete: bool = False  # rounded to an integer where it is applied

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"hyperparameter '{self.name}': its box needs low < high, got "
                             f"[{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise ValueError(f"hyperparameter '{self.name}': a log-scaled box needs low > 0, "
                             f"got {self.low}")

    @property
    def bounds(self) -> tuple:
        """The box as a black-box search space entry: ``(low, high)`` or ``(low, high, "log")``."""
        return (self.low, self.high, "log") if self.log else (self.low, self.high)

    @property
    def centre(self) -> float:
        """The value at the middle of the box (the geometric middle of a log-scaled box)."""
        return float(self.at(0.5))

    def at(self, s):
        """The value at position ``s`` in ``[0, 1]`` of the box (a float or a tensor)."""
        if self.log:
            ratio = math.log(self.high / self.low)
            return self.low * (torch.exp(s * ratio) if torch.is_tensor(s) else math.exp(s * ratio))
        return self.low + (self.high - self.low) * s

    def position(self, value: float) -> float:
        """Inverse of :meth:`at`; refuses a value outside the box."""
        value = float(value)
        if not self.low <= value <= self.high:
            raise ValueError(f"hyperparameter '{self.name}' = {value} lies outside its box "
                             f"[{self.low}, {self.high}]")
        if self.log:
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)

    def unconstrain(self, value: float) -> float:
        """The ``u`` with ``constrain(u) = value`` (a value on the edge moved ``EDGE`` inside)."""
        s = min(max(self.position(value), EDGE), 1 - EDGE)
        return math.log(s / (1 - s))

    def constrain(self, u: torch.Tensor) -> torch.Tensor:
        """The value of the unconstrained ``u``: :meth:`at` the position ``sigmoid(u)``.

        Args:
            u: unconstrained values (any shape).

        Returns:
            torch.Tensor: values inside the box.
        """
        return self.at(torch.sigmoid(u))


class HyperparameterSet(nn.Module):
    """The tuned hyperparameters ``u`` (one entry per :class:`Hyperparameter`, starting at
    ``start`` or at the centre of each box) and the log of the perturbation scale ``sigma``,
    both ``nn.Parameter`` so that the STN's validation step (Algorithm 1, inner loop 2) updates
    them."""

    def __init__(self, specs: list[Hyperparameter], start: dict[str, float] | None = None,
                 init_scale: float = 0.5, learn_scale: bool = True):
        super().__init__()
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"hyperparameter names must be unique, got {names}")
        unknown = sorted(set(start or {}) - set(names))
        if unknown:
            raise ValueError(f"start values for unknown hyperparameters {unknown}; the tuned "
                             f"ones are {names}")
        if init_scale <= 0:
            raise ValueError(f"the perturbation scale must be positive, got {init_scale}")
        self.specs = list(specs)
        start = start or {}
        self.unconstrained = nn.Parameter(torch.tensor(
            [s.unconstrain(start[s.name]) if s.name in start else 0.0 for s in specs]))
        self.log_scale = nn.Parameter(torch.full((len(specs),), math.log(init_scale)),
                                      requires_grad=learn_scale)

    @property
    def names(self) -> list[str]:
        """The hyperparameters' names, in the order of their entries."""
        return [s.name for s in self.specs]

    @property
    def scale(self) -> torch.Tensor:
        r"""The perturbation scale :math:`\sigma` of every hyperparameter, ``exp(log_scale)``."""
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
