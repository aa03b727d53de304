"""Verdicts: a source's claim against our runs, by a rule stated in words.

Every row of a chapter's paper-vs-reproduced table comes from one rule of this module applied
to values measured over seeds, and reads: the finding, the paper's value, ours with its
confidence interval, how our setting differs from the paper's, the rule in words, the verdict
on the claim's *direction* and, where the paper states a size, the verdict on its *size*.

The statistics are those of small samples, stated in each rule:

* a mean over seeds gets the two-sided 95% Student-t interval
  :math:`\\bar x \\pm t_{0.975,\\,n-1}\\, s/\\sqrt n` (:func:`t_interval`; with 3 seeds
  :math:`t = 4.30`, not the normal 1.96); values that span orders of magnitude (norm ratios)
  get it on their log10, reported as a geometric mean;
* a difference gets the same interval on the paired differences (same seed, split or
  initialization on both sides) or Welch's interval for unpaired samples (:func:`difference`);
* a share of seeds gets the exact Clopper-Pearson interval of a binomial proportion
  (:func:`share_of_seeds`), so more seeds make a claim easier to establish, never harder.

The direction verdicts:

* ``agree`` -- the whole interval lies on the paper's side of the claim's threshold;
* ``disagree`` -- the whole interval lies on the other side;
* ``inconclusive`` -- the interval contains the threshold (the value is within its own
  uncertainty of it: a threshold never decides a row alone), or there are too few seeds for an
  interval (``smoke`` runs one seed, so its verdicts are inconclusive by construction);
* ``not comparable`` -- the run is below the smallest setting at which the claim can be tested
  (its :class:`Scale` gate, with the reason), or the setting differs too much otherwise.

The size verdicts (:func:`size_verdict`), where the paper gives the effect's size: ``size
reproduced`` (the paper's value lies inside our interval), ``direction only`` (the interval is
on the paper's side of zero but excludes its value), ``size rejected`` (the interval contains
zero but excludes the paper's value), ``opposite`` (the interval lies on the other side of
zero) and ``size untested`` (the interval contains both zero and the paper's value).

No rule looks at wall-clock time: two identical runs always get the same verdict.

The package's modules, one idea each: ``numbers`` (numbers for reading), ``intervals`` (the
intervals), ``rules`` (the verdicts), ``scale`` (the scale gate) and ``tables`` (the table's
rows); every name is used from here.
"""
from .intervals import (LEVEL, Interval, binomial_interval, difference_interval, t_interval,
                        t_quantile)
from .numbers import fmt, mean_sd, spread
from .rules import (AGREE, DIRECTION_ONLY, DISAGREE, INCONCLUSIVE, MIN_SEEDS, NOT_COMPARABLE,
                    OPPOSITE, SIZE_REJECTED, SIZE_REPRODUCED, SIZE_UNTESTED, SIZE_VERDICTS,
                    VERDICTS, Judgement, difference, not_comparable, share_of_seeds, side_of,
                    size_verdict, within)
from .scale import Scale
from .tables import COLUMNS, row, table

__all__ = ["AGREE", "DISAGREE", "INCONCLUSIVE", "NOT_COMPARABLE", "VERDICTS", "SIZE_REPRODUCED",
           "DIRECTION_ONLY", "SIZE_REJECTED", "OPPOSITE", "SIZE_UNTESTED", "SIZE_VERDICTS",
           "LEVEL", "MIN_SEEDS", "COLUMNS", "Interval", "Judgement", "fmt", "mean_sd", "spread",
           "t_quantile", "t_interval", "difference_interval", "binomial_interval", "side_of",
           "size_verdict", "within", "difference", "share_of_seeds", "not_comparable", "Scale",
           "row", "table"]
