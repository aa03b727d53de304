"""The compact best-response approximation of Self-Tuning Networks (MacKay et al. 2019,
slides "Compact best-response approximation"):

    W(lambda) = W_elem + (V lambda) (row-wise) W_hyper,    b(lambda) = b_elem + (C lambda) * b_hyper

computed on pre-activations, ``W(lambda) x + b(lambda) = [W_elem x + b_elem] +
[(V lambda) * (W_hyper x) + (C lambda) * b_hyper]``, so every example of a mini-batch can carry
its own hyperparameters. ``V`` and ``C`` start at zero: a fresh layer computes exactly what the
plain layer computes. Called with ``hyper=None`` a layer *is* the plain layer (its elementary
weights only): that is how the black-box baselines train the same architecture.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class _HyperScalars(nn.Module):
    """``V lambda`` and ``C lambda`` for every output unit, from per-example hyperparameters."""

    def __init__(self, n_hyper: int, out_units: int):
        super().__init__()
        self.to_scalars = nn.Linear(n_hyper, 2 * out_units, bias=False)
        nn.init.zeros_(self.to_scalars.weight)
        self.out_units = out_units

    def scalars(self, hyper: torch.Tensor):
        s = self.to_scalars(hyper)
        return s[:, :self.out_units], s[:, self.out_units:]


class HyperLinear(_HyperScalars):
    """Drop-in ``nn.Linear`` taking per-example hyperparameters ``hyper`` of shape (batch, n)."""

    def __init__(self, in_features: int, out_features: int, n_hyper: int):
        super().__init__(n_hyper, out_features)
        self.elem = nn.Linear(in_features, out_features)
        self.hyper_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.hyper_bias = nn.Parameter(torch.empty(out_features))
        nn.init.kaiming_uniform_(self.hyper_weight, a=math.sqrt(5))
        nn.init.uniform_(self.hyper_bias, -1 / math.sqrt(in_features), 1 / math.sqrt(in_features))

    def forward(self, x: torch.Tensor, hyper: torch.Tensor | None) -> torch.Tensor:
        """The layer on a mini-batch: ``W_elem x + b_elem + (V lambda) * (W_hyper x) +
        (C lambda) * b_hyper`` (module docstring), or the plain layer when ``hyper`` is None.

        Args:
            x: inputs, (batch, in_features).
            hyper: per-example hyperparameters, (batch, n), or None.

        Returns:
            torch.Tensor: outputs, (batch, out_features).
        """
        if hyper is None:
            return self.elem(x)
        w_scale, b_scale = self.scalars(hyper)
        return (self.elem(x) + w_scale * F.linear(x, self.hyper_weight)
                + b_scale * self.hyper_bias)


class HyperConv2d(_HyperScalars):
    """Drop-in ``nn.Conv2d`` with the same correction per output channel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_hyper: int,
                 padding: int = 0, stride: int = 1):
        super().__init__(n_hyper, out_channels)
        self.elem = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding)
        self.hyper = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                               padding=padding)

    def forward(self, x: torch.Tensor, hyper: torch.Tensor | None) -> torch.Tensor:
        """The convolution on a mini-batch, with the per-channel corrections of the compact
        best-response approximation (module docstring), or the plain convolution when ``hyper`` is
        None.

        Args:
            x: images, (batch, channels, height, width).
            hyper: per-example hyperparameters, (batch, n), or None.

        Returns:
            torch.Tensor: the feature maps.
        """
        if hyper is None:
            return self.elem(x)
        w_scale, b_scale = self.scalars(hyper)
        w_scale, b_scale = w_scale[:, :, None, None], b_scale[:, :, None, None]
        correction = F.conv2d(x, self.hyper.weight, None, self.hyper.stride, self.hyper.padding)
        return self.elem(x) + w_scale * correction + b_scale * self.hyper.bias[:, None, None]


def dropout(x: torch.Tensor, rate: torch.Tensor | None, shape: tuple[int, ...] | None = None):
    """Inverted dropout with one rate per example (``rate`` of shape (batch,)); ``shape`` is
    the mask's shape when it is shared, e.g. (batch, 1, features) for the same mask at every
    time step. ``rate=None`` (evaluation) leaves ``x`` unchanged."""
    if rate is None:
        return x
    shape = shape or x.shape
    keep = (1 - rate.detach()).reshape(-1, *([1] * (len(shape) - 1)))
    mask = torch.bernoulli(keep.expand(shape))
    return x * mask / keep


class HyperLSTM(nn.Module):
    """One LSTM layer built from :class:`HyperLinear` gates, with DropConnect on the
    hidden-to-hidden weights (a mask per example, drawn once per sequence; Merity et al.'s
    weight drop)."""

    def __init__(self, input_size: int, hidden_size: int, n_hyper: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.input_gates = HyperLinear(input_size, 4 * hidden_size, n_hyper)
        self.hidden_gates = HyperLinear(hidden_size, 4 * hidden_size, n_hyper)

    def forward(self, x: torch.Tensor, hyper: torch.Tensor | None, dropconnect=None):
        """``x``: (batch, time, input). Returns the outputs (batch, time, hidden).
        ``hyper=None``: the plain LSTM (elementary weights only)."""
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size)
        c = x.new_zeros(batch, self.hidden_size)
        per_token = None if hyper is None else hyper.repeat_interleave(steps, 0)
        pre = self.input_gates(x.reshape(batch * steps, -1), per_token).reshape(batch, steps, -1)
        weight = self.hidden_gates.elem.weight
        if dropconnect is not None:  # a dropped copy of W_hh per example
            keep = (1 - dropconnect.detach())[:, None, None]
            weight = weight * torch.bernoulli(keep.expand(batch, *weight.shape)) / keep
        scalars = None if hyper is None else self.hidden_gates.scalars(hyper)
        outputs = []
        for t in range(steps):
            recurrent = (torch.einsum("bij,bj->bi", weight, h) if weight.dim() == 3
                         else F.linear(h, weight))
            gates = pre[:, t] + recurrent + self.hidden_gates.elem.bias
            if scalars is not None:
                w_scale, b_scale = scalars
                gates = (gates + w_scale * F.linear(h, self.hidden_gates.hyper_weight)
                         + b_scale * self.hidden_gates.hyper_bias)
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1)
