"""Basic metrics every page needs: what is stored, and who is active."""

from __future__ import annotations

import pandas as pd

from metrics.options import GrainOptions, Options
from metrics.periods import spine_cte
from metrics.registry import measure
from metrics.source import Source


@measure("row_counts", "Rows, distinct members and date span per canonical table", "rows", "data",
         reads=("events", "member_dim", "purchase_day"), higher_is_better=None)
def row_counts(src: Source, o: Options) -> pd.DataFrame:
    """Columns: table, rows, members, first_date, last_date (members: the span of joined_at)."""
    return src.run(src.stored())


@measure("active_members",
         "Distinct members with at least one activity (inbound interaction by a known, "
         "non-employee member) in the period", "members", "participation", options=GrainOptions,
         per_period=True, reads=("activity",))
def active_members(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, value; every period of the range (else of the activity), 0 when quiet."""
    sql = f"""
        WITH {src.activity(o.grain)},
        agg AS (SELECT period, count(DISTINCT mk) AS n, min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY 1),
        bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(lo)::DATE) AS lo,
                          coalesce(CAST($f_end_excl AS DATE) - 1, max(hi)::DATE) AS hi FROM agg),
        {spine_cte(o.grain)}
        SELECT s.period, coalesce(a.n, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql)
