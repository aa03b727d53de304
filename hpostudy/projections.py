"""Exact Euclidean projections onto the convex sets that constrain hyperparameters.

Franceschi et al. (2017, section 4) optimize the hyperparameters of their multi-task model by
*projected* Adam: after each step the hyperparameters are mapped to the nearest point of the
feasible set. The sets they use, and their projections :math:`\\Pi_C(x) = \\arg\\min_{y \\in C}
\\|y - x\\|_2`:

* the nonnegative orthant :math:`\\{y \\ge 0\\}` (:func:`nonnegative`, for :math:`\\rho \\ge 0`,
  :math:`A \\ge 0`);
* a box :math:`\\{l \\le y \\le u\\}` (:func:`box`, e.g. :math:`0 \\le \\mu \\le 1`);
* the capped simplex :math:`\\{y \\ge 0,\\ \\sum_i y_i \\le R\\}` (:func:`budget`);
* the symmetric matrices with nonnegative entries summing to at most :math:`R`,
  :math:`\\{A = A^\\top,\\ A \\ge 0,\\ \\sum_{j,k} A_{jk} \\le R\\}` (:func:`symmetric_budget`, the
  constraint of HMTL-S, :math:`R = 10^{-3}` in the paper).

Each is exact (no iterations, no tolerance): the tests compare them with a numerical solution of
the small quadratic program on random inputs.
"""
from __future__ import annotations

import torch


def _check_finite(x: torch.Tensor, projection: str) -> None:
    """Refuse a point with NaN or infinite entries: it has no nearest point in the set (a NaN
    passes through ``max``/``min`` unchanged, and the sort of :func:`budget` misplaces it)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{projection} projects a floating-point tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    bad = (~torch.isfinite(x)).nonzero()
    if len(bad):
        raise ValueError(f"{projection} got {len(bad)} NaN or infinite entries of {x.numel()} (the "
                         f"first at index {tuple(bad[0].tolist())}); the hyperparameters became "
                         "non-finite before the projection: lower the meta learning rate or look "
                         "for a NaN hypergradient")


def nonnegative(x: torch.Tensor) -> torch.Tensor:
    """:math:`\\Pi(x) = \\max(x, 0)` elementwise."""
    _check_finite(x, "nonnegative")
    return x.clamp_min(0.0)


def box(x: torch.Tensor, lower: float | torch.Tensor, upper: float | torch.Tensor) -> torch.Tensor:
    """:math:`\\Pi(x) = \\min(\\max(x, l), u)` elementwise (bounds: numbers or tensors like ``x``)."""
    _check_finite(x, "box")
    lower = torch.as_tensor(lower, dtype=x.dtype, device=x.device)
    upper = torch.as_tensor(upper, dtype=x.dtype, device=x.device)
    if bool(lower.isnan().any()) or bool(upper.isnan().any()):
        raise ValueError("a box needs numbers (or infinities) as bounds, got NaN")
    if bool((lower > upper).any()):
        raise ValueError("a box needs lower <= upper in every coordinate; got a lower bound above "
                         "its upper bound")
    return torch.maximum(torch.minimum(x, upper), lower)


def budget(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Projection of the vector ``x`` onto :math:`\\{y \\ge 0,\\ \\sum_i y_i \\le R\\}`.

    If :math:`\\max(x, 0)` already sums to at most :math:`R` it is the answer (the projection onto
    the larger orthant lies in the set). Otherwise the sum constraint is active and the answer is
    :math:`\\max(x - \\tau, 0)` with the threshold :math:`\\tau > 0` that makes the sum equal
    :math:`R`, found from the sorted entries (Held, Wolfe & Crowder 1974; Duchi et al. 2008).
    """
    if not radius >= 0:
        raise ValueError(f"the budget R must be non-negative, got {radius}")
    _check_finite(x, "budget")
    if x.dim() != 1:
        raise ValueError(f"budget projects a vector, got shape {tuple(x.shape)}")
    positive = x.clamp_min(0.0)
    if float(positive.sum()) <= radius:
        return positive
    if radius == 0:
        return torch.zeros_like(x)
    u = torch.sort(x, descending=True).values
    cumulative = torch.cumsum(u, 0)
    ranks = torch.arange(1, len(u) + 1, dtype=x.dtype, device=x.device)
    support = int((u - (cumulative - radius) / ranks > 0).nonzero().max()) + 1
    tau = (cumulative[support - 1] - radius) / support
    return (x - tau).clamp_min(0.0)


def symmetric_budget(M: torch.Tensor, radius: float) -> torch.Tensor:
    """Projection of the square matrix ``M`` (Frobenius norm) onto
    :math:`\\{A = A^\\top,\\ A \\ge 0,\\ \\sum_{j,k} A_{jk} \\le R\\}`.

    The set lies in the subspace of symmetric matrices, so the projection is that of the
    symmetric part :math:`S = (M + M^\\top)/2` (Pythagoras). For :math:`S` the optimality
    conditions give :math:`A = \\max(S - \\tau, 0)` with one threshold for all entries, which is
    :func:`budget` applied to the entries of :math:`S`; the result is symmetric, and a zero
    diagonal stays zero (:math:`\\tau \\ge 0`), so the same function projects onto the matrices
    with zero diagonal when ``M`` has one.
    """
    _check_finite(M, "symmetric_budget")
    if M.dim() != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"symmetric_budget projects a square matrix, got shape {tuple(M.shape)}")
    S = 0.5 * (M + M.T)
    return budget(S.reshape(-1), radius).reshape(S.shape)
