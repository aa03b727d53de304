"""The reverse-pass diagnostics behind the DrMAD-explosion chapter, against closed forms and the
hypergradient methods (float64)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hpostudy import hypergrad as hg
from hpostudy.dynamics import Problem, SGDMomentum, train
from hpostudy.hypergrad import diagnostics as dg
from hpostudy.hypergrad import effective_gamma

from .conftest import mlp_task, quadratic


def symmetric(eigenvalues, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=gen,
                                       dtype=torch.float64))
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


def test_lanczos_finds_both_extreme_eigenvalues():
    A = symmetric(np.linspace(-3.0, 7.0, 40) ** 3 / 50, seed=1)
    expected = torch.linalg.eigvalsh(A)
    low, high = dg.lanczos_extremes(lambda v: A @ v, 40, steps=40)
    assert low == pytest.approx(float(expected[0]), rel=1e-9)
    assert high == pytest.approx(float(expected[-1]), rel=1e-9)
    low, high = dg.lanczos_extremes(lambda v: A @ v, 40, steps=20)  # extremes converge first
    assert low == pytest.approx(float(expected[0]), rel=1e-3)
    assert high == pytest.approx(float(expected[-1]), rel=1e-3)


def test_lanczos_on_an_operator_with_few_distinct_eigenvalues_stops_early():
    A = symmetric([2.0] * 10 + [-1.0] * 10, seed=2)
    low, high = dg.lanczos_extremes(lambda v: A @ v, 20, steps=15)
    assert (low, high) == (pytest.approx(-1.0, abs=1e-10), pytest.approx(2.0, abs=1e-10))
    with pytest.raises(ValueError, match="steps >= 1"):
        dg.lanczos_extremes(lambda v: v, 5, steps=0)


def test_hessian_vector_product_is_the_hessian_averaged_over_the_steps():
    A = [symmetric([1.0, 2.0, -0.5], seed=s) for s in range(3)]
    problem = Problem(lambda w, th, t: 0.5 * w @ A[t] @ w + th.sum() * w.sum(),
                      lambda w, th: w.sum(), torch.zeros(3, dtype=torch.float64))
    w = torch.tensor([0.3, -0.2, 1.0], dtype=torch.float64)
    v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    theta = torch.zeros(1, dtype=torch.float64)
    hvp = dg.hessian_vector_product(problem, theta, [0, 2], w)
    torch.testing.assert_close(hvp(v), (A[0] + A[2]) @ v / 2)
    with pytest.raises(ValueError, match="at least one step"):
        dg.hessian_vector_product(problem, theta, [], w)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95])
def test_momentum_growth_is_the_spectral_radius_of_the_companion_matrix(gamma):
    for eta_lambda in (-0.5, -0.01, 0.0, 0.001, 0.5, 2.0, 2 * (1 + gamma) - 1e-9, 4.5):
        companion = torch.tensor([[1 + gamma - eta_lambda, -gamma], [1.0, 0.0]],
                                 dtype=torch.float64)
        radius = float(torch.linalg.eigvals(companion).abs().max())
        assert dg.momentum_growth(eta_lambda, gamma) == pytest.approx(radius, rel=1e-6)


def test_momentum_growth_threshold_of_stability():
    gamma = 0.9
    assert dg.momentum_growth(0.0, gamma) == pytest.approx(1.0)
    assert dg.momentum_growth(1.0, gamma) == pytest.approx(math.sqrt(gamma))  # damped
    assert dg.momentum_growth(2 * (1 + gamma), gamma) == pytest.approx(1.0)  # edge of stability
    assert dg.momentum_growth(2 * (1 + gamma) + 0.1, gamma) > 1.0
    assert dg.momentum_growth(-0.1, gamma) > 1.0  # negative curvature amplifies
    with pytest.raises(ValueError, match="momentum"):
        dg.momentum_growth(0.1, 1.0)


def test_true_path_points_are_the_forward_states_in_reverse():
    task, problem, space = mlp_task(lr_hyper=False)
    dynamics = SGDMomentum(lr=0.2, momentum=0.9)
    theta = space.init()
    states = []
    train(problem, dynamics, theta, 11, callback=lambda t, s: states.append(s[0]))
    points = list(dg.true_path_points(problem, dynamics, theta, 11, segment=3))
    assert [t for t, _ in points] == list(range(10, -1, -1))
    expected = [problem.w0] + states[:-1]  # w_t is the state before step t
    for t, w in points:
        torch.testing.assert_close(w, expected[t], rtol=0, atol=0)


def test_reverse_along_the_true_path_is_the_exact_hypergradient():
    task, problem, space = mlp_task(lr_hyper=False)
    dynamics = SGDMomentum(lr=0.2, momentum=effective_gamma(0.9))
    theta = space.init() + 0.05
    T = 30
    ref = hg.reverse(problem, dynamics, theta, T, record_norms=True)
    w_T, _ = train(problem, dynamics, theta, T)
    _, dw, direct = problem.val_value_and_grads(w_T, theta)
    out = dg.reverse_along(problem, dynamics, theta, dg.true_path_points(problem, dynamics,
                                                                         theta, T), dw)
    torch.testing.assert_close(direct + out["dtheta"], ref.hypergrad, rtol=1e-10, atol=1e-14)
    assert len(out["dw_norm"]) == T == len(out["curvature"])
    np.testing.assert_allclose(out["hypergrad_norm"], ref.diagnostics.accumulated_norm,
                               rtol=1e-9)


def test_reverse_along_the_line_is_drmad():
    task, problem, space = mlp_task(lr_hyper=False)
    dynamics = SGDMomentum(lr=0.2, momentum=effective_gamma(0.9))
    theta = space.init()
    T, S = 40, 8
    ref = hg.drmad(problem, dynamics, theta, T, reverse_steps=S)
    _, dw, direct = problem.val_value_and_grads(ref.w_final, theta)
    out = dg.reverse_along(problem, dynamics, theta,
                           dg.line_points(problem.w0, ref.w_final, T, S), dw)
    assert torch.equal(direct + out["dtheta"], ref.hypergrad)  # one loop, one line
    with pytest.raises(ValueError, match="1 <= S <= T"):
        list(dg.line_points(problem.w0, ref.w_final, T, T + 1))


def test_curvature_met_by_the_adjoint_is_the_rayleigh_quotient():
    """On L = -1/2 e^theta |w|^2 the Hessian is -e^theta I: every direction has curvature
    -e^theta, and the adjoint grows by the momentum factor of that curvature per step."""
    problem = Problem(lambda w, th, t: -0.5 * (torch.exp(th) * w ** 2).sum(),
                      lambda w, th: w.sum(), torch.zeros(3, dtype=torch.float64))
    theta = torch.full((3,), math.log(2.0), dtype=torch.float64)
    dynamics = SGDMomentum(lr=0.1, momentum=0.5)
    points = [(t, torch.zeros(3, dtype=torch.float64)) for t in range(39, -1, -1)]
    out = dg.reverse_along(problem, dynamics, theta, points, torch.ones(3, dtype=torch.float64))
    np.testing.assert_allclose(out["curvature"], -2.0, rtol=1e-12)
    factor = out["dw_norm"][-1] / out["dw_norm"][-2]
    assert factor == pytest.approx(dg.momentum_growth(0.1 * (1 - 0.5) * -2.0, 0.5), rel=1e-6)
    assert factor > 1
