"""Multi-task learning with hypergradients on CIFAR-10 (Franceschi et al. 2017, section 4 and
Figure 1 left and centre).

A softmax regression on image features (:mod:`hpostudy.settings.franceschi`: the study's
substitute for Inception-V3), one weight column per class, trained by Adam for ``T`` steps on
``n_train`` examples with the multi-task regularizer :math:`\\Omega_{A,\\rho}`
(:mod:`hpostudy.multitask`). Four ways to set its hyperparameters, per random
``n_train``/``n_val``/rest split (one split per seed), each choosing what has the lowest
validation cross-entropy among the settings it trained:

* **STL** -- :math:`A = 0` and one :math:`\\rho_k` per task: the grid value shared by all tasks
  with the lowest validation loss, then for each task in turn the grid value of its own
  :math:`\\rho_k` (one sweep of coordinate search);
* **NMTL** -- :math:`A_{jk} = a` for all pairs: the grid over :math:`(a, \\rho)`;
* **HMTL** -- :math:`A` and :math:`\\rho` by REVERSE-HO hypergradients through the ``T`` Adam
  steps and projected Adam on :math:`\\{0 \\le A_{jk} \\le a_{max}, 0 \\le \\rho \\le \\rho_{max}\\}`;
* **HMTL-S** -- the same on :math:`\\{A \\ge 0, \\sum_{j,k} A_{jk} \\le R\\}`; also run with the
  paper's :math:`R = 10^{-3}` ("HMTL-S paper R"), which belongs to another feature scale.

Equal ranges (:math:`\\rho \\in [0, \\rho_{max}]`, :math:`A_{jk} \\in [0, a_{max}]`), equal
selection rule, and budgets of the same size: ``grid`` values per hyperparameter (STL
``grid + K(grid-1)`` trainings, NMTL ``grid**2``), ``hyper_iterations`` hypergradients for HMTL
and HMTL-S (each one training plus its reverse pass), which start at :math:`A = 0`,
:math:`\\rho` = ``rho_start``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd
import torch

from .. import hypergrad as hg
from ..dynamics import Adam, train
from ..metaopt import ProjectedAdam, meta_iterations
from ..multitask import SoftmaxRegression, TaskRelations
from ..settings import franceschi as fs
from ..study.experiment_run import prepare
# the comparison lives in its own module; its names stay readable here (hmtl.judge,
# hmtl.METHODS, ...), as the notebook, the tests and rejudge read them
from .hmtl_judge import (METHODS, PAPER_ACCURACY, PAPER_RADIUS, PAPER_SETTING, RELATED,
                         at_cpu_of, judge, related_ratio, setting, summarize)


@dataclass(frozen=True)
class Config(fs.FeatureSetting):
    r"""The knobs of the multi-task experiment (Franceschi et al. 2017, section 4): the split
    sizes, the inner Adam training, the ranges and grid of :math:`\rho` and :math:`A`, the
    hypergradient steps of HMTL and HMTL-S, the budget :math:`R` of HMTL-S and the graph's edge
    threshold.
    """
    n_train: int = 50  # training examples per split (paper: 50)
    n_val: int = 50  # validation examples per split (paper: 50); the rest of the pool is test
    T: int = 100  # Adam steps of the inner training
    lr: float = 0.01  # Adam step size of the inner training
    rho_max: float = 100.0  # range of rho: [0, rho_max] (every method)
    a_max: float = 3.0  # range of each A_jk: [0, a_max] (every method)
    grid: int = 7  # values per hyperparameter: 0 and grid-1 half-decades below the maximum
    hyper_iterations: int = 50  # hypergradients of HMTL and HMTL-S
    hyper_step: float = 0.02  # projected Adam's step, as a fraction of each entry's range
    rho_start: float = 10.0  # HMTL and HMTL-S start from this rho, with A zero
    radius: float = 10.0  # HMTL-S: the budget R on the sum of A's entries (paper: 1e-3)
    edge_fraction: float = 0.25  # graph: edges of weight at least this fraction of the largest

    PRESETS = {
        "smoke": {"T": 40, "grid": 4, "hyper_iterations": 8, "feature_epochs": 10},
        "cpu": {"dataset": "cifar10", "feature_images": 4000, "feature_epochs": 30,
                "feature_channels": (32, 64), "features": 256, "seeds": 20},
        "paper": {"dataset": "cifar10", "feature_images": 50000, "feature_epochs": 30,
                  "feature_channels": (32, 64), "features": 256, "seeds": 20},
    }

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: a grid of fewer than two values, rho_start beyond
            rho_max, edge_fraction outside (0, 1], or a radius, rho_max or a_max that is not
            positive.
        """
        super().validate()
        if self.grid < 2:
            raise ValueError(f"grid needs at least 2 values (0 and the maximum), got {self.grid}")
        if not self.rho_start <= self.rho_max:
            raise ValueError(f"rho_start ({self.rho_start}) must lie in [0, rho_max] = "
                             f"[0, {self.rho_max}]")
        if not 0 < self.edge_fraction <= 1:
            raise ValueError(f"edge_fraction must be in (0, 1], got {self.edge_fraction}")
        if self.radius <= 0 or self.rho_max <= 0 or self.a_max <= 0:
            raise ValueError("radius, rho_max and a_max must be positive")


def grid_values(maximum: float, points: int) -> list[float]:
    """0 and ``points - 1`` values half a decade apart, the largest ``maximum``."""
    return [0.0] + [maximum * 10 ** (-k / 2) for k in range(points - 2, -1, -1)]


# ---------------------------------------------------------------------- one split
class Split:
    """One seed's split, its softmax regressions and their evaluation."""

    def __init__(self, cfg: Config, seed: int):
        self.cfg, self.seed = cfg, seed
        pool = fs.features(cfg)
        self.data = fs.split(pool, cfg.n_train, cfg.n_val, seed).to(cfg.device)
        self.tasks = int(pool["y"].max()) + 1
        self.dynamics = Adam(lr=cfg.lr)
        self.trainings = 0

    def model(self, relations: TaskRelations) -> SoftmaxRegression:
        """The softmax regressions of all tasks on this split, coupled by ``relations``.

        Args:
            relations: how the task relations enter the training loss.

        Returns:
            SoftmaxRegression: the model on this split's training and validation examples.
        """
        d = self.data
        return SoftmaxRegression(relations, d.x_train, d.y_train, d.x_val, d.y_val)

    def evaluate(self, relations: TaskRelations, theta: torch.Tensor) -> dict:
        """Train with ``theta``: validation loss and test accuracy."""
        model = self.model(relations)
        problem = model.problem()
        w, _ = train(problem, self.dynamics, theta, self.cfg.T)
        self.trainings += 1
        return {"val_loss": float(problem.val_loss(w, theta)),
                "test_accuracy": model.accuracy(w, self.data.x_test, self.data.y_test),
                "theta": theta.clone()}


def stl(split: Split) -> dict:
    """A = 0, rho per task: the best shared grid value, then one coordinate sweep per task."""
    cfg = split.cfg
    relations = TaskRelations(split.tasks, per_task_rho=True)
    rhos = grid_values(cfg.rho_max, cfg.grid)
    tried = [split.evaluate(relations, relations.init(rho=r, device=cfg.device)) for r in rhos]
    best = min(tried, key=lambda r: r["val_loss"])
    for k in range(split.tasks):
        for r in rhos:
            theta = best["theta"].clone()
            if theta[relations.pairs + k] == r:
                continue
            theta[relations.pairs + k] = r
            trial = split.evaluate(relations, theta)
            if trial["val_loss"] < best["val_loss"]:
                best = trial
    return best


def nmtl(split: Split) -> dict:
    """A_jk = a for every pair: the grid over (a, rho)."""
    cfg = split.cfg
    relations = TaskRelations(split.tasks)
    tried = [split.evaluate(relations, relations.init(a=a, rho=r, device=cfg.device))
             for a in grid_values(cfg.a_max, cfg.grid) for r in grid_values(cfg.rho_max, cfg.grid)]
    return min(tried, key=lambda r: r["val_loss"])


def hmtl(split: Split, checkpoint=None, radius: float | None = None) -> dict:
    """A and rho by REVERSE-HO hypergradients and projected Adam; with ``radius``, HMTL-S.
    Checkpointed after every hypergradient."""
    cfg = split.cfg
    relations = TaskRelations(split.tasks, a_max=math.inf if radius else cfg.a_max,
                              rho_bounds=(0.0, cfg.rho_max), radius=radius)
    model = split.model(relations)
    problem = model.problem()
    a_range = radius / 2 if radius else cfg.a_max  # the largest value an entry can take
    rates = torch.cat([torch.full((relations.pairs,), cfg.hyper_step * a_range),
                       torch.full((1,), cfg.hyper_step * cfg.rho_max)]).double().to(cfg.device)
    optimizer = ProjectedAdam(lr=rates, project=relations.project)

    def step(i, theta):
        result = hg.reverse(problem, split.dynamics, theta, cfg.T)
        accuracy = model.accuracy(result.w_final, split.data.x_test, split.data.y_test)
        return result.hypergrad, {"val_loss": result.val_loss, "test_accuracy": accuracy,
                                  "theta": theta.clone()}

    start = relations.init(a=0.0, rho=cfg.rho_start, device=cfg.device)
    _, records = meta_iterations(step, start, optimizer, cfg.hyper_iterations,
                                 checkpoint=checkpoint.path if checkpoint else None)
    best = min(records, key=lambda r: r["val_loss"])
    return {**best, "path": [{"meta_iteration": r["meta_iteration"], "val_loss": r["val_loss"],
                              "test_accuracy": r["test_accuracy"]} for r in records]}


def one_method(item: tuple[Config, int, str], checkpoint=None) -> dict:
    """Method ``name`` on split ``seed``: the chosen hyperparameters, their validation loss and
    test accuracy, the trainings used and the process CPU time."""
    cfg, seed, name = item
    split = Split(cfg, seed)
    cpu = time.process_time()
    if name == "STL":
        best = stl(split)
    elif name == "NMTL":
        best = nmtl(split)
    else:
        radius = {"HMTL": None, "HMTL-S": cfg.radius, "HMTL-S paper R": PAPER_RADIUS}[name]
        best = hmtl(split, checkpoint, radius=radius)
    per_task_rho = name == "STL"
    relations = TaskRelations(split.tasks, per_task_rho=per_task_rho)
    theta = best["theta"].cpu()
    A = relations.matrix(theta)
    return {"seed": seed, "method": name, "val_loss": best["val_loss"],
            "test_accuracy": best["test_accuracy"],
            "trainings": split.trainings if name in ("STL", "NMTL") else cfg.hyper_iterations,
            "cpu_seconds": time.process_time() - cpu, "sum_A": float(A.sum()),
            "mean_rho": float(relations.rho(theta).mean()), "A": A.numpy(),
            "path": best.get("path", [])}


# ---------------------------------------------------------------------- the run
def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Every method on every split. Returns (and writes as CSV) ``methods`` (one row per seed
    and method), ``relations`` (the learned A of HMTL and HMTL-S per seed, one row per pair),
    ``paths`` (validation loss and test accuracy per hypergradient), ``summary`` (mean and
    spread per method, beside the paper's) and ``comparison``."""
    with prepare(cfg) as run:
        pool = run.map(feature_unit, [cfg], desc="features", names=["features"])[0]
        items = [(cfg, s, m) for s in cfg.seed_list for m in METHODS]
        results = run.map(one_method, items, desc="splits x methods",
                          names=[f"seed{s}-{m}" for _, s, m in items])
        names = fs.class_names(cfg.dataset)
        methods = pd.DataFrame([{k: r[k] for k in ("seed", "method", "val_loss", "test_accuracy",
                                                   "trainings", "cpu_seconds", "sum_A",
                                                   "mean_rho")} for r in results])
        relations = relation_table(results, names)
        paths = pd.DataFrame([{"seed": r["seed"], "method": r["method"], **p}
                              for r in results for p in r["path"]])
        summary = summarize(methods, pool)
        comparison = judge({"methods": methods, "relations": relations, "paths": paths}, cfg)
        run.save_tables(methods=methods, relations=relations, paths=paths, summary=summary,
                        comparison=comparison)
    return {"methods": methods, "relations": relations, "paths": paths, "summary": summary,
            "comparison": comparison, "classes": list(names), "edge_fraction": cfg.edge_fraction}


def feature_unit(cfg: Config, checkpoint=None) -> dict:
    """The feature network's facts (the features themselves are kept by
    :func:`~hpostudy.settings.franceschi.features`)."""
    pool = fs.features(cfg)
    return {"network_accuracy": pool["network_accuracy"],
            "network_images": pool["network_images"], "pool": len(pool["y"]),
            "features": pool["x"].shape[1]}


def relation_table(results: list[dict], names) -> pd.DataFrame:
    """The learned relation weights :math:`A_{jk}` of every pair of tasks, one row per seed,
    method and pair (STL and NMTL, which learn no relations, are left out).

    Args:
        results: the methods' results, each with ``seed``, ``method`` and the matrix ``A``.
        names: the task (class) names, in the order of ``A``'s rows.

    Returns:
        pd.DataFrame: columns seed, method, task_a, task_b, weight.
    """
    rows = []
    for r in results:
        if r["method"] == "STL" or r["method"] == "NMTL":
            continue
        A = r["A"]
        for j in range(len(names)):
            for k in range(j + 1, len(names)):
                rows.append({"seed": r["seed"], "method": r["method"], "task_a": names[j],
                             "task_b": names[k], "weight": float(A[j, k])})
    return pd.DataFrame(rows)
