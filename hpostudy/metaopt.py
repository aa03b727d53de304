"""The outer loop: meta-optimizers over hyperparameters and the meta-iteration loop.

* :class:`SignSGD` -- steps along the sign of the hypergradient with a constant rate and
  optional momentum (thesis section 2.4; 0.7 in its DrMAD GPU runs), following Balles & Hennig;
* :class:`ProjectedAdam` -- Adam projected onto box constraints or any convex set
  (Franceschi et al. 2017);
* :func:`meta_iterations` -- re-run training from the same initialization and batch order,
  compute a hypergradient, update the hyperparameters, record, repeat;
* :func:`black_box_search` -- the black-box baselines (grid search, random search, Bayesian
  optimization with a Gaussian process) through Optuna, for any objective.

An optimizer is a callable ``theta_next = opt(theta, hypergrad)`` (so RT-HO and the online
method take it as their ``update``); ``project`` (e.g. ``HyperSpace.clip``) keeps the
hyperparameters within their bounds. Every optimizer keeps its state explicit:
``state_dict()`` returns it (copies of its tensors) and ``load_state_dict`` restores it, so a
checkpointed run resumes exactly where it stopped.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable

import torch

Projection = Callable[[torch.Tensor], torch.Tensor]


class SignSGD:
    """:math:`u \\leftarrow \\mu u - \\eta\\,\\mathrm{sign}(d\\theta)`, :math:`\\theta \\leftarrow \\Pi(\\theta + u)`.

    State: the velocity :math:`u` (:meth:`state_dict`, :meth:`load_state_dict`)."""

    def __init__(self, lr: float | torch.Tensor, momentum: float = 0.0,
                 project: Projection | None = None):
        _check_rate(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum, self.project = lr, momentum, project
        self.velocity: torch.Tensor | None = None

    def __call__(self, theta: torch.Tensor, hypergrad: torch.Tensor) -> torch.Tensor:
        _check_step(theta, hypergrad)
        step = -self.lr * torch.sign(hypergrad)
        self.velocity = step if self.velocity is None else self.momentum * self.velocity + step
        out = theta + self.velocity
        return self.project(out) if self.project else out

    def state_dict(self) -> dict:
        return {"velocity": None if self.velocity is None else self.velocity.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.velocity = _restore(state, "velocity")


class GradientStep:
    """Plain gradient descent on the hyperparameters (with optional per-entry rates):
    :math:`\\theta \\leftarrow \\Pi(\\theta - \\eta\\, d\\theta)`. It keeps no state."""

    def __init__(self, lr: float | torch.Tensor, project: Projection | None = None):
        _check_rate(lr)
        self.lr, self.project = lr, project

    def __call__(self, theta, hypergrad):
        _check_step(theta, hypergrad)
        out = theta - self.lr * hypergrad
        return self.project(out) if self.project else out

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"GradientStep keeps no state, got {sorted(state)}")


class ProjectedAdam:
    """Adam (Kingma & Ba 2015, Algorithm 1) followed by projection onto ``[lower, upper]``, or
    with ``project`` onto any convex set (Franceschi et al. 2017, section 4; e.g.
    :meth:`hpostudy.multitask.TaskRelations.project` or a function of
    :mod:`hpostudy.projections`):

    .. math:: m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t,\\quad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,
              \\quad \\theta_t = \\Pi\\big(\\theta_{t-1} - \\eta\\,\\hat m_t/(\\sqrt{\\hat v_t} + \\epsilon)\\big)

    with :math:`\\hat m_t = m_t/(1-\\beta_1^t)`, :math:`\\hat v_t = v_t/(1-\\beta_2^t)`; ``lr`` may be a
    tensor of per-entry rates. State: ``m``, ``v`` and the step count ``t`` (:meth:`state_dict`,
    :meth:`load_state_dict`); ``project`` is a pure function and keeps none.
    """

    def __init__(self, lr: float | torch.Tensor = 0.01, betas=(0.9, 0.999), eps: float = 1e-8,
                 lower: float | torch.Tensor = -float("inf"),
                 upper: float | torch.Tensor = float("inf"), project: Projection | None = None):
        _check_rate(lr)
        if project is not None and (torch.as_tensor(lower).isfinite().any()
                                    or torch.as_tensor(upper).isfinite().any()):
            raise ValueError("give either bounds (lower, upper) or a projection, not both: put "
                             "the box into the projection")
        self.project = project
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        if bool(torch.any(torch.as_tensor(lower) > torch.as_tensor(upper))):
            raise ValueError(f"lower bound {lower} above upper bound {upper}")
        self.lr, self.betas, self.eps, self.lower, self.upper = lr, betas, eps, lower, upper
        self.m = self.v = None
        self.t = 0

    def __call__(self, theta, hypergrad):
        _check_step(theta, hypergrad)
        b1, b2 = self.betas
        if self.m is None:
            self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * hypergrad
        self.v = b2 * self.v + (1 - b2) * hypergrad ** 2
        m_hat = self.m / (1 - b1 ** self.t)
        v_hat = self.v / (1 - b2 ** self.t)
        out = theta - self.lr * m_hat / (v_hat.sqrt() + self.eps)
        if self.project is not None:
            return self.project(out)
        return torch.maximum(torch.minimum(out, torch.as_tensor(self.upper, dtype=out.dtype)),
                             torch.as_tensor(self.lower, dtype=out.dtype))

    def state_dict(self) -> dict:
        return {"m": None if self.m is None else self.m.clone(),
                "v": None if self.v is None else self.v.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        m, v = _restore(state, "m"), _restore(state, "v")
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, int) or t < 0 or (t > 0) != (m is not None):
            raise ValueError(f"ProjectedAdam state: 't' must be the number of steps taken "
                             f"(0 with no moments), got {t!r}")
        self.m, self.v, self.t = m, v, t


def _check_rate(lr) -> None:
    rate = torch.as_tensor(lr)
    if not rate.is_floating_point() and rate.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"the meta learning rate must be a number or a tensor, got {type(lr).__name__}")
    if rate.numel() == 0 or not bool(torch.isfinite(rate).all()) or float(rate.min()) < 0:
        raise ValueError(f"the meta learning rate must be finite and non-negative, got {lr}")


def _check_step(theta: torch.Tensor, hypergrad: torch.Tensor) -> None:
    if hypergrad.shape != theta.shape:
        raise ValueError(f"hypergradient of shape {tuple(hypergrad.shape)} for hyperparameters "
                         f"of shape {tuple(theta.shape)}")


def _restore(state: dict, key: str) -> torch.Tensor | None:
    if key not in state:
        raise KeyError(f"optimizer state has no '{key}' (keys: {sorted(state)})")
    value = state[key]
    return None if value is None else value.clone()


def meta_iterations(step: Callable[[int, torch.Tensor], tuple[torch.Tensor, dict]],
                    theta: torch.Tensor, optimizer, iterations: int,
                    on_iteration: Callable[[int, dict], None] | None = None,
                    checkpoint: Path | None = None):
    """Run ``iterations`` meta-iterations. ``step(i, theta)`` trains from the fixed
    initialization and returns ``(hypergrad, record)``; the record (any dict) is kept with the
    meta-iteration's index. ``optimizer(theta, hypergrad)`` gives the next hyperparameters.

    With ``checkpoint`` (a file path) the state -- hyperparameters, records, optimizer state --
    is saved atomically after every meta-iteration, and a later call with the same path resumes
    after the last completed one. A NaN or infinite hypergradient stops the run with
    :class:`FloatingPointError`; the records so far are saved and attached to the error.
    """
    records: list[dict] = []
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=False)
        theta, records, start = state["theta"], state["records"], len(state["records"])
        if hasattr(optimizer, "load_state_dict"):
            optimizer.load_state_dict(state["optimizer"])
    for i in range(start, iterations):
        hypergrad, record = step(i, theta)
        record = {"meta_iteration": i, **record}
        records.append(record)
        if on_iteration is not None:
            on_iteration(i, record)
        finite = bool(torch.isfinite(hypergrad).all())
        if finite:
            theta = optimizer(theta, hypergrad)
        if checkpoint is not None:
            _save(checkpoint, {"theta": theta, "records": records, "optimizer":
                               optimizer.state_dict() if hasattr(optimizer, "state_dict") else {}})
        if not finite:
            err = FloatingPointError(f"meta-iteration {i}: the hypergradient is NaN or infinite; "
                                     "the run stops here and keeps the results so far")
            err.records = records
            raise err
    return theta, records


def _save(path: Path, obj: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------- black-box baselines
SEARCHES = ("grid", "random", "bayes")


def black_box_search(objective: Callable[[dict], float], space: dict[str, tuple],
                     method: str, trials: int, seed: int = 0, storage: str | None = None,
                     progress: str | None = None):
    """Minimize ``objective(params)`` over ``space`` with one of Optuna's samplers.

    ``space`` maps a name to ``(low, high)`` or ``(low, high, "log")``. ``method``: ``grid``
    (``ceil(trials ** (1/d))`` points per dimension, visited in a seeded random order until the
    budget of ``trials`` or the grid runs out), ``random``, or ``bayes`` (Optuna's Gaussian-process
    sampler). ``storage`` is an Optuna storage URL (e.g. ``sqlite:///study.db``) for a study that
    survives a killed run; ``None`` keeps it in memory. Returns one row per trial: its
    parameters, value, its wall-clock seconds and their running sum, the best value so far.
    """
    import optuna
    import pandas as pd
    from tqdm.auto import tqdm

    if method not in SEARCHES:
        raise ValueError(f"unknown search '{method}': choose one of {SEARCHES}")
    if trials < 1:
        raise ValueError(f"a search needs at least one trial, got {trials}")
    for name, bounds in space.items():
        if len(bounds) not in (2, 3) or not bounds[0] < bounds[1]:
            raise ValueError(f"search space '{name}': give (low, high[, 'log']) with low < high,"
                             f" got {bounds}")
    if method == "grid":
        per_dim = max(2, math.ceil(trials ** (1 / len(space))))
        grid = {name: _grid_points(bounds, per_dim) for name, bounds in space.items()}
        sampler = optuna.samplers.GridSampler(grid, seed=seed)
    elif method == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed,
                                            n_startup_trials=max(1, min(10, trials // 3)))
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="minimize", sampler=sampler, storage=storage,
                                study_name=f"{method}-{seed}", load_if_exists=True)
    done = len([t for t in study.trials if t.state.is_finished()])
    bar = tqdm(total=trials, initial=done, desc=progress, disable=progress is None)

    def trial_objective(trial) -> float:
        params = {name: trial.suggest_float(name, b[0], b[1], log=len(b) == 3 and b[2] == "log")
                  for name, b in space.items()}
        value = objective(params)
        bar.update(1)
        return value if math.isfinite(value) else float("inf")

    if trials > done:
        study.optimize(trial_objective, n_trials=trials - done)
    bar.close()
    rows = [{"trial": t.number, "value": t.value, "trial_seconds": t.duration.total_seconds(),
             **t.params} for t in study.trials if t.state.is_finished()]
    df = pd.DataFrame(rows)
    df["seconds"] = df.trial_seconds.cumsum()
    df["best_value"] = df.value.cummin()
    df.insert(0, "method", method)
    return df


def _grid_points(bounds: tuple, n: int) -> list[float]:
    low, high = bounds[0], bounds[1]
    if len(bounds) == 3 and bounds[2] == "log":
        return [float(low * (high / low) ** (i / (n - 1))) for i in range(n)]
    return [float(low + (high - low) * i / (n - 1)) for i in range(n)]
