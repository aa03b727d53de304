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
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..store import Checkpoint
from .hyperparameters import HyperparameterSet


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


def _check_finite(loss: torch.Tensor, step: int, what: str, checkpoint: Checkpoint | None):
    if not torch.isfinite(loss):
        where = (f"; the last good state is in {checkpoint.path}"
                 if checkpoint is not None and checkpoint.exists() else "")
        raise FloatingPointError(f"{what} loss became {float(loss.detach())} at step {step}: "
                                 "lower the learning rates or the initial perturbation scale"
                                 f"{where}")


def train_stn(model: torch.nn.Module, task, steps: int, settings: STNSettings,
              init: dict[str, float] | None = None, eval_every: int = 50,
              checkpoint: Checkpoint | None = None, progress: str | None = "STN") -> dict:
    """Run Algorithm 1 for ``steps`` training steps (cycles of ``train_steps`` + ``val_steps``).

    ``model.specs`` names the tuned hyperparameters; ``init`` overrides their initial values.
    Returns ``schedule`` (training step, hyperparameter, value, scale; one row per cycle and
    hyperparameter) and ``curve`` (training step, wall-clock seconds, validation and test
    losses of the network at the current hyperparameters). A ``checkpoint`` file is written
    every evaluation and resumed from when present.
    """
    init = init or {}
    specs = [replace(s, init=init[s.name]) if s.name in init else s for s in model.specs]
    device = next(model.parameters()).device
    hypers = HyperparameterSet(specs, settings.init_scale, settings.learn_scale).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    hyper_opt = torch.optim.Adam([hypers.unconstrained], lr=settings.hyper_lr)
    scale_opt = torch.optim.Adam([hypers.log_scale], lr=settings.scale_lr)
    state = {"step": 0, "val_step": 0, "seconds": 0.0, "schedule": [], "curve": []}
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        hypers.load_state_dict(saved["hypers"])
        for o, s in zip((opt, hyper_opt, scale_opt), saved["optimizers"]):
            o.load_state_dict(s)
        torch.set_rng_state(saved["rng"])
        state = saved["state"]

    def evaluate():
        u = hypers.unconstrained.detach()
        metrics = task.evaluate(lambda x: model(x, u.expand(len(x), -1), None)[0])
        state["curve"].append({"step": state["step"], "seconds": state["seconds"], **metrics})

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
            _check_finite(loss, state["step"], "training", checkpoint)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state["step"] += 1
            bar.update(1)
        for _ in range(settings.val_steps):
            x, y = task.val_batch(state["val_step"])
            u = hypers.sample(len(x))
            objective = task.loss(model(x, u, None)[0], y) - settings.entropy_weight * hypers.entropy()
            _check_finite(objective, state["step"], "validation", checkpoint)
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
                                 "rng": torch.get_rng_state(), "state": state})
    bar.close()
    return {"schedule": pd.DataFrame(state["schedule"]), "curve": pd.DataFrame(state["curve"]),
            "final": hypers.values()}


def train_fixed(model: torch.nn.Module, task, steps: int,
                values_at: Callable[[int], dict[str, float]], lr: float = 1e-3,
                eval_every: int = 50, progress: str | None = None) -> pd.DataFrame:
    """Training with given hyperparameters: at step t the regularizers use ``values_at(t)`` --
    fixed values, values with noise, or an STN's recorded schedule -- and the network's
    hyper-inputs are the same values on the unconstrained scale, unperturbed. The network, its
    parametrization and its optimizer are the STN's; only the way the hyperparameters are set
    differs. Returns the curve of validation and test losses against step and wall-clock
    seconds."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    started = time.perf_counter()

    def hyper_input(values: dict[str, float], x: torch.Tensor) -> torch.Tensor:
        u = torch.tensor([s.unconstrain(values[s.name]) for s in model.specs], device=x.device)
        return u.expand(len(x), -1)

    def evaluate(step):
        values = values_at(max(step - 1, 0))
        metrics = task.evaluate(lambda x: model(x, hyper_input(values, x), None)[0])
        curve.append({"step": step, "seconds": time.perf_counter() - started, **metrics})

    evaluate(0)
    for step in tqdm(range(steps), desc=progress, disable=progress is None):
        x, y = task.train_batch(step)
        now = values_at(step)
        values = {k: torch.full((len(x),), float(v), device=x.device) for k, v in now.items()}
        logits, penalty = model(x, hyper_input(now, x), values)
        loss = task.loss(logits, y) + penalty
        _check_finite(loss, step, "training", None)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            evaluate(step + 1)
    return pd.DataFrame(curve)


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
                     seed: int = 0) -> Callable[[int], dict[str, float]]:
    """Fixed rates with Gaussian (``kind="gaussian"``) or sinusoidal (``"sinusoid"``) noise of
    the given amplitude, clipped to [0, 0.95] (the slides' fixed-with-noise rows)."""
    if kind not in ("gaussian", "sinusoid"):
        raise ValueError(f"unknown noise '{kind}': choose gaussian or sinusoid")
    gen = torch.Generator().manual_seed(seed)

    def values_at(t: int) -> dict[str, float]:
        if kind == "gaussian":
            noise = float(torch.randn((), generator=gen)) * amplitude
        else:
            noise = amplitude * math.sin(2 * math.pi * t / period)
        return {k: min(max(v + noise, 0.0), 0.95) for k, v in base.items()}
    return values_at
