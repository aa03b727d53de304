"""The meta-iteration loop: re-run training from the same initialization and batch order,
compute a hypergradient, update the hyperparameters, record, repeat -- checkpointed after
every meta-iteration."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ..store import Checkpoint


def meta_iterations(step: Callable[[int, torch.Tensor], tuple[torch.Tensor, dict]],
                    theta: torch.Tensor, optimizer, iterations: int,
                    on_iteration: Callable[[int, dict], None] | None = None,
                    checkpoint: Checkpoint | Path | None = None):
    """Run ``iterations`` meta-iterations, the outer loop of gradient-based hyperparameter
    optimization (Maclaurin et al. 2015). ``step(i, theta)`` trains from
    the fixed initialization and returns ``(hypergrad, record)``; the record (any dict) is kept
    with the meta-iteration's index. ``optimizer(theta, hypergrad)`` gives the next
    hyperparameters.

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
