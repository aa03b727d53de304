"""REVERSE-HO (Franceschi et al. 2017, Algorithm 2; thesis Algorithm 2): store the trajectory,
then run the adjoint recursion backwards.

With :math:`A_t = \\partial\\Phi_t/\\partial s_{t-1}` and :math:`B_t = \\partial\\Phi_t/\\partial\\theta`,

.. math::  \\alpha_T = \\nabla_s E(s_T),\\quad \\alpha_{t-1} = \\alpha_t A_t,\\quad
           d\\theta \\mathrel{+}= \\alpha_t B_t,

each step one vector-Jacobian product of :math:`\\Phi_t` (a Hessian-vector product of the training
loss inside), never ``create_graph`` through the whole loop. Works for any dynamics of
:mod:`hpostudy.dynamics`. With ``checkpoint_every=k`` only every k-th state is stored and each
segment is recomputed during the reverse pass: :math:`O(T/k + k)` memory (``k ~ sqrt(T)`` gives
:math:`O(\\sqrt{T})`) for one extra forward pass of time.
"""
from __future__ import annotations

import math

import torch
from torch.func import vjp

from ..dynamics import Problem, State
from .result import HypergradResult


def backpropagate(problem: Problem, dynamics, theta: torch.Tensor, states: list[State], t0: int,
                  ds: State, dtheta: torch.Tensor, norms: list[float] | None = None):
    """Run the adjoint recursion through the stored states ``states[i] = s_{t0+i}`` (the state
    *before* step ``t0+i``), from the adjoint ``ds`` of the state after the last one.

    Returns the adjoint of ``states[0]`` and the accumulated ``dtheta``; appends
    :math:`\\|d\\theta\\|` after each reverse step to ``norms`` if given.
    """
    for i in range(len(states) - 1, -1, -1):
        t = t0 + i

        def step(s, th, t=t):
            return dynamics.step(s, th, t, problem.grad)

        _, pullback = vjp(step, states[i], theta)
        ds, dth = pullback(ds)
        dtheta = dtheta + dth
        if norms is not None:
            norms.append(float(dtheta.norm()))
    return ds, dtheta


def reverse(problem: Problem, dynamics, theta: torch.Tensor, T: int,
            checkpoint_every: int | str | None = None, record_norms: bool = False,
            progress=None) -> HypergradResult:
    """Exact hypergradient by REVERSE-HO over ``T`` steps (see the module docstring).

    ``checkpoint_every``: None stores every state (two parameter vectors per step); an integer
    ``k`` stores every k-th state and recomputes segments; ``"sqrt"`` uses ``k = ceil(sqrt(T))``.
    ``record_norms``: diagnostics["accumulated_norm"][i] is the norm of the accumulated
    trajectory hypergradient after reverse step i (i = 0 is step t = T-1), as thesis Fig 3.4.
    """
    if T <= 0:
        raise ValueError(f"horizon T must be positive, got {T}")
    k = _segment(checkpoint_every, T)
    theta = theta.detach()
    checkpoints: dict[int, State] = {}
    state = dynamics.init(problem.w0)
    with torch.no_grad():
        for t in range(T):
            if t % k == 0:
                checkpoints[t] = state
            state = dynamics.step(state, theta, t, problem.grad)
            if progress is not None:
                progress.update(1)
    f, dw, dtheta_direct = problem.val_value_and_grads(state[0], theta)
    ds: State = (dw, torch.zeros_like(state[1]))
    dtheta = torch.zeros_like(theta)
    norms: list[float] | None = [] if record_norms else None
    for start in sorted(checkpoints, reverse=True):
        stop = min(start + k, T)
        segment = [checkpoints[start]]
        for t in range(start, stop - 1):  # recompute the states inside the segment
            with torch.no_grad():
                segment.append(dynamics.step(segment[-1], theta, t, problem.grad))
        ds, dtheta = backpropagate(problem, dynamics, theta, segment, start, ds, dtheta, norms)
    diagnostics = {"stored_states": len(checkpoints) if k > 1 else T, "segment": k}
    if norms is not None:
        diagnostics["accumulated_norm"] = norms
    return HypergradResult("reverse", dtheta_direct + dtheta, ds[0], state[0].detach(), float(f),
                           diagnostics)


def _segment(checkpoint_every, T: int) -> int:
    if checkpoint_every is None:
        return 1
    if checkpoint_every == "sqrt":
        return max(1, math.ceil(math.sqrt(T)))
    k = int(checkpoint_every)
    if k <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    return k
