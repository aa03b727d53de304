"""Groups of hyperparameters: what a group is, and where its values lie for each parameter
tensor it covers.

A :class:`Group` names a block of hyperparameters with a *kind* (``KINDS``: the scale on which
they live) and a *granularity* (``GRANULARITIES``: how many values per covered tensor); a
:class:`Block` is where a group's values for one parameter tensor lie in the group, and
broadcasts them against that tensor. :class:`~hpostudy.hyper.HyperSpace` fills in both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

KINDS = ("log10_l2", "log_lr", "log_scale", "log_l2_z")
GRANULARITIES = ("parameter", "unit", "layer", "scalar")


@dataclass
class Group:
    r"""One named block of hyperparameters (kinds and granularities in the module docstring).

    Attributes:
        name: the group's name, unique in its space.
        kind: ``"log10_l2"`` (penalty :math:`\sum_j 10^{\theta_j} w_j^2`), ``"log_lr"``
            (learning rates :math:`e^\theta`), ``"log_scale"`` (:math:`w = e^s \odot z`) or
            ``"log_l2_z"`` (penalty :math:`e^{\lambda}\|z\|^2`).
        granularity: ``"parameter"``, ``"unit"``, ``"layer"`` or ``"scalar"``.
        init: the initial value of every entry.
        params: the names of the parameter tensors covered; None covers all (biases of L2 groups
            only with ``include_bias``).
        include_bias: let an L2 group cover biases.
        bounds: ``(low, high)``, the box that :meth:`HyperSpace.clip` projects onto.
        size: the number of entries (set by :class:`HyperSpace`).
        blocks: per covered tensor, where its values lie (set by :class:`HyperSpace`).
        layer_of: per entry, the tensor it belongs to (set by :class:`HyperSpace`).

    Raises:
        ValueError: an unknown kind or granularity, bounds not ``low < high``, an ``init`` not
            finite or outside the bounds, or ``params`` a string or with repeats.
    """

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
    """Where a group's values for one parameter tensor lie.

    The values ``[start, start + count)`` of a group cover parameter tensor ``index`` of the
    model with the group's granularity.

    Attributes:
        index: the tensor's position in the model.
        name: the tensor's name.
        shape: the tensor's shape.
        start: the first value in the group.
        count: the number of values.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    start: int
    count: int

    def broadcast(self, values: torch.Tensor, granularity: str) -> torch.Tensor:
        """This block's values shaped to broadcast against the parameter tensor.

        Args:
            values: the group's values.
            granularity: the group's granularity.

        Returns:
            torch.Tensor: the tensor's shape (``"parameter"``), ``(count, 1, ...)`` (``"unit"``) or
            all ones (``"layer"``, ``"scalar"``).
        """
        part = values[self.start:self.start + self.count]
        if granularity == "parameter" or not self.shape:
            return part.view(self.shape)
        if granularity == "unit":
            return part.view((self.count,) + (1,) * (len(self.shape) - 1))
        return part.view((1,) * len(self.shape))  # layer, scalar: one value for the tensor
