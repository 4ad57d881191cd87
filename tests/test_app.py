"""AppTest of every page, on the Sample workspace and on an empty one, and of the Data page flow."""

from __future__ import annotations

import sys

import pytest
from streamlit.testing.v1 import AppTest

from datastore import workspace as ws
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

PAGES = ["pages/overview.py", "pages/data.py", "pages/members.py", "pages/posts.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_on_sample(data_dir, page):
    at = _app(page)
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="ws").value == "Sample"
    assert len(at.title) == 1


ALL_PAGES = ["pages/overview.py", "pages/plans.py", "pages/participation.py", "pages/retention.py",
             "pages/development.py", "pages/data.py", "pages/members.py", "pages/posts.py"]


@pytest.mark.parametrize("page", ALL_PAGES)
def test_tables_show_an_empty_cell_as_a_dash_not_none(data_dir, page):
    """Streamlit writes "None" in a table cell that has no value; every table says "–" instead."""
    at = _app(page)
    if page == "pages/members.py":  # a member's timeline: after a search
        at.text_input(key="member_q").input("M0000").run()
    assert not at.exception, at.exception
    tables = at.dataframe
    assert tables, "the page shows a table on the Sample"
    assert [t.proto.placeholder for t in tables] == ["–"] * len(tables)


@pytest.mark.parametrize("page", PAGES)
def test_page_on_empty_workspace(data_dir, page):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(page, ws="Empty")
    assert not at.exception, at.exception
    if page != "pages/data.py":
        assert "has no data yet" in _texts(at)


def test_overview_shows_what_is_stored(data_dir):
    at = _app()  # the Overview is the landing page; Home's "what is stored" sits at its bottom
    labels = [m.label for m in at.metric]
    assert "Members (CRM)" in labels and "Interactions" in labels
    members = next(m for m in at.metric if m.label == "Members (CRM)")
    assert members.value.replace("\u202f", "") == "400"


# Filters surviving a page switch after clicking them is tested in the real browser
# (tests/test_browser.py): AppTest resends default values for widgets whose state was set
# through Session State, so it cannot exercise that interaction.


def test_link_with_query_params_reproduces_the_view(data_dir):
    at = AppTest.from_file("../dashboard.py", default_timeout=60)
    at.query_params["channel"] = "forum"
    at.query_params["grain"] = "week"
    at.query_params["from"] = "2025-01-01"
    at.run()
    assert at.sidebar.multiselect(key="channel").value == ["forum"]
    assert at.sidebar.radio(key="grain").value == "week"
    assert at.sidebar.date_input(key="dates").value[0].isoformat() == "2025-01-01"


def test_members_search_and_timeline(data_dir):
    at = _app("pages/members.py")
    at.text_input(key="member_q").input("M0000").run()
    assert not at.exception, at.exception
    assert any(m.label == "Segment" for m in at.metric)
    assert len(at.dataframe) >= 1 and len(at.dataframe[0].value) > 0


DUTCH = (
    "Klantnummer;Datum;Kanaal;Richting;Bericht\n"
    "M00001;31-12-2025 14:05;Twitter;klant;Waar blijft mijn koffer?\n"
    "M00002;01-01-2026 09:30;FB;klant;Dank voor de snelle hulp € 10\n"
    "M00003;niet-een-datum;forum;klant;kapot\n"
).encode("cp1252")


def test_data_page_upload_map_import_report(data_dir):
    at = _app("pages/data.py")
    assert not at.exception
    at.file_uploader(key="uploads-Sample").upload("berichten.csv", DUTCH, "text/csv")
    at.run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Encoding"] == "cp1252"
    assert shown["Goes into"] == "interactions"
    import_buttons = [b for b in at.button if b.label.startswith("Import berichten.csv")]
    assert import_buttons, [b.label for b in at.button]
    import_buttons[0].click().run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Loaded"] == "2" and shown["Rejected"] == "1"
    assert any("rows loaded into interactions" in w.value for w in at.warning)
    # A rerun with the file still in the uploader must not import it again.
    at.run()
    assert not [b for b in at.button if b.label.startswith("Import berichten.csv")]
    from ui import db  # the app's own connection (AppTest runs in this process)

    with db.cursor("Sample") as cur:
        rows = cur.execute(
            "SELECT count(*) FROM imports WHERE file_name = 'berichten.csv'").fetchall()[0][0]
        stored = cur.execute(
            "SELECT channel, member_id FROM interactions WHERE import_id = "
            "(SELECT max(import_id) FROM imports) ORDER BY occurred_at").fetchall()
    assert rows == 1
    assert stored == [("x", "M00001"), ("facebook", "M00002")]
    # Undo it from the history (after confirming): exactly its 2 rows go, the derived tables follow.
    from derived import sync

    with db.cursor("Sample") as cur:
        before = cur.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
        last = cur.execute("SELECT max(import_id) FROM imports").fetchall()[0][0]
    [s for s in at.selectbox if s.label == "Undo an import"][0].set_value(last).run()
    [b for b in at.button if b.label == "Undo import…"][0].click().run()
    [b for b in at.button if b.label == "Undo the import"][0].click().run()
    assert not at.exception, at.exception
    with db.cursor("Sample") as cur:
        after = cur.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
        status = cur.execute("SELECT status FROM imports WHERE import_id = ?", [last]).fetchall()[0][0]
        assert not sync.stale(cur)
    assert (before - after, status) == (2, "undone")


def test_uploads_are_streamed_to_disk_once_and_deleted_after_import_or_removal(data_dir, monkeypatch):
    """Issue 14.10: a 150 MB upload cost 303 MB (a getvalue() copy next to Streamlit's own) and
    stayed on disk until the server exited."""
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from ui import uploads

    real = UploadedFile.getvalue

    def no_copy(self):  # AppTest itself re-reads its files; the app must not
        caller = sys._getframe(1).f_code.co_filename
        assert "/pages/" not in caller and "/ui/" not in caller, f"the upload was copied into memory ({caller})"
        return real(self)

    monkeypatch.setattr(UploadedFile, "getvalue", no_copy)
    at = _app("pages/data.py")
    other = b"occurred_at,channel,text\n2025-01-02,forum,hello\n"
    at.file_uploader(key="uploads-Sample").set_value([("berichten.csv", DUTCH, "text/csv"),
                                                      ("other.csv", other, "text/csv")])
    at.run()
    assert not at.exception, at.exception
    staged = {p.name: p.read_bytes() for p in uploads._folder().iterdir()}
    assert sorted(staged.values()) == sorted([DUTCH, other])  # byte for byte, one file each
    [b for b in at.button if b.label.startswith("Import berichten.csv")][0].click().run()
    assert not at.exception, at.exception
    left = [p.read_bytes() for p in uploads._folder().iterdir()]
    assert left == [other]  # the imported one is gone, the other still waits
    assert any("Rows read" == m.label for m in at.metric)  # its report still shows
    at.file_uploader(key="uploads-Sample").set_value([("berichten.csv", DUTCH, "text/csv")])
    at.run()  # other.csv taken out of the uploader: its file goes too
    assert not at.exception, at.exception
    assert not [p for p in uploads._folder().iterdir() if p.read_bytes() == other]


def test_the_app_lends_an_idle_workspace_to_another_process_and_waits_for_it(data_dir, monkeypatch):
    """Issue 14.7: the dashboard held every workspace it opened for its lifetime, so a CLI import
    next to it always failed. Idle root connections are closed; while another process holds the
    file a page says so (and looks again) instead of failing."""
    import subprocess
    import sys
    import time

    from ui import db

    at = _app("pages/overview.py")
    assert not at.exception, at.exception
    path = db.path_of("Sample")
    assert path in db._CONS
    with db.in_use():  # a script run in progress: nothing is released
        assert db.release_idle(0) == []
    assert db.release_idle(0) == [path] and path not in db._CONS
    holder = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"  # the CLI's turn: it could open the file
        import streamlit as st

        again = []
        monkeypatch.setattr(time, "sleep", lambda _s: None)  # the page's pause before it looks again
        monkeypatch.setattr(st, "rerun", lambda: again.append(1))  # (AppTest would loop while it is held)
        at.run()
        assert not at.exception, at.exception
        assert again == [1]  # it looks again by itself
        assert any("is being changed by another process (PID " in i.value for i in at.info), \
            [i.value for i in at.info]
    finally:
        holder.communicate("")
    at.run()  # released: the page is back
    assert not at.exception, at.exception
    assert not any("being changed by another process" in i.value for i in at.info)
    assert path in db._CONS


def test_the_history_says_how_dates_were_read_in_a_few_words():
    """Issue 15.5: 'dates read' was cut off ('occurred_at: d…'): one order for all date columns is
    one word; only when the columns differ is each named."""
    from datastore.importer import dates_read

    assert dates_read({"occurred_at": "day-first"}) == "day-first"
    assert dates_read({"joined_at": "day-first", "churned_at": "day-first"}) == "day-first"
    assert dates_read({"joined_at": "day-first", "churned_at": "month-first"}) == \
        "joined_at day-first, churned_at month-first"
    assert dates_read(None) is None


def test_a_first_start_builds_the_sample_with_progress_that_says_what_happens(tmp_path, monkeypatch):
    """Issue 15.13: the first view of a fresh install took 11 s behind one spinner. The Sample build
    reports each step (generating, each import, the tables the pages read, the example plans) on a
    progress bar, and the page opens on the Sample when it is done."""
    import streamlit as st

    from sample_data import build as build_sample
    from tests.ui_support import _router_on_every_run
    from ui import db

    monkeypatch.setenv(ws.DATA_DIR_ENV, str(tmp_path))
    _router_on_every_run(monkeypatch)
    st.cache_resource.clear()
    heard: list[tuple[float, str]] = []
    real = build_sample.ensure_sample

    def small(directory, reset=False, progress=None, **_):
        def hear(f, t):
            heard.append((f, t))
            progress(f, t)
        return real(directory, reset=reset, members=150, interactions=2_000, progress=hear)

    monkeypatch.setattr(build_sample, "ensure_sample", small)
    try:
        at = _app()
        assert not at.exception, at.exception
        assert (tmp_path / "Sample.duckdb").exists()
        texts = [t for _, t in heard]
        assert texts[0].startswith("Generating a sample community: 150 members, 2,000 interactions")
        assert any(t.startswith("Importing crm_leden.csv into members (1 of 9)") for t in texts), texts
        assert any(t.startswith("Preparing the tables the pages read") for t in texts), texts
        assert texts[-1] == "Adding example targets and trials"
        fractions = [f for f, _ in heard]
        assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1
        assert [e.label for e in at.main if type(e).__name__ == "Status"] == ["The Sample workspace is ready"]
        assert "Active members" in [m.label for m in at.metric]  # and the Overview opened on it
        rerun = _app()  # a later run builds nothing
        assert not rerun.exception and len(heard) == len(texts)
    finally:
        db.close_all()


def test_posts_page_on_the_sample_shows_networks_best_time_and_audience(data_dir):
    at = _app("pages/posts.py")
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert labels[:5] == ["Posts published", "Engagements", "Engagement rate", "Follower growth",
                          "Engagements per 1,000 followers"]
    assert all(m.value != "–" for m in at.metric[:4]), [(m.label, m.value) for m in at.metric]
    assert any("Best time so far" in s.value for s in at.success)
    at.segmented_control(key="posts_rank").set_value("engagements").run()
    assert not at.exception, at.exception
    top = at.dataframe[0].value
    assert top["engagements"].is_monotonic_decreasing
    overview = _app("pages/overview.py")
    shown = {m.label: m.value for m in overview.metric}
    assert shown["Engagement rate"] != "–" and shown["Follower growth"] != "–"
