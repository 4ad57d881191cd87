"""The one owner of the database in the app.

A cached root connection per workspace file (``st.cache_resource``) and a cursor per query:
DuckDB 2.0 refuses concurrent use of one connection. Query results are cached keyed by the
workspace's data version, so every session sees a new import at once and nothing stale.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from datastore import rollups
from datastore import workspace as ws
from metrics import Filters, get


@st.cache_resource(show_spinner="Opening the workspace…")
def _root(path: str) -> duckdb.DuckDBPyConnection:
    con = ws.open_workspace(path)
    rollups.ensure(con)  # a workspace from before the rollups (imports keep them fresh)
    return con


@st.cache_resource(show_spinner="Preparing the sample workspace (first start only)…")
def ensure_sample(directory: str) -> str:
    return str(ws.ensure_sample(directory))


def data_directory() -> str:
    return str(ws.data_dir())


def path_of(name: str) -> str:
    return str(ws.workspace_path(name, data_directory()))


def root(name: str) -> duckdb.DuckDBPyConnection:
    return _root(path_of(name))


def cursor(name: str) -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the workspace; close it when done (use ``with``)."""
    return root(name).cursor()


def version(name: str) -> int:
    with cursor(name) as cur:
        return ws.data_version(cur)


def setting(name: str, key: str, default: str | None = None) -> str | None:
    with cursor(name) as cur:
        return ws.get_setting(cur, key, default)


@st.cache_data(show_spinner=False, max_entries=512)
def _metric(path: str, data_version: int, metric: str, filters: Filters, options: tuple) -> pd.DataFrame:
    return get(metric).compute(_root(path), filters, **dict(options))


def metric(name: str, metric_name: str, filters: Filters | None = None, **options) -> pd.DataFrame:
    """A registered metric on workspace ``name``, cached until the data changes."""
    return _metric(path_of(name), version(name), metric_name, filters or Filters(), tuple(sorted(options.items())))


@st.cache_data(show_spinner=False, max_entries=512)
def _call(path: str, data_version: int, fn_path: str, args: tuple, kwargs: tuple):
    module, fn = fn_path.rsplit(".", 1)
    import importlib

    func = getattr(importlib.import_module(module), fn)
    with _root(path).cursor() as cur:
        return func(cur, *args, **dict(kwargs))


def call(name: str, fn, *args, **kwargs):
    """Any data-layer function ``fn(cursor, *args, **kwargs)``, cached until the data changes."""
    return _call(path_of(name), version(name), f"{fn.__module__}.{fn.__name__}", args, tuple(sorted(kwargs.items())))


def forget(name: str) -> None:
    """Close and drop a workspace's root connection (before deleting or rebuilding its file)."""
    path = path_of(name)
    if Path(path).exists():
        try:
            _root(path).close()
        except duckdb.Error:
            pass
    _root.clear()
    _metric.clear()
    _call.clear()
