"""Trials: per-unit sufficient statistics from SQL on a tiny community (values annotated), the
before/after and treatment-vs-control comparisons against scipy on the same per-unit values, the
sample-ratio check, alerts, windows, and the response-time change planted in the sample data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from metrics.participation import NEEDS_IN_REPLY_TO
from metrics.stats import Summary, two_proportions, welch
from plans.trials import BEFORE_AFTER_CAVEAT, TRIAL_METRICS, analyse, detectable, plan, summarise, windows
from tests.metric_support import insert_rows

# --------------------------------------------------------------------------------------------
# A tiny community. Gold: M1 M2 M3, Silver: M4 M5 M6 (all joined 2025). M7 joins after the trial,
# M8 churned before it, E1 is an employee: none of those three is in any member base.
# Trial: 1..10 March 2026 (10 days) -> before = 19..28 February.
# --------------------------------------------------------------------------------------------
MEMBERS = [
    ("M1", "2025-01-01", None, "Gold", False), ("M2", "2025-01-01", None, "Gold", False),
    ("M3", "2025-01-01", None, "Gold", False), ("M4", "2025-01-01", None, "Silver", False),
    ("M5", "2025-01-01", None, "Silver", False), ("M6", "2025-01-01", None, "Silver", False),
    ("M7", "2026-03-15", None, "Gold", False), ("M8", "2025-01-01", "2026-02-01", "Silver", False),
    ("E1", "2020-01-01", None, "Gold", True),
]
INTERACTIONS = [  # id, when, member, action, direction, in_reply_to
    # before: M1 1, M3 1, M4 2 activities; answerable b1 b2 b3 (b4 is a like)
    ("b1", "2026-02-20 10:00", "M1", "post", "inbound", None),
    ("r1", "2026-02-20 12:00", "M1", "reply", "outbound", "b1"),  # 2 h
    ("b2", "2026-02-25 10:00", "M3", "post", "inbound", None),
    ("r2", "2026-02-25 13:00", "M3", "reply", "outbound", "b2"),  # 3 h
    ("b3", "2026-02-26 09:00", "M4", "post", "inbound", None),  # never answered
    ("b4", "2026-02-27 09:00", "M4", "like", "inbound", None),
    # during: M1 3, M2 2, M3 1, M4 1, M6 1 activities; answerable d1 d2 d3 d4 d6 d7 d8
    ("d1", "2026-03-02 10:00", "M1", "post", "inbound", None),
    ("s1", "2026-03-02 10:30", "M1", "reply", "outbound", "d1"),  # 0.5 h
    ("s1b", "2026-03-02 18:00", "M1", "reply", "outbound", "d1"),  # a second reply: not the first
    ("d2", "2026-03-03 10:00", "M1", "comment", "inbound", None),
    ("s2", "2026-03-03 10:45", "M1", "reply", "outbound", "d2"),  # 0.75 h
    ("d3", "2026-03-04 10:00", "M1", "post", "inbound", None),
    ("s3", "2026-03-04 11:00", "M1", "reply", "outbound", "d3"),  # 1 h: still within 1 h
    ("d4", "2026-03-05 10:00", "M2", "post", "inbound", None),
    ("s4", "2026-03-05 10:15", "M2", "reply", "outbound", "d4"),  # 0.25 h
    ("d5", "2026-03-06 10:00", "M2", "like", "inbound", None),
    ("d6", "2026-03-07 10:00", "M3", "post", "inbound", None),
    ("s6", "2026-03-07 12:00", "M3", "reply", "outbound", "d6"),  # 2 h
    ("d7", "2026-03-08 10:00", "M4", "post", "inbound", None),  # never answered
    ("d8", "2026-03-09 10:00", "M6", "post", "inbound", None),
    ("s8", "2026-03-09 10:30", "M6", "reply", "outbound", "d8"),  # 0.5 h
    ("e1", "2026-03-05 11:00", "E1", "post", "inbound", None),  # employee: never counts
    ("a1", "2026-03-05 12:00", None, "post", "inbound", None),  # anonymous: never counts
    ("x1", "2026-03-19 10:00", "M7", "post", "inbound", None),  # after the trial; the data's last day
]
TRANSACTIONS = [  # member, when, amount, is_refund
    ("M1", "2026-02-20 09:00", 100.0, False), ("M1", "2026-02-22 09:00", 50.0, False),  # 2 purchase days
    ("M4", "2026-02-21 09:00", 30.0, False), ("M4", "2026-02-21 15:00", 30.0, False),  # 1 purchase day
    ("M2", "2026-02-23 09:00", -20.0, True),  # a refund: revenue, not a purchase
    ("M1", "2026-03-02 09:00", 40.0, False),
    ("M2", "2026-03-03 09:00", 60.0, False), ("M2", "2026-03-08 09:00", 10.0, False),
    ("M5", "2026-03-04 09:00", 25.0, False), ("M5", "2026-03-05 09:00", 25.0, False),
]
BEFORE = (date(2026, 2, 19), date(2026, 2, 28))
DURING = (date(2026, 3, 1), date(2026, 3, 10))
TODAY = date(2026, 3, 20)


def _load(con, *, members=True, in_reply_to=True) -> duckdb.DuckDBPyConnection:
    i = pd.DataFrame(INTERACTIONS, columns=["interaction_id", "occurred_at", "member_id", "action", "direction",
                                            "in_reply_to"])
    i["occurred_at"] = pd.to_datetime(i["occurred_at"])
    i["channel"] = "x"
    if not in_reply_to:
        i["in_reply_to"] = None
    insert_rows(con, "interactions", i)
    if members:
        m = pd.DataFrame(MEMBERS, columns=["member_id", "joined_at", "churned_at", "segment", "is_employee"])
        m["joined_at"] = pd.to_datetime(m["joined_at"])
        m["churned_at"] = pd.to_datetime(m["churned_at"])
        insert_rows(con, "members", m)
    t = pd.DataFrame(TRANSACTIONS, columns=["member_id", "occurred_at", "amount", "is_refund"])
    t["occurred_at"] = pd.to_datetime(t["occurred_at"])
    insert_rows(con, "transactions", t)
    return con


@pytest.fixture
def tiny(workspace):
    return _load(workspace)


# Per-unit values, by hand (members in the order M1..M6)
PER_MEMBER = {
    "interactions_per_member": ([1, 0, 1, 2, 0, 0], [3, 2, 1, 1, 0, 1]),
    "active_share": ([1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 0, 1]),
    "revenue_per_member": ([150, -20, 0, 60, 0, 0], [40, 70, 0, 0, 50, 0]),
}
PER_UNIT = {
    **PER_MEMBER,
    "response_within_1h": ([0, 0, 0], [1, 1, 1, 1, 0, 0, 1]),  # b1 b2 b3 | d1 d2 d3 d4 d6 d7 d8
    "first_response_hours": ([2, 3], [0.5, 0.75, 1, 0.25, 2, 0.5]),  # answered ones only
    "repeat_purchase": ([1, 0], [0, 1, 1]),  # buyers M1 M4 | M1 M2 M5
}


@pytest.mark.parametrize("metric", list(PER_UNIT))
def test_sufficient_statistics_by_hand(tiny, metric):
    before, during = PER_UNIT[metric]
    assert summarise(tiny, metric, None, *BEFORE) == Summary.of(before)
    assert summarise(tiny, metric, None, *DURING) == Summary.of(during)


def test_scopes_select_members_and_activity(tiny):
    gold, silver = {"segments": ["Gold"]}, {"segments": ["Silver"]}
    assert summarise(tiny, "interactions_per_member", gold, *DURING) == Summary.of([3, 2, 1])
    assert summarise(tiny, "interactions_per_member", silver, *DURING) == Summary.of([1, 0, 1])
    assert summarise(tiny, "revenue_per_member", silver, *DURING) == Summary.of([0, 50, 0])
    # A channel scope selects the activity, not the base: nobody was on the forum
    assert summarise(tiny, "interactions_per_member", {"channels": ["forum"]}, *DURING) == Summary.of([0] * 6)
    assert summarise(tiny, "response_within_1h", {"channels": ["forum"]}, *DURING) == Summary(0, 0, 0)


def test_without_members_the_base_is_who_took_part(make_workspace):
    con = _load(make_workspace(name="nocrm"), members=False)
    # members seen (inbound, any time up to the window end): M1 M3 M4 (Feb), M2 M6 E1 (Mar); E1 cannot be
    # told apart from a customer without the CRM; M7 comes later
    got = summarise(con, "interactions_per_member", None, *DURING)
    assert got == Summary.of([3, 2, 1, 1, 1, 1])


def test_before_after_matches_scipy_on_the_same_values(tiny):
    trial = dict(trial_id=4, goal_metric="interactions_per_member",
                 guardrail_metrics=["active_share", "response_within_1h", "first_response_hours",
                                    "repeat_purchase", "revenue_per_member"],
                 start_date=date(2026, 3, 1), end_date=date(2026, 3, 10), treatment=None, control=None)
    a = analyse(tiny, trial, today=TODAY)
    assert a.trial_id == 4
    assert a.windows == {"before_start": BEFORE[0], "before_end": BEFORE[1], "during_start": DURING[0],
                         "during_end": DURING[1], "days": 10, "end": DURING[1], "planned_days": 10}
    assert [(c.metric, c.role, c.design) for c in a.comparisons] == [
        ("interactions_per_member", "goal", "before_after"), ("participation_rate", "guardrail", "before_after"),
        ("response_within_1h", "guardrail", "before_after"), ("first_response_hours", "guardrail", "before_after"),
        ("repeat_purchase", "guardrail", "before_after"), ("revenue_per_member", "guardrail", "before_after")]
    by = {c.metric: c for c in a.comparisons}
    for metric in ("interactions_per_member", "revenue_per_member", "first_response_hours"):
        before, during = PER_UNIT[metric]
        ref = sps.ttest_ind(during, before, equal_var=False)
        e = by[metric].effect
        assert e.p_value == pytest.approx(ref.pvalue) and e.df == pytest.approx(ref.df)
        assert (e.n_a, e.n_b) == (len(before), len(during)) == (by[metric].n_a, by[metric].n_b)
    # interactions per member 4/6 -> 8/6: +100 %
    assert by["interactions_per_member"].effect.rel_effect == pytest.approx(1.0)
    # shares: active 3/6 -> 5/6, within 1 h 0/3 -> 5/7, repeat buyers 1/2 -> 2/3
    assert by["participation_rate"].effect == two_proportions(3, 6, 5, 6)
    assert by["response_within_1h"].effect == two_proportions(0, 3, 5, 7)
    assert by["repeat_purchase"].effect == two_proportions(1, 2, 2, 3)
    # first response time 2.5 h -> 0.833 h, lower is better
    frt = by["first_response_hours"]
    assert frt.effect.mean_a == 2.5 and frt.effect.mean_b == pytest.approx(5 / 6)
    # se^2 = 0.5/2 + 0.39167/6 = 0.31528, t = 1.6667 / 0.5615 = 2.968, Welch df = 1.569 -> p = 0.129:
    # two answered messages before the change are too few to be sure
    assert frt.effect.df == pytest.approx(1.569, abs=1e-3)
    assert frt.effect.p_value == pytest.approx(0.1288, abs=1e-4)
    assert (frt.verdict, frt.reading) == ("no clear difference",
                                          "no clear difference in first response time (-67 %, p = 0.13)")
    # 0/3 -> 5/7 within 1 h: z = 0.714 / sqrt(0.5 * 0.5 * (1/3 + 1/7)) = 2.07, p = 0.038
    assert by["response_within_1h"].effect.p_value == pytest.approx(0.0384, abs=1e-4)
    assert by["response_within_1h"].verdict == "better"
    assert by["response_within_1h"].reading == "+71.4 points replies within 1 h, likely real (p = 0.04)"
    assert a.srm is None and a.alerts == []
    assert a.summary.startswith("Before/after, 10 days: no clear difference in interactions per member (+100 %, p = ")
    assert a.caveat == ""  # no clear difference: nothing to attribute


def test_treatment_vs_control_and_sample_ratio(tiny):
    trial = dict(trial_id=5, goal_metric="interactions_per_member", guardrail_metrics=["response_within_1h"],
                 start_date=date(2026, 3, 1), end_date=date(2026, 3, 10),
                 treatment={"segments": ["Gold"]}, control={"segments": ["Silver"]}, planned_split=0.5)
    a = analyse(tiny, trial, today=TODAY)
    tc = [c for c in a.comparisons if c.design == "treatment_control"]
    assert [(c.metric, c.role) for c in tc] == [("interactions_per_member", "goal"), ("response_within_1h", "guardrail")]
    goal = tc[0]
    # control Silver [1, 0, 1] vs treatment Gold [3, 2, 1] during the trial
    ref = sps.ttest_ind([3, 2, 1], [1, 0, 1], equal_var=False)
    assert goal.unadjusted.p_value == pytest.approx(ref.pvalue)
    assert (goal.effect.mean_a, goal.effect.mean_b) == (pytest.approx(2 / 3), 2.0)
    # CUPED with the same members' activity before (19..28 Feb): Silver M4 M5 M6 [2, 0, 0], Gold M1 M2 M3
    # [1, 0, 1]. theta = the slope of during on before over all six; the test is Welch's on y - theta * x.
    x, y = np.array([2, 0, 0, 1, 0, 1.0]), np.array([1, 0, 1, 3, 2, 1.0])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adj = y - theta * x
    ref = sps.ttest_ind(adj[3:], adj[:3], equal_var=False)
    assert (a.method, goal.method, goal.effect.test) == ("fixed", "fixed", "cuped")  # ended: the fixed test
    assert goal.theta == pytest.approx(theta)
    assert goal.effect.abs_effect == pytest.approx(adj[3:].mean() - adj[:3].mean())
    assert goal.effect.p_value == pytest.approx(ref.pvalue)
    # the effect's variance: (var(adj Gold) + var(adj Silver)) / 3 against (1 + 1/3) / 3 without CUPED
    assert goal.variance_reduction == pytest.approx(1 - (adj[3:].var(ddof=1) + adj[:3].var(ddof=1)) / (1 + 1 / 3))
    # within 1 h: Silver d7 (no), d8 (yes) = 1/2; Gold d1 d2 d3 d4 d6 = 4/5
    assert tc[1].effect == two_proportions(1, 2, 4, 5)
    # 3 vs 3 members, planned 50/50: exactly on plan
    assert a.srm == (0.0, 1.0, False)
    assert a.summary.startswith("Treatment vs control, 10 days: ")
    assert a.caveat == ""  # a control takes care of the season
    # planned 95 % treatment: chi2 = 2.7^2/0.3 + 2.7^2/5.7 = 25.58, p < 0.001 -> flagged and an alert
    a = analyse(tiny, dict(trial, planned_split=0.95), today=TODAY)
    assert a.srm[0] == pytest.approx(2.7**2 / 0.3 + 2.7**2 / 5.7) and a.srm[2]
    assert any(alert.startswith("Sample ratio mismatch") for alert in a.alerts)


def test_alerts_when_the_goal_or_a_guardrail_gets_worse(workspace):
    # 40 members, all active twice before the trial (20 and 21 Feb); during it only 6 are (2 Mar), P0 twice
    # (also 10 Mar, the data's last day): active 40/40 -> 6/40, interactions per member 2 -> 7/40.
    members = pd.DataFrame({"member_id": [f"P{k}" for k in range(40)], "joined_at": pd.Timestamp("2025-01-01")})
    insert_rows(workspace, "members", members)
    rows = [(f"P{k}", datetime(2026, 2, 20 + d, 10)) for k in range(40) for d in (0, 1)]
    rows += [(f"P{k}", datetime(2026, 3, 2, 10)) for k in range(6)] + [("P0", datetime(2026, 3, 10, 10))]
    i = pd.DataFrame(rows, columns=["member_id", "occurred_at"]).assign(channel="forum", direction="inbound")
    insert_rows(workspace, "interactions", i)
    trial = dict(trial_id=6, goal_metric="active_share", guardrail_metrics=["interactions_per_member"],
                 start_date=date(2026, 3, 1), end_date=date(2026, 3, 10), treatment=None, control=None)
    a = analyse(workspace, trial, today=date(2026, 3, 10))
    assert [c.verdict for c in a.comparisons] == ["worse", "worse"]
    assert a.comparisons[0].effect == two_proportions(40, 40, 6, 40)
    assert a.comparisons[1].effect.abs_effect == pytest.approx(7 / 40 - 2)
    assert a.alerts == [
        "Goal 'participation rate' got worse (before/after): -85 % participation rate, likely real and worse (p < 0.001)",
        "Guardrail 'interactions per member' got worse (before/after): "
        "-91 % interactions per member, likely real and worse (p < 0.001)",
    ]
    assert a.summary.endswith("Guardrails hurt: interactions per member.")
    assert a.caveat == BEFORE_AFTER_CAVEAT  # a clear before/after difference: say it may be the season


def test_too_little_data_and_missing_in_reply_to(make_workspace):
    con = _load(make_workspace(name="noreply"), in_reply_to=False)
    trial = dict(trial_id=7, goal_metric="first_response_hours", guardrail_metrics=["response_within_1h"],
                 start_date=date(2026, 3, 1), end_date=date(2026, 3, 10), treatment={"segments": ["Gold"]},
                 control={"campaigns": ["nothing"]})
    a = analyse(con, trial, today=TODAY)
    assert {c.verdict for c in a.comparisons} == {"too little data"}
    assert {c.reading for c in a.comparisons} == {NEEDS_IN_REPLY_TO}
    assert all(c.effect is None for c in a.comparisons)
    # a control without anyone active: too little data, never an exception
    trial = dict(trial, goal_metric="first_response_hours", guardrail_metrics=[])
    a = analyse(_load(make_workspace(name="reply")), trial, today=TODAY)
    tc = [c for c in a.comparisons if c.design == "treatment_control"][0]
    assert (tc.verdict, tc.reading, tc.n_a) == ("too little data", "too little data to tell", 0)


def test_windows_follow_today_and_the_data():
    trial = dict(start_date=date(2026, 3, 1), end_date=date(2026, 3, 31))
    # running: during up to today (10 March) -> 10 days, before = 19..28 February
    assert windows(trial, date(2026, 3, 10), date(2026, 6, 1)) == {
        "before_start": date(2026, 2, 19), "before_end": date(2026, 2, 28),
        "during_start": date(2026, 3, 1), "during_end": date(2026, 3, 10), "days": 10,
        "end": date(2026, 3, 31), "planned_days": 31}
    # ended: the whole trial, 31 days
    assert windows(trial, date(2026, 5, 1), date(2026, 6, 1))["days"] == 31
    assert windows(trial, date(2026, 5, 1), date(2026, 6, 1))["before_start"] == date(2026, 1, 29)
    # the data ends on 5 March: during = 1..5 March, before = 24..28 February
    w = windows(trial, date(2026, 5, 1), date(2026, 3, 5))
    assert (w["days"], w["before_start"], w["during_end"]) == (5, date(2026, 2, 24), date(2026, 3, 5))
    # not started yet: nothing to measure, the planned windows are shown
    w = windows(trial, date(2026, 2, 1), date(2026, 6, 1))
    assert (w["days"], w["during_end"], w["before_start"]) == (0, date(2026, 3, 31), date(2026, 1, 29))


def test_a_trial_that_has_not_started(tiny):
    trial = dict(trial_id=8, goal_metric="active_share", start_date=date(2026, 4, 1), end_date=date(2026, 4, 30))
    a = analyse(tiny, trial, today=TODAY)
    assert (a.comparisons, a.srm, a.alerts) == ([], None, [])
    assert a.summary == "The trial starts on 2026-04-01: nothing to measure yet."
    a = analyse(tiny, trial, today=date(2026, 5, 10))  # started, but the data ends on 19 March
    assert a.summary == "The data ends on 2026-03-19, before the trial started: load newer exports."


def test_trial_metric_catalogue():
    """Trial metrics are registry metrics that declare their units: the page's numbers."""
    from metrics import get

    # the hand-checked ones (active_share is the old name of participation_rate) and the response rate
    assert set(TRIAL_METRICS) == {"participation_rate" if m == "active_share" else m for m in PER_UNIT} | {
        "response_rate"}
    metrics = [get(m) for m in TRIAL_METRICS]
    assert {m.kind for m in metrics} == {"mean", "proportion"}
    assert get("first_response_hours").higher_is_better is False
    assert all(m.label and m.description and m.unit and m.per_period for m in metrics)
    with pytest.raises(ValueError, match="Unknown trial metric"):
        summarise(duckdb.connect(), "participation_lorenz", None, *DURING)


def test_a_trial_window_is_one_period_of_the_page_metric(tiny):
    """A member metric's units over a window average to the page's number for that window as one
    period: the trial measures what the page shows."""
    from metrics import Computer, Filters

    window = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))
    computer = Computer(tiny)
    for name in ("participation_rate", "interactions_per_member", "response_rate", "response_within_1h",
                 "first_response_hours", "repeat_purchase", "revenue_per_member"):
        page = computer.frame(name, window, grain="month")
        units = computer.summary(name, window, grain="month")
        assert units.mean == pytest.approx(float(page["value"].iloc[0])), name


# --------------------------------------------------------------------------------------------
# The sample data: the webcare team grew on 2025-09-01 (median reply ~4 h -> ~70 min)
# --------------------------------------------------------------------------------------------
def test_the_planted_response_time_change_is_found(small_sample):
    from sample_data.generator import RESPONSE_TIME_CHANGE_DATE

    assert RESPONSE_TIME_CHANGE_DATE == date(2025, 9, 1)
    con = duckdb.connect(small_sample, read_only=True)
    try:
        trial = dict(trial_id=1, goal_metric="first_response_hours", guardrail_metrics=["response_within_1h"],
                     start_date=RESPONSE_TIME_CHANGE_DATE,
                     end_date=RESPONSE_TIME_CHANGE_DATE + timedelta(days=29), treatment=None, control=None)
        a = analyse(con, trial, today=date(2026, 11, 23))
        goal, within = a.comparisons
        assert goal.verdict == "better" and goal.effect.p_value < 0.001
        assert goal.effect.mean_b < goal.effect.mean_a / 2  # mean hours more than halved
        assert within.verdict == "better" and within.effect.p_value < 0.001
        assert a.alerts == []
        # A placebo: a trial of the same length in March 2025 (nothing changed) shows no such drop
        placebo = analyse(con, dict(trial, start_date=date(2025, 3, 1), end_date=date(2025, 3, 30)),
                          today=date(2026, 11, 23))
        assert placebo.comparisons[0].effect.rel_effect > -0.5 > goal.effect.rel_effect
    finally:
        con.close()


def test_welch_reference_for_the_tiny_response_times():
    # The hand values behind first_response_hours above: Welch on [2, 3] vs the six answered ones
    e = welch(Summary.of([2, 3]), Summary.of([0.5, 0.75, 1, 0.25, 2, 0.5]))
    ref = sps.ttest_ind([0.5, 0.75, 1, 0.25, 2, 0.5], [2, 3], equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue)


def test_read_before_the_planned_end_uses_the_always_valid_test(tiny):
    """The same trial as above but planned until 31 March: on 20 March (data until 19 March) it is read early,
    so the verdict comes from the sequential test, and the readout says whether it is still running."""
    trial = dict(trial_id=6, goal_metric="interactions_per_member", start_date=date(2026, 3, 1),
                 end_date=date(2026, 3, 31), treatment={"segments": ["Gold"]}, control={"segments": ["Silver"]})
    a = analyse(tiny, trial, today=TODAY)
    goal = next(c for c in a.comparisons if c.design == "treatment_control")
    assert (a.method, goal.method, goal.effect.test) == ("sequential", "sequential", "sequential")
    assert goal.effect is goal.sequential and goal.fixed.test == "cuped"
    assert goal.sequential.ci_high - goal.sequential.ci_low > goal.fixed.ci_high - goal.fixed.ci_low
    assert a.readout == "running" and "of 31 days (always-valid test" in a.summary
    assert "Chance that the treatment is better: " in a.summary
    assert 0.5 < goal.bayes.chance_to_win < 1  # Gold did more than Silver


def test_detectable_effect_and_the_planner(tiny):
    trial = dict(trial_id=5, goal_metric="interactions_per_member", start_date=date(2026, 3, 1),
                 end_date=date(2026, 3, 10), treatment={"segments": ["Gold"]}, control={"segments": ["Silver"]})
    a = analyse(tiny, trial, today=TODAY)
    goal = next(c for c in a.comparisons if c.design == "treatment_control")
    # Silver [1, 0, 1] (mean 2/3), Gold [3, 2, 1]: (1.96 + 0.84) * sqrt(1/3 / 3 + 1 / 3) / (2/3) ...
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    # times sqrt(1 - CUPED's variance reduction)
    assert goal.mde == pytest.approx(z * (1 / 9 + 1 / 3) ** 0.5 / (2 / 3) * (1 - goal.variance_reduction) ** 0.5)
    assert detectable(a).startswith("With 3 members in the treatment and 3 in the control, a fixed test finds a "
                                    f"change of ±{100 * goal.mde:.0f} % in interactions per member 80 times")
    # planning on the latest data (last day 19 March): 10 days = 10..19 March, only M7's x1 on 19 March
    p = plan(tiny, "interactions_per_member", {"segments": ["Gold"]}, {"segments": ["Silver"]}, 10)
    assert list(p.table["days"]) == [7, 10, 14, 21, 28, 42, 56]
    row = p.table.set_index("days").loc[28]  # 20 Feb .. 19 Mar: Gold M1 1+3, M2 2, M3 1+1 (M7 joined 15 Mar)
    assert (row["n_treatment"], row["n_control"]) == (4, 3)
    gold, silver = Summary.of([4, 2, 2, 1]), Summary.of([2 + 1, 0, 1])  # M4: b3 (26 Feb) + d7; M6: d8
    assert row["mde"] == pytest.approx(z * (gold.var / 4 + silver.var / 3) ** 0.5 / silver.mean)
    # the last 10 days: only M7's one interaction, Silver all 0 -> no baseline to compare with
    assert p.sentence == ("Too few members or no spread in interactions per member in the last 10 days to say what a "
                          "trial this long can detect.")
    p28 = plan(tiny, "interactions_per_member", {"segments": ["Gold"]}, {"segments": ["Silver"]}, 28)
    assert p28.sentence == (f"With about 4 members in the treatment and 3 in the control, a 28-day trial can detect a "
                            f"change of ±{100 * row['mde']:.0f} % in interactions per member (80 % power, 5 % "
                            "significance).")
    # with no control the comparison is the same length just before
    p = plan(tiny, "interactions_per_member", {"segments": ["Gold"]}, None, 28)
    # with no control: the 28 days before (23 Jan .. 19 Feb) have no activity, so nothing to plan on
    assert p.design == "before_after" and p.sentence.startswith("Too few members or no spread")
