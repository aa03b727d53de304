"""Every hypergradient on the thesis' MLP (the "Every hypergradient" chapter, part a).

The setting of thesis section 3.1 (:mod:`hpostudy.settings.mnist_mlp`: MLP 50-50-50-10 with
tanh units on MNIST, per-unit scale and L2 hyperparameters, SGD with momentum
in the thesis' form, float64; digits on ``smoke``). Per horizon ``T`` and seed, every estimator
of :func:`hpostudy.settings.front.variants` computes the hypergradient at the initial
hyperparameters; the table ``front`` gives its cosine and relative error against exact
reversal of the same ``T`` steps (the reference: exact up to the fixed point's rounding; the
stored-trajectory reverse mode in float64 beside it shows how close), its process CPU time
over plain training of the same steps, the bytes it stores and its Hessian-vector products.
Stored-trajectory reverse mode is skipped where its trajectory exceeds ``max_stored_bytes``,
forward mode (one tangent per hyperparameter) where ``m x T`` exceeds ``forward_budget``. ``outer`` runs the
thesis' meta-optimizer setting with Adam along a few estimators (``meta_methods``) for the same
meta-iterations and training steps, ending with validation and test error.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..dynamics import train
from ..settings.front import front_rows, measure, outer_loop, summary, variants
from ..settings.mnist_mlp import CPU, MLPSetting, build
from ..study.config import ParameterError
from ..study.experiment_run import prepare


# the outer loops of the cpu profile: every estimator family that runs at meta_T = 1,000
# (checkpointed reverse mode is exact's hypergradient to 1e-7, so its loop would be exact's;
# forward mode's 640 tangents exceed its budget there)
CPU_META = ("exact", "DrMAD S=200", "DrMAD2 100+100", "truncated K=100", "implicit cg 50",
            "implicit neumann 50", "implicit fixed_point 50")


@dataclass(frozen=True)
class Config(MLPSetting):
    """The knobs of the every-hypergradient comparison on the thesis' MLP: the horizons, the
    estimators' own knobs (truncation, solver iterations and batches, DrMAD steps, the budgets
    of forward and reverse mode) and the outer loops.
    """
    horizons: tuple[int, ...] = (20, 60)  # training steps T per hypergradient (thesis: 100 to 20,000)
    truncation_steps: tuple[int, ...] = (1, 10)  # K of truncated reverse mode (K < T only)
    implicit_iterations: tuple[int, ...] = (5, 20)  # solver iterations of the implicit methods
    implicit_batches: int = 5  # the implicit methods' training loss: the last this many mini-batches
    drmad_steps: int = 20  # DrMAD's reverse steps S (at most T; thesis: about 200)
    drmad2_exact_steps: int = 5  # DrMAD2's exact reverse steps before the line (thesis: about 100)
    forward_budget: float = 2e4  # forward mode (m tangents) runs where m x T is at most this
    max_stored_bytes: float = 2e9  # reverse mode's stored trajectory runs up to this
    meta_T: int = 30  # training steps per meta-iteration of the outer loops
    meta_iterations: int = 2  # meta-iterations of every outer loop (the same for all)
    meta_lr: float = 0.05  # Adam's step on the hyperparameters
    meta_methods: tuple[str, ...] = ("exact", "DrMAD S=20", "truncated K=10",
                                     "implicit cg 20")  # estimators of the outer loops (labels)

    PRESETS = {
        "smoke": {},
        "cpu": {**CPU, "horizons": (100, 1000, 10000, 20000), "seeds": 3,
                "truncation_steps": (10, 100, 1000), "implicit_iterations": (10, 50),
                "implicit_batches": 20, "drmad_steps": 200, "drmad2_exact_steps": 100,
                "forward_budget": 1e5, "meta_T": 1000, "meta_iterations": 10,
                "meta_methods": CPU_META},
        "paper": {**CPU, "horizons": (100, 1000, 10000, 20000), "seeds": 3,
                  "truncation_steps": (10, 100, 1000), "implicit_iterations": (10, 50),
                  "implicit_batches": 20, "drmad_steps": 200, "drmad2_exact_steps": 100,
                  "forward_budget": 1e5, "meta_T": 1000, "meta_iterations": 10,
                  "meta_methods": CPU_META},
    }
    EMPTY_OK = ("meta_methods",)

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ParameterError: repeated horizons, or implicit_batches beyond the
            shortest horizon.
        """
        super().validate()
        if len(set(self.horizons)) != len(self.horizons):
            raise ParameterError(f"horizons must be distinct, got {self.horizons}")
        if self.implicit_batches > min(self.horizons):
            raise ParameterError(f"implicit_batches ({self.implicit_batches}) exceeds the "
                                 f"shortest horizon {min(self.horizons)}")


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
                    implicit_batches=cfg.implicit_batches,
                    max_stored_bytes=cfg.max_stored_bytes, forward_budget=cfg.forward_budget)


def one_front(item, checkpoint=None) -> list[dict]:
    """Every estimator at horizon ``T`` for one seed, against exact reversal."""
    cfg, T, seed = item
    task, problem, space, dynamics, theta = build(cfg, seed)
    m = theta.numel()
    rows, _ = measure(problem, dynamics, theta, T, variants_of(cfg, problem, m, T),
                      batches=cfg.implicit_batches)
    return [{"problem": "mlp", "seed": seed, "hyperparameters": m,
             "parameters": problem.w0.numel(), **r} for r in rows]


def one_outer(item, checkpoint=None) -> list[dict]:
    """One outer loop (``label``: an estimator at ``meta_T``; ``initial``: no tuning)."""
    cfg, label, seed = item
    task, problem, space, dynamics, theta = build(cfg, seed)
    errors = lambda w, th: {k: x for k, x in task.errors(w, th).items()  # noqa: E731
                            if k in ("val_error", "test_error")}
    if label == "initial":
        w, _ = train(problem, dynamics, theta, cfg.meta_T)
        return [{"problem": "mlp", "seed": seed, "meta_iteration": 0, "method": "initial",
                 "family": "initial", "training_steps": cfg.meta_T,
                 "val_loss": float(problem.val_loss(w, theta)), **errors(w, theta)}]
    var = next(x for x in variants_of(cfg, problem, theta.numel(), cfg.meta_T)
               if x.label == label)
    if var.skip:
        raise ParameterError(f"meta_methods: {label} does not run at meta_T = {cfg.meta_T}: "
                             f"{var.skip}")
    records = outer_loop(problem, dynamics, theta, cfg.meta_T, var, cfg.meta_iterations,
                         cfg.meta_lr, errors, checkpoint)
    return [{"problem": "mlp", "seed": seed, **r} for r in records]


def outer_labels(cfg: Config) -> list[str]:
    """``meta_methods``, checked against the estimators that run at ``meta_T``."""
    task, problem, space, dynamics, theta = build(cfg, cfg.seed)
    runnable = [x.label for x in variants_of(cfg, problem, theta.numel(), cfg.meta_T)
                if not x.skip]
    unknown = sorted(set(cfg.meta_methods) - set(runnable))
    if unknown:
        raise ParameterError(f"meta_methods {unknown} are not estimators that run at meta_T = "
                             f"{cfg.meta_T}; choose among {runnable}")
    return list(cfg.meta_methods)


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """The fronts per horizon and seed and the outer loops; returns (and writes) ``front``,
    ``summary`` (:func:`hpostudy.settings.front.summary`), ``outer`` and ``comparison``."""
    fronts = [(cfg, T, s) for T in cfg.horizons for s in cfg.seed_list]
    with prepare(cfg) as run:
        outers = [(cfg, label, s) for label in ["initial", *outer_labels(cfg)]
                  for s in cfg.seed_list]
        measured = run.map(one_front, fronts, desc="fronts",
                           names=[f"front-T{T}-seed{s}" for _, T, s in fronts])
        looped = run.map(one_outer, outers, desc="outer loops",
                         names=[f"outer-{label.replace(' ', '_')}-seed{s}"
                                for _, label, s in outers])
        front = pd.DataFrame([r for rows in measured for r in rows])
        outer = pd.DataFrame([r for rows in looped for r in rows])
        comparison = judge({"front": front, "outer": outer}, cfg)
        table = summary(front)
        run.save_tables(front=front, summary=table, outer=outer, comparison=comparison)
    return {"front": front, "summary": table, "outer": outer, "comparison": comparison}


def setting(cfg: Config) -> str:
    """The setting line of the comparison: the MLP, the data, batch size and learning rate,
    float64, and the mini-batches the implicit methods use.

    Args:
        cfg: the run's configuration.

    Returns:
        str: the setting column.
    """
    data = ("8x8 digits instead of MNIST" if cfg.dataset == "digits"
            else f"MNIST {cfg.n_train:,}/{cfg.n_val:,}/{cfg.n_test:,}")
    return (f"{cfg.profile}: thesis section 3.1 MLP, {data}, batch {cfg.batch_size}, "
            f"lr {cfg.lr:g}, float64; implicit on the last {cfg.implicit_batches} mini-batches")


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison table from the run's ``front`` (and settings): the rows of
    :func:`hpostudy.settings.front.front_rows` at the longest horizon."""
    return v.table(front_rows(tables["front"], "MLP", setting(cfg)))
