"""Views kept on disk (views.cache): keyed so that a stored view is never stale, shared between
threads without computing twice, warmed up in the background after a change."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from pandas.testing import assert_frame_equal

from datastore.importer import import_file, undo_import
from tests.ui_support import small_sample  # noqa: F401, F811
from views import DEFAULTS, VIEWS
from views import cache as C
from views.common import GrainSettings
from views.overview import OverviewSettings


@pytest.fixture
def ws(tmp_path, small_sample):  # noqa: F811
    import shutil

    from datastore.workspace import open_workspace

    path = tmp_path / "Sample.duckdb"
    shutil.copy(small_sample, path)
    con = open_workspace(path)
    yield con
    con.close()


def _never(*_a):
    raise AssertionError("computed although a stored view was there")


def _stored(con) -> list:
    return sorted(C.key(con, "overview").folder().glob("*.pkl"))


def test_a_view_is_stored_and_read_back_equal(ws):
    filters = C.default_filters(ws)
    first = C.get(ws, "participation", filters, GrainSettings())
    again = C.get(ws, "participation", filters, GrainSettings(), compute=_never)
    assert again is not first  # read from the file
    assert_frame_equal(again.rate, first.rate)
    assert again.tiles == first.tiles
    fresh = VIEWS["participation"](ws, filters, GrainSettings())
    assert again.tiles == fresh.tiles
    # other arguments are other views
    calls = []
    C.get(ws, "participation", filters, GrainSettings("week"), compute=lambda *a: calls.append(a) or "week view")
    assert calls and C.get(ws, "participation", filters, GrainSettings("week"), compute=_never) == "week view"


def test_an_import_or_an_undo_makes_new_views_and_removes_the_old_files(ws, write_file):
    filters = C.default_filters(ws)
    C.get(ws, "participation", filters, GrainSettings())
    before = C.key(ws, "participation")
    assert len(_stored(ws)) == 1
    text = ("occurred_at,channel,member_id,direction,action\n"
            "2026-10-30 10:00,forum,new-member-1,inbound,post\n")
    report = import_file(ws, write_file("more.csv", text), dataset="interactions")
    assert report.status == "loaded"
    after = C.key(ws, "participation")
    assert after.state != before.state
    calls = []
    C.get(ws, "participation", filters, GrainSettings(), compute=lambda *a: calls.append(1) or "after")
    assert calls == [1]
    assert [p.name.split("-")[0] for p in _stored(ws)] == [after.prefix()]  # the old state's file is gone
    undo_import(ws, report.import_id)
    assert C.key(ws, "participation").state not in (before.state, after.state)


def test_pages_reading_plans_or_the_import_log_key_on_their_versions(ws):
    from datastore.workspace import set_setting

    a = C.key(ws, "overview")
    assert C.key(ws, "participation").extra == ""
    set_setting(ws, "plans_version", "99")
    assert C.key(ws, "overview").extra == "99" != a.extra
    assert C.key(ws, "data").extra == C.key(ws, "data").extra


def test_a_damaged_file_is_computed_again(ws):
    filters = C.default_filters(ws)
    C.get(ws, "participation", filters, GrainSettings())
    (path,) = _stored(ws)
    path.write_bytes(b"not a pickle")
    assert C.get(ws, "participation", filters, GrainSettings(), compute=lambda *a: "again") == "again"


def test_two_threads_asking_for_one_view_compute_it_once(ws):
    filters = C.default_filters(ws)
    calls, out = [], []

    def slow(*_a):
        calls.append(1)
        time.sleep(0.5)
        return "the view"

    threads = [threading.Thread(target=lambda: out.append(C.get(ws, "retention", filters, None, compute=slow)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and out == ["the view"] * 3


def test_the_warm_up_computes_the_default_views_with_the_settings_last_used(ws, tmp_path):
    C._RECENT.clear()
    C.remember(tmp_path, "participation", GrainSettings("week"))
    C.remember(tmp_path, "overview", OverviewSettings("month", date(2020, 1, 1)))
    C._RECENT.clear()  # a restart: read back from the data folder
    assert C.requests(tmp_path, DEFAULTS)[:2] == [("overview", OverviewSettings("month", date.today())),
                                                 ("participation", GrainSettings("week"))]
    C.warm(ws, tmp_path, DEFAULTS, background=False, pages=("overview", "participation", "retention"))
    filters = C.default_filters(ws)
    C.get(ws, "participation", filters, GrainSettings("week"), compute=_never)
    C.get(ws, "overview", filters, OverviewSettings("month", date.today()), compute=_never)
    C.get(ws, "retention", filters, DEFAULTS["retention"], compute=_never)  # never used: the default
    with pytest.raises(AssertionError):
        C.get(ws, "development", filters, DEFAULTS["development"], compute=_never)  # not asked for
    C._RECENT.clear()


def test_a_running_warm_up_is_stopped_before_its_file_goes(ws, tmp_path):
    started = threading.Event()

    def slow(*_a):
        started.set()
        time.sleep(0.3)
        return "x"

    C._RECENT.clear()
    original = VIEWS["overview"]
    VIEWS["overview"] = slow
    try:
        thread = C.warm(ws, tmp_path, DEFAULTS)
        assert thread is not None and started.wait(10)
        assert C.warm(ws, tmp_path, DEFAULTS) is None  # one at a time
        C.stop(C.key(ws, "overview").path)
        assert not thread.is_alive()
    finally:
        VIEWS["overview"] = original
    C.forget(C.key(ws, "overview").path, C.key(ws, "overview").workspace_id)
    assert not C.key(ws, "overview").folder().exists()


def test_code_changes_change_the_key(ws, monkeypatch):
    k = C.key(ws, "overview")
    before = k.prefix()
    monkeypatch.setattr(C, "CODE", "other code")
    assert k.prefix() != before


def test_the_warm_up_waits_while_a_page_computes_its_own_view(ws, tmp_path):
    """On two cores a warm-up running next to a person's request halves its speed: it gives way."""
    events: list[str] = []
    page_started, release = threading.Event(), threading.Event()

    def page_view(*_a):
        page_started.set()
        events.append("page start")
        release.wait(10)
        events.append("page end")
        return "page"

    def warm_view(*_a):
        events.append("warm-up")
        return "warm"

    C._RECENT.clear()
    original = VIEWS["overview"]
    VIEWS["overview"] = warm_view
    filters = C.default_filters(ws)
    try:
        asker = threading.Thread(target=C.get, args=(ws, "participation", filters, GrainSettings("week")),
                                 kwargs={"compute": page_view})
        asker.start()
        assert page_started.wait(10)
        thread = C.warm(ws, tmp_path, DEFAULTS, pages=("overview",))
        time.sleep(0.5)
        assert events == ["page start"]  # the warm-up has not started its view
        release.set()
        asker.join(10)
        thread.join(10)
        assert events == ["page start", "page end", "warm-up"]
    finally:
        VIEWS["overview"] = original
        release.set()


def test_the_warm_up_waits_for_a_quiet_moment_and_does_not_load_what_is_stored(ws, tmp_path, monkeypatch):
    """Issue 13: at 10 M a warm-up running while someone changes filters made every change seconds
    slower (with it off: Overview channel change 7.8 -> 4.0 s). It starts a view only when no page has
    asked for one for QUIET seconds, and a view already stored is only checked, not loaded."""
    events: list[str] = []
    monkeypatch.setattr(C, "QUIET", 0.6)
    C._RECENT.clear()
    original = VIEWS["overview"]
    VIEWS["overview"] = lambda *_a: events.append("warm-up") or "warm"
    try:
        C.seen()  # a page just ran
        started = time.monotonic()
        thread = C.warm(ws, tmp_path, DEFAULTS, pages=("overview",))
        time.sleep(0.3)
        assert events == []  # still within the quiet window
        thread.join(10)
        assert events == ["warm-up"] and time.monotonic() - started >= 0.6
        # Stored now: a second warm-up neither computes nor loads it.
        loads: list = []
        monkeypatch.setattr(C, "_load", lambda path: loads.append(path))
        C._LAST_SEEN = 0.0
        C.warm(ws, tmp_path, DEFAULTS, background=False, pages=("overview",))
        assert events == ["warm-up"] and loads == []
    finally:
        VIEWS["overview"] = original
        C._RECENT.clear()
