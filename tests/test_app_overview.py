"""AppTest of the Overview (the default page): its numbers agree with the Participation, Retention
and Development pages, open targets and trials with alerts, the report button, and an empty workspace."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
from streamlit.proto.Metric_pb2 import Metric

from datastore import workspace as ws
from metrics import Filters, get
from metrics.queries import filter_options
from plans import store as plans
from tests import ui_support
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

data_dir = ui_support.data_dir  # fixtures, used by name
small_sample = ui_support.small_sample

TODAY = date.today()
TILES = ["Active members", "Participation rate", "Response rate", "Median first response", "Month-1 retention",
         "Promoted up the ladder", "Repeat purchase rate", "Targets on track"]


def _tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _clear_plans():
    from ui import db  # the app's own connection (AppTest runs in this process)

    with db.cursor("Sample") as cur:
        cur.execute("DELETE FROM targets")
        cur.execute("DELETE FROM trials")


def test_overview_is_the_landing_page(data_dir):
    at = _app()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Overview"]
    tiles = _tiles(at)
    assert [label for label in TILES if label not in tiles] == []
    for heading in ("Needs attention", "Targets", "Trials running or waiting for a decision", "Active members per month",
                    "Report for management", "What is stored"):
        assert heading in _texts(at), heading
    assert "Download the one-page report (HTML)" in [b.proto.label for b in at.get("download_button")]
    assert len(at.get("vega_lite_chart")) == 1  # active members per month


def test_headline_numbers_are_the_registry_metrics(data_dir):
    at = _app()
    tiles = _tiles(at)
    from ui import db  # the app's own connection: the file is held by it

    with db.cursor("Sample") as cur:
        span = filter_options(cur)["span"]
    flt = Filters(start=span[0], end=span[1])
    rate = get("participation_rate").compute(db.root("Sample"), flt, grain="month")
    last, prev = rate.iloc[-1], rate.iloc[-2]
    assert tiles["Active members"].replace("\u202f", "") == str(int(last["active_members"]))
    assert tiles["Participation rate"] == f"{100 * last['value']:.1f} %"
    delta = next(m for m in at.metric if m.label == "Active members").proto.delta
    assert delta.replace("\u202f", "") == f"{int(last['active_members'] - prev['active_members']):+d}"
    frt = get("first_response_time").compute(db.root("Sample"), flt, grain="month", by="period")
    assert tiles["Response rate"] == f"{100 * frt['response_rate'].iloc[-1]:.1f} %"
    value = get("value_over_time").compute(db.root("Sample"), flt, grain="month")
    assert tiles["Repeat purchase rate"] == f"{100 * value['repeat_purchase_rate'].iloc[-1]:.1f} %"
    # The response-time tile is inverted: faster (a negative change) is good news, in green.
    change = frt["median_hours"].iloc[-1] - frt["median_hours"].iloc[-2]
    median = next(m for m in at.metric if m.label == "Median first response")
    assert median.proto.delta.startswith("-" if change < 0 else "+")
    assert median.proto.color == (Metric.MetricColor.GREEN if change < 0 else Metric.MetricColor.RED)
    # Trend: the last 12 periods as an inline SVG under the tile, green (faster is good news) or red.
    # (Not st.metric's chart_data: Streamlit's Vega sparkline logs "Infinite extent" warnings, issue 15.5.)
    assert not any(m.proto.chart_data for m in at.metric)
    spark = next(m.value for m in at.markdown if 'aria-label="Median first response: the last' in m.value)
    points = re.search(r'points="([^"]+)"', spark).group(1).split()
    assert len(points) == min(12, frt["median_hours"].notna().sum())
    assert ('stroke="#2e9e5b"' if change < 0 else 'stroke="#d1495b"') in spark


def _value(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_numbers_agree_with_the_measure_pages(data_dir):
    overview = _app()
    participation = _app("pages/participation.py")
    for label in ("Active members", "Participation rate", "Response rate", "Median first response"):
        assert _value(overview, label) == _value(participation, label), label
    retention = _app("pages/retention.py")
    assert _value(overview, "Month-1 retention") == _value(retention, "Month-1, latest cohort")
    development = _app("pages/development.py")
    assert _value(overview, "Promoted up the ladder") == _value(development, "Promoted")


def test_overview_follows_the_grain(data_dir):
    at = _app()
    at.session_state["grain"] = "week"  # the sidebar's period picker
    at.run()
    assert not at.exception, at.exception
    assert "Week-1 retention" in _tiles(at) and "Active members per week" in _texts(at)


def test_no_targets_yet_says_what_to_do(data_dir):
    _clear_plans()
    at = _app()
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "No targets yet" in shown and "No trial is running" in shown
    links = [p.proto.page for p in at.get("page_link")]
    assert "plans" in links, links  # the Targets & trials page's url path
    assert _tiles(at)["Targets on track"] == "–"


def test_open_targets_trials_and_alerts(data_dir):
    _clear_plans()
    from ui import db

    start, due = TODAY - timedelta(days=60), TODAY + timedelta(days=30)
    with db.cursor("Sample") as cur:
        # Active members per month are in the tens in the small Sample: 1 is reached, 100,000 is far off.
        plans.create_target(cur, author="t", name="Reached already", metric="active_members", target_value=1,
                            start_date=start, due_date=due, options={"grain": "month"}, owner="Anna")
        plans.create_target(cur, author="t", name="Moonshot <b>", metric="active_members", target_value=100_000,
                            start_date=start, due_date=due, options={"grain": "month"}, owner="Bert")
        plans.create_target(cur, author="t", name="Gone", metric="active_members", target_value=5,
                            start_date=start, due_date=due)
        gone = int(plans.list_targets(cur).iloc[-1]["target_id"])
        plans.archive_target(cur, gone, author="t")
        plans.create_trial(cur, author="t", name="Forum Q&A", hypothesis="More members take part.",
                           change="Weekly Q&A", goal_metric="active_share", treatment={"channels": ["forum"]},
                           start_date=TODAY - timedelta(days=10), end_date=TODAY + timedelta(days=20))
        plans.create_trial(cur, author="t", name="Old one", hypothesis="h", change="c", goal_metric="active_share",
                           start_date=date(2025, 9, 1), end_date=date(2025, 9, 30))
    at = _app()
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "Reached already" in shown and r"Moonshot \<b\>" in shown and "Gone" not in shown  # archived: not shown
    assert ":green-badge[achieved]" in shown and ":red-badge[off track]" in shown
    assert _tiles(at)["Targets on track"] == "1 of 2"
    warnings = [w.value for w in at.warning]
    assert any(w.startswith(r"Target 'Moonshot \<b\>' is off track") for w in warnings), warnings
    assert not any("Reached already" in w for w in warnings)
    assert any("'Old one' ended on 30-09-2025 and waits for a decision" in w for w in warnings)
    assert "Forum Q&A" in shown and ":blue-badge[running]" in shown
    # Progress bars: achieved is full, the moonshot barely moved.
    bars = [p.value for p in at.get("progress")]
    assert len(bars) == 2


def test_overview_on_empty_workspace(data_dir):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(ws="Empty")
    assert not at.exception, at.exception
    assert "has no data yet" in _texts(at)
    assert not at.get("vega_lite_chart") and not at.metric


def test_filters_change_the_numbers(data_dir):
    at = _app()
    all_channels = _tiles(at)["Active members"]
    at.sidebar.multiselect(key="channel").set_value(["forum"]).run()
    assert not at.exception, at.exception
    assert pd.notna(all_channels) and _tiles(at)["Active members"] != all_channels


FORUM_ONLY = (
    "member_id,occurred_at,channel,direction,action\n"
    "M1,2026-09-03 10:00,forum,inbound,post\n"
    "M2,2026-09-04 11:00,forum,inbound,comment\n"
    "M1,2026-10-05 12:00,forum,inbound,post\n"
)


def test_overview_without_replies_or_purchases_says_what_is_missing(data_dir, tmp_path):
    from datastore.importer import import_file

    ws.create_workspace("Forum", "UTC", data_dir)
    path = tmp_path / "forum.csv"
    path.write_text(FORUM_ONLY)
    con = ws.open_workspace(ws.workspace_path("Forum", data_dir))
    assert import_file(con, path).rows_loaded == 3
    con.close()
    at = _app(ws="Forum")
    assert not at.exception, at.exception
    tiles = {m.label: m for m in at.metric}
    # The data ends on 5 October: October is not over, so the tiles show September, the last complete
    # month (M1 and M2: 2); there is no month before it in the data to compare with.
    assert tiles["Active members"].value == "2" and tiles["Active members"].proto.delta == ""
    assert "Period: 2026-09" in tiles["Active members"].proto.help
    for label in ("Response rate", "Median first response"):
        assert tiles[label].value == "–" and "Needs in_reply_to" in tiles[label].proto.help
    assert tiles["Repeat purchase rate"].value == "–" and "Needs purchases" in tiles["Repeat purchase rate"].proto.help
    assert "No targets yet" in _texts(at)


def test_a_target_slipping_to_at_risk_and_a_sample_ratio_mismatch_are_flagged(data_dir):
    _clear_plans()
    from ui import db

    months = get("active_members").compute(db.root("Sample"), Filters(), grain="month")
    october = float(months["value"].iloc[-1])  # the last complete month of the Sample (it ends 31-10-2026)
    with db.cursor("Sample") as cur:
        # Baseline 0 and target october / 0.45: progress = 0.45. 100 days from start to due, 50 gone:
        # expected 0.50 today (0.45 is within 10 points below: at risk) and 0.43 a week ago (on track).
        plans.create_target(cur, author="t", name="Slipping", metric="active_members", baseline=0.0,
                            target_value=october / 0.45, start_date=TODAY - timedelta(days=50),
                            due_date=TODAY + timedelta(days=50), options={"grain": "month"})
        # x and facebook do not get equal numbers of messages: a planned 50/50 split is flagged.
        plans.create_trial(cur, author="t", name="Split test", hypothesis="h", change="c",
                           goal_metric="response_within_1h",
                           treatment={"channels": ["x"]}, control={"channels": ["facebook"]}, planned_split=0.5,
                           start_date=date(2025, 9, 1), end_date=date(2025, 9, 30))
    at = _app()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert ("Target 'Slipping' slipped from on track to at risk: 45 % of the way with 50 % of the time gone "
            "(50 days left).") in warnings, warnings
    assert any(w.startswith("Trial 'Split test': Sample ratio mismatch") for w in warnings), warnings
    assert any("'Split test' ended on 30-09-2025 and waits for a decision" in w for w in warnings)
