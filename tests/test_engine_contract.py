"""One hypergradient contract: typed results and diagnostics, reversal owned by the dynamics,
meta-optimizers that checkpoint and resume (float64)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from hpostudy import hypergrad as hg
from hpostudy.dynamics import Dynamics, FloatArithmetic, SGDMomentum, train
from hpostudy.metaopt import GradientStep, ProjectedAdam, SignSGD

from .conftest import mlp_task


def rel(a, b):
    return float((a - b).norm() / b.norm())


class HeavyBall(Dynamics):
    """A dynamics the library does not ship: momentum with the learning rate inside the
    velocity, :math:`v_t = \\gamma v_{t-1} - \\alpha g_t`, :math:`w_{t+1} = w_t + v_t`. Written once,
    against an arithmetic; exact reversal, float reversal and DrMAD2 then run it."""

    name = "heavy_ball"
    reversible = True
    vjp_needs_velocity = False

    def __init__(self, lr: float, momentum: float):
        self.lr, self.momentum = lr, momentum

    def gamma(self, t):
        return self.momentum

    def update(self, state, g, theta, t, arith=FloatArithmetic()):
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        v = arith.mul_momentum(v, gamma, t) - arith.from_float(g, self.lr)
        return (w + arith.scale(v, 1.0), v)

    def inverse(self, state, theta, t, grad, arith):
        w, v = state
        gamma = arith.momentum(self.gamma(t))
        w = w - arith.scale(v, 1.0)
        g = grad(arith.to_float(w), theta, t)
        return (w, arith.div_momentum(v + arith.from_float(g, self.lr), gamma, t))


def test_a_new_reversible_dynamics_is_written_once_and_reversed_by_every_method():
    task, problem, space = mlp_task(lr_hyper=False)
    dynamics = HeavyBall(lr=0.05, momentum=hg.effective_gamma(0.9))
    theta = space.init() + 0.2
    T = 30
    ref = hg.reverse(problem, dynamics, theta, T)
    exact = hg.exact(problem, dynamics, theta, T)
    assert exact.diagnostics.recovered_w0 is True
    assert rel(exact.hypergrad, ref.hypergrad) < 1e-7
    assert rel(exact.grad_w0, ref.grad_w0) < 1e-7
    flt = hg.float_reversal(problem, dynamics, theta, T)
    assert rel(flt.hypergrad, ref.hypergrad) < 1e-7
    assert flt.diagnostics.w0_error < 1e-9
    assert rel(hg.drmad2(problem, dynamics, theta, T, exact_steps=T).hypergrad,
               flt.hypergrad) < 1e-12
    # the forward-mode method, which knows nothing of reversal, agrees too
    assert rel(hg.forward(problem, dynamics, theta, T).hypergrad, ref.hypergrad) < 1e-9


def test_sgd_momentum_inverse_undoes_update_in_float():
    task, problem, space = mlp_task()
    dyn = SGDMomentum(lr=0.2, momentum=0.9, lr_hyper=lambda th: space.learning_rate(th))
    theta = space.init()
    state = train(problem, dyn, theta, 3)
    after = dyn.step(state, theta, 3, problem.grad)
    before = dyn.inverse(after, theta, 3, problem.grad, FloatArithmetic())
    assert torch.allclose(before[0], state[0], rtol=0, atol=1e-14)
    assert torch.allclose(before[1], state[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["reverse", "exact", "float_reversal", "drmad", "drmad2",
                                    "forward", "truncated", "implicit"])
def test_every_method_returns_typed_frozen_diagnostics(mlp, method):
    problem, dynamics, theta, _ = mlp
    res = hg.hypergradient(method, problem, dynamics, theta, 6)
    assert isinstance(res, hg.HypergradResult)
    kinds = {"reverse": hg.ReverseDiagnostics, "exact": hg.ExactDiagnostics,
             "float_reversal": hg.FloatReversalDiagnostics, "drmad": hg.DrmadDiagnostics,
             "drmad2": hg.DrmadDiagnostics, "forward": hg.ForwardDiagnostics,
             "truncated": hg.TruncatedDiagnostics, "implicit": hg.ImplicitDiagnostics}
    assert type(res.diagnostics) is kinds[method]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.diagnostics.accumulated_norm = []
    scalars = res.diagnostics.scalars()
    assert scalars and all(isinstance(v, (bool, int, float)) for v in scalars.values())
    # one memory field for every method: what it keeps for its hypergradient, in bytes
    P, m, T, word = problem.w0.numel(), theta.numel(), 6, 8  # float64
    stored = {"reverse": T * 2 * P * word,  # weights and velocities (the lr depends on theta)
              "truncated": T * 2 * P * word, "float_reversal": 0, "drmad": P * word,
              "drmad2": P * word, "forward": m * 2 * P * word, "implicit": 3 * P * word}
    if method == "exact":
        assert scalars["stored_bytes"] == res.diagnostics.stored_bytes >= 8 * P  # buffer states
    else:
        assert scalars["stored_bytes"] == res.diagnostics.stored_bytes == stored[method]


def test_exact_diagnostics_report_bytes_next_to_information():
    task, problem, space = mlp_task(hidden=(8,), lr_hyper=False)
    res = hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), space.init(), 500)
    d = res.diagnostics
    P, T = problem.w0.numel(), 500
    info_bytes = d.buffer_bits_per_param_step * P * T / 8
    # 16-bit words plus one 8-byte state per parameter: within a state's worth of the content
    assert info_bytes < d.stored_bytes < info_bytes + 8 * P + 2 * P


def test_online_methods_return_typed_results(mlp):
    problem, dynamics, theta, _ = mlp
    for res in (hg.online(problem, dynamics, theta, 12, every=4, window=2,
                          update=GradientStep(1.0)),
                hg.rt_ho(problem, dynamics, theta, 12, every=4, update=GradientStep(1.0))):
        assert isinstance(res, hg.OnlineResult)
        assert [u.step for u in res.history] == [4, 8, 12]
        assert all(isinstance(u, hg.OnlineUpdate) and u.hypergrad.shape == theta.shape
                   for u in res.history)
        assert res.records()[1]["hypergrad_norm"] == pytest.approx(
            float(res.history[1].hypergrad.norm()))
        # the final state continues training where it stopped
        assert res.state[0].shape == problem.w0.shape


def test_online_continued_in_pieces_equals_one_run(mlp):
    problem, dynamics, theta, _ = mlp
    whole = hg.online(problem, dynamics, theta, 12, every=4, window=2, update=GradientStep(1.0))
    first = hg.online(problem, dynamics, theta, 8, every=4, window=2, update=GradientStep(1.0))
    second = hg.online(problem, dynamics, first.theta, 4, every=4, window=2,
                       update=GradientStep(1.0), state=first.state, t0=8)
    assert torch.equal(second.theta, whole.theta)
    assert torch.equal(second.state[0], whole.state[0])


# ----------------------------------------------------------------- meta-optimizer state
OPTIMIZERS = {
    "sign_sgd": lambda: SignSGD(0.1, momentum=0.7, project=lambda th: th.clamp(-3, 3)),
    "gradient_step": lambda: GradientStep(0.3),
    "projected_adam": lambda: ProjectedAdam(0.05, lower=-2.0, upper=2.0),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_meta_optimizer_resumes_exactly_from_its_state(name, tmp_path):
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(5, dtype=torch.float64, generator=gen) for _ in range(7)]
    theta0 = torch.zeros(5, dtype=torch.float64)

    whole, theta = OPTIMIZERS[name](), theta0
    for g in grads:
        theta = whole(theta, g)

    first, part = OPTIMIZERS[name](), theta0
    for g in grads[:3]:
        part = first(part, g)
    torch.save({"theta": part, "optimizer": first.state_dict()}, tmp_path / "ckpt.pt")
    for g in grads[:2]:  # the saved state is a copy: later steps do not change it
        first(part, g)
    saved = torch.load(tmp_path / "ckpt.pt")
    resumed = OPTIMIZERS[name]()
    resumed.load_state_dict(saved["optimizer"])
    part = saved["theta"]
    for g in grads[3:]:
        part = resumed(part, g)
    assert torch.equal(part, theta)
    assert not torch.equal(theta, theta0)


def test_projected_adam_without_its_state_would_differ():
    """The check above can fail: resuming Adam from a fresh state gives other steps."""
    grads = [torch.full((3,), float(i + 1), dtype=torch.float64) for i in range(4)]
    a = ProjectedAdam(0.1)
    theta = torch.zeros(3, dtype=torch.float64)
    for g in grads:
        theta = a(theta, g)
    b, part = ProjectedAdam(0.1), torch.zeros(3, dtype=torch.float64)
    for g in grads[:2]:
        part = b(part, g)
    fresh = ProjectedAdam(0.1)
    for g in grads[2:]:
        part = fresh(part, g)
    assert not torch.equal(part, theta)
