"""drmad_explosion's Hessians on the union of mini-batches (the overhead fix of issue 20)."""
from __future__ import annotations

import torch

from hpostudy.experiments import drmad_explosion
from hpostudy.hypergrad.diagnostics import hessian_vector_product
from hpostudy.settings.mnist_mlp import build

TINY = {"n_train": 96, "n_val": 64, "n_test": 64, "hidden": (8,), "batch_size": 16}


def test_the_union_hessian_is_the_average_of_the_mini_batch_hessians():
    cfg = drmad_explosion.Config.for_profile("smoke", **TINY)
    task, problem, _, _, theta = build(cfg, seed=1)
    k, t = 3, 4  # steps 4, 5, 6: 96 / 16 = 6 batches per epoch, so the union crosses an epoch
    w = problem.w0 + 0.05 * torch.randn(problem.w0.shape, dtype=problem.w0.dtype,
                                        generator=torch.Generator().manual_seed(0))
    v = torch.randn(w.shape, dtype=w.dtype, generator=torch.Generator().manual_seed(1))
    union = drmad_explosion.union_problem(task, problem.w0, k)
    assert task.stream.indices(t).numel() == 16  # the task keeps its own stream
    torch.testing.assert_close(union.train_loss(w, theta, t),
                               sum(problem.train_loss(w, theta, s) for s in range(t, t + k)) / k)
    torch.testing.assert_close(hessian_vector_product(union, theta, [t], w)(v),
                               hessian_vector_product(problem, theta, range(t, t + k), w)(v))
    other = hessian_vector_product(problem, theta, range(t + 1, t + 1 + k), w)(v)
    assert not torch.allclose(hessian_vector_product(union, theta, [t], w)(v), other)
