"""The DenseNet benchmark (thesis Fig 3.7): errors per epoch with a fixed L2 of 1e-4.

The thesis reports a final test error of 10.5% (mean of the last 15 epochs: 11.4%) on CIFAR-10
with its learning-rate schedule. The run checkpoints every ``checkpoint_every`` epochs and
resumes from the last checkpoint when started again.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..dynamics import train
from ..hyper import Group
from .base import (Timer, comparison_row, load_checkpoint, run_metadata, save_checkpoint,
                   save_json, save_table)
from ..settings.densenet import PAPER, Setting, build, dynamics_for, evaluate, load_splits, schedule, weight_names


@dataclass(frozen=True)
class Config(Setting):
    epochs: int = 4  # training epochs (thesis: 300 for the adaptive runs; the benchmark's many)
    log10_l2: float = -4.0  # L2 coefficient 10**log10_l2 on weights and batch-norm scales
    checkpoint_every: int = 1  # epochs between checkpoints

    SIGNED = ("log10_l2",)
    PRESETS = {"smoke": {}, "cpu": {**PAPER, "epochs": 2},
               "paper": {**PAPER, "epochs": 100}}


def run(cfg: Config) -> dict:
    with Timer() as timer:
        splits = load_splits(cfg)
        task, w0, space = build(cfg, lambda m: [Group("l2", "log10_l2", "scalar", cfg.log10_l2,
                                                      params=weight_names(m))], splits)
        spe = task.stream.batches_per_epoch
        forward, _ = dynamics_for(cfg, schedule(cfg, cfg.epochs, spe))
        theta = space.init(device=cfg.device)
        problem = task.problem(w0)
        path = cfg.out / "checkpoints" / "benchmark.pt"
        ckpt = load_checkpoint(path)
        state, rows = (ckpt["state"], ckpt["rows"]) if ckpt else (forward.init(w0), [])
        bar = tqdm(total=cfg.epochs, initial=len(rows), desc="DenseNet benchmark", unit="epoch")
        for epoch in range(len(rows), cfg.epochs):
            state = train(problem, forward, theta, spe, state=state, t0=epoch * spe)
            if not torch.isfinite(state[0]).all():
                raise FloatingPointError(f"epoch {epoch}: the weights became NaN; results up "
                                         f"to epoch {epoch - 1} are in {path}")
            rows.append({"epoch": epoch + 1, **evaluate(task, state[0], theta, epoch)})
            bar.update(1)
            bar.set_postfix(test_error=f"{rows[-1]['test_error']:.3f}")
            if (epoch + 1) % cfg.checkpoint_every == 0 or epoch + 1 == cfg.epochs:
                save_checkpoint({"state": state, "rows": rows}, path)
        bar.close()
    df = pd.DataFrame(rows)
    last = df.test_error.iloc[-15:]
    comparison = pd.DataFrame([
        comparison_row("Benchmark final test error (thesis Fig 3.7)", "10.5% (mean of last 15: 11.4%)",
                       f"{df.test_error.iloc[-1]:.1%} (mean of last {len(last)}: {last.mean():.1%}) "
                       f"after {cfg.epochs} epochs on {cfg.dataset}", cfg.profile,
                       None if cfg.profile == "smoke" else bool(abs(df.test_error.iloc[-1] - 0.105) < 0.03),
                       "smoke: a depth-7 DenseNet on 8x8 digits, not comparable"
                       if cfg.profile == "smoke" else ""),
    ])
    save_table(df, cfg.out, "benchmark")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"benchmark": df, "comparison": comparison}
