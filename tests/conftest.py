"""Shared fixtures: temporary workspaces and files. Nothing here touches ./workspaces."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from datastore.workspace import open_workspace  # noqa: E402

# No background warm-up of views in the app under test (AppTest runs in this process; the
# servers the browser tests start inherit it): tests/test_view_cache.py drives it directly.
os.environ.setdefault("SOCIALCRM_WARM_VIEWS", "0")
os.environ.setdefault("SOCIALCRM_WARM_QUIET", "0")  # tests that warm up do not wait for a quiet moment
os.environ.setdefault("SOCIALCRM_IDLE_RELEASE", "0")  # tests release workspaces explicitly (db.release_idle)


@pytest.fixture(scope="session")
def _workspace_template(tmp_path_factory) -> Path:
    """A new, migrated, empty UTC workspace file; tests get copies (creating one costs more)."""
    path = tmp_path_factory.mktemp("template") / "ws.duckdb"
    open_workspace(path).close()
    return path


@pytest.fixture
def make_workspace(tmp_path: Path, _workspace_template: Path) -> Iterator[Callable[..., duckdb.DuckDBPyConnection]]:
    """Factory: ``make_workspace(time_zone=None, name="ws")`` opens a fresh workspace file in
    tmp_path; every connection it opened is closed after the test."""
    opened: list[duckdb.DuckDBPyConnection] = []

    def make(time_zone: str | None = None, name: str = "ws") -> duckdb.DuckDBPyConnection:
        path = tmp_path / "workspaces" / f"{name}.duckdb"
        if time_zone is None and name == "ws" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_workspace_template, path)
        con = open_workspace(path, time_zone=time_zone)
        opened.append(con)
        return con

    yield make
    for con in opened:
        try:
            con.close()
        except duckdb.Error:
            pass


@pytest.fixture
def workspace(make_workspace) -> duckdb.DuckDBPyConnection:
    """A fresh workspace connection (time zone UTC) in tmp_path."""
    return make_workspace()


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """``write_file(name, content, encoding="utf-8")``: write bytes (or text, encoded) to
    tmp_path/files/name and return the path."""

    def write(name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode(encoding) if isinstance(content, str) else content
        path.write_bytes(data)
        return path

    return write


# AppTest fixtures shared by every page's tests (a small Sample built once per session).
from tests.ui_support import data_dir, small_sample  # noqa: E402, F401


def pytest_sessionfinish(session, exitstatus) -> None:
    """Drop what the app under test keeps open in this process (AppTest's cached root connections,
    stored views) before the interpreter exits, so DuckDB's bindings do not print a list of "leaked"
    objects after a green run (a newcomer reads it as a failure)."""
    import gc

    import streamlit as st

    from metrics.registry import SHARED

    if "ui.db" in sys.modules:
        sys.modules["ui.db"].close_all()
    st.cache_resource.clear()
    st.cache_data.clear()
    SHARED.clear()
    gc.collect()
