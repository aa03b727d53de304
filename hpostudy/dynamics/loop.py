r"""The training loop :math:`s_{t+1} = \Phi_t(s_t, \theta)`, :math:`t = t_0, \dots, t_0 + T - 1`
(thesis Algorithm 1, lines 3-7; Franceschi et al. 2017, equation (1)), and the checks every
hypergradient method makes before it trains.
"""
from __future__ import annotations

from typing import Callable

import torch

from .base import Dynamics, State
from .problem import Problem


def check_horizon(T, name: str = "T") -> int:
    """The one check of a horizon :math:`T` (and of other step counts): a positive integer.

    Args:
        T: the number of steps.
        name: the name the error message gives it.

    Returns:
        int: ``T``.

    Raises:
        ValueError: ``T`` is not a positive integer (a bool is refused).
    """
    if isinstance(T, bool) or not isinstance(T, int) or T <= 0:
        raise ValueError(f"{name} must be a positive integer number of steps, got {T!r}")
    return T


def check_call(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int,
               state: State | None = None) -> None:
    """The checks every method makes before training: the horizon, the problem, the
    hyperparameters against the problem's space, the dynamics and its settings at ``theta``,
    and a starting ``state`` if one is given.

    Args:
        problem: the :class:`Problem`.
        dynamics: the :class:`Dynamics` of the inner loop.
        theta: the hyperparameters.
        T: the horizon.
        state: None, or a state to start from, as :func:`train` returns it.

    Raises:
        TypeError: ``problem`` or ``dynamics`` of the wrong type, or hyperparameters of the
            wrong dtype.
        ValueError: a horizon, hyperparameters or a state out of range (named in the message).
    """
    check_horizon(T)
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an hpostudy.dynamics.Problem (e.g. task.problem(w0)), "
                        f"got {type(problem).__name__}")
    problem.check_theta(theta)
    if not isinstance(dynamics, Dynamics):
        raise TypeError(f"dynamics must be an hpostudy.dynamics.Dynamics, got "
                        f"{type(dynamics).__name__}")
    dynamics.check(problem.w0, theta)
    if state is not None:
        like = dynamics.init(problem.w0)  # Adam's v holds both moments, shape (2, P)
        if (not isinstance(state, tuple) or len(state) != 2
                or any(not isinstance(x, torch.Tensor) or x.shape != y.shape
                       or x.device != y.device or x.dtype != y.dtype
                       for x, y in zip(state, like))):
            raise ValueError(f"state must be a pair (w, v) of tensors shaped like w0 and "
                             f"{type(dynamics).__name__}'s velocity, "
                             f"{tuple(like[0].shape)} and {tuple(like[1].shape)}, "
                             f"{problem.w0.dtype} on {problem.w0.device} (a state that train() "
                             "returned)")


def check_start(t0) -> int:
    """The one check of the step :math:`t_0` a continued run starts at: a non-negative integer.

    Args:
        t0: the first step.

    Returns:
        int: ``t0``.

    Raises:
        ValueError: ``t0`` is not a non-negative integer (a bool is refused).
    """
    if isinstance(t0, bool) or not isinstance(t0, int) or t0 < 0:
        raise ValueError(f"t0 must be a non-negative integer, got {t0!r}")
    return t0


class FiniteWatch:
    r"""Watches a tensor after every step and names the first step at which it held a NaN or an
    infinity. The per-step maxima :math:`\max_i |x_i|` are kept on the tensor's device and
    inspected every ``every`` steps, so a GPU is not synchronized at each step.

    Args:
        what: what is watched, as the error message names it.
        like: a tensor on the device the watched values lie on.
        every: how many steps are recorded between inspections.
    """

    def __init__(self, what: str, like: torch.Tensor, every: int = 64):
        self.what, self.every = what, every
        self.values = torch.empty(every, dtype=torch.float64, device=like.device)
        self.steps: list[int] = []

    def __call__(self, t: int, x: torch.Tensor) -> None:
        r"""Record :math:`\max_i |x_i|` after step ``t``; inspect every ``every`` steps.

        Args:
            t: the step just taken.
            x: the watched tensor after it.

        Raises:
            FloatingPointError: an inspection found a NaN or an infinity.
        """
        self.values[len(self.steps)] = x.detach().abs().amax()
        self.steps.append(t)
        if len(self.steps) == self.every:
            self.flush()

    def flush(self) -> None:
        """Inspect the steps recorded since the last inspection and forget them.

        Raises:
            FloatingPointError: one of them held a NaN or an infinity; the message names the first.
        """
        if not self.steps:
            return
        bad = ~torch.isfinite(self.values[:len(self.steps)])
        if bool(bad.any()):
            t = self.steps[int(bad.nonzero()[0])]
            raise FloatingPointError(f"{self.what} became NaN or infinite at step {t}")
        self.steps.clear()


def train(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int,
          state: State | None = None, t0: int = 0,
          callback: Callable[[int, State], None] | None = None) -> State:
    r"""Run ``T`` steps :math:`s_{t+1} = \Phi_t(s_t, \theta)` of ``dynamics`` from ``state``
    (thesis Algorithm 1; Franceschi et al. 2017, equation (1)) without tracking gradients.

    Args:
        problem: the :class:`Problem` whose training gradient the steps take.
        dynamics: the :class:`Dynamics`.
        theta: the hyperparameters.
        T: the number of steps.
        state: the state to start from; None starts from ``dynamics.init(problem.w0)``.
        t0: the step to start at (the mini-batch and schedules follow ``t``).
        callback: optional ``callback(t, state_after_step)``, called after every step.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: the state after step ``t0 + T - 1``,
        :math:`(w_{t_0+T}, v)`.

    Raises:
        FloatingPointError: a weight became NaN or infinite; the message names the step.
        TypeError: see :func:`check_call`.
        ValueError: see :func:`check_call` and :func:`check_start`.
    """
    check_call(problem, dynamics, theta, T, state)
    check_start(t0)
    state = dynamics.init(problem.w0) if state is None else state
    watch = FiniteWatch("the weights", state[0])
    with torch.no_grad():
        for t in range(t0, t0 + T):
            state = dynamics.step(state, theta, t, problem.grad)
            watch(t, state[0])
            if callback is not None:
                callback(t, state)
    watch.flush()
    return state
