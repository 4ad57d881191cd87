"""Period spines: every period of the range present, so a period with no activity shows 0."""

from __future__ import annotations

from metrics.filters import check_grain


def bounds_cte(source: str = "activity") -> str:
    """`bounds(lo, hi)`: the filter's dates, else the span of ``source``'s occurred_at."""
    return f"""bounds AS (
        SELECT coalesce(CAST($f_start AS DATE), min(occurred_at)::DATE) AS lo,
               coalesce(CAST($f_end_excl AS DATE) - 1, max(occurred_at)::DATE) AS hi
        FROM {source})"""


def spine_cte(grain: str) -> str:
    """`spine(period)`: the start date of every period between bounds.lo and bounds.hi."""
    g = check_grain(grain)
    return f"""spine AS (
        SELECT CAST(unnest(generate_series(date_trunc('{g}', lo), date_trunc('{g}', hi),
                                           INTERVAL 1 {g})) AS DATE) AS period
        FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi)"""


def trunc(grain: str, column: str) -> str:
    return f"CAST(date_trunc('{check_grain(grain)}', {column}) AS DATE)"
