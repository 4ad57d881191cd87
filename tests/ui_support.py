"""Shared AppTest fixtures: a small Sample workspace built once per session, a fresh data
directory per test, and Streamlit's process-global caches cleared around each test.

Use from a test module:  ``from tests.ui_support import app, data_dir, small_sample, texts  # noqa: F401``
"""

from __future__ import annotations

import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from datastore import workspace as ws
from sample_data import build as build_sample


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("sample")
    return str(build_sample.ensure_sample(directory, members=400, interactions=12_000))


@pytest.fixture
def data_dir(tmp_path, small_sample, monkeypatch):
    shutil.copy(small_sample, tmp_path / "Sample.duckdb")
    monkeypatch.setenv(ws.DATA_DIR_ENV, str(tmp_path))
    _router_on_every_run(monkeypatch)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    from ui import db

    db.close_all()  # the app's connections to this test's files
    st.cache_resource.clear()
    st.cache_data.clear()


def _router_on_every_run(monkeypatch) -> None:
    """AppTest starts every run as a server starts its first one: with a pages/ folder present it
    would run the requested page file directly (multipage v1) instead of the router, which only
    a server's very first run after start does (st.navigation turns v1 off for the process). Make
    AppTest runs behave like every later server run: through the router."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def router_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", router_init)


def app(page: str | None = None, **state) -> AppTest:
    """Run the dashboard (optionally switched to ``page``) with session state preset."""
    at = AppTest.from_file("../dashboard.py", default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [t.value for t in at.title] + [s.value for s in at.subheader] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)
