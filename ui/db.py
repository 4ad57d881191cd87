"""The one owner of the database in the app, and the view cache.

A root connection per workspace file and a cursor per query: DuckDB 2.0 refuses concurrent use of
one connection. The app lends a workspace to other processes (the CLI): a root connection that no
script run, warm-up or background view used for ``IDLE_RELEASE`` seconds is closed (DuckDB's file
lock goes with it) and opened again on the next use; while another process holds the file the
page says so and tries again (``WorkspaceBusy``). A page asks for its view with ``view(page, workspace,
filters, settings)``: one call, computed once per (workspace state, filters, settings) and shared by every
session. The key is the derived tables' state (``derived.sync.ensure``), which changes with every
import or undo applied, so nobody ever sees stale numbers; pages reading targets and trials also
key on the plans' version (a plan write bumps it). Views are shared objects: read-only.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import streamlit as st

from datastore import workspace as ws
from derived import sync as derived
from sample_data import build as build_sample
from views import cache as view_cache

MEMORY_LIMIT = os.environ.get("SOCIALCRM_MEMORY_LIMIT", "1GB")  # DuckDB's buffer pool in the app


IDLE_RELEASE = float(os.environ.get("SOCIALCRM_IDLE_RELEASE", "60"))  # seconds; 0: never release

_CONS: dict[str, duckdb.DuckDBPyConnection] = {}
_USED: dict[str, float] = {}
_CONS_LOCK = threading.RLock()
_RUNS = [0]  # script runs in progress (a run may hold cursors: nothing is released meanwhile)
_REAPER: list[threading.Thread] = []


class WorkspaceBusy(Exception):
    """Another process (an import from the command line) holds the workspace file."""


def _root(path: str) -> duckdb.DuckDBPyConnection:
    with _CONS_LOCK:
        _USED[path] = time.monotonic()
        con = _CONS.get(path)
        if con is None:
            try:
                con = ws.open_workspace(path)
            except duckdb.IOException as exc:
                pid = ws.lock_holder(exc)
                if pid is None:
                    raise
                raise WorkspaceBusy(f"{Path(path).stem} is being changed by another process"
                                    f"{f' ({pid})' if pid else ''}, e.g. an import from the command line.") from None
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")  # the rest spills to disk; RSS stays bounded
            _CONS[path] = con
            _start_reaper()
        return con


@contextmanager
def in_use():
    """Around a script run: no workspace is released while it runs."""
    with _CONS_LOCK:
        _RUNS[0] += 1
    try:
        yield
    finally:
        with _CONS_LOCK:
            _RUNS[0] -= 1
            now = time.monotonic()
            for path in _CONS:  # idle counts from the end of the last run
                _USED[path] = now


def release_idle(idle: float | None = None) -> list[str]:
    """Close the root connections unused for ``idle`` seconds (none while a script run, a warm-up
    or a background view is busy); returns the files released."""
    idle = IDLE_RELEASE if idle is None else idle
    released = []
    with _CONS_LOCK:
        if _RUNS[0]:
            return released
        now = time.monotonic()
        for path in list(_CONS):
            if now - _USED.get(path, now) >= idle and not view_cache.busy(path):
                _close(path)
                released.append(path)
    return released


def _close(path: str) -> None:
    con = _CONS.pop(path, None)
    _USED.pop(path, None)
    if con is not None:
        try:
            con.close()
        except duckdb.Error:
            pass


def close_all() -> None:
    with _CONS_LOCK:
        for path in list(_CONS):
            view_cache.stop(path)
            _close(path)


def _start_reaper() -> None:
    if IDLE_RELEASE <= 0 or (_REAPER and _REAPER[0].is_alive()):
        return

    def loop() -> None:
        while True:
            time.sleep(max(1.0, min(5.0, IDLE_RELEASE / 4)))
            try:
                release_idle()
            except Exception:  # noqa: BLE001 - never let the reaper die of one bad file
                pass

    _REAPER[:] = [threading.Thread(target=loop, name="socialcrm-release-idle", daemon=True)]
    _REAPER[0].start()


WARM = os.environ.get("SOCIALCRM_WARM_VIEWS", "1") != "0"  # the tests turn it off (they call views.cache)


def warm(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the pages' default views in the background (``views.cache.warm``)."""
    from views import DEFAULTS

    if WARM:
        view_cache.warm(con, data_directory(), DEFAULTS)


_SAMPLE_LOCK = threading.Lock()  # one Sample build per process: other sessions wait for it


def sample_ready(directory: str) -> bool:
    return ws.workspace_path(ws.SAMPLE, directory).exists()


def ensure_sample(directory: str, progress=None, *, reset: bool = False) -> str:
    """The Sample workspace, built on first start (or rebuilt: ``reset``); ``progress(fraction,
    text)`` hears each step of the build."""
    if reset:
        forget(ws.SAMPLE)
    with _SAMPLE_LOCK:
        return str(build_sample.ensure_sample(directory, reset=reset, progress=progress))


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
    view_cache.seen()  # the warm-up keeps out of the way while someone uses the pages
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
        with _CONS_LOCK:
            try:
                con = _root(path)
                with con.cursor() as cur:
                    view_cache.forget(path, ws.get_setting(cur, "workspace_id"))
            except (duckdb.Error, WorkspaceBusy):
                pass
            _close(path)
    _OPENED.discard(path)
    _view.clear()
