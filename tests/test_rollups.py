"""The importer's rollups (datastore.rollups) and when metrics read them (metrics.source).

Every metric test also computes its metric on the raw tables and on the rollups and compares
(tests.metric_support.compute); these tests pin the maintenance and the choice of source.
"""

from __future__ import annotations

from datetime import date

import pytest

from datastore import rollups
from datastore.importer import import_file, undo_import
from datastore.workspace import bump_data_version
from metrics import Filters
from metrics.source import pick
from tests.metric_support import compute

INTERACTIONS = (
    "occurred_at,channel,member_id,direction,action\n"
    "2025-01-30 10:00,forum,m1,inbound,post\n"
    "2025-01-30 11:00,forum,m1,inbound,reply\n"
    "2025-01-31 09:00,x,m1,inbound,share\n"
    "2025-02-02 12:00,forum,m2,inbound,post\n"
    "2025-02-03 12:00,forum,,inbound,post\n"  # anonymous: not activity
    "2025-02-03 13:00,forum,m2,outbound,reply\n"  # ours: not activity
    "2025-03-10 08:00,x,emp,inbound,post\n"  # an employee: not activity
)
MEMBERS = "member_id,segment,is_employee\nm1,gold,false\nm2,silver,false\nemp,,true\n"


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_import_builds_rollups_and_undo_rebuilds_them(workspace, write_file):
    import_file(workspace, write_file("members.csv", MEMBERS))
    report = import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    assert report.status == "loaded"
    assert rollups.fresh(workspace)
    # Hand count: m1 has 2 forum + 1 x interactions in January (30th twice, 31st once), m2 one in
    # February; the anonymous, outbound and employee rows are not activity.
    assert _rows(workspace, """
        SELECT a.period, d.member_id, a.channel, a.n FROM activity_month a JOIN member_dim d USING (mk)
        ORDER BY ALL""") == [
        (date(2025, 1, 1), "m1", "forum", 2), (date(2025, 1, 1), "m1", "x", 1),
        (date(2025, 2, 1), "m2", "forum", 1)]
    assert _rows(workspace, "SELECT period, sum(n) FROM activity_day GROUP BY 1 ORDER BY 1") == [
        (date(2025, 1, 30), 2), (date(2025, 1, 31), 1), (date(2025, 2, 2), 1)]
    # ISO weeks: Thu 30 Jan and Fri 31 Jan 2025 are in the week of Mon 27 Jan; Sun 2 Feb too.
    assert _rows(workspace, "SELECT period, sum(n) FROM activity_week GROUP BY 1 ORDER BY 1") == [
        (date(2025, 1, 27), 4)]
    assert _rows(workspace, "SELECT member_id, in_crm, is_employee, segment FROM member_dim ORDER BY mk") == [
        ("emp", True, True, None), ("m1", True, False, "gold"), ("m2", True, False, "silver")]
    assert rollups.inbound_actions(workspace) == ["post", "reply", "share"]
    # Per member and month over all channels: m1's first January activity was on the forum, the
    # last on x; each member has one active month, so no previous / next month.
    assert _rows(workspace, """
        SELECT a.period, d.member_id, a.n, a.first_channel, a.last_channel, a.prv, a.nxt
        FROM active_months a JOIN member_dim d USING (mk) ORDER BY ALL""") == [
        (date(2025, 1, 1), "m1", 3, "forum", "x", None, None),
        (date(2025, 2, 1), "m2", 1, "forum", "forum", None, None)]
    assert _rows(workspace, """
        SELECT d.member_id, a.n, a.last_channel, CAST(a.first_at AS DATE), CAST(a.last_at AS DATE)
        FROM member_activity a JOIN member_dim d USING (mk) ORDER BY 1""") == [
        ("m1", 3, "x", date(2025, 1, 30), date(2025, 1, 31)), ("m2", 1, "forum", date(2025, 2, 2), date(2025, 2, 2))]

    undo_import(workspace, report.import_id)
    assert rollups.fresh(workspace)
    assert _rows(workspace, "SELECT count(*) FROM activity_day") == [(0,)]


def test_import_progress_names_the_rollup_rebuild(workspace, write_file):
    said: list[str] = []
    import_file(workspace, write_file("interactions.csv", INTERACTIONS), progress=lambda f, t: said.append(t))
    assert any(t.startswith("Preparing the tables the pages read") for t in said)
    assert said[-1] == "Done"
    said.clear()  # the same file again: nothing new, the rollups are only re-stamped
    import_file(workspace, write_file("interactions.csv", INTERACTIONS), progress=lambda f, t: said.append(t))
    assert not any(t.startswith("Preparing the tables") for t in said)

def test_stale_or_missing_rollups_are_never_read(workspace, write_file):
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    assert pick(workspace, Filters(), "month") == "activity_month"
    bump_data_version(workspace)  # data changed without a rebuild
    assert not rollups.fresh(workspace)
    assert pick(workspace, Filters(), "month") is None
    rollups.ensure(workspace)  # rebuilds the stale rollups
    assert pick(workspace, Filters(), "month") == "activity_month"
    rollups.drop(workspace)
    assert pick(workspace, Filters(), "month") is None


def test_source_choice_follows_the_filters(workspace, write_file):
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    assert pick(workspace, Filters(campaigns=("spring",)), "month") is None  # campaigns are not rolled up
    assert pick(workspace, Filters(channels=("x",), segments=("gold",)), "week") == "activity_week"
    # whole months, or a range reaching past the data on both ends: the month table answers
    assert pick(workspace, Filters(start=date(2025, 2, 1), end=date(2025, 2, 28)), "month") == "activity_month"
    assert pick(workspace, Filters(start=date(2024, 12, 15), end=date(2025, 6, 3)), "month") == "activity_month"
    # a range cutting a month (or an ISO week) in two: regroup the days
    assert pick(workspace, Filters(start=date(2025, 1, 31)), "month") == "activity_day"
    assert pick(workspace, Filters(end=date(2025, 1, 30)), "week") == "activity_day"
    # cohorts look back past the start date: only the end matters then
    assert pick(workspace, Filters(start=date(2025, 1, 31)), "month", use_start=False) == "activity_month"


def test_purchase_day_merges_lines_per_member_and_day(workspace, write_file):
    path = write_file("orders.csv", (
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,17850,2010-12-01 08:26:00,6,2.55\n"
        "2,17850,2010-12-01 15:00:00,1,10.00\n"
        "C3,17850,2010-12-01 16:00:00,-1,10.00\n"  # a refund the same day
        "C4,17850,2010-12-05 09:00:00,-2,2.55\n"  # a refund alone on its day
        "5,12345,2010-12-02 10:00:00,1,4.00\n"
        "6,,2010-12-02 11:00:00,1,9.00\n"  # no member: not in the rollup
    ))
    assert import_file(workspace, path).status == "loaded"
    assert rollups.fresh(workspace)
    # Hand count: 17850 on 1 Dec bought 15.30 + 10.00 = 25.30, net 25.30 - 10.00 = 15.30; on 5 Dec
    # only a refund (no purchase, net -5.10); 12345 bought 4.00 on 2 Dec.
    got = _rows(workspace, """SELECT d.member_id, p.day, p.bought::DOUBLE, p.is_purchase, p.net::DOUBLE
                               FROM purchase_day p JOIN member_dim d USING (mk) ORDER BY ALL""")
    assert got == [("12345", date(2010, 12, 2), 4.0, True, 4.0),
                   ("17850", date(2010, 12, 1), 25.3, True, 15.3),
                   ("17850", date(2010, 12, 5), None, False, -5.1)]
    # Ids seen only in the transactions get a member key too (outside the CRM).
    assert _rows(workspace, "SELECT mk, member_id, in_crm FROM member_dim ORDER BY mk") == [
        (1, "12345", False), (2, "17850", False)]


# --- every page metric, rollups vs raw tables, on generated data under many filters -------------

PAGE_METRICS = [
    ("active_members", {"grain": "week"}), ("participation_rate", {}), ("activity_per_active_member", {}),
    ("dau_wau_mau", {}), ("dau_wau_mau", {"grain": "month"}), ("stickiness_distribution", {}),
    ("stickiness_distribution", {"grain": "week"}), ("participation_inequality", {}),
    ("participation_lorenz", {}), ("response_rate", {}), ("first_response_time", {"by": "hour_of_week"}),
    ("response_time_distribution", {}), ("customer_responses_per_post", {}), ("activity_heatmap", {}),
    ("channel_presence", {}), ("channel_mix", {"grain": "week"}), ("channels_per_active_member", {}),
    ("identified_share", {}), ("influentials", {}), ("influentials_engaged", {}),
    ("retention", {}), ("retention", {"grain": "week", "window": "on_or_after"}),
    ("retention_breakdown", {"by": "segment"}), ("growth_accounting", {}), ("drifting_members", {}),
    ("retention", {"mode": "recurring", "window": "on_or_after"}), ("retention_breakdown", {"by": "channel"}),
    ("retention", {"cohort_by": "joined_at"}), ("contractual_churn", {}),
    ("stickiness_distribution", {"grain": "month"}), ("channel_mix", {}), ("participation_rate", {"grain": "week"}),
    ("activity_per_active_member", {"grain": "day"}), ("influentials_engaged", {"grain": "week"}),
    ("influentials", {"top_share": 0.2, "limit": 0}),
    ("ladder_sizes", {}), ("stage_movement", {}), ("value_summary", {}), ("value_curves", {}),
    ("value_over_time", {"grain": "week"}), ("participation_value", {}), ("customer_lifetime_value", {}),
]
FILTER_SETS = [
    Filters(),
    Filters(start=date(2025, 3, 1), end=date(2025, 8, 31)),  # whole months
    Filters(start=date(2025, 3, 12), end=date(2025, 8, 20)),  # cuts months and weeks
    Filters(channels=("forum", "x")),
    Filters(segments=("Gold",), start=date(2025, 1, 6)),
    Filters(segments=("Gold",), end=date(2031, 12, 31)),  # an end after the data: as no end
    # Campaigns are not in the rollups: raw tables on both paths, but keys must not get mixed
    # (participation_rate once joined integer rollup keys to the raw path's text keys here).
    Filters(campaigns=("summer-2025", "luxury-class")),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from benchmarks.common import load_frames
    from datastore.workspace import open_workspace
    from sample_data.generator import generate

    con = open_workspace(tmp_path_factory.mktemp("gen") / "gen.duckdb")
    load_frames(con, generate(members=400, interactions=30_000, seed=3))
    yield con
    con.close()


@pytest.mark.parametrize("name,options", PAGE_METRICS, ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o in PAGE_METRICS])
def test_rollups_equal_raw_under_filters(generated, name, options):
    for filters in FILTER_SETS:
        compute(generated, name, filters, **options)  # asserts rollup result == raw result


def test_reimporting_the_same_file_keeps_the_rollups_without_a_rebuild(workspace, write_file, monkeypatch):
    path = write_file("interactions.csv", INTERACTIONS)
    import_file(workspace, path)
    calls = []
    monkeypatch.setattr(rollups, "refresh", lambda con: calls.append(con))
    report = import_file(workspace, path)
    assert report.rows_loaded == 0 and report.rows_duplicate == 7
    assert calls == [] and rollups.fresh(workspace)


# --- found in review: order-dependent sums and channel ties -----------------------------------

def _generated(tmp_path, data):
    from benchmarks.common import load_frames
    from datastore.workspace import open_workspace

    con = open_workspace(tmp_path / "gen.duckdb")
    load_frames(con, data)
    return con


def test_purchase_sums_are_exact_on_both_paths(tmp_path):
    """Amounts stay DECIMAL until the end: summing DOUBLEs per member-day in another order made RFM
    differ in the last bit, which the CLV fit magnified to ~1e-3 (no CRM file, so every purchaser
    comes from the transactions only)."""
    from dataclasses import replace

    from sample_data.generator import generate

    data = generate(members=60, interactions=2000, seed=11)
    con = _generated(tmp_path, replace(data, members=data.members.iloc[0:0]))
    for filters in (Filters(), Filters(channels=("x",)), Filters(campaigns=("summer-2025",))):
        compute(con, "customer_lifetime_value", filters)  # asserts rollups == raw tables
        compute(con, "value_summary", filters)
    con.close()


def test_channel_ties_break_the_same_way_on_both_paths(tmp_path):
    """Date-only exports put many activities at midnight: the first / last channel of a member is
    then a tie, broken by channel name on both paths (arg_min / arg_max over (time, channel))."""
    from dataclasses import replace

    from sample_data.generator import generate

    data = generate(members=200, interactions=8000, seed=5)
    day_only = data.interactions.assign(occurred_at=data.interactions["occurred_at"].dt.floor("D"))
    con = _generated(tmp_path, replace(data, interactions=day_only))
    for filters in (Filters(), Filters(segments=("Gold",)), Filters(start=date(2025, 3, 1), end=date(2025, 8, 31))):
        compute(con, "retention_breakdown", filters, by="channel")
        compute(con, "retention_breakdown", filters, by="channel", mode="recurring")
        compute(con, "drifting_members", filters)
    con.close()


def test_a_changed_not_answerable_list_makes_the_rollups_stale(workspace, write_file, monkeypatch):
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    assert rollups.fresh(workspace)
    monkeypatch.setattr(rollups, "NOT_ANSWERABLE", (*rollups.NOT_ANSWERABLE, "vote"))
    assert not rollups.fresh(workspace)  # messages.answerable was built from the old list
