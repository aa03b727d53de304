"""The small CNN of thesis section 2.1: conv-maxpool-conv-maxpool-dropout-FC-dropout-FC."""
from __future__ import annotations

import torch
from torch import nn

from .flat import init_like_glorot


class SmallCNN(nn.Module):
    """Two 5x5 (padded) convolutions with ReLU and 2x2 max-pooling, then dropout, a hidden
    fully connected layer, dropout and the output layer (dropout probability 0.5).

    ``in_shape`` is ``(channels, height, width)``: ``(3, 32, 32)`` for CIFAR-10 as in the
    thesis, ``(1, 8, 8)`` for the embedded digits.
    """

    def __init__(self, in_shape=(3, 32, 32), channels=(32, 32), hidden: int = 256,
                 num_classes: int = 10, dropout: float = 0.5, seed: int = 0):
        super().__init__()
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, channels[0], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels[0], channels[1], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = channels[1] * (h // 4) * (w // 4)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(flat, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )
        init_like_glorot(self, torch.Generator().manual_seed(seed))

    def forward(self, x):
        """The logits of a batch of images.

        Args:
            x: images, (batch, channels, height, width).

        Returns:
            torch.Tensor: one score per class.
        """
        return self.classifier(self.features(x).flatten(1))
