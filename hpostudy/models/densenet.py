"""DenseNet (Huang et al. 2017) as in the thesis' benchmark (section 3.2): depth 40, 16 feature
maps in the first convolution, growth rate 12, 3 dense blocks, dropout.

Each dense layer is BN-ReLU-Conv3x3(growth)-Dropout and its output is concatenated to its
input; a transition is BN-ReLU-Conv1x1-Dropout-AvgPool2; the head is BN-ReLU-global average
pooling-fully connected. Depth ``L`` gives ``(L - 4) / 3`` layers per block (12 for L = 40,
about 1.0 million parameters).
"""
from __future__ import annotations

import torch
from torch import nn

from .flat import init_like_glorot


class _DenseLayer(nn.Module):
    def __init__(self, channels: int, growth: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(),
                                  nn.Conv2d(channels, growth, 3, padding=1, bias=False),
                                  nn.Dropout(dropout))

    def forward(self, x):
        return torch.cat([x, self.body(x)], dim=1)


def _transition(channels: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(),
                         nn.Conv2d(channels, channels, 1, bias=False), nn.Dropout(dropout),
                         nn.AvgPool2d(2))


class DenseNet(nn.Module):
    """``DenseNet(depth=40, growth=12, first=16, blocks=3, dropout=0.2)`` for 32x32 inputs (or
    any size divisible by ``2**(blocks-1)``); ``seed`` fixes the initialization."""

    def __init__(self, depth: int = 40, growth: int = 12, first: int = 16, blocks: int = 3,
                 dropout: float = 0.2, in_channels: int = 3, num_classes: int = 10,
                 seed: int = 0):
        super().__init__()
        if (depth - 4) % blocks or depth <= 4:
            raise ValueError(f"depth - 4 must be a positive multiple of blocks ({blocks}), got {depth}")
        per_block = (depth - 4) // blocks
        layers: list[nn.Module] = [nn.Conv2d(in_channels, first, 3, padding=1, bias=False)]
        channels = first
        for b in range(blocks):
            for _ in range(per_block):
                layers.append(_DenseLayer(channels, growth, dropout))
                channels += growth
            if b < blocks - 1:
                layers.append(_transition(channels, dropout))
        layers += [nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                   nn.Linear(channels, num_classes)]
        self.net = nn.Sequential(*layers)
        init_like_glorot(self, torch.Generator().manual_seed(seed))
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.weight.fill_(1.0)
                    m.bias.zero_()

    def forward(self, x):
        """The logits of a batch of images.

        Args:
            x: images, (batch, channels, height, width).

        Returns:
            torch.Tensor: one score per class.
        """
        return self.net(x)
