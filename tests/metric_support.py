"""Helpers for metric tests that build a workspace from hand-written rows."""

from __future__ import annotations

import pandas as pd

from metrics import Filters, get


def insert_rows(con, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` (canonical column names) into ``table`` as import #1."""
    cols = ", ".join(frame.columns)
    con.register("_rows", frame)
    con.execute(f"INSERT INTO {table} ({cols}, import_id, row_hash) SELECT {cols}, 1, 0 FROM _rows")
    con.unregister("_rows")


def compute(con, name: str, filters: Filters | None = None, **options) -> pd.DataFrame:
    """A registered metric by name, with default filters."""
    return get(name).compute(con, filters or Filters(), **options)
