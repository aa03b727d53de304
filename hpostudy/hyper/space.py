r"""The hyperparameter space: groups laid out one after another in a flat ``theta``.

:class:`HyperSpace` lays its :class:`~hpostudy.hyper.Group` objects over the parameter tensors
of a :class:`~hpostudy.models.FlatModel` and reads ``theta`` through them: each group's values
(``part``), expanded to one value per parameter (``expand``), clipped to the groups' boxes
(``clip``), as the L2 penalty of thesis section 3.2 and the :math:`e^{\lambda}\|z\|^2` penalty of
section 3.1 (``l2_penalty``, ``penalty``), per-parameter learning rates (``learning_rate``) and
the scales of the reparametrization :math:`w = e^s \odot z` (``scale``), and described for
reading (``describe``).
"""
from __future__ import annotations

import torch

from ..models.flat import FlatModel
from .checks import check_vector
from .description import MEANING, PER
from .groups import Block, Group

class HyperSpace:
    """The hyperparameters of a run: groups laid out one after another in a flat ``theta``.

    Args:
        model: the model whose parameters the groups cover.
        groups: the groups, in the order of ``theta``.

    Raises:
        ValueError: no group, duplicate names, a group covering no or unknown parameters, or two
            groups of the same kind covering one parameter.
        TypeError: a group that is not a :class:`Group`.
    """

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
        """The initial ``theta``, each group at its ``init`` value.

        Args:
            dtype: a floating-point dtype.
            device: the device (default: the CPU).

        Returns:
            torch.Tensor: ``theta``, of shape ``(size,)``.

        Raises:
            TypeError: a dtype that is not floating point.
        """
        if not dtype.is_floating_point:
            raise TypeError(f"hyperparameters must be floating point, got dtype {dtype}")
        theta = torch.empty(self.size, dtype=dtype, device=device)
        for name, g in self.groups.items():
            theta[self.offsets[name]] = g.init
        return theta

    def part(self, name: str, theta: torch.Tensor) -> torch.Tensor:
        """The values of one group in ``theta``.

        Args:
            name: the group's name.
            theta: the hyperparameters.

        Returns:
            torch.Tensor: a view of the group's entries.
        """
        return theta[self.offsets[self.group(name).name]]

    def group(self, name: str) -> Group:
        """The group called ``name``.

        Args:
            name: the group's name.

        Returns:
            Group: the group.

        Raises:
            KeyError: an unknown name, with the groups there are.
        """
        if name not in self.groups:
            raise KeyError(f"no hyperparameter group '{name}': the groups are {list(self.groups)}")
        return self.groups[name]

    def check(self, theta: torch.Tensor) -> None:
        """Check that ``theta`` is a finite floating-point vector of this space's size.

        Args:
            theta: the hyperparameters.

        Raises:
            ValueError: another shape, or non-finite entries (named by group and index).
            TypeError: not a floating-point tensor.
        """
        check_vector(theta, self.size, self.entry_name)

    def entry_name(self, i: int) -> str:
        """The group and position of entry ``i`` of ``theta``.

        Args:
            i: an index into ``theta``.

        Returns:
            str: ``"group[j]"``.

        Raises:
            IndexError: ``i`` outside ``theta``.
        """
        for name, sl in self.offsets.items():
            if sl.start <= i < sl.stop:
                return f"{name}[{i - sl.start}]"
        raise IndexError(i)

    def expand(self, name: str, theta: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """Group ``name`` as a per-parameter vector, differentiable in ``theta``.

        Args:
            name: the group's name.
            theta: the hyperparameters.
            fill: the value where the group does not cover a parameter.

        Returns:
            torch.Tensor: a flat vector of the model's parameter count.
        """
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
        """Project ``theta`` onto the groups' box constraints (their ``bounds``).

        Args:
            theta: the hyperparameters (non-finite entries allowed).

        Returns:
            torch.Tensor: a clipped copy.
        """
        check_vector(theta, self.size, self.entry_name, finite=False)
        out = theta.clone()
        for name, g in self.groups.items():
            lo, hi = g.bounds
            out[self.offsets[name]] = out[self.offsets[name]].clamp(lo, hi)
        return out

    def layers(self, name: str) -> list[str]:
        """For each hyperparameter of group ``name``, the parameter tensor it belongs to.

        Args:
            name: the group's name.

        Returns:
            list[str]: one tensor name per entry of the group.
        """
        return self.group(name).layer_of

    # ------------------------------------------------------------------ penalties and rates
    def l2_penalty(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        r"""The L2 penalty :math:`R(w, \theta)` of the flat weights ``w`` (thesis section 3.2).

        :math:`\sum_j 10^{\theta_j} w_j^2` over every ``log10_l2`` group, plus
        :math:`\sum_j e^{\lambda_j} z_j^2` over every ``log_l2_z`` group (section 3.1).

        Args:
            w: the flat weights.
            theta: the hyperparameters.

        Returns:
            torch.Tensor: the penalty, a scalar differentiable in ``w`` and ``theta``.
        """
        return self.penalty(list(self.model.unflatten(w).values()), theta)

    def penalty(self, params: list[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
        """:meth:`l2_penalty` for parameter tensors instead of flat weights.

        Args:
            params: the parameter tensors, in the model's order.
            theta: the hyperparameters.

        Returns:
            torch.Tensor: the penalty, a scalar.
        """
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
        """The groups of one kind.

        Args:
            kind: one of ``KINDS``.

        Returns:
            list[str]: their names, in order.
        """
        return [n for n, g in self.groups.items() if g.kind == kind]

    def learning_rate(self, theta: torch.Tensor, base: float = 1.0) -> torch.Tensor | float:
        r"""Per-parameter learning rates :math:`\text{base}\cdot e^{\theta}` from the ``log_lr``
        groups.

        Args:
            theta: the hyperparameters.
            base: the rate of parameters no ``log_lr`` group covers.

        Returns:
            torch.Tensor | float: one rate per parameter, or ``base`` itself when there is no
            ``log_lr`` group.
        """
        names = self.of_kind("log_lr")
        if not names:
            return base
        log_rate = sum(self.expand(n, theta) for n in names)
        return base * torch.exp(log_rate)

    def scale(self, theta: torch.Tensor) -> torch.Tensor | None:
        r"""The scales :math:`e^s` per parameter from the ``log_scale`` groups (:math:`w = e^s \odot
        z`, thesis section 3.1).

        Args:
            theta: the hyperparameters.

        Returns:
            torch.Tensor | None: the scales, or None when there is no ``log_scale`` group.
        """
        names = self.of_kind("log_scale")
        if not names:
            return None
        return torch.exp(sum(self.expand(n, theta) for n in names))

    def describe(self) -> str:
        """What every group means, for reading.

        Returns:
            str: per group its kind and what theta means on that scale, which entries of theta
            cover which parameter tensors, and the tensors it leaves out (biases of L2 groups).
        """
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
