"""Parameter paths of a small CNN (thesis section 2.1, Figs 2.1 and 2.2).

The small CNN (conv-maxpool-conv-maxpool-dropout-FC-dropout-FC, dropout 0.5) is trained with
SGD with momentum (learning rate 0.005, momentum 0.95, L2 0.02) while a fixed random set of
coordinates of the parameter vector is recorded at every step. The thesis' observation: the
paths are far from straight, and erratic in random coordinates -- an obstacle for DrMAD's
straight-line reverse path.

The learning rate is quoted in the usual form :math:`v \\leftarrow \\gamma v - \\alpha g`,
:math:`w \\leftarrow w + v`; in the thesis' form of Algorithm 1 that is :math:`\\alpha/(1-\\gamma)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import data
from ..dynamics import SGDMomentum, train
from ..hyper import Group, HyperSpace
from ..models import FlatModel, SmallCNN
from ..problems import ClassificationTask
from .base import ExperimentConfig, Timer, comparison_row, run_metadata, save_json, save_table


@dataclass(frozen=True)
class Config(ExperimentConfig):
    dataset: str = "digits"  # digits (embedded) or cifar10
    n_train: int | None = 1077  # training examples (None: all but the 1,000 validation ones)
    epochs: int = 15  # training epochs
    batch_size: int = 32
    lr: float = 0.005  # usual-form learning rate (thesis: 0.005)
    momentum: float = 0.95
    l2: float = 0.02  # L2 coefficient on the weights (biases unregularized)
    channels: tuple[int, ...] = (8, 8)  # feature maps of the two convolutions
    hidden: int = 32  # units of the hidden fully connected layer
    coordinates: int = 12  # random coordinates recorded (6 pairs for Fig 2.1)

    PRESETS = {
        "smoke": {},
        "cpu": {"dataset": "cifar10", "n_train": 3000, "epochs": 10, "channels": (32, 32),
                "hidden": 256, "coordinates": 24},
        "paper": {"dataset": "cifar10", "n_train": None, "epochs": 30, "channels": (32, 32),
                  "hidden": 256, "coordinates": 24},
    }

    def __post_init__(self):
        super().__post_init__()
        if self.dataset not in ("digits", "cifar10"):
            raise ValueError(f"dataset must be 'digits' or 'cifar10', got '{self.dataset}'")
        if self.coordinates < 2 or self.coordinates % 2:
            raise ValueError(f"coordinates must be an even number >= 2, got {self.coordinates}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be at least 1")

    def datasets(self):
        return [self.dataset]


def load_splits(cfg: Config) -> data.Splits:
    if cfg.dataset == "digits":
        splits = data.load_digits(seed=cfg.seed, image=True)
        splits.x_train, splits.y_train = splits.x_train[:cfg.n_train], splits.y_train[:cfg.n_train]
        return splits
    return data.load_cifar10(n_train=cfg.n_train, n_val=1000, seed=cfg.seed)


def build(cfg: Config, splits: data.Splits):
    """The small CNN, its L2-penalized classification task and its initial weights."""
    module = SmallCNN(splits.input_shape, channels=cfg.channels, hidden=cfg.hidden,
                      num_classes=splits.num_classes, seed=cfg.seed).to(cfg.device)
    model = FlatModel(module)
    space = HyperSpace(model, [Group("l2", "log10_l2", "scalar", init=float(np.log10(cfg.l2)))])
    task = ClassificationTask(model, splits.to(cfg.device), space, cfg.batch_size, seed=cfg.seed)
    return task, model.initial(device=cfg.device), space


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Train while recording ``cfg.coordinates`` random coordinates at every step.

    Returns (and writes as CSV) ``paths`` (step, coordinate, value) and ``comparison``.
    """
    with Timer() as timer:
        splits = load_splits(cfg)
        task, w0, space = build(cfg, splits)
        dynamics = SGDMomentum(lr=cfg.lr / (1 - cfg.momentum), momentum=cfg.momentum)
        T = cfg.epochs * task.stream.batches_per_epoch
        gen = torch.Generator().manual_seed(cfg.seed + 7)
        coords = torch.randperm(w0.numel(), generator=gen)[:cfg.coordinates].to(w0.device)
        values = [w0[coords].cpu()]
        bar = tqdm(total=T, desc="parameter paths", unit="step")

        def record(t, state):
            values.append(state[0][coords].cpu())
            bar.update(1)

        w_T, _ = train(task.problem(w0), dynamics, space.init(device=cfg.device), T,
                       callback=record)
        bar.close()
        errors = task.errors(w_T, space.init(device=cfg.device))
    V = torch.stack(values).numpy()
    steps = np.arange(V.shape[0])
    paths = pd.DataFrame({
        "step": np.repeat(steps, V.shape[1]),
        "coordinate": np.tile(coords.cpu().numpy(), V.shape[0]),
        "value": V.reshape(-1),
    })
    ratio = straightness(paths)
    comparison = pd.DataFrame([
        comparison_row("Paths projected on random coordinates are far from straight (Fig 2.1)",
                       "far from straight", f"median largest deviation from the chord = {ratio:.2f} chord lengths",
                       cfg.profile, bool(ratio > 0.1),
                       "per pair of coordinates: largest distance of the path from the straight "
                       "segment joining its ends, over that segment's length (0 = straight)"),
        comparison_row("Single coordinates move erratically over the iterations (Fig 2.2)",
                       "erratic", f"median distance travelled / net displacement per coordinate "
                       f"= {erratic_ratio(paths):.1f}", cfg.profile,
                       bool(erratic_ratio(paths) > 2.0),
                       "1 for a coordinate moving monotonically; above 2 counted as erratic"),
    ])
    out = cfg.out
    save_table(paths, out, "paths")
    save_table(comparison, out, "comparison")
    save_json({**run_metadata(cfg, timer.seconds), "steps": T, **errors}, out, "meta")
    return {"paths": paths, "comparison": comparison, "errors": errors}


def straightness(paths: pd.DataFrame) -> float:
    """Median over coordinate pairs of the 2-D path's largest distance from the straight
    segment joining its ends, relative to that segment's length (0 = straight)."""
    wide = paths.pivot(index="step", columns="coordinate", values="value").to_numpy()
    ratios = []
    for j in range(0, wide.shape[1] - 1, 2):
        xy = wide[:, j:j + 2] - wide[0, j:j + 2]
        chord = xy[-1]
        span = float(np.linalg.norm(chord))
        if span < 1e-12:
            continue
        unit = chord / span
        perpendicular = xy - np.outer(xy @ unit, unit)
        ratios.append(float(np.linalg.norm(perpendicular, axis=1).max()) / span)
    return float(np.median(ratios)) if ratios else 0.0


def erratic_ratio(paths: pd.DataFrame) -> float:
    """Median over coordinates of the distance travelled (sum of absolute increments) over the
    net displacement: 1 for a monotone coordinate, large for an erratic one."""
    wide = paths.pivot(index="step", columns="coordinate", values="value").to_numpy()
    travelled = np.abs(np.diff(wide, axis=0)).sum(axis=0)
    net = np.abs(wide[-1] - wide[0])
    return float(np.median(travelled / np.maximum(net, 1e-12)))
