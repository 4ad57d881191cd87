"""Basic metrics every page needs: what is stored, and who is active."""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics.filters import Filters, check_grain
from metrics.periods import spine_cte
from metrics.registry import register
from metrics.source import activity_ctes


@register("row_counts", "Rows, distinct members and date span per canonical table", "rows")
def row_counts(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    from datastore.importer import table_summary

    return table_summary(cur)


@register(
    "active_members",
    "Distinct members with at least one activity (inbound interaction by a known, "
    "non-employee member) in the period",
    "members",
    options={"grain": "day | week | month (default month)"},
    per_period=True,
    section="participation",
)
def active_members(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    check_grain(grain)
    sql = f"""
        WITH {activity_ctes(cur, filters, grain)},
        agg AS (SELECT period, count(DISTINCT mk) AS n, min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY 1),
        bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(lo)::DATE) AS lo,
                          coalesce(CAST($f_end_excl AS DATE) - 1, max(hi)::DATE) AS hi FROM agg),
        {spine_cte(grain)}
        SELECT s.period, coalesce(a.n, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    params = {k: v for k, v in filters.params().items() if f"${k}" in sql}  # DuckDB refuses unused ones
    return cur.execute(sql, params).df()
