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

Penalties and expansions work tensor by tensor: a group's values for one parameter tensor are
broadcast along its unit dimension (dim 0) or over the whole tensor, never gathered element by
element, so the penalty of a layer costs one pass over its weights.
"""
from __future__ import annotations

import math
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
    # filled in by HyperSpace: the group's size and, per covered tensor, where its values lie
    size: int = field(default=0, init=False)
    blocks: list["Block"] = field(default_factory=list, init=False, repr=False)
    layer_of: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"group '{self.name}': unknown kind '{self.kind}', choose one of {KINDS}")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"group '{self.name}': unknown granularity '{self.granularity}', "
                             f"choose one of {GRANULARITIES}")
        if len(self.bounds) != 2 or not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"group '{self.name}': bounds must be (low, high) with low < high, "
                             f"got {self.bounds}")
        if not math.isfinite(self.init):
            raise ValueError(f"group '{self.name}': init must be a finite number, got {self.init}")
        lo, hi = self.bounds
        if not lo <= self.init <= hi:
            raise ValueError(f"group '{self.name}': init {self.init} outside bounds {self.bounds}")
        if self.params is not None:
            if isinstance(self.params, str):
                raise ValueError(f"group '{self.name}': params must be a list of parameter "
                                 f"names, got the string '{self.params}'")
            repeated = sorted({p for p in self.params if list(self.params).count(p) > 1})
            if repeated:
                raise ValueError(f"group '{self.name}': parameters listed twice: {repeated}")


@dataclass(frozen=True)
class Block:
    """The values ``[start, start + count)`` of a group cover parameter tensor ``index`` of the
    model (named ``name``, shape ``shape``) with the group's granularity."""

    index: int
    name: str
    shape: tuple[int, ...]
    start: int
    count: int

    def broadcast(self, values: torch.Tensor, granularity: str) -> torch.Tensor:
        """This block's values shaped to broadcast against the parameter tensor."""
        part = values[self.start:self.start + self.count]
        if granularity == "parameter" or not self.shape:
            return part.view(self.shape)
        if granularity == "unit":
            return part.view((self.count,) + (1,) * (len(self.shape) - 1))
        return part.view((1,) * len(self.shape))  # layer, scalar: one value for the tensor


class HyperSpace:
    """The hyperparameters of a run: groups laid out one after another in a flat ``theta``."""

    def __init__(self, model: FlatModel, groups: list[Group]):
        if not groups:
            raise ValueError("a hyperparameter space needs at least one group")
        for g in groups:
            if not isinstance(g, Group):
                raise TypeError(f"groups must be hpostudy.hyper.Group objects, got {type(g).__name__}")
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
        self._check_overlaps()

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
        covered = self._covered(g)
        if not covered:
            raise ValueError(f"group '{g.name}' covers no parameter of the model (an L2 group "
                             "leaves biases out unless include_bias=True)")
        blocks, layer_of, count = [], [], 0
        for name in covered:
            i = self.model.names.index(name)
            shape, numel = self.model.shapes[i], self.model.numels[i]
            if g.granularity == "parameter":
                n_new = numel
            elif g.granularity == "unit":
                n_new = shape[0] if shape else 1
            elif g.granularity == "layer":
                n_new = 1
            else:  # scalar: every covered tensor uses hyperparameter 0
                n_new = int(count == 0)
            blocks.append(Block(i, name, shape, 0 if g.granularity == "scalar" else count,
                                max(n_new, 1) if g.granularity == "scalar" else n_new))
            layer_of += [name] * n_new
            count += n_new
        g.blocks, g.size, g.layer_of = blocks, count, layer_of

    def _check_overlaps(self) -> None:
        owner: dict[tuple[str, str], str] = {}
        for g in self.groups.values():
            family = "l2" if g.kind in ("log10_l2", "log_l2_z") else g.kind
            for b in g.blocks:
                key = (family, b.name)
                if key in owner:
                    raise ValueError(f"parameter '{b.name}' is covered by groups '{owner[key]}' "
                                     f"and '{g.name}' of the same kind: each parameter may have "
                                     "one hyperparameter of a kind")
                owner[key] = g.name

    # ------------------------------------------------------------------ values
    def init(self, dtype=torch.float64, device=None) -> torch.Tensor:
        """The initial ``theta`` (each group at its ``init`` value)."""
        if not dtype.is_floating_point:
            raise TypeError(f"hyperparameters must be floating point, got dtype {dtype}")
        theta = torch.empty(self.size, dtype=dtype, device=device)
        for name, g in self.groups.items():
            theta[self.offsets[name]] = g.init
        return theta

    def part(self, name: str, theta: torch.Tensor) -> torch.Tensor:
        """The values of group ``name`` in ``theta``."""
        return theta[self.offsets[self.group(name).name]]

    def group(self, name: str) -> Group:
        """The group called ``name`` (a clear error for an unknown name)."""
        if name not in self.groups:
            raise KeyError(f"no hyperparameter group '{name}': the groups are {list(self.groups)}")
        return self.groups[name]

    def check(self, theta: torch.Tensor) -> None:
        """Raise a ``ValueError`` unless ``theta`` is a finite floating-point vector of this
        space's size; the message names the expected and received shapes or the non-finite
        entries (group and index)."""
        check_vector(theta, self.size, self.entry_name)

    def entry_name(self, i: int) -> str:
        """``group[j]``: the group and position of entry ``i`` of ``theta``."""
        for name, sl in self.offsets.items():
            if sl.start <= i < sl.stop:
                return f"{name}[{i - sl.start}]"
        raise IndexError(i)

    def expand(self, name: str, theta: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Group ``name`` as a per-parameter vector (``fill`` where not covered)."""
        g = self.group(name)
        values = self.part(name, theta)
        by_tensor = {b.index: b for b in g.blocks}
        pieces = []
        for i, (shape, numel) in enumerate(zip(self.model.shapes, self.model.numels)):
            if i in by_tensor:
                pieces.append(by_tensor[i].broadcast(values, g.granularity).expand(shape).reshape(-1))
            else:
                pieces.append(theta.new_full((numel,), fill))
        return torch.cat(pieces)

    def clip(self, theta: torch.Tensor) -> torch.Tensor:
        """Project ``theta`` onto the groups' box constraints."""
        check_vector(theta, self.size, self.entry_name, finite=False)
        out = theta.clone()
        for name, g in self.groups.items():
            lo, hi = g.bounds
            out[self.offsets[name]] = out[self.offsets[name]].clamp(lo, hi)
        return out

    def layers(self, name: str) -> list[str]:
        """For each hyperparameter of group ``name``, the parameter tensor it belongs to."""
        return self.group(name).layer_of

    # ------------------------------------------------------------------ penalties and rates
    def l2_penalty(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """:math:`\\sum_j 10^{\\theta_j} w_j^2` over every ``log10_l2`` group (and
        :math:`e^{\\lambda_j} z_j^2` over every ``log_l2_z`` group) for flat weights ``w``."""
        return self.penalty(list(self.model.unflatten(w).values()), theta)

    def penalty(self, params: list[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
        """:meth:`l2_penalty` for the parameter tensors ``params`` (in the model's order)."""
        total = params[0].new_zeros(())
        for name, g in self.groups.items():
            if g.kind == "log10_l2":
                coef = torch.pow(10.0, self.part(name, theta))
            elif g.kind == "log_l2_z":
                coef = torch.exp(self.part(name, theta))
            else:
                continue
            coef = coef.to(params[0].dtype)
            for b in g.blocks:
                p = params[b.index]
                if g.granularity == "unit" and p.dim() >= 1:
                    squares = p.square().reshape(b.count, -1).sum(1)
                    total = total + torch.dot(coef[b.start:b.start + b.count], squares)
                elif g.granularity == "parameter":
                    total = total + (b.broadcast(coef, g.granularity) * p.square()).sum()
                else:
                    total = total + coef[b.start] * p.square().sum()
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
        """Every group: its kind and what theta means on that scale, which entries of theta
        cover which parameter tensors, and the tensors it leaves out (biases of L2 groups)."""
        rows = []
        for n, g in self.groups.items():
            rows.append(f"{n}: {g.kind}, {g.granularity}, {g.size} values, init {g.init}")
            rows.append(f"  {MEANING[g.kind]}")
            start, per = self.offsets[n].start, PER[g.granularity]
            if g.granularity == "scalar":
                rows.append(f"  theta[{start}] {', '.join(b.name for b in g.blocks)}")
            for b in g.blocks if g.granularity != "scalar" else []:
                if b.count == 1:
                    rows.append(f"  theta[{start + b.start}] {b.name}")
                else:
                    rows.append(f"  theta[{start + b.start}:{start + b.start + b.count}] "
                                f"{b.name} ({per})")
            covered = {b.name for b in g.blocks}
            left = [name for name in self.model.names if name not in covered]
            if left and g.kind in ("log10_l2", "log_l2_z"):
                rows.append(f"  not penalized: {', '.join(left)}"
                            + ("" if g.include_bias else " (include_bias=True covers biases)"))
        return f"HyperSpace({self.size} hyperparameters)\n  " + "\n  ".join(rows)


MEANING = {
    "log10_l2": "penalty sum_j 10**theta_j * w_j**2: theta is log10 of the L2 coefficient "
                "(PyTorch's weight_decay would be 2 * 10**theta)",
    "log_lr": "learning rate of these parameters: base * exp(theta)",
    "log_scale": "reparametrization w = exp(theta) * z, z trained (thesis section 3.1)",
    "log_l2_z": "penalty sum_j exp(theta_j) * z_j**2 on the reparametrized z",
}
PER = {"parameter": "one per element", "unit": "one per output unit", "layer": "",
       "scalar": ""}


def check_vector(theta, size: int | None, entry_name=lambda i: f"theta[{i}]",
                 finite: bool = True) -> None:
    """Raise a ``ValueError`` unless ``theta`` is a (finite) 1-D floating-point tensor of
    ``size`` elements (any size when ``size`` is None), naming what was expected and what came."""
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"hyperparameters must be a torch.Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise TypeError(f"hyperparameters must be a floating-point tensor, got {theta.dtype}")
    expected = "(m,)" if size is None else f"({size},)"
    if theta.dim() != 1 or (size is not None and theta.numel() != size):
        raise ValueError(f"hyperparameters of shape {tuple(theta.shape)} do not fit: expected "
                         f"a vector of shape {expected}")
    bad = (~torch.isfinite(theta)).nonzero().flatten().tolist() if finite else []
    if bad:
        shown = ", ".join(f"{entry_name(i)} = {float(theta[i])}" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"hyperparameters must be finite: {len(bad)} of {theta.numel()} are "
                         f"not ({shown}{more})")
