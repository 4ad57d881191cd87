"""The trial readouts beyond Welch: gbstats' published test cases (Bayesian, relative and
sequential tests, CUPED; growthbook/growthbook packages/stats/tests), CUPED against a direct
computation on the unit values, daily peeking on A/A data, and the detectable effect."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from metrics.stats import (
    Paired,
    Summary,
    bayesian,
    cuped,
    cuped_theta,
    mde,
    moments,
    normal_risk,
    sequential,
    t_test,
    welch,
)
from plans.trials import readout, sequential_tuning

R = 5e-6  # gbstats' cases are rounded to 5 decimals

# tests/frequentist/test_tests.py setUp: control mean 0.41 (n 3407), treatment 0.70 (n 3461)
GB_A = Summary(3407, 1396.87, 52377.9767)
GB_B = Summary(3461, 2422.7, 134698.29)


# --------------------------------------------------------------------------------------------
# gbstats: Bayesian (tests/bayesian/test_tests.py)
# --------------------------------------------------------------------------------------------
def test_gbstats_bayesian_binomial():
    m = moments(Summary(100, 49, 49), Summary(100, 51, 51), kind="proportion", relative=True)
    b = bayesian(m)
    assert b.mean == pytest.approx(0.04082, abs=R) and b.sd == pytest.approx(0.14725, abs=R)
    assert (b.ci_low, b.ci_high) == (pytest.approx(-0.24779, abs=R), pytest.approx(0.32943, abs=R))
    assert b.chance_to_win == pytest.approx(0.60918, abs=R)
    assert (b.risk_control, b.risk) == (pytest.approx(0.0814, abs=R), pytest.approx(0.04058, abs=R))


def test_gbstats_bayesian_gaussian_flat_and_informative():
    a, b = Summary(10, 100, 1002.25), Summary(10, 105, 1111.5)
    flat = bayesian(moments(a, b, relative=True))
    assert flat.mean == pytest.approx(0.05, abs=R) and flat.sd == pytest.approx(0.03572, abs=R)
    assert (flat.ci_low, flat.ci_high) == (pytest.approx(-0.02, abs=R), pytest.approx(0.12, abs=R))
    assert flat.chance_to_win == pytest.approx(0.91923, abs=R)
    assert (flat.risk_control, flat.risk) == (pytest.approx(0.05131, abs=R), pytest.approx(0.00131, abs=R))
    # GaussianPrior(mean=0.1, variance=0.1, proper=True)
    inf = bayesian(moments(a, b, relative=True), prior=(0.1, 0.1))
    assert inf.mean == pytest.approx(0.05063, abs=R) and inf.sd == pytest.approx(0.03549, abs=R)
    assert (inf.ci_low, inf.ci_high) == (pytest.approx(-0.01893, abs=R), pytest.approx(0.12019, abs=R))
    assert inf.chance_to_win == pytest.approx(0.92315, abs=R)
    assert (inf.risk_control, inf.risk) == (pytest.approx(0.05186, abs=R), pytest.approx(0.00123, abs=R))


def test_gbstats_risk_regression_and_lower_is_better():
    # TestGetRiskNumericalStability.test_normal_inputs_bit_exact_regression
    assert [round(x, 10) for x in normal_risk(0.1, 0.05)] == [0.1004245351, 0.0004245351]
    # the closed form equals the truncated-normal means (scipy) it replaces
    mu, sigma = -0.03, 0.02
    tn = sps.truncnorm
    p_neg = sps.norm.cdf(0, mu, sigma)
    pos = (1 - p_neg) * tn.mean((0 - mu) / sigma, np.inf, loc=mu, scale=sigma)
    neg = -p_neg * tn.mean(-np.inf, (0 - mu) / sigma, loc=mu, scale=sigma)
    assert normal_risk(mu, sigma) == (pytest.approx(pos), pytest.approx(neg))
    # lower is better (gbstats' inverse): winning is a negative effect, the risks swap
    m = moments(Summary(10, 105, 1111.5), Summary(10, 100, 1002.25), relative=True)
    up, down = bayesian(m), bayesian(m, higher_is_better=False)
    assert down.chance_to_win == pytest.approx(1 - up.chance_to_win)
    assert (down.risk, down.risk_control) == (up.risk_control, up.risk)


def test_missing_data_gives_none_not_a_guess():
    # gbstats answers 0 / chance 0.5 with an error message; here: no moments, "too little data"
    assert moments(Summary(0, 0, 0), Summary(0, 0, 0)) is None
    assert moments(Summary(1, 3, 9), Summary(5, 10, 30)) is None
    assert moments(Summary(3, 0, 0), Summary(3, 3, 3), kind="proportion", relative=True) is None  # baseline 0
    assert moments(Summary(3, 6, 12), Summary(3, 6, 12)) is None  # nothing varies


# --------------------------------------------------------------------------------------------
# gbstats: fixed-horizon and sequential (tests/frequentist/test_tests.py)
# --------------------------------------------------------------------------------------------
def test_gbstats_two_sided_relative_and_absolute():
    m = moments(GB_A, GB_B, relative=True)
    i = t_test(m)
    assert (m.estimate, m.se) == (pytest.approx(0.70732, abs=R), pytest.approx(0.37879, abs=R))
    assert (i.low, i.high, i.p_value) == (pytest.approx(-0.03526, abs=R), pytest.approx(1.44989, abs=R),
                                          pytest.approx(0.06191, abs=R))
    m = moments(GB_A, GB_B)
    i = t_test(m)
    assert (m.estimate, m.se) == (pytest.approx(0.29, abs=R), pytest.approx(0.12478, abs=R))
    assert (i.low, i.high, i.p_value) == (pytest.approx(0.04538, abs=R), pytest.approx(0.53462, abs=R),
                                          pytest.approx(0.02016, abs=R))
    w = welch(GB_A, GB_B)  # the same test as the existing Welch on sufficient statistics
    assert (w.ci_low, w.ci_high, w.p_value) == (pytest.approx(i.low), pytest.approx(i.high), pytest.approx(i.p_value))


def test_gbstats_two_sided_binomial_relative():
    m = moments(Summary(28, 14, 14), Summary(30, 16, 16), kind="proportion", relative=True)
    i = t_test(m)
    assert (m.estimate, m.se) == (pytest.approx((16 / 30 - 0.5) / 0.5, abs=R), pytest.approx(0.2717, abs=R))
    assert (i.low, i.high, i.p_value) == (pytest.approx(-0.47767, abs=R), pytest.approx(0.61101, abs=R),
                                          pytest.approx(0.80707, abs=R))


def test_gbstats_sequential_cases():
    a = Summary(3000, 1396.87, 52377.9767)
    # test_sequential_test_runs: tuning 1000
    m = moments(a, GB_B, relative=True)
    i = sequential(m, tuning=1000)
    assert (m.estimate, m.se) == (pytest.approx(0.50336, abs=R), pytest.approx(0.33341, abs=R))
    assert (i.low, i.high, i.p_value) == (pytest.approx(-0.55844, abs=R), pytest.approx(1.56516, abs=R), 1.0)
    # test_sequential_test_runs_prop: default tuning 5000
    m = moments(Summary(3000, 1396, 1396), Summary(3461, 2422, 2422), kind="proportion", relative=True)
    i = sequential(m)
    assert (m.estimate, m.se) == (pytest.approx(0.50386, abs=R), pytest.approx(0.03386, abs=R))
    assert (i.low, i.high) == (pytest.approx(0.40098, abs=R), pytest.approx(0.60675, abs=R))
    assert round(i.p_value, 5) == 0.0


def test_gbstats_sequential_cuped_case():
    """test_sequential_test_runs_ra: CUPED statistics (pre-period sums, sum of products 1)."""
    pa = Paired(Summary(3000, 1396.87, 52377.9767), Summary(3000, 16.87, 527.9767), 1)
    pb = Paired(GB_B, Summary(3461, 22.7, 1348.29), 1)
    m = cuped(pa, pb, relative=True)
    i = sequential(m)
    assert (m.estimate, m.se) == (pytest.approx(0.50338, abs=R), pytest.approx(0.33341, abs=R))
    assert (i.low, i.high, i.p_value) == (pytest.approx(-0.50969, abs=R), pytest.approx(1.51646, abs=R), 1.0)


def test_sequential_interval_and_p_value_agree_and_are_wider():
    """The always-valid p-value is below 5 % exactly when its interval leaves out 0, and the interval
    is wider than the fixed one (the price of peeking)."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        x, y = rng.normal(0, 1, 300), rng.normal(rng.uniform(-0.4, 0.4), 1, 300)
        m = moments(Summary.of(x), Summary.of(y))
        s, f = sequential(m, tuning=600), t_test(m)
        assert (s.p_value < 0.05) == (s.low > 0 or s.high < 0)
        assert s.high - s.low > f.high - f.low


# --------------------------------------------------------------------------------------------
# CUPED against a direct computation
# --------------------------------------------------------------------------------------------
def _community(seed: int, n: int = 2000, lift: float = 0.3):
    rng = np.random.default_rng(seed)
    habit = rng.gamma(2.0, 1.5, 2 * n)  # each member's own level: it drives both periods
    pre = rng.poisson(habit).astype(float)
    treated = np.arange(2 * n) >= n
    post = rng.poisson(habit * np.where(treated, 1 + lift, 1.0)).astype(float)
    return pre, post, treated


def test_cuped_equals_welch_on_the_adjusted_values():
    pre, post, t = _community(1)
    theta = np.polyfit(pre, post, 1)[0]  # least-squares slope over both groups
    adj = post - theta * pre
    a, b = Paired.of(post[~t], pre[~t]), Paired.of(post[t], pre[t])
    assert cuped_theta(a, b) == pytest.approx(theta)
    m = cuped(a, b)
    assert m.estimate == pytest.approx(adj[t].mean() - adj[~t].mean())
    assert m.se == pytest.approx(math.sqrt(adj[t].var(ddof=1) / t.sum() + adj[~t].var(ddof=1) / (~t).sum()))
    ref = sps.ttest_ind(adj[t], adj[~t], equal_var=False)
    assert t_test(m).p_value == pytest.approx(ref.pvalue)
    # the reduction is about the squared correlation of the periods; the plain test is much wider
    plain = moments(a.post, b.post)
    r = np.corrcoef(pre, post)[0, 1]
    assert m.variance_reduction == pytest.approx(1 - m.se ** 2 / plain.se ** 2)
    assert m.variance_reduction == pytest.approx(r * r, abs=0.05) and m.variance_reduction > 0.3


def test_cuped_agrees_with_the_regression_estimate():
    """Regressing y on 1, treatment and the centred pre-period value (ANCOVA, numpy least squares)
    gives nearly the same effect: the pooled θ differs from the within-group slope only by the
    groups' difference."""
    pre, post, t = _community(2, n=5000)
    design = np.column_stack([np.ones_like(pre), t.astype(float), pre - pre.mean()])
    coef, *_ = np.linalg.lstsq(design, post, rcond=None)
    m = cuped(Paired.of(post[~t], pre[~t]), Paired.of(post[t], pre[t]))
    assert m.estimate == pytest.approx(coef[1], abs=0.1 * m.se)


def test_cuped_relative_uses_the_plain_control_mean():
    pre, post, t = _community(3)
    a, b = Paired.of(post[~t], pre[~t]), Paired.of(post[t], pre[t])
    ab, rel = cuped(a, b), cuped(a, b, relative=True)
    assert rel.estimate == pytest.approx(ab.estimate / post[~t].mean())
    assert rel.mean_a == pytest.approx(post[~t].mean()) and rel.variance_reduction > 0.3
    # without pre-period information (all 0) CUPED changes nothing
    zero = cuped(Paired.of(post[~t], np.zeros((~t).sum())), Paired.of(post[t], np.zeros(t.sum())))
    plain = moments(a.post, b.post)
    assert (zero.estimate, zero.se, zero.theta) == (pytest.approx(plain.estimate), pytest.approx(plain.se), 0.0)


# --------------------------------------------------------------------------------------------
# Peeking every day at A/A data
# --------------------------------------------------------------------------------------------
def test_daily_peeking_on_aa_data_fixed_test_inflates_sequential_does_not():
    """1,000 A/A trials (no effect), 28 days, 15 new members a side per day with skewed (gamma)
    values, read every day. Stopping at the first p < 0.05: the fixed test declares a difference in
    far more than 5 % of the trials, the always-valid test (tuned as the trials are) in at most 5 %."""
    rng = np.random.default_rng(2026)
    sims, days, per_day = 1000, 28, 15
    values = rng.gamma(0.8, 2.0, size=(sims, 2, days * per_day))
    fixed_hits = seq_hits = last_hits = 0
    for s in range(sims):
        fixed_any = seq_any = False
        for d in range(1, days + 1):
            k = d * per_day
            a, b = Summary.of(values[s, 0, :k]), Summary.of(values[s, 1, :k])
            m = moments(a, b)
            f = t_test(m).p_value < 0.05
            fixed_any |= f
            seq_any |= sequential(m, tuning=sequential_tuning(m.n, d, days)).p_value < 0.05
            if d == days:
                last_hits += f
        fixed_hits += fixed_any
        seq_hits += seq_any
    assert 0.03 <= last_hits / sims <= 0.07  # one look at the planned end: the promised 5 %
    assert fixed_hits / sims > 0.15  # peeking daily with the fixed test
    assert seq_hits / sims <= 0.05


# --------------------------------------------------------------------------------------------
# The detectable effect
# --------------------------------------------------------------------------------------------
def test_mde_by_hand_and_its_power_by_simulation():
    a = b = Summary.from_moments(2.0, 3.0, 400)
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert mde(a, b) == pytest.approx(z * math.sqrt(2 * 9 / 400) / 2.0)
    p = Summary(400, 100, 100)  # 25 %
    assert mde(p, p, kind="proportion") == pytest.approx(z * math.sqrt(2 * 0.25 * 0.75 / 400) / 0.25)
    # a true lift of exactly the detectable effect is found about 80 times out of 100
    rng = np.random.default_rng(11)
    lift = mde(a, b) * 2.0
    found = sum(welch(Summary.of(rng.normal(2.0, 3.0, 400)), Summary.of(rng.normal(2.0 + lift, 3.0, 400))).p_value
                < 0.05 for _ in range(1000))
    assert 0.76 <= found / 1000 <= 0.84
    assert mde(Summary(1, 1, 1), b) is None and mde(Summary(10, 0, 0), b) is None


def test_readout_switches_to_the_fixed_test_at_the_planned_end():
    pre, post, t = _community(4, n=300, lift=0.1)
    a, b = Summary.of(post[~t]), Summary.of(post[t])
    early = readout(a, b, "mean", higher_is_better=True, read_early=True, days=10, planned_days=28)
    late = readout(a, b, "mean", higher_is_better=True, read_early=False, days=28, planned_days=28)
    assert early["method"] == "sequential" and early["effect"] is early["sequential"]
    assert late["method"] == "fixed" and late["effect"] is late["fixed"] and late["fixed"] == welch(a, b)
    assert early["bayes"].relative and early["bayes"].chance_to_win == pytest.approx(
        1 - sps.norm.cdf(0, *_rel(a, b)))
    paired = readout(a, b, "mean", higher_is_better=True, read_early=False, days=28, planned_days=28,
                     pairs=(Paired.of(post[~t], pre[~t]), Paired.of(post[t], pre[t])))
    assert paired["fixed"].test == "cuped" and paired["unadjusted"] == welch(a, b)
    assert paired["variance_reduction"] > 0.3
    assert paired["fixed"].ci_high - paired["fixed"].ci_low < late["fixed"].ci_high - late["fixed"].ci_low


def _rel(a: Summary, b: Summary) -> tuple[float, float]:
    m = moments(a, b, relative=True)
    return m.estimate, m.se
