"""Multilayer perceptron (thesis section 3.1: fully connected layers of 50, 50, 50, 10 units)."""
from __future__ import annotations

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
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        init_like_glorot(self, torch.Generator().manual_seed(seed))

    def forward(self, x):
        return super().forward(x.flatten(1))
