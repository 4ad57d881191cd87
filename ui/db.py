"""The one owner of the database in the app, and the view cache.

A root connection per workspace file (``st.cache_resource``) and a cursor per query: DuckDB 2.0
refuses concurrent use of one connection. A page asks for its view with ``view(page, workspace,
filters, settings)``: one call, computed once per (workspace state, filters, settings) and shared by every
session. The key is the derived tables' state (``derived.sync.ensure``), which changes with every
import or undo applied, so nobody ever sees stale numbers; pages reading targets and trials also
key on the plans' version (a plan write bumps it). Views are shared objects: read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import streamlit as st

from datastore import workspace as ws
from derived import sync as derived
from sample_data import build as build_sample
from views import cache as view_cache

MEMORY_LIMIT = os.environ.get("SOCIALCRM_MEMORY_LIMIT", "1GB")  # DuckDB's buffer pool in the app


@st.cache_resource(show_spinner=False)
def _root(path: str) -> duckdb.DuckDBPyConnection:
    con = ws.open_workspace(path)
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # the rest spills to disk; RSS stays bounded
    return con


WARM = os.environ.get("SOCIALCRM_WARM_VIEWS", "1") != "0"  # the tests turn it off (they call views.cache)


def warm(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the pages' default views in the background (``views.cache.warm``)."""
    from views import DEFAULTS

    if WARM:
        view_cache.warm(con, data_directory(), DEFAULTS)


@st.cache_resource(show_spinner="Preparing the sample workspace (first start only)…")
def ensure_sample(directory: str) -> str:
    return str(build_sample.ensure_sample(directory))


def data_directory() -> str:
    return str(ws.data_dir())


def path_of(name: str) -> str:
    return str(ws.workspace_path(name, data_directory()))


_OPENED: set[str] = set()  # workspace files this process has warmed up on first use


def root(name: str) -> duckdb.DuckDBPyConnection:
    path = path_of(name)
    con = _root(path)
    if path not in _OPENED:
        _OPENED.add(path)
        if not derived.stale(con):  # a stale one is brought up to date by the sidebar (with progress), then warmed
            warm(con)
    return con


def cursor(name: str) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the workspace; close it when done (use ``with``)."""
    return root(name).cursor()


def setting(name: str, key: str, default: str | None = None) -> str | None:
    with cursor(name) as cur:
        return ws.get_setting(cur, key, default)


def stale(name: str) -> bool:
    return derived.stale(root(name))


def sync(name: str, progress=None) -> derived.SyncReport:
    """Apply imports and undos to the derived tables (after an import, or on a first open), then
    warm up the pages' default views for the new data in the background."""
    report = derived.sync(root(name), progress)
    if report.mode != "none":
        warm(root(name))
    return report


def view(page: str, workspace: str, filters, settings=None):
    """The page's view (``views.VIEWS[page]``), cached on the data and the arguments: in this
    process, and on disk (``views.cache``: it outlives a restart; the warm-up fills it)."""
    con = root(workspace)
    key = view_cache.key(con, page)
    view_cache.remember(data_directory(), page, settings)
    return _view(path_of(workspace), key, page, filters, settings)


@st.cache_resource(max_entries=24, show_spinner=False)
def _view(path: str, key: view_cache.Key, page: str, filters, settings):
    return view_cache.get(_root(path), page, filters, settings, k=key)


def stored_view(page: str, workspace: str, filters, settings=None):
    """(the view if it is computed already — on disk — else None, whether the background warm-up is
    computing it now): for a part of a page worth computing only when asked (the lifetime-value fit)."""
    con = root(workspace)
    key = view_cache.key(con, page)
    found = view_cache.peek(con, page, filters, settings, k=key)
    return found, found is None and view_cache.pending(con, page, filters, settings, k=key)


def forget(name: str) -> None:
    """Close and drop a workspace's root connection (before deleting or rebuilding its file)."""
    path = path_of(name)
    if Path(path).exists():
        view_cache.stop(path)  # no warm-up may hold the file open
        try:
            con = _root(path)
            with con.cursor() as cur:
                view_cache.forget(path, ws.get_setting(cur, "workspace_id"))
            con.close()
        except duckdb.Error:
            pass
    _OPENED.discard(path)
    _root.clear()
    _view.clear()
