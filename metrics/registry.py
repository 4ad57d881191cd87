"""The metric registry: every metric is data (name, description, unit, options) plus a function.

A metric function takes a DuckDB connection or cursor, a ``Filters`` and keyword options, and
returns a pandas DataFrame. ``python -m metrics list`` and ``compute`` read this registry; the
targets of issue 8 use the metrics marked ``per_period`` (one number per period).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from metrics.filters import Filters

MetricFn = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str
    fn: MetricFn
    options: dict[str, str] = field(default_factory=dict)
    per_period: bool = False  # returns columns period, value
    section: str = "data"

    def compute(self, con: duckdb.DuckDBPyConnection, filters: Filters | None = None, **options) -> pd.DataFrame:
        unknown = set(options) - set(self.options)
        if unknown:
            raise ValueError(f"{self.name} has no option(s) {', '.join(sorted(unknown))}")
        cur = con.cursor()
        try:
            return self.fn(cur, filters or Filters(), **options)
        finally:
            cur.close()


REGISTRY: dict[str, Metric] = {}


def register(
    name: str, description: str, unit: str, *, options: dict[str, str] | None = None,
    per_period: bool = False, section: str = "data",
) -> Callable[[MetricFn], MetricFn]:
    def deco(fn: MetricFn) -> MetricFn:
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        REGISTRY[name] = Metric(name, description, unit, fn, dict(options or {}), per_period, section)
        return fn

    return deco


def get(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown metric {name!r}; `python -m metrics list` shows them all.") from None
