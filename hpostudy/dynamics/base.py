r"""The training step as a differentiable map, :math:`s_{t+1} = \Phi_t(s_t, \theta)` with the state
:math:`s_t = (w_t, v_t)` (Franceschi et al. 2017, equation (1)), and the base class every
optimizer of the package derives from: its step, its inverse and its adjoint.
"""
from __future__ import annotations

from typing import Callable

import torch

from .arithmetic import FLOAT, FloatArithmetic
from .problem import Linearization, Problem


State = tuple[torch.Tensor, torch.Tensor]

Grad = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


class Dynamics:
    r"""Base class: a training step :math:`\Phi_t` in two parts, the gradient
    :math:`g_t = \nabla_w L(w_t, \theta, t)` and :meth:`update`.

    Subclasses define :meth:`update` (and, if reversible, :meth:`inverse`); :meth:`step`,
    :meth:`vjp` and :meth:`reverse_step` follow from them, so that every hypergradient method
    uses one definition of the step.

    Attributes:
        name: the dynamics' short name.
        clip: None, or the bound :math:`c` of the projection of the weights onto
            :math:`[-c, c]` after each step (thesis section 2.4).
        irreversible_reason: why :meth:`inverse` is refused, said in its error.
    """

    name = "dynamics"
    clip: float | None = None
    irreversible_reason = "its step loses the state before it"  # said when a reversal is asked

    @property
    def reversible(self) -> bool:
        """Whether :meth:`inverse` exists (exact and floating-point reversal, DrMAD2).

        Returns:
            bool: False for the base class.
        """
        return False

    @property
    def vjp_needs_velocity(self) -> bool:
        """Whether :meth:`Dynamics.vjp` depends on the velocity's value. A step linear in the
        velocity with a hyperparameter-free factor on it does not, so the stored-trajectory reverse
        mode keeps only the weights.

        Returns:
            bool: True for the base class (the safe answer).
        """
        return True

    def init(self, w0: torch.Tensor) -> State:
        """The state before step 0: the weights :math:`w_0` and the zero velocity
        :math:`v_{-1} = 0` (thesis Algorithm 1, line 2).

        Args:
            w0: the initial weights.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``(w0, zeros_like(w0))``.
        """
        return (w0, torch.zeros_like(w0))

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Raise a clear error if this dynamics cannot train ``w0`` at ``theta`` (the base class
        accepts everything).

        Args:
            w0: the initial weights.
            theta: the hyperparameters.
        """

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        r"""The step after the gradient: :math:`s_{t+1}` from :math:`s_t` and
        :math:`g_t = \nabla_w L(w_t, \theta, t)`.

        Args:
            state: the state :math:`(w_t, v_{t-1})` before step ``t``, in ``arith``'s format.
            g: the training gradient at :math:`w_t`.
            theta: the hyperparameters.
            t: the step.
            arith: the arithmetic the step is computed in.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: the state after step ``t``.

        Raises:
            NotImplementedError: always, in the base class.
        """
        raise NotImplementedError

    def step(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
             arith: FloatArithmetic = FLOAT) -> State:
        r""":math:`\Phi_t` (Franceschi et al. 2017, equation (1)): the gradient
        ``grad(w, theta, t)`` at the weights, then :meth:`update`.

        Args:
            state: the state before step ``t``, in ``arith``'s format.
            theta: the hyperparameters.
            t: the step.
            grad: the training gradient ``grad(w, theta, t)``, e.g. :meth:`Problem.grad`.
            arith: the arithmetic the step is computed in.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: :math:`s_{t+1} = \Phi_t(s_t, \theta)`.
        """
        return self.update(state, grad(arith.to_float(state[0]), theta, t), theta, t, arith)

    def inverse(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
                arith: FloatArithmetic) -> State:
        r""":math:`\Phi_t^{-1}`: the state before step ``t`` from the state after it (thesis
        Algorithm 2, lines 6-8), exact in fixed point and approximate in floating point.

        Args:
            state: the state after step ``t``, in ``arith``'s format.
            theta: the hyperparameters.
            t: the step.
            grad: the training gradient ``grad(w, theta, t)``, taken at the reconstructed weights.
            arith: the arithmetic the step was computed in.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: the state before step ``t``.

        Raises:
            TypeError: always, in the base class: this dynamics cannot be reversed.
        """
        raise TypeError(f"{type(self).__name__} cannot be reversed: {self.irreversible_reason}. "
                        "Methods 'exact', 'float_reversal' and 'drmad2' reverse SGD "
                        "with momentum in the thesis' form (dynamics.SGDMomentum); use "
                        "'reverse', 'forward' or 'drmad' for other dynamics.")

    def vjp(self, problem: Problem, state: State, theta: torch.Tensor, t: int, ds: State,
            arith: FloatArithmetic = FLOAT):
        r"""The adjoint of step ``t`` at ``state`` (the state before it):
        :math:`(ds_t, d\theta_t) = ds_{t+1}\,\partial\Phi_t/\partial(s_t, \theta)`, the recursion
        :math:`\alpha_t = \alpha_{t+1} A_{t+1}`, :math:`g \mathrel{+}= \alpha_t B_t` of REVERSE-HO
        (Franceschi et al. 2017, Algorithm 2; thesis Algorithm 2, lines 5, 9, 11, 12), with one
        Hessian-vector product by double backward.

        Args:
            problem: the problem whose training gradient the step takes.
            state: the state :math:`s_t` before step ``t``.
            theta: the hyperparameters.
            t: the step.
            ds: the cotangent :math:`ds_{t+1} = \partial f/\partial s_{t+1}`, a pair like the state.
            arith: the arithmetic of the forward step (its float counterpart is differentiated).

        Returns:
            tuple: ``(ds_t, dtheta_t)``: the cotangent of the state before the step (a pair) and
            step ``t``'s contribution to :math:`d\theta`.
        """
        return self.pullback(problem.linearize(state[0], theta, t), state[1], t, ds, arith)

    def reverse_step(self, problem: Problem, theta: torch.Tensor, t: int, state: State,
                     ds: State, arith: FloatArithmetic):
        r"""Undo step ``t`` and take its adjoint at the reconstructed point (thesis Algorithm 2,
        lines 5-12, as run by exact reversal, floating-point reversal and DrMAD2). One gradient with
        its graph serves both :meth:`inverse` and the Hessian-vector product of :meth:`pullback`.

        Args:
            problem: the problem whose training gradient the step takes.
            theta: the hyperparameters.
            t: the step.
            state: the state after step ``t`` in ``arith``'s representation.
            ds: the cotangent :math:`ds_{t+1}` of that state.
            arith: the arithmetic the forward pass ran in.

        Returns:
            tuple: ``(before, ds_t, dtheta_t)``: the state before step ``t`` (same representation),
            its cotangent and the :math:`d\theta` of step ``t``.
        """
        lin: list[Linearization] = []

        def grad(w, th, tt):
            lin.append(problem.linearize(w, th, tt))
            return lin[-1].g.detach()

        before = self.inverse(state, theta, t, grad, arith)
        v = (arith.to_float(before[1]) if self.vjp_needs_velocity
             else torch.zeros_like(lin[-1].w))  # the adjoint does not read it
        ds, dtheta = self.pullback(lin[-1], v, t, ds, arith)
        return before, ds, dtheta

    def velocity_before(self, g: torch.Tensor, increment: torch.Tensor, theta: torch.Tensor,
                        t: int) -> torch.Tensor:
        """The velocity before step ``t`` with which the step, at gradient ``g``, moves the weights
        by ``increment`` (DrMAD places its straight line of thesis Algorithm 3, line 5, in the state
        space with it).

        Args:
            g: the training gradient at the weights before the step.
            increment: the weights' change :math:`w_{t+1} - w_t` on the line.
            theta: the hyperparameters.
            t: the step.

        Returns:
            torch.Tensor: the velocity before the step (in subclasses that define one).

        Raises:
            TypeError: always, in the base class.
        """
        raise TypeError(f"{type(self).__name__} does not say which velocity moves the weights by "
                        "a given increment; DrMAD needs it with learning-rate hyperparameters "
                        "or clipping")

    def pullback(self, lin: Linearization, v: torch.Tensor, t: int, ds: State,
                 arith: FloatArithmetic = FLOAT):
        r"""The adjoint of :meth:`update` at the velocity ``v`` and the linearized gradient ``lin``:
        the vector-Jacobian product of :math:`(w, v, \theta) \mapsto` ``update((w, v), g(w, theta),
        theta)`` with ``ds``, by double backward through the gradient's graph (so the
        :math:`\nabla_w\nabla_w L` and :math:`\nabla_\theta\nabla_w L` terms of thesis Algorithm 2,
        lines 11-12, come with it), as in :meth:`vjp`.

        Args:
            lin: the training gradient at the weights before the step, with its graph.
            v: the velocity before the step (as floats).
            t: the step.
            ds: the cotangent :math:`ds_{t+1}` of the state after the step.
            arith: the arithmetic of the forward step (its float counterpart is differentiated).

        Returns:
            tuple: ``((dw_t, dv_t), dtheta_t)``, zeros where the step does not depend on an input.
        """
        with torch.enable_grad():
            v_ = v.detach().to(lin.w.dtype).requires_grad_(True)
            out = self.update((lin.w, v_), lin.g, lin.theta, t, arith.float)
            dw, dv, dth = torch.autograd.grad(out, (lin.w, v_, lin.theta), grad_outputs=ds,
                                              allow_unused=True)
        dw = torch.zeros_like(lin.w) if dw is None else dw
        dv = torch.zeros_like(v_) if dv is None else dv
        return (dw, dv), (torch.zeros_like(lin.theta) if dth is None else dth)
