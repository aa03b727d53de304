"""Multilayer perceptron (thesis section 3.1: fully connected layers of 50, 50, 50, 10 units)."""
from __future__ import annotations

import numbers

import torch
from torch import nn

from .flat import init_like_glorot

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "softplus": nn.Softplus}


class MLP(nn.Sequential):
    """``in_features -> hidden... -> out_features`` with an activation between layers.

    ``seed`` makes the initialization reproducible (every meta-iteration starts from it).
    """

    def __init__(self, in_features: int, hidden=(50, 50, 50), out_features: int = 10,
                 activation: str = "tanh", seed: int = 0):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}': choose one of {sorted(_ACTIVATIONS)}")
        sizes = [in_features, *hidden, out_features]
        if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1 for n in sizes):
            raise ValueError(f"an MLP needs positive integer layer sizes, got in_features="
                             f"{in_features!r}, hidden={tuple(hidden)!r}, out_features="
                             f"{out_features!r}")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        init_like_glorot(self, torch.Generator().manual_seed(seed))

    def forward(self, x):
        """The logits of a batch, each example flattened first.

        Args:
            x: inputs, (batch, ...).

        Returns:
            torch.Tensor: one score per class.
        """
        return super().forward(x.flatten(1))


class SharedTrunkMLP(nn.Module):
    """Two feed-forward networks that share their first layers (Franceschi et al. 2017, section
    4: a primary classifier and a secondary regressor with partially shared parameters).

    ``shared`` hidden layers of ``hidden`` units are common; each network then has ``own``
    hidden layers of its own and its output layer, so each network has ``shared + own + 1``
    layers of weights (5 with the defaults, as the paper's). ``forward`` returns the primary
    logits and the secondary prediction.
    """

    def __init__(self, in_features: int, classes: int, targets: int, hidden: int = 100,
                 shared: int = 3, own: int = 1, activation: str = "tanh", seed: int = 0):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}': choose one of {sorted(_ACTIVATIONS)}")
        super().__init__()
        act = _ACTIVATIONS[activation]

        def stack(n_in: int, depth: int) -> list[nn.Module]:
            layers: list[nn.Module] = []
            for i in range(depth):
                layers += [nn.Linear(n_in if i == 0 else hidden, hidden), act()]
            return layers

        self.trunk = nn.Sequential(*stack(in_features, shared))
        self.primary = nn.Sequential(*stack(hidden, own), nn.Linear(hidden, classes))
        self.secondary = nn.Sequential(*stack(hidden, own), nn.Linear(hidden, targets))
        init_like_glorot(self, torch.Generator().manual_seed(seed))

    def forward(self, x):
        """Both heads on the shared trunk's features.

        Args:
            x: inputs, (batch, ...), flattened first.

        Returns:
            tuple: the primary classifier's logits and the secondary regressor's outputs.
        """
        z = self.trunk(x.flatten(1))
        return self.primary(z), self.secondary(z)
