"""Data augmentation with one strength per example, the STN's augmentation hyperparameters
(MacKay et al. 2019, CNN experiment): continuous colour jitter (brightness, contrast,
saturation, hue) and discrete cutout (number of holes, hole length).

Images are the normalized tensors the loaders return, so the jitters act on normalized values:
brightness shifts, contrast scales around the image mean, saturation blends with the per-pixel
grey level, hue rotates the chroma plane of YIQ. Saturation and hue need three channels and are
skipped on greyscale images. Amounts are strengths: an example with contrast amount ``a`` gets
a factor drawn uniformly from ``[1 - a, 1 + a]``.
"""
from __future__ import annotations

import math

import torch

# RGB -> YIQ; the hue rotation turns the (I, Q) plane.
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _uniform(amount: torch.Tensor, shape) -> torch.Tensor:
    """``U(-a, a)`` per example, broadcastable to images."""
    u = (2 * torch.rand(amount.shape, device=amount.device) - 1) * amount
    return u.reshape(-1, *([1] * (len(shape) - 1)))


def brightness(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Brightness jitter: add one offset drawn from ``U(-a, a)`` per example.

    Args:
        x: images, (batch, channels, height, width).
        amount: the strength ``a`` per example, (batch,).

    Returns:
        torch.Tensor: the jittered images.
    """
    return x + _uniform(amount, x.shape)


def contrast(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Contrast jitter: scale every example's deviation from its mean by ``1 + U(-a, a)``
    (at least 0).

    Args:
        x: images, (batch, channels, height, width).
        amount: the strength ``a`` per example, (batch,).

    Returns:
        torch.Tensor: the jittered images.
    """
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (1 + _uniform(amount, x.shape)).clamp(min=0) * (x - mean)


def saturation(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Saturation jitter: scale every pixel's deviation from its grey value (the channel mean)
    by ``1 + U(-a, a)`` (at least 0).

    Args:
        x: images, (batch, channels, height, width).
        amount: the strength ``a`` per example, (batch,).

    Returns:
        torch.Tensor: the jittered images.
    """
    grey = x.mean(dim=1, keepdim=True)
    return grey + (1 + _uniform(amount, x.shape)).clamp(min=0) * (x - grey)


def hue(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Hue jitter: rotate the (I, Q) plane of the YIQ colours by an angle ``2 pi U(-a, a)``
    per example.

    Args:
        x: RGB images, (batch, channels, height, width).
        amount: the strength ``a`` per example, (batch,).

    Returns:
        torch.Tensor: the jittered images.
    """
    yiq = torch.einsum("ij,bjhw->bihw", _YIQ.to(x), x)
    angle = _uniform(amount, x.shape)[:, 0] * 2 * math.pi  # (batch, 1, 1)
    cos, sin = angle.cos(), angle.sin()
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_YIQ).to(x), yiq)


def cutout(x: torch.Tensor, holes: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Zero ``holes[b]`` squares of side ``length[b]`` at uniform random centres in image b
    (both rounded to integers here: the discrete hyperparameters)."""
    batch, _, height, width = x.shape
    holes, length = holes.detach().round().long(), length.detach().round()
    most = int(holes.max()) if batch else 0
    if most <= 0:
        return x
    cy = torch.randint(height, (batch, most), device=x.device)[:, :, None, None]
    cx = torch.randint(width, (batch, most), device=x.device)[:, :, None, None]
    rows = torch.arange(height, device=x.device)[None, None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, None, :]
    half = (length / 2)[:, None, None, None]
    inside = ((rows - cy).abs() < half) & ((cols - cx).abs() < half)
    active = (torch.arange(most, device=x.device)[None, :] < holes[:, None])[:, :, None, None]
    covered = (inside & active).any(dim=1, keepdim=True)
    return x.masked_fill(covered, 0.0)


CONTINUOUS = {"brightness": brightness, "contrast": contrast, "saturation": saturation,
              "hue": hue}
COLOUR_ONLY = ("saturation", "hue")


def augment(x: torch.Tensor, values: dict[str, torch.Tensor]) -> torch.Tensor:
    """Apply every augmentation whose hyperparameter is in ``values`` (per-example tensors)."""
    for name, transform in CONTINUOUS.items():
        if name in values and not (name in COLOUR_ONLY and x.shape[1] != 3):
            x = transform(x, values[name].detach())
    if "cutout_holes" in values:
        x = cutout(x, values["cutout_holes"], values["cutout_length"])
    return x
