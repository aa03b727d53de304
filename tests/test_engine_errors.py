"""Every bad library call gets a clear error (one test per bad input), and the forward-mode
methods run on every model the study uses (dropout, batch norm)."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from hpostudy import hypergrad as hg
from hpostudy import projections
from hpostudy.data import load_digits
from hpostudy.dynamics import SGD, Nesterov, Problem, SGDMomentum, train
from hpostudy.hyper import Group, HyperSpace
from hpostudy.metaopt import GradientStep, ProjectedAdam, SignSGD, meta_iterations
from hpostudy.models import MLP, DenseNet, FlatModel, SmallCNN
from hpostudy.problems import ClassificationTask

from .conftest import mlp_task, quadratic

GAMMA = hg.effective_gamma(0.9)
METHODS = sorted(hg.METHODS)


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def small():
    """A small float64 MLP task (per-unit L2, 16 hyperparameters) and thesis-form SGDm."""
    task, problem, space = mlp_task(hidden=(6,), lr_hyper=False, n_train=100)
    return task, problem, space, SGDMomentum(lr=0.1, momentum=GAMMA)


def call(method, problem, dynamics, theta, T, **options):
    if method == "rt_ho":
        return hg.rt_ho(problem, dynamics, theta, T, every=options.pop("every", 1),
                        update=GradientStep(0.1), **options)
    if method == "online":
        return hg.online(problem, dynamics, theta, T, every=options.pop("every", 1),
                         window=options.pop("window", 1), update=GradientStep(0.1), **options)
    return hg.hypergradient(method, problem, dynamics, theta, T, **options)


ALL = METHODS + ["rt_ho", "online"]


# ----------------------------------------------------------------- horizons and step counts
@pytest.mark.parametrize("T", [0, -3, 2.5, True])
@pytest.mark.parametrize("method", ALL)
def test_every_method_rejects_a_bad_horizon_with_one_message(small, method, T):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match=r"^T must be a positive integer number of steps"):
        call(method, problem, dyn, space.init(), T)


def test_train_rejects_a_bad_horizon(small):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match=r"^T must be a positive integer"):
        train(problem, dyn, space.init(), 0)


@pytest.mark.parametrize("method,options,message", [
    ("rt_ho", {"every": 0}, r"^every must be a positive integer"),
    ("rt_ho", {"every": 9}, r"every \(9\) exceeds the horizon T \(4\)"),
    ("online", {"every": 0}, r"^every must be a positive integer"),
    ("online", {"window": 0}, r"^window must be a positive integer"),
    ("online", {"every": 2, "window": 3}, r"window \(3\) cannot exceed every \(2\)"),
    ("online", {"t0": -1}, r"t0 must be a non-negative integer"),
    ("reverse", {"checkpoint_every": 0}, r"checkpoint_every must be positive"),
    ("reverse", {"checkpoint_every": "log"}, r"checkpoint_every must be None, 'sqrt' or a positive"),
    ("reverse", {"checkpoint_every": 2.5}, r"checkpoint_every must be None, 'sqrt' or a positive"),
    ("drmad", {"reverse_steps": 0}, r"^reverse_steps must be a positive integer"),
    ("drmad", {"reverse_steps": -2}, r"^reverse_steps must be a positive integer"),
    ("drmad", {"exact_steps": 9}, r"exact_steps must be in \[0, T\] = \[0, 4\]"),
    ("drmad", {"exact_steps": -1}, r"exact_steps must be a non-negative integer"),
    ("drmad", {"beta_factor": 0.0}, r"beta_factor must be positive"),
    ("drmad", {"beta_window": -1}, r"beta_window must be a non-negative integer"),
    ("forward", {"record_partial_every": 0}, r"^record_partial_every must be a positive"),
    ("exact", {"record_path": -1}, r"record_path must be a non-negative integer"),
    ("float_reversal", {"record_path": -1}, r"record_path must be a non-negative integer"),
])
def test_bad_step_counts_and_options(small, method, options, message):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match=message):
        call(method, problem, dyn, space.init(), 4, **options)


def test_unknown_method_and_unknown_option(small):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match="unknown hypergradient method 'magic'"):
        hg.hypergradient("magic", problem, dyn, space.init(), 3)
    with pytest.raises(TypeError, match=r"method 'reverse' has no option 'radix'; its options"):
        hg.hypergradient("reverse", problem, dyn, space.init(), 3, radix=40)
    with pytest.raises(TypeError, match=r"method 'drmad2' has no option 'checkpoint_every'"):
        hg.hypergradient("drmad2", problem, dyn, space.init(), 3, checkpoint_every=2)


# ----------------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("make,message", [
    (lambda th: torch.cat([th, th[:1]]), r"shape \(17,\) do not fit: expected a vector of shape \(16,\)"),
    (lambda th: th[:-1], r"shape \(15,\) do not fit: expected a vector of shape \(16,\)"),
    (lambda th: th[None, :], r"shape \(1, 16\) do not fit: expected a vector of shape \(16,\)"),
    (lambda th: th[:, None], r"shape \(16, 1\) do not fit: expected a vector of shape \(16,\)"),
    (lambda th: th[0], r"shape \(\) do not fit"),
])
@pytest.mark.parametrize("method", ALL)
def test_theta_of_the_wrong_shape_is_refused_with_both_shapes(small, method, make, message):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match=message):
        call(method, problem, dyn, make(space.init()), 4)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("method", ALL)
def test_non_finite_hyperparameters_are_named(small, method, bad):
    _, problem, space, dyn = small
    theta = space.init()
    theta[3] = bad
    with pytest.raises(ValueError, match=rf"1 of 16 are not \(l2\[3\] = {bad}\)"):
        call(method, problem, dyn, theta, 4)


def test_theta_of_integer_dtype_or_not_a_tensor(small):
    _, problem, space, dyn = small
    with pytest.raises(TypeError, match="floating-point tensor, got torch.int64"):
        hg.reverse(problem, dyn, torch.zeros(16, dtype=torch.int64), 3)
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        hg.reverse(problem, dyn, [0.0] * 16, 3)


def test_theta_on_another_device(small):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match="hyperparameters on meta but the weights on cpu"):
        hg.reverse(problem, dyn, torch.zeros(16, dtype=torch.float64, device="meta"), 3)


def test_theta_without_a_space_is_still_checked():
    problem, _, _ = quadratic()
    dyn = SGDMomentum(lr=0.3, momentum=GAMMA)
    with pytest.raises(ValueError, match=r"shape \(1, 3\) do not fit: expected a vector of shape \(m,\)"):
        hg.reverse(problem, dyn, torch.zeros(1, 3, dtype=torch.float64), 3)
    with pytest.raises(ValueError, match=r"theta\[1\] = nan"):
        hg.forward(problem, dyn, torch.tensor([0.0, math.nan, 0.0], dtype=torch.float64), 3)


# ----------------------------------------------------------------- dynamics
@pytest.mark.parametrize("dynamics, error, message", [
    (SGDMomentum(lr=0.1, momentum=0.0), ValueError, "SGD without momentum cannot be reversed"),
    (SGD(lr=0.1), TypeError, "cannot be reversed"),
    (Nesterov(lr=0.1, momentum=0.9), TypeError, "SGD with momentum in the thesis' form"),
    (SGDMomentum(lr=0.1, momentum=0.9, clip=5.0), ValueError, "cannot reverse clipped weights"),
])
@pytest.mark.parametrize("method", ["float_reversal", "drmad2", "exact"])
def test_dynamics_that_cannot_be_reversed(small, method, dynamics, error, message):
    """Without momentum, plain SGD, Nesterov's momentum and clipped weights are refused by
    every method that reverses training."""
    _, problem, space, _ = small
    with pytest.raises(error, match=message):
        call(method, problem, dynamics, space.init(), 4)


def test_momentum_zero_at_one_step_of_a_schedule(small):
    _, problem, space, _ = small
    dyn = SGDMomentum(lr=0.1, momentum=lambda t: 0.0 if t == 2 else 0.9)
    with pytest.raises(ValueError, match="momentum is 0.0 at step 2"):
        hg.float_reversal(problem, dyn, space.init(), 4)
    assert torch.isfinite(hg.drmad(problem, dyn, space.init(), 4).hypergrad).all()


@pytest.mark.parametrize("method", ALL)
def test_schedules_leaving_their_range_name_the_step(small, method):
    _, problem, space, _ = small
    dyn = SGDMomentum(lr=0.1, momentum=lambda t: 1.0 if t == 1 else 0.9)
    with pytest.raises(ValueError, match=r"the momentum is 1.0 at step 1: it must be in \[0, 1\)"):
        call(method, problem, dyn, space.init(), 4)
    dyn = SGDMomentum(lr=lambda t: -0.1 if t == 2 else 0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"the learning rate is -0.1 at step 2: it must be non-neg"):
        call(method, problem, dyn, space.init(), 4)


def test_lr_hyper_of_the_wrong_shape_or_sign(small):
    _, problem, space, _ = small
    dyn = SGDMomentum(lr=0.1, momentum=0.9, lr_hyper=lambda th: torch.exp(th))
    with pytest.raises(ValueError, match=r"lr_hyper\(theta\) has shape \(16,\); it must be a number "
                                         r"or one rate per parameter, shape \(460,\)"):
        hg.reverse(problem, dyn, space.init(), 3)
    dyn = SGDMomentum(lr=0.1, momentum=0.9, lr_hyper=lambda th: -torch.ones(()))
    with pytest.raises(ValueError, match="negative or non-finite learning rates"):
        hg.drmad(problem, dyn, space.init(), 3)


def test_problem_that_is_not_a_problem(small):
    task, problem, space, dyn = small
    with pytest.raises(TypeError, match=r"problem must be an hpostudy.dynamics.Problem \(e.g. "
                                        r"task.problem\(w0\)\), got ClassificationTask"):
        hg.reverse(task, dyn, space.init(), 3)


def test_a_starting_state_of_the_wrong_shape(small):
    _, problem, space, dyn = small
    bad = (problem.w0[:-1], problem.w0[:-1])
    with pytest.raises(ValueError, match=r"state must be a pair \(w, v\) of tensors shaped like w0"):
        train(problem, dyn, space.init(), 3, state=bad)
    with pytest.raises(ValueError, match=r"state must be a pair \(w, v\)"):
        hg.online(problem, dyn, space.init(), 3, every=1, window=1, update=GradientStep(0.1),
                  state=problem.w0)


@pytest.mark.parametrize("method", ["rt_ho", "online"])
def test_an_update_that_breaks_the_hyperparameters_names_its_step(small, method):
    _, problem, space, dyn = small
    run = (lambda upd: hg.rt_ho(problem, dyn, space.init(), 4, every=2, update=upd)) \
        if method == "rt_ho" else \
        (lambda upd: hg.online(problem, dyn, space.init(), 4, every=2, window=1, update=upd))
    with pytest.raises(FloatingPointError, match="the update at step 2 made the hyperparameters NaN"):
        run(lambda th, h: th * math.nan)
    with pytest.raises(ValueError, match=r"the update at step 2 returned \(17,\); it must return "
                                         r"hyperparameters of shape \(16,\)"):
        run(lambda th, h: torch.cat([th, th[:1]]))


def test_runs_that_cannot_fit_in_memory_are_refused_before_training():
    big = torch.zeros(1_000_000, dtype=torch.float64)
    problem = Problem(lambda w, th, t: (th.sum() * w ** 2).sum(), lambda w, th: w.sum(), big)
    dyn = SGDMomentum(lr=0.1, momentum=0.9)
    with pytest.raises(MemoryError, match=r"the forward-mode tangent \(2000 hyperparameters x 2 x "
                                          r"1000000 parameters\) needs 32.0 GB"):
        hg.forward(problem, dyn, torch.zeros(2000, dtype=torch.float64), 3)
    with pytest.raises(MemoryError, match=r"the stored trajectory \(10000 states\) needs 80.0 GB .* "
                                          r"use checkpoint_every='sqrt'"):
        hg.reverse(problem, dyn, torch.zeros(1, dtype=torch.float64), 10_000)


def test_exact_checks_its_smaller_memory_need_before_training(monkeypatch):
    """Where reverse refuses and recommends exact, exact needs log2(1/gamma) bits per parameter
    per step; at momentum 0.5 (1 bit) a million parameters over a million steps need 125 GB
    (on a machine said to have 16 GB free)."""
    from hpostudy.hypergrad import adjoint

    monkeypatch.setattr(adjoint, "available_memory", lambda device: 16 * 10 ** 9)
    big = torch.zeros(1_000_000, dtype=torch.float64)
    problem = Problem(lambda w, th, t: (th.sum() * w ** 2).sum(), lambda w, th: w.sum(), big)
    dyn = SGDMomentum(lr=0.1, momentum=0.5)
    theta = torch.zeros(1, dtype=torch.float64)
    with pytest.raises(MemoryError, match=r"the information buffer \(1000000 parameters x 1000000 "
                                          r"steps x log2\(1/gamma\) = 1 bits\) needs 125.0 GB .* "
                                          r"use method 'drmad'"):
        hg.exact(problem, dyn, theta, 1_000_000)
    with pytest.raises(MemoryError, match=r"use checkpoint_every='sqrt', or method 'exact'"):
        hg.reverse(problem, dyn, theta, 1_000_000)


def test_dynamics_that_is_not_a_dynamics(small):
    _, problem, space, _ = small
    with pytest.raises(TypeError, match="must be an hpostudy.dynamics.Dynamics, got str"):
        hg.drmad(problem, "sgd", space.init(), 4)
    with pytest.raises(TypeError, match="must be an hpostudy.dynamics.Dynamics, got str"):
        hg.exact(problem, "sgd", space.init(), 4)


def test_drmad2_needs_the_true_dynamics(small):
    _, problem, space, dyn = small
    with pytest.raises(ValueError, match="DrMAD2 reverses the true path"):
        hg.drmad(problem, Nesterov(lr=0.1, momentum=0.9), space.init(), 4, exact_steps=2,
                 reverse_dynamics=dyn)


@pytest.mark.parametrize("kwargs,error,message", [
    ({"lr": -0.1}, ValueError, "learning rate must be non-negative, got -0.1"),
    ({"lr": math.nan}, ValueError, "learning rate must be non-negative, got nan"),
    ({"lr": "0.1"}, TypeError, "lr must be a number or a function of the step, got str"),
    ({"momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    ({"momentum": -0.5}, ValueError, r"momentum must be in \[0, 1\), got -0.5"),
    ({"clip": 0.0}, ValueError, r"clip must be positive \(or None\), got 0.0"),
    ({"lr_hyper": 3.0}, TypeError, "lr_hyper must be a function"),
])
def test_bad_dynamics_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        SGDMomentum(**kwargs)


# ----------------------------------------------------------------- exact arithmetic
@pytest.mark.parametrize("options,error,message", [
    ({"radix": 70}, ValueError, r"radix must be an integer in \[8, 60\], got 70"),
    ({"radix": 48.5}, ValueError, r"radix must be an integer in \[8, 60\], got 48.5"),
    ({"k": 0}, ValueError, r"k \(momentum bits\) must be an integer in \[1, 18\], got 0"),
    ({"k": 30}, ValueError, r"k \(momentum bits\) must be an integer in \[1, 18\], got 30"),
    ({"radix": 30, "k": 16}, ValueError, "radix - k = 14 leaves too little precision"),
])
def test_bad_fixed_point_settings(small, options, error, message):
    _, problem, space, dyn = small
    with pytest.raises(error, match=message):
        hg.exact(problem, dyn, space.init(), 4, **options)


def test_exact_names_the_step_of_a_velocity_overflow_and_suggests_a_lower_radix():
    problem, _, _ = quadratic()
    dyn = SGDMomentum(lr=0.01, momentum=GAMMA)
    with pytest.raises(OverflowError, match=r"velocity reached .* at step 0, beyond the fixed-"
                                            r"point range \|v\| < 16 of radix 48: lower the radix"):
        hg.exact(problem, dyn, torch.tensor([5.5, 0.0, 0.0], dtype=torch.float64), 3)
    # with a lower radix the same run fits
    assert hg.exact(problem, dyn, torch.tensor([5.5, 0.0, 0.0], dtype=torch.float64), 3,
                    radix=40).diagnostics.recovered_w0


def test_exact_refuses_initial_weights_beyond_its_range():
    train_loss = lambda w, th, t: (th * w ** 2).sum()
    problem = Problem(train_loss, lambda w, th: w.sum(), torch.tensor([5000.0, 0.0],
                                                                      dtype=torch.float64))
    with pytest.raises(OverflowError, match="initial weights reach 5e\\+03, beyond the fixed-point "
                                            "range"):
        hg.exact(problem, SGDMomentum(lr=0.1, momentum=0.9), torch.ones(1, dtype=torch.float64), 2)


def nan_at(step: int):
    """A quadratic whose training loss turns NaN from step ``step`` on."""
    def train_loss(w, theta, t):
        loss = 0.5 * (torch.exp(theta) * (w - 1.0) ** 2).sum()
        return loss * math.nan if t >= step else loss
    return Problem(train_loss, lambda w, th: (w ** 2).sum(), torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("method", ALL)
def test_a_nan_appearing_during_training_names_its_step(method):
    problem, dyn = nan_at(7), SGDMomentum(lr=0.1, momentum=GAMMA)
    with pytest.raises(FloatingPointError, match="at step 7"):
        call(method, problem, dyn, torch.zeros(3, dtype=torch.float64), 20)


def test_exact_says_a_nan_gradient_is_a_nan_not_a_radix_problem():
    with pytest.raises(FloatingPointError, match="training gradient became NaN or infinite at "
                                                 "step 7"):
        hg.exact(nan_at(7), SGDMomentum(lr=0.1, momentum=GAMMA),
                 torch.zeros(3, dtype=torch.float64), 20)


def test_train_names_the_step_of_a_nan():
    with pytest.raises(FloatingPointError, match="the weights became NaN or infinite at step 4"):
        train(nan_at(4), SGDMomentum(lr=0.1, momentum=0.9), torch.zeros(3, dtype=torch.float64), 10)


def test_float_reversal_losing_the_path_says_so_and_where():
    """gamma = 0.5, T = 2000: each reverse step doubles the rounding error; the path is lost."""
    task, problem, space = mlp_task(hidden=(8,), lr_hyper=False)
    dyn = SGDMomentum(lr=0.1, momentum=hg.effective_gamma(0.5))
    with pytest.raises(FloatingPointError, match=r"floating-point reversal lost the path: .* "
                                                 r"at step \d+ \(after reversing \d+ of 2000 steps\)"):
        hg.float_reversal(problem, dyn, space.init(), 2000)
    with pytest.raises(FloatingPointError, match="lost the path"):
        hg.drmad2(problem, dyn, space.init(), 2000, exact_steps=2000)
    # exact reversal of the same run keeps the path and records where floats would lose it
    res = hg.exact(problem, dyn, space.init(), 2000, also_float=True)
    assert res.diagnostics.recovered_w0
    assert 0 <= res.diagnostics.float_lost_at_step < 2000


# ----------------------------------------------------------------- problems
@pytest.mark.parametrize("w0,error,message", [
    ([0.0, 1.0], TypeError, "w0 must be a floating-point torch.Tensor, got list"),
    (torch.zeros(3, dtype=torch.int64), TypeError, "floating-point torch.Tensor, got torch.int64"),
    (torch.zeros(2, 3), ValueError, r"w0 must be a non-empty flat vector, got shape \(2, 3\)"),
    (torch.zeros(0), ValueError, r"w0 must be a non-empty flat vector, got shape \(0,\)"),
    (torch.tensor([0.0, math.nan]), ValueError, "w0 has NaN or infinite entries"),
])
def test_bad_initial_weights(w0, error, message):
    with pytest.raises(error, match=message):
        Problem(lambda w, th, t: w.sum(), lambda w, th: w.sum(), w0)


def test_train_loss_that_is_not_a_scalar_or_ignores_w():
    theta = torch.zeros(2, dtype=torch.float64)
    dyn = SGDMomentum(lr=0.1, momentum=0.9)
    vector = Problem(lambda w, th, t: w ** 2, lambda w, th: w.sum(), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"train_loss must return a scalar tensor, got \(2,\)"):
        hg.reverse(vector, dyn, theta, 2)
    constant = Problem(lambda w, th, t: th.sum(), lambda w, th: w.sum(),
                       torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="train_loss\\(w, theta, t\\) does not depend on w"):
        hg.reverse(constant, dyn, theta, 2)


def test_a_non_finite_validation_loss_is_reported():
    problem = Problem(lambda w, th, t: (w ** 2).sum(), lambda w, th: w.sum() * math.inf,
                      torch.ones(2, dtype=torch.float64))
    with pytest.raises(FloatingPointError, match="validation loss at the final weights is"):
        hg.reverse(problem, SGDMomentum(lr=0.1, momentum=0.9), torch.zeros(1, dtype=torch.float64), 2)


def test_task_and_problem_dtype_device_and_size_mixes():
    splits = load_digits()
    model = FlatModel(MLP(64, (4,), 10))
    space = HyperSpace(model, [Group("l2", "log10_l2", "unit", init=-3.0)])
    with pytest.raises(TypeError, match="inputs are torch.float64 but the model's parameters "
                                        "torch.float32"):
        ClassificationTask(model, splits.to(dtype=torch.float64), space, batch_size=16)
    other = HyperSpace(FlatModel(MLP(64, (4,), 10)), [Group("l2", "log10_l2", "unit")])
    with pytest.raises(ValueError, match="space was built for another FlatModel"):
        ClassificationTask(model, splits, other, batch_size=16)
    task = ClassificationTask(model, splits, space, batch_size=16)
    with pytest.raises(TypeError, match="w0 is torch.float64 on cpu but the model's parameters "
                                        "are torch.float32"):
        task.problem(model.initial(torch.float64))
    with pytest.raises(ValueError, match=r"w0 must be the model's flat weights, shape \(310,\); "
                                         r"got \(309,\)"):
        task.problem(model.initial()[:-1])


# ----------------------------------------------------------------- hyperparameter spaces
def flat_mlp():
    return FlatModel(MLP(4, (3,), 2))


@pytest.mark.parametrize("build,error,message", [
    (lambda m: HyperSpace(m, []), ValueError, "needs at least one group"),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2"), Group("a", "log_lr")]), ValueError,
     "duplicate group names"),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2", params=["nope"])]), ValueError,
     r"group 'a': unknown parameters \['nope'\]"),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2", params=["0.bias"])]), ValueError,
     "" ),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2", params=[])]), ValueError,
     "group 'a' covers no parameter"),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2"), Group("b", "log10_l2", "layer")]),
     ValueError, "parameter '0.weight' is covered by groups 'a' and 'b' of the same kind"),
    (lambda m: HyperSpace(m, [Group("a", "log10_l2"), Group("b", "log_l2_z")]),
     ValueError, "covered by groups 'a' and 'b' of the same kind"),
])
def test_bad_spaces(build, error, message):
    if not message:  # an L2 group on a bias alone is allowed when listed by name
        assert build(flat_mlp()).size == 3
        return
    with pytest.raises(error, match=message):
        build(flat_mlp())


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "l1"}, "unknown kind 'l1'"),
    ({"kind": "log10_l2", "granularity": "row"}, "unknown granularity 'row'"),
    ({"kind": "log10_l2", "bounds": (1.0, -1.0)}, r"bounds must be \(low, high\) with low < high"),
    ({"kind": "log10_l2", "init": math.nan}, "init must be a finite number, got nan"),
    ({"kind": "log10_l2", "init": 5.0, "bounds": (-1.0, 1.0)}, r"init 5.0 outside bounds"),
    ({"kind": "log10_l2", "params": "0.weight"}, "params must be a list of parameter names, got "
                                                  "the string"),
    ({"kind": "log10_l2", "params": ["0.weight", "0.weight"]}, r"parameters listed twice: "
                                                                r"\['0.weight'\]"),
])
def test_bad_groups(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Group("g", **kwargs)


def test_bad_space_calls():
    model = flat_mlp()
    with pytest.raises(TypeError, match="groups must be hpostudy.hyper.Group objects, got dict"):
        HyperSpace(model, [{"name": "a", "kind": "log10_l2"}])
    space = HyperSpace(model, [Group("a", "log10_l2", bounds=(-5.0, 0.0), init=-1.0)])
    with pytest.raises(TypeError, match="hyperparameters must be floating point, got dtype torch.int64"):
        space.init(dtype=torch.int64)
    with pytest.raises(ValueError, match=r"shape \(4,\) do not fit: expected a vector of shape \(5,\)"):
        space.clip(torch.zeros(4))
    assert torch.equal(space.clip(torch.full((5,), 3.0)), torch.zeros(5))


def test_unknown_group_name_and_wrong_flat_vector():
    model = flat_mlp()
    space = HyperSpace(model, [Group("a", "log10_l2")])
    with pytest.raises(KeyError, match=r"no hyperparameter group 'b': the groups are \['a'\]"):
        space.expand("b", space.init())
    with pytest.raises(ValueError, match=r"expected a flat parameter vector of shape \(23,\), got \(22,\)"):
        model.unflatten(torch.zeros(22))
    with pytest.raises(ValueError, match="has no parameters to train"):
        FlatModel(nn.ReLU())


# ----------------------------------------------------------------- meta-optimizers
@pytest.mark.parametrize("build,error,message", [
    (lambda: SignSGD(-0.1), ValueError, "meta learning rate must be finite and non-negative"),
    (lambda: SignSGD(math.nan), ValueError, "meta learning rate must be finite and non-negative"),
    (lambda: SignSGD(torch.tensor([0.1, -1.0])), ValueError, "finite and non-negative"),
    (lambda: SignSGD(0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    (lambda: GradientStep(-1.0), ValueError, "finite and non-negative"),
    (lambda: ProjectedAdam(-0.01), ValueError, "finite and non-negative"),
    (lambda: ProjectedAdam(0.01, betas=(0.9, 1.0)), ValueError, r"betas must be two numbers in \[0, 1\)"),
    (lambda: ProjectedAdam(0.01, eps=0.0), ValueError, "eps must be positive"),
    (lambda: ProjectedAdam(0.01, lower=1.0, upper=-1.0), ValueError, "lower bound 1.0 above upper"),
])
def test_bad_meta_optimizer_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_bad_meta_optimizer_calls_and_states():
    theta = torch.zeros(3)
    for opt in (SignSGD(0.1), GradientStep(0.1), ProjectedAdam(0.1)):
        with pytest.raises(ValueError, match=r"hypergradient of shape \(4,\) for hyperparameters "
                                             r"of shape \(3,\)"):
            opt(theta, torch.zeros(4))
    with pytest.raises(KeyError, match="optimizer state has no 'velocity'"):
        SignSGD(0.1).load_state_dict({})
    with pytest.raises(ValueError, match="'t' must be the number of steps taken"):
        ProjectedAdam(0.1).load_state_dict({"m": None, "v": None, "t": 3})
    with pytest.raises(ValueError, match="GradientStep keeps no state"):
        GradientStep(0.1).load_state_dict({"velocity": None})


def test_a_nan_during_training_keeps_the_meta_iterations_done(small):
    _, problem, space, dyn = small

    def step(i, theta):
        if i == 2:
            return hg.reverse(nan_at(1), dyn, torch.zeros(3, dtype=torch.float64), 3).hypergrad, {}
        return hg.reverse(problem, dyn, theta, 3).hypergrad, {"i": i}

    with pytest.raises(FloatingPointError, match="at step 1") as err:
        meta_iterations(step, space.init(), SignSGD(0.1), 4)
    assert [r["i"] for r in err.value.records] == [0, 1]


# ----------------------------------------------------------------- forward mode on every model
def image_task(module, n=64):
    splits = load_digits(image=True)
    splits.x_train, splits.y_train = splits.x_train[:n], splits.y_train[:n]
    splits.x_val, splits.y_val = splits.x_val[:40], splits.y_val[:40]
    splits = splits.to(dtype=torch.float64)
    model = FlatModel(module.double())
    space = HyperSpace(model, [Group("l2", "log10_l2", "layer", init=-2.0)])
    task = ClassificationTask(model, splits, space, batch_size=16, seed=0)
    return task, task.problem(model.initial(torch.float64)), space


@pytest.mark.parametrize("name,module", [
    ("small CNN (dropout)", lambda: SmallCNN((1, 8, 8), channels=(4, 4), hidden=8, seed=1)),
    ("DenseNet, smoke size (batch norm, dropout)",
     lambda: DenseNet(depth=7, growth=4, first=4, blocks=3, in_channels=1, dropout=0.2)),
])
def test_forward_mode_methods_run_on_the_study_models(name, module):
    task, problem, space = image_task(module())
    assert task.has_dropout
    dyn = SGDMomentum(lr=0.1, momentum=0.9)
    theta = space.init() + 0.3 * torch.arange(space.size, dtype=torch.float64) / space.size
    ref = hg.reverse(problem, dyn, theta, 6)
    assert ref.hypergrad.abs().max() > 0
    fwd = hg.forward(problem, dyn, theta, 6, record_partial_every=3)
    assert rel(fwd.hypergrad, ref.hypergrad) < 1e-9
    # RT-HO reports the same partial hypergradients when it does not move theta
    partial = dict(fwd.diagnostics.partial)
    history = hg.rt_ho(problem, dyn, theta, 6, every=3, update=lambda th, h: th).history
    for u in history:
        assert rel(u.hypergrad, partial[u.step]) < 1e-12
    # the masks are the ones every method draws: a different dropout seed changes the result
    other = ClassificationTask(task.model, task.splits, space, batch_size=16, seed=0,
                               dropout_seed=5).problem(problem.w0)
    assert rel(hg.reverse(other, dyn, theta, 6).hypergrad, ref.hypergrad) > 1e-6


def test_exact_reversal_warns_nothing_on_the_happy_path(small):
    _, problem, space, dyn = small
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hg.exact(problem, dyn, space.init(), 10).diagnostics.recovered_w0


# ----------------------------------------------------------------- Adam, tangents, projections
def test_adam_refuses_a_negative_learning_rate_schedule_at_its_step(small):
    from hpostudy.dynamics import Adam

    _, problem, space, _ = small
    with pytest.raises(ValueError, match="the learning rate is -0.01 at step 0: it must be "
                                         "non-negative"):
        train(problem, Adam(lr=lambda t: -0.01), space.init(), 3)
    with pytest.raises(ValueError, match="the learning rate is -0.01 at step 2"):
        hg.reverse(problem, Adam(lr=lambda t: 0.01 if t < 2 else -0.01), space.init(), 4)


def zero_gradient_entry_problem():
    """The training loss ignores the last weight, so its gradient entry is exactly 0."""
    return Problem(lambda w, th, t: (torch.exp(th) * (w[:2] - 1) ** 2).sum(),
                   lambda w, th: ((w - 0.5) ** 2).sum(), torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("method", ["forward", "rt_ho"])
def test_forward_mode_refuses_adam_without_eps_root(method):
    from hpostudy.dynamics import Adam

    problem = zero_gradient_entry_problem()
    with pytest.raises(ValueError, match=r"Adam\(eps_root=0\) has no forward-mode derivative .* "
                                         r"use eps_root > 0 .* or method 'reverse'"):
        call(method, problem, Adam(lr=0.01, eps_root=0), torch.zeros(2, dtype=torch.float64), 3)
    # the default eps_root gives a finite hypergradient on the same problem
    assert bool(torch.isfinite(hg.forward(problem, Adam(lr=0.01), torch.zeros(
        2, dtype=torch.float64), 3).hypergrad).all())


def test_a_non_finite_tangent_names_its_step():
    """:math:`L = \\sum |w|^{3/2}` has a finite gradient at 0 but an infinite Hessian there."""
    problem = Problem(lambda w, th, t: (torch.exp(th) * w.abs() ** 1.5).sum(),
                      lambda w, th: (w ** 2).sum(), torch.tensor([0.0, 1.0], dtype=torch.float64))
    with pytest.raises(FloatingPointError, match="the tangent dw/dtheta became NaN or infinite at "
                                                 "step 0 while the weights stayed finite"):
        hg.forward(problem, SGDMomentum(lr=0.1, momentum=0.5), torch.zeros(2, dtype=torch.float64), 3)


@pytest.mark.parametrize("project", [
    lambda x: projections.budget(x, 1.0), lambda x: projections.nonnegative(x),
    lambda x: projections.box(x, 0.0, 1.0),
    lambda x: projections.symmetric_budget(x.reshape(2, 2), 1.0)])
def test_projections_refuse_a_nan_entry(project):
    x = torch.tensor([0.5, math.nan, 2.0, 0.1], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"got 1 NaN or infinite entries of 4 \(the first at index "
                                         r"\((1|0, 1)\,?\)\); the hyperparameters became non-finite"):
        project(x)


def test_hyperparameters_of_another_dtype_than_the_weights_are_refused(small):
    _, problem, space, dyn = small
    with pytest.raises(TypeError, match=r"hyperparameters are torch.float32 but the weights "
                                        r"torch.float64: .* theta.to\(torch.float64\)"):
        hg.reverse(problem, dyn, space.init().float(), 3)


def test_more_bad_engine_inputs_are_named():
    from hpostudy.dynamics import Adam, TunedSGDMomentum

    problem, _, _ = quadratic()
    theta = torch.zeros(3, dtype=torch.float64)
    dyn = SGDMomentum(lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=r"betas must be two numbers in \[0, 1\), got None"):
        Adam(betas=None)
    with pytest.raises(ValueError, match="lr_entry=5 but theta has 3 entries: append the learning "
                                         "rate and the momentum"):
        hg.reverse(problem, TunedSGDMomentum(lr_entry=5, momentum_entry=1), theta, 3)
    for bad in (None, "fast"):
        with pytest.raises(TypeError, match=rf"schedule gave {bad!r} at step 0; it must give a "
                                            "number"):
            train(problem, SGDMomentum(lr=lambda t: bad), theta, 3)
    for t0 in (-1, "a", 1.0):
        with pytest.raises(ValueError, match=rf"t0 must be a non-negative integer, got {t0!r}"):
            train(problem, dyn, theta, 3, t0=t0)
    vector_val = Problem(problem.train_loss, lambda w, th: w, problem.w0)
    with pytest.raises(ValueError, match=r"val_loss must return a scalar tensor, got \(3,\)"):
        hg.reverse(vector_val, dyn, theta, 3)
    with pytest.raises(ValueError, match=r"state must be a pair \(w, v\) .* torch.float64 on cpu"):
        train(problem, dyn, theta, 3, state=(torch.zeros(3), torch.zeros(3)))


def test_projections_refuse_lists_and_nan_bounds():
    with pytest.raises(TypeError, match="budget projects a floating-point tensor, got list"):
        projections.budget([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="a box needs numbers .* as bounds, got NaN"):
        projections.box(torch.ones(3), math.nan, 1.0)
