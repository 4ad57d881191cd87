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


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, settings=None) -> DataView:
    return DataView(list_imports(con), computer(con).frame("row_counts"))
