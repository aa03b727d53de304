r"""The meta-optimizers: one step of the hyperparameters along their hypergradient.

* :class:`SignSGD` -- steps along the sign of the hypergradient with a constant rate and
  optional momentum (thesis section 2.4; 0.7 in its DrMAD GPU runs), following Balles & Hennig;
* :class:`GradientStep` -- plain gradient descent on the hyperparameters;
* :class:`ProjectedAdam` -- Adam projected onto box constraints or any convex set
  (Franceschi et al. 2017).

An optimizer is a callable ``theta_next = opt(theta, hypergrad)``; ``project`` (e.g.
``HyperSpace.clip``) keeps the hyperparameters within their bounds. Every optimizer keeps its
state explicit: ``state_dict()`` returns it (copies of its tensors) and ``load_state_dict``
restores it, so a checkpointed run resumes exactly where it stopped.
"""
from __future__ import annotations

from typing import Callable

import torch


Projection = Callable[[torch.Tensor], torch.Tensor]


class SignSGD:
    """:math:`u \\leftarrow \\mu u - \\eta\\,\\mathrm{sign}(d\\theta)`, :math:`\\theta \\leftarrow \\Pi(\\theta + u)`.

    Sign descent with momentum on the hyperparameters (thesis section 2.4, after Balles &
    Hennig 2017): every entry moves by the same rate whatever the magnitude of its
    hypergradient. State: the velocity :math:`u` (:meth:`state_dict`, :meth:`load_state_dict`).

    Args:
        lr: the rate :math:`\\eta`, a number or a tensor of per-entry rates (finite, >= 0).
        momentum: :math:`\\mu` in [0, 1) (0: plain sign steps).
        project: the projection :math:`\\Pi` onto the admissible hyperparameters (e.g.
            ``HyperSpace.clip``; None: none).

    Raises:
        TypeError: a rate that is not a number or a tensor.
        ValueError: a negative or non-finite rate, or a momentum outside [0, 1).
    """

    def __init__(self, lr: float | torch.Tensor, momentum: float = 0.0,
                 project: Projection | None = None):
        _check_rate(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum, self.project = lr, momentum, project
        self.velocity: torch.Tensor | None = None

    def __call__(self, theta: torch.Tensor, hypergrad: torch.Tensor) -> torch.Tensor:
        _check_step(theta, hypergrad)
        step = -self.lr * torch.sign(hypergrad)
        self.velocity = step if self.velocity is None else self.momentum * self.velocity + step
        out = theta + self.velocity
        return self.project(out) if self.project else out

    def state_dict(self) -> dict:
        """The optimizer's state, to checkpoint.

        Returns:
            dict: ``velocity``, None before the first step (copies of its tensors).
        """
        return {"velocity": None if self.velocity is None else self.velocity.clone()}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            KeyError: a state without ``velocity``.
        """
        self.velocity = _restore(state, "velocity")


class GradientStep:
    """Plain gradient descent on the hyperparameters (with optional per-entry rates):
    :math:`\\theta \\leftarrow \\Pi(\\theta - \\eta\\, d\\theta)`. It keeps no state.

    Args:
        lr: the rate :math:`\\eta`, a number or a tensor of per-entry rates (finite, >= 0).
        project: the projection :math:`\\Pi` onto the admissible hyperparameters (None: none).

    Raises:
        TypeError: a rate that is not a number or a tensor.
        ValueError: a negative or non-finite rate.
    """

    def __init__(self, lr: float | torch.Tensor, project: Projection | None = None):
        _check_rate(lr)
        self.lr, self.project = lr, project

    def __call__(self, theta, hypergrad):
        _check_step(theta, hypergrad)
        out = theta - self.lr * hypergrad
        return self.project(out) if self.project else out

    def state_dict(self) -> dict:
        """The optimizer's state, to checkpoint.

        Returns:
            dict: nothing: plain gradient steps keep no state.
        """
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            ValueError: a non-empty state.
        """
        if state:
            raise ValueError(f"GradientStep keeps no state, got {sorted(state)}")


class ProjectedAdam:
    """Adam (Kingma & Ba 2015, Algorithm 1) followed by projection onto ``[lower, upper]``, or
    with ``project`` onto any convex set (Franceschi et al. 2017, section 4; e.g.
    :meth:`hpostudy.multitask.TaskRelations.project` or a function of
    :mod:`hpostudy.projections`):

    .. math:: m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t,\\quad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,
              \\quad \\theta_t = \\Pi\\big(\\theta_{t-1} - \\eta\\,\\hat m_t/(\\sqrt{\\hat v_t} + \\epsilon)\\big)

    with :math:`\\hat m_t = m_t/(1-\\beta_1^t)`, :math:`\\hat v_t = v_t/(1-\\beta_2^t)`; ``lr`` may be a
    tensor of per-entry rates. State: ``m``, ``v`` and the step count ``t`` (:meth:`state_dict`,
    :meth:`load_state_dict`); ``project`` is a pure function and keeps none.

    Args:
        lr: the rate :math:`\\eta`, a number or a tensor of per-entry rates (finite, >= 0).
        betas: :math:`(\\beta_1, \\beta_2)`, each in [0, 1).
        eps: :math:`\\epsilon > 0`.
        lower: the box's lower bounds (a number or a tensor; no bound by default).
        upper: the box's upper bounds.
        project: the projection :math:`\\Pi` onto a convex set, instead of a box.

    Raises:
        TypeError: a rate that is not a number or a tensor.
        ValueError: a negative or non-finite rate, betas outside [0, 1), ``eps <= 0``, a lower
            bound above its upper bound, or both bounds and a projection.
    """

    def __init__(self, lr: float | torch.Tensor = 0.01, betas=(0.9, 0.999), eps: float = 1e-8,
                 lower: float | torch.Tensor = -float("inf"),
                 upper: float | torch.Tensor = float("inf"), project: Projection | None = None):
        _check_rate(lr)
        if project is not None and (torch.as_tensor(lower).isfinite().any()
                                    or torch.as_tensor(upper).isfinite().any()):
            raise ValueError("give either bounds (lower, upper) or a projection, not both: put "
                             "the box into the projection")
        self.project = project
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        if bool(torch.any(torch.as_tensor(lower) > torch.as_tensor(upper))):
            raise ValueError(f"lower bound {lower} above upper bound {upper}")
        self.lr, self.betas, self.eps, self.lower, self.upper = lr, betas, eps, lower, upper
        self.m = self.v = None
        self.t = 0

    def __call__(self, theta, hypergrad):
        _check_step(theta, hypergrad)
        b1, b2 = self.betas
        if self.m is None:
            self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * hypergrad
        self.v = b2 * self.v + (1 - b2) * hypergrad ** 2
        m_hat = self.m / (1 - b1 ** self.t)
        v_hat = self.v / (1 - b2 ** self.t)
        out = theta - self.lr * m_hat / (v_hat.sqrt() + self.eps)
        if self.project is not None:
            return self.project(out)
        return torch.maximum(torch.minimum(out, torch.as_tensor(self.upper, dtype=out.dtype)),
                             torch.as_tensor(self.lower, dtype=out.dtype))

    def state_dict(self) -> dict:
        """The optimizer's state, to checkpoint.

        Returns:
            dict: the moments ``m``, ``v`` (None before the first step) and the step count ``t``
                (copies of its tensors).
        """
        return {"m": None if self.m is None else self.m.clone(),
                "v": None if self.v is None else self.v.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            KeyError: a state without ``m`` or ``v``.
            ValueError: a step count ``t`` that is not a count, or does not match the moments.
        """
        m, v = _restore(state, "m"), _restore(state, "v")
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, int) or t < 0 or (t > 0) != (m is not None):
            raise ValueError(f"ProjectedAdam state: 't' must be the number of steps taken "
                             f"(0 with no moments), got {t!r}")
        self.m, self.v, self.t = m, v, t


def _check_rate(lr) -> None:
    rate = torch.as_tensor(lr)
    if not rate.is_floating_point() and rate.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"the meta learning rate must be a number or a tensor, got {type(lr).__name__}")
    if rate.numel() == 0 or not bool(torch.isfinite(rate).all()) or float(rate.min()) < 0:
        raise ValueError(f"the meta learning rate must be finite and non-negative, got {lr}")


def _check_step(theta: torch.Tensor, hypergrad: torch.Tensor) -> None:
    if hypergrad.shape != theta.shape:
        raise ValueError(f"hypergradient of shape {tuple(hypergrad.shape)} for hyperparameters "
                         f"of shape {tuple(theta.shape)}")


def _restore(state: dict, key: str) -> torch.Tensor | None:
    if key not in state:
        raise KeyError(f"optimizer state has no '{key}' (keys: {sorted(state)})")
    value = state[key]
    return None if value is None else value.clone()
