"""A module evaluated as a pure function of a flat parameter vector.

Hypergradient methods work on flat vectors: the weights ``w``, the velocity ``v`` and their
adjoints are each one 1-D tensor. :class:`FlatModel` maps such a vector onto the module's named
parameters with ``torch.func.functional_call``, so any ``nn.Module`` (dropout and batch norm
included) can be differentiated twice, replayed and reversed.
"""
from __future__ import annotations

import contextlib
import math

import torch
from torch import nn
from torch.func import functional_call


@contextlib.contextmanager
def seeded(seed: int, step: int, device: torch.device | str | None = None):
    """Run a block with the global RNG seeded by ``(seed, step)`` and restore it afterwards.

    Dropout masks drawn inside are a pure function of ``(seed, step)``: the reverse pass and
    the next meta-iteration redraw exactly the masks of the forward pass.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed((int(seed) * 1_000_003 + int(step)) % (2**63 - 1))
        yield


class FlatModel:
    """``module`` as a function ``(w, x) -> output`` of a flat parameter vector ``w``.

    Attributes: ``names``/``shapes``/``numels`` of the parameters in ``named_parameters`` order,
    ``offsets`` into the flat vector and ``size`` (the total number of parameters).
    """

    def __init__(self, module: nn.Module):
        if not isinstance(module, nn.Module):
            raise TypeError(f"FlatModel wraps a torch.nn.Module, got {type(module).__name__}")
        self.module = module
        params = list(module.named_parameters())
        self.names = [n for n, _ in params]
        self.shapes = [tuple(p.shape) for _, p in params]
        self.numels = [p.numel() for _, p in params]
        self.offsets = [0]
        for n in self.numels:
            self.offsets.append(self.offsets[-1] + n)
        self.size = self.offsets[-1]
        if self.size == 0:
            raise ValueError(f"{type(module).__name__} has no parameters to train")
        self.buffers = {n: b for n, b in module.named_buffers()}
        # tied weights (one tensor under two names) need functional_call's tie handling,
        # which costs a module walk per call: only pay it when the module has them
        self.tied = len(list(module.named_parameters(remove_duplicate=False))) > len(params)
        # PyTorch's fused attention kernels have no second derivative ("derivative for
        # aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"):
        # a module with attention layers runs them through the math kernel, which has one
        self.attention = any(isinstance(m, nn.MultiheadAttention) for m in module.modules())

    def initial(self, dtype=torch.float32, device=None) -> torch.Tensor:
        """The module's current parameters as one flat vector."""
        with torch.no_grad():
            flat = torch.cat([p.reshape(-1) for p in self.module.parameters()])
        return flat.to(dtype=dtype, device=device).clone()

    def unflatten(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parameters as views into ``w``, by name.

        One ``split`` (its backward is a single concatenation), not one slice per parameter:
        a slice's backward fills a full-size zero tensor and adds into it.
        """
        if w.shape != (self.size,):
            raise ValueError(f"expected a flat parameter vector of shape ({self.size},), "
                             f"got {tuple(w.shape)}")
        return {name: part.view(shape) for name, part, shape in
                zip(self.names, w.split(self.numels), self.shapes)}

    @property
    def has_batch_norm(self) -> bool:
        """Whether the module holds a batch-norm layer."""
        return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.module.modules())

    @torch.no_grad()
    def recompute_batch_norm(self, w: torch.Tensor, batches) -> None:
        """Set the batch-norm running statistics to the exact mean and variance over
        ``batches`` (an iterable of inputs) at weights ``w``, for evaluation.

        The functional training steps never update running statistics (they must not mutate
        anything a transform captures), so evaluation recomputes them here, once, from the same
        seeded training batches every time: the errors are a function of ``w`` alone.
        """
        norms = [m for m in self.module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in norms]
        was = self.module.training
        self.module.eval()  # dropout off: the statistics must not depend on random masks
        for m in norms:
            m.train()
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
        params = self.unflatten(w)
        for x in batches:
            functional_call(self.module, (params, self.buffers), (x,))
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        self.module.train(was)

    def to(self, device=None, dtype=None) -> "FlatModel":
        """Move the module (parameters and buffers) to ``device`` and ``dtype``, in place.

        Args:
            device: the target device (None: unchanged).
            dtype: the target dtype (None: unchanged).

        Returns:
            FlatModel: this model.
        """
        self.module.to(device=device, dtype=dtype)
        self.buffers = {n: b for n, b in self.module.named_buffers()}
        return self

    def __call__(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.call(self.unflatten(w), x)

    def call(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """The module at the parameters ``params`` (from :meth:`unflatten`) on input ``x``."""
        # Buffers are passed as clones so that batch-norm updates of running statistics never
        # mutate tensors captured by torch.func transforms.
        bufs = {n: b.clone() for n, b in self.buffers.items()}
        if self.attention:
            with math_attention():
                return functional_call(self.module, (params, bufs), (x,), tie_weights=self.tied)
        return functional_call(self.module, (params, bufs), (x,), tie_weights=self.tied)

    def __repr__(self) -> str:
        return f"FlatModel({type(self.module).__name__}, {self.size:,} parameters)"


def math_attention():
    """A context in which ``scaled_dot_product_attention`` uses its math kernel, the one
    PyTorch can differentiate twice (wrap a model's own attention calls in it)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(SDPBackend.MATH)


def init_like_glorot(module: nn.Module, generator: torch.Generator) -> None:
    """Seeded initialization: Glorot-uniform weights, zero biases (as in the Lasagne code)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() >= 2:
                fan_out = p.shape[0] * (p[0][0].numel() if p.dim() > 2 else 1)
                fan_in = p[0].numel()
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                p.copy_(torch.rand(p.shape, generator=generator) * 2 * bound - bound)
            elif name.endswith("bias"):
                p.zero_()
