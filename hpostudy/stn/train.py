"""The STN training algorithm (MacKay et al. 2019, Algorithm 1) and plain training with
given hyperparameter values, the baseline every STN result is compared with.

One *cycle* of :func:`train_stn` is ``train_steps`` steps on training batches, each with
freshly perturbed per-example hyperparameters ``u + eps``, updating the best-response
approximation's parameters ``phi`` on the regularized training loss; then ``val_steps`` steps on
validation batches updating the hyperparameters ``u`` and the perturbation scale ``sigma`` on
``L_val(w_phi(u + eps)) - tau * H[p(eps | sigma)]``. The validation loss applies no
regularization, so the hyperparameters act on it only through the approximate best response.
That is also why no gradient estimator is needed for the discrete hyperparameters: their
rounding happens inside the training step, never on the path of the hyperparameter gradient.

**Divergence.** A run that ends without NaN can still have learned nothing or blown up. The rule
(:func:`diverged`): a run diverged when its final validation loss is not finite or not below
99% of the chance-level loss (``log`` of the number of classes or of the vocabulary, where a
fresh network starts). :func:`check_converged` raises :class:`Diverged` for such a run, so no
table or verdict is written from it.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from ..progress import tqdm

from ..store import Checkpoint
from .hyperparameters import HyperparameterSet

DIVERGENCE_SHARE = 0.99  # a final validation loss at or above this share of chance: diverged


@dataclass(frozen=True)
class STNSettings:
    """Knobs of Algorithm 1. ``learn_scale=False`` keeps ``sigma`` at its initial value (the
    slides' fixed-scale sensitivity runs)."""

    train_steps: int = 2  # T_train: steps on training batches per cycle
    val_steps: int = 1  # T_val: steps on validation batches per cycle
    lr: float = 1e-3  # Adam step of the approximation parameters phi
    hyper_lr: float = 3e-3  # Adam step of the hyperparameters u
    scale_lr: float = 3e-3  # Adam step of log sigma
    entropy_weight: float = 1e-3  # tau
    init_scale: float = 0.5  # initial sigma on the unconstrained scale
    learn_scale: bool = True

    def __post_init__(self):
        if self.train_steps < 1 or self.val_steps < 1:
            raise ValueError("train_steps and val_steps must both be at least 1, got "
                             f"{self.train_steps} and {self.val_steps}")


class Diverged(RuntimeError):
    """A run ended at or above the chance-level loss (see :func:`diverged`)."""


def diverged(val_loss: float, chance_loss: float) -> bool:
    """The divergence rule: the final validation loss is not finite or not below
    ``DIVERGENCE_SHARE`` (99%) of the chance-level loss."""
    return not math.isfinite(val_loss) or val_loss >= DIVERGENCE_SHARE * chance_loss


def check_converged(curve: pd.DataFrame, chance_loss: float, what: str) -> None:
    """Raise :class:`Diverged` if the last validation loss of ``curve`` diverged; where a
    finite loss had been below the threshold earlier, the message says the network learned
    and then overfit (its remedy is not a smaller learning rate)."""
    last = curve.iloc[-1]
    final = float(last.val_loss)
    if not diverged(final, chance_loss):
        return
    lowest = curve.loc[curve.val_loss.idxmin()]
    if math.isfinite(final) and not diverged(float(lowest.val_loss), chance_loss):
        raise Diverged(
            f"{what} overfit: its validation loss fell to {float(lowest.val_loss):.5g} at "
            f"training step {int(lowest.step)}, then rose to {final:.5g} after "
            f"{int(last.step)} steps, not below {DIVERGENCE_SHARE:.0%} of the chance level "
            f"{chance_loss:.4g} (a fresh network starts there): the network learned its "
            "training data by heart. Fewer training steps, more training data or stronger "
            "regularization avoid it; no table or verdict was written from this run.")
    raise divergence(final, int(last.step), chance_loss, what)


def divergence(val_loss: float, steps: int, chance_loss: float, what: str) -> Diverged:
    """The error for a run that ended at ``val_loss`` after ``steps`` steps."""
    return Diverged(
        f"{what} diverged: its validation loss after {steps} training steps is {val_loss:.5g}, "
        f"not below {DIVERGENCE_SHARE:.0%} of the chance level {chance_loss:.4g} (the log of "
        "the number of classes or words; a fresh network starts there). Lower the learning "
        "rate (lr) or check the data; no table or verdict was written from this run.")


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _check_finite(loss: torch.Tensor, step: int, what: str, checkpoint: Checkpoint | None,
                  saved_step: int | None, values: dict[str, float] | None = None):
    if torch.isfinite(loss):
        return
    at = (" with hyperparameters " + ", ".join(f"{k} {v:.3g}" for k, v in values.items())
          if values else "")
    saved = (f" The last state saved before it is {checkpoint.path} (step {saved_step}); a rerun "
             "with the same settings resumes from there and meets the same values, a rerun "
             "with other settings starts afresh."
             if checkpoint is not None and saved_step is not None and checkpoint.exists()
             else "")
    raise FloatingPointError(f"the {what} loss became {float(loss.detach())} at training step "
                             f"{step}{at}: lower the learning rates (lr, hyper_lr) or the "
                             f"initial perturbation scale (init_scale).{saved}")


def train_stn(model: torch.nn.Module, task, steps: int, settings: STNSettings,
              start: dict[str, float] | None = None, eval_every: int = 50,
              checkpoint: Checkpoint | None = None, progress: str | None = "STN") -> dict:
    """Run Algorithm 1 for ``steps`` training steps (cycles of ``train_steps`` + ``val_steps``).

    ``model.specs`` names the tuned hyperparameters and their boxes; they start at ``start``
    (default: the centre of each box). Returns ``schedule`` (training step, hyperparameter,
    value, scale; one row per cycle and hyperparameter), ``curve`` (training and validation
    steps so far, wall-clock seconds, validation and test losses of the network at the current
    hyperparameters, every ``eval_every`` steps and at the end) and ``final`` (the
    hyperparameters at the end). A ``checkpoint`` is written at every evaluation and resumed
    from when present.
    """
    if steps < 1 or eval_every < 1:
        raise ValueError(f"steps and eval_every must be at least 1, got {steps}, {eval_every}")
    device = next(model.parameters()).device
    hypers = HyperparameterSet(model.specs, start, settings.init_scale,
                               settings.learn_scale).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    hyper_opt = torch.optim.Adam([hypers.unconstrained], lr=settings.hyper_lr)
    scale_opt = torch.optim.Adam([hypers.log_scale], lr=settings.scale_lr)
    state = {"step": 0, "val_step": 0, "seconds": 0.0, "schedule": [], "curve": []}
    saved_step = None
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        hypers.load_state_dict(saved["hypers"])
        for o, s in zip((opt, hyper_opt, scale_opt), saved["optimizers"]):
            o.load_state_dict(s)
        _set_rng_state(saved["rng"])
        state = saved["state"]
        saved_step = state["step"]

    def evaluate():
        u = hypers.unconstrained.detach()
        metrics = task.evaluate(lambda x: model(x, u.expand(len(x), -1), None)[0])
        state["curve"].append({"step": state["step"], "val_steps": state["val_step"],
                               "seconds": state["seconds"], **metrics})

    def record():
        values = hypers.values()
        scale = hypers.scale.detach().tolist()
        state["schedule"] += [{"step": state["step"], "hyperparameter": name, "value": values[name],
                               "scale": s} for name, s in zip(hypers.names, scale)]

    if not state["curve"]:
        record()
        evaluate()
    bar = tqdm(total=steps, initial=state["step"], desc=progress, disable=progress is None)
    started = time.perf_counter() - state["seconds"]
    while state["step"] < steps:
        for _ in range(min(settings.train_steps, steps - state["step"])):
            x, y = task.train_batch(state["step"])
            u = hypers.sample(len(x)).detach()
            logits, penalty = model(x, u, hypers.constrain(u))
            loss = task.loss(logits, y) + penalty
            _check_finite(loss, state["step"], "training", checkpoint, saved_step,
                          hypers.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            state["step"] += 1
            bar.update(1)
        for _ in range(settings.val_steps):
            x, y = task.val_batch(state["val_step"])
            u = hypers.sample(len(x))
            objective = (task.loss(model(x, u, None)[0], y)
                         - settings.entropy_weight * hypers.entropy())
            _check_finite(objective, state["step"], "validation", checkpoint, saved_step,
                          hypers.values())
            params = [hypers.unconstrained] + ([hypers.log_scale] if settings.learn_scale else [])
            grads = torch.autograd.grad(objective, params)
            for p, g in zip(params, grads):
                p.grad = g
            hyper_opt.step()
            if settings.learn_scale:
                scale_opt.step()
            state["val_step"] += 1
        state["seconds"] = time.perf_counter() - started
        record()
        if state["step"] % eval_every < settings.train_steps or state["step"] >= steps:
            evaluate()
            bar.set_postfix(val_loss=f"{state['curve'][-1]['val_loss']:.3f}")
            if checkpoint is not None:
                checkpoint.save({"model": model.state_dict(), "hypers": hypers.state_dict(),
                                 "optimizers": [o.state_dict() for o in (opt, hyper_opt,
                                                                         scale_opt)],
                                 "rng": _rng_state(), "state": state})
                saved_step = state["step"]
    bar.close()
    return {"schedule": pd.DataFrame(state["schedule"]), "curve": pd.DataFrame(state["curve"]),
            "final": hypers.values()}


def train_fixed(model: torch.nn.Module, task, steps: int,
                values_at: Callable[[int], dict[str, float]], lr: float = 1e-3,
                eval_every: int | None = None, checkpoint: Checkpoint | None = None,
                progress: str | None = None) -> pd.DataFrame:
    """Training with given hyperparameters: at step t the regularizers use ``values_at(t)`` --
    fixed values, values with noise, or an STN's recorded schedule. The network is the plain
    one (``hyper=None``: the STN's architecture with its elementary weights only), trained by
    the STN's optimizer; only the way the hyperparameters are set differs. Returns the curve of
    validation and test losses against the step and wall-clock seconds, evaluated every
    ``eval_every`` steps (``None``: only at the end). A ``checkpoint`` is written at every
    evaluation and resumed from when present.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    eval_every = eval_every or steps
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state = {"step": 0, "seconds": 0.0, "curve": []}
    saved_step = None
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        _set_rng_state(saved["rng"])
        state = saved["state"]
        saved_step = state["step"]
    started = time.perf_counter() - state["seconds"]
    for step in tqdm(range(state["step"], steps), desc=progress, disable=progress is None,
                     initial=state["step"], total=steps):
        x, y = task.train_batch(step)
        now = values_at(step)
        values = {k: torch.full((len(x),), float(v), device=x.device) for k, v in now.items()}
        logits, penalty = model(x, None, values)
        loss = task.loss(logits, y) + penalty
        _check_finite(loss, step, "training", checkpoint, saved_step, now)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            metrics = task.evaluate(lambda x: model(x, None, None)[0])
            state.update(step=step + 1, seconds=time.perf_counter() - started)
            state["curve"].append({"step": step + 1, "seconds": state["seconds"], **metrics})
            if checkpoint is not None:
                checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                 "rng": _rng_state(), "state": state})
                saved_step = step + 1
    return pd.DataFrame(state["curve"])


def schedule_lookup(schedule: pd.DataFrame) -> Callable[[int], dict[str, float]]:
    """``values_at(t)`` replaying an STN's recorded schedule (the last value recorded at or
    before step t)."""
    wide = schedule.pivot_table(index="step", columns="hyperparameter", values="value")
    steps = wide.index.to_numpy()
    rows = wide.to_dict("records")

    def values_at(t: int) -> dict[str, float]:
        i = max(int((steps <= t).sum()) - 1, 0)
        return rows[i]
    return values_at


def perturbed_values(base: dict[str, float], kind: str, amplitude: float, period: int,
                     low: float, high: float, seed: int = 0) -> Callable[[int], dict[str, float]]:
    """Fixed values with Gaussian (``kind="gaussian"``, standard deviation ``amplitude``, drawn
    afresh every step from ``(seed, step)``) or sinusoidal (``"sinusoid"``, the given amplitude
    and period in steps) noise, clipped to ``[low, high]`` (the slides' fixed-with-noise rows)."""
    if kind not in ("gaussian", "sinusoid"):
        raise ValueError(f"unknown noise '{kind}': choose gaussian or sinusoid")

    def values_at(t: int) -> dict[str, float]:
        if kind == "gaussian":
            noise = float(np.random.default_rng([seed, t]).normal()) * amplitude
        else:
            noise = amplitude * math.sin(2 * math.pi * t / period)
        return {k: min(max(v + noise, low), high) for k, v in base.items()}
    return values_at
