"""AppTest of the Participation page: on the Sample, on an empty workspace, and on a workspace
whose interactions never say what they answer (no in_reply_to)."""

from __future__ import annotations

from datastore import workspace as ws
from tests import ui_support
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

data_dir, small_sample = ui_support.data_dir, ui_support.small_sample  # the shared fixtures

PAGE = "pages/participation.py"
TILES = ["Active members", "Participation rate", "Activity per active member", "Response rate",
         "Median first response"]


def test_participation_on_sample(data_dir):
    at = _app(PAGE)
    assert not at.exception, at.exception
    at.sidebar.radio(key="grain").set_value("month").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Participation"]
    shown = {m.label: m.value for m in at.metric}
    for label in TILES + ["Stickiness (DAU / MAU)", "Lurkers", "Absence factor", "Identified share",
                          "Influentials engaged"]:
        assert label in shown and shown[label] != "–", (label, shown.get(label))
    text = _texts(at)
    for heading in ("Activity beats size", "Daily, weekly and monthly active members", "Who carries the community",
                    "Two-way interaction", "When do customers talk, when do we answer?", "Channels",
                    "Known customers and influentials"):
        assert heading in text
    assert "in_reply_to" not in text  # the Sample links replies: no "map a column" message
    influentials = at.dataframe[0].value
    assert len(influentials) > 0 and {"love", "reach", "gravity", "engaged"} <= set(influentials.columns)
    assert len(at.get("download_button")) >= 10  # every chart has its download


def test_participation_views_and_grain(data_dir):
    at = _app(PAGE)
    at.segmented_control(key="part-heat").set_value("Median first response").run()
    assert not at.exception, at.exception
    assert "Median time to our first reply" in _texts(at)
    at.sidebar.radio(key="grain").set_value("week").run()
    assert not at.exception, at.exception
    assert "last complete week" in _texts(at)


def test_participation_on_empty_workspace(data_dir):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(PAGE, ws="Empty")
    assert not at.exception, at.exception
    assert "has no data yet" in _texts(at)


def test_participation_without_in_reply_to(data_dir):
    path = ws.create_workspace("NoReplies", "UTC", data_dir)
    con = ws.open_workspace(path)
    con.execute("""
        INSERT INTO interactions (occurred_at, channel, member_id, action, direction, interaction_id,
                                  import_id, row_hash)
        SELECT TIMESTAMP '2025-01-01 09:00' + INTERVAL (k) HOUR, 'forum', 'M' || (k % 7), 'post',
               CASE WHEN k % 4 = 0 THEN 'outbound' ELSE 'inbound' END, 'I' || k, 1, k
        FROM range(200) t(k)""")
    con.execute("INSERT INTO changes VALUES (1, 1, 'interactions', 'import', now())")  # as the importer journals
    ws.bump_data_version(con)
    con.close()
    at = _app(PAGE, ws="NoReplies")
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Map a column to in_reply_to" in warnings
    shown = {m.label: m.value for m in at.metric}
    assert shown["Active members"] != "–" and shown["Response rate"] == "–"
