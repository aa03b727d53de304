"""The comparison of :mod:`hpostudy.experiments.drmad_quality`: the thesis' findings of
section 3.1 (Figs 3.1, 3.2 and 3.3) judged from the run's tables, and the cost claims of the
DrMAD abstract on the benchmark (:mod:`hpostudy.experiments.drmad_quality_cost`).

:func:`judge` is a function of the recorded tables and the settings only, so
``hpostudy rejudge`` recomputes it without training. Per horizon (:func:`quality_rows`), each
finding is an interval rule over seeds behind its scale gate (:data:`SCALE`, :data:`COURSE`);
Fig 3.3's claim is judged against its controls (``CONTROLS``: exact signs, random signs) by
:func:`error_fall`. ``cfg`` is the experiment's
:class:`~hpostudy.experiments.drmad_quality.Config` (named in annotations only: this module is
imported by the experiment module, not the other way round).
"""
from __future__ import annotations

import dataclasses
import math

import pandas as pd

from .. import verdicts as v
from .drmad_quality_cost import _with, benchmark_rows, read_benchmark

PAPER_SETTING = ("MNIST 15,000/5,000/5,000, T = 2,000 and 20,000 (up to 200,000), about 200 "
                 "and 2,000 reverse steps; learning rate and batch size unstated, the DrMAD "
                 "code it builds on uses 0.05 and 50")
CONTROLS = ("exact", "random")

# ---------------------------------------------------------------------- the scale gates
SCALE = v.Scale({"T": 2000, "MNIST training images": 15000},
                "the thesis measures DrMAD against the exact hypergradient at T = 2,000 and "
                "20,000 on MNIST with 15,000 training images; how far DrMAD's straight line "
                "strays from the training path depends on the horizon and the data")


COURSE = v.Scale({"T": 2000, "MNIST training images": 15000, "meta-iterations": 5},
                 "the thesis' claim is about the course of the meta-iterations on MNIST at "
                 "T = 2,000 and 20,000: a meta-step of 0.07 along the signs moves each "
                 "log-hyperparameter by 0.07, so fewer than 5 leave the errors where they "
                 "started")


def setting(cfg: Config, T: int | None = None) -> str:
    """How this run's setting differs from the thesis' (at horizon ``T``, or every horizon).

    Args:
        cfg: the run's configuration (a :class:`~hpostudy.experiments.drmad_quality.Config`).
        T: one horizon, or None for all.

    Returns:
        str: the setting column of the comparison.
    """
    data = ("8x8 digits instead of MNIST" if cfg.dataset == "digits"
            else f"MNIST {cfg.n_train:,}/{cfg.n_val:,}/{cfg.n_test:,}")
    runs = "; ".join(f"T={h:,}: {n} seed(s) x {m} meta-iterations" for h, m, n in
                     zip(cfg.horizons, cfg.meta_iterations, cfg.seeds_per_horizon)
                     if T is None or h == T)
    return (f"{cfg.profile}: {data}; {runs}; S in {list(cfg.reverse_steps)}; lr {cfg.lr:g}, "
            f"batch {cfg.batch_size}, meta-steps {cfg.meta_lr:g} (thesis: {PAPER_SETTING})")


def per_seed(df: pd.DataFrame, column: str, how: str = "median") -> pd.Series:
    """One value per seed (``how`` over the seed's meta-iterations).

    Args:
        df: rows of ``metaruns``.
        column: the column summarized.
        how: a pandas aggregation (``median``, ``mean``, ``last``, ...).

    Returns:
        pd.Series: the value per seed.
    """
    return df.groupby("seed")[column].agg(how)


def n_hyperparameters(cfg: Config) -> int:
    """The number d of hyperparameters of the section 3.1 setting (:func:`build`): a scale s
    and an L2 coefficient lambda per unit of every layer, output layer included.

    Args:
        cfg: the run's configuration.

    Returns:
        int: d.
    """
    return 2 * (sum(cfg.hidden) + 10)


def cosine_noise(d: int) -> float:
    """Twice :math:`1/\\sqrt d`, the standard deviation of the cosine between two unrelated
    (independent, uniformly oriented) directions in ``d`` dimensions, and of the cosine of two
    independent random sign vectors: a cosine within this of 0 is indistinguishable from that
    of an unrelated direction (about 95% of unrelated pairs fall inside).

    Args:
        d: the number of dimensions.

    Returns:
        float: :math:`2/\\sqrt d`.
    """
    return 2 / math.sqrt(d)


def fall(metaruns: pd.DataFrame, follow: str, T: int, S: int | None = None,
         column: str = "test_error") -> pd.Series:
    """Per seed, ``column`` at the first meta-iteration minus at the last, in the meta-run that
    follows ``follow`` at horizon ``T`` (and ``S`` reverse steps where given): positive where
    the error fell.

    Args:
        metaruns: the run's ``metaruns`` table.
        follow: what the meta-run steps along (one of ``FOLLOW``).
        T: the horizon.
        S: DrMAD's reverse steps, or None for any.
        column: the error compared.

    Returns:
        pd.Series: the fall per seed.
    """
    d = metaruns[(metaruns.follow == follow) & (metaruns["T"] == T)]
    if S is not None:
        d = d[d.S == S]
    g = d.sort_values("meta_iteration").groupby("seed")[column]
    return g.first() - g.last()


def lowest_later_cosine(d: pd.DataFrame) -> pd.Series:
    """Per seed, the lowest cosine with the exact hypergradient -- of DrMAD's hypergradient or
    of its sign vector -- after the first meta-iteration.

    Args:
        d: the DrMAD-following rows of ``metaruns`` (columns ``cos_drmad``,
            ``cos_sign_drmad``).

    Returns:
        pd.Series: the lowest cosine per seed.
    """
    later = d[d.meta_iteration > 0]
    return later[["cos_drmad", "cos_sign_drmad"]].min(axis=1).groupby(later.seed).min()


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison table from the run's tables (``metaruns``, ``cost``) and settings: the
    thesis' findings of section 3.1 per horizon (:func:`quality_rows`) and the DrMAD
    abstract's cost claims on the benchmark tables named by ``cfg.benchmark``
    (:func:`benchmark_rows`).

    Args:
        tables: the run's tables by name.
        cfg: the run's configuration.

    Returns:
        pd.DataFrame: the comparison table.
    """
    rows = []
    metaruns = tables["metaruns"]
    for T in sorted(metaruns["T"].unique()):
        rows += quality_rows(metaruns[metaruns["T"] == T], cfg, int(T))
    if cfg.benchmark:
        rows += benchmark_rows(read_benchmark(cfg.benchmark))
    return v.table(rows)


def quality_rows(metaruns: pd.DataFrame, cfg: Config, T: int) -> list[dict]:
    """The thesis' findings of section 3.1 at horizon ``T`` (rows of one horizon's runs), each
    by an interval rule over seeds behind its scale gate.

    Args:
        metaruns: the rows of ``metaruns`` at horizon ``T``.
        cfg: the run's configuration.
        T: the horizon.

    Returns:
        list[dict]: rows of the comparison.
    """
    where = setting(cfg, T)
    n_meta = dict(zip(cfg.horizons, cfg.meta_iterations)).get(T, int(
        metaruns.meta_iteration.max()) + 1)
    ran = {"T": T, "MNIST training images": cfg.n_train if cfg.dataset == "mnist" else 0,
           "meta-iterations": n_meta}
    d = metaruns[metaruns.follow == "drmad"].assign(
        ratio=lambda x: x.norm_drmad / x.norm_exact)
    Ss = sorted(int(S) for S in d.S.unique())
    small, large = Ss[0], Ss[-1]
    d_small = d[d.S == small]
    rows = []

    def add(finding, paper, judgement, scale=SCALE):
        finding = (f"{finding[:-1]}, T={T:,})" if finding.endswith(")") else
                   f"{finding} (T={T:,})")
        rows.append(v.row(finding, paper, scale.gate(judgement, ran), where))

    if large != small:
        add(f"DrMAD norms explode with ~{large:,} reverse steps (Fig 3.1)",
            "several orders of magnitude above the exact norm",
            v.within(per_seed(d[d.S == large], "ratio"), low=100.0, log=True,
                     what=f"the median over meta-iterations of the DrMAD/exact norm ratio at "
                          f"S={large:,}"))
    add(f"With ~{small:,} reverse steps DrMAD has the exact norm's order of magnitude "
        "(Fig 3.1)", "same order of magnitude",
        v.within(per_seed(d_small, "ratio"), low=0.1, high=10.0, log=True,
                 what=f"the median over meta-iterations of the DrMAD/exact norm ratio at "
                      f"S={small:,}"))
    d_hyper = n_hyperparameters(cfg)
    noise = cosine_noise(d_hyper)
    for S in Ss:
        add(f"Cosines (or sign cosines) of DrMAD (S={S:,}) with the exact hypergradient turn "
            "negative after the first meta-iteration (Fig 3.2)", "sometimes negative",
            _with(v.within(lowest_later_cosine(d[d.S == S]), high=-noise,
                           what=f"each seed's lowest cosine (of the hypergradients or of their "
                                f"signs) after the first meta-iteration"),
                  rule=f"; -{v.fmt(noise)} = -2/sqrt(d), d = {d_hyper} hyperparameters: "
                       f"twice the spread of the cosine of unrelated directions, within which "
                       f"a cosine is indistinguishable from 0"), COURSE)
    medians = d_small.groupby("seed")[["cos_drmad", "cos_drmad2"]].median()
    add(f"DrMAD2 agrees better with the exact hypergradient than DrMAD (S={small:,}, Fig 3.2)",
        "better for 200-2,000 iterations",
        v.difference(medians.cos_drmad, medians.cos_drmad2,
                     what_lower="the median cosine of DrMAD with the exact hypergradient",
                     what_higher="DrMAD2's", paired=True))
    add(f"Test error falls following the DrMAD signs (S={small:,}, Fig 3.3), more than along "
        "random signs", "decreases", error_fall(metaruns, T, small, large, cfg), COURSE)
    first = d[d.meta_iteration == 0].drop_duplicates("seed").set_index("seed").beta_steps_x10
    add("The beta estimate with the factor 10 gives roughly 200 reverse steps",
        "roughly 200 for 2,000-200,000 iterations",
        v.within(first, low=100.0, high=400.0, log=True,
                 what="1/(10 beta) at the first meta-iteration"))
    return rows


def error_fall(metaruns: pd.DataFrame, T: int, small: int, large: int,
               cfg: Config) -> v.Judgement:
    """Fig 3.3's claim against its controls: the fall of the test error following DrMAD's
    signs (S = ``small``) minus its fall along random signs, paired by seed; the fall along
    the exact hypergradient's signs beside it. Without the controls in the tables the row is
    not comparable and says why (the fall at S = ``large`` shows what an uninformative DrMAD
    gives).

    Args:
        metaruns: the rows of ``metaruns`` at horizon ``T``.
        T: the horizon.
        small: the smallest S (the DrMAD run the controls are paired with).
        large: the largest S.
        cfg: the run's configuration.

    Returns:
        v.Judgement: the verdict on the fall against the random-sign control.
    """
    drmad = fall(metaruns, "drmad", T, small)
    unit = "pt"
    pts = lambda s: 100 * s  # noqa: E731 -- error rates in percentage points
    followed = set(metaruns.follow)
    if not set(CONTROLS) <= followed:
        text = f"fall of the test error following DrMAD (S={small:,}): " + \
            v.t_interval(pts(drmad)).text(3, unit)
        if large != small:
            text += (f"; following DrMAD with S={large:,}, whose cosine with the exact "
                     f"hypergradient is about 0: " +
                     v.t_interval(pts(fall(metaruns, "drmad", T, large))).text(3, unit))
        return v.not_comparable(
            "not yet recorded: this run has no control meta-runs (along the exact "
            "hypergradient's signs and along random signs, same T, meta-steps and seeds); "
            "without them a fall is no evidence for DrMAD's direction", text)
    random, exact = fall(metaruns, "random", T), fall(metaruns, "exact", T)
    seeds = sorted(set(drmad.index) & set(random.index) & set(exact.index))
    judgement = v.difference(pts(random[seeds]), pts(drmad[seeds]), paired=True, unit=unit,
                             what_lower="the fall of the test error along random signs",
                             what_higher="its fall following DrMAD's signs")
    informative = v.difference_interval(pts(random[seeds]), pts(exact[seeds]), paired=True)
    reproduced = (f"fall following DrMAD: {v.spread(pts(drmad[seeds]), 3, unit)}; along random "
                  f"signs: {v.spread(pts(random[seeds]), 3, unit)}; DrMAD minus random "
                  f"{judgement.interval.text(3, unit)}; along the exact hypergradient's signs: "
                  f"{v.spread(pts(exact[seeds]), 3, unit)}, exact minus random "
                  f"{informative.text(3, unit)}")
    return dataclasses.replace(judgement, reproduced=reproduced, rule=judgement.rule + (
        " (falls in percentage points, first meta-iteration minus last)"))
