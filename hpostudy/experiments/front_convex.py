"""Every hypergradient on convex problems with an exact answer (the "Every hypergradient"
chapter, part b).

Two problems (:mod:`hpostudy.settings.convex`): ridge regression with one L2 coefficient per
feature (closed form) and data cleaning with one weight per training example (a linear softmax
classifier on digits or MNIST with corrupted training labels; the optimum by Newton-CG). Both
train on the full batch by SGD with momentum in the thesis' form, in float64. Per problem,
horizon ``T`` and seed, every estimator of :func:`hpostudy.settings.front.variants` computes the
hypergradient at the initial hyperparameters; the table ``front`` gives its cosine and relative
error against exact reversal of the same ``T`` steps and against the bilevel answer at the
optimum (the closed form), its process CPU time over plain training of the same steps, the
bytes it stores and its Hessian-vector products. Per problem, estimator and seed, ``outer``
runs Adam on the hyperparameters along that estimator for the same number of meta-iterations
(the same training steps for all), ending with the validation and test error of training at
the final hyperparameters; ``initial`` is the same at the initial hyperparameters.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .. import hypergrad as hg
from .. import verdicts as v
from ..dynamics import SGDMomentum, train
from ..settings import convex
from ..settings.front import front_rows, measure, outer_loop, summary, variants
from ..study.config import ExperimentConfig, ParameterError
from ..study.experiment_run import prepare

PROBLEMS = ("ridge", "cleaning")
# the outer loops of the cpu profile: one or two settings per family (forward where affordable)
CPU_META = ("reverse (checkpointed)", "exact", "DrMAD S=200", "DrMAD2 20+180", "forward",
            "truncated K=10", "truncated K=100", "implicit cg 100", "implicit neumann 100",
            "implicit fixed_point 100")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The knobs of the every-hypergradient comparison on the convex problems: the two problems'
    sizes and starts, the horizons, the estimators' own knobs (truncation, solver iterations,
    DrMAD steps, the budgets of forward and reverse mode) and the outer loops.
    """
    problems: tuple[str, ...] = PROBLEMS  # ridge (per-feature L2) and/or cleaning (per-example weights)
    horizons: tuple[int, ...] = (10, 100, 400)  # training steps T per hypergradient
    ridge_features: int = 20  # ridge: features, one L2 coefficient each
    ridge_train: int = 100  # ridge: training examples
    ridge_init: float = -2.0  # ridge: every log L2 coefficient at the start
    ridge_lr: float = 1.0  # ridge: thesis-form learning rate alpha
    cleaning_dataset: str = "digits"  # cleaning: digits (embedded) or mnist
    cleaning_train: int = 200  # cleaning: training examples, one weight each
    cleaning_corrupt: float = 0.4  # cleaning: share of training labels made wrong
    cleaning_l2: float = 1e-3  # cleaning: L2 coefficient mu on the classifier
    cleaning_init: float = 0.0  # cleaning: every example's weight logit at the start
    cleaning_lr: float = 0.5  # cleaning: thesis-form learning rate alpha
    n_val: int = 300  # validation examples (both problems)
    n_test: int = 300  # test examples (both problems)
    momentum: float = 0.9  # gamma (rounded to n/2^16, the value exact reversal represents)
    truncation_steps: tuple[int, ...] = (1, 10, 100)  # K of truncated reverse mode (K < T only)
    implicit_iterations: tuple[int, ...] = (5, 20, 100)  # solver iterations of the implicit methods
    drmad_steps: int = 100  # DrMAD's reverse steps S (at most T)
    drmad2_exact_steps: int = 10  # DrMAD2's exact reverse steps before the line
    forward_budget: float = 2e4  # forward mode runs where m x T is at most this
    max_stored_bytes: float = 2e9  # reverse mode's stored trajectory runs up to this
    meta_T: int = 100  # training steps per meta-iteration of the outer loops
    meta_iterations: int = 3  # meta-iterations of every outer loop (the same for all)
    meta_lr: float = 0.1  # Adam's step on the hyperparameters
    meta_methods: tuple[str, ...] = ("all",)  # estimators of the outer loops (labels, or all)

    PRESETS = {
        "smoke": {},
        "cpu": {"horizons": (10, 100, 1000, 10000), "seeds": 3, "cleaning_dataset": "mnist",
                "cleaning_train": 1000, "n_val": 1000, "n_test": 5000, "drmad_steps": 200,
                "drmad2_exact_steps": 20, "forward_budget": 2e5, "meta_T": 1000,
                "meta_iterations": 10, "meta_methods": CPU_META},
        "paper": {"horizons": (10, 100, 1000, 10000), "seeds": 3, "cleaning_dataset": "mnist",
                  "cleaning_train": 1000, "n_val": 1000, "n_test": 5000, "drmad_steps": 200,
                  "drmad2_exact_steps": 20, "forward_budget": 2e5, "meta_T": 1000,
                  "meta_iterations": 10, "meta_methods": CPU_META},
    }
    CHOICES = {"problems": PROBLEMS, "cleaning_dataset": ("digits", "mnist")}
    SIGNED = ("ridge_init", "cleaning_init")

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ParameterError: repeated horizons, a momentum outside (0, 1), or
            cleaning_corrupt outside [0, 1).
        """
        if len(set(self.horizons)) != len(self.horizons):
            raise ParameterError(f"horizons must be distinct, got {self.horizons}")
        if not 0 < self.momentum < 1:
            raise ParameterError(f"momentum must be in (0, 1), got {self.momentum}")
        if not 0 <= self.cleaning_corrupt < 1:
            raise ParameterError(f"cleaning_corrupt must be in [0, 1), got {self.cleaning_corrupt}")

    def datasets(self):
        """Datasets the run reads: the cleaning problem's, when it runs (ridge is synthetic).

        Returns:
            list[str]: ``[cleaning_dataset]`` or nothing.
        """
        return [self.cleaning_dataset] if "cleaning" in self.problems else []


def build(cfg: Config, name: str, seed: int):
    """``(task, problem, dynamics, theta0)`` of problem ``name`` for ``seed``."""
    gamma = hg.effective_gamma(cfg.momentum)
    if name == "ridge":
        task = convex.Ridge(cfg.ridge_features, cfg.ridge_train, cfg.n_val, cfg.n_test, seed,
                            device=cfg.device)
        return (task, task.problem(), SGDMomentum(lr=cfg.ridge_lr, momentum=gamma),
                torch.full((task.m,), cfg.ridge_init, dtype=torch.float64, device=cfg.device))
    task = convex.Cleaning(cfg.cleaning_dataset, cfg.cleaning_train, cfg.n_val, cfg.n_test,
                           seed, corrupt=cfg.cleaning_corrupt, mu=cfg.cleaning_l2,
                           device=cfg.device)
    return (task, task.problem(), SGDMomentum(lr=cfg.cleaning_lr, momentum=gamma),
            torch.full((task.m,), cfg.cleaning_init, dtype=torch.float64, device=cfg.device))


def variants_of(cfg: Config, problem, m: int, T: int):
    """The estimators compared on ``problem`` at horizon ``T``, with this run's knobs:
    :func:`~hpostudy.settings.front_variants.variants`.

    Args:
        cfg: the run's configuration.
        problem: the bilevel problem (its ``w0`` gives the number of weights).
        m: the number of hyperparameters.
        T: the horizon.

    Returns:
        list[Variant]: the estimators, those that do not run carrying why.
    """
    return variants(T, problem.w0.numel(), m, truncation_steps=cfg.truncation_steps,
                    implicit_iterations=cfg.implicit_iterations, drmad_steps=cfg.drmad_steps,
                    drmad2_exact_steps=cfg.drmad2_exact_steps,
                    max_stored_bytes=cfg.max_stored_bytes, forward_budget=cfg.forward_budget)


def one_closed(item, checkpoint=None) -> torch.Tensor:
    """The answer at the optimum (:func:`hpostudy.settings.convex.bilevel_gradient`) of one
    problem and seed at the initial hyperparameters: the same for every horizon."""
    cfg, name, seed = item
    task, problem, dynamics, theta = build(cfg, name, seed)
    return convex.bilevel_gradient(task, theta)[1]


def one_front(item, checkpoint=None) -> list[dict]:
    """Every estimator at horizon ``T`` for one problem and seed, against exact reversal and
    the answer at the optimum ``closed``."""
    cfg, name, T, seed, closed = item
    task, problem, dynamics, theta = build(cfg, name, seed)
    rows, _ = measure(problem, dynamics, theta, T, variants_of(cfg, problem, task.m, T),
                      second=closed.to(theta.device))
    return [{"problem": name, "seed": seed, "hyperparameters": task.m,
             "parameters": problem.w0.numel(), **r} for r in rows]


def one_outer(item, checkpoint=None) -> list[dict]:
    """One outer loop (``label``: an estimator at ``meta_T``; ``initial``: no tuning)."""
    cfg, name, label, seed = item
    task, problem, dynamics, theta = build(cfg, name, seed)
    if label == "initial":
        w, _ = train(problem, dynamics, theta, cfg.meta_T)
        return [{"problem": name, "seed": seed, "meta_iteration": 0, "method": "initial",
                 "family": "initial", "training_steps": cfg.meta_T,
                 "val_loss": float(problem.val_loss(w, theta)), **task.errors(w, theta)}]
    var = next(x for x in variants_of(cfg, problem, task.m, cfg.meta_T) if x.label == label)
    records = outer_loop(problem, dynamics, theta, cfg.meta_T, var, cfg.meta_iterations,
                         cfg.meta_lr, task.errors, checkpoint)
    return [{"problem": name, "seed": seed, **r} for r in records]


def outer_labels(cfg: Config, name: str) -> list[str]:
    """The estimators of the outer loops of problem ``name``: every one that runs at
    ``meta_T``, or those of ``meta_methods`` that run for this problem (forward mode may be
    over its budget for one problem and not the other); a label that names no estimator is
    refused."""
    task, problem, _, _ = build(cfg, name, cfg.seed)
    every = variants_of(cfg, problem, task.m, cfg.meta_T)
    if "all" in cfg.meta_methods:
        return [x.label for x in every if not x.skip]
    unknown = sorted(set(cfg.meta_methods) - {x.label for x in every})
    if unknown:
        raise ParameterError(f"meta_methods {unknown} are not estimators at meta_T = "
                             f"{cfg.meta_T}; choose among {[x.label for x in every]}")
    return [x.label for x in every if x.label in cfg.meta_methods and not x.skip]


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """The fronts and the outer loops of every problem; returns (and writes) ``front``,
    ``summary`` (:func:`hpostudy.settings.front.summary`), ``outer`` (one row per
    meta-iteration and a last one with the final errors) and ``comparison``."""
    pairs = [(cfg, p, s) for p in cfg.problems for s in cfg.seed_list]
    with prepare(cfg) as run:
        outers = [(cfg, p, label, s) for p in cfg.problems
                  for label in ["initial", *outer_labels(cfg, p)] for s in cfg.seed_list]
        closed = dict(zip([(p, s) for _, p, s in pairs], run.map(
            one_closed, pairs, desc="answers at the optimum",
            names=[f"closed-{p}-seed{s}" for _, p, s in pairs])))
        fronts = [(cfg, p, T, s, closed[p, s]) for p in cfg.problems for T in cfg.horizons
                  for s in cfg.seed_list]
        measured = run.map(one_front, fronts, desc="fronts",
                           names=[f"front-{p}-T{T}-seed{s}" for _, p, T, s, _ in fronts])
        looped = run.map(one_outer, outers, desc="outer loops",
                         names=[f"outer-{p}-{label.replace(' ', '_')}-seed{s}"
                                for _, p, label, s in outers])
        front = pd.DataFrame([r for rows in measured for r in rows])
        outer = pd.DataFrame([r for rows in looped for r in rows])
        comparison = judge({"front": front, "outer": outer}, cfg)
        table = summary(front)
        run.save_tables(front=front, summary=table, outer=outer, comparison=comparison)
    return {"front": front, "summary": table, "outer": outer, "comparison": comparison}


def setting(cfg: Config, name: str) -> str:
    """The setting line of one problem's comparison: which problem, its size, full batch in
    float64.

    Args:
        cfg: the run's configuration.
        name: ``"ridge"`` or ``"cleaning"``.

    Returns:
        str: the setting column.
    """
    if name == "ridge":
        what = (f"ridge, {cfg.ridge_features} features, {cfg.ridge_train} training examples "
                "(synthetic)")
    else:
        what = (f"data cleaning, {cfg.cleaning_train} {cfg.cleaning_dataset} training examples, "
                f"{cfg.cleaning_corrupt:.0%} labels corrupted")
    return f"{cfg.profile}: {what}; full batch, float64"


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison table from the run's ``front`` (and settings): per problem, the rows of
    :func:`hpostudy.settings.front.front_rows` (implicit within 5% of exact once converged,
    truncation bias against K, implicit's cost against plain training)."""
    front = tables["front"]
    rows = []
    for name in [p for p in PROBLEMS if p in set(front.problem)]:
        rows += front_rows(front[front.problem == name], name, setting(cfg, name))
    return v.table(rows)
