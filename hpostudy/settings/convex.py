r"""Two convex bilevel problems whose hypergradient at the optimum is known to solver precision,
for comparing hypergradient estimators against an exact answer (the "Every hypergradient"
chapter).

* :class:`Ridge` -- ridge regression with one L2 coefficient per feature on seeded synthetic
  data: :math:`L(w, \theta) = \frac1{2n}\|Xw - y\|^2 + \frac12\sum_j e^{\theta_j} w_j^2`,
  :math:`f(w) = \frac1{2m}\|X_v w - y_v\|^2`. Closed form: :math:`w^* = H^{-1}X^\top y/n`,
  :math:`H = X^\top X/n + \operatorname{diag}(e^\theta)`, and
  :math:`dF/d\theta = -e^\theta \odot w^* \odot H^{-1}\nabla_w f(w^*)`
  (:meth:`Ridge.closed_form`).
* :class:`Cleaning` -- data cleaning (hyper-cleaning, as bilevel benchmark suites use it): a
  linear softmax classifier on digits or MNIST whose training labels are partly corrupted,
  one weight :math:`\sigma(\theta_i)` per training example,
  :math:`L(w, \theta) = \frac1n\sum_i \sigma(\theta_i)\,\ell_i(w) + \frac{\mu}2\|w\|^2`
  (strongly convex through :math:`\mu`), :math:`f(w)` the cross-entropy on clean validation
  data.

For both, :func:`bilevel_gradient` gives :math:`dF/d\theta` of :math:`F(\theta) =
f(w^*(\theta))` by the implicit function theorem at the optimum :math:`w^*` found by damped
Newton steps whose linear systems, like the final one, are solved by conjugate gradient to a
relative residual of ``1e-13`` (float64): an exact answer up to that tolerance, checked
against central finite differences of :math:`F` in the tests and, for ridge, against
:meth:`Ridge.closed_form`. Both train on the full batch: :math:`L` does not depend on the step.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import data
from ..dynamics import Problem


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Ridge:
    """Ridge regression with per-feature L2 on seeded Gaussian data with correlated features
    (``d`` features, a sparse true weight vector, noise ``noise``)."""

    kind = "ridge"

    def __init__(self, d: int, n_train: int, n_val: int, n_test: int, seed: int,
                 noise: float = 0.5, device: str = "cpu"):
        gen = _gen(seed)
        n = n_train + n_val + n_test
        mix = torch.eye(d, dtype=torch.float64) + 0.3 * torch.randn(d, d, generator=gen,
                                                                      dtype=torch.float64)
        x = torch.randn(n, d, generator=gen, dtype=torch.float64) @ mix / math.sqrt(1 + 0.09 * d)
        w_true = torch.randn(d, generator=gen, dtype=torch.float64)
        w_true[torch.randperm(d, generator=gen)[: d // 2]] = 0.0  # half the features irrelevant
        y = x @ w_true + noise * torch.randn(n, generator=gen, dtype=torch.float64)
        x, y = x.to(device), y.to(device)
        self.x, self.y = x[:n_train], y[:n_train]
        self.xv, self.yv = x[n_train:n_train + n_val], y[n_train:n_train + n_val]
        self.xt, self.yt = x[n_train + n_val:], y[n_train + n_val:]
        self.d, self.n = d, n_train
        self.m = d  # hyperparameters
        self.device = device

    def train_loss(self, w, theta, t=0):
        r"""The training loss: half the mean squared error plus the per-feature L2
        :math:`\tfrac12\sum_j e^{\theta_j} w_j^2` (full batch).

        Args:
            w: the regression weights.
            theta: the ``d`` log L2 coefficients.
            t: the step (unused: full batch).

        Returns:
            torch.Tensor: the scalar loss.
        """
        return 0.5 * ((self.x @ w - self.y) ** 2).mean() + 0.5 * (torch.exp(theta) * w * w).sum()

    def val_loss(self, w, theta):
        """The validation loss: half the mean squared error on the validation examples.

        Args:
            w: the regression weights.
            theta: the hyperparameters (unused).

        Returns:
            torch.Tensor: the scalar loss.
        """
        return 0.5 * ((self.xv @ w - self.yv) ** 2).mean()

    def problem(self) -> Problem:
        """The bilevel problem, training from zero weights in float64.

        Returns:
            Problem: the training and validation losses and the initial weights.
        """
        return Problem(self.train_loss, self.val_loss,
                       torch.zeros(self.d, dtype=torch.float64, device=self.device))

    def closed_form(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(w*, dF/dtheta)`` by dense linear algebra (the module docstring's formulas)."""
        H = self.x.T @ self.x / self.n + torch.diag(torch.exp(theta))
        w_star = torch.linalg.solve(H, self.x.T @ self.y / self.n)
        grad_f = self.xv.T @ (self.xv @ w_star - self.yv) / len(self.yv)
        return w_star, -torch.exp(theta) * w_star * torch.linalg.solve(H, grad_f)

    @torch.no_grad()
    def errors(self, w: torch.Tensor, theta: torch.Tensor) -> dict[str, float]:
        """Mean squared errors on the validation and test sets."""
        return {"val_error": float(((self.xv @ w - self.yv) ** 2).mean()),
                "test_error": float(((self.xt @ w - self.yt) ** 2).mean())}


class Cleaning:
    """Data cleaning: a linear softmax classifier (weights and biases, flat) on ``dataset``
    (``digits`` or ``mnist``) with ``n_train`` training examples of which a share ``corrupt``
    get a uniformly drawn wrong label, one weight :math:`\\sigma(\\theta_i)` per training
    example, L2 ``mu`` on the weights; validation and test labels are clean."""

    kind = "cleaning"

    def __init__(self, dataset: str, n_train: int, n_val: int, n_test: int, seed: int,
                 corrupt: float = 0.4, mu: float = 1e-3, device: str = "cpu"):
        if dataset == "digits":
            s = data.load_digits(n_val=n_val, n_test=n_test, seed=seed)
        else:
            s = data.load_mnist(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
        s = s.to(device, torch.float64)
        x, y = s.x_train[:n_train], s.y_train[:n_train].clone()
        C = s.num_classes
        gen = _gen(seed + 7919)
        flip = torch.rand(len(y), generator=gen) < corrupt
        shift = torch.randint(1, C, (len(y),), generator=gen)
        y[flip.to(y.device)] = ((y + shift.to(y.device)) % C)[flip.to(y.device)]
        self.x, self.y, self.flipped = x, y, flip.to(device)
        self.xv, self.yv, self.xt, self.yt = s.x_val, s.y_val, s.x_test, s.y_test
        self.features, self.classes = x.shape[1], C
        self.n, self.m, self.mu, self.device = len(y), len(y), mu, device

    def _logits(self, w, x):
        W = w[: self.features * self.classes].view(self.features, self.classes)
        return x @ W + w[self.features * self.classes:]

    def train_loss(self, w, theta, t=0):
        r"""The training loss: the mean of the cross-entropies weighted by
        :math:`\sigma(\theta_i)`, plus :math:`\tfrac12\mu\|w\|^2` (full batch).

        Args:
            w: the classifier's flat weights and biases.
            theta: one weight logit per training example.
            t: the step (unused: full batch).

        Returns:
            torch.Tensor: the scalar loss.
        """
        losses = F.cross_entropy(self._logits(w, self.x), self.y, reduction="none")
        return (torch.sigmoid(theta) * losses).mean() + 0.5 * self.mu * (w * w).sum()

    def val_loss(self, w, theta):
        """The validation loss: the mean cross-entropy on the clean validation examples.

        Args:
            w: the classifier's flat weights and biases.
            theta: the hyperparameters (unused).

        Returns:
            torch.Tensor: the scalar loss.
        """
        return F.cross_entropy(self._logits(w, self.xv), self.yv)

    def problem(self) -> Problem:
        """The bilevel problem, training from zero weights and biases in float64.

        Returns:
            Problem: the training and validation losses and the initial weights.
        """
        size = (self.features + 1) * self.classes
        return Problem(self.train_loss, self.val_loss,
                       torch.zeros(size, dtype=torch.float64, device=self.device))

    @torch.no_grad()
    def errors(self, w: torch.Tensor, theta: torch.Tensor) -> dict[str, float]:
        """Classification error rates on the validation and test sets."""
        wrong = lambda x, y: float((self._logits(w, x).argmax(1) != y).double().mean())  # noqa: E731
        return {"val_error": wrong(self.xv, self.yv), "test_error": wrong(self.xt, self.yt)}


# --------------------------------------------------------------------------- the exact answer
def _cg(hvp, b: torch.Tensor, tol: float, max_iter: int) -> torch.Tensor:
    """Conjugate gradient on :math:`Hu = b` from 0 until the relative residual is ``tol``."""
    u, r = torch.zeros_like(b), b.clone()
    p, rs = r.clone(), float(r @ r)
    target = tol * math.sqrt(rs)
    for _ in range(max_iter):
        if math.sqrt(rs) <= target:
            break
        hp = hvp(p)
        step = rs / float(p @ hp)
        u, r = u + step * p, r - step * hp
        rs, old = float(r @ r), rs
        p = r + (rs / old) * p
    return u


def optimum(task, theta: torch.Tensor, w: torch.Tensor | None = None, tol: float = 1e-13,
            max_newton: int = 50) -> torch.Tensor:
    """:math:`w^*(\\theta)`, the minimizer of the (strongly convex) training loss, by Newton
    steps with backtracking on the loss, each solved by conjugate gradient, until the gradient's
    norm is ``tol`` times its norm at the start (or stops falling)."""
    theta = theta.detach()
    w = task.problem().w0.clone() if w is None else w.detach().clone()
    g0 = None
    for _ in range(max_newton):
        with torch.enable_grad():
            w_ = w.requires_grad_(True)
            loss = task.train_loss(w_, theta)
            g = torch.autograd.grad(loss, w_, create_graph=True)[0]
        norm = float(g.detach().norm())
        g0 = norm if g0 is None else g0
        if norm <= tol * g0 or norm == 0:
            break
        hvp = lambda x: torch.autograd.grad(g, w_, x, retain_graph=True)[0].detach()  # noqa: E731
        step = _cg(hvp, -g.detach(), 1e-12, 10 * w.numel())
        base, t = float(loss.detach()), 1.0
        w = w.detach()
        while t > 1e-8 and float(task.train_loss(w + t * step, theta)) > base:
            t /= 2
        w = w + t * step
    return w.detach()


def bilevel_gradient(task, theta: torch.Tensor, w_star: torch.Tensor | None = None,
                     tol: float = 1e-13) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w*, dF/dtheta)`` at the optimum: :math:`\\partial_\\theta f - (\\partial_\\theta
    \\nabla_w L)^\\top H^{-1}\\nabla_w f` with :math:`H^{-1}\\nabla_w f` by conjugate gradient to
    a relative residual ``tol``."""
    theta = theta.detach()
    w_star = optimum(task, theta) if w_star is None else w_star
    with torch.enable_grad():
        w = w_star.clone().requires_grad_(True)
        th = theta.clone().requires_grad_(True)
        fw, fth = torch.autograd.grad(task.val_loss(w, th), (w, th), allow_unused=True)
        g = torch.autograd.grad(task.train_loss(w, th), w, create_graph=True)[0]
        u = _cg(lambda x: torch.autograd.grad(g, w, x, retain_graph=True)[0].detach(),
                fw.detach(), tol, 10 * w.numel())
        mixed = torch.autograd.grad(g, th, u)[0]
    direct = torch.zeros_like(theta) if fth is None else fth
    return w_star, (direct - mixed).detach()


def objective(task, theta: torch.Tensor) -> float:
    """:math:`F(\\theta) = f(w^*(\\theta), \\theta)`, for finite differences."""
    return float(task.val_loss(optimum(task, theta), theta.detach()))
