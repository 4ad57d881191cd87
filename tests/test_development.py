"""Customer development metrics (METRICS.md, "Customer development"): golden cases solvable by hand
for the engagement ladder, customer stages, value development, participation vs value and
referrals; property tests on random data (migration rows sum to the level sizes, rates in [0, 1]).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import Filters
from metrics.development import LEVELS, STAGES, clv_result, development_states, ladder_params
from tests.metric_support import compute, insert_rows


# ------------------------------------------------------------------------------------------------
# Loading hand-made data
# ------------------------------------------------------------------------------------------------
def load(con: duckdb.DuckDBPyConnection, interactions=(), members=(), transactions=()) -> None:
    """Replace the rows. interactions: (member_id, day, action='post', direction='inbound');
    members: dicts; transactions: (member_id, day, amount, is_refund=False)."""
    for table in ("interactions", "members", "transactions"):
        con.execute(f"DELETE FROM {table}")
    if interactions:
        rows = [{"member_id": r[0], "occurred_at": pd.Timestamp(r[1]) + pd.Timedelta(hours=12),
                 "action": r[2] if len(r) > 2 else "post", "direction": r[3] if len(r) > 3 else "inbound",
                 "channel": "forum", "interaction_id": f"I{i}"} for i, r in enumerate(interactions)]
        insert_rows(con, "interactions", pd.DataFrame(rows))
    if members:
        frame = pd.DataFrame(list(members))
        for col in ("joined_at", "churned_at"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col]).dt.date
        insert_rows(con, "members", frame)
    if transactions:
        rows = [{"member_id": r[0], "occurred_at": pd.Timestamp(r[1]) + pd.Timedelta(hours=9, minutes=i),
                 "amount": r[2], "is_refund": bool(r[3]) if len(r) > 3 else False, "transaction_id": f"T{i}"}
                for i, r in enumerate(transactions)]
        insert_rows(con, "transactions", pd.DataFrame(rows))


def days(start: str, n: int) -> list[str]:
    d0 = date.fromisoformat(start)
    return [(d0 + timedelta(days=i)).isoformat() for i in range(n)]


def rounded(values) -> list:
    return [None if pd.isna(v) else round(float(v), 4) for v in values]


# ------------------------------------------------------------------------------------------------
# The golden community: Jan-Mar 2024, data ends 2024-03-31 (no partial month).
# Windows (30 days, ending at the month end, start excluded): Jan 2-31, Jan 31-Feb 29, Mar 2-31.
#   A joined 01-01: Jan 1 post (outside Jan's window), Jan 10-17 = 8 days with 3 shares -> Jan
#     Advocate; Feb 5-6 = 2 days -> Participant (an outbound row on Feb 7 does not count); Mar 0 ->
#     Observer. Buys Jan 5 (10 + 5, same day: one purchase), Feb 20 (20); refund -5 on Mar 10.
#   B joined 01-01: Jan 20 like -> Explorer; Feb 1-7 likes = 7 days + referred C (joined Feb 10)
#     -> Advocate; Mar 31 post -> Explorer. Buys Jan 25 (30), Mar 3 (40).
#   C joined 02-10, referred by B: Feb Observer; Mar 10-12 replies = 3 days -> Participant.
#   D joined 01-01, churned 02-15: Jan Observer, then left.   F joined 01-01: never does anything.
#   G joined 03-05, referred by C: Mar Observer.   E: employee, very active, buys: excluded.
#   An anonymous interaction: excluded.
# ------------------------------------------------------------------------------------------------
MEMBERS = [
    {"member_id": "A", "joined_at": "2024-01-01", "lifecycle_stage": "customer"},
    {"member_id": "B", "joined_at": "2024-01-01", "lifecycle_stage": "advocate"},
    {"member_id": "C", "joined_at": "2024-02-10", "referred_by": "B"},
    {"member_id": "D", "joined_at": "2024-01-01", "churned_at": "2024-02-15"},
    {"member_id": "E", "joined_at": "2024-01-01", "is_employee": True, "lifecycle_stage": "advocate"},
    {"member_id": "F", "joined_at": "2024-01-01"},
    {"member_id": "G", "joined_at": "2024-03-05", "referred_by": "C"},
]
INTERACTIONS = (
    [("A", "2024-01-01")]
    + [("A", d, "share" if i < 3 else "post") for i, d in enumerate(days("2024-01-10", 8))]
    + [("A", "2024-02-05"), ("A", "2024-02-06"), ("A", "2024-02-07", "reply", "outbound")]
    + [("B", "2024-01-20", "like")] + [("B", d, "like") for d in days("2024-02-01", 7)] + [("B", "2024-03-31")]
    + [("C", d, "reply") for d in days("2024-03-10", 3)]
    + [("E", d) for d in days("2024-01-02", 19)]
    + [(None, "2024-01-15")]
)
TRANSACTIONS = [
    ("A", "2024-01-05", 10.0), ("A", "2024-01-05", 5.0), ("A", "2024-02-20", 20.0), ("A", "2024-03-10", -5.0, True),
    ("B", "2024-01-25", 30.0), ("B", "2024-03-03", 40.0),
    ("E", "2024-01-03", 99.0),
]


@pytest.fixture
def golden(make_workspace):
    con = make_workspace()
    load(con, INTERACTIONS, MEMBERS, TRANSACTIONS)
    return con


def test_engagement_ladder_per_member(golden):
    t = compute(golden, "engagement_ladder")
    got = {(p.strftime("%m"), m): lv for p, m, lv in zip(t["period"], t["member_id"], t["level"], strict=True)}
    assert got == {
        ("01", "A"): "Advocate", ("01", "B"): "Explorer", ("01", "D"): "Observer", ("01", "F"): "Observer",
        ("02", "A"): "Participant", ("02", "B"): "Advocate", ("02", "C"): "Observer", ("02", "F"): "Observer",
        ("03", "A"): "Observer", ("03", "B"): "Explorer", ("03", "C"): "Participant", ("03", "F"): "Observer",
        ("03", "G"): "Observer",
    }
    a_jan = t[(t["member_id"] == "A") & (t["period"] == pd.Timestamp("2024-01-01"))].iloc[0]
    assert (a_jan["active_days"], a_jan["share_reply"]) == (8, 3)  # Jan 1 is outside the window
    assert not t["is_partial"].any()
    one = compute(golden, "engagement_ladder", month="2024-02")
    assert one["member_id"].tolist() == ["A", "B", "C", "F"]


def test_ladder_sizes_migration_and_rates(golden):
    s = compute(golden, "ladder_sizes")
    assert s["level"].tolist()[:5] == list(LEVELS)
    #                              Obs Exp Par Con Adv
    assert s["members"].tolist() == [2, 1, 0, 0, 1,   # Jan: D F | B | - | - | A
                                     2, 0, 1, 0, 1,   # Feb: C F | - | A | - | B
                                     3, 1, 1, 0, 0]   # Mar: A F G | B | C
    assert rounded(s["share"])[:5] == [0.5, 0.25, 0.0, 0.0, 0.25]
    m = compute(golden, "ladder_migration")
    feb = m[m["period"] == pd.Timestamp("2024-02-01")]
    assert list(zip(feb["from_level"], feb["to_level"], feb["members"], strict=True)) == [
        ("(new)", "Observer", 1),        # C joined
        ("Observer", "Observer", 1),     # F
        ("Observer", "(left)", 1),       # D churned
        ("Explorer", "Advocate", 1),     # B
        ("Advocate", "Participant", 1),  # A
    ]
    mar = m[m["period"] == pd.Timestamp("2024-03-01")]
    assert list(zip(mar["from_level"], mar["to_level"], mar["members"], strict=True)) == [
        ("(new)", "Observer", 1),        # G
        ("Observer", "Observer", 1),     # F
        ("Observer", "Participant", 1),  # C
        ("Participant", "Observer", 1),  # A
        ("Advocate", "Explorer", 1),     # B
    ]
    r = compute(golden, "ladder_rates")
    feb = r[r["period"] == pd.Timestamp("2024-02-01")].set_index("level")
    # Observers in Jan: D (left) and F (stayed): base 2, no promotion, no demotion.
    assert feb.loc["Observer", ["base", "promoted", "demoted", "left"]].tolist() == [2, 0, 0, 1]
    assert feb.loc["Explorer", "promotion_rate"] == 1.0 and feb.loc["Advocate", "demotion_rate"] == 1.0
    assert feb.loc["all", ["base", "promoted", "demoted"]].tolist() == [4, 1, 1]
    assert rounded(feb.loc[["all"], "promotion_rate"]) == [0.25]


def test_customer_stages_and_movement(golden):
    s = compute(golden, "stage_sizes")
    assert s["stage"].tolist()[:4] == list(STAGES)
    #                          pro cus rep adv
    assert s["members"].tolist() == [2, 2, 0, 0,   # Jan: D F | A B (A's two Jan-5 lines = 1 purchase)
                                     2, 1, 1, 0,   # Feb: C F | B | A
                                     3, 0, 1, 1]   # Mar: C F G | - | A | B (repeat and referred C)
    m = compute(golden, "stage_movement")
    mar = m[m["period"] == pd.Timestamp("2024-03-01")]
    assert list(zip(mar["from_stage"], mar["to_stage"], mar["members"], strict=True)) == [
        ("(new)", "prospect", 1), ("prospect", "prospect", 2), ("customer", "advocate", 1), ("repeat", "repeat", 1)]
    crm = compute(golden, "lifecycle_stage_distribution")  # the CRM's column, as given; E excluded
    assert list(zip(crm["lifecycle_stage"], crm["members"], strict=True)) == [("(none)", 4), ("advocate", 1), ("customer", 1)]


def test_value_development(golden):
    v = compute(golden, "value_curves")
    # One cohort (Jan: A and B). Net revenue: Jan 15 + 30 = 45, Feb 20, Mar 40 - 5 (refund) = 35.
    assert v["cohort"].dt.strftime("%Y-%m").tolist() == ["2024-01"] * 3
    assert v["cohort_size"].tolist() == [2, 2, 2] and v["months_since"].tolist() == [0, 1, 2]
    assert rounded(v["revenue"]) == [45.0, 20.0, 35.0]
    assert rounded(v["cumulative_revenue_per_member"]) == [22.5, 32.5, 50.0]
    assert rounded(v["net_revenue_retention"]) == [1.0, 0.4444, 0.7778]  # 20/45, 35/45
    t = compute(golden, "value_over_time")
    assert t["buyers"].tolist() == [2, 1, 1] and t["purchases"].tolist() == [2, 1, 1]
    assert rounded(t["revenue"]) == [45.0, 20.0, 35.0]
    assert rounded(t["average_order_value"]) == [22.5, 20.0, 40.0]  # purchase value, refunds apart
    assert rounded(t["repeat_purchase_rate"]) == [0.0, 0.5, 1.0]    # A repeats in Feb, B in Mar
    s = compute(golden, "value_summary").iloc[0]
    assert (s["customers"], s["repeat_customers"], s["purchases"]) == (2, 2, 4)
    assert rounded([s["repeat_purchase_rate"], s["purchase_frequency"], s["revenue"], s["average_order_value"],
                    s["revenue_per_customer"]]) == [1.0, 2.0, 100.0, 26.25, 50.0]
    # A date filter: February only -> A's second purchase; the cohort filter keeps first purchases
    # in the range, so there is no cohort.
    feb = Filters(start=date(2024, 2, 1), end=date(2024, 2, 29))
    assert compute(golden, "value_curves", feb).empty
    assert compute(golden, "value_summary", feb)[["customers", "repeat_customers"]].iloc[0].tolist() == [1, 0]


def test_participation_and_value(golden):
    p = compute(golden, "participation_value")
    # Participants A B C (active), non-participants F and G (D churned, E employee): no buyers, so
    # the repeat rate has no denominator and is NULL, never 0.
    assert p["group"].tolist() == ["participants", "non-participants"]
    assert p["members"].tolist() == [3, 2] and p["buyers"].tolist() == [2, 0]
    assert rounded(p["repeat_purchase_rate"]) == [1.0, None]
    assert rounded(p["revenue_per_member"]) == [33.3333, 0.0]


def test_referrals(golden):
    s = compute(golden, "referral_summary").iloc[0]
    # Joined (non-employees): A B D F (Jan), C (Feb, by B), G (Mar, by C); chain B -> C -> G.
    assert (s["new_members"], s["referred"], s["referrers"], s["longest_chain"], s["members_in_chains"]) == (6, 2, 2, 2, 1)
    assert rounded([s["share_referred"], s["referrals_per_referrer"]]) == [0.3333, 1.0]
    r = compute(golden, "referral_share")
    assert r["new_members"].tolist() == [4, 1, 1] and rounded(r["share_referred"]) == [0.0, 1.0, 1.0]
    c = compute(golden, "referral_chains")
    assert list(zip(c["depth"], c["members"], strict=True)) == [(0, 4), (1, 1), (2, 1)]


def test_empty_workspace_gives_empty_frames(make_workspace):
    con = make_workspace()
    for name in ("ladder_sizes", "ladder_migration", "ladder_rates", "stage_sizes", "value_curves", "value_over_time",
                 "referral_share", "referral_chains", "customer_lifetime_value", "lifecycle_stage_distribution"):
        assert compute(con, name).empty, name
    assert compute(con, "value_summary")["repeat_purchase_rate"].isna().all()
    params = compute(con, "clv_parameters").set_index("parameter")["value"]
    assert params[["r", "alpha", "a", "b"]].isna().all() and params["customers"].tolist() == [0.0, 0.0]
    assert clv_result(con, Filters())["error"] == "no customers"


def test_options_are_checked(golden):
    with pytest.raises(ValueError):
        ladder_params(participant=8, contributor=7)
    with pytest.raises(ValueError):
        ladder_params(window_days=0)
    with pytest.raises(ValueError):
        compute(golden, "value_over_time", grain="year")
    with pytest.raises(ValueError):
        compute(golden, "customer_lifetime_value", unit="month")
    with pytest.raises(ValueError):
        compute(golden, "ladder_sizes", nonsense=1)
    # Thresholds as options: with Contributor from 2 active days, A is a Contributor in Feb.
    t = compute(golden, "engagement_ladder", month="2024-02", participant=2, contributor=2)
    assert t.set_index("member_id").loc["A", "level"] == "Contributor"


# ------------------------------------------------------------------------------------------------
# Properties on random communities
# ------------------------------------------------------------------------------------------------
_ids = st.sampled_from(["m1", "m2", "m3", "m4", "m5", "m6"])
_day = st.integers(0, 120).map(lambda d: (date(2024, 1, 1) + timedelta(days=d)).isoformat())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    acts=st.lists(st.tuples(_ids, _day, st.sampled_from(["post", "share", "reply", "like"])), min_size=1, max_size=60),
    joins=st.lists(st.tuples(_ids, _day, st.one_of(st.none(), _day), st.one_of(st.none(), _ids)), max_size=6),
    buys=st.lists(st.tuples(_ids, _day, st.floats(1, 100)), max_size=20),
)
def test_migration_rows_sum_to_the_sizes(make_workspace, acts, joins, buys):
    con = make_workspace()
    members = {}
    for m, joined, churned, ref in joins:
        if churned is not None and churned < joined:
            churned = None
        members[m] = {"member_id": m, "joined_at": joined, "churned_at": churned, "referred_by": ref}
    load(con, acts, list(members.values()), buys)
    out = development_states(con, Filters())
    for kind, mig in (("level", "level_migration"), ("stage", "stage_movement")):
        sizes = out[f"{kind}_sizes"].pivot(index="period", columns=kind, values="members")
        moves = out[mig]
        periods = list(sizes.index)
        for prev, cur in zip(periods, periods[1:], strict=False):
            rows = moves[moves["period"] == cur]
            from_sums = rows.groupby(f"from_{kind}")["members"].sum()
            to_sums = rows[rows[f"to_{kind}"] != "(left)"].groupby(f"to_{kind}")["members"].sum()
            for name in sizes.columns:
                assert from_sums.get(name, 0) == sizes.loc[prev, name], (kind, cur, name)
                assert to_sums.get(name, 0) == sizes.loc[cur, name], (kind, cur, name)
        rates = out[f"{kind}_rates"]
        for col in ("promotion_rate", "demotion_rate"):
            assert rates[col].dropna().between(0, 1).all()
        assert (out[f"{kind}_sizes"]["share"].dropna().groupby(out[f"{kind}_sizes"]["period"]).sum().round(9)
                .isin([1.0])).all()
