"""Training dynamics: the step :math:`s_{t+1} = \\Phi_t(s_t, \\theta)` as a pure function.

A state is the tuple ``(w, v)`` of flat weights and velocity. A :class:`Problem` gives the
training loss :math:`L(w, \\theta, t)` on mini-batch ``t`` (penalty included) and the validation
loss :math:`f(w, \\theta)`. The optimizers:

* :class:`SGDMomentum` -- thesis Algorithm 1 (Maclaurin et al.'s form):
  :math:`v_t = \\gamma_t v_{t-1} - (1-\\gamma_t) g_t,\\; w_{t+1} = w_t + \\alpha_t v_t`;
* :class:`SGD` -- plain SGD, the same with :math:`\\gamma_t = 0`;
* :class:`Nesterov` -- the reformulation of Bengio et al. (2013) cited in thesis section 1.2.1:
  :math:`v_{t+1} = \\gamma_t v_t - \\alpha_t \\nabla L(w_t)`,
  :math:`w_{t+1} = w_t - \\gamma_t v_t + (1 + \\gamma_{t+1}) v_{t+1}`.

Learning rates and momenta are per-step schedules (a number or a function of ``t``); learning
rates may also depend on the hyperparameters through ``lr_hyper(theta)`` (per-layer rates).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.func import grad as func_grad

Schedule = float | Callable[[int], float]
State = tuple[torch.Tensor, torch.Tensor]


def at(schedule: Schedule, t: int) -> float:
    """Value of a schedule (constant or function of the step) at step ``t``."""
    return float(schedule(t)) if callable(schedule) else float(schedule)


def piecewise(base: float, milestones: list[int], factor: float = 0.1) -> Callable[[int], float]:
    """``base`` multiplied by ``factor`` at each milestone step (e.g. /10 at epochs 30 and 60)."""
    steps = sorted(int(m) for m in milestones)

    def schedule(t: int) -> float:
        return base * factor ** sum(t >= m for m in steps)

    return schedule


@dataclass
class Problem:
    """What a hypergradient is taken of.

    ``train_loss(w, theta, t)`` -- training loss on mini-batch ``t`` with its penalty;
    ``val_loss(w, theta)`` -- the outer objective :math:`f` at the final weights;
    ``w0`` -- initial weights (fixed by a seed, the same in every meta-iteration).
    ``val_batch_loss(w, theta, k)`` optionally gives a validation loss on batch ``k`` (online
    methods use it; it defaults to ``val_loss``).
    """

    train_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    val_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    w0: torch.Tensor
    val_batch_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None
    info: dict = field(default_factory=dict)

    def grad(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        """:math:`g_t = \\nabla_w L(w, \\theta, t)`."""
        return func_grad(self.train_loss)(w, theta, t)

    def val_value_and_grads(self, w: torch.Tensor, theta: torch.Tensor):
        """``f(w, theta)``, :math:`\\partial f/\\partial w` and the direct :math:`\\partial f/\\partial\\theta`."""
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            f = self.val_loss(w_, th)
            dw, dth = torch.autograd.grad(f, (w_, th), allow_unused=True)
        return f.detach(), dw, (torch.zeros_like(theta) if dth is None else dth)


class SGDMomentum:
    """Thesis Algorithm 1: :math:`v_t = \\gamma_t v_{t-1} - (1-\\gamma_t) g_t`, :math:`w_{t+1} = w_t + \\alpha_t v_t`.

    ``lr``, ``momentum``: numbers or schedules ``t -> value``; ``lr_hyper(theta)``: optional
    per-parameter multiplier of the learning rate (learning rates as hyperparameters);
    ``clip``: project the weights onto ``[-clip, clip]`` after each step (thesis section 2.4).
    """

    reversible = True
    name = "sgd_momentum"

    def __init__(self, lr: Schedule = 0.1, momentum: Schedule = 0.9,
                 lr_hyper: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 clip: float | None = None):
        self.lr, self.momentum, self.lr_hyper, self.clip = lr, momentum, lr_hyper, clip

    def gamma(self, t: int) -> float:
        return at(self.momentum, t)

    def alpha(self, theta: torch.Tensor, t: int):
        """:math:`\\alpha_t`, a number or (with ``lr_hyper``) a per-parameter tensor."""
        base = at(self.lr, t)
        return base * self.lr_hyper(theta) if self.lr_hyper is not None else base

    def init(self, w0: torch.Tensor) -> State:
        return (w0, torch.zeros_like(w0))

    def step(self, state: State, theta: torch.Tensor, t: int, grad) -> State:
        w, v = state
        gamma = self.gamma(t)
        g = grad(w, theta, t)
        v = gamma * v - (1.0 - gamma) * g
        w = w + _cast(self.alpha(theta, t), w) * v
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v)


class SGD(SGDMomentum):
    """Plain SGD, :math:`w_{t+1} = w_t - \\alpha_t g_t` (Algorithm 1 with :math:`\\gamma_t = 0`)."""

    reversible = False
    name = "sgd"

    def __init__(self, lr: Schedule = 0.1, lr_hyper=None, clip=None):
        super().__init__(lr=lr, momentum=0.0, lr_hyper=lr_hyper, clip=clip)


class Nesterov(SGDMomentum):
    """Nesterov momentum in the reformulation of Bengio et al. (2013), thesis section 1.2.1:
    :math:`v_{t+1} = \\gamma_t v_t - \\alpha_t g_t`, :math:`w_{t+1} = w_t - \\gamma_t v_t + (1+\\gamma_{t+1}) v_{t+1}`.
    The learning rate is inside the velocity here; this form is not reversed exactly."""

    reversible = False
    name = "nesterov"

    def step(self, state: State, theta: torch.Tensor, t: int, grad) -> State:
        w, v = state
        g = grad(w, theta, t)
        v_new = self.gamma(t) * v - _cast(self.alpha(theta, t), w) * g
        w = w - self.gamma(t) * v + (1.0 + self.gamma(t + 1)) * v_new
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v_new)


def _cast(alpha, like: torch.Tensor):
    return alpha.to(like.dtype) if isinstance(alpha, torch.Tensor) else alpha


def train(problem: Problem, dynamics, theta: torch.Tensor, T: int, state: State | None = None,
          t0: int = 0, callback: Callable[[int, State], None] | None = None) -> State:
    """Run ``T`` steps of ``dynamics`` from ``state`` (default: ``problem.w0``) without tracking
    gradients; ``callback(t, state_after_step)`` sees every step."""
    state = dynamics.init(problem.w0) if state is None else state
    with torch.no_grad():
        for t in range(t0, t0 + T):
            state = dynamics.step(state, theta, t, problem.grad)
            if callback is not None:
                callback(t, state)
    return state
