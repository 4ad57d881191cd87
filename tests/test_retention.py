"""Retention and lifecycle metrics (METRICS.md, "Retention and lifecycle"; PostHog semantics).

* golden cases small enough to check by hand, expected values annotated per element;
* PostHog's semantics on small event sets derived from its documented definitions (first-time vs
  recurring cohorts, ``on`` vs ``on_or_after``, lifecycle statuses);
* the Online Retail data as transactions: the December-2010 cohort against plain pandas;
* property tests (hypothesis) against a ten-line pandas reference.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import Filters, get
from metrics.retention import mean_curve, period_trend
from tests.metric_support import compute, insert_rows, rebuild_derived
from tests.shared_data import ONLINE_RETAIL, WHERE

# ------------------------------------------------------------------------------------------------
# Loading hand-made data
# ------------------------------------------------------------------------------------------------


def load(con: duckdb.DuckDBPyConnection, interactions=(), members=(), transactions=()) -> None:
    """Replace the workspace's rows. interactions: (member_id, occurred_at[, action[, channel[,
    direction]]]); members: dicts; transactions: (member_id, occurred_at[, amount[, is_refund]])."""
    for table in ("interactions", "members", "transactions"):
        con.execute(f"DELETE FROM {table}")
    rebuild_derived(con)
    rows = []
    for i, row in enumerate(interactions):
        m, ts, action, channel, direction = (tuple(row) + (None, None, None))[:5]
        rows.append({"member_id": m, "occurred_at": pd.Timestamp(ts), "action": action or "post",
                     "channel": channel or "forum", "direction": direction or "inbound", "interaction_id": f"I{i}"})
    if rows:
        insert_rows(con, "interactions", pd.DataFrame(rows))
    if members:
        frame = pd.DataFrame(list(members))
        for col in ("joined_at", "churned_at"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col]).dt.date
        insert_rows(con, "members", frame)
    if transactions:
        trows = []
        for i, row in enumerate(transactions):
            m, ts, amount, refund = (tuple(row) + (None, None))[:4]
            trows.append({"member_id": m, "occurred_at": pd.Timestamp(ts), "amount": 10.0 if amount is None else amount,
                          "is_refund": bool(refund), "transaction_id": f"T{i}", "channel": "webshop"})
        insert_rows(con, "transactions", pd.DataFrame(trows))


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else (round(float(v), 4) if isinstance(v, float) else v) for v in frame[name].tolist()]


def dates(frame: pd.DataFrame, name: str) -> list[str]:
    return [pd.Timestamp(v).strftime("%Y-%m-%d") for v in frame[name]]


# Five members over four months (data ends 2024-04-10, so April is partial):
#   A: Jan 5 post, Feb 10 like, Apr 1 post     B: Jan 20 like, Mar 3 post
#   C: Feb 1 post, Feb 28 post                 D: Mar 15 like, Apr 10 like
#   E: Jan 2 post
# Noise that must never count: an outbound reply, an anonymous message, an employee (X).
GOLDEN = [
    ("A", "2024-01-05 10:00", "post"), ("A", "2024-02-10 10:00", "like"), ("A", "2024-04-01 00:00", "post"),
    ("B", "2024-01-20 10:00", "like"), ("B", "2024-03-03 10:00", "post"),
    ("C", "2024-02-01 09:00", "post"), ("C", "2024-02-28 09:00", "post"),
    ("D", "2024-03-15 09:00", "like"), ("D", "2024-04-10 09:00", "like"),
    ("E", "2024-01-02 09:00", "post"),
    ("C", "2024-03-05 09:00", "reply", "forum", "outbound"),
    (None, "2024-03-05 09:00", "post"),
    ("X", "2024-02-05 09:00", "post"), ("X", "2024-03-05 09:00", "post"),
]
GOLDEN_MEMBERS = [
    {"member_id": "A", "joined_at": "2023-12-01", "churned_at": None, "segment": "gold", "is_employee": False},
    {"member_id": "B", "joined_at": "2024-01-10", "churned_at": "2024-03-20", "segment": "blue", "is_employee": False},
    {"member_id": "Z", "joined_at": "2024-02-10", "churned_at": None, "segment": "blue", "is_employee": False},
    {"member_id": "X", "joined_at": "2020-01-01", "churned_at": None, "segment": "staff", "is_employee": True},
]


@pytest.fixture
def golden(workspace):
    load(workspace, GOLDEN, GOLDEN_MEMBERS)
    return workspace


# ------------------------------------------------------------------------------------------------
# Golden cases
# ------------------------------------------------------------------------------------------------


def test_retention_first_time_on_monthly(golden):
    t = compute(golden, "retention")
    assert list(t.columns) == ["cohort", "cohort_size", "period_offset", "retained", "retention_rate", "is_partial"]
    assert dates(t, "cohort") == ["2024-01-01"] * 4 + ["2024-02-01"] * 3 + ["2024-03-01"] * 2 + ["2024-04-01"]
    assert column(t, "period_offset") == [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
    # Jan cohort {A, B, E}: Feb A; Mar B; Apr A.  Feb {C}: nobody.  Mar {D}: Apr D.  Apr: empty.
    assert column(t, "cohort_size") == [3, 3, 3, 3, 1, 1, 1, 1, 1, 0]
    assert column(t, "retained") == [3, 1, 1, 1, 1, 0, 0, 1, 1, 0]
    assert column(t, "retention_rate") == [1.0, 0.3333, 0.3333, 0.3333, 1.0, 0.0, 0.0, 1.0, 1.0, None]
    # April has not ended on 2024-04-10 (the data's last date).
    assert column(t, "is_partial") == [False, False, False, True, False, False, True, False, True, True]


def test_retention_on_or_after(golden):
    t = compute(golden, "retention", window="on_or_after")
    # Jan {A (last Apr), B (last Mar), E}: k1 A,B; k2 A,B; k3 A.  Feb {C}: 0.  Mar {D}: Apr.
    assert column(t, "retained") == [3, 2, 2, 1, 1, 0, 0, 1, 1, 0]


def test_retention_recurring(golden):
    t = compute(golden, "retention", mode="recurring")
    # Every active period starts a cohort row: Jan {A,B,E}, Feb {A,C}, Mar {B,D}, Apr {A,D}.
    assert column(t, "cohort_size") == [3, 3, 3, 3, 2, 2, 2, 2, 2, 2]
    # Jan: Feb A; Mar B; Apr A.  Feb: Mar nobody (B, D are not in it); Apr A.  Mar: Apr D.
    assert column(t, "retained") == [3, 1, 1, 1, 2, 0, 1, 2, 1, 2]


def test_retention_cohort_by_joined_at(golden):
    t = compute(golden, "retention", cohort_by="joined_at")
    # A joined before the data starts (not shown); B joined Jan 10; Z joined Feb 10 and was never
    # active (still in the cohort); C, D, E are not in the CRM: their first activity is used.
    # Jan {B, E}: Mar B.  Feb {Z, C}: nobody.  Mar {D}: Apr D.
    assert column(t, "cohort_size") == [2, 2, 2, 2, 2, 2, 2, 1, 1, 0]
    assert column(t, "retained") == [2, 0, 1, 0, 2, 0, 0, 1, 1, 0]


def test_retention_start_and_return_actions(golden):
    t = compute(golden, "retention", start_action="post", return_action="post")
    # First post: A Jan, E Jan, C Feb, B Mar (D never posts). Returns by a post only:
    # Jan {A, E}: A's Feb like does not count; Apr post does (k3).  Feb {C}: none.  Mar {B}: none.
    assert column(t, "cohort_size") == [2, 2, 2, 2, 1, 1, 1, 1, 1, 0]
    assert column(t, "retained") == [2, 0, 0, 1, 1, 0, 0, 1, 0, 0]
    # Cohort by a first post, any action counts as a return: Jan {A, E}: Feb A (like), Apr A.
    t = compute(golden, "retention", start_action="post")
    assert column(t, "retained") == [2, 1, 0, 1, 1, 0, 0, 1, 0, 0]


def test_retention_weekly_and_daily_grain(golden):
    t = compute(golden, "retention", grain="week", periods=2)
    first = t[t["cohort"] == pd.Timestamp("2024-01-01")]  # ISO week starting Monday Jan 1: {E, A}
    assert column(first, "cohort_size") == [2, 2, 2] and column(first, "retained") == [2, 0, 0]
    feb26 = t[t["cohort"] == pd.Timestamp("2024-02-26")]  # B's first post (Sun Mar 3) is in week Feb 26
    assert column(feb26, "cohort_size") == [0, 0, 0]  # ... but B's first activity was Jan 20
    d = compute(golden, "retention", grain="day", periods=1)
    assert dates(d, "cohort")[0] == "2024-01-02" and d["cohort"].nunique() == 100  # Jan 2 .. Apr 10
    assert d.loc[d["cohort"] == pd.Timestamp("2024-04-10"), "is_partial"].tolist() == [False]


def test_mean_curve_and_trend(golden):
    curve = compute(golden, "retention_curve", periods=3)
    assert list(curve.columns) == ["period_offset", "cohorts", "cohort_size", "retained", "retention_rate"]
    # k0: complete cohorts Jan, Feb, Mar (3+1+1); k1: Jan, Feb (Mar's k1 = April is partial);
    # k2: Jan only; k3: none complete.
    assert column(curve, "cohorts") == [3, 2, 1, 0]
    assert column(curve, "cohort_size") == [5, 4, 3, 0]
    assert column(curve, "retained") == [5, 1, 1, 0]
    assert column(curve, "retention_rate") == [1.0, 0.25, 0.3333, None]
    trend = compute(golden, "retention_trend", offset=1)
    assert list(trend.columns)[:2] == ["period", "value"]
    assert column(trend, "value") == [0.3333, 0.0, 1.0, None]
    assert column(trend, "is_partial") == [False, False, True, True]
    assert get("retention_trend").per_period and not get("retention").per_period


def test_breakdown_by_segment_and_channel(golden):
    b = compute(golden, "retention_breakdown", by="segment", periods=2)
    seg = {k: g for k, g in b.groupby("breakdown")}
    assert sorted(seg) == ["(none)", "blue", "gold"]
    assert column(seg["gold"], "retained") == [1, 1, 0]      # A: Feb yes, Mar no
    assert column(seg["blue"], "retained") == [1, 0, 1]      # B: Feb no, Mar yes
    assert column(seg["(none)"], "cohort_size") == [3, 2, 1]  # E (Jan), C (Feb), D (Mar); k1 Mar's is partial
    c = compute(golden, "retention_breakdown", by="channel", periods=2)
    assert c["breakdown"].unique().tolist() == ["forum"]
    # Segment groups partition the members: their sums give the overall curve.
    total = b.groupby("period_offset")[["cohort_size", "retained"]].sum()
    overall = compute(golden, "retention_curve", periods=2).set_index("period_offset")
    assert total["retained"].tolist() == overall["retained"].tolist()


def test_growth_accounting_lifecycle_and_churn(golden):
    g = compute(golden, "growth_accounting")
    assert dates(g, "period") == ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
    # Jan: A, B, E new.  Feb: C new, A returning; B, E dormant.  Mar: D new, B resurrecting;
    # A, C dormant.  Apr: D returning, A resurrecting; B dormant.
    assert column(g, "active") == [3, 2, 2, 2]
    assert column(g, "new") == [3, 1, 1, 0]
    assert column(g, "returning") == [0, 1, 0, 1]
    assert column(g, "resurrecting") == [0, 0, 1, 1]
    assert column(g, "dormant") == [0, -2, -2, -1]
    assert column(g, "active_previous") == [0, 3, 2, 2]
    assert column(g, "quick_ratio") == [None, 0.5, 1.0, 1.0]        # (new + resurrecting) / dormant
    assert column(g, "activity_churn") == [None, 0.6667, 1.0, 0.5]  # dormant / active the month before
    life = compute(golden, "lifecycle")
    assert list(life.columns) == ["period", "new", "returning", "resurrecting", "dormant"]
    churn = compute(golden, "activity_churn")
    assert list(churn.columns)[:2] == ["period", "value"] and column(churn, "churned") == [0, 2, 2, 1]
    assert column(compute(golden, "quick_ratio"), "value") == [None, 0.5, 1.0, 1.0]


def test_lifecycle_weekly(golden):
    life = compute(golden, "lifecycle", grain="week")
    by_week = {d: row for d, row in zip(dates(life, "period"), life.itertuples(), strict=True)}
    assert (by_week["2024-01-01"].new, by_week["2024-01-08"].dormant) == (2, -2)         # E, A then gone
    assert (by_week["2024-02-05"].resurrecting, by_week["2024-02-05"].dormant) == (1, -1)  # A back, C gone
    assert by_week["2024-02-26"].resurrecting == 2                                       # C (Feb 28), B (Sun Mar 3)
    assert (by_week["2024-04-08"].resurrecting, by_week["2024-04-08"].dormant) == (1, -1)  # D back, A gone


def test_contractual_churn(golden):
    c = compute(golden, "contractual_churn")
    assert list(c.columns) == ["period", "value", "churned", "community_start", "is_partial"]
    # Community at the start of the month: Jan {A}; Feb {A, B}; Mar {A, B, Z}; Apr {A, Z}
    # (B churned Mar 20; the employee X never counts; C, D, E are not in the CRM).
    assert column(c, "community_start") == [1, 2, 3, 2]
    assert column(c, "churned") == [0, 0, 1, 0]
    assert column(c, "value") == [0.0, 0.0, 0.3333, 0.0]


def test_contractual_churn_joined_at_missing_uses_first_activity(workspace):
    load(workspace, [("A", "2024-02-15 10:00"), ("B", "2024-01-03 10:00"), ("B", "2024-03-30 10:00")],
         [{"member_id": "A", "joined_at": None, "churned_at": "2024-03-10", "segment": None, "is_employee": False},
          {"member_id": "B", "joined_at": "2024-01-02", "churned_at": None, "segment": None, "is_employee": False},
          {"member_id": "N", "joined_at": None, "churned_at": None, "segment": None, "is_employee": False}])
    c = compute(workspace, "contractual_churn")
    # A joins Feb 15 (first activity), churns Mar 10.  N (no date, never active) counts from the start.
    assert column(c, "community_start") == [1, 2, 3]   # Jan {N}; Feb {N, B}; Mar {N, B, A}
    assert column(c, "churned") == [0, 0, 1]


def test_drifting_and_inactive_members(golden):
    d = compute(golden, "drifting_members", drifting_days=30, inactive_days=60)
    # As of 2024-04-10: B last Mar 3 (38 days), C Feb 28 (42), E Jan 2 (99); A (9) and D (0) are active.
    assert d["member_id"].tolist() == ["B", "C", "E"]
    assert d["status"].tolist() == ["drifting", "drifting", "inactive"]
    assert d["days_since"].tolist() == [38, 42, 99]
    assert d.loc[0, "segment"] == "blue" and pd.Timestamp(d.loc[0, "churned_at"]) == pd.Timestamp("2024-03-20")
    assert d["in_crm"].tolist() == [True, False, False]  # C and E are handles without a CRM record
    only = compute(golden, "drifting_members", drifting_days=30, inactive_days=60, status="inactive")
    assert only["member_id"].tolist() == ["E"]
    # Defaults 90 / 180 days: E (99 days) is drifting.
    assert compute(golden, "drifting_members")["member_id"].tolist() == ["E"]
    # The as-of date follows the date filter's end: on 2024-02-15, B (Jan 20) and E (Jan 2) are 26 and 44 days away.
    early = compute(golden, "drifting_members", Filters(end=date(2024, 2, 15)), drifting_days=20, inactive_days=40)
    assert list(zip(early["member_id"], early["status"], strict=True)) == [("B", "drifting"), ("E", "inactive")]


def test_date_filter_uses_first_ever_activity(golden):
    # From March on: B's Mar 3 post is not new (B first came in January), so March's cohort is {D}.
    f = Filters(start=date(2024, 3, 1))
    t = compute(golden, "retention", f)
    assert dates(t, "cohort") == ["2024-03-01", "2024-03-01", "2024-04-01"]
    assert column(t, "cohort_size") == [1, 1, 0]
    g = compute(golden, "growth_accounting", f)
    # March: D new, B resurrecting, dormant A and C (active in February, before the range).
    assert column(g, "new") == [1, 0] and column(g, "resurrecting") == [1, 1] and column(g, "dormant") == [-2, -1]
    # A filter end makes that date the as-of date: February is complete, nothing after it shows.
    t = compute(golden, "retention", Filters(end=date(2024, 2, 29)))
    assert dates(t, "cohort") == ["2024-01-01", "2024-01-01", "2024-02-01"]
    assert column(t, "is_partial") == [False, False, False]
    t = compute(golden, "retention", Filters(end=date(2024, 2, 20)))
    assert column(t, "is_partial") == [False, True, True]


def test_channel_and_segment_filters(golden):
    load(golden, GOLDEN + [("A", "2024-03-09 10:00", "like", "x"), ("F", "2024-03-09 10:00", "like", "x")],
         GOLDEN_MEMBERS)
    t = compute(golden, "retention", Filters(channels=("x",)))
    # On x only: A and F first appear in March; neither comes back in April. January and February
    # (the range starts with the data) are empty cohorts, shown as such.
    assert column(t, "cohort_size") == [0, 0, 0, 0, 0, 0, 0, 2, 2, 0]
    assert column(t, "retained") == [0, 0, 0, 0, 0, 0, 0, 2, 0, 0]
    s = compute(golden, "retention", Filters(segments=("blue",)))
    assert column(s, "cohort_size") == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]  # only B (Jan)
    assert column(s, "retained") == [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]


def test_repeat_purchase_retention_from_transactions(workspace):
    load(workspace, [], [{"member_id": "P", "joined_at": None, "churned_at": None, "segment": None,
                          "is_employee": False}],
         [("P", "2024-01-03 10:00"), ("P", "2024-02-03 10:00", -10.0, True), ("P", "2024-03-03 10:00"),
          ("Q", "2024-01-13 10:00"), ("Q", "2024-02-13 10:00")])
    t = compute(workspace, "retention", activity="transactions", periods=2)
    # Jan {P, Q}: February only Q (P's February line is a refund); March P.
    assert column(t, "cohort_size")[:3] == [2, 2, 2] and column(t, "retained")[:3] == [2, 1, 1]
    g = compute(workspace, "growth_accounting", activity="transactions")
    assert column(g, "new") == [2, 0, 0] and column(g, "resurrecting") == [0, 0, 1]


def test_empty_workspace_gives_empty_frames(workspace):
    for name in ("retention", "retention_curve", "retention_trend", "retention_breakdown", "growth_accounting",
                 "lifecycle", "activity_churn", "quick_ratio", "contractual_churn", "drifting_members"):
        frame = compute(workspace, name)
        assert isinstance(frame, pd.DataFrame), name
        assert frame.empty or name == "retention_curve", (name, frame)
    assert compute(workspace, "retention_curve")["retention_rate"].isna().all()


@pytest.mark.parametrize("options, message", [
    ({"grain": "year"}, "grain must be one of"),
    ({"mode": "rolling"}, "mode must be one of"),
    ({"window": "after"}, "window must be one of"),
    ({"cohort_by": "signup"}, "cohort_by must be one of"),
    ({"activity": "orders"}, "activity must be one of"),
    ({"periods": 0}, "periods must be between"),
    ({"periods": "12; DROP TABLE members"}, "periods must be a whole number"),
    ({"start_action": "hack'); --"}, "no inbound action"),
    ({"mode": "recurring", "cohort_by": "joined_at"}, "works with mode=first_time"),
    ({"activity": "transactions", "return_action": "post"}, "apply to interactions"),
    ({"colour": "red"}, "has no option"),
])
def test_options_are_validated(golden, options, message):
    with pytest.raises(ValueError, match=message):
        compute(golden, "retention", **options)


def test_drifting_thresholds_validated(golden):
    with pytest.raises(ValueError, match="must not exceed"):
        compute(golden, "drifting_members", drifting_days=200, inactive_days=100)
    with pytest.raises(ValueError, match="status must be one of"):
        compute(golden, "drifting_members", status="gone")


def test_cli_compute_with_options(golden, tmp_path, capsys):
    from cli import main

    path = golden.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    golden.close()
    code = main(["compute", "retention", "--workspace", path, "--grain", "month", "--option", "mode=recurring",
                 "--option", "window=on_or_after", "--option", "periods=2", "--format", "json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["retained"] for r in rows[:3]] == [3, 2, 2]  # Jan {A,B,E}: A (Feb, Apr), B (Mar)
    assert main(["compute", "lifecycle", "--workspace", path, "--grain", "week", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("period,new,returning,resurrecting,dormant")
    assert main(["compute", "retention_trend", "--workspace", path, "--option", "offset=2", "--format", "json"]) == 0
    values = [r["value"] for r in json.loads(capsys.readouterr().out)]
    assert values[:2] == pytest.approx([1 / 3, 0.0])  # Jan {A, B, E}: B in March; Feb {C}: nobody in April
    assert main(["compute", "retention", "--workspace", path, "--option", "mode=nope"]) == 2


def test_retention_inputs(golden):
    from metrics.retention import retention_inputs

    info = retention_inputs(golden)
    # Inbound actions only (the outbound reply is ours); X is an employee and does not count as a member.
    assert info == {"actions": ["like", "post"], "members": 3, "joined_at": 3, "churned_at": 1, "transactions": 0}


# ------------------------------------------------------------------------------------------------
# PostHog semantics, on event sets derived from the documented definitions
# ------------------------------------------------------------------------------------------------


def test_posthog_first_time_vs_recurring_daily(workspace):
    # Daily events (PostHog's test style: user -> days with an event), 2024-06-01 = day 0.
    #   u1: days 0, 1, 3    u2: days 1, 2    u3: days 2, 3
    days = {"u1": [0, 1, 3], "u2": [1, 2], "u3": [2, 3]}
    load(workspace, [(u, pd.Timestamp("2024-06-01 12:00") + pd.Timedelta(days=d)) for u, ds in days.items() for d in ds])
    first = compute(workspace, "retention", grain="day", periods=3)
    matrix = first.pivot(index="cohort", columns="period_offset", values="retained")
    # First time: each user counted once, in the day of their first event.
    assert matrix.fillna(-1).astype(int).values.tolist() == [
        [1, 1, 0, 1],     # day 0 {u1}: day 1 u1, day 2 -, day 3 u1
        [1, 1, 0, -1],    # day 1 {u2}: day 2 u2, day 3 -   (-1: offsets past the last day are not shown)
        [1, 1, -1, -1],   # day 2 {u3}: day 3 u3
        [0, -1, -1, -1],  # day 3: nobody new
    ]
    recurring = compute(workspace, "retention", grain="day", periods=3, mode="recurring")
    matrix = recurring.pivot(index="cohort", columns="period_offset", values="retained")
    # Recurring: every user active on a day is in that day's cohort.
    assert matrix.fillna(-1).astype(int).values.tolist() == [
        [1, 1, 0, 1],     # day 0 {u1}
        [2, 1, 1, -1],    # day 1 {u1, u2}: day 2 u2; day 3 u1
        [2, 1, -1, -1],   # day 2 {u2, u3}: day 3 u3
        [2, -1, -1, -1],  # day 3 {u1, u3}
    ]


def test_posthog_on_vs_on_or_after(workspace):
    # u1 comes back only in week 3, u2 in weeks 1 and 2; u3 never. All start in week 0 (2024-06-03).
    w0 = pd.Timestamp("2024-06-03 09:00")
    events = [("u1", w0), ("u2", w0), ("u3", w0), ("u2", w0 + pd.Timedelta(weeks=1)),
              ("u2", w0 + pd.Timedelta(weeks=2)), ("u1", w0 + pd.Timedelta(weeks=3))]
    load(workspace, events)
    on = compute(workspace, "retention", grain="week", periods=3)
    after = compute(workspace, "retention", grain="week", periods=3, window="on_or_after")
    # "on": active in exactly week k.  "on or after": active in week k or any later week.
    assert column(on[on["cohort"] == w0.normalize()], "retained") == [3, 1, 1, 1]      # u2, u2, u1
    assert column(after[after["cohort"] == w0.normalize()], "retained") == [3, 2, 2, 1]  # {u1,u2},{u1,u2},{u1}


def test_posthog_lifecycle_statuses(workspace):
    # Days 0..4 from 2024-06-01.  p1: 0,1,3   p2: 1,2,3,4   p3: 4   p4: 0 (then gone)
    d0 = pd.Timestamp("2024-06-01 08:00")
    days = {"p1": [0, 1, 3], "p2": [1, 2, 3, 4], "p3": [4], "p4": [0]}
    load(workspace, [(p, d0 + pd.Timedelta(days=d)) for p, ds in days.items() for d in ds])
    life = compute(workspace, "lifecycle", grain="day")
    assert column(life, "new") == [2, 1, 0, 0, 1]            # p1,p4 | p2 | - | - | p3
    assert column(life, "returning") == [0, 1, 1, 1, 1]      # - | p1 | p2 | p2 | p2
    assert column(life, "resurrecting") == [0, 0, 0, 1, 0]   # day 3: p1 (absent day 2)
    assert column(life, "dormant") == [0, -1, -1, 0, -1]     # p4 | p1 | - | p1


# ------------------------------------------------------------------------------------------------
# Online Retail (UCI 352) as transactions: the December-2010 cohort against plain pandas
# ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason=WHERE)
def test_online_retail_december_2010_cohort(workspace):
    """Filter choice (documented): lines without CustomerID are dropped (no customer to follow);
    cancellations (InvoiceNo starting with "C", negative quantities) are loaded as refunds and the
    metric leaves them out, as it does every refund. CustomerID 17850.0 becomes member "17850";
    amount = Quantity x UnitPrice. Zero-price lines of real invoices stay (an order is an order)."""
    # a workspace connection reads no file outside the staging root (datastore.staging): hand it a frame
    workspace.register("retail", pd.read_parquet(ONLINE_RETAIL))
    workspace.execute("""
        INSERT INTO transactions (member_id, occurred_at, amount, quantity, unit_price, order_id, product,
                                  is_refund, import_id, row_hash)
        SELECT CAST(CAST(CustomerID AS BIGINT) AS VARCHAR), InvoiceDate, Quantity * UnitPrice, Quantity,
               UnitPrice, InvoiceNo, StockCode, starts_with(InvoiceNo, 'C'), 1, 0
        FROM retail WHERE CustomerID IS NOT NULL""")
    t = compute(workspace, "retention", activity="transactions", grain="month", periods=12)
    dec = t[t["cohort"] == pd.Timestamp("2010-12-01")]

    # The plain pandas computation.
    df = pd.read_parquet(ONLINE_RETAIL, columns=["InvoiceNo", "InvoiceDate", "CustomerID"])
    df = df[df["CustomerID"].notna() & ~df["InvoiceNo"].str.startswith("C")]
    df = df.assign(month=df["InvoiceDate"].dt.to_period("M"))
    first = df.groupby("CustomerID")["month"].min()
    cohort = first[first == pd.Period("2010-12", "M")].index
    active = df[df["CustomerID"].isin(cohort)].groupby("month")["CustomerID"].nunique()
    expected = [int(active.get(pd.Period("2010-12", "M") + k, 0)) for k in range(13)]

    assert expected[:3] == [885, 324, 286]  # the figures careful analysts publish for this dataset
    assert dec["retained"].tolist() == expected
    assert dec["cohort_size"].unique().tolist() == [885]
    assert np.allclose(dec["retention_rate"], np.array(expected) / 885)
    assert dec["is_partial"].tolist() == [False] * 12 + [True]  # the data ends 2011-12-09


# ------------------------------------------------------------------------------------------------
# Properties (hypothesis) and a ten-line pandas reference
# ------------------------------------------------------------------------------------------------


def ref_retention(events: pd.DataFrame, window: str, periods: int, last_p: int) -> dict:
    """{(cohort month index, k): retained}: first-time monthly cohorts, by plain pandas."""
    p = events["ts"].dt.year * 12 + events["ts"].dt.month - 1
    e = pd.DataFrame({"m": events["m"], "p": p}).drop_duplicates()
    e["c"] = e.groupby("m")["p"].transform("min")
    e["k"] = e["p"] - e["c"]
    if window == "on_or_after":
        e = e.groupby(["m", "c"])["k"].max().reset_index()
        return {(c, k): int(((e["c"] == c) & (e["k"] >= k)).sum()) if k else int((e["c"] == c).sum())
                for c in range(e["c"].min(), last_p + 1) for k in range(periods + 1) if c + k <= last_p}
    counts = e.groupby(["c", "k"]).size()
    return {(c, k): int(counts.get((c, k), 0)) for c in range(e["c"].min(), last_p + 1)
            for k in range(periods + 1) if c + k <= last_p}


def ref_lifecycle(events: pd.DataFrame) -> pd.DataFrame:
    p = events["ts"].dt.year * 12 + events["ts"].dt.month - 1
    act = set(zip(events["m"], p, strict=True))
    first = pd.Series(p.values, index=events["m"].values).groupby(level=0).min()
    out = []
    for t in range(p.min(), p.max() + 1):
        now = {m for m, q in act if q == t}
        before = {m for m, q in act if q == t - 1}
        new = {m for m in now if first[m] == t}
        out.append((len(new), len(now & before), len(now - before - new), -len(before - now), len(now)))
    return pd.DataFrame(out, columns=["new", "returning", "resurrecting", "dormant", "active"])


EVENTS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]),
              st.integers(min_value=0, max_value=7 * 31),   # day offset from 2024-01-01
              st.integers(min_value=0, max_value=23)),
    min_size=1, max_size=40)


def _frame(events) -> pd.DataFrame:
    ts = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=d, hours=h) for _, d, h in events]
    return pd.DataFrame({"m": [m for m, _, _ in events], "ts": ts})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, periods=st.integers(min_value=1, max_value=8))
def test_property_retention(workspace, events, periods):
    load(workspace, [(m, ts) for m, ts in _frame(events).itertuples(index=False)])
    on = compute(workspace, "retention", periods=periods)
    after = compute(workspace, "retention", periods=periods, window="on_or_after")
    sized = on[on["cohort_size"] > 0]
    assert (sized.loc[sized["period_offset"] == 0, "retention_rate"] == 1.0).all()   # offset 0 = 100 %
    assert (on["retained"] <= on["cohort_size"]).all() and (after["retained"] <= after["cohort_size"]).all()
    assert (after["retained"].to_numpy() >= on["retained"].to_numpy()).all()          # on_or_after >= on
    assert on["retention_rate"].dropna().between(0, 1).all()
    frame = _frame(events)
    last_p = int(frame["ts"].max().year * 12 + frame["ts"].max().month - 1)
    for window, table in (("on", on), ("on_or_after", after)):
        got = {(int(c.year * 12 + c.month - 1), int(k)): int(r)
               for c, k, r in zip(table["cohort"], table["period_offset"], table["retained"], strict=True)}
        assert got == ref_retention(frame, window, periods, last_p)
    curve = mean_curve(on, periods)
    assert curve["retention_rate"].dropna().between(0, 1).all() and len(curve) == periods + 1
    trend = period_trend(on, 1)
    assert len(trend) == on["cohort"].nunique()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, start_month=st.integers(min_value=2, max_value=7))
def test_property_lifecycle(workspace, events, start_month):
    load(workspace, [(m, ts) for m, ts in _frame(events).itertuples(index=False)])
    g = compute(workspace, "growth_accounting")
    assert (g["new"] + g["returning"] + g["resurrecting"] == g["active"]).all()   # growth accounting
    assert (g["dormant"] <= 0).all() and (g["returning"] - g["dormant"] == g["active_previous"]).all()
    ref = ref_lifecycle(_frame(events))
    assert g[["new", "returning", "resurrecting", "dormant", "active"]].to_numpy().tolist() == ref.to_numpy().tolist()
    # A date filter from the first of a month only cuts periods off: statuses and cohorts keep
    # looking back at first-ever activity.
    f = Filters(start=date(2024, start_month, 1))
    later = compute(workspace, "growth_accounting", f).set_index("period")
    full = g.set_index("period").loc[later.index]
    assert later.drop(columns="is_partial").equals(full.drop(columns="is_partial"))
    cut = compute(workspace, "retention", f)
    whole = compute(workspace, "retention")
    whole = whole[whole["cohort"] >= pd.Timestamp(f.start)].reset_index(drop=True)
    assert cut.equals(whole)


def test_call_list_through_arrow_equals_the_plain_conversion(golden):
    """drifting_members converts its (possibly long) result through Arrow: the same values and
    dtypes as DuckDB's own .df(), except that a text column stays text when it is all NULL or the
    result is empty (.df() gives object there)."""
    from metrics import Filters
    from metrics.source import Source

    src = Source(golden, Filters())

    def _run_arrow(_con, sql, params):
        return src.arrow_df(sql, **params)

    def _run(_con, sql, params):
        return src.run(sql, **params)

    sql = """SELECT * FROM (VALUES ('A', NULL, DATE '2024-01-02', TIMESTAMP '2024-01-02 10:00', 3::BIGINT, TRUE),
                                   ('B', 'Bo', NULL, NULL, 0::BIGINT, FALSE))
             t(member_id, name, last_activity, last_ts, activities, in_crm) WHERE $keep OR member_id = 'A'"""
    both = _run_arrow(golden, sql, {"keep": True})
    pd.testing.assert_frame_equal(both, _run(golden, sql, {"keep": True}))
    assert str(both["last_activity"].dtype) == "datetime64[us]" and str(both["last_ts"].dtype) == "datetime64[us]"
    only_a = _run_arrow(golden, sql, {"keep": False})  # name all NULL
    pd.testing.assert_frame_equal(only_a, both.iloc[:1])  # .df() would give an object column of None here
    empty = _run_arrow(golden, f"SELECT * FROM ({sql}) WHERE FALSE", {"keep": True})
    assert empty.empty and empty.dtypes.equals(both.dtypes)
