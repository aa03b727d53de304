"""The black-box baselines: :func:`black_box_search` minimizes any objective by grid search,
random search or Bayesian optimization with a Gaussian process, through Optuna, resumable
after a kill and shared by any number of workers on one study."""
from __future__ import annotations

import os
import time
from typing import Callable

import optuna

from .sampler import DrawSampler, _check_search, _draws, _issued
from .storage import _claim_search, _open_study
from .workers import _Worker, _recover, _run_trial, _search_table


SEARCH_STORAGE = "HPOSTUDY_SEARCH_STORAGE"  # environment: one Optuna storage URL for every search
POLL_SECONDS = 2  # a worker waiting for the others' last trials looks again after this


def black_box_search(objective: Callable[[dict], float | tuple | dict], space: dict[str, tuple],
                     method: str, trials: int, seed: int = 0, storage: str | None = None,
                     progress: str | None = None, study: str | None = None,
                     first: dict | None = None):
    """Minimize ``objective(params)`` over ``space`` by grid search, random search or Bayesian
    optimization, on an Optuna study that survives killed runs and may be shared by workers.

    These are the black-box baselines of MacKay et al. (2019): grid search, random search
    (Bergstra & Bengio 2012) and Bayesian optimization with a Gaussian-process surrogate
    (Snoek et al. 2012; Optuna's ``GPSampler``).

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
