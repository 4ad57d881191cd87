"""Trial statistics: Welch's t-test, the two-proportion z-test and the sample-ratio check,
against scipy on random data, against hand formulas, and against GrowthBook's published case."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from scipy import stats as sps

from metrics.stats import (
    TOO_LITTLE,
    Effect,
    Summary,
    format_p,
    reading,
    sample_ratio,
    two_proportions,
    verdict,
    welch,
)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------
def test_summary_moments_by_hand():
    s = Summary.of([2, 4, 4, 4, 5, 5, 7, 9])  # n 8, sum 40, sum of squares 232
    assert (s.n, s.sum, s.sum_sq) == (8, 40.0, 232.0)
    assert s.mean == 5.0
    assert s.var == pytest.approx(32 / 7)  # squared deviations 9+1+1+1+0+0+4+16 = 32, ddof 1
    assert s.sd == pytest.approx(math.sqrt(32 / 7))


def test_summary_from_moments_round_trips():
    s = Summary.from_moments(0.41, 3.9, 3407)
    assert s.mean == pytest.approx(0.41)
    assert s.sd == pytest.approx(3.9)


def test_summary_degenerate():
    assert Summary(0, 0, 0).mean is None and Summary(0, 0, 0).var is None
    assert Summary(1, 3, 9).mean == 3 and Summary(1, 3, 9).var is None and Summary(1, 3, 9).sd is None
    # Rounding can make sum_sq - sum^2/n slightly negative: the variance stays 0, not NaN.
    assert Summary(3, 0.3, 0.03 - 1e-18).var == 0.0


# --------------------------------------------------------------------------------------------
# Welch
# --------------------------------------------------------------------------------------------
def test_growthbook_welch_case():
    """METRICS.md: control 0.41 / 3.9 / 3407, treatment 0.70 / 6.2 / 3461 -> 0.29, CI [0.04538, 0.53462],
    p = 0.02016 (GrowthBook's frequentist test, absolute effect)."""
    e = welch(Summary.from_moments(0.41, 3.9, 3407), Summary.from_moments(0.70, 6.2, 3461))
    assert e.test == "welch" and (e.n_a, e.n_b) == (3407, 3461)
    assert e.abs_effect == pytest.approx(0.29, abs=1e-12)
    assert e.ci_low == pytest.approx(0.04538, abs=5e-6)
    assert e.ci_high == pytest.approx(0.53462, abs=5e-6)
    assert e.p_value == pytest.approx(0.02016, abs=5e-6)
    assert e.rel_effect == pytest.approx(0.29 / 0.41)
    # Welch–Satterthwaite by hand: va = 3.9^2/3407, vb = 6.2^2/3461
    va, vb = 3.9**2 / 3407, 6.2**2 / 3461
    assert e.df == pytest.approx((va + vb) ** 2 / (va**2 / 3406 + vb**2 / 3460))
    # ... and scipy agrees from the same moments
    ref = sps.ttest_ind_from_stats(0.70, 6.2, 3461, 0.41, 3.9, 3407, equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_welch_small_case_by_hand():
    # a = [1, 2, 3]: mean 2, var 1;  b = [4, 6, 8]: mean 6, var 4
    # se^2 = 1/3 + 4/3 = 5/3; df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = (25/9) / (17/18) = 50/17
    e = welch(Summary.of([1, 2, 3]), Summary.of([4, 6, 8]))
    assert e.abs_effect == 4.0 and e.mean_a == 2.0 and e.mean_b == 6.0 and e.rel_effect == 2.0
    assert e.df == pytest.approx(50 / 17)
    t = 4 / math.sqrt(5 / 3)
    assert e.p_value == pytest.approx(2 * sps.t.sf(t, 50 / 17))
    half = sps.t.ppf(0.975, 50 / 17) * math.sqrt(5 / 3)
    assert (e.ci_low, e.ci_high) == (pytest.approx(4 - half), pytest.approx(4 + half))


@settings(max_examples=60, deadline=None)
@given(seed=hst.integers(0, 2**32 - 1), n_a=hst.integers(2, 60), n_b=hst.integers(2, 60),
       shift=hst.floats(-3, 3), scale=hst.floats(0.1, 10))
def test_welch_matches_scipy_on_random_data(seed, n_a, n_b, shift, scale):
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 2, n_a)
    b = rng.normal(10 + shift, 2 * scale, n_b)
    e = welch(Summary.of(a), Summary.of(b))
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)
    assert e.df == pytest.approx(ref.df, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (e.ci_low, e.ci_high) == (pytest.approx(ci.low, rel=1e-7, abs=1e-9), pytest.approx(ci.high, rel=1e-7, abs=1e-9))
    assert e.abs_effect == pytest.approx(b.mean() - a.mean(), abs=1e-9)


def test_welch_alpha_widens_the_interval():
    a, b = Summary.of([1, 2, 3, 4]), Summary.of([2, 4, 5, 7])
    e95, e99 = welch(a, b), welch(a, b, alpha=0.01)
    assert e99.ci_low < e95.ci_low < e95.ci_high < e99.ci_high
    assert e99.p_value == e95.p_value
    with pytest.raises(ValueError):
        welch(a, b, alpha=1.5)


def test_welch_degenerate_input_gives_none():
    assert welch(Summary.of([1]), Summary.of([1, 2, 3])) is None  # n < 2
    assert welch(Summary(0, 0, 0), Summary(0, 0, 0)) is None  # empty
    assert welch(Summary.of([2, 2, 2]), Summary.of([5, 5])) is None  # no variation at all
    # one group without variation is fine (df = n_b - 1)
    e = welch(Summary.of([2, 2, 2]), Summary.of([4, 6, 8]))
    assert e is not None and e.df == pytest.approx(2.0)
    # zero baseline: no relative effect
    e = welch(Summary.of([-1, 0, 1]), Summary.of([1, 2, 3]))
    assert e.rel_effect is None and e.abs_effect == 2.0


# --------------------------------------------------------------------------------------------
# Two proportions
# --------------------------------------------------------------------------------------------
def test_two_proportions_by_hand():
    # a: 40 of 200 (0.20), b: 60 of 200 (0.30); pooled 100/400 = 0.25
    e = two_proportions(40, 200, 60, 200)
    se_pooled = math.sqrt(0.25 * 0.75 * (2 / 200))  # 0.0433013
    z = 0.10 / se_pooled  # 2.3094
    assert e.test == "two_proportions" and e.df is None
    assert (e.mean_a, e.mean_b) == (0.2, 0.3)
    assert e.abs_effect == pytest.approx(0.10)
    assert e.rel_effect == pytest.approx(0.5)
    assert e.p_value == pytest.approx(2 * (1 - sps.norm.cdf(z)))
    assert e.p_value == pytest.approx(0.020921, abs=1e-6)
    se = math.sqrt(0.2 * 0.8 / 200 + 0.3 * 0.7 / 200)  # unpooled 0.0430116
    assert e.ci_low == pytest.approx(0.10 - 1.959964 * se, abs=1e-6)
    assert e.ci_high == pytest.approx(0.10 + 1.959964 * se, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(n_a=hst.integers(1, 500), n_b=hst.integers(1, 500), fa=hst.floats(0, 1), fb=hst.floats(0, 1))
def test_two_proportions_pvalue_is_the_2x2_chi_square(n_a, n_b, fa, fb):
    """The pooled z-test squared is Pearson's chi-square on the 2x2 table (no continuity correction)."""
    x_a, x_b = round(fa * n_a), round(fb * n_b)
    e = two_proportions(x_a, n_a, x_b, n_b)
    table = np.array([[x_a, n_a - x_a], [x_b, n_b - x_b]])
    if (x_a + x_b) in (0, n_a + n_b):
        assert e is None
        return
    chi2, p, _dof, _exp = sps.chi2_contingency(table, correction=False)
    assert e.p_value == pytest.approx(p, rel=1e-6, abs=1e-12)


def test_two_proportions_degenerate_and_invalid():
    assert two_proportions(0, 0, 3, 10) is None  # empty group
    assert two_proportions(0, 10, 0, 12) is None  # both 0 %
    assert two_proportions(10, 10, 12, 12) is None  # both 100 %
    e = two_proportions(0, 10, 5, 10)  # baseline 0 %: no relative effect
    assert e.rel_effect is None and e.abs_effect == 0.5
    with pytest.raises(ValueError):
        two_proportions(11, 10, 1, 10)
    with pytest.raises(ValueError):
        two_proportions(-1, 10, 1, 10)


# --------------------------------------------------------------------------------------------
# Sample ratio
# --------------------------------------------------------------------------------------------
def test_sample_ratio_by_hand_and_against_scipy():
    # 480 vs 520 planned 50/50: chi2 = (20^2)/500 * 2 = 1.6
    chi2, p, flagged = sample_ratio(480, 520)
    assert chi2 == pytest.approx(1.6)
    assert p == pytest.approx(sps.chisquare([480, 520]).pvalue)
    assert not flagged
    # 1000 vs 1200 planned 50/50 is a mismatch (chi2 = 2 * 100^2 / 1100 = 18.18, p = 2e-5)
    chi2, p, flagged = sample_ratio(1000, 1200)
    assert chi2 == pytest.approx(20000 / 1100) and p < 0.001 and flagged
    # planned 30 % treatment: 700 / 300 is exactly on plan
    assert sample_ratio(700, 300, expected_b_share=0.3) == (0.0, 1.0, False)
    ref = sps.chisquare([690, 310], f_exp=[700, 300])
    assert sample_ratio(690, 310, 0.3)[:2] == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))


def test_sample_ratio_edges():
    assert sample_ratio(0, 0) == (0.0, 1.0, False)
    with pytest.raises(ValueError):
        sample_ratio(10, 10, 1.0)
    with pytest.raises(ValueError):
        sample_ratio(-1, 10)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def _effect(mean_a, mean_b, p, test="two_proportions"):
    diff = mean_b - mean_a
    return Effect(test, 100, 100, mean_a, mean_b, diff, diff / mean_a if mean_a else None, diff - 0.1, diff + 0.1, p, None)


def test_reading_plain_language():
    assert reading(_effect(0.50, 0.56, 0.0123), "replies within 1 h") == "+12 % replies within 1 h, likely real (p = 0.01)"
    assert reading(_effect(0.50, 0.515, 0.4), "replies within 1 h") == (
        "no clear difference in replies within 1 h (+3.0 %, p = 0.40)")
    assert reading(None, "replies within 1 h") == TOO_LITTLE == "too little data to tell"
    # lower is better: a fall is good, a rise is bad
    down = _effect(5.0, 2.0, 0.0001, "welch")
    assert reading(down, "first response time", higher_is_better=False) == "-60 % first response time, likely real (p < 0.001)"
    up = _effect(2.0, 2.6, 0.004, "welch")
    assert reading(up, "first response time", higher_is_better=False) == (
        "+30 % first response time, likely real and worse (p = 0.004)")
    # zero baseline: absolute change
    assert reading(_effect(0.0, 0.05, 0.03), "repeat purchase") == "+5.0 points repeat purchase, likely real (p = 0.03)"
    assert reading(_effect(0.0, 0.29, 0.03, "welch"), "revenue per member", unit="EUR") == (
        "+0.29 EUR revenue per member, likely real (p = 0.03)")


def test_verdict():
    assert verdict(None) == "too little data"
    assert verdict(_effect(0.5, 0.6, 0.01)) == "better"
    assert verdict(_effect(0.5, 0.6, 0.01), higher_is_better=False) == "worse"
    assert verdict(_effect(0.5, 0.4, 0.01)) == "worse"
    assert verdict(_effect(0.5, 0.6, 0.05)) == "no clear difference"  # p must be < 0.05


def test_format_p():
    assert [format_p(p) for p in (0.0004, 0.0042, 0.02016, 0.4, 1.0)] == [
        "p < 0.001", "p = 0.004", "p = 0.02", "p = 0.40", "p = 1.00"]
