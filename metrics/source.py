"""Where a metric reads activity from: the importer's rollups when they answer exactly, else the raw tables.

``activity_ctes`` returns two CTEs with the same columns on either path, so a metric is written
once:

* ``mdim(mk, member_id, in_crm, is_employee, name, email, segment, joined_at, churned_at, followers,
  lifecycle_stage, referred_by)``: the members in the CRM (latest version of each).
* ``activity(period, mk, channel, n, first_at, last_at, max_reach)``: activity (inbound, known,
  non-employee member) under the filters, as *partial aggregates* per period start at the
  requested grain: a member can have several rows in one period, so always aggregate
  (``sum(n)``, ``min(first_at)``, ``max(last_at)``, ``count(DISTINCT mk)``).
* ``ids(mk, member_id)``: the member id of a key (for output), members outside the CRM included.

``mk`` is the member key: the integer ``member_dim.mk`` on the rollup path, the ``member_id``
text on the raw path (both sort like member_id). Rollups are used when they are fresh (built
from the current data version), there is no campaign filter (they do not keep campaigns), and
the date filter either covers whole periods of the grain (then the per-grain table is read) or
not (then the per-day table is read and regrouped). Everything else reads ``interactions``.

Narrower shortcuts for the default view (no channel filter): ``member_months`` (one row per member
and active month, from ``active_months``) and ``member_totals`` (one row per active member over the
range, from ``member_activity`` when the range holds all activity); ``exact_rows`` tells whether
the activity rows are stored ones (one per period x member x channel, so ``count(*)`` counts members).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from datastore import rollups
from metrics.filters import Filters, check_grain, interaction_where

_MDIM_ROLLUP = "mdim AS (SELECT * FROM member_dim WHERE in_crm)"
MDIM_RAW = """mdim AS (
        SELECT member_id AS mk, member_id, TRUE AS in_crm, coalesce(is_employee, FALSE) AS is_employee,
               name, email, segment, joined_at, churned_at, followers, lifecycle_stage, referred_by
        FROM members_current)"""


def _period_start(grain: str, d: date) -> date:
    if grain == "month":
        return d.replace(day=1)
    if grain == "week":
        return d - timedelta(days=d.weekday())
    return d


def segment_mk(col: str) -> str:
    """The segment filter on an integer member key (rollup tables)."""
    return (f"(len($f_segments) = 0 OR {col} IN "
            "(SELECT mk FROM member_dim WHERE list_contains($f_segments, segment)))")


def _activity_span(cur: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last day with activity (fresh rollups)."""
    return tuple(cur.execute("SELECT min(period), max(period) FROM activity_day").fetchall()[0])


def pick(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str, *, use_start: bool = True,
         use_end: bool = True) -> str | None:
    """The rollup table that answers activity at ``grain`` under ``filters`` exactly, or None (raw)."""
    check_grain(grain)
    if filters.campaigns or not rollups.fresh(cur):
        return None
    if grain == "day":
        return "activity_day"
    lo, hi = _activity_span(cur)
    if lo is None:
        return f"activity_{grain}"
    start = filters.start if use_start else None
    start_ok = start is None or start <= lo or _period_start(grain, start) == start
    end_excl = filters.end + timedelta(days=1) if filters.end and use_end else None
    end_ok = end_excl is None or end_excl > hi or _period_start(grain, end_excl) == end_excl
    return f"activity_{grain}" if start_ok and end_ok else "activity_day"


def covers_end(cur: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    """True when the filter's end date is not before the last day of activity (fresh rollups)."""
    if filters.end is None:
        return True
    hi = _activity_span(cur)[1]
    return hi is None or filters.end >= hi


def activity_ctes(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str, *, use_start: bool = True,
                  use_end: bool = True) -> str:
    """``mdim`` and ``activity`` CTEs (see the module docstring); bind ``filters.params()``.
    ``use_start=False`` ignores the filter's start date (cohorts look back to first-ever activity),
    ``use_end=False`` its end date."""
    table = pick(cur, filters, grain, use_start=use_start, use_end=use_end)
    start = "($f_start IS NULL OR {col} >= $f_start) AND " if use_start else ""
    end = "($f_end_excl IS NULL OR {col} < $f_end_excl) AND " if use_end else ""
    if table is None:
        dates = start.format(col="i.occurred_at") + end.format(col="i.occurred_at") + "TRUE"
        return f"""{MDIM_RAW},
        activity AS (
            SELECT CAST(date_trunc('{grain}', i.occurred_at) AS DATE) AS period, i.member_id AS mk, i.channel,
                   1 AS n, i.occurred_at AS first_at, i.occurred_at AS last_at, i.reach AS max_reach
            FROM interactions i
            WHERE i.direction = 'inbound' AND i.member_id IS NOT NULL
              AND i.member_id NOT IN (SELECT member_id FROM members_current WHERE is_employee)
              AND {dates} AND {interaction_where('i', use_dates=False)}),
        ids AS (SELECT DISTINCT mk, mk AS member_id FROM activity)"""
    period = "a.period" if table == f"activity_{grain}" else f"CAST(date_trunc('{grain}', a.period) AS DATE)"
    # Exact: every row of the chosen table lies wholly inside or outside the date range (pick).
    dates = start.format(col="a.first_at") + end.format(col="a.last_at") + "TRUE"
    return f"""{_MDIM_ROLLUP},
        activity AS (
            SELECT {period} AS period, a.mk, a.channel, a.n, a.first_at, a.last_at, a.max_reach
            FROM {table} a
            WHERE {dates}
              AND (len($f_channels) = 0 OR list_contains($f_channels, a.channel))
              AND {segment_mk('a.mk')}),
        ids AS (SELECT mk, member_id FROM member_dim)"""


def _dates(col_first: str, col_last: str, use_start: bool) -> str:
    start = f"($f_start IS NULL OR {col_first} >= $f_start) AND " if use_start else ""
    return start + f"($f_end_excl IS NULL OR {col_last} < $f_end_excl)"


def member_months(cur: duckdb.DuckDBPyConnection, filters: Filters, *, use_start: bool = True) -> str | None:
    """A query for ``(period, mk, n, first_at, last_at, max_reach)``: one row per member and active
    month (all channels) under the filters, from the ``active_months`` rollup; None when it does not
    answer exactly (a channel filter, or a range the month rollup does not cover in whole months:
    see ``pick``). Use it next to ``activity_ctes(cur, filters, "month")`` (same keys)."""
    if filters.channels or pick(cur, filters, "month", use_start=use_start) != "activity_month":
        return None
    return f"""SELECT period, mk, n, first_at, last_at, max_reach FROM active_months a
            WHERE {_dates('a.first_at', 'a.last_at', use_start)} AND {segment_mk('a.mk')}"""


def member_totals(cur: duckdb.DuckDBPyConnection, filters: Filters) -> str | None:
    """A query for ``(mk, n, first_at, last_at, max_reach)``: each active member's totals over the
    range (all channels), from ``member_activity`` when the range holds all activity, else from
    ``active_months``; None when neither answers exactly (then group ``activity`` by member)."""
    months = member_months(cur, filters)
    if months is None:
        return None
    lo, hi = _activity_span(cur)
    if lo is None or ((filters.start is None or filters.start <= lo) and (filters.end is None or filters.end >= hi)):
        return f"SELECT mk, n, first_at, last_at, max_reach FROM member_activity a WHERE {segment_mk('a.mk')}"
    return f"""SELECT mk, sum(n) AS n, min(first_at) AS first_at, max(last_at) AS last_at, max(max_reach) AS max_reach
            FROM ({months}) GROUP BY 1"""


def exact_rows(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str) -> bool:
    """True when ``activity_ctes`` reads ``activity_{grain}`` as stored: then its rows are unique per
    (period, mk, channel) and ``count(*)`` equals ``count(DISTINCT mk)`` per period and channel."""
    return pick(cur, filters, grain) == f"activity_{grain}"


def mdim_cte(cur: duckdb.DuckDBPyConnection) -> str:
    """Just ``mdim``, keyed like ``activity_ctes`` would key it (for metrics that read members only)."""
    return _MDIM_ROLLUP if rollups.fresh(cur) else MDIM_RAW


def active_days_cte(cur: duckdb.DuckDBPyConnection, filters: Filters, *, since: str = "$f_start") -> str:
    """``activity`` and ``mdim`` CTEs at day grain plus ``md(mk, day, nxt)``: each member's active
    days from ``since`` (a SQL date expression; NULL = no limit) to the end of the range, with the
    next active day in that window (NULL for the last; a next day after the range may show instead,
    which only moves events past the range end). Reads ``active_days`` unless a channel or campaign
    filter is set (the precomputed next day spans all channels)."""
    ctes = activity_ctes(cur, filters, "day", use_start=False)
    if pick(cur, filters, "day") and not filters.channels:
        md = f"""md AS (
            SELECT d.mk, d.period AS day, d.nxt FROM active_days d
            WHERE ({since} IS NULL OR d.period >= {since})
              AND ($f_end_excl IS NULL OR d.period < $f_end_excl)
              AND {segment_mk('d.mk')})"""
    else:
        md = f"""md AS (
            SELECT mk, day, lead(day) OVER (PARTITION BY mk ORDER BY day) AS nxt
            FROM (SELECT DISTINCT mk, CAST(first_at AS DATE) AS day FROM activity
                  WHERE {since} IS NULL OR first_at >= {since}))"""
    return f"{ctes},\n        {md}"
