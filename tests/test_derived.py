"""The derived tables (derived.tables / derived.sync) and the source's choice of table (metrics.source).

Every metric test already compares its metric on the derived tables with the raw-table oracle
(tests.metric_support.compute); these tests pin the tables' contents by hand, the journal, the
incremental maintenance (after any sequence of imports and undos it equals a full build) and
every page metric against the oracle under many filters on generated data.
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datastore.importer import import_file, undo_import
from derived import sync as S
from derived import tables as T
from metrics import Filters
from metrics.source import Source
from tests.metric_support import compute

INTERACTIONS = (
    "occurred_at,channel,member_id,direction,action,interaction_id,in_reply_to\n"
    "2025-01-30 10:00,forum,m1,inbound,post,i1,\n"
    "2025-01-30 11:00,forum,m1,inbound,reply,i2,\n"
    "2025-01-31 09:00,x,m1,inbound,share,i3,\n"
    "2025-02-02 12:00,forum,m2,inbound,post,i4,\n"
    "2025-02-03 12:00,forum,,inbound,post,i5,\n"  # anonymous: not activity
    "2025-02-03 13:00,forum,m2,outbound,reply,o1,i4\n"  # ours: not activity; answers i4
    "2025-03-10 08:00,x,emp,inbound,post,i6,\n"  # an employee: not activity
)
MEMBERS = "member_id,segment,is_employee\nm1,gold,false\nm2,silver,false\nemp,,true\n"


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_an_import_builds_the_tables_and_an_undo_updates_them(workspace, write_file):
    import_file(workspace, write_file("members.csv", MEMBERS))
    report = import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    assert report.status == "loaded" and S.stale(workspace)
    assert S.sync(workspace).mode == "full"  # the first rows: built in full
    assert not S.stale(workspace) and S.sync(workspace).mode == "none"
    # Hand count: m1 has 2 forum + 1 x interactions in January (30th twice, 31st once), m2 one in
    # February; the anonymous, outbound and employee rows are not activity.
    assert _rows(workspace, """
        SELECT a.period, d.member_id, a.channel, a.n FROM activity_month a JOIN member_dim d USING (mk)
        ORDER BY ALL""") == [
        (date(2025, 1, 1), "m1", "forum", 2), (date(2025, 1, 1), "m1", "x", 1),
        (date(2025, 2, 1), "m2", "forum", 1)]
    assert _rows(workspace, "SELECT count(*) FILTER (activity), count(*) FROM events") == [(4, 7)]
    # ISO weeks: Thu 30 Jan and Fri 31 Jan 2025 are in the week of Mon 27 Jan; Sun 2 Feb too.
    assert _rows(workspace, "SELECT period, sum(n) FROM activity_week GROUP BY 1 ORDER BY 1") == [
        (date(2025, 1, 27), 4)]
    assert _rows(workspace, "SELECT member_id, in_crm, is_employee, segment FROM member_dim ORDER BY member_id") == [
        ("emp", True, True, None), ("m1", True, False, "gold"), ("m2", True, False, "silver")]
    assert _rows(workspace, "SELECT action FROM inbound_actions ORDER BY 1") == [("post",), ("reply",), ("share",)]
    # Per member and month over all channels: m1's first January activity was on the forum, the
    # last on x; each member has one active month, so no previous / next month.
    assert _rows(workspace, """
        SELECT a.period, d.member_id, a.n, a.first_channel, a.last_channel, a.prv, a.nxt
        FROM member_month a JOIN member_dim d USING (mk) ORDER BY ALL""") == [
        (date(2025, 1, 1), "m1", 3, "forum", "x", None, None),
        (date(2025, 2, 1), "m2", 1, "forum", "forum", None, None)]
    # i4 was answered by o1 an hour later; the contact went to m2.
    assert _rows(workspace, "SELECT id, replied_at FROM events WHERE replied_at IS NOT NULL") == [
        ("i4", __import__("datetime").datetime(2025, 2, 3, 13, 0))]
    assert _rows(workspace, "SELECT period, channel FROM contacts") == [(date(2025, 2, 3), "forum")]

    undo_import(workspace, report.import_id)
    assert _rows(workspace, "SELECT count(*) FROM removed_interactions") == [(7,)]  # kept until applied
    assert S.sync(workspace).mode == "full"  # every interaction went: rebuilt from scratch
    assert _rows(workspace, "SELECT count(*) FROM removed_interactions") == [(0,)]
    for table in ("events", "activity_month", "member_month", "member_days", "hourly", "daily_active"):
        assert _rows(workspace, f"SELECT count(*) FROM {table}") == [(0,)], table


def test_a_small_change_is_applied_incrementally(workspace, write_file, monkeypatch):
    monkeypatch.setattr(S, "FULL_BUILD_SHARE", 10.0)  # these few rows are a large share of the tiny workspace
    import_file(workspace, write_file("members.csv", MEMBERS))
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    S.sync(workspace)
    # A reply to i1 from another system and a new member's first post: few days, few members.
    extra = import_file(workspace, write_file("more.csv", (
        "occurred_at,channel,member_id,direction,action,interaction_id,in_reply_to\n"
        "2025-01-30 10:20,forum,m1,outbound,reply,o2,i1\n"
        "2025-04-01 09:00,chat,m9,inbound,post,i9,\n")))
    report = S.sync(workspace)
    assert report.mode == "incremental"
    assert "activity_week" in report.steps and "purchase_day" not in report.steps  # no transactions touched
    assert _rows(workspace, "SELECT replied_at FROM events WHERE id = 'i1'") == [(
        __import__("datetime").datetime(2025, 1, 30, 10, 20),)]
    assert _rows(workspace, "SELECT in_crm FROM member_dim WHERE member_id = 'm9'") == [(False,)]
    undo_import(workspace, extra.import_id)
    assert S.sync(workspace).mode == "incremental"
    assert _rows(workspace, "SELECT replied_at FROM events WHERE id = 'i1'") == [(None,)]


def test_the_same_file_again_changes_nothing(workspace, write_file):
    path = write_file("interactions.csv", INTERACTIONS)
    import_file(workspace, path)
    S.sync(workspace)
    report = import_file(workspace, path)
    assert report.rows_loaded == 0 and report.rows_duplicate == 7
    assert not S.stale(workspace)  # nothing was journalled: nothing to apply


def test_tables_of_an_earlier_release_are_dropped(workspace, write_file):
    workspace.execute("CREATE TABLE active_months AS SELECT 1 AS x")  # datastore.rollups' tables
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    S.sync(workspace)
    names = {r[0] for r in _rows(workspace, "SELECT table_name FROM information_schema.tables")}
    assert "active_months" not in names and set(T.NAMES) <= names


def test_purchase_day_merges_lines_per_member_and_day(workspace, write_file):
    path = write_file("orders.csv", (
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,17850,2010-12-01 08:26:00,6,2.55\n"
        "2,17850,2010-12-01 15:00:00,1,10.00\n"
        "C3,17850,2010-12-01 16:00:00,-1,10.00\n"  # a refund the same day
        "C4,17850,2010-12-05 09:00:00,-2,2.55\n"  # a refund alone on its day
        "5,12345,2010-12-02 10:00:00,1,4.00\n"
    ))
    assert import_file(workspace, path).status == "loaded"
    S.sync(workspace)
    # Hand count: 17850 on 1 Dec bought 15.30 + 10.00 = 25.30, net 25.30 - 10.00 = 15.30 over 3
    # lines (2 purchases); on 5 Dec only a refund (no purchase, net -5.10); 12345 bought 4.00.
    got = _rows(workspace, """SELECT d.member_id, p.day, p.bought::DOUBLE, p.is_purchase, p.net::DOUBLE,
                                     p.all_lines, p.lines
                               FROM purchase_day p JOIN member_dim d USING (mk) ORDER BY ALL""")
    assert got == [("12345", date(2010, 12, 2), 4.0, True, 4.0, 1, 1),
                   ("17850", date(2010, 12, 1), 25.3, True, 15.3, 3, 2),
                   ("17850", date(2010, 12, 5), None, False, -5.1, 1, 0)]
    # Ids seen only in the transactions get a member key too (outside the CRM).
    assert _rows(workspace, "SELECT member_id, in_crm FROM member_dim ORDER BY member_id") == [
        ("12345", False), ("17850", False)]


def test_source_choice_follows_the_filters(workspace, write_file):
    import_file(workspace, write_file("interactions.csv", INTERACTIONS))
    S.sync(workspace)

    def table(grain, **kw):
        use_start = kw.pop("use_start", True)
        return Source(workspace, Filters(**kw)).period_table(grain, use_start=use_start)

    assert table("month", campaigns=("spring",)) == "activity_month"  # campaigns are kept per period
    assert table("week", channels=("x",), segments=("gold",)) == "activity_week"
    # whole months, or a range reaching past the data on both ends: the month table answers
    assert table("month", start=date(2025, 2, 1), end=date(2025, 2, 28)) == "activity_month"
    assert table("month", start=date(2024, 12, 15), end=date(2025, 6, 3)) == "activity_month"
    # a range cutting a month (or an ISO week) in two: the events
    assert table("month", start=date(2025, 1, 31)) is None
    assert table("week", end=date(2025, 1, 30)) is None
    # cohorts look back past the start date: only the end matters then
    assert table("month", start=date(2025, 1, 31), use_start=False) == "activity_month"


# --- incremental maintenance equals a full build, after any sequence of changes ----------------
def _snapshot(con) -> dict:
    """Every derived table, member keys replaced by member ids (a full build renumbers them)."""
    out = {}
    for name in T.NAMES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
        if name == "member_dim":
            sql = """SELECT * EXCLUDE (mk) FROM member_dim WHERE member_id IN (SELECT member_id FROM interactions
                     UNION SELECT member_id FROM members UNION SELECT member_id FROM transactions)"""
        elif "mk" in cols:
            sql = f"SELECT t.* EXCLUDE (mk), d.member_id AS _member FROM {name} t LEFT JOIN member_dim d USING (mk)"
        else:
            sql = f"SELECT * FROM {name}"
        out[name] = con.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").fetchall()
    return out


def _interactions(rows) -> str:
    lines = ["occurred_at,channel,member_id,direction,action,interaction_id,in_reply_to,campaign,reach"]
    lines += [",".join("" if v is None else str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


_member = st.sampled_from(["m1", "m2", "m3", "m4", "h1", None])
_row = st.tuples(
    st.integers(0, 80).map(lambda d: f"2025-{1 + d // 28:02d}-{1 + d % 28:02d} {8 + d % 12:02d}:00"),
    st.sampled_from(["forum", "x"]), _member, st.sampled_from(["inbound", "inbound", "outbound"]),
    st.sampled_from(["post", "reply", "like", "share"]), st.integers(0, 30), st.integers(0, 40),
    st.sampled_from([None, "c1"]), st.sampled_from([None, 10, 500]))
_step = st.one_of(
    st.tuples(st.just("interactions"), st.lists(_row, min_size=1, max_size=12)),
    st.tuples(st.just("members"), st.lists(st.tuples(st.sampled_from(["m1", "m2", "m3", "m5"]), st.booleans(),
                                                     st.sampled_from(["gold", "blue", None])), min_size=1, max_size=4)),
    st.tuples(st.just("transactions"), st.lists(st.tuples(st.sampled_from(["m1", "m2", "m6"]), st.integers(0, 80),
                                                          st.sampled_from([10.0, -5.0, 22.5])), min_size=1, max_size=5)),
    st.tuples(st.just("undo"), st.integers(0, 10)),
)


_GAP = [  # activity moving the span's start earlier by more than 30 days, then undone (a gap once)
    ("interactions", [("2025-02-15 14:00", "x", "m4", "inbound", "reply", 18, 17, None, 500)]),
    ("interactions", [("2025-01-14 09:00", "forum", "m2", "inbound", "reply", 0, 15, None, None)]),
    ("undo", 1),
]
_LATE = [  # activity more than 30 days after the last, then undone
    ("interactions", [("2025-01-03 10:00", "x", "m1", "inbound", "like", 1, 1, None, None)]),
    ("interactions", [("2025-03-20 10:00", "x", "m2", "inbound", "like", 2, 2, None, None)]),
    ("undo", 1),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=6))
@example(steps=_GAP)
@example(steps=_LATE)
def test_incremental_maintenance_equals_a_full_build(make_workspace, write_file, steps):
    S.FULL_BUILD_SHARE, share = 1e9, S.FULL_BUILD_SHARE  # always incremental (a fixture would not reset per example)
    try:
        _apply(make_workspace, write_file, steps)
    finally:
        S.FULL_BUILD_SHARE = share


_RUNS = itertools.count()


def _apply(make_workspace, write_file, steps) -> None:
    con = make_workspace(name=f"inc{next(_RUNS)}")  # a fresh file per example (and per replay)
    loaded: list[int] = []
    for k, (kind, payload) in enumerate(steps):
        if kind == "undo":
            if not loaded:
                continue
            undo_import(con, loaded.pop(payload % len(loaded)))
        else:
            if kind == "interactions":
                rows = [(t, ch, m, d, a, f"{'i' if d == 'inbound' else 'o'}{k}-{j}-{n}",
                         f"i{k - 1}-{r % 3}-{r}" if r % 4 == 0 and k else (f"i{k}-0-{r}" if r % 5 == 0 else None),
                         c, re) for j, (t, ch, m, d, a, n, r, c, re) in enumerate(payload)]
                text = _interactions(rows)
            elif kind == "members":
                text = "member_id,is_employee,segment,joined_at\n" + "".join(
                    f"{m},{str(e).lower()},{s or ''},2024-12-01\n" for m, e, s in payload)
            else:
                text = "member_id,occurred_at,amount,transaction_id\n" + "".join(
                    f"{m},2025-{1 + d // 28:02d}-{1 + d % 28:02d} 10:00,{a},t{k}-{j}\n"
                    for j, (m, d, a) in enumerate(payload))
            report = import_file(con, write_file(f"step{k}.csv", text), dataset=kind)
            if report.rows_loaded or report.rows_updated:
                loaded.append(report.import_id)
        S.sync(con)
        incremental = _snapshot(con)
        S.sync(con, full=True)
        full = _snapshot(con)
        assert incremental == full, [n for n in T.NAMES if incremental[n] != full[n]]


# --- every page metric, derived tables vs the raw-table oracle, on generated data -----------------
PAGE_METRICS = [
    ("active_members", {"grain": "week"}), ("participation_rate", {}), ("activity_per_active_member", {}),
    ("dau_wau_mau", {}), ("dau_wau_mau", {"grain": "month"}), ("stickiness_distribution", {}),
    ("stickiness_distribution", {"grain": "week"}), ("participation_inequality", {}),
    ("participation_lorenz", {}), ("response_rate", {}), ("first_response_time", {"by": "hour_of_week"}),
    ("response_time_distribution", {}), ("customer_responses_per_post", {}), ("activity_heatmap", {}),
    ("channel_presence", {}), ("channel_mix", {"grain": "week"}), ("channels_per_active_member", {}),
    ("identified_share", {}), ("influentials", {}), ("influentials_engaged", {}), ("responder_breadth", {}),
    ("retention", {}), ("retention", {"grain": "week", "window": "on_or_after"}),
    ("retention_breakdown", {"by": "segment"}), ("growth_accounting", {}), ("drifting_members", {}),
    ("retention", {"mode": "recurring", "window": "on_or_after"}), ("retention_breakdown", {"by": "channel"}),
    ("retention", {"cohort_by": "joined_at"}), ("contractual_churn", {}), ("retention", {"activity": "transactions"}),
    ("drifting_members", {"activity": "transactions"}), ("retention", {"start_action": "post", "return_action": "reply"}),
    ("stickiness_distribution", {"grain": "month"}), ("channel_mix", {}), ("participation_rate", {"grain": "week"}),
    ("activity_per_active_member", {"grain": "day"}), ("influentials_engaged", {"grain": "week"}),
    ("influentials", {"top_share": 0.2, "limit": 0}), ("interactions_per_member", {}),
    ("ladder_transitions", {}), ("value_summary", {}), ("value_curves", {}), ("engagement_ladder", {"month": "2025-06"}),
    ("value_over_time", {"grain": "week"}), ("participation_value", {}), ("customer_lifetime_value", {}),
    ("repeat_purchase", {}), ("revenue_per_member", {}), ("referral_summary", {}), ("row_counts", {}),
]
FILTER_SETS = [
    Filters(),
    Filters(start=date(2025, 3, 1), end=date(2025, 8, 31)),  # whole months
    Filters(start=date(2025, 3, 12), end=date(2025, 8, 20)),  # cuts months and weeks
    Filters(channels=("forum", "x")),
    Filters(segments=("Gold",), start=date(2025, 1, 6)),
    Filters(segments=("Gold",), end=date(2031, 12, 31)),  # an end after the data: as no end
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


@pytest.mark.parametrize("name,options", PAGE_METRICS,
                         ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o in PAGE_METRICS])
def test_every_page_metric_equals_the_oracle_under_filters(generated, name, options):
    for filters in FILTER_SETS:
        compute(generated, name, filters, **options)  # asserts derived tables == raw-table oracle


@pytest.mark.parametrize("name,options", PAGE_METRICS,
                         ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o in PAGE_METRICS])
def test_a_result_is_reused_only_for_filters_that_agree_on_what_it_read(generated, name, options):
    """One computer through every filter set (results reused where the filter fields a metric read
    agree) gives what a fresh computer gives for each; and some metric was really reused."""
    from pandas.testing import assert_frame_equal

    from metrics import Computer

    shared = Computer(generated, shared=None)
    for filters in [*FILTER_SETS, *reversed(FILTER_SETS)]:
        fresh = Computer(generated, shared=None).frame(name, filters, **options)
        assert_frame_equal(shared.frame(name, filters, **options), fresh, check_exact=True)


def test_purchase_metrics_ignore_a_channel_filter_and_are_not_computed_again(generated):
    from metrics import Computer

    c = Computer(generated, shared=None)
    first = c.frame("value_over_time", Filters())
    assert c.frame("value_over_time", Filters(channels=("forum",))) is first  # reused, not recomputed
    assert c.frame("value_over_time", Filters(start=date(2025, 3, 1))) is not first
    participation = c.frame("participation_rate", Filters())
    assert c.frame("participation_rate", Filters(channels=("forum",))) is not participation


def test_filter_parameters_are_those_of_filters_params():
    from metrics.source import _FILTER_PARAMS, ReadFilters

    for f in [*FILTER_SETS, Filters(start=date(2025, 1, 1), end=date(2025, 1, 1), channels=("x",))]:
        assert {k: fn(ReadFilters(f)) for k, fn in _FILTER_PARAMS.items()} == f.params()
    seen = ReadFilters(Filters(channels=("x",)))
    assert seen.members_only is False and seen.reads() == (("channels", ("x",)), ("campaigns", ()))


def test_channel_ties_break_the_same_way_everywhere(tmp_path):
    """Date-only exports put many activities at midnight: the first / last channel of a member is
    then a tie, broken by channel name at every level (arg_min / arg_max over (time, channel))."""
    from dataclasses import replace

    from benchmarks.common import load_frames
    from datastore.workspace import open_workspace
    from sample_data.generator import generate

    data = generate(members=200, interactions=8000, seed=5)
    day_only = data.interactions.assign(occurred_at=data.interactions["occurred_at"].dt.floor("D"))
    con = open_workspace(tmp_path / "gen.duckdb")
    load_frames(con, replace(data, interactions=day_only))
    for filters in (Filters(), Filters(segments=("Gold",)), Filters(start=date(2025, 3, 1), end=date(2025, 8, 31))):
        compute(con, "retention_breakdown", filters, by="channel")
        compute(con, "retention_breakdown", filters, by="channel", mode="recurring")
        compute(con, "drifting_members", filters)
    con.close()


def test_purchase_sums_are_exact(tmp_path):
    """Amounts stay DECIMAL until the end: summing DOUBLEs per member-day in another order made RFM
    differ in the last bit, which the CLV fit magnified (no CRM file: purchasers come from the
    transactions only)."""
    from dataclasses import replace

    from benchmarks.common import load_frames
    from datastore.workspace import open_workspace
    from sample_data.generator import generate

    data = generate(members=60, interactions=2000, seed=11)
    con = open_workspace(tmp_path / "gen.duckdb")
    load_frames(con, replace(data, members=data.members.iloc[0:0]))
    for filters in (Filters(), Filters(channels=("x",)), Filters(campaigns=("summer-2025",))):
        compute(con, "customer_lifetime_value", filters)
        compute(con, "value_summary", filters)
    con.close()
