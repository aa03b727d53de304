"""Multi-task learning with learned task relations (Franceschi et al. 2017, section 4).

A softmax regression with one weight column per class, :math:`W = [w_1, \\dots, w_K]`, treats the
classes as :math:`K` related tasks. The multi-task regularizer of Evgeniou et al. (2005),

.. math:: \\Omega_{A,\\rho}(W) = \\sum_{j,k=1}^K A_{jk}\\,\\|w_j - w_k\\|_2^2 + \\sum_{k=1}^K \\rho_k \\|w_k\\|_2^2,

pulls the columns of related tasks together; :math:`A` (symmetric, nonnegative, zero diagonal)
and :math:`\\rho` are the hyperparameters. :class:`TaskRelations` lays them out as one flat
vector ``theta`` (the :math:`K(K-1)/2` entries of :math:`A` above the diagonal, then
:math:`\\rho`: one value shared by all tasks, or one per task for single-task learning) and
projects it onto the feasible set: :math:`A \\ge 0` and :math:`\\rho` in a box (HMTL), and with a
budget :math:`\\sum_{j,k} A_{jk} \\le R` (HMTL-S). :class:`SoftmaxRegression` is the paper's
training error :math:`E_\\text{tr}(W, b) = \\sum_{i} \\ell(W^\\top x_i + b, y_i) + \\Omega_{A,\\rho}(W)`
and validation error as a :class:`~hpostudy.dynamics.Problem`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import projections
from .dynamics import Problem


class TaskRelations:
    """The hyperparameters :math:`(A, \\rho)` of :math:`\\Omega_{A,\\rho}` as a flat vector.

    ``tasks``: :math:`K`; ``per_task_rho``: one :math:`\\rho_k` per task (else one shared
    :math:`\\rho`); ``a_max``: upper bound of each :math:`A_{jk}`; ``rho_bounds``: the box of
    :math:`\\rho`; ``radius``: the budget :math:`R` on :math:`\\sum_{j,k} A_{jk}` (None: no budget).
    """

    def __init__(self, tasks: int, per_task_rho: bool = False, a_max: float = math.inf,
                 rho_bounds: tuple[float, float] = (0.0, math.inf), radius: float | None = None):
        if tasks < 2:
            raise ValueError(f"task relations need at least 2 tasks, got {tasks}")
        if not a_max >= 0:
            raise ValueError(f"a_max must be non-negative, got {a_max}")
        if not 0 <= rho_bounds[0] <= rho_bounds[1]:
            raise ValueError(f"rho_bounds must satisfy 0 <= low <= high, got {rho_bounds}")
        if radius is not None and not 0 <= radius / 2 <= a_max:
            raise ValueError(f"the budget R = {radius} must lie in [0, 2 a_max] = [0, {2 * a_max}]: "
                             "a larger one would be cut by the box on each A_jk, and the "
                             "projection onto the intersection would not be exact")
        self.tasks, self.per_task_rho = tasks, per_task_rho
        self.a_max, self.rho_bounds, self.radius = a_max, rho_bounds, radius
        self.rows, self.cols = torch.triu_indices(tasks, tasks, 1)
        self.pairs = len(self.rows)
        self.size = self.pairs + (tasks if per_task_rho else 1)

    # ------------------------------------------------------------------ layout
    def init(self, a: float = 0.0, rho: float = 1.0, dtype=torch.float64, device=None) -> torch.Tensor:
        """``theta`` with every :math:`A_{jk} = a` and every :math:`\\rho_k = \\rho`."""
        theta = torch.full((self.size,), float(a), dtype=dtype, device=device)
        theta[self.pairs:] = rho
        return theta

    def matrix(self, theta: torch.Tensor) -> torch.Tensor:
        """:math:`A`, symmetric with zero diagonal (differentiable in ``theta``)."""
        A = theta.new_zeros(self.tasks, self.tasks)
        A = A.index_put((self.rows.to(theta.device), self.cols.to(theta.device)), theta[:self.pairs])
        return A + A.T

    def rho(self, theta: torch.Tensor) -> torch.Tensor:
        """:math:`\\rho_k` for every task (the shared value repeated)."""
        return theta[self.pairs:].expand(self.tasks)

    # ------------------------------------------------------------------ the regularizer
    def penalty(self, W: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """:math:`\\Omega_{A,\\rho}(W)` for ``W`` of shape ``(features, K)``, through the graph
        Laplacian :math:`L = \\mathrm{diag}(A\\mathbf 1) - A`:
        :math:`\\sum_{j,k} A_{jk}\\|w_j - w_k\\|^2 = 2\\,\\mathrm{tr}(W L W^\\top)`."""
        if W.dim() != 2 or W.shape[1] != self.tasks:
            raise ValueError(f"W must have one column per task, shape (features, {self.tasks}); "
                             f"got {tuple(W.shape)}")
        A = self.matrix(theta).to(W.dtype)
        laplacian = torch.diag(A.sum(1)) - A
        relations = 2.0 * ((W @ laplacian) * W).sum()
        return relations + (self.rho(theta).to(W.dtype) * (W * W).sum(0)).sum()

    # ------------------------------------------------------------------ constraints
    def project(self, theta: torch.Tensor) -> torch.Tensor:
        """The nearest feasible ``theta`` (Euclidean): :math:`0 \\le A_{jk} \\le a_{max}`, or
        :math:`A \\ge 0` with :math:`\\sum_{j,k} A_{jk} \\le R` when a budget is set, and
        :math:`\\rho` in its box. The two blocks are separate sets, so projecting each is exact."""
        if self.radius is None:
            a = projections.box(theta[:self.pairs], 0.0, self.a_max)
        else:
            A = projections.symmetric_budget(self.matrix(theta), self.radius)
            a = A[self.rows.to(theta.device), self.cols.to(theta.device)]
        rho = projections.box(theta[self.pairs:], *self.rho_bounds)
        return torch.cat([a, rho])


class SoftmaxRegression:
    """Softmax regression on feature vectors with the multi-task regularizer.

    The flat weights are ``[W.reshape(-1), b]`` with ``W`` of shape ``(features, K)``. The
    training loss is the paper's :math:`E_\\text{tr}`: the *sum* of the cross-entropies over the
    training examples plus :math:`\\Omega_{A,\\rho}(W)` (full batch: the step ``t`` plays no role);
    the validation loss is the mean cross-entropy on the validation examples.
    """

    def __init__(self, relations: TaskRelations, x_train: torch.Tensor, y_train: torch.Tensor,
                 x_val: torch.Tensor, y_val: torch.Tensor):
        if x_train.shape[1] != x_val.shape[1]:
            raise ValueError(f"training and validation features differ in size: "
                             f"{x_train.shape[1]} and {x_val.shape[1]}")
        self.relations, self.features = relations, x_train.shape[1]
        self.x_train, self.y_train, self.x_val, self.y_val = x_train, y_train, x_val, y_val
        self.size = (self.features + 1) * relations.tasks

    def split(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W, b)`` from the flat weights."""
        K = self.relations.tasks
        return w[:-K].view(self.features, K), w[-K:]

    def logits(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The scores :math:`x W + b` of every task (class).

        Args:
            w: the flat weights.
            x: feature vectors, one per row.

        Returns:
            torch.Tensor: one score per row and task.
        """
        W, b = self.split(w)
        return x @ W + b

    def train_loss(self, w: torch.Tensor, theta: torch.Tensor, t: int) -> torch.Tensor:
        r"""The regularized training error :math:`E_\text{tr}(W) = \sum_i \ell(W x_i + b, y_i) +
        \Omega_{A,\rho}(W)` (Franceschi et al. 2017, section 4).

        Args:
            w: the flat weights.
            theta: the relation and :math:`\rho` hyperparameters (see :class:`TaskRelations`).
            t: the step (unused: full batch).

        Returns:
            torch.Tensor: the scalar loss.
        """
        W, _ = self.split(w)
        data = F.cross_entropy(self.logits(w, self.x_train), self.y_train, reduction="sum")
        return data + self.relations.penalty(W, theta)

    def val_loss(self, w: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """The validation loss: the mean cross-entropy on the validation examples.

        Args:
            w: the flat weights.
            theta: the hyperparameters (unused).

        Returns:
            torch.Tensor: the scalar loss.
        """
        return F.cross_entropy(self.logits(w, self.x_val), self.y_val)

    def problem(self) -> Problem:
        """The :class:`~hpostudy.dynamics.Problem`, starting from zero weights."""
        w0 = torch.zeros(self.size, dtype=self.x_train.dtype, device=self.x_train.device)
        return Problem(self.train_loss, self.val_loss, w0)

    @torch.no_grad()
    def accuracy(self, w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of ``x`` classified correctly by the weights ``w``."""
        return float((self.logits(w, x).argmax(1) == y).double().mean())
