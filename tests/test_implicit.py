"""The implicit-function-theorem and truncated hypergradients (float64): the implicit solvers
against the closed form of ridge regression with per-feature L2 and against reverse mode on a
strongly convex problem trained to convergence; truncated reverse mode against reverse (bit for
bit at K = T), its bias against K, a hand-computed K = 1 and finite differences; bad options."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from hpostudy import hypergrad as hg
from hpostudy.dynamics import Adam, Problem, SGDMomentum, train

from .conftest import quadratic

SOLVERS = ["cg", "neumann", "fixed_point"]
DTYPE = torch.float64


def rel(a, b):
    return float((a - b).norm() / b.norm())


def _data(n, d, seed):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=gen, dtype=DTYPE)
    w_true = torch.randn(d, generator=gen, dtype=DTYPE)
    return X, w_true, gen


def ridge(d=8, n=60, m=40, seed=0, dtype=DTYPE):
    r"""Ridge regression with per-feature L2:
    :math:`L(w, \theta) = \frac{1}{2n}\|Xw - y\|^2 + \frac12\sum_j e^{\theta_j} w_j^2`,
    :math:`f(w) = \frac{1}{2m}\|X_v w - y_v\|^2`. Returns the problem, a theta, and the closed
    forms :math:`w^*(\theta) = H^{-1}X^\top y/n` with
    :math:`H = X^\top X/n + \mathrm{diag}(e^\theta)`
    and :math:`dF/d\theta = -e^{\theta} \odot w^* \odot H^{-1}\nabla_w f(w^*)` (the mixed partial
    :math:`\partial_{\theta_j}\nabla_w L = e^{\theta_j} w_j e_j` is diagonal)."""
    X, w_true, gen = _data(n, d, seed)
    y = X @ w_true + 0.1 * torch.randn(n, generator=gen, dtype=DTYPE)
    Xv = torch.randn(m, d, generator=gen, dtype=DTYPE)
    yv = Xv @ w_true + 0.3 * torch.randn(m, generator=gen, dtype=DTYPE)
    X, y, Xv, yv = (x.to(dtype) for x in (X, y, Xv, yv))

    def train_loss(w, theta, t):
        return 0.5 * ((X @ w - y) ** 2).mean() + 0.5 * (torch.exp(theta[:d]) * w ** 2).sum()

    def val_loss(w, theta):
        return 0.5 * ((Xv @ w - yv) ** 2).mean()

    def closed_form(theta, damping=0.0):
        X64, Xv64 = X.double(), Xv.double()
        th = theta[:d].double()
        H = X64.T @ X64 / n + torch.diag(torch.exp(th))
        w_star = torch.linalg.solve(H, X64.T @ y.double() / n)
        grad_f = Xv64.T @ (Xv64 @ w_star - yv.double()) / m
        u = torch.linalg.solve(H + damping * torch.eye(d, dtype=DTYPE), grad_f)
        return w_star, -torch.exp(th) * w_star * u

    theta = torch.linspace(-2.0, 0.0, d, dtype=DTYPE)
    return Problem(train_loss, val_loss, torch.zeros(d, dtype=dtype)), theta, closed_form


def logistic(d=6, n=80, m=50, seed=1):
    r"""Logistic regression with per-feature L2 (strongly convex, Hessian depending on w):
    :math:`L = \frac1n\sum_i \log(1 + e^{-y_i x_i^\top w}) + \frac12\sum_j e^{\theta_j} w_j^2`,
    :math:`f` the same log-loss on a validation set."""
    X, w_true, gen = _data(n, d, seed)
    y = torch.sign(X @ w_true + 0.5 * torch.randn(n, generator=gen, dtype=DTYPE))
    Xv = torch.randn(m, d, generator=gen, dtype=DTYPE)
    yv = torch.sign(Xv @ w_true + 0.5 * torch.randn(m, generator=gen, dtype=DTYPE))

    def train_loss(w, theta, t):
        return (torch.nn.functional.softplus(-y * (X @ w)).mean()
                + 0.5 * (torch.exp(theta) * w ** 2).sum())

    def val_loss(w, theta):
        return torch.nn.functional.softplus(-yv * (Xv @ w)).mean()

    theta = torch.linspace(-2.0, -0.5, d, dtype=DTYPE)
    return Problem(train_loss, val_loss, torch.zeros(d, dtype=DTYPE)), theta


# Training that converges to machine precision on both problems: the eigenvalues of the
# Hessians lie in [0.83, 2.23] (ridge) and [0.32, 0.84] (logistic, at the optimum);
# thesis-form SGD with momentum at alpha = 0.5, gamma = 0.5 contracts every mode by a factor
# of at most 0.77 per step (hypergrad.diagnostics.momentum_growth), 0.77^300 < 1e-33.
DYN = SGDMomentum(lr=0.5, momentum=0.5)
T_CONVERGED = 300


def test_the_ridge_closed_form_is_the_gradient_of_the_validation_loss_at_the_optimum():
    problem, theta, closed_form = ridge()
    _, expected = closed_form(theta)
    h = 1e-5
    for j in range(len(theta)):
        e = torch.zeros_like(theta)
        e[j] = h
        fd = (float(problem.val_loss(closed_form(theta + e)[0], theta))
              - float(problem.val_loss(closed_form(theta - e)[0], theta))) / (2 * h)
        assert fd == pytest.approx(float(expected[j]), rel=1e-7, abs=1e-10)  # rounding: 1e-16 / h
    # and training converges to w*: the implicit function theorem is taken at the optimum
    w_T, _ = train(problem, DYN, theta, T_CONVERGED)
    assert rel(w_T, closed_form(theta)[0]) < 1e-14


# ----------------------------------------------------------------- implicit: closed form
SCHEDULE = [1, 3, 10, 30, 100, 300]


@pytest.mark.parametrize("solver", SOLVERS)
def test_each_solver_converges_to_the_closed_form_as_iterations_grow(solver):
    problem, theta, closed_form = ridge()
    _, expected = closed_form(theta)
    errors, residuals = [], []
    for iterations in SCHEDULE:
        res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver=solver,
                          iterations=iterations, tol=0.0)
        errors.append(rel(res.hypergrad, expected))
        residuals.append(res.diagnostics.residual)
        assert res.diagnostics.iterations <= iterations
    # the error falls with every step of the schedule until it reaches rounding (1e-12)
    for before, after in zip(errors, errors[1:]):
        assert after < before or before < 1e-12, errors
    for before, after in zip(residuals, residuals[1:]):
        assert after < before or before < 1e-13, residuals
    assert errors[0] > 1e-2  # one iteration is far off: the schedule measures something
    assert errors[-1] < 1e-8
    # with the default tolerance the solve stops by itself, converged, at the same answer
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver=solver, iterations=1000)
    assert res.diagnostics.converged and res.diagnostics.residual <= 1e-10
    assert res.diagnostics.iterations < 1000
    assert rel(res.hypergrad, expected) < 1e-8


def test_cg_is_exact_after_as_many_iterations_as_features():
    problem, theta, closed_form = ridge(d=8)
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver="cg", iterations=8, tol=0.0)
    assert rel(res.hypergrad, closed_form(theta)[1]) < 1e-10


@pytest.mark.parametrize("solver", ["cg", "neumann"])
def test_damping_solves_the_damped_system(solver):
    problem, theta, closed_form = ridge()
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver=solver, damping=0.5,
                      iterations=500)
    assert res.diagnostics.damping == 0.5 and res.diagnostics.converged
    assert rel(res.hypergrad, closed_form(theta, damping=0.5)[1]) < 1e-9
    assert rel(res.hypergrad, closed_form(theta)[1]) > 1e-2  # damping changes the answer


def test_neumann_with_a_given_step_and_its_rate():
    """With step alpha the residual after k iterations is (I - alpha H)^k b exactly."""
    problem, theta, closed_form = ridge()
    w_star, _ = closed_form(theta)
    H = torch.autograd.functional.hessian(lambda w: problem.train_loss(w, theta, 0), w_star)
    b = problem.val_value_and_grads(w_star, theta)[1]
    alpha, k = 0.3, 7
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver="neumann", alpha=alpha,
                      iterations=k, tol=0.0)
    expected = torch.linalg.matrix_power(torch.eye(len(b), dtype=DTYPE) - alpha * H, k) @ b
    assert res.diagnostics.residual == pytest.approx(float(expected.norm() / b.norm()), rel=1e-9)
    assert res.diagnostics.alpha == alpha and res.diagnostics.hvps == k + 1


def test_solver_diagnostics_count_products_and_bytes():
    problem, theta, _ = ridge(d=8)
    P = 8
    cg = hg.implicit(problem, DYN, theta, 50, solver="cg", iterations=5, tol=0.0).diagnostics
    assert (cg.iterations, cg.hvps, len(cg.residuals), cg.residuals[0]) == (5, 6, 6, 1.0)
    assert cg.stored_bytes == 3 * P * 8 and cg.alpha is None and cg.batches == 1
    neu = hg.implicit(problem, DYN, theta, 50, solver="neumann", iterations=5, tol=0.0).diagnostics
    assert neu.hvps == 5 + P + 1  # the Lanczos estimate of the step (exact in P steps) counted
    assert neu.alpha > 0 and neu.stored_bytes == 2 * P * 8
    fp = hg.implicit(problem, DYN, theta, 50, solver="fixed_point", iterations=5,
                     tol=0.0).diagnostics
    assert (fp.hvps, fp.stored_bytes) == (6, 2 * 2 * P * 8)  # iterate and residual, (w, v)
    assert fp.dynamics_entries == () and not fp.negative_curvature
    assert set(fp.scalars()) >= {"iterations", "residual", "converged", "hvps", "stored_bytes"}


# ----------------------------------------------------------------- implicit vs reverse
@pytest.mark.parametrize("solver", SOLVERS)
def test_implicit_equals_reverse_on_a_strongly_convex_problem_trained_to_convergence(solver):
    """Reverse mode differentiates the T steps actually taken; what separates it from the
    theorem's answer is of the order of T * rho^T (rho <= 0.77, T = 300: below 1e-30), and
    both carry the rounding of float64 times the Hessian's condition number (2.6 here) and the
    number of steps, so 1e-10 leaves a wide margin over the rounding (measured ~1e-15) while
    any missing or extra term would be of order 1."""
    problem, theta = logistic()
    ref = hg.reverse(problem, DYN, theta, T_CONVERGED)
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver=solver, iterations=1000)
    assert res.diagnostics.converged
    assert rel(res.hypergrad, ref.hypergrad) < 1e-10
    assert torch.equal(res.w_final, ref.w_final) and res.val_loss == ref.val_loss
    # at a short horizon, far from the optimum, they differ: the theorem needs convergence
    short = hg.implicit(problem, DYN, theta, 5, solver=solver, iterations=1000)
    assert rel(short.hypergrad, hg.reverse(problem, DYN, theta, 5).hypergrad) > 0.1


@pytest.mark.parametrize("solver", SOLVERS)
def test_implicit_matches_central_finite_differences_at_convergence(solver):
    problem, theta = logistic()
    res = hg.implicit(problem, DYN, theta, T_CONVERGED, solver=solver, iterations=1000)

    def objective(th):
        w_T, _ = train(problem, DYN, th, T_CONVERGED)
        return float(problem.val_loss(w_T, th))

    h = 1e-5
    gen = torch.Generator().manual_seed(4)
    for _ in range(3):
        u = torch.randn(theta.shape, generator=gen, dtype=DTYPE)
        fd = (objective(theta + h * u) - objective(theta - h * u)) / (2 * h)
        assert float(res.hypergrad @ u) == pytest.approx(fd, rel=1e-7, abs=1e-12)


def test_fixed_point_with_k_iterations_is_truncated_reverse_with_k_steps_at_convergence():
    """At the fixed point every one of the last K reverse steps applies the same Jacobian, so
    the fixed-point iteration after K iterations is truncated reverse mode with K = K."""
    problem, theta = logistic()
    for k in (1, 5, 20):
        fp = hg.implicit(problem, DYN, theta, T_CONVERGED, solver="fixed_point", iterations=k,
                         tol=0.0)
        tr = hg.truncated(problem, DYN, theta, T_CONVERGED, steps=k)
        assert rel(fp.hypergrad, tr.hypergrad) < 1e-11


def test_batches_average_the_training_loss_over_the_last_steps():
    """With a loss that changes per step, batches=B takes the Hessian of the average of the
    last B steps' losses: on ridge with the targets scaled per step, the closed form with the
    averaged scale."""
    X, w_true, gen = _data(50, 5, 3)
    y = X @ w_true
    Xv, yv = X[:20] + 0.1, y[:20]
    scale = lambda t: 1.0 + 0.5 * (t % 2)  # noqa: E731

    def train_loss(w, theta, t):
        return 0.5 * scale(t) * ((X @ w - y) ** 2).mean() + 0.5 * (torch.exp(theta) * w ** 2).sum()

    problem = Problem(train_loss, lambda w, th: 0.5 * ((Xv @ w - yv) ** 2).mean(),
                      torch.zeros(5, dtype=DTYPE))
    theta = torch.full((5,), -1.0, dtype=DTYPE)
    T = 40
    res = hg.implicit(problem, DYN, theta, T, batches=2, iterations=50)
    w_T = res.w_final
    H = 1.25 * X.T @ X / 50 + torch.diag(torch.exp(theta))  # mean of scales 1 and 1.5
    u = torch.linalg.solve(H, Xv.T @ (Xv @ w_T - yv) / 20)
    assert rel(res.hypergrad, -torch.exp(theta) * w_T * u) < 1e-10
    assert res.diagnostics.batches == 2


# ----------------------------------------------------------------- hyperparameters of the dynamics
@pytest.mark.parametrize("solver", SOLVERS)
def test_learning_rate_hyperparameters_get_zero_with_a_warning(solver):
    problem, theta, closed_form = ridge(d=8)
    theta = torch.cat([theta, torch.tensor([math.log(0.5)], dtype=DTYPE)])  # theta[8]: log rate
    dyn = SGDMomentum(lr=1.0, momentum=0.5, lr_hyper=lambda th: torch.exp(th[8]))
    with pytest.warns(UserWarning, match=r"implicit: 1 hyperparameter\(s\) act through the "
                                         r"training dynamics \(theta\[8\]\): the implicit "
                                         r"function theorem gives them no hypergradient"):
        res = hg.implicit(problem, dyn, theta, T_CONVERGED, solver=solver, iterations=1000)
    assert res.diagnostics.dynamics_entries == (8,)
    assert res.hypergrad[8] == 0
    assert rel(res.hypergrad[:8], closed_form(theta)[1]) < 1e-8


def test_no_warning_without_hyperparameters_in_the_dynamics():
    problem, theta, _ = ridge()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for solver in SOLVERS:
            hg.implicit(problem, DYN, theta, 20, solver=solver, iterations=3)


# ----------------------------------------------------------------- implicit: failure modes
def test_cg_stops_at_negative_curvature_and_says_so():
    """L = (e^theta w_0^2 - w_1^2)/2 is indefinite; f pulls along w_1, the negative direction."""
    problem = Problem(lambda w, th, t: 0.5 * (torch.exp(th[0]) * w[0] ** 2 - w[1] ** 2),
                      lambda w, th: 0.5 * ((w - torch.tensor([0.0, 1.0], dtype=DTYPE)) ** 2).sum(),
                      torch.zeros(2, dtype=DTYPE))
    res = hg.implicit(problem, SGDMomentum(lr=0.1, momentum=0.5),
                      torch.zeros(1, dtype=DTYPE), 1, solver="cg")
    d = res.diagnostics
    assert d.negative_curvature and d.iterations == 1 and not d.converged


def test_a_diverging_neumann_series_is_reported_with_its_iterations():
    problem, theta, _ = ridge()
    with pytest.raises(FloatingPointError, match=r"implicit hypergradient \(neumann\) is NaN or "
                                                 r"infinite after \d+ iterations .* diverged"):
        hg.implicit(problem, DYN, theta, 50, solver="neumann", alpha=10.0, iterations=1000,
                    tol=0.0)


def test_float32_weights():
    problem, theta, closed_form = ridge(dtype=torch.float32)
    res = hg.implicit(problem, DYN, theta, 400, solver="cg", iterations=20)
    assert res.hypergrad.dtype == torch.float64  # theta's dtype
    assert rel(res.hypergrad, closed_form(theta)[1]) < 1e-4


# ----------------------------------------------------------------- truncated
@pytest.mark.parametrize("options", [{}, {"checkpoint_every": "sqrt"}, {"checkpoint_every": 4},
                                     {"record_norms": True}])
def test_truncated_with_k_equal_t_is_reverse_bit_for_bit(mlp, options):
    problem, dynamics, theta, _ = mlp  # learning-rate hyperparameters: velocities stored too
    T = 12
    ref = hg.reverse(problem, dynamics, theta, T, **options)
    for steps in (T, None):
        res = hg.truncated(problem, dynamics, theta, T, steps=steps, **options)
        assert torch.equal(res.hypergrad, ref.hypergrad)
        assert torch.equal(res.grad_w0, ref.grad_w0) and torch.equal(res.w_final, ref.w_final)
        d, r = res.diagnostics, ref.diagnostics
        assert (d.steps, d.stored_states, d.segment, d.stored_bytes, d.accumulated_norm) == \
            (T, r.stored_states, r.segment, r.stored_bytes, r.accumulated_norm)


def test_truncated_with_k_equal_t_is_reverse_bit_for_bit_under_adam():
    problem, theta, _ = ridge()
    dyn = Adam(lr=0.05)
    ref = hg.reverse(problem, dyn, theta, 30)
    assert torch.equal(hg.truncated(problem, dyn, theta, 30, steps=30).hypergrad, ref.hypergrad)


def test_truncation_error_shrinks_as_k_grows_on_a_contracting_problem():
    problem, theta = logistic()
    T = 300
    ref = hg.reverse(problem, DYN, theta, T).hypergrad
    errors = []
    for K in (1, 5, 10, 20, 40, 80):
        res = hg.truncated(problem, DYN, theta, T, steps=K)
        errors.append(rel(res.hypergrad, ref))
        d = res.diagnostics
        P = problem.w0.numel()
        assert (d.steps, d.stored_states, d.hvps, d.stored_bytes) == (K, K, K, K * P * 8)
        assert res.grad_w0 is None
    assert errors[0] > 0.1
    for before, after in zip(errors, errors[1:]):
        assert after < before, errors
    assert errors[-1] < 1e-3


def test_truncated_with_one_step_is_the_hand_computed_last_step():
    r"""On :math:`L = \tfrac12\sum_j e^{\theta_j}(w_j - c_j)^2`, :math:`f = \tfrac12\|w - b\|^2`,
    the last step :math:`w_T = w_{T-1} + \alpha(\gamma v_{T-1} - (1-\gamma) g(w_{T-1}))`
    alone gives :math:`h_1 = (w_T - b) \odot (-\alpha(1-\gamma)) e^{\theta} \odot (w_{T-1} - c)`."""
    problem, c, b = quadratic()
    theta = torch.tensor([0.1, -0.3, 0.5], dtype=DTYPE)
    alpha, gamma, T = 0.3, 0.7, 9
    dyn = SGDMomentum(lr=alpha, momentum=gamma)
    w_before, _ = train(problem, dyn, theta, T - 1)
    w_T, _ = train(problem, dyn, theta, T)
    expected = (w_T - b) * (-alpha * (1 - gamma)) * torch.exp(theta) * (w_before - c)
    res = hg.truncated(problem, dyn, theta, T, steps=1)
    assert rel(res.hypergrad, expected) < 1e-14


def test_truncated_is_the_exact_gradient_of_theta_acting_on_the_last_k_steps():
    """h_K differentiates f(w_T) with respect to a theta used by steps T-K..T-1 only (the first
    steps run at theta held fixed): central finite differences of that objective."""
    problem, theta = logistic()
    T, K, h = 40, 7, 1e-5
    res = hg.truncated(problem, DYN, theta, T, steps=K)
    start = train(problem, DYN, theta, T - K)

    def objective(th):
        w_T, _ = train(problem, DYN, th, K, state=start, t0=T - K)
        return float(problem.val_loss(w_T, th))

    gen = torch.Generator().manual_seed(5)
    for _ in range(3):
        u = torch.randn(theta.shape, generator=gen, dtype=DTYPE)
        fd = (objective(theta + h * u) - objective(theta - h * u)) / (2 * h)
        assert float(res.hypergrad @ u) == pytest.approx(fd, rel=1e-7, abs=1e-12)


# ----------------------------------------------------------------- options
@pytest.mark.parametrize("method,options,error,message", [
    ("implicit", {"solver": "lbfgs"}, ValueError,
     r"^solver must be one of 'cg', 'neumann', 'fixed_point', got 'lbfgs'"),
    ("implicit", {"iterations": 0}, ValueError, r"^iterations must be a positive integer, got 0"),
    ("implicit", {"iterations": -3}, ValueError, r"^iterations must be a positive integer"),
    ("implicit", {"iterations": 2.5}, ValueError, r"^iterations must be a positive integer"),
    ("implicit", {"iterations": True}, ValueError, r"^iterations must be a positive integer"),
    ("implicit", {"tol": -1e-3}, ValueError, r"^tol must be a finite non-negative number"),
    ("implicit", {"tol": math.nan}, ValueError, r"^tol must be a finite non-negative number"),
    ("implicit", {"damping": 0.0}, ValueError, r"^damping must be a positive number \(or None\), "
                                               r"got 0.0"),
    ("implicit", {"damping": -0.1}, ValueError, r"^damping must be a positive number"),
    ("implicit", {"solver": "neumann", "alpha": 0.0}, ValueError,
     r"^alpha must be a positive number \(or None\), got 0.0"),
    ("implicit", {"solver": "fixed_point", "damping": 0.1}, ValueError,
     r"^damping applies to the solvers 'cg' and 'neumann'"),
    ("implicit", {"solver": "cg", "alpha": 0.1}, ValueError,
     r"^alpha is the step of the solver 'neumann'; solver 'cg' has no step"),
    ("implicit", {"batches": 0}, ValueError, r"^batches must be an integer in \[1, T\] = \[1, 4\], "
                                             r"got 0"),
    ("implicit", {"batches": 5}, ValueError, r"^batches must be an integer in \[1, T\] = \[1, 4\]"),
    ("implicit", {"steps": 2}, TypeError, r"^method 'implicit' has no option 'steps'; its options"),
    ("truncated", {"steps": 0}, ValueError,
     r"^steps \(K, the steps reversed\) must be a positive integer, got 0"),
    ("truncated", {"steps": -2}, ValueError, r"^steps \(K, the steps reversed\) must be a "),
    ("truncated", {"steps": 2.5}, ValueError, r"^steps \(K, the steps reversed\) must be a "),
    ("truncated", {"steps": 9}, ValueError,
     r"^steps \(K = 9\) exceeds the horizon T \(4\): truncated reverse mode reverses at most"),
    ("truncated", {"checkpoint_every": 0}, ValueError, r"^checkpoint_every must be positive"),
    ("truncated", {"solver": "cg"}, TypeError, r"^method 'truncated' has no option 'solver'"),
])
def test_bad_options_are_refused_before_any_training(method, options, error, message):
    problem, theta, _ = ridge()

    def untrainable(w, th, t):
        raise AssertionError("trained before the options were checked")

    refusing = Problem(untrainable, problem.val_loss, problem.w0)
    with pytest.raises(error, match=message):
        hg.hypergradient(method, refusing, DYN, theta, 4, **options)
