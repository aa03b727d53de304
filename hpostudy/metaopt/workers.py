"""The workers of a black-box search: the trials of dead workers failed and their draws
retried, one trial taken and evaluated under a heartbeat, and the table of completed draws."""
from __future__ import annotations

import datetime
import math
import os
import socket
import threading
import uuid
from typing import Callable

import optuna

from ..store import process_alive
from .sampler import _draws, _is_log, _issued
from .storage import GRACE_SECONDS, HEARTBEAT_SECONDS, _quiet


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
