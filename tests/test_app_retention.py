"""AppTest of the Retention page: on the Sample workspace (interactions and purchases, toggles,
breakdown, call list) and on an empty workspace."""

from __future__ import annotations

from datastore import workspace as ws
from tests import ui_support
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

data_dir = ui_support.data_dir  # fixtures, used by name
small_sample = ui_support.small_sample

PAGE = "pages/retention.py"


def _downloads(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_retention_page_on_sample(data_dir):
    at = _app(PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Retention"]
    shown = _texts(at)
    for heading in ("Cohorts", "Retention curves", "Churn over time", "Lifecycle: where the active members come from",
                    "Who stays: by channel or segment", "Who to win back"):
        assert heading in shown, heading
    labels = [m.label for m in at.metric]
    grain = at.session_state["grain"]
    assert f"Mean {grain}-1 retention" in labels and "Quick ratio" in labels
    assert len(at.get("vega_lite_chart")) >= 5  # heatmap, curves, trend, churn, lifecycle, ...
    assert _downloads(at).count("Download CSV") >= 5 and "Download call list" in _downloads(at)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) > 0  # the call list


def test_retention_page_toggles(data_dir):
    at = _app(PAGE)
    at.segmented_control(key="ret_show").set_value("count").run()
    assert not at.exception, at.exception
    at.segmented_control(key="ret_mode").set_value("recurring").run()
    at.segmented_control(key="ret_window").set_value("on_or_after").run()
    assert not at.exception, at.exception
    at.segmented_control(key="ret_by").set_value("segment").run()
    assert not at.exception, at.exception
    at.number_input(key="ret_n").set_value(2).run()
    at.session_state["grain"] = "week"  # the sidebar's period picker
    at.run()
    assert not at.exception, at.exception
    assert "Mean week-1 retention" in [m.label for m in at.metric]


def test_repeat_purchase_retention_is_one_switch_away(data_dir):
    at = _app(PAGE)
    at.segmented_control(key="ret_source").set_value("transactions").run()
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "first purchase" in shown and "No purchases loaded" not in shown
    assert "Download call list" in _downloads(at)


def test_cohort_by_joined_date_and_actions(data_dir):
    at = _app(PAGE)
    at.radio(key="ret_cohort_by").set_value("joined_at").run()
    assert not at.exception, at.exception
    at.radio(key="ret_cohort_by").set_value("first_activity").run()
    at.selectbox(key="ret_start").set_value("post").run()
    at.selectbox(key="ret_return").set_value("reply").run()
    assert not at.exception, at.exception


def test_retention_page_on_empty_workspace(data_dir):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(PAGE, ws="Empty")
    assert not at.exception, at.exception
    assert "has no data yet" in _texts(at)
    assert not at.get("vega_lite_chart")
