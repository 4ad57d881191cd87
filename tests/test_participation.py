"""Participation metrics: a golden community solvable by hand (expected values annotated), the
CHAOSS absence-factor example, and property tests against short pandas references."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastore.schema import field_names
from datastore.workspace import migrate
from metrics import Filters
from metrics.participation import NEEDS_IN_REPLY_TO, two_way_status
from tests.metric_support import compute

# --------------------------------------------------------------------------------------------
# Loading hand-made rows
# --------------------------------------------------------------------------------------------
I_COLS = ["interaction_id", "occurred_at", "member_id", "channel", "action", "direction", "in_reply_to",
          "agent", "reach", "campaign"]
M_COLS = ["member_id", "joined_at", "churned_at", "segment", "followers", "is_employee"]


def connect(interactions: list[tuple], members: list[tuple] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory workspace holding these rows (tuples in I_COLS / M_COLS order)."""
    con = duckdb.connect()
    migrate(con)
    frames = {
        "interactions": pd.DataFrame(interactions, columns=I_COLS).astype(
            {"occurred_at": "datetime64[us]", "reach": "Int64"}),
        "members": pd.DataFrame(members or [], columns=M_COLS).astype(
            {"joined_at": "datetime64[us]", "churned_at": "datetime64[us]", "followers": "Int64",
             "is_employee": "boolean"}),
    }
    for i, (ds, frame) in enumerate(frames.items(), start=1):
        cols = [c for c in field_names(ds) if c in frame.columns]
        con.register("_f", frame)
        con.execute(f"INSERT INTO {ds} ({', '.join(cols)}, import_id, row_hash) "
                    f"SELECT {', '.join(cols)}, {i}, hash({', '.join(cols)}) FROM _f")
        con.unregister("_f")
    return con


def m(name: str, con, filters: Filters | None = None, **options) -> pd.DataFrame:
    """The metric on the raw tables, checked equal to the same metric on the rollups."""
    return compute(con, name, filters, **options)


def col(frame: pd.DataFrame, column: str) -> list:
    return [None if pd.isna(v) else v for v in frame[column].tolist()]


JAN, FEB = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")

# --------------------------------------------------------------------------------------------
# The golden community (UTC). Members A..G; E is an employee; F has no joined_at (joins on first
# activity); G never does anything (a lurker); X999 is a handle not in the CRM.
# --------------------------------------------------------------------------------------------
MEMBERS = [
    ("A", "2024-12-01", None, "Gold", 1000, False),
    ("B", "2025-01-10", None, "Blue", 50, False),
    ("C", "2024-12-15", "2025-01-20", "Blue", 10, False),   # churns on 20 Jan
    ("D", "2025-02-05", None, "Gold", None, False),         # no followers, no reach: never influential
    ("E", "2024-01-01", None, "Gold", 99999, True),         # employee: never activity, never community
    ("F", None, None, "Blue", 5, False),                    # joins on first activity (11 Feb)
    ("G", "2024-11-01", None, "Gold", 0, False),            # lurker
]
INTERACTIONS = [
    # id,  when,                   member, channel, action,  direction,  in_reply_to, agent, reach, campaign
    ("i1", "2025-01-02 09:00:00", "A", "x", "post", "inbound", None, None, None, "c1"),
    ("i2", "2025-01-02 10:00:00", "A", "x", "like", "inbound", None, None, None, None),    # not answerable
    ("i3", "2025-01-15 14:00:00", "B", "forum", "post", "inbound", None, None, None, None),
    ("i4", "2025-01-16 08:30:00", "C", "email", "email", "inbound", None, None, None, None),
    ("i5", "2025-01-17 12:00:00", "E", "forum", "post", "inbound", "o5", None, None, None),  # employee
    ("i6", "2025-01-18 16:00:00", None, "phone", "call", "inbound", "o5", None, None, None),  # anonymous
    ("i7", "2025-01-20 18:00:00", "X999", "x", "mention", "inbound", None, None, 5000, None),
    ("i8", "2025-02-03 11:00:00", "A", "forum", "reply", "inbound", None, None, None, None),
    ("i9", "2025-02-10 20:00:00", "D", "x", "comment", "inbound", "o5", None, None, None),  # answers our post
    ("i10", "2025-02-11 07:00:00", "F", "chat", "chat", "inbound", None, None, None, None),
    ("i11", "2025-02-20 12:00:00", "A", "x", "post", "inbound", None, None, None, None),
    ("o1", "2025-01-02 09:30:00", "A", "x", "reply", "outbound", "i1", "ann", None, None),     # 30 min
    ("o2", "2025-01-16 14:00:00", None, "forum", "reply", "outbound", "i3", "bob", None, None),  # 24 h
    ("o3", "2025-01-17 09:00:00", None, "forum", "reply", "outbound", "i3", "cat", None, None),  # 2nd reply
    ("o4", "2025-01-16 08:00:00", "C", "email", "reply", "outbound", "i4", "ann", None, None),   # before i4!
    ("o5", "2025-02-01 10:00:00", None, "x", "post", "outbound", None, "ann", 20000, None),    # broadcast
    ("o6", "2025-02-10 22:00:00", "D", "x", "reply", "outbound", "i9", "ann", None, None),     # 2 h
    ("o7", "2025-02-11 07:05:00", "F", "chat", "reply", "outbound", "i10", "dan", None, None),  # 5 min
]
# Activity (inbound, known, not employee): A: i1 i2 i8 i11 (4) | B: i3 | C: i4 | X999: i7 | D: i9 | F: i10
# Range: 2025-01-02 .. 2025-02-20 (first and last activity); months Jan and Feb.


@pytest.fixture(scope="module")
def golden():
    con = connect(INTERACTIONS, MEMBERS)
    yield con
    con.close()


def test_participation_rate_golden(golden):
    r = m("participation_rate", golden, grain="month")
    assert list(r["period"]) == [JAN, FEB]
    # Jan: active A, B, C, X999 = 4; Feb: A, D, F = 3
    assert col(r, "active_members") == [4, 3]
    # community at 31 Jan: A, B, G (C churned 20 Jan, D joins 5 Feb, F joins 11 Feb, E employee) = 3
    # community at 20 Feb (range end): A, B, D, F, G = 5
    assert col(r, "community_size") == [3, 5]
    # active and in the community at period end: Jan A, B (C churned, X999 not in CRM); Feb A, D, F
    assert col(r, "active_in_community") == [2, 3]
    assert col(r, "value") == pytest.approx([2 / 3, 3 / 5])


def test_participation_rate_filters(golden):
    # Segment Gold: A, D, G. Jan: active A; community A, G -> 1/2. Feb: active A, D; community A, D, G -> 2/3
    r = m("participation_rate", golden, Filters(segments=("Gold",)), grain="month")
    assert col(r, "active_members") == [1, 2]
    assert col(r, "value") == pytest.approx([1 / 2, 2 / 3])
    # Channel x: Jan A, X999; Feb D, A. The community does not depend on the channel.
    r = m("participation_rate", golden, Filters(channels=("x",)), grain="month")
    assert col(r, "active_members") == [2, 2]
    assert col(r, "community_size") == [3, 5]
    # Date filter February: one period ending 28 Feb; community A, B, D, F, G
    r = m("participation_rate", golden, Filters(start=date(2025, 2, 1), end=date(2025, 2, 28)), grain="month")
    assert list(r["period"]) == [FEB] and col(r, "value") == pytest.approx([3 / 5])
    # Weekly grain fills quiet weeks with 0 (weeks of 6 Jan and 27 Jan have no activity)
    w = m("participation_rate", golden, grain="week")
    assert w["period"].iloc[0] == pd.Timestamp("2024-12-30") and len(w) == 8
    assert col(w, "active_members") == [1, 0, 2, 1, 0, 1, 2, 1]


def test_participation_rate_without_members_data():
    con = connect(INTERACTIONS)
    r = m("participation_rate", con, grain="month")
    # No CRM: E cannot be told apart from customers. Seen up to 31 Jan: A, B, C, E, X999 = 5;
    # up to 20 Feb also D, F = 7. Active Jan A, B, C, E, X999 = 5; Feb A, D, F = 3.
    assert col(r, "community_size") == [5, 7]
    assert col(r, "active_members") == [5, 3]
    assert col(r, "value") == pytest.approx([1.0, 3 / 7])


def test_active_members_agrees(golden):
    assert col(m("active_members", golden, grain="month"), "value") == [4, 3]


def test_dau_wau_mau_golden(golden):
    d = m("dau_wau_mau", golden, grain="day").set_index("period")
    assert len(d) == 50  # 2 Jan .. 20 Feb
    def row(day: str) -> tuple[int, ...]:
        return tuple(int(d.loc[pd.Timestamp(day), c]) for c in ("dau", "wau", "mau"))

    assert row("2025-01-02") == (1, 1, 1)   # A
    assert row("2025-01-08") == (0, 1, 1)   # A still in the 7-day window (2..8 Jan)
    assert row("2025-01-09") == (0, 0, 1)   # ... and out of it
    assert row("2025-01-16") == (1, 2, 3)   # C; week B, C; month A, B, C
    assert row("2025-01-31") == (0, 0, 4)   # 30 days 2..31 Jan: A, B, C, X999
    assert row("2025-02-01") == (0, 0, 3)   # A drops out of the 30-day window
    assert row("2025-02-11") == (1, 2, 6)   # F; week D, F; month B, C, X999, A, D, F
    assert row("2025-02-20") == (1, 1, 3)   # A; month A, D, F
    assert d.loc[pd.Timestamp("2025-01-16"), "stickiness"] == pytest.approx(1 / 3)
    # Month grain: mean DAU / mean MAU. Jan: DAU sum 4 over 30 days; MAU sum 75 (13x1 + 1x2 + 4x3
    # + 12x4) -> (4/30) / 2.5. Feb: DAU sum 4 over 20 days; MAU sum 84 -> 0.2 / 4.2.
    s = m("stickiness", golden, grain="month")
    assert col(s, "value") == pytest.approx([(4 / 30) / 2.5, 0.2 / 4.2])
    mm = m("dau_wau_mau", golden, grain="month")
    assert col(mm, "mau") == pytest.approx([2.5, 4.2])


def test_dau_wau_mau_looks_back_before_the_range(golden):
    d = m("dau_wau_mau", golden, Filters(start=date(2025, 2, 1), end=date(2025, 2, 20)), grain="day")
    # 1 Feb: nobody in 26 Jan .. 1 Feb, but B, C, X999 in the 30 days 3 Jan .. 1 Feb (PostHog)
    assert (d["dau"].iloc[0], d["wau"].iloc[0], d["mau"].iloc[0]) == (0, 0, 3)


def test_stickiness_distribution_golden(golden):
    d = m("stickiness_distribution", golden, grain="day")
    assert len(d) == 50 and d["members"].sum() == 6
    # A active on 3 days (2 Jan twice, 3 Feb, 20 Feb); B, C, X999, D, F on one day each
    assert col(d, "members")[:4] == [5, 0, 1, 0]
    assert d["share"].iloc[0] == pytest.approx(5 / 6)
    mo = m("stickiness_distribution", golden, grain="month")
    assert col(mo, "members") == [5, 1]  # A in both months


def test_activity_per_active_member_golden(golden):
    a = m("activity_per_active_member", golden, grain="month")
    # Jan counts A 2, B 1, C 1, X999 1: mean 5/4, median 1, p90 1 + 0.7 x (2 - 1) = 1.7
    # Feb counts A 2, D 1, F 1: mean 4/3, median 1, p90 1 + 0.8 x (2 - 1) = 1.8
    assert col(a, "activity") == [5, 4] and col(a, "active_members") == [4, 3]
    assert col(a, "value") == pytest.approx([1.25, 4 / 3])
    assert col(a, "median") == pytest.approx([1.0, 1.0])
    assert col(a, "p90") == pytest.approx([1.7, 1.8])


def test_participation_inequality_golden(golden):
    r = m("participation_inequality", golden).iloc[0]
    # Counts A 4, B 1, C 1, D 1, F 1, X999 1 (total 9). Cumulative before each (desc, then id):
    # A 0, B 4, C 5, D 6, F 7, X999 8. Core while before < 7.2 (80 %): A B C D F = 5;
    # regular while before < 8.55 (95 %): X999; casual none. Absence: before < 4.5: A, B = 2.
    assert (r["core"], r["regular"], r["casual"], r["absence_factor"]) == (5, 1, 0, 2)
    # top 10 %: ceil(0.6) = 1 member: A's 4 of 9
    assert r["top_10pct_share"] == pytest.approx(4 / 9)
    # gini of [1, 1, 1, 1, 1, 4]: sum |xi - xj| = 30 over 2 n^2 mean = 108 -> 5/18
    assert r["gini"] == pytest.approx(5 / 18)
    # Community of the range: A, B, C (churned inside it), D, F, G, plus active X999 = 7; lurker G
    assert (r["community"], r["active_members"], r["lurkers"]) == (7, 6, 1)
    assert r["lurker_share"] == pytest.approx(1 / 7)


def test_participation_lorenz_golden(golden):
    lz = m("participation_lorenz", golden)
    # ascending counts 1, 1, 1, 1, 1, 4: bottom i members hold 0, 1, 2, 3, 4, 5, 9 of 9
    assert col(lz, "members") == [0, 1, 2, 3, 4, 5, 6]
    assert col(lz, "activity_share") == pytest.approx([0, 1 / 9, 2 / 9, 3 / 9, 4 / 9, 5 / 9, 1])
    assert col(lz, "member_share") == pytest.approx([i / 6 for i in range(7)])


def _absence_rows(contributions: list[int]) -> list[tuple]:
    rows, t0 = [], datetime(2025, 3, 1)
    for k, n in enumerate(contributions):
        rows += [(f"c{k}-{j}", t0 + timedelta(minutes=j), f"m{k}", "forum", "post", "inbound", None, None, None, None)
                 for j in range(n)]
    return rows


def test_absence_factor_chaoss_example():
    con = connect(_absence_rows([1000, 433, 343, 332, 202, 90, 42, 33]))
    r = m("participation_inequality", con).iloc[0]
    assert r["absence_factor"] == 2  # CHAOSS: 1000 + 433 >= half of 2475
    # 80 % of 2475 = 1980 reached after 4 (2108); 95 % = 2351.25 after 6 (2400)
    assert (r["core"], r["regular"], r["casual"]) == (4, 2, 2)


# --------------------------------------------------------------------------------------------
# Two-way interaction
# --------------------------------------------------------------------------------------------
# Answerable (i2 is a like): Jan i1 i3 i4 i7, Feb i8 i9 i10 i11. First replies: i1 30 min (o1),
# i3 24 h (o2; o3 later), i9 2 h (o6), i10 5 min (o7). o4 is stamped 30 min before i4 (clock skew):
# i4 is answered, in 0 s. Unanswered: i7, i8, i11.

def test_response_rate_golden(golden):
    r = m("response_rate", golden, grain="month")
    assert col(r, "answerable") == [4, 4] and col(r, "answered") == [3, 2]
    assert col(r, "value") == pytest.approx([0.75, 0.5])


def test_first_response_time_golden(golden):
    f = m("first_response_time", golden, grain="month", by="period")
    # Jan: 0, 1800, 86400 s -> median 1800 s = 0.5 h; p90 1800 + 0.8 x 84600 = 69480 s = 19.3 h
    # Feb: 300, 7200 s -> median 3750 s; p90 300 + 0.9 x 6900 = 6510 s
    assert col(f, "median_hours") == pytest.approx([0.5, 3750 / 3600])
    assert col(f, "p90_hours") == pytest.approx([19.3, 6510 / 3600])
    # within 1 h of all answerable: Jan i4, i1 (2/4), Feb i10 (1/4); within 24 h (inclusive): Jan 3/4, Feb 2/4
    assert col(f, "within_1h") == pytest.approx([0.5, 0.25])
    assert col(f, "within_24h") == pytest.approx([0.75, 0.5])
    o = m("first_response_time", golden, by="overall").iloc[0]
    # 0, 300, 1800, 7200, 86400 s: median 1800 s = 0.5 h; p90 7200 + 0.6 x 79200 = 54720 s = 15.2 h
    assert (o["answerable"], o["answered"]) == (8, 5)
    assert o["median_hours"] == pytest.approx(0.5) and o["p90_hours"] == pytest.approx(15.2)
    assert (o["within_1h"], o["within_24h"]) == (3 / 8, 5 / 8)
    ch = m("first_response_time", golden, by="channel").set_index("channel")
    assert ch.loc["x", "answerable"] == 4 and ch.loc["x", "answered"] == 2   # i1, i7, i9, i11
    assert ch.loc["email", "answered"] == 1 and ch.loc["email", "median_hours"] == 0
    assert ch.loc["chat", "median_hours"] == pytest.approx(300 / 3600)
    how = m("first_response_time", golden, by="hour_of_week")
    assert len(how) == 168
    thu9 = how[(how["weekday"] == 4) & (how["hour"] == 9)].iloc[0]  # 2 Jan 2025 was a Thursday
    assert (thu9["answerable"], thu9["answered"]) == (1, 1) and thu9["median_hours"] == pytest.approx(0.5)


def test_response_time_distribution_golden(golden):
    d = m("response_time_distribution", golden)
    # 0 s, 300 s | 1800 s | 7200 s | 86400 s (24 h counts as 4-24 h) | none | none | 3 unanswered
    assert col(d, "bucket") == ["< 15 min", "15–60 min", "1–4 h", "4–24 h", "1–3 days", "> 3 days", "unanswered"]
    assert col(d, "messages") == [2, 1, 1, 1, 0, 0, 3]
    assert d["share"].sum() == pytest.approx(1.0)


def test_customer_responses_per_post_golden(golden):
    r = m("customer_responses_per_post", golden, grain="month")
    # One broadcast (o5, Feb). Replies to it: i9 (D) counts; i5 (employee) and i6 (anonymous) do not.
    # Every period of the data appears (METRICS.md): January has no posts, so no ratio (NULL, not 0).
    assert list(r["period"]) == [JAN, FEB]
    assert (col(r, "posts"), col(r, "responses"), col(r, "value")) == ([0, 1], [0, 1], [None, 1.0])
    # Widened to January by the date filter: a month without posts has no ratio (NULL, not 0)
    r = m("customer_responses_per_post", golden, Filters(start=date(2025, 1, 1), end=date(2025, 2, 28)))
    assert col(r, "posts") == [0, 1] and col(r, "value") == [None, 1.0]


def test_responder_breadth_golden(golden):
    r = m("responder_breadth", golden, grain="month")
    # Jan replies o1 ann, o2 bob, o3 cat, o4 ann -> 3 agents; Feb o6 ann, o7 dan -> 2
    assert col(r, "replies") == [4, 2] and col(r, "value") == [3, 2]


def test_two_way_needs_in_reply_to():
    rows = [r[:6] + (None,) + r[7:] for r in INTERACTIONS]
    con = connect(rows, MEMBERS)
    assert two_way_status(con) == {"available": False, "message": NEEDS_IN_REPLY_TO}
    for name in ("response_rate", "first_response_time", "response_time_distribution",
                 "customer_responses_per_post", "responder_breadth"):
        frame = m(name, con)
        assert frame.empty and frame.attrs["missing_column"] == "in_reply_to", name
        assert "in_reply_to" in frame.attrs["message"]
    assert two_way_status(connect(INTERACTIONS))["available"] is True


# --------------------------------------------------------------------------------------------
# Channels, timing, phases, influentials
# --------------------------------------------------------------------------------------------

def test_channels_golden(golden):
    p = m("channel_presence", golden)
    # x: A, X999, D (5 rows); forum: B, A (2); chat: F; email: C. 6 active members, 9 activities.
    assert col(p, "channel") == ["x", "forum", "chat", "email"]
    assert col(p, "active_members") == [3, 2, 1, 1]
    assert col(p, "member_share") == pytest.approx([3 / 6, 2 / 6, 1 / 6, 1 / 6])
    assert col(p, "activity_share") == pytest.approx([5 / 9, 2 / 9, 1 / 9, 1 / 9])
    c = m("channels_per_active_member", golden, grain="month")
    # Jan: A x, B forum, C email, X999 x -> 4 / 4; Feb: A forum + x, D x, F chat -> 4 / 3
    assert col(c, "value") == pytest.approx([1.0, 4 / 3])
    mix = m("channel_mix", golden, grain="month")
    assert len(mix) == 8  # 2 months x 4 channels, quiet pairs filled with 0
    jan = mix[mix["period"] == JAN].set_index("channel")
    assert jan["activity"].to_dict() == {"chat": 0, "email": 1, "forum": 1, "x": 3}
    assert jan.loc["x", "active_members"] == 2 and jan.loc["x", "share"] == pytest.approx(3 / 5)


def test_activity_heatmap_golden(golden):
    h = m("activity_heatmap", golden)
    assert len(h) == 168 and h["activity"].sum() == 9 and h["outbound"].sum() == 7
    thu = h[h["weekday"] == 4].set_index("hour")  # Thursday 2 Jan: i1 09:00, i2 10:00, o1 09:30
    assert (thu.loc[9, "activity"], thu.loc[10, "activity"], thu.loc[9, "outbound"]) == (1, 1, 1)


def test_identified_share_golden(golden):
    s = m("identified_share", golden, grain="month")
    # Jan inbound without the employee: i1 i2 i3 i4 i6 (anonymous) i7 (X999) -> 4 of 6 identified
    # Feb: i8 i9 i10 i11 -> 4 of 4
    assert col(s, "inbound") == [6, 4] and col(s, "identified") == [4, 4]
    assert col(s, "value") == pytest.approx([4 / 6, 1.0])
    # Segment Blue (B, C, F): Jan i3 (B), i4 (C); Feb i10 (F) -> all identified. Gold (A, D, G; E is an
    # employee): Jan i1 i2; Feb i8 i9 i11.
    blue = m("identified_share", golden, Filters(segments=("Blue",)), grain="month")
    assert col(blue, "inbound") == [2, 1] and col(blue, "identified") == [2, 1] and col(blue, "value") == [1.0, 1.0]
    gold = m("identified_share", golden, Filters(segments=("Gold",)), grain="month")
    assert col(gold, "inbound") == [2, 3] and col(gold, "value") == [1.0, 1.0]


def test_influentials_golden(golden):
    # Reach: X999 5000 (max reach of its messages), A 1000, B 50, C 10, F 5, D none.
    # Top 1 % of 6 active = ceil(0.06) = 1: X999.
    one = m("influentials", golden)
    assert col(one, "member_id") == ["X999"]
    # Top 50 %: X999, A, B. Love = activity in the 90 days to 20 Feb: X999 1, A 4, B 1.
    # Gravity 5000, 4000, 50. Engaged: A (o1 addressed to A), B (o2 answers B's i3), X999 not.
    r = m("influentials", golden, top_share=0.5)
    assert col(r, "member_id") == ["X999", "A", "B"]
    assert col(r, "love") == [1, 4, 1] and col(r, "reach") == [5000, 1000, 50]
    assert col(r, "gravity") == [5000, 4000, 50] and col(r, "engaged") == [False, True, True]
    assert col(m("influentials", golden, top_share=0.5, limit=1), "member_id") == ["X999"]


def test_influentials_engaged_golden(golden):
    r = m("influentials_engaged", golden, grain="month", top_share=0.5)
    # Jan active A 1000, B 50, C 10, X999 5000 -> top 2: X999, A; A got o1 -> 1/2
    # Feb active A 1000, F 5, D (no reach) -> top 2: A, F; F got o7 -> 1/2
    assert col(r, "influentials") == [2, 2] and col(r, "engaged") == [1, 1]
    assert col(r, "value") == pytest.approx([0.5, 0.5])


def test_empty_workspace_gives_empty_frames():
    con = connect([])
    for name in ("participation_rate", "dau_wau_mau", "activity_per_active_member", "participation_inequality",
                 "participation_lorenz", "channel_presence", "channel_mix", "identified_share", "influentials",
                 "influentials_engaged", "stickiness_distribution"):
        assert m(name, con).empty, name
    assert m("activity_heatmap", con)["activity"].sum() == 0


def test_bad_options_are_refused(golden):
    with pytest.raises(ValueError):
        m("first_response_time", golden, by="agent")
    with pytest.raises(ValueError):
        m("influentials", golden, top_share=2)
    with pytest.raises(ValueError):
        m("participation_rate", golden, grain="year")


def test_cli_computes_each_metric(tmp_path, capsys):
    from cli import main
    from datastore.workspace import open_workspace
    from metrics import REGISTRY

    path = tmp_path / "golden.duckdb"
    con = open_workspace(path)
    src = connect(INTERACTIONS, MEMBERS)
    for ds in ("interactions", "members"):
        con.register("_f", src.execute(f"SELECT * FROM {ds}").df())
        con.execute(f"INSERT INTO {ds} SELECT * FROM _f")
    con.close()
    names = sorted(n for n, mt in REGISTRY.items() if mt.section == "participation")
    assert len(names) >= 20
    for name in names:
        assert main(["compute", name, "--workspace", str(path)]) == 0, name
    assert main(["compute", "participation_rate", "--workspace", str(path), "--grain", "week",
                 "--segment", "Gold", "--format", "csv"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1].split(",")
    # week of 17 Feb, Gold only: active A (in the community); community at 20 Feb: A, D, G
    assert last[:4] == ["2025-02-17", "1", "1", "3"] and float(last[4]) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------
# Properties on random data, against short pandas references
# --------------------------------------------------------------------------------------------
T0 = datetime(2025, 3, 1)
MEMBER_IDS = ["m0", "m1", "m2", "m3", "m4", "emp"]
row = st.tuples(
    st.integers(0, 40 * 24 * 60),                      # minutes after T0
    st.sampled_from(MEMBER_IDS + ["h9", None]),          # h9: not in the CRM; None: anonymous
    st.sampled_from(["x", "forum", "chat"]),
    st.sampled_from(["post", "like", "reply"]),
    st.sampled_from(["inbound", "inbound", "outbound"]),
    st.integers(0, 40),                                  # in_reply_to: an earlier row (or none)
    st.sampled_from([None, 10, 500]),                   # reach
)


def _random_workspace(rows: list[tuple], joins: list[int]) -> tuple[duckdb.DuckDBPyConnection, pd.DataFrame]:
    inter = []
    for k, (minute, member, channel, action, direction, parent, reach) in enumerate(rows):
        ref = f"r{k - 1 - parent}" if parent < k and parent % 3 else None
        inter.append((f"r{k}", T0 + timedelta(minutes=minute), member, channel, action, direction, ref,
                      "ag" + str(k % 3) if direction == "outbound" else None, reach, None))
    members = [(mid, (T0 + timedelta(days=j)).date().isoformat(), None, "S", 100 * i, mid == "emp")
               for i, (mid, j) in enumerate(zip(MEMBER_IDS, joins, strict=True))]
    con = connect(inter, members)
    return con, pd.DataFrame(inter, columns=I_COLS)


def _activity(frame: pd.DataFrame) -> pd.DataFrame:
    a = frame[(frame["direction"] == "inbound") & frame["member_id"].notna() & (frame["member_id"] != "emp")]
    return a.assign(period=a["occurred_at"].dt.to_period("M").dt.start_time)


PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.lists(row, min_size=1, max_size=40), st.lists(st.integers(-5, 45), min_size=6, max_size=6))
def test_properties_activity(rows, joins):
    con, frame = _random_workspace(rows, joins)
    act = _activity(frame)
    per = m("activity_per_active_member", con, grain="month")
    rate = m("participation_rate", con, grain="month")
    if act.empty:
        assert rate.empty and per.empty
        return
    # SQL = pandas: activity, active members, mean / median / p90 per member per month
    counts = act.groupby(["period", "member_id"]).size()
    ref = counts.groupby(level=0).agg(["sum", "size", "mean", "median", lambda s: s.quantile(0.9)])
    got = per.set_index("period").loc[ref.index]
    assert list(got["activity"]) == list(ref["sum"]) and list(got["active_members"]) == list(ref["size"])
    assert np.allclose(got["value"], ref["mean"]) and np.allclose(got["median"], ref["median"])
    assert np.allclose(got["p90"], ref.iloc[:, 4])
    assert per["activity"].sum() == len(act)  # quiet periods are 0, not missing
    # rates in [0, 1]; the rate's numerator is part of the active members
    assert rate["value"].dropna().between(0, 1).all()
    assert (rate["active_in_community"] <= rate["active_members"]).all()
    # parts sum to the total: channel mix per period, stickiness buckets, onion tiers, lurkers
    mix = m("channel_mix", con, grain="month").groupby("period")["activity"].sum()
    assert list(mix) == list(per["activity"])
    assert m("channel_presence", con)["activity"].sum() == len(act)
    dist = m("stickiness_distribution", con, grain="day")
    assert dist["members"].sum() == act["member_id"].nunique()
    ineq = m("participation_inequality", con).iloc[0]
    assert ineq["core"] + ineq["regular"] + ineq["casual"] == ineq["active_members"] == act["member_id"].nunique()
    assert ineq["active_members"] + ineq["lurkers"] == ineq["community"]
    # gini and absence factor = pandas on the per-member counts
    x = np.sort(act.groupby("member_id").size().to_numpy())
    n = len(x)
    assert ineq["gini"] == pytest.approx(2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum()) - (n + 1) / n)
    desc = x[::-1]
    assert ineq["absence_factor"] == int(np.argmax(np.cumsum(desc) >= desc.sum() / 2)) + 1
    assert 0 <= ineq["top_10pct_share"] <= 1 and 0 <= ineq["gini"] <= 1
    heat = m("activity_heatmap", con)
    assert heat["activity"].sum() == len(act) and heat["outbound"].sum() == (frame["direction"] == "outbound").sum()


@PROPS
@given(st.lists(row, min_size=1, max_size=40), st.lists(st.integers(-5, 45), min_size=6, max_size=6))
def test_properties_dau_wau_mau(rows, joins):
    con, frame = _random_workspace(rows, joins)
    act = _activity(frame)
    got = m("dau_wau_mau", con, grain="day")
    if act.empty:
        assert got.empty
        return
    days = act.assign(day=act["occurred_at"].dt.normalize())[["member_id", "day"]].drop_duplicates()
    for _, r in got.iterrows():
        t = r["period"]
        for window, column in ((1, "dau"), (7, "wau"), (30, "mau")):
            inside = days[(days["day"] > t - pd.Timedelta(days=window)) & (days["day"] <= t)]
            assert r[column] == inside["member_id"].nunique(), (t, column)
    assert got["stickiness"].dropna().between(0, 1).all()


@PROPS
@given(st.lists(row, min_size=1, max_size=40), st.lists(st.integers(-5, 45), min_size=6, max_size=6))
def test_properties_two_way(rows, joins):
    con, frame = _random_workspace(rows, joins)
    if not two_way_status(con)["available"]:
        assert m("response_rate", con).empty
        return
    act = _activity(frame)
    ans = act[act["action"] != "like"]
    out = frame[frame["direction"] == "outbound"]
    first = out.groupby("in_reply_to")["occurred_at"].min()
    # a merge, not index alignment: pandas 3.1 fails aligning some str indexes (TypeError in take)
    pairs = ans[["interaction_id", "occurred_at"]].merge(
        first.rename("replied").rename_axis("interaction_id").reset_index(), on="interaction_id", how="left")
    secs = (pairs["replied"] - pairs["occurred_at"]).dt.total_seconds().dropna().clip(lower=0)
    o = m("first_response_time", con, by="overall").iloc[0]
    assert o["answerable"] == len(ans) and o["answered"] == len(secs)
    if len(secs):
        assert o["median_hours"] == pytest.approx(secs.median() / 3600)
        assert o["p90_hours"] == pytest.approx(secs.quantile(0.9) / 3600)
        assert o["within_1h"] == pytest.approx((secs <= 3600).sum() / len(ans))
    if len(ans):
        assert 0 <= o["within_1h"] <= o["within_24h"] <= o["response_rate"] <= 1
    assert m("response_time_distribution", con)["messages"].sum() == len(ans)
    by_period = m("response_rate", con, grain="month")
    assert by_period["answerable"].sum() == len(ans) and by_period["value"].dropna().between(0, 1).all()
    for name in ("identified_share", "influentials_engaged"):
        assert m(name, con, grain="month")["value"].dropna().between(0, 1).all()
