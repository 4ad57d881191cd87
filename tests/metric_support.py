"""Helpers for metric tests that build a workspace from hand-written rows."""

from __future__ import annotations

import pandas as pd

from metrics import Computer, Filters
from tests.oracle import RawSource


def insert_rows(con, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` (canonical column names) into ``table`` as a new import, journalled like the
    importer does (so the derived tables pick the rows up)."""
    cols = ", ".join(frame.columns)
    import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM changes").fetchall()[0][0]
    con.register("_rows", frame)
    con.execute(f"INSERT INTO {table} ({cols}, import_id, row_hash) SELECT {cols}, {import_id}, 0 FROM _rows")
    con.unregister("_rows")
    con.execute("INSERT INTO changes SELECT coalesce(max(change_id), 0) + 1, ?, ?, 'import', now() FROM changes",
                [import_id, table])


def rebuild_derived(con) -> None:
    """After rows were changed behind the importer's back (a DELETE in a test): the next metric
    rebuilds the derived tables from scratch."""
    con.execute("DELETE FROM settings WHERE key = 'derived_state'")


def compute(con, name: str, filters: Filters | None = None, **options) -> pd.DataFrame:
    """A registered metric by name, computed twice: on the derived tables (production) and by
    the raw-table oracle (tests/oracle.py), which must agree exactly. Returns the production frame."""
    prod = Computer(con).frame(name, filters, **options)
    raw = Computer(con, source=RawSource).frame(name, filters, **options)
    pd.testing.assert_frame_equal(prod, raw, obj=f"{name}: derived tables vs raw-table oracle")
    return prod
