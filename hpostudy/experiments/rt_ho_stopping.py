"""Early stopping, the rule both methods of :mod:`hpostudy.experiments.rt_ho` train under:
the validation error every ``eval_every`` steps, the best weights kept, training ended after
``patience`` measurements without improvement. ``task`` is the experiment's
:class:`~hpostudy.experiments.rt_ho.TwoTasks` (named in annotations only: this module is
imported by the experiment module, not the other way round).
"""
from __future__ import annotations

import torch

class EarlyStopping:
    """Measures the validation error every ``eval_every`` steps, keeps the best weights and
    says when ``patience`` measurements in a row brought no improvement."""

    def __init__(self, task: TwoTasks, eval_every: int, patience: int):
        self.task, self.eval_every, self.patience = task, eval_every, patience
        self.best_error, self.best_w, self.best_step, self.waited = float("inf"), None, 0, 0
        self.history: list[dict] = []

    def __call__(self, t: int, state, theta: torch.Tensor) -> bool:
        if (t + 1) % self.eval_every:
            return False
        error = self.task.error(state[0], "val")
        self.history.append({"step": t + 1, "val_error": error, "rho": float(theta[0]),
                             "eta": float(theta[1]), "mu": float(theta[2])})
        if error < self.best_error:
            self.best_error, self.best_w, self.best_step = error, state[0].clone(), t + 1
            self.best_theta, self.waited = theta.clone(), 0
        else:
            self.waited += 1
        return self.waited >= self.patience

    def outcome(self, steps: int, diverged: bool, start: torch.Tensor) -> dict:
        """The best measurement's validation error, test accuracy and hyperparameters (the
        starting ones, and chance accuracy, if training diverged before any measurement)."""
        found = self.best_w is not None
        accuracy = 1.0 - self.task.error(self.best_w, "test") if found else 0.0
        theta = self.best_theta if found else start
        return {"val_error": self.best_error, "test_accuracy": accuracy, "steps": steps,
                "best_step": self.best_step, "diverged": diverged, "rho": float(theta[0]),
                "eta": float(theta[1]), "mu": float(theta[2]), "history": self.history}
