"""Every verdict rule on both sides of its threshold, and with too few seeds."""
from __future__ import annotations

import pytest

from hpostudy import verdicts as v


def test_each_seed_within_on_both_sides_of_the_threshold():
    assert v.each_seed_within([0.11, 0.2, 0.5], low=0.1, what="x").verdict == v.AGREE
    assert v.each_seed_within([0.01, 0.05, 0.09], low=0.1, what="x").verdict == v.DISAGREE
    assert v.each_seed_within([0.05, 0.2, 0.3], low=0.1, what="x").verdict == v.INCONCLUSIVE
    assert v.each_seed_within([1, 2, 3], high=3, what="x").verdict == v.AGREE
    assert v.each_seed_within([3.01, 4, 5], high=3, what="x").verdict == v.DISAGREE
    band = dict(low=0.1, high=10, what="the ratio")
    assert v.each_seed_within([0.5, 2, 9.9], **band).verdict == v.AGREE
    assert v.each_seed_within([11, 1e4, 1e9], **band).verdict == v.DISAGREE
    assert v.each_seed_within([0.01, 1e4, 50], **band).verdict == v.DISAGREE


def test_too_few_seeds_are_inconclusive_and_say_so():
    j = v.each_seed_within([0.5], low=0.1, what="x")
    assert j.verdict == v.INCONCLUSIVE and "needs at least 3 seeds, ran 1" in j.rule
    assert j.reproduced == "0.5 (1 seed)"
    assert v.holds_for_each_seed([True, True], what="w_0 comes back").verdict == v.INCONCLUSIVE
    assert v.mean_below([1, 2], [5, 6, 7], what_lower="a", what_higher="b").verdict \
        == v.INCONCLUSIVE


def test_holds_for_each_seed():
    assert v.holds_for_each_seed([True] * 3, what="p").verdict == v.AGREE
    assert v.holds_for_each_seed([False] * 3, what="p").verdict == v.DISAGREE
    j = v.holds_for_each_seed([True, False, True], what="p")
    assert j.verdict == v.INCONCLUSIVE and j.reproduced == "2 of 3 seeds"


def test_mean_below_judges_the_difference_against_the_spread():
    low, high = [1.0, 1.1, 0.9], [2.0, 2.1, 1.9]
    assert v.mean_below(low, high, what_lower="STN", what_higher="BO").verdict == v.AGREE
    assert v.mean_below(high, low, what_lower="STN", what_higher="BO").verdict == v.DISAGREE
    # the same means with a spread larger than the difference: inconclusive
    noisy = [0.0, 1.0, 2.0]
    assert v.mean_below(noisy, [1.2, 2.2, 0.2], what_lower="a", what_higher="b").verdict \
        == v.INCONCLUSIVE
    # just above and just below 2 standard errors
    a, b = [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]  # difference 2, standard error 0.577
    assert v.mean_below(a, b, what_lower="a", what_higher="b", z=3.4).verdict == v.AGREE
    assert v.mean_below(a, b, what_lower="a", what_higher="b", z=3.5).verdict == v.INCONCLUSIVE


def test_paired_mean_below_judges_the_paired_difference_on_both_sides():
    # the seeds' spread (1) is far larger than the difference (0.1), but every pair agrees
    low, high = [1.0, 2.0, 3.0, 4.0], [1.1, 2.12, 3.09, 4.1]
    kw = dict(what_lower="STL", what_higher="NMTL")
    assert v.mean_below(low, high, **kw).verdict == v.INCONCLUSIVE
    assert v.paired_mean_below(low, high, **kw).verdict == v.AGREE
    assert v.paired_mean_below(high, low, **kw).verdict == v.DISAGREE
    # differences 0, 1, 2: mean 1, standard error 0.577 -> agree up to z = 1.73
    a, b = [0.0, 0.0, 0.0], [0.0, 1.0, 2.0]
    assert v.paired_mean_below(a, b, z=1.7, **kw).verdict == v.AGREE
    assert v.paired_mean_below(a, b, z=1.8, **kw).verdict == v.INCONCLUSIVE
    # a margin: "not above by more than 0.5" -- the mean difference -0.2 with standard error 0.04
    x, y = [1.0, 1.0, 1.0, 1.0], [0.8, 0.7, 0.9, 0.8]
    j = v.paired_mean_below(x, y, margin=0.5, **kw)
    assert j.verdict == v.AGREE and "by more than 0.5" in j.rule
    assert v.paired_mean_below(x, y, margin=0.15, **kw).verdict == v.INCONCLUSIVE
    assert v.paired_mean_below(x, y, margin=0.0, **kw).verdict == v.DISAGREE
    assert v.paired_mean_below([1.0], [2.0], **kw).verdict == v.INCONCLUSIVE
    with pytest.raises(ValueError, match="one pair per seed"):
        v.paired_mean_below([1.0, 2.0], [1.0], **kw)


def test_rows_spread_and_numbers():
    j = v.each_seed_within([1.0, 2.0, 3.0], low=0.5, what="x")
    assert j.reproduced == "2 ± 1 (3 seeds)"
    r = v.row("claim", "paper", j, "smoke: digits")
    assert list(r) == v.COLUMNS and r["verdict"] == v.AGREE
    assert v.not_comparable("3 of 300 epochs").verdict == v.NOT_COMPARABLE
    assert v.fmt(1.5950000000000002) == "1.6" and v.fmt(2.0) == "2" and v.fmt(1e67) == "1e+67"
    assert v.fmt(123456.0) == "123,456" and v.fmt(float("nan")) == "n/a"
    with pytest.raises(ValueError):
        v.Judgement("maybe", "rule", "-")
    with pytest.raises(ValueError, match="at least one value"):
        v.each_seed_within([], low=0, what="x")


@pytest.mark.parametrize("x, shown", [
    (0.99999, "0.99999"), (1.0001, "1.0001"), (-0.99999, "-0.99999"),  # not shown as +-1
    (1 - 1e-15, "1"), (0.999, "0.999"), (2.9999, "3"), (30.03, "30"),  # rounded as usual
    (5535.83, "5536"), (123456.7, "123,457"), (999.96, "1000"), (1234567.5, "1.23e+06"),
    (1010664, "1,010,664"), (10 ** 7, "10,000,000"),  # counts stay exact
    (-0.0, "0"), (0.00012345, "0.000123"), (float("inf"), "inf"), (True, "True"),
])
def test_numbers_read_well_on_both_sides_of_each_range(x, shown):
    assert v.fmt(x) == shown
