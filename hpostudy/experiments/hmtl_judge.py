"""The comparison of :mod:`hpostudy.experiments.hmtl` with Franceschi et al. (2017), Fig 1
left and centre: the paper's numbers, the summary of the methods beside them, and the verdicts
on accuracy (paired by split, also at equal CPU time: :func:`at_cpu_of`) and on the task graph
(:func:`related_ratio`), a function of the recorded tables and the settings only
(``hpostudy rejudge``). ``cfg`` is the experiment's :class:`~hpostudy.experiments.hmtl.Config`
(named in annotations only: this module is imported by the experiment module, not the other
way round).
"""
from __future__ import annotations

import pandas as pd

from .. import verdicts as v

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


def summarize(methods: pd.DataFrame, pool: dict) -> pd.DataFrame:
    """Mean and standard deviation over splits per method, the paper's accuracy beside.

    Args:
        methods: the ``methods`` table (one row per split and method).
        pool: the feature pool (its ``network_accuracy``).

    Returns:
        pd.DataFrame: one row per method of ``METHODS``.
    """
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
    of all pairs (1 = no preference; 0 = never linked).

    Args:
        relations: the ``relations`` table (one row per split, method and pair of tasks).
        dataset: the dataset, which names the related pairs.
        method: the method whose task graph is read.

    Returns:
        pd.Series: the ratio per seed.
    """
    pairs = {frozenset(p) for p in RELATED[dataset]}
    mine = relations[relations.method == method]
    out = {}
    for seed, group in mine.groupby("seed"):
        related = group[[frozenset((a, b)) in pairs for a, b in zip(group.task_a, group.task_b)]]
        average = group.weight.mean()
        out[seed] = related.weight.mean() / average if average > 0 else 0.0
    return pd.Series(out, name="related_ratio")


def setting(cfg: Config) -> str:
    """How this run's setting differs from the paper's.

    Args:
        cfg: the run's configuration (a :class:`~hpostudy.experiments.hmtl.Config`).

    Returns:
        str: the setting column of the comparison.
    """
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
    ``hypergradients``, ``test_accuracy``.

    Args:
        paths: the ``paths`` table (one row per meta-iteration).
        methods: the ``methods`` table.
        method: the method stopped early.
        reference: the method whose CPU time is the budget.

    Returns:
        pd.DataFrame: one row per seed.
    """
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
    weighs the related pairs above the average pair (half of them would by chance).

    Args:
        tables: the run's tables by name.
        cfg: the run's configuration.

    Returns:
        pd.DataFrame: the comparison table.
    """
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
