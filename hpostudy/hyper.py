"""Hyperparameter spaces: named groups of hyperparameters and their expansion to parameters.

A :class:`HyperSpace` holds the hyperparameters of a run as one flat vector ``theta``. Each
:class:`Group` covers some parameter tensors of a :class:`~hpostudy.models.FlatModel` with a
*granularity*:

* ``"parameter"`` -- one hyperparameter per parameter element;
* ``"unit"``      -- one per output unit of a layer (dim 0 of a weight, each bias element);
* ``"layer"``     -- one per parameter tensor;
* ``"scalar"``    -- one for all covered tensors.

and a *kind*, the scale on which it lives:

* ``"log10_l2"`` -- L2 coefficients ``10**theta`` (thesis section 3.2), penalty
  :math:`\\sum_j 10^{\\theta_j} w_j^2`;
* ``"log_lr"``   -- learning rates ``exp(theta)`` (per-layer learning rates);
* ``"log_scale"`` and ``"log_l2_z"`` -- the reparametrization of thesis section 3.1,
  :math:`w = e^{s} \\odot z` trained in :math:`z` with penalty :math:`e^{\\lambda}\\|z\\|^2`.

``expand(name, theta)`` returns a vector of the parameters' size (differentiable in ``theta``),
with ``fill`` where the group does not cover a parameter. Biases are left out of L2 groups unless
``include_bias=True``. ``bounds`` are box constraints applied by :meth:`HyperSpace.clip`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .models.flat import FlatModel

KINDS = ("log10_l2", "log_lr", "log_scale", "log_l2_z")
GRANULARITIES = ("parameter", "unit", "layer", "scalar")


@dataclass
class Group:
    """One named block of hyperparameters (see the module docstring for kinds/granularities)."""

    name: str
    kind: str
    granularity: str = "unit"
    init: float = 0.0
    params: list[str] | None = None  # parameter names covered; None = all (biases per include_bias)
    include_bias: bool = False
    bounds: tuple[float, float] = (-float("inf"), float("inf"))
    # filled in by HyperSpace
    size: int = field(default=0, init=False)
    positions: torch.Tensor | None = field(default=None, init=False, repr=False)
    index: torch.Tensor | None = field(default=None, init=False, repr=False)
    layer_of: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"group '{self.name}': unknown kind '{self.kind}', choose one of {KINDS}")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"group '{self.name}': unknown granularity '{self.granularity}', "
                             f"choose one of {GRANULARITIES}")
        lo, hi = self.bounds
        if not lo <= self.init <= hi:
            raise ValueError(f"group '{self.name}': init {self.init} outside bounds {self.bounds}")


class HyperSpace:
    """The hyperparameters of a run: groups laid out one after another in a flat ``theta``."""

    def __init__(self, model: FlatModel, groups: list[Group]):
        names = [g.name for g in groups]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate group names in {names}")
        self.model, self.groups = model, {g.name: g for g in groups}
        self.offsets: dict[str, slice] = {}
        start = 0
        for g in groups:
            self._layout(g)
            self.offsets[g.name] = slice(start, start + g.size)
            start += g.size
        self.size = start

    def _covered(self, g: Group) -> list[str]:
        if g.params is not None:
            unknown = set(g.params) - set(self.model.names)
            if unknown:
                raise ValueError(f"group '{g.name}': unknown parameters {sorted(unknown)}; "
                                 f"the model has {self.model.names}")
            return list(g.params)
        bias_like = g.kind in ("log10_l2", "log_l2_z") and not g.include_bias
        return [n for n, s in zip(self.model.names, self.model.shapes)
                if not (bias_like and (n.endswith("bias") or len(s) == 1))]

    def _layout(self, g: Group) -> None:
        positions, index, layer_of, count = [], [], [], 0
        for name in self._covered(g):
            i = self.model.names.index(name)
            start, numel, shape = self.model.offsets[i], self.model.numels[i], self.model.shapes[i]
            positions.append(torch.arange(start, start + numel))
            if g.granularity == "parameter":
                local, n_new = torch.arange(numel), numel
            elif g.granularity == "unit":
                units = shape[0]
                local, n_new = torch.arange(units).repeat_interleave(numel // units), units
            elif g.granularity == "layer":
                local, n_new = torch.zeros(numel, dtype=torch.int64), 1
            else:  # scalar: every covered element maps to hyperparameter 0
                local, n_new = torch.zeros(numel, dtype=torch.int64) - count, int(count == 0)
            index.append(local + count)
            layer_of += [name] * n_new
            count += n_new
        g.positions = torch.cat(positions) if positions else torch.zeros(0, dtype=torch.int64)
        g.index = torch.cat(index) if index else torch.zeros(0, dtype=torch.int64)
        g.size, g.layer_of = count, layer_of

    def to(self, device) -> "HyperSpace":
        """Keep the index maps on ``device`` (no host-to-device copy inside every step)."""
        for g in self.groups.values():
            g.positions, g.index = g.positions.to(device), g.index.to(device)
        return self

    # ------------------------------------------------------------------ values
    def init(self, dtype=torch.float64, device=None) -> torch.Tensor:
        """The initial ``theta`` (each group at its ``init`` value)."""
        theta = torch.empty(self.size, dtype=dtype, device=device)
        for name, g in self.groups.items():
            theta[self.offsets[name]] = g.init
        return theta

    def part(self, name: str, theta: torch.Tensor) -> torch.Tensor:
        return theta[self.offsets[name]]

    def expand(self, name: str, theta: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Group ``name`` as a per-parameter vector (``fill`` where not covered)."""
        g = self.groups[name]
        values = self.part(name, theta)[g.index]
        out = torch.full((self.model.size,), fill, dtype=theta.dtype, device=theta.device)
        return out.index_put((g.positions,), values)

    def clip(self, theta: torch.Tensor) -> torch.Tensor:
        """Project ``theta`` onto the groups' box constraints."""
        out = theta.clone()
        for name, g in self.groups.items():
            lo, hi = g.bounds
            out[self.offsets[name]] = out[self.offsets[name]].clamp(lo, hi)
        return out

    def layers(self, name: str) -> list[str]:
        """For each hyperparameter of group ``name``, the parameter tensor it belongs to."""
        return self.groups[name].layer_of

    # ------------------------------------------------------------------ penalties and rates
    def l2_penalty(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """:math:`\\sum_j 10^{\\theta_j} w_j^2` over every ``log10_l2`` group."""
        total = w.new_zeros(())
        for name, g in self.groups.items():
            if g.kind == "log10_l2":
                coef = torch.pow(10.0, self.part(name, theta))[g.index]
                total = total + (coef.to(w.dtype) * w[g.positions] ** 2).sum()
            elif g.kind == "log_l2_z":
                coef = torch.exp(self.part(name, theta))[g.index]
                total = total + (coef.to(w.dtype) * w[g.positions] ** 2).sum()
        return total

    def of_kind(self, kind: str) -> list[str]:
        return [n for n, g in self.groups.items() if g.kind == kind]

    def learning_rate(self, theta: torch.Tensor, base: float = 1.0) -> torch.Tensor | float:
        """Per-parameter learning rates ``base * exp(theta)`` from the ``log_lr`` groups
        (parameters not covered keep ``base``); ``base`` itself when there are none."""
        names = self.of_kind("log_lr")
        if not names:
            return base
        log_rate = sum(self.expand(n, theta) for n in names)
        return base * torch.exp(log_rate)

    def scale(self, theta: torch.Tensor) -> torch.Tensor | None:
        """``e^s`` per parameter from the ``log_scale`` groups (``w = e^s * z``), or None."""
        names = self.of_kind("log_scale")
        if not names:
            return None
        return torch.exp(sum(self.expand(n, theta) for n in names))

    def describe(self) -> str:
        rows = [f"{n}: {g.kind}, {g.granularity}, {g.size} values, init {g.init}"
                for n, g in self.groups.items()]
        return f"HyperSpace({self.size} hyperparameters)\n  " + "\n  ".join(rows)
