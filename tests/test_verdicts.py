"""Every verdict rule on both sides of its threshold, with 3 and 30 seeds, and with too few."""
from __future__ import annotations

import pytest

from hpostudy import verdicts as v


def test_rows_spread_and_numbers():
    assert v.spread([1.0, 2.0, 3.0]) == "2 ± 1 (3 seeds)"
    j = v.within([1.0, 2.0, 3.0], low=-10, what="x")
    assert j.reproduced == "2, 95% CI [-0.484, 4.48] (3 seeds)"
    r = v.row("claim", "paper", j, "smoke: digits")
    assert list(r) == v.COLUMNS and r["verdict"] == v.AGREE
    assert v.not_comparable("3 of 300 epochs").verdict == v.NOT_COMPARABLE
    assert v.fmt(1.5950000000000002) == "1.6" and v.fmt(2.0) == "2" and v.fmt(1e67) == "1e+67"
    assert v.fmt(123456.0) == "123,456" and v.fmt(float("nan")) == "n/a"
    with pytest.raises(ValueError):
        v.Judgement("maybe", "rule", "-")
    with pytest.raises(ValueError, match="at least one value"):
        v.within([], low=0, what="x")


@pytest.mark.parametrize("x, shown", [
    (0.99999, "0.99999"), (1.0001, "1.0001"), (-0.99999, "-0.99999"),  # not shown as +-1
    (1 - 1e-15, "1"), (0.999, "0.999"), (2.9999, "3"), (30.03, "30"),  # rounded as usual
    (5535.83, "5536"), (123456.7, "123,457"), (999.96, "1000"), (1234567.5, "1.23e+06"),
    (1010664, "1,010,664"), (10 ** 7, "10,000,000"),  # counts stay exact
    (-0.0, "0"), (0.00012345, "0.000123"), (float("inf"), "inf"), (True, "True"),
])
def test_numbers_read_well_on_both_sides_of_each_range(x, shown):
    assert v.fmt(x) == shown


# ---------------------------------------------------------------------- interval rules
def test_t_interval_uses_student_t_not_the_normal_approximation():
    iv = v.t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t_{0.975,2} = 4.303
    assert iv.estimate == 2.0 and iv.n == 3
    assert iv.high - 2.0 == pytest.approx(4.3027 / 3 ** 0.5, rel=1e-4)
    assert v.t_quantile(3) == pytest.approx(4.3027, rel=1e-4)
    assert v.t_quantile(30) == pytest.approx(2.0452, rel=1e-4)
    assert not v.t_interval([5.0]).defined
    g = v.t_interval([10.0, 100.0, 1000.0], log=True)  # log10: 1, 2, 3
    assert g.estimate == pytest.approx(100.0) and g.method == "t on log10"
    assert g.low == pytest.approx(10 ** (2 - 4.3027 / 3 ** 0.5), rel=1e-4)
    with pytest.raises(ValueError, match="NaN"):
        v.t_interval([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="positive"):
        v.t_interval([1.0, -1.0, 2.0], log=True)


def test_within_with_three_and_thirty_seeds_on_both_sides_of_a_bound():
    # three seeds: a mean of 0.2 with sd 0.05 has the interval [0.076, 0.324]
    assert v.within([0.15, 0.2, 0.25], low=0.05, what="x").verdict == v.AGREE
    assert v.within([0.15, 0.2, 0.25], low=0.1, what="x").verdict == v.INCONCLUSIVE
    assert v.within([0.15, 0.2, 0.25], low=0.35, what="x").verdict == v.DISAGREE
    # thirty seeds of the same spread: the interval is [0.181, 0.219]
    many = [0.15, 0.2, 0.25] * 10
    assert v.within(many, low=0.1, what="x").verdict == v.AGREE
    assert v.within(many, low=0.19, what="x").verdict == v.INCONCLUSIVE
    assert v.within(many, high=0.17, what="x").verdict == v.DISAGREE
    # a value within its own uncertainty of the threshold: 0.103 against 0.1 is not decided
    j = v.within([0.098, 0.103, 0.108], high=0.1, what="the chord deviation")
    assert j.verdict == v.INCONCLUSIVE and "95% CI" in j.reproduced
    # orders of magnitude: on log10
    assert v.within([1e20, 1e24, 1e28], low=100, what="r", log=True).verdict == v.AGREE
    assert v.within([0.5, 2.0, 8.0], low=0.1, high=10, log=True, what="r").verdict \
        == v.INCONCLUSIVE  # the geometric interval [0.08, 50] crosses both bounds
    assert v.within([1.0], low=0.5, what="x").verdict == v.INCONCLUSIVE


def test_difference_paired_and_welch_on_both_sides():
    low, high = [1.0, 2.0, 3.0, 4.0], [1.1, 2.12, 3.09, 4.1]
    kw = dict(what_lower="STL", what_higher="NMTL")
    assert v.difference(low, high, paired=False, **kw).verdict == v.INCONCLUSIVE
    assert v.difference(low, high, paired=True, **kw).verdict == v.AGREE
    assert v.difference(high, low, paired=True, **kw).verdict == v.DISAGREE
    # differences 0, 1, 2: mean 1, interval 1 ± 2.48 -> inconclusive at n = 3; at n = 30 agree
    assert v.difference([0.0] * 3, [0.0, 1.0, 2.0], paired=True, **kw).verdict \
        == v.INCONCLUSIVE
    assert v.difference([0.0] * 30, [0.0, 1.0, 2.0] * 10, paired=True, **kw).verdict \
        == v.AGREE
    # a margin: "not above by more than 0.5" with the mean difference -0.2 ± small
    x, y = [1.0, 1.0, 1.0, 1.0], [0.8, 0.7, 0.9, 0.8]
    assert v.difference(x, y, paired=True, margin=0.5, **kw).verdict == v.AGREE
    assert v.difference(x, y, paired=True, margin=0.0, **kw).verdict == v.DISAGREE
    with pytest.raises(ValueError, match="one pair per seed"):
        v.difference([1.0, 2.0], [1.0], paired=True, **kw)
    # identical values: an interval [0, 0] shows no difference, in either direction
    assert v.difference([1.0] * 3, [1.0] * 3, paired=True, **kw).verdict == v.INCONCLUSIVE
    assert v.difference([1.0] * 3, [1.0] * 3, paired=False, **kw).verdict == v.INCONCLUSIVE
    # unpaired, well separated
    assert v.difference([1.0, 1.1, 0.9], [2.0, 2.1, 1.9], paired=False, **kw).verdict == v.AGREE


def test_size_verdicts_say_whether_the_papers_effect_is_inside_our_interval():
    kw = dict(what_lower="STL", what_higher="NMTL", paired=True)
    # HMTL's case: the paper's +0.96 pt against our -0.24 with a small interval: size rejected
    stl = [0.5] * 20
    nmtl = [0.5 - 0.0024 + 0.01 * ((-1) ** i) for i in range(20)]
    j = v.difference(stl, nmtl, paper_size=0.0096, **kw)
    assert j.verdict == v.INCONCLUSIVE and j.size == v.SIZE_REJECTED
    assert v.difference([0.0] * 5, [1.0, 1.1, 0.9, 1.0, 1.05], paper_size=1.0, **kw).size \
        == v.SIZE_REPRODUCED
    assert v.difference([0.0] * 5, [1.0, 1.1, 0.9, 1.0, 1.05], paper_size=3.0, **kw).size \
        == v.DIRECTION_ONLY
    assert v.difference([0.0] * 5, [-1.0, -1.1, -0.9, -1.0, -1.05], paper_size=1.0,
                        **kw).size == v.OPPOSITE
    assert v.difference([0.0] * 3, [-1.0, 1.0, 0.5], paper_size=0.4, **kw).size \
        == v.SIZE_UNTESTED
    assert v.difference([0.0], [1.0], paper_size=1.0, **kw).size == v.SIZE_UNTESTED
    with pytest.raises(ValueError, match="non-zero"):
        v.size_verdict(v.t_interval([1.0, 2.0]), 0.0)


def test_share_of_seeds_gets_easier_with_more_seeds_never_harder():
    assert v.share_of_seeds([True] * 3, what="p").verdict == v.INCONCLUSIVE  # [0.29, 1]
    assert v.share_of_seeds([True] * 19 + [False], what="p").verdict == v.AGREE
    assert v.share_of_seeds([False] * 19 + [True], what="p").verdict == v.DISAGREE
    assert v.share_of_seeds([True, False] * 10, what="p").verdict == v.INCONCLUSIVE
    assert v.share_of_seeds([True] * 3, what="p", above=0.0).verdict == v.AGREE
    iv = v.binomial_interval(19, 20)
    assert iv.low == pytest.approx(0.7513, abs=1e-4) and iv.high == pytest.approx(0.9987,
                                                                                  abs=1e-4)
    assert v.share_of_seeds([True, True], what="p").verdict == v.INCONCLUSIVE


def test_the_scale_gate_makes_a_row_below_its_claims_scale_not_comparable():
    gate = v.Scale({"epochs": 100}, "the paper's learning-rate schedule decays at epoch 100")
    j = v.within([0.2, 0.21, 0.19], low=0.1, what="x")
    assert gate.gate(j, {"epochs": 300}) is j
    below = gate.gate(j, {"epochs": 10})
    assert below.verdict == v.NOT_COMPARABLE and "epochs 10 < 100" in below.rule
    assert below.reproduced == j.reproduced and "decays at epoch 100" in below.rule
    with pytest.raises(ValueError, match="lacks"):
        gate.gate(j, {"steps": 5})
