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
from .. import verdicts as v
from ..dynamics import Adam, train
from ..metaopt import ProjectedAdam, meta_iterations
from ..multitask import SoftmaxRegression, TaskRelations
from ..settings import franceschi as fs
from ..study.experiment_run import prepare

METHODS = ("STL", "NMTL", "HMTL", "HMTL-S", "HMTL-S paper R")
PAPER_ACCURACY = {"STL": 0.7064, "NMTL": 0.7160, "HMTL": 0.7284, "HMTL-S": 0.7301,
                  "HMTL-S paper R": 0.7301}
PAPER_RADIUS = 1e-3
# pairs of classes a reader expects to be related (the paper's graph links such pairs)
RELATED = {"cifar10": (("cat", "dog"), ("automobile", "truck"), ("airplane", "ship"),
                       ("deer", "horse")),
           "digits": (("4", "9"), ("3", "5"), ("3", "8"), ("7", "9"))}
RELATED["mnist"] = RELATED["digits"]
PAPER_SETTING = ("CIFAR-10, Inception-V3 features, 50/50/49,900 split, Adam (T not stated), "
                 "R = 1e-3")


@dataclass(frozen=True)
class Config(fs.FeatureSetting):
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


def summarize(methods: pd.DataFrame, pool: dict) -> pd.DataFrame:
    """Mean and standard deviation over splits per method, the paper's accuracy beside."""
    rows = []
    for name in METHODS:
        mine = methods[methods.method == name]
        rows.append({"method": name, "paper_accuracy": PAPER_ACCURACY[name],
                     "test_accuracy": mine.test_accuracy.mean(),
                     "sd": mine.test_accuracy.std(ddof=1) if len(mine) > 1 else 0.0,
                     "splits": len(mine), "val_loss": mine.val_loss.mean(),
                     "trainings": mine.trainings.mean(), "sum_A": mine.sum_A.mean(),
                     "cpu_seconds": mine.cpu_seconds.mean()})
    out = pd.DataFrame(rows)
    out["feature_network_accuracy"] = pool["network_accuracy"]
    return out


def related_ratio(relations: pd.DataFrame, dataset: str, method: str = "HMTL-S") -> pd.Series:
    """Per seed: the mean weight of the related pairs (:data:`RELATED`) over the mean weight
    of all pairs (1 = no preference; 0 = never linked)."""
    pairs = {frozenset(p) for p in RELATED[dataset]}
    mine = relations[relations.method == method]
    out = {}
    for seed, group in mine.groupby("seed"):
        related = group[[frozenset((a, b)) in pairs for a, b in zip(group.task_a, group.task_b)]]
        average = group.weight.mean()
        out[seed] = related.weight.mean() / average if average > 0 else 0.0
    return pd.Series(out, name="related_ratio")


def setting(cfg: Config) -> str:
    data = {"digits": "embedded 8x8 digits, features of a small CNN trained on other digits",
            "cifar10": f"CIFAR-10, features of a small CNN trained on {cfg.feature_images:,} "
                       "other images (not Inception-V3)",
            "mnist": f"MNIST, features of a small CNN trained on {cfg.feature_images:,} "
                     "training images"}[cfg.dataset]
    return (f"{cfg.profile}: {data}; {cfg.n_train}/{cfg.n_val}/rest splits; Adam T = {cfg.T}; "
            f"R = {cfg.radius:g} (paper: {PAPER_RADIUS:g}, see text); budgets: grid {cfg.grid} "
            f"per hyperparameter, {cfg.hyper_iterations} hypergradients (paper: {PAPER_SETTING})")


def at_cpu_of(paths: pd.DataFrame, methods: pd.DataFrame, method: str,
              reference: str) -> pd.DataFrame:
    """Per seed, ``method`` (HMTL or HMTL-S) stopped at the process CPU time ``reference``
    (NMTL) spent on the same split: its first ``k`` hypergradients, ``k`` = its hypergradients
    times the reference's CPU seconds over its own (at least 1, at most all), and of these the
    one with the lowest validation loss, as the full run chooses. Columns ``seed``,
    ``hypergradients``, ``test_accuracy``."""
    cpu = methods.pivot(index="seed", columns="method", values="cpu_seconds")
    count = methods.pivot(index="seed", columns="method", values="trainings")
    rows = []
    for seed, path in paths[paths.method == method].groupby("seed"):
        path = path.sort_values("meta_iteration")
        total = int(count.loc[seed, method])
        k = int(total * cpu.loc[seed, reference] / cpu.loc[seed, method])
        k = min(max(k, 1), len(path))
        first = path.iloc[:k]
        best = first.loc[first.val_loss.idxmin()]
        rows.append({"seed": seed, "hypergradients": k,
                     "test_accuracy": float(best.test_accuracy)})
    return pd.DataFrame(rows)


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the paper from the run's tables ``methods``, ``relations`` and
    ``paths`` (:func:`run`); also what ``hpostudy rejudge`` calls on a recorded run.

    Accuracy claims are paired by split (seed) with the paper's difference as the size
    (Fig 1 left gives the accuracies, so the differences). The compared methods' budgets are
    not equal in CPU time -- HMTL's hypergradients (a training and a reverse pass each) cost
    more than NMTL's trainings -- so HMTL is also judged stopped at NMTL's CPU time
    (:func:`at_cpu_of`). The task graph is judged by the share of splits in which HMTL-S
    weighs the related pairs above the average pair (half of them would by chance)."""
    methods, relations, paths = tables["methods"], tables["relations"], tables["paths"]
    where = setting(cfg)
    wide = methods.pivot(index="seed", columns="method", values="test_accuracy")
    cpu = methods.groupby("method").cpu_seconds.mean()

    def budgets(*names: str) -> str:
        return "; ".join(f"{n} {v.fmt(float(methods[methods.method == n].trainings.mean()))} "
                         f"{'hypergradients' if n.startswith('HMTL') else 'trainings'}, "
                         f"{v.fmt(float(cpu[n]))} CPU s" for n in names)

    def paired(lower: str, higher: str, margin: float = 0.0, low=None, high=None):
        low = wide[lower] if low is None else low
        high = wide[higher] if high is None else high
        return v.difference(low, high, what_lower=f"{lower}'s accuracy",
                            what_higher=f"{higher}'s", paired=True, margin=margin,
                            paper_size=PAPER_ACCURACY[higher] - PAPER_ACCURACY[lower])

    def paper(lower, higher):
        return (f"{PAPER_ACCURACY[lower]} < {PAPER_ACCURACY[higher]} "
                f"(+{PAPER_ACCURACY[higher] - PAPER_ACCURACY[lower]:.4f})")

    def budget_row(finding, paper_value, judgement, *names):
        return v.row(finding, paper_value, judgement, f"{where}; budgets per split: "
                     f"{budgets(*names)}")

    equal_cpu = at_cpu_of(paths, methods, "HMTL", "NMTL").set_index("seed")
    ratio = related_ratio(relations, cfg.dataset)
    pairs = ", ".join("-".join(p) for p in RELATED[cfg.dataset])
    return v.table([
        budget_row("NMTL is more accurate than STL (Fig 1 left)", paper("STL", "NMTL"),
                   paired("STL", "NMTL"), "STL", "NMTL"),
        budget_row("HMTL is more accurate than NMTL (Fig 1 left)", paper("NMTL", "HMTL"),
                   paired("NMTL", "HMTL"), "NMTL", "HMTL"),
        budget_row("HMTL is more accurate than NMTL at NMTL's CPU time (HMTL stopped after "
                   f"{v.fmt(float(equal_cpu.hypergradients.mean()))} hypergradients on "
                   "average, the best of them by validation loss)", paper("NMTL", "HMTL"),
                   paired("NMTL", "HMTL", high=equal_cpu.test_accuracy.reindex(wide.index)),
                   "NMTL", "HMTL"),
        budget_row("HMTL is more accurate than STL (Fig 1 left)", paper("STL", "HMTL"),
                   paired("STL", "HMTL"), "STL", "HMTL"),
        budget_row("HMTL-S is at least as accurate as HMTL, up to 0.005 (Fig 1 left)",
                   f"{PAPER_ACCURACY['HMTL']} vs {PAPER_ACCURACY['HMTL-S']}",
                   paired("HMTL", "HMTL-S", margin=0.005), "HMTL", "HMTL-S"),
        v.row(f"HMTL-S links related classes ({pairs}; Fig 1 centre): it weighs them above the "
              "average pair in most splits", "linked in the graph",
              v.share_of_seeds(ratio > 1, what="the mean weight of these pairs exceeds the mean "
                               "weight of all pairs (no preference: half the splits by chance)"),
              where),
    ])
