"""The Data page's view: the import history and what is stored."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from datastore.importer import list_imports
from metrics import Filters
from views.common import computer


@dataclass(frozen=True)
class DataView:
    history: pd.DataFrame
    stored: pd.DataFrame


def dates_read(orders: object) -> object:
    """'joined_at: day-first,churned_at: day-first' -> 'day-first' (one order for every date column,
    the usual case), else 'joined_at day-first, churned_at month-first'; empty stays empty."""
    if not isinstance(orders, str) or not orders:
        return orders
    pairs = [p.partition(":")[::2] for p in orders.split(",")]
    kinds = {k.strip() for _, k in pairs}
    if len(kinds) == 1:
        return kinds.pop()
    return ", ".join(f"{f.strip()} {k.strip()}" for f, k in pairs)


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, settings=None) -> DataView:
    history = list_imports(con)
    history["date_order"] = history["date_order"].map(dates_read)
    return DataView(history, computer(con).frame("row_counts"))
