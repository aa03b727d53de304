r"""Training dynamics: the step :math:`s_{t+1} = \Phi_t(s_t, \theta)` as a pure function, and its
reversal.

A state is the tuple ``(w, v)`` of flat weights and velocity (for Adam, ``v`` holds both
moments). A :class:`Problem` gives the training loss :math:`L(w, \theta, t)` on mini-batch ``t``
(penalty included) and the validation loss :math:`f(w, \theta)`. The optimizers:

* :class:`SGDMomentum` -- thesis Algorithm 1 (Maclaurin et al.'s form):
  :math:`v_t = \gamma_t v_{t-1} - (1-\gamma_t) g_t,\; w_{t+1} = w_t + \alpha_t v_t`;
* :class:`SGD` -- plain SGD, the same with :math:`\gamma_t = 0`;
* :class:`Nesterov` -- the reformulation of Bengio et al. (2013) cited in thesis section 1.2.1:
  :math:`v_{t+1} = \gamma_t v_t - \alpha_t \nabla L(w_t)`,
  :math:`w_{t+1} = w_t - \gamma_t v_t + (1 + \gamma_{t+1}) v_{t+1}`;
* :class:`TunedSGDMomentum` -- SGD with momentum in the form of Franceschi et al. (2017),
  :math:`v_t = \mu v_{t-1} - \eta g_t,\; w_t = w_{t-1} + v_t`, with :math:`\eta` and :math:`\mu`
  hyperparameters (entries of :math:`\theta`);
* :class:`Adam` -- Adam (Kingma & Ba 2015), state ``(w, (m, v))``.

Learning rates and momenta are per-step schedules (a number or a function of ``t``); learning
rates may also depend on the hyperparameters through ``lr_hyper(theta)`` (per-layer rates).

A dynamics class owns three things, so that every hypergradient method uses one definition:

* :meth:`Dynamics.update` -- the step after the gradient, written against an *arithmetic*
  (:class:`FloatArithmetic`, or the fixed point of :mod:`hpostudy.hypergrad.fixedpoint`);
* :meth:`Dynamics.inverse` -- the step undone, :math:`s_{t} = \Phi_t^{-1}(s_{t+1})` (thesis
  Algorithm 2 lines 6-8), exact in fixed point and approximate in floating point;
* :meth:`Dynamics.vjp` -- the adjoint
  :math:`(ds_t, d\theta) = ds_{t+1}\,\partial\Phi_t/\partial(s_t, \theta)` (thesis Algorithm 2
  lines 5, 9, 11, 12; Franceschi et al. 2017 Algorithm 2), one Hessian-vector product by double
  backward.

:meth:`Dynamics.reverse_step` composes the last two at the reconstructed point, sharing the
gradient's graph; exact reversal, floating-point reversal and DrMAD2 all run it.

The names the signatures use: ``State`` is the pair ``(w, v)`` of tensors, ``Schedule`` a
number or a function ``t -> value``, ``Grad`` a training gradient ``grad(w, theta, t)``, and
``FLOAT`` the plain :class:`FloatArithmetic`, every step's default.

The package holds one idea per module, and re-exports every public name from here:

* ``schedules`` -- learning-rate and momentum schedules (:func:`at`, :func:`piecewise`);
* ``problem`` -- the bilevel :class:`Problem` and the gradient's :class:`Linearization`;
* ``arithmetic`` -- :class:`FloatArithmetic`, the floating-point arithmetic of a step;
* ``base`` -- the step as a differentiable map, the base class :class:`Dynamics`;
* ``sgd`` -- :class:`SGDMomentum` (thesis Algorithm 1) and :class:`SGD`;
* ``nesterov`` -- :class:`Nesterov`;
* ``tuned`` -- :class:`TunedSGDMomentum`;
* ``adam`` -- :class:`Adam`;
* ``loop`` -- :func:`train` and the checks every method makes (:func:`check_call`, ...).
"""
from __future__ import annotations

from .adam import Adam
from .arithmetic import FLOAT, FloatArithmetic
from .base import Dynamics, Grad, State
from .loop import FiniteWatch, check_call, check_horizon, check_start, train
from .nesterov import Nesterov
from .problem import Linearization, Problem
from .schedules import Schedule, at, piecewise
from .sgd import SGD, SGDMomentum
from .tuned import TunedSGDMomentum

__all__ = ["Problem", "Linearization", "FloatArithmetic", "FLOAT", "Dynamics", "SGDMomentum",
           "SGD", "Nesterov", "TunedSGDMomentum", "Adam", "train", "check_call",
           "check_horizon", "check_start", "FiniteWatch", "at", "piecewise", "Schedule",
           "State", "Grad"]
