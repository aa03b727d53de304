"""The outer loop: meta-optimizers over hyperparameters and the meta-iteration loop.

* :class:`SignSGD` -- steps along the sign of the hypergradient with a constant rate and
  optional momentum (thesis section 2.4; 0.7 in its DrMAD GPU runs), following Balles & Hennig;
* :class:`ProjectedAdam` -- Adam projected onto box constraints or any convex set
  (Franceschi et al. 2017);
* :func:`meta_iterations` -- re-run training from the same initialization and batch order,
  compute a hypergradient, update the hyperparameters, record, repeat;
* :func:`black_box_search` -- the black-box baselines (grid search, random search, Bayesian
  optimization with a Gaussian process) through Optuna, for any objective; resumable after a
  kill and shared by any number of workers on one study (e.g. in PostgreSQL).

An optimizer is a callable ``theta_next = opt(theta, hypergrad)`` (so RT-HO and the online
method take it as their ``update``); ``project`` (e.g. ``HyperSpace.clip``) keeps the
hyperparameters within their bounds. Every optimizer keeps its state explicit:
``state_dict()`` returns it (copies of its tensors) and ``load_state_dict`` restores it, so a
checkpointed run resumes exactly where it stopped.
"""
from __future__ import annotations

import contextlib
import datetime
import itertools
import math
import os
import socket
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import optuna
import torch

from .store import Checkpoint, StoreError, process_alive

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
        """The optimizer's state, to checkpoint.

        Returns:
            dict: ``velocity``, None before the first step (copies of its tensors).
        """
        return {"velocity": None if self.velocity is None else self.velocity.clone()}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            KeyError: a state without ``velocity``.
        """
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
        """The optimizer's state, to checkpoint.

        Returns:
            dict: nothing: plain gradient steps keep no state.
        """
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            ValueError: a non-empty state.
        """
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
        """The optimizer's state, to checkpoint.

        Returns:
            dict: the moments ``m``, ``v`` (None before the first step) and the step count ``t``
                (copies of its tensors).
        """
        return {"m": None if self.m is None else self.m.clone(),
                "v": None if self.v is None else self.v.clone(), "t": self.t}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`.

        Args:
            state: the state.

        Raises:
            KeyError: a state without ``m`` or ``v``.
            ValueError: a step count ``t`` that is not a count, or does not match the moments.
        """
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
                    checkpoint: Checkpoint | Path | None = None):
    """Run ``iterations`` meta-iterations. ``step(i, theta)`` trains from the fixed
    initialization and returns ``(hypergrad, record)``; the record (any dict) is kept with the
    meta-iteration's index. ``optimizer(theta, hypergrad)`` gives the next hyperparameters.

    With ``checkpoint`` (a :class:`~hpostudy.store.Checkpoint`; a file path is wrapped in one)
    the state -- hyperparameters, records, optimizer state -- is saved atomically after every
    meta-iteration, and a later call with the same checkpoint resumes after the last completed
    one. A NaN or infinite hypergradient stops the run with :class:`FloatingPointError`; the
    records so far are saved and attached to the error.

    Args:
        step: ``step(i, theta) -> (hypergrad, record)``, one meta-iteration's training.
        theta: the initial hyperparameters.
        optimizer: ``optimizer(theta, hypergrad) -> theta`` (e.g. :class:`ProjectedAdam`);
            with a checkpoint, also ``state_dict``/``load_state_dict``.
        iterations: the number of meta-iterations.
        on_iteration: ``on_iteration(i, record)`` after each meta-iteration.
        checkpoint: where the state is saved after every meta-iteration (None: nowhere).

    Returns:
        tuple: ``(theta, records)``, the final hyperparameters and one record per
        meta-iteration.

    Raises:
        FloatingPointError: a NaN or infinite hypergradient (the records so far attached).
    """
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(Path(checkpoint))
    records: list[dict] = []
    start = 0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        theta, records, start = state["theta"], state["records"], len(state["records"])
        if hasattr(optimizer, "load_state_dict"):
            optimizer.load_state_dict(state["optimizer"])
    for i in range(start, iterations):
        try:
            hypergrad, record = step(i, theta)
        except FloatingPointError as err:  # NaN during training: keep the records so far
            err.records = records
            raise
        record = {"meta_iteration": i, **record}
        records.append(record)
        if on_iteration is not None:
            on_iteration(i, record)
        finite = bool(torch.isfinite(hypergrad).all())
        if finite:
            theta = optimizer(theta, hypergrad)
        if checkpoint is not None:
            checkpoint.save({"theta": theta, "records": records, "optimizer":
                             optimizer.state_dict() if hasattr(optimizer, "state_dict") else {}})
        if not finite:
            err = FloatingPointError(f"meta-iteration {i}: the hypergradient is NaN or infinite; "
                                     "the run stops here and keeps the results so far")
            err.records = records
            raise err
    return theta, records


# ---------------------------------------------------------------------- black-box baselines
SEARCHES = ("grid", "random", "bayes")
SEARCH_STORAGE = "HPOSTUDY_SEARCH_STORAGE"  # environment: one Optuna storage URL for every search
HEARTBEAT_SECONDS = 10  # a running trial's heartbeat in a database storage
GRACE_SECONDS = 60  # a trial of another machine silent for longer is taken as dead
POLL_SECONDS = 2  # a worker waiting for the others' last trials looks again after this


class SearchStorageError(StoreError):
    """A search's Optuna storage cannot be used; the message names it and the fix."""


def black_box_search(objective: Callable[[dict], float | tuple | dict], space: dict[str, tuple],
                     method: str, trials: int, seed: int = 0, storage: str | None = None,
                     progress: str | None = None, study: str | None = None,
                     first: dict | None = None):
    """Minimize ``objective(params)`` over ``space`` by grid search, random search or Bayesian
    optimization, on an Optuna study that survives killed runs and may be shared by workers.

    ``space`` maps a name to ``(low, high)`` or ``(low, high, "log")``. A search is the sequence
    of *draws* ``0 .. trials-1``, and the hyperparameters of draw ``k`` are a function of
    ``(seed, k)``: ``grid`` takes the ``k``-th point of a seeded permutation of a grid with
    ``ceil(trials ** (1/d))`` points per dimension, ``random`` draws uniformly (log-uniformly)
    from a generator seeded with ``(seed, k)``, ``bayes`` asks Optuna's Gaussian-process sampler
    seeded with ``(seed, k)`` given the trials completed so far (its first
    ``min(10, trials // 3)`` draws are random).

    The study lives in ``storage`` (an Optuna URL such as ``sqlite:///search.db``; ``None``:
    in memory) unless the environment variable ``HPOSTUDY_SEARCH_STORAGE`` names a shared one
    (``hpostudy run --storage postgresql://...`` sets it), which then takes precedence and needs
    ``study``, a name unique to this search (e.g. the run's key and the method). Any number of
    workers -- processes on any machines calling this function with the same storage and study
    -- share the draws; each returns once every draw has completed. A trial whose worker died
    (a dead process on this machine at once; on another machine once its heartbeat is
    ``GRACE_SECONDS`` old) is marked failed and its draw retried: every draw completes exactly
    once, the search ends with exactly ``trials`` completed trials, and a resumed search (or a
    distributed grid or random one) evaluates the configurations of an uninterrupted one. (A
    worker that finds the budget taken after creating a trial ends it as pruned, unevaluated.)

    ``objective`` returns the value to minimize, or ``(value, metrics)`` with a dict of further
    numbers about the trial (e.g. its test loss), or one dict with the value under ``"value"``
    and the metrics beside it; the metrics are kept in the study so that every worker's
    table has them. An objective that raises fails its trial and stops this worker (a later
    run retries the draw); a non-finite value is recorded as ``inf``.

    Returns one row per draw: ``trial`` (the draw), its parameters, value and metrics, its
    seconds and their running sum (compute time, summed over workers), and the best value so
    far.

    Args:
        objective: ``objective(params) -> value``, ``(value, metrics)`` or a dict with
            ``"value"``.
        space: name -> ``(low, high)`` or ``(low, high, "log")``.
        method: ``"grid"``, ``"random"`` or ``"bayes"``.
        trials: the number of draws (the budget of completed trials).
        seed: the seed of the draws.
        storage: an Optuna storage URL (None: in memory).
        progress: a label for the progress bar (None: no bar).
        study: the study's name, unique to this search (needed with a shared storage).
        first: hyperparameters to evaluate as draw 0, if given.

    Returns:
        pandas.DataFrame: one row per draw, as described above.
    """
    from .progress import tqdm

    _check_search(space, method, trials)
    shared = os.environ.get(SEARCH_STORAGE)
    if shared and not study:
        raise ValueError(f"{SEARCH_STORAGE} names a shared search storage: give every search "
                         "its own study name (black_box_search(..., study=...), e.g. the run's "
                         "key and the method)")
    url = shared or storage
    name = study or f"{method}-{seed}"
    if first is not None and set(first) != set(space):
        raise ValueError(f"first must give a value for each of {sorted(space)}, got "
                         f"{sorted(first)}")
    sampler = DrawSampler(space, method, trials, seed, first)
    found, database = _open_study(url, name, sampler)
    _claim_search(found, url, name, {"method": method, "seed": seed,
                                     "space": {k: list(v) for k, v in space.items()}})
    worker = _Worker()
    bar = tqdm(total=trials, desc=progress, disable=progress is None)
    while True:
        trials_now = _recover(found, trials, worker)
        draws = _draws(trials_now)
        done = {draws[t.number] for t in trials_now
                if t.state == optuna.trial.TrialState.COMPLETE and draws[t.number] < trials}
        bar.update(len(done) - bar.n)
        if len(done) >= trials:
            break
        waiting = any(t.state == optuna.trial.TrialState.WAITING for t in trials_now)
        if not waiting and _issued(trials_now, draws) >= trials:
            time.sleep(POLL_SECONDS)  # the last draws run elsewhere: wait, take over if they die
            continue
        _run_trial(found, database, objective, space, trials, worker)
    bar.close()
    return _search_table(found, method, space, trials)


def _check_search(space: dict, method: str, trials: int) -> None:
    if method not in SEARCHES:
        raise ValueError(f"unknown search '{method}': choose one of {SEARCHES}")
    if trials < 1:
        raise ValueError(f"a search needs at least one trial, got {trials}")
    for name, bounds in space.items():
        if len(bounds) not in (2, 3) or not bounds[0] < bounds[1]:
            raise ValueError(f"search space '{name}': give (low, high[, 'log']) with low < high,"
                             f" got {bounds}")


def _is_log(bounds: tuple) -> bool:
    return len(bounds) == 3 and bounds[2] == "log"


def _grid_points(bounds: tuple, n: int) -> list[float]:
    low, high = bounds[0], bounds[1]
    if _is_log(bounds):
        inner = [float(low * (high / low) ** (i / (n - 1))) for i in range(1, n - 1)]
    else:
        inner = [float(low + (high - low) * i / (n - 1)) for i in range(1, n - 1)]
    return [float(low), *inner, float(high)]


def _draw_seed(seed: int, draw: int) -> int:
    """A generator seed for draw ``draw`` of a search seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1)[0])


def _draws(trials) -> dict[int, int]:
    """Trial number -> draw. A retry carries its draw (user attribute ``draw``, set when it was
    enqueued); every other trial takes the next draw in the order of trial numbers, which the
    storage assigns atomically, so every worker computes the same map."""
    draws, fresh = {}, 0
    for t in sorted(trials, key=lambda t: t.number):
        if "retry_of" in t.user_attrs:
            draws[t.number] = int(t.user_attrs["draw"])
        else:
            draws[t.number], fresh = fresh, fresh + 1
    return draws


def _issued(trials, draws: dict[int, int]) -> int:
    """How many draws have been handed out (as fresh trials)."""
    return sum(1 for t in trials if "retry_of" not in t.user_attrs)


class DrawSampler(optuna.samplers.BaseSampler):
    """Optuna sampler whose values for a trial are a function of the search's seed and the
    trial's draw (see :func:`black_box_search`), so that a resumed or shared search repeats the
    sequence of an uninterrupted one."""

    def __init__(self, space: dict[str, tuple], method: str, trials: int, seed: int,
                 first: dict | None = None):
        self.space, self.method, self.trials, self.seed = space, method, trials, seed
        self.first = first
        self._gp_draw, self._gp_sampler = None, None
        if method == "grid":
            per_dim = max(2, math.ceil(trials ** (1 / len(space))))
            axes = [_grid_points(bounds, per_dim) for bounds in space.values()]
            self.grid = list(itertools.product(*axes))
            self.order = np.random.default_rng(seed).permutation(len(self.grid))

    def _draw(self, study, trial) -> int:
        return _draws(study.get_trials(deepcopy=False))[trial.number]

    def _gp(self, draw: int):
        """Optuna's GP sampler seeded for ``draw`` (a fresh one per draw: no state carries
        over from the draws this process happened to sample)."""
        if self._gp_draw != draw:
            self._gp_draw, self._gp_sampler = draw, optuna.samplers.GPSampler(
                seed=_draw_seed(self.seed, draw),
                n_startup_trials=max(1, min(10, self.trials // 3)))
        return self._gp_sampler

    def _is_first(self, draw: int) -> bool:
        """Whether ``draw`` evaluates the given first parameters."""
        return self.first is not None and draw == 0

    def infer_relative_search_space(self, study, trial):
        if self.method != "bayes":
            return {}
        draw = self._draw(study, trial)
        if draw >= self.trials or self._is_first(draw):
            return {}
        return self._gp(draw).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        if self.method != "bayes" or not search_space:
            return {}
        draw = self._draw(study, trial)
        if self._is_first(draw):
            return {}
        return self._gp(draw).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        draw = self._draw(study, trial)
        index = list(self.space).index(param_name)
        if self._is_first(draw):
            return float(self.first[param_name])
        if self.method == "bayes":
            return self._gp(draw).sample_independent(study, trial, param_name,
                                                     param_distribution)
        if self.method == "grid":
            return self.grid[int(self.order[draw - (self.first is not None)])][index]
        bounds = self.space[param_name]
        u = float(np.random.default_rng(_draw_seed(self.seed, draw)).random(len(self.space))[index])
        if _is_log(bounds):
            low, high = math.log(bounds[0]), math.log(bounds[1])
            return min(bounds[1], max(bounds[0], math.exp(low + u * (high - low))))
        return bounds[0] + u * (bounds[1] - bounds[0])


# ------------------------------------------------------------------ search workers
class _Worker:
    """This process as the owner of running trials: host, process id and a token (a process
    id may come back after a reboot)."""

    def __init__(self):
        self.host, self.pid, self.token = socket.gethostname(), os.getpid(), uuid.uuid4().hex

    @property
    def label(self) -> str:
        return f"{self.host}/{self.pid}/{self.token}"

    def gone(self, label: str | None) -> bool:
        """Whether the worker named ``label`` has certainly died (known on its own machine)."""
        if not label:
            return False
        host, pid, token = label.split("/")
        if host != self.host:
            return False  # another machine: its heartbeat tells (fail_stale_trials)
        if int(pid) == self.pid:
            return token != self.token
        return not process_alive(int(pid))


def _recover(study, budget: int, worker: _Worker) -> list:
    """Mark the trials of dead workers failed and enqueue one retry for every draw below the
    budget that has no completed, running or waiting trial. Returns the study's trials."""
    state = optuna.trial.TrialState
    now = datetime.datetime.now()
    for t in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        unowned = ("worker" not in t.user_attrs and t.datetime_start is not None
                   and (now - t.datetime_start).total_seconds() > GRACE_SECONDS)
        if worker.gone(t.user_attrs.get("worker")) or unowned:
            try:
                study.tell(t.number, state=state.FAIL, skip_if_finished=True)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another worker failed it first
    with _quiet():
        optuna.storages.fail_stale_trials(study)  # heartbeats of other machines
    trials = study.get_trials(deepcopy=False)
    draws = _draws(trials)
    live = {draws[t.number] for t in trials
            if t.state in (state.COMPLETE, state.RUNNING, state.WAITING)}
    failed = {draws[t.number]: t.number for t in trials if t.state == state.FAIL}
    lost = [k for k in range(min(budget, _issued(trials, draws))) if k not in live]
    for k in lost:
        study.enqueue_trial({}, user_attrs={"draw": k, "retry_of": failed.get(k, -1)})
    return study.get_trials(deepcopy=False) if lost else trials


def _run_trial(study, database, objective: Callable[[dict], float], space: dict, budget: int,
               worker: _Worker) -> None:
    """Take the next trial (a waiting retry or a fresh draw) and evaluate it, unless its draw
    is over the budget or already taken by another trial (then it ends as pruned)."""
    state = optuna.trial.TrialState
    with _quiet():
        trial = study.ask()
    trial.set_user_attr("worker", worker.label)
    trials = study.get_trials(deepcopy=False)
    draws = _draws(trials)
    draw = draws[trial.number]
    taken = any(draws[t.number] == draw and t.number != trial.number
                and (t.state == state.COMPLETE
                     or (t.state in (state.RUNNING, state.WAITING) and t.number < trial.number))
                for t in trials)
    if draw >= budget or taken:
        study.tell(trial, state=state.PRUNED)
        return
    trial.set_user_attr("draw", draw)
    with _heartbeat(database, trial._trial_id):
        params = {name: trial.suggest_float(name, b[0], b[1], log=_is_log(b))
                  for name, b in space.items()}
        try:
            value = objective(params)
        except BaseException:
            study.tell(trial, state=state.FAIL, skip_if_finished=True)
            raise
        if isinstance(value, dict):
            value, metrics = value["value"], {k: x for k, x in value.items() if k != "value"}
        else:
            value, metrics = value if isinstance(value, tuple) else (value, {})
        trial.set_user_attr("metrics", {k: x if isinstance(x, bool) else float(x)
                                        for k, x in metrics.items()})
    try:
        study.tell(trial, value if math.isfinite(value) else float("inf"))
    except optuna.exceptions.UpdateFinishedTrialError:
        pass  # taken for dead (a long silence) and retried by another worker


class _heartbeat:
    """While a trial runs, record its heartbeat in the database storage (if any) every
    ``HEARTBEAT_SECONDS`` (other machines' workers take a silent trial for dead)."""

    def __init__(self, storage, trial_id: int):
        self.storage, self.trial_id = storage, trial_id
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if self.storage is not None:
            self.storage.record_heartbeat(self.trial_id)
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def _beat(self):
        while not self.stop.wait(HEARTBEAT_SECONDS):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # the database is briefly unreachable: try again next beat
                continue

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def _search_table(study, method: str, space: dict, budget: int):
    import pandas as pd

    trials = study.get_trials(deepcopy=False)
    draws = _draws(trials)
    complete = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state == optuna.trial.TrialState.COMPLETE and draws[t.number] < budget:
            complete.setdefault(draws[t.number], t)
    rows = [{"trial": k, "value": t.value, "trial_seconds": t.duration.total_seconds(),
             **{name: t.params[name] for name in space}, **t.user_attrs.get("metrics", {})}
            for k, t in sorted(complete.items())]
    df = pd.DataFrame(rows)
    df["seconds"] = df.trial_seconds.cumsum()
    df["best_value"] = df.value.cummin()
    df.insert(0, "method", method)
    return df


# ------------------------------------------------------------------ storage
@contextlib.contextmanager
def _quiet():
    """Silence Optuna's notes on the heartbeat (experimental; meant for ``Study.optimize``,
    which cannot keep a budget across workers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        yield
def _open_study(url: str | None, name: str, sampler):
    """``(study, database)``: the study ``name`` in the storage ``url`` (created if new) and
    its database storage (None: in memory)."""
    if url is None:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        return optuna.create_study(direction="minimize", sampler=sampler, study_name=name), None
    database = check_search_storage(url)
    found = optuna.create_study(direction="minimize", sampler=sampler, storage=database,
                                study_name=name, load_if_exists=True)
    return found, database


def check_search_storage(url: str):
    """The Optuna database storage at ``url`` (its tables created if new), with clear errors
    for a missing database driver, an unreachable server and a corrupted SQLite file.

    A SQLite URL must name a new file or an Optuna database: a folder or any other file (a
    CSV, someone's own SQLite database) is refused and left exactly as it is. Only an Optuna
    database that SQLite can no longer read is moved aside (never deleted).

    Args:
        url: an Optuna storage URL (``sqlite:///...``, ``postgresql://...``).

    Returns:
        optuna.storages.RDBStorage: the storage.

    Raises:
        SearchStorageError: a missing driver, an unreachable server, or a file that is not an
            Optuna database.
    """
    import sqlalchemy.exc

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    shown = _without_password(url)
    _refuse_foreign_sqlite(url)
    if url.startswith("postgresql://"):  # the driver of the cluster extra, whatever
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")  # SQLAlchemy's default
    for attempt in range(3):
        try:
            with _quiet():
                database = optuna.storages.RDBStorage(
                    url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
            database.get_all_studies()
            return database
        except ImportError as err:
            missing = getattr(err.__cause__, "name", None) or err.name or "its database driver"
            fix = ("install the cluster extra (pip install 'hpostudy[cluster]')"
                   if url.startswith("postgresql") else
                   f"install it, or use PostgreSQL (postgresql://user:password@host/db), whose "
                   "driver the cluster extra installs (pip install 'hpostudy[cluster]')")
            raise SearchStorageError(
                f"the search storage {shown} needs the Python package '{missing}': {fix}") from err
        except sqlalchemy.exc.IntegrityError:
            if attempt == 2:  # two workers creating the same tables at once
                raise
            time.sleep(1 + attempt)
        except (sqlalchemy.exc.DatabaseError, optuna.exceptions.StorageInternalError) as err:
            raise _storage_error(url, shown, err) from err
        except (ValueError, sqlalchemy.exc.ArgumentError) as err:
            raise SearchStorageError(f"cannot open the search storage {shown}: {err}") from err


OPTUNA_TABLES = (b"CREATE TABLE studies", b"CREATE TABLE trials", b"CREATE TABLE trial_params",
                 b"CREATE TABLE version_info")  # in the schema of every Optuna database
SQLITE_HEADER = b"SQLite format 3\x00"


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases, in-memory SQLite and URLs
    SQLAlchemy cannot parse, which opening the storage reports)."""
    if not url.startswith("sqlite:"):
        return None
    import sqlalchemy

    try:
        database = sqlalchemy.engine.make_url(url).database
    except sqlalchemy.exc.ArgumentError:
        return None
    return Path(database) if database and database != ":memory:" else None


def is_optuna_database(path: Path) -> bool:
    """Whether ``path`` is a file in SQLite's format whose schema holds Optuna's tables: a
    search database (this project's, or Optuna's anyway), even one SQLite cannot read any
    more. Nothing else is ever moved aside.

    Args:
        path: a file.

    Returns:
        bool: True for an Optuna search database.
    """
    import mmap

    try:
        with open(path, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as content:
                return all(content.find(table) >= 0 for table in OPTUNA_TABLES)
    except (OSError, ValueError):
        return False


def _refuse_foreign_sqlite(url: str) -> None:
    """Refuse a SQLite URL naming a folder, a file in a missing folder, or a non-empty file
    that is not an Optuna database (opening it would add Optuna's tables to someone's file,
    or fail on it), before anything is opened."""
    path = _sqlite_path(url)
    if path is None:
        return
    folder = path if path.is_dir() else path.parent
    fix = (f"name a new file for the search database (e.g. sqlite:///{folder / 'search.db'}) "
           "or a database server (postgresql://user:password@host/db)")
    if path.is_dir():
        raise SearchStorageError(f"the search storage {url} names the folder {path}, not a "
                                 f"database file; it was left untouched: {fix}")
    if not path.parent.is_dir():
        raise SearchStorageError(f"the search storage {url} names a file in {path.parent}, "
                                 "which is not a folder: create the folder, or name a file in "
                                 "an existing one")
    if path.exists() and path.stat().st_size and not is_optuna_database(path):
        raise SearchStorageError(f"the search storage {url} names {path}, which is not an "
                                 f"Optuna search database; it was left untouched: {fix}")


def _storage_error(url: str, shown: str, err: Exception) -> SearchStorageError:
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0][:200]
    path = _sqlite_path(url)
    if path is not None and path.exists():
        if is_optuna_database(path):  # only a search database is ever moved aside
            aside = path.with_name(f"{path.name}.corrupt-"
                                   f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(path, aside)
            return SearchStorageError(
                f"the search database {path} is unreadable ({reason}); it was moved to "
                f"{aside.name} beside it. Run again to start this search afresh (or put back a "
                "good copy of the file).")
        return SearchStorageError(f"cannot use the search storage {shown} ({reason}); {path} "
                                  "was left untouched: name a new file for the search database "
                                  "or a database server (postgresql://user:password@host/db)")
    return SearchStorageError(f"cannot use the search storage {shown} ({reason}): check that "
                              "the database server runs and accepts connections from this "
                              "machine, and the URL's user, password and database")


def _without_password(url: str) -> str:
    try:
        import sqlalchemy

        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _claim_search(study, url: str | None, name: str, search: dict) -> None:
    """Record what the study searches; refuse a study of the same name that searches another
    space, method or seed (a name reused in a shared storage)."""
    known = study.user_attrs.get("search")
    if known is None:
        study.set_user_attr("search", search)
    elif known != search:
        raise SearchStorageError(
            f"the study '{name}' in {_without_password(url or 'memory')} holds another search "
            f"({known}), not {search}: give this search another study name, or delete that "
            "study (optuna delete-study) if it is stale")
