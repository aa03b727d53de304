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

from ..dynamics import FiniteWatch, Problem, check_call, check_horizon, check_start
from .adjoint import adjoint_along, checked_update
from .result import OnlineResult, OnlineUpdate


def online(problem: Problem, dynamics, theta: torch.Tensor, T: int, *, every: int, window: int,
           update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
           callback: Callable[[int, tuple, torch.Tensor], None] | None = None,
           state=None, t0: int = 0, progress=None):
    r"""The online method of Luketina et al. (2016): train ``T`` steps, updating the hyperparameters
    every ``every`` steps by the hypergradient through the last ``window`` steps.

    The update is ``theta = update(theta, hypergrad)``; steps are counted from step 0, so a run
    may be continued in pieces through ``state`` and ``t0``. The validation loss of the k-th
    update is ``problem.val_batch_loss(w, theta, k)`` if the problem defines it, else
    ``problem.val_loss``.

    Args:
        problem: the bilevel problem (:class:`~hpostudy.dynamics.Problem`): training loss
            :math:`L(w, \theta, t)`, validation loss :math:`f(w, \theta)`, :math:`w_0`.
        dynamics: the optimizer of the inner loop (:mod:`hpostudy.dynamics`).
        theta: the hyperparameters :math:`\theta`, a flat tensor.
        T: the training steps (the horizon), at least 1.
        every: the steps between two updates.
        window: the steps n the hypergradient reverses through.
        update: ``update(theta, hypergrad) -> theta``.
        callback: ``callback(t, state, theta)`` sees every step.
        state: the state ``(w, v)`` to start from (default: :math:`w_0` and a zero velocity).
        t0: the step at which ``state`` was reached.
        progress: an optional progress bar (``tqdm``-like) advanced once per step.

    Returns:
        OnlineResult: the final hyperparameters and state, one :class:`OnlineUpdate` per update.

    Raises:
        ValueError: a horizon, hyperparameter vector or option out of range (named in the
            message).
        TypeError: dynamics or an option of the wrong type.
        FloatingPointError: a NaN or infinity during training, naming the step.
    """
    check_call(problem, dynamics, theta, T, state)
    check_horizon(every, "every")
    check_horizon(window, "window")
    if window > every:
        raise ValueError(f"window ({window}) cannot exceed every ({every})")
    check_start(t0)
    theta = theta.detach().clone()
    state = dynamics.init(problem.w0) if state is None else state
    recent: deque = deque(maxlen=window)
    history = []
    val = problem.val_batch_loss or (lambda w, th, _k: problem.val_loss(w, th))
    watch = FiniteWatch("the weights", state[0], every=1)
    for t in range(t0, t0 + T):
        recent.append(state)
        with torch.no_grad():
            state = dynamics.step(state, theta, t, problem.grad)
        watch(t, state[0])
        if (t + 1) % every == 0:
            k = (t + 1) // every
            with torch.enable_grad():
                w_ = state[0].detach().requires_grad_(True)
                th_ = theta.detach().requires_grad_(True)
                f = val(w_, th_, k)
                dw, dth = torch.autograd.grad(f, (w_, th_), allow_unused=True)
            dth = torch.zeros_like(theta) if dth is None else dth
            ds = (dw, torch.zeros_like(state[1]))
            first = t + 1 - len(recent)
            points = ((first + i, *recent[i]) for i in range(len(recent) - 1, -1, -1))
            _, h = adjoint_along(problem, dynamics, theta, points, ds, dth)
            if not bool(torch.isfinite(h).all()):
                raise FloatingPointError(f"the hypergradient of the update at step {t + 1} is "
                                         "NaN or infinite")
            history.append(OnlineUpdate(t + 1, float(f.detach()), float(h.detach().norm()),
                                        h.detach().clone()))
            theta = checked_update(update, theta, h, t + 1)
        if callback is not None:
            callback(t, state, theta)
        if progress is not None:
            progress.update(1)
    return OnlineResult("online", theta, state, history)
