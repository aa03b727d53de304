"""Adam (Kingma & Ba 2015, Algorithm 1) as training dynamics, the inner optimizer of the
multi-task experiment of Franceschi et al. (2017, section 4).
"""
from __future__ import annotations

import torch

from .arithmetic import FLOAT, FloatArithmetic
from .base import Dynamics, State
from .schedules import Schedule, at


class Adam(Dynamics):
    r"""Adam (Kingma & Ba 2015, Algorithm 1) as training dynamics, the inner optimizer of the
    multi-task experiment of Franceschi et al. (2017, section 4). The state is ``(w, u)`` with
    the moments stacked, :math:`u = (m, v)` of shape ``(2, P)``; step ``t`` (from 0) is

    .. math:: m_{t+1} = \beta_1 m_t + (1-\beta_1) g_t,\quad
              v_{t+1} = \beta_2 v_t + (1-\beta_2) g_t^2,\quad
              w_{t+1} = w_t - \alpha_t \frac{m_{t+1}/(1-\beta_1^{t+1})}
              {\sqrt{v_{t+1}/(1-\beta_2^{t+1}) + \epsilon_\text{root}} + \epsilon}.

    ``eps_root`` (torchopt's name) sits inside the square root so that the step stays
    differentiable where a gradient entry is exactly zero (:math:`d\sqrt{v}/dv` is infinite at 0);
    at its default it changes no step by more than rounding unless :math:`|g| < 10^{-8}`.
    ``reverse``, ``forward`` and ``rt_ho`` differentiate it; the reversing methods and DrMAD's
    line do not apply.

    Args:
        lr: :math:`\alpha_t`, a non-negative number or a schedule.
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: :math:`\epsilon`, added to the square root.
        eps_root: :math:`\epsilon_\text{root}`, added inside the square root.

    Raises:
        ValueError: a negative learning rate, betas outside [0, 1), or ``eps`` and ``eps_root``
            negative or both 0.
    """

    name = "adam"
    irreversible_reason = ("its reversal is not implemented (undoing a step divides the moments "
                           "by the betas and loses bits, as undoing momentum does)")

    def __init__(self, lr: Schedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, eps_root: float = 1e-16):
        if not callable(lr) and (not isinstance(lr, (int, float)) or not lr >= 0):
            raise ValueError(f"the learning rate must be a non-negative number or a schedule, "
                             f"got {lr!r}")
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")
        if not eps >= 0 or not eps_root >= 0 or eps + eps_root == 0:
            raise ValueError(f"eps and eps_root must be non-negative and not both 0, got {eps}, "
                             f"{eps_root}")
        self.lr, self.betas, self.eps, self.eps_root = lr, tuple(betas), eps, eps_root

    def init(self, w0: torch.Tensor) -> State:
        """The state before step 0: the weights :math:`w_0` and zero moments
        :math:`m_0 = v_0 = 0`.

        Args:
            w0: the initial weights.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``(w0, u)`` with ``u`` zeros of shape ``(2, P)``.
        """
        return (w0, torch.zeros((2, *w0.shape), dtype=w0.dtype, device=w0.device))

    def alpha(self, t: int) -> float:
        r""":math:`\alpha_t`, refused unless non-negative (a negative rate ascends the loss).

        Args:
            t: the step.

        Returns:
            float: the learning rate at step ``t``.

        Raises:
            ValueError: the learning rate is negative (or NaN) at step ``t``.
        """
        alpha = at(self.lr, t)
        if not alpha >= 0:
            raise ValueError(f"the learning rate is {alpha} at step {t}: it must be non-negative")
        return alpha

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Check the learning-rate schedule at step 0 (later steps are checked as they run).

        Args:
            w0: the initial weights.
            theta: the hyperparameters.

        Raises:
            ValueError: the learning rate at step 0 is negative.
        """
        self.alpha(0)

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        r"""One Adam step (the equations of the class docstring): the moments updated with
        :math:`g_t`, bias-corrected by :math:`1-\beta^{t+1}`, and the weights moved by
        :math:`-\alpha_t \hat m/(\sqrt{\hat v + \epsilon_\text{root}} + \epsilon)`.

        Args:
            state: :math:`(w_t, (m_t, v_t))`.
            g: :math:`g_t = \nabla_w L(w_t, \theta, t)`.
            theta: the hyperparameters (Adam's step does not read them; the loss does).
            t: the step, from 0.
            arith: floating-point arithmetic (the fixed point is refused).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`(w_{t+1}, (m_{t+1}, v_{t+1}))`.

        Raises:
            TypeError: ``arith`` is exact (fixed point).
        """
        if arith.exact:
            raise TypeError(f"Adam cannot be reversed: {self.irreversible_reason}")
        w, u = state
        b1, b2 = self.betas
        m = b1 * u[0] + (1.0 - b1) * g
        v = b2 * u[1] + (1.0 - b2) * g * g
        m_hat = m / (1.0 - b1 ** (t + 1))
        v_hat = v / (1.0 - b2 ** (t + 1))
        w = w - self.alpha(t) * m_hat / (torch.sqrt(v_hat + self.eps_root) + self.eps)
        return (w, torch.stack([m, v]))

    def velocity_before(self, g, increment, theta, t):
        """Refused: DrMAD's straight line (thesis Algorithm 3, line 5) gives the weights only, and
        does not determine Adam's two moments.

        Args:
            g: the training gradient.
            increment: the weights' change over the step.
            theta: the hyperparameters.
            t: the step.

        Returns:
            torch.Tensor: never; the call raises.

        Raises:
            TypeError: always.
        """
        raise TypeError("DrMAD's straight line does not determine Adam's moments; use "
                        "'reverse' or 'forward' for Adam")
