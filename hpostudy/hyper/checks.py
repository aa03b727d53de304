"""The check of a hyperparameter vector: a finite 1-D floating-point tensor of the right size,
with its bad entries named."""
from __future__ import annotations

import torch

def check_vector(theta, size: int | None, entry_name=lambda i: f"theta[{i}]",
                 finite: bool = True) -> None:
    """Check that ``theta`` is a (finite) 1-D floating-point tensor of ``size`` elements.

    Args:
        theta: the hyperparameters.
        size: the expected number of elements (None: any).
        entry_name: names entry ``i`` in messages.
        finite: also require finite entries.

    Raises:
        TypeError: not a floating-point tensor.
        ValueError: another shape, or non-finite entries (named), with what was expected.
    """
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"hyperparameters must be a torch.Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise TypeError(f"hyperparameters must be a floating-point tensor, got {theta.dtype}")
    expected = "(m,)" if size is None else f"({size},)"
    if theta.dim() != 1 or (size is not None and theta.numel() != size):
        raise ValueError(f"hyperparameters of shape {tuple(theta.shape)} do not fit: expected "
                         f"a vector of shape {expected}")
    bad = (~torch.isfinite(theta)).nonzero().flatten().tolist() if finite else []
    if bad:
        shown = ", ".join(f"{entry_name(i)} = {float(theta[i])}" for i in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"hyperparameters must be finite: {len(bad)} of {theta.numel()} are "
                         f"not ({shown}{more})")
