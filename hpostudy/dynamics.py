"""Training dynamics: the step :math:`s_{t+1} = \\Phi_t(s_t, \\theta)` as a pure function, and its
reversal.

A state is the tuple ``(w, v)`` of flat weights and velocity (for Adam, ``v`` holds both
moments). A :class:`Problem` gives the training loss :math:`L(w, \\theta, t)` on mini-batch ``t``
(penalty included) and the validation loss :math:`f(w, \\theta)`. The optimizers:

* :class:`SGDMomentum` -- thesis Algorithm 1 (Maclaurin et al.'s form):
  :math:`v_t = \\gamma_t v_{t-1} - (1-\\gamma_t) g_t,\\; w_{t+1} = w_t + \\alpha_t v_t`;
* :class:`SGD` -- plain SGD, the same with :math:`\\gamma_t = 0`;
* :class:`Nesterov` -- the reformulation of Bengio et al. (2013) cited in thesis section 1.2.1:
  :math:`v_{t+1} = \\gamma_t v_t - \\alpha_t \\nabla L(w_t)`,
  :math:`w_{t+1} = w_t - \\gamma_t v_t + (1 + \\gamma_{t+1}) v_{t+1}`;
* :class:`TunedSGDMomentum` -- SGD with momentum in the form of Franceschi et al. (2017),
  :math:`v_t = \\mu v_{t-1} - \\eta g_t,\\; w_t = w_{t-1} + v_t`, with :math:`\\eta` and :math:`\\mu`
  hyperparameters (entries of :math:`\\theta`);
* :class:`Adam` -- Adam (Kingma & Ba 2015), state ``(w, (m, v))``.

Learning rates and momenta are per-step schedules (a number or a function of ``t``); learning
rates may also depend on the hyperparameters through ``lr_hyper(theta)`` (per-layer rates).

A dynamics class owns three things, so that every hypergradient method uses one definition:

* :meth:`Dynamics.update` -- the step after the gradient, written against an *arithmetic*
  (:class:`FloatArithmetic`, or the fixed point of :mod:`hpostudy.hypergrad.fixedpoint`);
* :meth:`Dynamics.inverse` -- the step undone, :math:`s_{t} = \\Phi_t^{-1}(s_{t+1})` (thesis
  Algorithm 2 lines 6-8), exact in fixed point and approximate in floating point;
* :meth:`Dynamics.vjp` -- the adjoint :math:`(ds_t, d\\theta) = ds_{t+1}\\,\\partial\\Phi_t/\\partial(s_t,
  \\theta)` (thesis Algorithm 2 lines 5, 9, 11, 12; Franceschi et al. 2017 Algorithm 2), one
  Hessian-vector product by double backward.

:meth:`Dynamics.reverse_step` composes the last two at the reconstructed point, sharing the
gradient's graph; exact reversal, floating-point reversal and DrMAD2 all run it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import grad as func_grad

from .hyper import HyperSpace, check_vector

Schedule = float | Callable[[int], float]
State = tuple[torch.Tensor, torch.Tensor]
Grad = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def at(schedule: Schedule, t: int) -> float:
    """Value of a schedule (constant or function of the step) at step ``t``."""
    value = schedule(t) if callable(schedule) else schedule
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a learning-rate or momentum schedule gave {value!r} at step {t}; it "
                        "must give a number") from None


def piecewise(base: float, milestones: list[int], factor: float = 0.1) -> Callable[[int], float]:
    """``base`` multiplied by ``factor`` at each milestone step (e.g. /10 at epochs 30 and 60)."""
    steps = sorted(int(m) for m in milestones)

    def schedule(t: int) -> float:
        return base * factor ** sum(t >= m for m in steps)

    return schedule


@dataclass(frozen=True)
class Linearization:
    """The training gradient :math:`g = \\nabla_w L(w, \\theta, t)` with its graph: ``w`` and
    ``theta`` are leaves, so that ``torch.autograd.grad(g, (w, theta), u)`` gives the
    Hessian-vector products :math:`u^\\top\\nabla_w\\nabla_w L` and :math:`u^\\top\\nabla_\\theta\\nabla_w L`."""

    w: torch.Tensor
    theta: torch.Tensor
    g: torch.Tensor


@dataclass
class Problem:
    """What a hypergradient is taken of.

    ``train_loss(w, theta, t)`` -- training loss on mini-batch ``t`` with its penalty;
    ``val_loss(w, theta)`` -- the outer objective :math:`f` at the final weights;
    ``w0`` -- initial weights (fixed by a seed, the same in every meta-iteration).
    ``val_batch_loss(w, theta, k)`` optionally gives a validation loss on batch ``k`` (online
    methods use it; it defaults to ``val_loss``). ``space``: the hyperparameter space the
    hyperparameters must fit (checked by :meth:`check_theta`); None accepts any finite vector.
    """

    train_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    val_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    w0: torch.Tensor
    val_batch_loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None
    space: HyperSpace | None = None

    def __post_init__(self):
        if not isinstance(self.w0, torch.Tensor) or not self.w0.is_floating_point():
            raise TypeError("w0 must be a floating-point torch.Tensor, got "
                            f"{getattr(self.w0, 'dtype', type(self.w0).__name__)}")
        if self.w0.dim() != 1 or self.w0.numel() == 0:
            raise ValueError(f"w0 must be a non-empty flat vector, got shape {tuple(self.w0.shape)}")
        if not bool(torch.isfinite(self.w0).all()):
            raise ValueError("w0 has NaN or infinite entries")

    def check_theta(self, theta: torch.Tensor) -> None:
        """Raise a clear error unless ``theta`` fits this problem (see
        :meth:`~hpostudy.hyper.HyperSpace.check`)."""
        if isinstance(theta, torch.Tensor) and theta.device != self.w0.device:
            raise ValueError(f"hyperparameters on {theta.device} but the weights on "
                             f"{self.w0.device}: put both on one device")
        if self.space is not None:
            self.space.check(theta)
        else:
            check_vector(theta, None)
        if torch.finfo(theta.dtype).eps > torch.finfo(self.w0.dtype).eps:
            raise TypeError(f"hyperparameters are {theta.dtype} but the weights {self.w0.dtype}: "
                            f"the hypergradient would be computed in {theta.dtype}; pass "
                            f"theta.to({self.w0.dtype}) (hyperparameter spaces give float64)")

    def grad(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        """:math:`g_t = \\nabla_w L(w, \\theta, t)` by one backward pass (no graph kept)."""
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            return self._grad(w_, theta.detach(), t, create_graph=False)

    def func_grad(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        """The same gradient through ``torch.func.grad``, for use inside ``torch.func``
        transforms (the forward-mode methods take its ``jvp`` under ``vmap``)."""
        return func_grad(self.train_loss)(w, theta, t)

    def linearize(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> Linearization:
        """:math:`g_t` at ``(w, theta)`` with its graph (see :class:`Linearization`)."""
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            return Linearization(w_, th, self._grad(w_, th, t, create_graph=True))

    def _grad(self, w, theta, t, create_graph: bool) -> torch.Tensor:
        loss = self.train_loss(w, theta, t)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"train_loss must return a scalar tensor, got "
                             f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}")
        g = (torch.autograd.grad(loss, w, create_graph=create_graph, allow_unused=True)[0]
             if loss.requires_grad else None)
        if g is None:
            raise ValueError("train_loss(w, theta, t) does not depend on w")
        return g

    def val_value_and_grads(self, w: torch.Tensor, theta: torch.Tensor):
        """``f(w, theta)``, :math:`\\partial f/\\partial w` and the direct :math:`\\partial f/\\partial\\theta`."""
        with torch.enable_grad():
            w_ = w.detach().requires_grad_(True)
            th = theta.detach().requires_grad_(True)
            f = self.val_loss(w_, th)
            if not isinstance(f, torch.Tensor) or f.dim() != 0:
                raise ValueError(f"val_loss must return a scalar tensor, got "
                                 f"{tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__}")
            dw, dth = torch.autograd.grad(f, (w_, th), allow_unused=True)
        if not bool(torch.isfinite(f)):
            raise FloatingPointError(f"the validation loss at the final weights is {float(f.detach())}")
        dw = torch.zeros_like(w) if dw is None else dw
        return f.detach(), dw, (torch.zeros_like(theta) if dth is None else dth)


# --------------------------------------------------------------------------- arithmetic
class FloatArithmetic:
    """Floating-point arithmetic for :meth:`Dynamics.update` and :meth:`Dynamics.inverse`:
    the operations are the plain ones, and the inverse of the momentum multiplication divides
    (so it loses bits: Maclaurin et al. 2015, section 2.3).

    ``momentum_bits=k`` rounds each momentum to :math:`\\mathrm{round}(\\gamma 2^k)/2^k`, the value
    the fixed-point arithmetic uses, so that the adjoint of an exact reversal runs with the
    momentum the forward pass really had.
    """

    exact = False

    def __init__(self, momentum_bits: int | None = None):
        self.momentum_bits = momentum_bits

    def momentum(self, gamma: float) -> float:
        """The momentum this arithmetic really multiplies by."""
        if self.momentum_bits is None:
            return gamma
        scale = 1 << self.momentum_bits
        return max(1, min(scale - 1, round(gamma * scale))) / scale

    def mul_momentum(self, v: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        """:math:`\\gamma v` at step ``t`` (the multiplication that destroys bits)."""
        return gamma * v

    def div_momentum(self, v: torch.Tensor, gamma: float, t: int) -> torch.Tensor:
        """:math:`v/\\gamma`, the inverse of :meth:`mul_momentum` at step ``t``."""
        if gamma == 0:
            raise ValueError(f"the momentum is 0 at step {t}: reversing SGD with momentum divides "
                             "by it, and with momentum 0 the velocity before the step is lost. "
                             "Use method 'reverse' (stored trajectory) or 'drmad' (no reversal).")
        return v / gamma

    def from_float(self, x: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
        """``factor * x`` for a float ``x`` (a gradient), in this arithmetic's velocity format."""
        return factor * x

    def scale(self, x: torch.Tensor, factor) -> torch.Tensor:
        """``factor * x`` for a velocity ``x``, in this arithmetic's weight format."""
        return (factor.to(x.dtype) if isinstance(factor, torch.Tensor) else factor) * x

    def to_float(self, x: torch.Tensor) -> torch.Tensor:
        """A weight or velocity of this arithmetic as floats."""
        return x

    @property
    def float(self) -> "FloatArithmetic":
        """The floating-point arithmetic whose adjoint matches this one (itself)."""
        return self


FLOAT = FloatArithmetic()


# --------------------------------------------------------------------------- dynamics
class Dynamics:
    """Base class: a training step in two parts, the gradient and :meth:`update`.

    Subclasses define :meth:`update` (and, if reversible, :meth:`inverse`); :meth:`step`,
    :meth:`vjp` and :meth:`reverse_step` follow from them.
    """

    name = "dynamics"
    clip: float | None = None
    irreversible_reason = "its step loses the state before it"  # said when a reversal is asked

    @property
    def reversible(self) -> bool:
        """True when :meth:`inverse` exists (exact and floating-point reversal, DrMAD2)."""
        return False

    @property
    def vjp_needs_velocity(self) -> bool:
        """Whether :meth:`Dynamics.vjp` depends on the velocity's value. A step linear in the
        velocity with a hyperparameter-free factor on it does not, so the stored-trajectory
        reverse mode keeps only the weights."""
        return True

    def init(self, w0: torch.Tensor) -> State:
        """The state before step 0: the weights ``w0`` and a zero velocity."""
        return (w0, torch.zeros_like(w0))

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Raise a clear error if this dynamics cannot train ``w0`` at ``theta``."""

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        """The state after step ``t`` from the state before and the gradient ``g`` at it."""
        raise NotImplementedError

    def step(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
             arith: FloatArithmetic = FLOAT) -> State:
        """:math:`\\Phi_t`: the gradient ``grad(w, theta, t)`` at the weights, then :meth:`update`."""
        return self.update(state, grad(arith.to_float(state[0]), theta, t), theta, t, arith)

    def inverse(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
                arith: FloatArithmetic) -> State:
        """:math:`\\Phi_t^{-1}`: the state before step ``t`` from the state after it."""
        raise TypeError(f"{type(self).__name__} cannot be reversed: {self.irreversible_reason}. "
                        "Methods 'exact', 'float_reversal' and 'drmad2' reverse SGD "
                        "with momentum in the thesis' form (dynamics.SGDMomentum); use "
                        "'reverse', 'forward' or 'drmad' for other dynamics.")

    def vjp(self, problem: Problem, state: State, theta: torch.Tensor, t: int, ds: State,
            arith: FloatArithmetic = FLOAT):
        """Adjoint of step ``t`` at ``state`` (the state before it): returns :math:`ds_t` and
        step ``t``'s contribution to :math:`d\\theta` (Franceschi et al. 2017, Algorithm 2)."""
        return self.pullback(problem.linearize(state[0], theta, t), state[1], t, ds, arith)

    def reverse_step(self, problem: Problem, theta: torch.Tensor, t: int, state: State,
                     ds: State, arith: FloatArithmetic):
        """Undo step ``t`` and take its adjoint at the reconstructed point (thesis Algorithm 2,
        lines 5-12, as run by exact reversal, floating-point reversal and DrMAD2).

        ``state`` is the state after step ``t`` in ``arith``'s representation; returns the
        state before it (same representation), :math:`ds_t` and the :math:`d\\theta` of step ``t``.
        One gradient with its graph serves both the inverse and the Hessian-vector product.
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
        """The velocity before step ``t`` with which the step, at gradient ``g``, moves the
        weights by ``increment`` (DrMAD places its straight line in the state space with it)."""
        raise TypeError(f"{type(self).__name__} does not say which velocity moves the weights by "
                        "a given increment; DrMAD needs it with learning-rate hyperparameters "
                        "or clipping")

    def pullback(self, lin: Linearization, v: torch.Tensor, t: int, ds: State,
                 arith: FloatArithmetic = FLOAT):
        """The adjoint of :meth:`update` at the velocity ``v`` and the linearized gradient
        ``lin`` (double backward through the gradient's graph), as in :meth:`vjp`."""
        with torch.enable_grad():
            v_ = v.detach().to(lin.w.dtype).requires_grad_(True)
            out = self.update((lin.w, v_), lin.g, lin.theta, t, arith.float)
            dw, dv, dth = torch.autograd.grad(out, (lin.w, v_, lin.theta), grad_outputs=ds,
                                              allow_unused=True)
        dw = torch.zeros_like(lin.w) if dw is None else dw
        dv = torch.zeros_like(v_) if dv is None else dv
        return (dw, dv), (torch.zeros_like(lin.theta) if dth is None else dth)


class SGDMomentum(Dynamics):
    """Thesis Algorithm 1: :math:`v_t = \\gamma_t v_{t-1} - (1-\\gamma_t) g_t`, :math:`w_{t+1} = w_t + \\alpha_t v_t`.

    ``lr``, ``momentum``: numbers or schedules ``t -> value``; ``lr_hyper(theta)``: optional
    per-parameter multiplier of the learning rate (learning rates as hyperparameters);
    ``clip``: project the weights onto ``[-clip, clip]`` after each step (thesis section 2.4).
    """

    name = "sgd_momentum"

    def __init__(self, lr: Schedule = 0.1, momentum: Schedule = 0.9,
                 lr_hyper: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 clip: float | None = None):
        for label, value in (("lr", lr), ("momentum", momentum)):
            if not callable(value) and not isinstance(value, (int, float)):
                raise TypeError(f"{label} must be a number or a function of the step, got "
                                f"{type(value).__name__}")
        if not callable(lr) and not lr >= 0:
            raise ValueError(f"the learning rate must be non-negative, got {lr}")
        if not callable(momentum) and not 0 <= momentum < 1:
            raise ValueError(f"the momentum must be in [0, 1), got {momentum}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be positive (or None), got {clip}")
        if lr_hyper is not None and not callable(lr_hyper):
            raise TypeError("lr_hyper must be a function theta -> per-parameter multiplier")
        self.lr, self.momentum, self.lr_hyper, self.clip = lr, momentum, lr_hyper, clip

    @property
    def reversible(self) -> bool:
        return self.clip is None

    @property
    def vjp_needs_velocity(self) -> bool:
        return self.lr_hyper is not None or self.clip is not None

    def gamma(self, t: int) -> float:
        gamma = at(self.momentum, t)
        if not 0 <= gamma < 1:
            raise ValueError(f"the momentum is {gamma} at step {t}: it must be in [0, 1)")
        return gamma

    def alpha(self, theta: torch.Tensor, t: int):
        """:math:`\\alpha_t`, a number or (with ``lr_hyper``) a per-parameter tensor."""
        base = at(self.lr, t)
        if not base >= 0:
            raise ValueError(f"the learning rate is {base} at step {t}: it must be non-negative")
        return base * self.lr_hyper(theta) if self.lr_hyper is not None else base

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """The schedules at step 0 and the learning-rate multiplier ``lr_hyper(theta)``: a
        number or a per-parameter vector shaped like ``w0``, finite and non-negative."""
        self.gamma(0)
        alpha = self.alpha(theta, 0)
        if isinstance(alpha, torch.Tensor):
            if alpha.shape not in ((), w0.shape):
                raise ValueError(f"lr_hyper(theta) has shape {tuple(alpha.shape)}; it must be a "
                                 f"number or one rate per parameter, shape {tuple(w0.shape)}")
            if not bool(torch.isfinite(alpha).all()) or bool((alpha < 0).any()):
                raise ValueError("lr_hyper(theta) gives negative or non-finite learning rates")

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        """Algorithm 1, lines 5-6, in ``arith``."""
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        v = arith.mul_momentum(v, gamma, t) - arith.from_float(g, 1.0 - gamma)
        w = w + arith.scale(v, self.alpha(theta, t))
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v)

    def velocity_before(self, g: torch.Tensor, increment: torch.Tensor, theta: torch.Tensor,
                        t: int) -> torch.Tensor:
        """:math:`v_{t-1} = (v_t + (1-\\gamma_t) g_t)/\\gamma_t` with :math:`v_t` = ``increment``
        :math:`/\\alpha_t` (Algorithm 2, line 8); any velocity when :math:`\\gamma_t = 0`."""
        gamma = self.gamma(t)
        if gamma == 0:
            return torch.zeros_like(g)
        alpha = self.alpha(theta, t)
        alpha = alpha.detach().to(g.dtype) if isinstance(alpha, torch.Tensor) else alpha
        return (increment / alpha + (1.0 - gamma) * g) / gamma

    def inverse(self, state: State, theta: torch.Tensor, t: int, grad: Grad,
                arith: FloatArithmetic) -> State:
        """Algorithm 2, lines 6-8: :math:`w_t = w_{t+1} - \\alpha_t v_t`, :math:`g_t = \\nabla L(w_t)`,
        :math:`v_{t-1} = (v_t + (1-\\gamma_t) g_t)/\\gamma_t` (the division is exact in fixed
        point, where the information buffer returns the bits the multiplication dropped)."""
        if not self.reversible:
            raise ValueError("SGD with momentum cannot be reversed with clipped weights; set clip=None")
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        w = w - arith.scale(v, self.alpha(theta, t))
        g = grad(arith.to_float(w), theta, t)
        return (w, arith.div_momentum(v + arith.from_float(g, 1.0 - gamma), gamma, t))


class SGD(SGDMomentum):
    """Plain SGD, :math:`w_{t+1} = w_t - \\alpha_t g_t` (Algorithm 1 with :math:`\\gamma_t = 0`)."""

    name = "sgd"

    def __init__(self, lr: Schedule = 0.1, lr_hyper=None, clip=None):
        super().__init__(lr=lr, momentum=0.0, lr_hyper=lr_hyper, clip=clip)

    @property
    def reversible(self) -> bool:
        return False

    def inverse(self, state, theta, t, grad, arith):
        return Dynamics.inverse(self, state, theta, t, grad, arith)


class Nesterov(SGDMomentum):
    """Nesterov momentum in the reformulation of Bengio et al. (2013), thesis section 1.2.1:
    :math:`v_{t+1} = \\gamma_t v_t - \\alpha_t g_t`, :math:`w_{t+1} = w_t - \\gamma_t v_t + (1+\\gamma_{t+1}) v_{t+1}`.
    The learning rate is inside the velocity here; this form is not reversed exactly."""

    name = "nesterov"

    @property
    def reversible(self) -> bool:
        return False

    @property
    def vjp_needs_velocity(self) -> bool:
        return self.clip is not None

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        if arith.exact:
            raise TypeError("Nesterov momentum has no fixed-point form: it is not reversed exactly")
        w, v = state
        alpha = self.alpha(theta, t)
        v_new = self.gamma(t) * v - (alpha.to(w.dtype) if isinstance(alpha, torch.Tensor) else alpha) * g
        w = w - self.gamma(t) * v + (1.0 + self.gamma(t + 1)) * v_new
        if self.clip is not None:
            w = w.clamp(-self.clip, self.clip)
        return (w, v_new)

    def inverse(self, state, theta, t, grad, arith):
        return Dynamics.inverse(self, state, theta, t, grad, arith)


class TunedSGDMomentum(Dynamics):
    """SGD with momentum whose learning rate and momentum are hyperparameters, in the form of
    Franceschi et al. (2017, section 1): :math:`v_t = \\mu v_{t-1} - \\eta\\nabla J_t(w_{t-1})`,
    :math:`w_t = w_{t-1} + v_t`, with :math:`\\eta` = ``theta[lr_entry]`` and :math:`\\mu` =
    ``theta[momentum_entry]`` (one global value each; RT-HO tunes them with the other
    hyperparameters).

    The constraints :math:`\\eta \\ge 0`, :math:`0 \\le \\mu \\le 1` belong to the outer optimizer
    (e.g. :class:`~hpostudy.metaopt.ProjectedAdam` with a box). ``reverse``, ``forward``,
    ``rt_ho`` and ``drmad`` differentiate with respect to both; exact and floating-point
    reversal (and DrMAD2) refuse it: they represent a momentum fixed before training.
    """

    name = "tuned_sgd_momentum"
    irreversible_reason = ("its momentum is a hyperparameter, and exact reversal multiplies and "
                           "divides by a momentum n/2^k fixed before training")

    def __init__(self, lr_entry: int, momentum_entry: int):
        for label, value in (("lr_entry", lr_entry), ("momentum_entry", momentum_entry)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{label} must be the index of an entry of theta, got {value!r}")
        if lr_entry == momentum_entry:
            raise ValueError("the learning rate and the momentum need entries of their own, got "
                             f"both at {lr_entry}")
        self.lr_entry, self.momentum_entry = lr_entry, momentum_entry

    def hyperparameters(self, theta: torch.Tensor, like: torch.Tensor):
        """:math:`(\\eta, \\mu)` from ``theta`` in the weights' dtype (differentiable)."""
        return theta[self.lr_entry].to(like.dtype), theta[self.momentum_entry].to(like.dtype)

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """Both entries exist in ``theta``."""
        for label, entry in (("lr_entry", self.lr_entry), ("momentum_entry", self.momentum_entry)):
            if entry >= theta.numel():
                raise ValueError(f"{label}={entry} but theta has {theta.numel()} entries: append "
                                 "the learning rate and the momentum to the hyperparameters, or "
                                 "point at their entries")

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
        if arith.exact:
            raise TypeError(f"{type(self).__name__} cannot be reversed: {self.irreversible_reason}")
        w, v = state
        lr, momentum = self.hyperparameters(theta, w)
        v = momentum * v - lr * g
        return (w + v, v)

    def velocity_before(self, g: torch.Tensor, increment: torch.Tensor, theta: torch.Tensor,
                        t: int) -> torch.Tensor:
        """:math:`v_{t-1} = (\\Delta w + \\eta g_t)/\\mu` for the step that moves the weights by
        ``increment`` :math:`= \\Delta w` (DrMAD's line). When :math:`\\mu = 0` every velocity
        fits that step, but :math:`\\partial v_t/\\partial\\mu = v_{t-1}` still counts: it is the
        velocity of the previous step, :math:`v_{t-1} = w_{t-1} - w_{t-2}`, which on the line is
        the same increment (and the initial zero velocity before step 0)."""
        lr, momentum = (x.detach() for x in self.hyperparameters(theta, g))
        if float(momentum) == 0:
            return torch.zeros_like(g) if t == 0 else increment.to(g.dtype)
        return (increment + lr * g) / momentum


class Adam(Dynamics):
    """Adam (Kingma & Ba 2015, Algorithm 1) as training dynamics, the inner optimizer of the
    multi-task experiment of Franceschi et al. (2017, section 4). The state is ``(w, u)`` with
    the moments stacked, :math:`u = (m, v)` of shape ``(2, P)``; step ``t`` (from 0) is

    .. math:: m_{t+1} = \\beta_1 m_t + (1-\\beta_1) g_t,\\quad v_{t+1} = \\beta_2 v_t + (1-\\beta_2) g_t^2,\\quad
              w_{t+1} = w_t - \\alpha_t \\frac{m_{t+1}/(1-\\beta_1^{t+1})}
              {\\sqrt{v_{t+1}/(1-\\beta_2^{t+1}) + \\epsilon_\\text{root}} + \\epsilon}.

    ``lr``: :math:`\\alpha_t`, a number or a schedule. ``eps_root`` (torchopt's name) sits inside
    the square root so that the step stays differentiable where a gradient entry is exactly zero
    (:math:`d\\sqrt{v}/dv` is infinite at 0); at its default it changes no step by more than
    rounding unless :math:`|g| < 10^{-8}`. ``reverse``, ``forward`` and ``rt_ho`` differentiate
    it; the reversing methods and DrMAD's line do not apply.
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
        return (w0, torch.zeros((2, *w0.shape), dtype=w0.dtype, device=w0.device))

    def alpha(self, t: int) -> float:
        """:math:`\\alpha_t`, refused unless non-negative (a negative rate ascends the loss)."""
        alpha = at(self.lr, t)
        if not alpha >= 0:
            raise ValueError(f"the learning rate is {alpha} at step {t}: it must be non-negative")
        return alpha

    def check(self, w0: torch.Tensor, theta: torch.Tensor) -> None:
        """The learning-rate schedule at step 0 (later steps are checked as they run)."""
        self.alpha(0)

    def update(self, state: State, g: torch.Tensor, theta: torch.Tensor, t: int,
               arith: FloatArithmetic = FLOAT) -> State:
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
        raise TypeError("DrMAD's straight line does not determine Adam's moments; use "
                        "'reverse' or 'forward' for Adam")


# --------------------------------------------------------------------------- checks and loops
def check_horizon(T, name: str = "T") -> int:
    """The one check of a horizon (and of other step counts): a positive integer."""
    if isinstance(T, bool) or not isinstance(T, int) or T <= 0:
        raise ValueError(f"{name} must be a positive integer number of steps, got {T!r}")
    return T


def check_call(problem: Problem, dynamics: Dynamics, theta: torch.Tensor, T: int,
               state: State | None = None) -> None:
    """The checks every method makes before training: the horizon, the problem, the
    hyperparameters against the problem's space, the dynamics and its settings at ``theta``,
    and a starting ``state`` if one is given."""
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
    """The one check of the step a continued run starts at: a non-negative integer."""
    if isinstance(t0, bool) or not isinstance(t0, int) or t0 < 0:
        raise ValueError(f"t0 must be a non-negative integer, got {t0!r}")
    return t0


class FiniteWatch:
    """Watches a tensor after every step and names the first step at which it held a NaN or an
    infinity. The per-step maxima are kept on the tensor's device and inspected every
    ``every`` steps, so a GPU is not synchronized at each step."""

    def __init__(self, what: str, like: torch.Tensor, every: int = 64):
        self.what, self.every = what, every
        self.values = torch.empty(every, dtype=torch.float64, device=like.device)
        self.steps: list[int] = []

    def __call__(self, t: int, x: torch.Tensor) -> None:
        self.values[len(self.steps)] = x.detach().abs().amax()
        self.steps.append(t)
        if len(self.steps) == self.every:
            self.flush()

    def flush(self) -> None:
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
    """Run ``T`` steps of ``dynamics`` from ``state`` (default: ``problem.w0``) without tracking
    gradients; ``callback(t, state_after_step)`` sees every step. A NaN or infinite weight
    raises ``FloatingPointError`` naming the step where it appeared."""
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
