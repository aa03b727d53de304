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

The package holds one idea per module, and re-exports every public name from here:

* ``optimizers`` -- :class:`SignSGD`, :class:`GradientStep`, :class:`ProjectedAdam`;
* ``loop`` -- :func:`meta_iterations`;
* ``search`` -- :func:`black_box_search`, the black-box baselines;
* ``sampler`` -- :class:`DrawSampler`, the draws of a search as a function of its seed;
* ``workers`` -- the trials of a search's workers: retries of dead workers' draws, heartbeats,
  the table of completed draws;
* ``storage`` -- the search's Optuna storage (:func:`check_search_storage`,
  :func:`is_optuna_database`, :class:`SearchStorageError`).
"""
from __future__ import annotations

from .loop import meta_iterations
from .optimizers import GradientStep, Projection, ProjectedAdam, SignSGD
from .sampler import SEARCHES, DrawSampler
from .search import POLL_SECONDS, SEARCH_STORAGE, black_box_search
from .storage import (GRACE_SECONDS, HEARTBEAT_SECONDS, OPTUNA_TABLES, SQLITE_HEADER,
                      SearchStorageError, check_search_storage, is_optuna_database)

__all__ = ["SignSGD", "GradientStep", "ProjectedAdam", "Projection", "meta_iterations",
           "black_box_search", "SEARCHES", "SEARCH_STORAGE", "POLL_SECONDS", "DrawSampler",
           "SearchStorageError", "check_search_storage", "is_optuna_database",
           "HEARTBEAT_SECONDS", "GRACE_SECONDS", "OPTUNA_TABLES", "SQLITE_HEADER"]
