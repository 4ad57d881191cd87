"""Basic metrics every page needs: what is stored, and who is active."""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics.filters import Filters, activity_cte, check_grain
from metrics.periods import bounds_cte, spine_cte, trunc
from metrics.registry import register


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
        WITH {activity_cte()}, {bounds_cte()}, {spine_cte(grain)},
        agg AS (SELECT {trunc(grain, 'occurred_at')} AS period, count(DISTINCT member_id) AS n
                FROM activity GROUP BY 1)
        SELECT s.period, coalesce(a.n, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return cur.execute(sql, filters.params()).df()
