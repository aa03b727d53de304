"""Every hypergradient method against closed forms, finite differences and each other (float64)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hpostudy import hypergrad as hg
from hpostudy.dynamics import SGD, Nesterov, Problem, SGDMomentum, train
from hpostudy.hypergrad import effective_gamma

from .conftest import mlp_task, quadratic

EXACT_METHODS = ["reverse", "exact", "forward", "float_reversal"]


def rel(a, b):
    return float((a - b).norm() / b.norm())


def closed_form_quadratic(theta, c, b, alpha, gamma, T):
    """d f / d theta for thesis-form SGDm on a diagonal quadratic: per coordinate the state
    (w - c, v) evolves by a fixed 2x2 matrix M(a), so d(M^T)/da = sum_k M^k M' M^(T-1-k)."""
    out = []
    for j in range(len(c)):
        a = float(np.exp(float(theta[j])))
        M = np.array([[1 - alpha * (1 - gamma) * a, alpha * gamma], [-(1 - gamma) * a, gamma]])
        dM = np.array([[-alpha * (1 - gamma), 0.0], [-(1 - gamma), 0.0]])
        x0 = np.array([0.0 - float(c[j]), 0.0])
        powers = [np.eye(2)]
        for _ in range(T):
            powers.append(powers[-1] @ M)
        dMT = sum(powers[k] @ dM @ powers[T - 1 - k] for k in range(T))
        wT = (powers[T] @ x0)[0] + float(c[j])
        out.append((wT - float(b[j])) * (dMT @ x0)[0] * a)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("method", EXACT_METHODS)
def test_quadratic_matches_closed_form(method):
    problem, c, b = quadratic()
    theta = torch.tensor([0.1, -0.3, 0.5], dtype=torch.float64)
    gamma = effective_gamma(0.9)
    dynamics = SGDMomentum(lr=0.3, momentum=gamma)
    T = 60
    result = hg.hypergradient(method, problem, dynamics, theta, T)
    expected = closed_form_quadratic(theta, c, b, 0.3, gamma, T)
    assert rel(result.hypergrad, expected) < 1e-6


def test_methods_agree_on_mlp_with_unit_l2_and_layer_rates(mlp):
    problem, dynamics, theta, _ = mlp
    T = 40
    results = {m: hg.hypergradient(m, problem, dynamics, theta, T) for m in EXACT_METHODS}
    ref = results["reverse"].hypergrad
    assert ref.abs().max() > 0
    for name, res in results.items():
        assert rel(res.hypergrad, ref) < 1e-6, name
        assert rel(res.w_final, results["reverse"].w_final) < 1e-6, name
    # the gradient with respect to w_0 agrees where a method defines it
    for name in ("exact", "float_reversal"):
        assert rel(results[name].grad_w0, results["reverse"].grad_w0) < 1e-6


def test_reverse_matches_central_finite_differences(mlp):
    problem, dynamics, theta, _ = mlp
    T, h = 30, 1e-4
    hypergrad = hg.reverse(problem, dynamics, theta, T).hypergrad

    def objective(th):
        w_T, _ = train(problem, dynamics, th, T)
        return float(problem.val_loss(w_T, th))

    gen = torch.Generator().manual_seed(3)
    directions = [torch.randn(theta.shape, generator=gen, dtype=theta.dtype) for _ in range(2)]
    for i in torch.topk(hypergrad.abs(), 3).indices.tolist():  # the largest coordinates
        e = torch.zeros_like(theta)
        e[i] = 1.0
        directions.append(e)
    for u in directions:
        fd = (objective(theta + h * u) - objective(theta - h * u)) / (2 * h)
        assert abs(fd - float(u @ hypergrad)) <= 1e-6 * abs(fd) + 1e-12


def test_checkpointed_reverse_equals_stored(mlp):
    problem, dynamics, theta, _ = mlp
    full = hg.reverse(problem, dynamics, theta, 23)
    for k in (4, "sqrt", 50):
        ckpt = hg.reverse(problem, dynamics, theta, 23, checkpoint_every=k)
        assert torch.allclose(ckpt.hypergrad, full.hypergrad, rtol=1e-12, atol=0)
    assert hg.reverse(problem, dynamics, theta, 23, checkpoint_every="sqrt").diagnostics.stored_states == 5


def test_reverse_handles_nesterov_and_plain_sgd():
    """The generic reverse pass differentiates any dynamics; checked by finite differences."""
    task, problem, space = mlp_task(lr_hyper=False)
    theta = space.init()
    for dynamics in (Nesterov(lr=0.05, momentum=0.9), SGD(lr=0.2)):
        hypergrad = hg.reverse(problem, dynamics, theta, 15).hypergrad
        fwd = hg.forward(problem, dynamics, theta, 15).hypergrad
        assert rel(fwd, hypergrad) < 1e-9
        u = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=theta.dtype)
        f = [float(problem.val_loss(train(problem, dynamics, theta + s * 1e-4 * u, 15)[0], theta))
             for s in (1, -1)]
        fd = (f[0] - f[1]) / 2e-4
        assert abs(fd - float(u @ hypergrad)) <= 1e-5 * abs(fd)  # forward == reverse is the strict check


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_exact_reversal_recovers_w0_bit_exactly(dtype):
    task, problem, space = mlp_task(dtype=dtype, hidden=(8,), lr_hyper=False)
    dynamics = SGDMomentum(lr=0.1, momentum=0.9)
    result = hg.exact(problem, dynamics, space.init(), 1000)
    assert result.diagnostics.recovered_w0 is True
    bound = result.diagnostics.information_bound_bits
    assert bound == pytest.approx(-np.log2(effective_gamma(0.9)))
    assert abs(result.diagnostics.buffer_bits_per_param_step - bound) < 0.5
    assert result.diagnostics.buffer_bits_per_param_step == pytest.approx(bound, rel=1e-3)


def test_exact_reversal_takes_both_passes_gradients_by_one_computation(monkeypatch):
    """On a GPU a gradient taken without its graph (``Problem.grad``) and one taken with it
    (``Problem.linearize``, which the reverse pass needs) may differ in their last bits, and the
    reversal then loses sync (seen on an H100). Exact reversal must compute both passes'
    gradients the same way: perturbing ``Problem.grad`` in its last bits must not matter."""
    task, problem, space = mlp_task(hidden=(8,), lr_hyper=False)
    clean = problem.grad
    monkeypatch.setattr(problem, "grad", lambda w, th, t: clean(w, th, t) * (1 + 1e-12))
    result = hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), space.init(), 300)
    assert result.diagnostics.recovered_w0 is True


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_exact_reversal_on_cuda():
    torch.use_deterministic_algorithms(True, warn_only=True)
    task, problem, space = mlp_task(hidden=(32,), lr_hyper=False)
    task.splits = task.splits.to("cuda")
    task.model.to("cuda")
    task.device = torch.device("cuda")
    problem = task.problem(problem.w0.cuda())
    result = hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), space.init(device="cuda"), 1000)
    assert result.diagnostics.recovered_w0 is True


def test_the_buffer_divides_exactly_where_a_reciprocal_would_not():
    """The information buffer floors quotients by n; the floor of a correctly rounded division
    is exact, the floor of a product with the reciprocal (what PyTorch computes on CUDA when
    the divisor is a Python number) is not for every n. The buffer divides by a tensor on its
    own device, so CUDA takes the exact path too."""
    from hpostudy.hypergrad.fixedpoint import InfoBuffer

    n = 36454  # a momentum numerator for which 1/n rounds badly
    k = torch.randint(1, 2**36, (200_000,), generator=torch.Generator().manual_seed(1),
                      dtype=torch.int64).to(torch.float64)
    y = k * n
    assert bool(((y * (1.0 / n)).floor() != k).any())  # the hazard is real
    buffer = InfoBuffer(4, 16)
    divisor = buffer._divisor(n)
    assert isinstance(divisor, torch.Tensor) and divisor.device == buffer.x.device
    assert torch.equal(torch.div(y, divisor).floor(), k)
    assert torch.equal(torch.div(y - 1, divisor).floor(), k - 1)


def test_exact_precision_needs_radix():
    task, problem, space = mlp_task(hidden=(8,), lr_hyper=False)
    with pytest.raises(ValueError, match="precision"):
        hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), space.init(), 5, radix=30, k=16)
    with pytest.raises(TypeError, match="SGD with momentum"):
        hg.exact(problem, Nesterov(lr=0.1, momentum=0.9), space.init(), 5)


def test_float_reversal_drifts_while_exact_does_not():
    """Maclaurin et al.'s point (thesis Fig 3.6): plain floating-point reversal loses the path."""
    task, problem, space = mlp_task(hidden=(8,), lr_hyper=False)
    dynamics = SGDMomentum(lr=0.1, momentum=effective_gamma(0.5))
    theta = space.init()
    short = hg.float_reversal(problem, dynamics, theta, 10).diagnostics.w0_error
    long = hg.float_reversal(problem, dynamics, theta, 200).diagnostics.w0_error
    assert long > 1e3 * max(short, 1e-16)
    assert long > 1e-6
    assert hg.exact(problem, dynamics, theta, 200).diagnostics.recovered_w0 is True


def straight_line_problem(c=0.7):
    """Plain SGD on a loss whose gradient is (theta_1, 0) all along w_2 = 0: the true path is a
    uniformly spaced straight line, yet the Hessian and the mixed derivative depend on the
    position (through w_1), so only the right positions give the right hypergradient."""
    def train_loss(w, theta, t):
        return (theta[0] * w[0] + (theta[1] - c) * w[0] * w[1]
                + 0.5 * w[1] ** 2 * (1 + w[0] ** 2))

    def val_loss(w, theta):
        return (w[0] - 0.4) ** 2 + 0.3 * w[1] + w[1] ** 2

    return Problem(train_loss, val_loss, torch.tensor([0.2, 0.0], dtype=torch.float64)), \
        torch.tensor([0.5, c], dtype=torch.float64)


def test_drmad_is_exact_on_a_straight_uniform_path():
    problem, theta = straight_line_problem()
    dynamics = SGDMomentum(lr=0.05, momentum=0.0)
    T = 30
    exact = hg.reverse(problem, dynamics, theta, T)
    approx = hg.drmad(problem, dynamics, theta, T, reverse_steps=T)
    assert exact.hypergrad[1].abs() > 1e-3  # the position-dependent part is really there
    assert rel(approx.hypergrad, exact.hypergrad) < 1e-10
    assert rel(approx.grad_w0, exact.grad_w0) < 1e-10


def test_drmad_differs_on_a_curved_path(mlp):
    problem, dynamics, theta, _ = mlp
    exact = hg.reverse(problem, dynamics, theta, 40).hypergrad
    approx = hg.drmad(problem, dynamics, theta, 40, reverse_steps=40)
    assert 1e-6 < rel(approx.hypergrad, exact) < 1.0


def test_drmad2_with_all_steps_exact_is_float_reversal(mlp):
    problem, dynamics, theta, _ = mlp
    flt = hg.float_reversal(problem, dynamics, theta, 20).hypergrad
    d2 = hg.drmad2(problem, dynamics, theta, 20, exact_steps=20)
    assert rel(d2.hypergrad, flt) < 1e-12
    assert d2.diagnostics.reverse_steps == 0


def test_drmad_shared_is_drmad_and_drmad2_bit_for_bit_from_one_training(mlp, monkeypatch):
    """Issue 20 (overhead): DrMAD and DrMAD2 at the same hyperparameters train the same T
    steps; drmad_shared trains them once and returns exactly what the separate calls do."""
    import importlib

    drmad_module = importlib.import_module("hpostudy.hypergrad.drmad")  # not the function
    problem, dynamics, theta, _ = mlp
    runs = [{"reverse_steps": 7}, {"exact_steps": 4, "reverse_steps": 5},
            {"beta_factor": 10.0, "record_norms": True}]
    alone = [hg.drmad(problem, dynamics, theta, 30, reverse_steps=7),
             hg.drmad2(problem, dynamics, theta, 30, exact_steps=4, reverse_steps=5),
             hg.drmad(problem, dynamics, theta, 30, beta_factor=10.0, record_norms=True)]
    trainings = []
    forward = drmad_module._forward
    monkeypatch.setattr(drmad_module, "_forward",
                        lambda *a, **k: trainings.append(a[3]) or forward(*a, **k))
    shared = hg.drmad_shared(problem, dynamics, theta, 30, runs)
    assert trainings == [30]  # one forward training for the three
    for a, b in zip(alone, shared):
        assert a.method == b.method
        assert torch.equal(a.hypergrad, b.hypergrad) and torch.equal(a.w_final, b.w_final)
        assert torch.equal(a.grad_w0, b.grad_w0)
        assert a.val_loss == b.val_loss and a.diagnostics == b.diagnostics
    with pytest.raises(TypeError, match="callback"):
        hg.drmad_shared(problem, dynamics, theta, 30, [{"callback": print}])
    with pytest.raises(ValueError, match="exact_steps"):
        hg.drmad_shared(problem, dynamics, theta, 30, [{"exact_steps": 31}])


def test_beta_estimate_and_reverse_steps(mlp):
    assert hg.beta_estimate([1.0, 2.0, 3.0], 300.0) == pytest.approx(1 / 300.0)
    assert hg.beta_estimate([1.0, 2.0, 3.0], 300.0, factor=10) == pytest.approx(10 / 300.0)
    problem, dynamics, theta, _ = mlp
    res = hg.drmad(problem, dynamics, theta, 60, record_norms=True)
    S = res.diagnostics.reverse_steps
    assert S == min(60, max(1, round(1 / res.diagnostics.beta)))
    assert len(res.diagnostics.accumulated_norm) == S


def test_accumulated_norm_series_has_one_value_per_reverse_step(mlp):
    problem, dynamics, theta, _ = mlp
    for method in ("reverse", "exact", "float_reversal"):
        res = hg.hypergradient(method, problem, dynamics, theta, 17, record_norms=True)
        norms = res.diagnostics.accumulated_norm
        assert len(norms) == 17
        traj = res.hypergrad - problem.val_value_and_grads(res.w_final, theta)[2]
        assert norms[-1] == pytest.approx(float(traj.norm()), rel=1e-9)


def test_rt_ho_partial_hypergradient_equals_forward_run_to_t(mlp):
    problem, dynamics, theta, _ = mlp
    full = hg.forward(problem, dynamics, theta, 12, record_partial_every=4)
    for t, partial in full.diagnostics.partial:
        assert rel(partial, hg.forward(problem, dynamics, theta, t).hypergrad) < 1e-12
    # RT-HO with a zero meta-rate reports the same partial hypergradients
    history = hg.rt_ho(problem, dynamics, theta, 12, every=4, update=lambda th, h: th).history
    assert len(history) == 3
    for row, (t, partial) in zip(history, full.diagnostics.partial):
        assert row.step == t and rel(row.hypergrad, partial) < 1e-12


def test_rt_ho_and_online_lower_the_validation_loss(mlp):
    from hpostudy.metaopt import GradientStep

    problem, dynamics, theta, _ = mlp
    base = float(problem.val_loss(train(problem, dynamics, theta, 40)[0], theta))
    res = hg.online(problem, dynamics, theta, 40, every=5, window=2, update=GradientStep(3.0))
    assert float(problem.val_loss(res.state[0], theta)) < base
    assert [u.step for u in res.history] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert not torch.equal(res.theta, theta)
    res = hg.rt_ho(problem, dynamics, theta, 40, every=5, update=GradientStep(3.0))
    assert float(problem.val_loss(res.state[0], theta)) < base
    assert res.records()[0].keys() == {"step", "val_loss", "hypergrad_norm"}


def test_online_window_equals_truncated_reverse(mlp):
    """With every = window = T, the online method's single hypergradient is REVERSE-HO's."""
    problem, dynamics, theta, _ = mlp
    seen = []
    hg.online(problem, dynamics, theta, 10, every=10, window=10,
              update=lambda th, h: seen.append(h) or th)
    assert rel(seen[0], hg.reverse(problem, dynamics, theta, 10).hypergrad) < 1e-12


def test_bad_arguments_give_clear_errors(mlp):
    problem, dynamics, theta, _ = mlp
    with pytest.raises(ValueError, match="unknown hypergradient method"):
        hg.hypergradient("magic", problem, dynamics, theta, 3)
    with pytest.raises(ValueError, match="positive"):
        hg.reverse(problem, dynamics, theta, 0)
    with pytest.raises(ValueError, match="positive"):
        hg.drmad(problem, dynamics, theta, 5, reverse_steps=-1)


# ---------------------------------------------------------------------- Adam, tuned eta and mu
def central_differences(objective, theta, directions, h=1e-5):
    return [(objective(theta + h * u) - objective(theta - h * u)) / (2 * h) for u in directions]


def probe_directions(theta, hypergrad, seed=3):
    """Two random directions and the three largest coordinates of the hypergradient."""
    gen = torch.Generator().manual_seed(seed)
    out = [torch.randn(theta.shape, generator=gen, dtype=theta.dtype) for _ in range(2)]
    for i in torch.topk(hypergrad.abs(), min(3, len(theta))).indices.tolist():
        out.append(torch.zeros_like(theta).index_fill_(0, torch.tensor([i]), 1.0))
    return out


def test_adam_reverse_forward_and_finite_differences_agree():
    from hpostudy.dynamics import Adam

    task, problem, space = mlp_task(lr_hyper=False)
    dynamics = Adam(lr=0.01)
    theta = space.init() + 0.3 * torch.randn(space.size, generator=torch.Generator().manual_seed(2),
                                             dtype=torch.float64)
    T = 25
    reverse = hg.reverse(problem, dynamics, theta, T)
    forward = hg.forward(problem, dynamics, theta, T)
    assert reverse.hypergrad.abs().max() > 0
    assert rel(forward.hypergrad, reverse.hypergrad) < 1e-9
    assert rel(hg.reverse(problem, dynamics, theta, T, checkpoint_every=4).hypergrad,
               reverse.hypergrad) < 1e-12
    assert reverse.diagnostics.stored_bytes == T * 3 * problem.w0.numel() * 8  # w, m and v

    def objective(th):
        return float(problem.val_loss(train(problem, dynamics, th, T)[0], th))

    directions = probe_directions(theta, reverse.hypergrad)
    for fd, u in zip(central_differences(objective, theta, directions), directions):
        assert abs(fd - float(u @ reverse.hypergrad)) <= 1e-6 * abs(fd) + 1e-10


def tuned_problem():
    """The MLP's per-unit L2 followed by two entries for the learning rate and the momentum."""
    task, base, space = mlp_task(lr_hyper=False)
    problem = Problem(lambda w, th, t: task.train_loss(w, th[:-2], t),
                      lambda w, th: task.val_loss(w, th[:-2]), base.w0)
    theta = torch.cat([space.init(), torch.tensor([0.05, 0.8], dtype=torch.float64)])
    return problem, theta


def test_tuned_learning_rate_and_momentum_reverse_forward_and_finite_differences_agree():
    from hpostudy.dynamics import TunedSGDMomentum

    problem, theta = tuned_problem()
    dynamics = TunedSGDMomentum(lr_entry=len(theta) - 2, momentum_entry=len(theta) - 1)
    T = 20
    reverse = hg.reverse(problem, dynamics, theta, T)
    forward = hg.forward(problem, dynamics, theta, T)
    assert rel(forward.hypergrad, reverse.hypergrad) < 1e-9
    assert reverse.hypergrad[-2:].abs().min() > 0  # d f / d eta and d f / d mu

    def objective(th):
        return float(problem.val_loss(train(problem, dynamics, th, T)[0], th))

    eta_mu = [torch.zeros_like(theta).index_fill_(0, torch.tensor([i]), 1.0) for i in (-2, -1)]
    directions = probe_directions(theta, reverse.hypergrad) + eta_mu
    for fd, u in zip(central_differences(objective, theta, directions), directions):
        assert abs(fd - float(u @ reverse.hypergrad)) <= 1e-6 * abs(fd) + 1e-10
    # DrMAD's line gives them too (an approximation: only checked to be finite and non-zero)
    drmad = hg.drmad(problem, dynamics, theta, T, reverse_steps=T)
    assert bool(torch.isfinite(drmad.hypergrad).all()) and drmad.hypergrad[-2:].abs().min() > 0


def test_rt_ho_tunes_learning_rate_and_momentum_within_their_box():
    from hpostudy.dynamics import TunedSGDMomentum
    from hpostudy.metaopt import ProjectedAdam

    problem, theta = tuned_problem()
    dynamics = TunedSGDMomentum(lr_entry=len(theta) - 2, momentum_entry=len(theta) - 1)
    full = hg.forward(problem, dynamics, theta, 10, record_partial_every=5)
    lower = torch.full_like(theta, -float("inf"))
    lower[-2:] = 0.0
    upper = torch.full_like(theta, float("inf"))
    upper[-1] = 1.0
    result = hg.rt_ho(problem, dynamics, theta, 30, every=5,
                      update=ProjectedAdam(lr=0.5, lower=lower, upper=upper))
    assert rel(result.history[0].hypergrad, full.diagnostics.partial[0][1]) < 1e-12
    assert float(result.theta[-2]) >= 0 and 0 <= float(result.theta[-1]) <= 1
    assert not torch.equal(result.theta[-2:], theta[-2:])


@pytest.mark.parametrize("method", ["exact", "float_reversal", "drmad2"])
def test_reversing_methods_refuse_a_tuned_momentum_and_adam_with_the_reason(method):
    from hpostudy.dynamics import Adam, TunedSGDMomentum

    problem, theta = tuned_problem()
    tuned = TunedSGDMomentum(lr_entry=len(theta) - 2, momentum_entry=len(theta) - 1)
    with pytest.raises(TypeError, match="momentum is a hyperparameter"):
        hg.hypergradient(method, problem, tuned, theta, 5)
    task, problem, space = mlp_task(lr_hyper=False)
    with pytest.raises(TypeError, match="Adam cannot be reversed"):
        hg.hypergradient(method, problem, Adam(), space.init(), 5)
    with pytest.raises(TypeError, match="straight line does not determine Adam"):
        hg.drmad(problem, Adam(), space.init(), 5)


def test_rt_ho_stops_when_its_callback_says_so(mlp):
    problem, dynamics, theta, _ = mlp
    seen = []
    result = hg.rt_ho(problem, dynamics, theta, 40, every=5, update=lambda th, h: th,
                      callback=lambda t, state, th: seen.append(t) or t == 11)
    assert seen == list(range(12)) and [u.step for u in result.history] == [5, 10]
    assert rel(result.state[0], train(problem, dynamics, theta, 12)[0]) < 1e-12


def test_adam_continues_from_its_own_state():
    """``train(..., state=s, t0=k)`` with Adam's ``(w, (m, v))`` state retraces one long run."""
    from hpostudy.dynamics import Adam

    _, problem, space = mlp_task(lr_hyper=False, hidden=(4,), n_train=50)
    dynamics, theta = Adam(lr=0.01), space.init()
    first = train(problem, dynamics, theta, 2)
    assert first[1].shape == (2, problem.w0.numel())
    resumed = train(problem, dynamics, theta, 3, state=first, t0=2)
    whole = train(problem, dynamics, theta, 5)
    assert torch.equal(resumed[0], whole[0]) and torch.equal(resumed[1], whole[1])


def test_drmad_keeps_the_momentum_hypergradient_at_momentum_zero():
    """TunedSGDMomentum at :math:`\\mu = 0` on a linear training loss: the path is the straight
    uniform line :math:`w_t = w_0 - t\\eta a` that DrMAD assumes, so DrMAD is exact, including
    :math:`df/d\\mu = -(T-1)\\eta\\, a \\cdot (w_T - b)` (the velocity before each step but the first
    is :math:`-\\eta a`), which reverse mode and central differences confirm in float64."""
    from hpostudy.dynamics import TunedSGDMomentum

    a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    b = torch.tensor([0.3, 1.0, -1.5], dtype=torch.float64)
    problem = Problem(lambda w, th, t: (a * w).sum(), lambda w, th: 0.5 * ((w - b) ** 2).sum(),
                      torch.zeros(3, dtype=torch.float64))
    dynamics = TunedSGDMomentum(lr_entry=0, momentum_entry=1)
    theta = torch.tensor([0.1, 0.0], dtype=torch.float64)
    T = 6
    w_T = train(problem, dynamics, theta, T)[0]
    d_mu = -(T - 1) * 0.1 * float(a @ (w_T - b))
    assert d_mu != 0
    reverse = hg.reverse(problem, dynamics, theta, T)
    drmad = hg.drmad(problem, dynamics, theta, T, reverse_steps=T)
    assert abs(float(reverse.hypergrad[1]) - d_mu) < 1e-12
    assert rel(drmad.hypergrad, reverse.hypergrad) < 1e-12

    def objective(th):
        return float(problem.val_loss(train(problem, dynamics, th, T)[0], th))

    directions = [torch.tensor([1.0, 0.0], dtype=torch.float64),
                  torch.tensor([0.0, 1.0], dtype=torch.float64)]
    for fd, u in zip(central_differences(objective, theta, directions), directions):
        assert abs(fd - float(u @ reverse.hypergrad)) <= 1e-7 * abs(fd) + 1e-10
