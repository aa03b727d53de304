"""Seeded splits: :class:`Splits`, the train / validation / test tensors every image or table
loader returns, and the checks of the split sizes asked for."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Splits:
    """Train / validation / test tensors of one dataset; ``x`` float, ``y`` int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    name: str

    def to(self, device=None, dtype=None) -> "Splits":
        """Move every tensor to ``device``; cast the inputs (not the labels) to ``dtype``."""
        def mv(x, is_input):
            x = x.to(device) if device is not None else x
            return x.to(dtype) if (dtype is not None and is_input and x.is_floating_point()) else x
        return Splits(mv(self.x_train, True), mv(self.y_train, False), mv(self.x_val, True),
                      mv(self.y_val, False), mv(self.x_test, True), mv(self.y_test, False),
                      self.num_classes, self.name)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input (the training tensor's shape without the batch dimension)."""
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        """The number of examples of each split.

        Returns:
            dict[str, int]: ``train``, ``val`` and ``test`` counts.
        """
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def _permutation(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=gen)


def _check_sizes(available: int, wanted: int, what: str, name: str) -> None:
    if wanted < 0:
        raise ValueError(f"{what} size must be non-negative, got {wanted}")
    if wanted > available:
        raise ValueError(f"{name}: asked for {wanted} {what} examples but only {available} exist")


def check_split(share, name: str, where: str = "") -> None:
    """Refuse a split size that is neither a share in [0, 1) nor a whole count of examples."""
    if (isinstance(share, bool) or not isinstance(share, (int, float)) or not share >= 0
            or (share >= 1 and share != int(share))):
        raise ValueError(f"{where}{name} must be a share in [0, 1) or a whole count of examples, "
                         f"got {share!r}")


def _split_count(share, n: int, name: str, spec: str) -> int:
    """A split's size from a share in [0, 1) or a whole count >= 1."""
    check_split(share, name, f"dataset '{spec}': ")
    return int(round(share * n)) if share < 1 else int(share)
