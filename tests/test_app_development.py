"""AppTest of the Development page: on the Sample workspace (all sections, settings, month
picker), on a workspace without transactions and on an empty workspace."""

from __future__ import annotations

from datastore import workspace as ws
from tests import ui_support
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

data_dir = ui_support.data_dir  # fixtures, used by name
small_sample = ui_support.small_sample

PAGE = "pages/development.py"
HEADINGS = ("Engagement ladder", "Promotions and demotions", "Customer stages", "Value per member",
            "Customer lifetime value", "Participation and value", "Referrals")


def _downloads(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_development_page_on_sample(data_dir):
    at = _app(PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Development"]
    shown = _texts(at)
    for heading in HEADINGS:
        assert heading in shown, heading
    assert "No transactions loaded" not in shown
    labels = [m.label for m in at.metric]
    assert "Repeat buyers" in labels and "Per referrer" in labels and "Contributors+" in labels
    assert len(at.get("vega_lite_chart")) >= 10
    assert _downloads(at).count("Download CSV") >= 7
    assert not any("p_alive" in d.value.columns for d in at.dataframe)  # the fit waits to be asked for
    at.button(key="dev_clv_fit").click().run()
    assert not at.exception, at.exception
    assert _downloads(at).count("Download CSV") >= 8
    top = at.dataframe[1].value  # the rates table, then the top customers by CLV
    assert "p_alive" in top.columns and top["clv"].is_monotonic_decreasing and top["p_alive"].between(0, 1).all()


def test_a_stored_lifetime_value_fit_is_shown_without_asking(data_dir):
    from metrics.development import ClvOptions
    from views import cache as view_cache

    con = ws.open_workspace(data_dir / "Sample.duckdb")
    span = view_cache.default_filters(con)
    con.close()
    at = _app(PAGE)
    assert not at.button(key="dev_clv_fit").disabled  # not stored yet: offered
    con = ws.open_workspace(data_dir / "Sample.duckdb")  # what the warm-up does after an import
    view_cache.get(con, "development_clv", span, ClvOptions())
    con.close()
    at.run()
    assert not at.exception, at.exception
    assert not any(b.key == "dev_clv_fit" for b in at.button)
    assert any("p_alive" in d.value.columns for d in at.dataframe)


def test_development_settings_and_month(data_dir):
    at = _app(PAGE)
    at.button(key="dev_clv_fit").click().run()
    months = at.select_slider(key="dev_month").options
    at.select_slider(key="dev_month").set_value(months[0]).run()
    assert not at.exception, at.exception
    at.number_input(key="dev_contributor").set_value(4).run()
    at.segmented_control(key="dev_unit").set_value("day").run()
    assert not at.exception, at.exception
    at.session_state["grain"] = "week"
    at.run()
    assert not at.exception, at.exception


def test_development_page_without_transactions(data_dir):
    from datastore.importer import undo_import

    con = ws.open_workspace(data_dir / "Sample.duckdb")
    undo_import(con, con.execute("SELECT import_id FROM imports WHERE dataset = 'transactions'").fetchall()[0][0])
    con.close()
    at = _app(PAGE)
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "No transactions loaded yet" in shown and "Engagement ladder" in shown
    assert "Customer lifetime value" not in shown


def test_development_page_on_empty_workspace(data_dir):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(PAGE, ws="Empty")
    assert not at.exception, at.exception
    assert "has no data yet" in _texts(at)
    assert not at.get("vega_lite_chart")
