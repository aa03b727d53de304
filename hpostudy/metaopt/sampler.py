"""The draws of a black-box search: the hyperparameters of draw ``k`` as a function of the
search's seed and ``k`` (a seeded grid, seeded uniform draws, or Optuna's Gaussian-process
sampler seeded per draw), so that a resumed or shared search repeats an uninterrupted one."""
from __future__ import annotations

import itertools
import math

import numpy as np
import optuna


SEARCHES = ("grid", "random", "bayes")


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
    sequence of an uninterrupted one.

    Args:
        space: name -> ``(low, high)`` or ``(low, high, "log")``.
        method: ``"grid"``, ``"random"`` or ``"bayes"``.
        trials: the number of draws (fixes the grid's points per dimension and the number of
            random draws the Gaussian-process sampler starts with).
        seed: the seed of the draws.
        first: hyperparameters that draw 0 evaluates, if given (the grid's points then start
            at draw 1).
    """

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
        """The parameters Optuna samples jointly for ``trial``: those of the Gaussian-process
        sampler of the trial's draw for ``bayes``, none otherwise (nor for the given first
        draw or a draw over the budget).

        Args:
            study: the Optuna study.
            trial: the trial being sampled.

        Returns:
            dict: parameter name -> Optuna distribution (empty: sampled independently).
        """
        if self.method != "bayes":
            return {}
        draw = self._draw(study, trial)
        if draw >= self.trials or self._is_first(draw):
            return {}
        return self._gp(draw).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        """The values of the jointly sampled parameters: the Gaussian-process sampler's
        proposal for the trial's draw, given the trials completed so far.

        Args:
            study: the Optuna study.
            trial: the trial being sampled.
            search_space: the parameters of :meth:`infer_relative_search_space`.

        Returns:
            dict: parameter name -> value (empty unless ``bayes``).
        """
        if self.method != "bayes" or not search_space:
            return {}
        draw = self._draw(study, trial)
        if self._is_first(draw):
            return {}
        return self._gp(draw).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        """The value of ``param_name`` for the trial's draw ``k``: the given first value for
        draw 0, the ``k``-th point of the seeded grid permutation, a uniform (log-uniform)
        draw of a generator seeded with ``(seed, k)``, or the seeded Gaussian-process
        sampler's.

        Args:
            study: the Optuna study.
            trial: the trial being sampled.
            param_name: the parameter's name in ``space``.
            param_distribution: its Optuna distribution.

        Returns:
            float: the parameter's value.
        """
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
