"""The online adaptive method (Luketina et al. 2016; learning rates as in Baydin et al. 2017),
thesis section 3.2.2.

Hyperparameters are updated *during* a single training run: every ``every`` (K) steps, the
hypergradient of the validation loss on a validation batch is taken through the last ``window``
(n) training steps only -- a truncated REVERSE-HO through the stored window (Luketina et al. use
K = 10, n = 1; the thesis K = 100, n = 5 and K = 131, n = 4) -- and ``theta`` takes one
meta-step. Works for L2 and learning-rate hyperparameters and any dynamics.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import torch

from ..dynamics import Problem
from .reverse import backpropagate


def online(problem: Problem, dynamics, theta: torch.Tensor, T: int, every: int, window: int,
           update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
           callback: Callable[[int, tuple, torch.Tensor], None] | None = None,
           state=None, t0: int = 0, progress=None):
    """Train ``T`` steps from ``state`` (default :math:`w_0`) at step ``t0``, updating
    ``theta = update(theta, hypergrad)`` every ``every`` steps.

    The validation loss is ``problem.val_batch_loss(w, theta, k)`` for the k-th update if the
    problem defines it, else ``problem.val_loss``. Returns ``(theta, state, history)``; history
    rows hold the step, the validation loss and the hypergradient norm of each update.
    """
    if every <= 0 or window <= 0:
        raise ValueError(f"every and window must be positive, got {every} and {window}")
    if window > every:
        raise ValueError(f"window ({window}) cannot exceed every ({every})")
    theta = theta.detach().clone()
    state = dynamics.init(problem.w0) if state is None else state
    recent: deque = deque(maxlen=window)
    history = []
    for t in range(t0, t0 + T):
        recent.append(state)
        with torch.no_grad():
            state = dynamics.step(state, theta, t, problem.grad)
        if (t + 1) % every == 0:
            k = (t + 1) // every
            val = problem.val_batch_loss or (lambda w, th, _k: problem.val_loss(w, th))
            with torch.enable_grad():
                w_ = state[0].detach().requires_grad_(True)
                th_ = theta.detach().requires_grad_(True)
                f = val(w_, th_, k)
                dw, dth = torch.autograd.grad(f, (w_, th_), allow_unused=True)
            dth = torch.zeros_like(theta) if dth is None else dth
            ds = (dw, torch.zeros_like(state[1]))
            _, h = backpropagate(problem, dynamics, theta, list(recent), t + 1 - len(recent),
                                 ds, dth)
            history.append({"step": t + 1, "val_loss": float(f.detach()), "hypergrad_norm": float(h.detach().norm())})
            theta = update(theta, h).detach()
        if callback is not None:
            callback(t, state, theta)
        if progress is not None:
            progress.update(1)
    return theta, state, history
