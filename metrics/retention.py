"""Retention and lifecycle: cohorts, curves, churn, lifecycle and growth accounting.

Definitions: METRICS.md, "Retention and lifecycle" (PostHog semantics). In short:

* **activity** is an inbound interaction by a known, non-employee member (``activity_cte``), or,
  with ``activity="transactions"``, a purchase line (refund lines and negative amounts excluded;
  the channel and campaign filters are about interactions and do not apply to purchases).
* **cohort** (``mode="first_time"``): the period of a member's first-ever (start) activity, or of
  ``joined_at`` (``cohort_by="joined_at"``; first activity when it is missing). ``recurring``:
  every period a member is active starts a cohort row. First-ever means: the start of the date
  filter is ignored when looking back; cohorts themselves start inside the date range.
* **offset k** counts cohort members with a (return) activity in period cohort+k (``on``) or in
  that period or any later one (``on_or_after``); offset 0 is the cohort itself.
* **as-of date** = the filter's end date, or the last date in the source table when earlier; a
  period that has not ended by then is ``is_partial``. Periods after it are not shown.

SQL does the scanning and returns sufficient statistics (the cohort table, the per-period
lifecycle counts); small pure functions (``mean_curve``, ``period_trend``) aggregate them, so the
page and the CLI compute them the same way. Periods are handled as integers inside SQL (months
since year 0, ISO weeks and days since 1900-01-01, a Monday) and turned back into their first day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from datastore import rollups
from metrics.filters import Filters, activity_cte, check_grain
from metrics.registry import register
from metrics.source import MDIM_RAW, activity_ctes, covers_end, pick, segment_mk

MODES = ("first_time", "recurring")
WINDOWS = ("on", "on_or_after")
COHORT_BY = ("first_activity", "joined_at")
SOURCES = ("interactions", "transactions")
BREAKDOWNS = ("channel", "segment")
STATUSES = ("all", "drifting", "inactive")
DEFAULT_PERIODS = 12
MAX_PERIODS = 400
NO_VALUE = "(none)"

_ANCHOR = "DATE '1900-01-01'"  # a Monday: week k starts on anchor + 7k


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionSpec:
    """Validated options of a cohort retention query."""

    grain: str = "month"
    mode: str = "first_time"
    window: str = "on"
    cohort_by: str = "first_activity"
    activity: str = "interactions"
    start_actions: tuple[str, ...] = ()
    return_actions: tuple[str, ...] = ()
    periods: int = DEFAULT_PERIODS


def _choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _whole(value) -> int | None:
    """``value`` as an int when it is a whole number (int, integral float or digit string), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if not isinstance(value, float) or value == number else None


def _int_option(name: str, value, lo: int, hi: int) -> int:
    number = _whole(value)
    if number is None:
        raise ValueError(f"{name} must be a whole number (got {value!r})")
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi} (got {number})")
    return number


def _actions(cur: duckdb.DuckDBPyConnection, name: str, value) -> tuple[str, ...]:
    """Action names from an option (``"post"``, ``"post,reply"`` or a list), checked against the
    inbound actions present in the workspace (the allowlist)."""
    if value is None or value == "" or value == ():
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = tuple(sorted({str(a).strip().lower() for a in items if str(a).strip()}))
    known = set(rollups.inbound_actions(cur))
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise ValueError(
            f"{name}: no inbound action {', '.join(map(repr, unknown))} in this workspace "
            f"(known: {', '.join(sorted(known)) or 'none'})")
    return wanted


def retention_spec(
    cur: duckdb.DuckDBPyConnection, *, grain: str = "month", mode: str = "first_time", window: str = "on",
    cohort_by: str = "first_activity", activity: str = "interactions", start_action=None, return_action=None,
    periods=DEFAULT_PERIODS,
) -> RetentionSpec:
    """Validate the retention options (a clear ValueError for anything outside the allowlists)."""
    spec = RetentionSpec(
        grain=check_grain(grain), mode=_choice("mode", mode, MODES), window=_choice("window", window, WINDOWS),
        cohort_by=_choice("cohort_by", cohort_by, COHORT_BY), activity=_choice("activity", activity, SOURCES),
        periods=_int_option("periods", periods, 1, MAX_PERIODS),
    )
    if spec.cohort_by == "joined_at" and spec.mode == "recurring":
        raise ValueError("cohort_by=joined_at works with mode=first_time (a member joins once)")
    if (start_action or return_action) and spec.activity == "transactions":
        raise ValueError("start_action / return_action apply to interactions, not to transactions")
    if start_action and spec.cohort_by == "joined_at":
        raise ValueError("start_action applies to cohort_by=first_activity")
    return RetentionSpec(
        **{**spec.__dict__, "start_actions": _actions(cur, "start_action", start_action),
           "return_actions": _actions(cur, "return_action", return_action)})


# ----------------------------------------------------------------------------------------------
# SQL building blocks (only constants and validated options reach SQL text)
# ----------------------------------------------------------------------------------------------


def _pidx(grain: str, col: str) -> str:
    """Integer period index of a timestamp or date column."""
    if grain == "month":
        return f"(year({col}) * 12 + month({col}) - 1)"
    days = f"(CAST({col} AS DATE) - {_ANCHOR})"
    return f"({days} // 7)" if grain == "week" else days


def _pdate(grain: str, idx: str) -> str:
    """First day of the period with index ``idx``."""
    if grain == "month":
        return f"make_date(CAST(({idx}) // 12 AS INTEGER), CAST(({idx}) % 12 + 1 AS INTEGER), 1)"
    step = "7 * " if grain == "week" else ""
    return f"CAST({_ANCHOR} + {step}CAST({idx} AS INTEGER) AS DATE)"


def _source_sql(cur: duckdb.DuckDBPyConnection, filters: Filters, activity: str, grain: str,
                start: bool = False, ret: bool = False) -> str:
    """CTEs ``mdim``, ``ids`` (see metrics.source) and ``src(member_id, occurred_at, last_at, n,
    channel[, s][, r])``: activity with the global filters except the start date (first-ever
    activity looks back); rows after the end date are dropped. ``member_id`` is the member key
    (``mk``); a row is a partial aggregate of ``n`` activities from ``occurred_at`` to ``last_at``.
    ``s`` / ``r`` flag the start / return actions when those options are set (raw rows then)."""
    if activity == "interactions" and not (start or ret):
        return f"""{activity_ctes(cur, filters, grain, use_start=False)},
        src AS (SELECT mk AS member_id, first_at AS occurred_at, last_at, n, channel FROM activity)"""
    if activity == "interactions":
        flags = ("".join([", list_contains($start_actions, a.action) AS s" if start else "",
                          ", list_contains($return_actions, a.action) AS r" if ret else ""]))
        rows = f"""{activity_cte(use_dates=False)},
        src AS (SELECT a.member_id, a.occurred_at, a.occurred_at AS last_at, 1 AS n, a.channel{flags} FROM activity a
                WHERE $f_end_excl IS NULL OR a.occurred_at < $f_end_excl)"""
    else:
        rows = """src AS (
        SELECT t.member_id, t.occurred_at, t.occurred_at AS last_at, 1 AS n, t.channel FROM transactions t
        WHERE t.member_id IS NOT NULL AND NOT coalesce(t.is_refund, FALSE) AND coalesce(t.amount, 0) >= 0
          AND t.member_id NOT IN (SELECT member_id FROM members_current WHERE is_employee)
          AND (len($f_segments) = 0 OR t.member_id IN
               (SELECT member_id FROM members_current WHERE list_contains($f_segments, segment)))
          AND ($f_end_excl IS NULL OR t.occurred_at < $f_end_excl))"""
    return f"""{MDIM_RAW}, {rows},
        ids AS (SELECT DISTINCT member_id AS mk, member_id FROM src)"""


def _fast_months(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str, activity: str,
                 start: bool = False, ret: bool = False) -> bool:
    """True when the ``active_months`` rollup answers the member-months exactly: month grain,
    interactions without action options, no channel filter (its months span all channels) and a
    date range the month rollup answers (metrics.source.pick). Then ``_months_cte`` replaces
    the regrouping of ``src`` per member and month."""
    return (grain == "month" and activity == "interactions" and not (start or ret) and not filters.channels
            and pick(cur, filters, "month", use_start=False) == "activity_month")


def _months_cte() -> str:
    """``am(member_id, p, first_at, last_at, first_channel, prev_p, next_p, is_first)``: the member's
    active months (``member_id`` = the key ``mk``) up to the range end, with the previous / next
    active month. A next month after the range end can show: only periods past the end see it."""
    return f"""am AS (
        SELECT mk AS member_id, {_pidx('month', 'period')} AS p, first_at, last_at, first_channel,
               {_pidx('month', 'prv')} AS prev_p, {_pidx('month', 'nxt')} AS next_p, prv IS NULL AS is_first
        FROM active_months
        WHERE ($f_end_excl IS NULL OR last_at < $f_end_excl) AND {segment_mk('mk')})"""


def _limits_sql(grain: str, tables: tuple[str, ...]) -> str:
    """``lim(lo, as_of, lo_p, hi_p)``: first date of the range (filter start, not before the data)
    and the as-of date (filter end, not after the data's last date), with their period indices."""
    spans = " UNION ALL ".join(
        f"SELECT min(occurred_at)::DATE AS d0, max(occurred_at)::DATE AS d1 FROM {t}" for t in tables)
    return f"""lim AS (
        SELECT lo, as_of, {_pidx(grain, 'lo')} AS lo_p, {_pidx(grain, 'as_of')} AS hi_p FROM (
          SELECT greatest(coalesce(CAST($f_start AS DATE), d0), d0) AS lo,
                 least(coalesce(CAST($f_end_excl AS DATE) - 1, d1), d1) AS as_of
          FROM (SELECT min(d0) AS d0, max(d1) AS d1 FROM ({spans}))))"""


def _partial(grain: str, idx: str) -> str:
    return f"({_pdate(grain, f'{idx} + 1')} - 1 > lim.as_of)"


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """Execute with exactly the parameters the SQL uses (DuckDB refuses extra ones)."""
    used = set(_PARAM.findall(sql))
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL parameters without a value: {sorted(missing)}")
    return cur.execute(sql, {k: v for k, v in params.items() if k in used}).df()


def _run_arrow(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """``_run`` for long results (a call list): through Arrow, about half the conversion time of
    ``.df()`` on 131 k rows of text. Dates come back as ``datetime64[us]`` like ``.df()`` gives them
    (tests.test_retention checks the two frames are equal)."""
    used = set(_PARAM.findall(sql))
    table = cur.sql(sql, params={k: v for k, v in params.items() if k in used}).to_arrow_table()
    frame = table.to_pandas(date_as_object=False)
    for name, typ in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_date(typ):
            frame[name] = frame[name].astype("datetime64[us]")
    return frame


def _params(filters: Filters, **extra) -> dict:
    return {**filters.params(), **extra}


# ----------------------------------------------------------------------------------------------
# Cohort retention
# ----------------------------------------------------------------------------------------------


def _retention_sql(cur: duckdb.DuckDBPyConnection, filters: Filters, spec: RetentionSpec,
                   breakdown: str | None = None) -> str:
    """The cohort table; with ``breakdown`` a leading column ``breakdown`` (the member's segment,
    or the channel of their first (start) activity)."""
    g = spec.grain
    start, ret = bool(spec.start_actions), bool(spec.return_actions)
    s_filter = " FILTER (s)" if start else ""
    r_filter = " FILTER (r)" if ret else ""
    grp = ", grp" if breakdown else ""
    by_channel = breakdown == "channel"

    # Member-periods: one row per member and period with activity.
    cols = [f"{_pidx(g, 'occurred_at')} AS p"]
    if spec.mode == "first_time":
        cols.append(f"min(occurred_at){s_filter} AS first_s")
        if by_channel:
            cols.append(f"arg_min(channel, (occurred_at, channel)){s_filter} AS ch")
    else:
        cols.append(f"max(last_at){s_filter} AS last_s")
    if ret:
        cols.append("bool_or(r) AS r")
    mp = f"mp AS (SELECT member_id, {', '.join(cols)} FROM src GROUP BY ALL)"
    if _fast_months(cur, filters, g, spec.activity, start, ret):
        cols = ["p", "first_at AS first_s" if spec.mode == "first_time" else "last_at AS last_s"]
        if spec.mode == "first_time" and by_channel:
            cols.append("first_channel AS ch")
        mp = f"{_months_cte()},\n        mp AS (SELECT member_id, {', '.join(cols)} FROM am)"

    # Cohort rows: (member_id, c[, grp]).
    if spec.mode == "first_time":
        firsts = "min(first_s) AS first_ts" + (", arg_min(ch, (first_s, ch)) AS ch" if by_channel else "")
        first = f"first AS (SELECT member_id, {firsts} FROM mp WHERE first_s IS NOT NULL GROUP BY 1)"
        if spec.cohort_by == "first_activity":
            base = "SELECT member_id, CAST(first_ts AS DATE) AS d" + (", ch" if by_channel else "") + " FROM first"
        else:
            ch = (", f.ch" if by_channel else "")
            base = f"""SELECT coalesce(p.member_id, f.member_id) AS member_id,
                              coalesce(p.joined_at, CAST(f.first_ts AS DATE)) AS d{ch}
                       FROM (SELECT mk AS member_id, joined_at FROM mdim
                             WHERE NOT is_employee
                               AND (len($f_segments) = 0 OR list_contains($f_segments, segment))) p
                       FULL OUTER JOIN first f ON f.member_id = p.member_id"""
        cohort_rows = f"""{first},
        dated AS ({base}),
        coh0 AS (SELECT member_id, {_pidx(g, 'd')} AS c{', ch' if by_channel else ''}
                 FROM dated, lim WHERE d >= lim.lo AND d <= lim.as_of)"""
    else:
        # last_s is NULL in a period without a start action; the first period may begin before lo.
        rows = "SELECT member_id, p AS c FROM mp, lim WHERE CAST(last_s AS DATE) >= lim.lo"
        if by_channel:
            cohort_rows = f"""first_ch AS (SELECT member_id, arg_min(channel, (occurred_at, channel)) AS ch FROM src
                                {'WHERE s ' if start else ''}GROUP BY 1),
        coh0 AS (SELECT r.*, first_ch.ch FROM ({rows}) r LEFT JOIN first_ch USING (member_id))"""
        else:
            cohort_rows = f"coh0 AS ({rows})"
    if breakdown == "segment":
        coh = """coh AS (SELECT coh0.member_id, coh0.c, coalesce(m.segment, $none) AS grp
                 FROM coh0 LEFT JOIN mdim m ON m.mk = coh0.member_id)"""
    elif by_channel:
        coh = "coh AS (SELECT member_id, c, coalesce(ch, $none) AS grp FROM coh0)"
    else:
        coh = "coh AS (SELECT member_id, c FROM coh0)"

    # Returns per cohort and offset.
    if spec.window == "on":
        returns = f"""rt AS (
            SELECT coh.c{grp}, m.p - coh.c AS k, count(*) AS n
            FROM coh JOIN mp m ON m.member_id = coh.member_id
            WHERE {'m.r AND ' if ret else ''}m.p > coh.c AND m.p - coh.c <= {spec.periods}
            GROUP BY ALL)"""
    else:
        returns = f"""lr AS (SELECT member_id, max(p){r_filter} AS last_r FROM mp GROUP BY 1),
        kmax AS (SELECT coh.c{grp}, least(lr.last_r - coh.c, {spec.periods}) AS kmax, count(*) AS n
                 FROM coh JOIN lr ON lr.member_id = coh.member_id
                 WHERE lr.last_r > coh.c GROUP BY ALL),
        rt AS (SELECT g.c{grp.replace('grp', 'g.grp')}, g.k, sum(kmax.n) AS n
               FROM grid g JOIN kmax ON kmax.c = g.c{' AND kmax.grp = g.grp' if breakdown else ''}
                                    AND kmax.kmax >= g.k
               WHERE g.k > 0 GROUP BY ALL)"""

    groups = (", (SELECT DISTINCT grp FROM coh) gr" if breakdown else "")
    grid = f"""grid AS (
        SELECT c, k{grp} FROM (SELECT unnest(range(lo_p, hi_p + 1)) AS c FROM lim) cs,
               (SELECT unnest(range(0, {spec.periods} + 1)) AS k) ks{groups}, lim
        WHERE c + k <= lim.hi_p)"""
    out_grp = "g.grp AS breakdown, " if breakdown else ""
    join_grp = " AND sz.grp = g.grp" if breakdown else ""
    join_grp_rt = " AND rt.grp = g.grp" if breakdown else ""
    return f"""
        WITH {_source_sql(cur, filters, spec.activity, g, start, ret)},
        {_limits_sql(g, (spec.activity,))},
        {mp},
        {cohort_rows},
        {coh},
        sz AS (SELECT c{grp}, count(*) AS n FROM coh GROUP BY ALL),
        {grid},
        {returns}
        SELECT {out_grp}{_pdate(g, 'g.c')} AS cohort,
               coalesce(sz.n, 0)::BIGINT AS cohort_size,
               g.k::BIGINT AS period_offset,
               (CASE WHEN g.k = 0 THEN coalesce(sz.n, 0) ELSE coalesce(rt.n, 0) END)::BIGINT AS retained,
               CASE WHEN coalesce(sz.n, 0) > 0
                    THEN (CASE WHEN g.k = 0 THEN sz.n ELSE coalesce(rt.n, 0) END) / sz.n END::DOUBLE
                 AS retention_rate,
               {_partial(g, 'g.c + g.k')} AS is_partial
        FROM grid g CROSS JOIN lim
        LEFT JOIN sz ON sz.c = g.c{join_grp}
        LEFT JOIN rt ON rt.c = g.c AND rt.k = g.k{join_grp_rt}
        ORDER BY {'g.grp, ' if breakdown else ''}g.c, g.k"""


def cohort_table(cur: duckdb.DuckDBPyConnection, filters: Filters, spec: RetentionSpec,
                 breakdown: str | None = None) -> pd.DataFrame:
    """Run the cohort query for a validated spec (see ``retention``)."""
    if breakdown is not None:
        _choice("by", breakdown, BREAKDOWNS)
    params = _params(filters, start_actions=list(spec.start_actions), return_actions=list(spec.return_actions),
                     none=NO_VALUE)
    return _run(cur, _retention_sql(cur, filters, spec, breakdown), params)


_RETENTION_OPTIONS = {
    "grain": "day | week | month (default month)",
    "mode": "first_time (default: cohort = period of first-ever activity) | recurring (every active period)",
    "window": "on (default: active in period cohort+k) | on_or_after (in cohort+k or any later period)",
    "cohort_by": "first_activity (default) | joined_at (members.joined_at; first activity when missing)",
    "activity": "interactions (default) | transactions (repeat-purchase retention)",
    "start_action": "only this inbound action (or a,b) starts a cohort, e.g. post",
    "return_action": "only this inbound action (or a,b) counts as a return",
    "periods": f"offsets 0..N to follow (default {DEFAULT_PERIODS})",
}


@register(
    "retention",
    "Cohort retention (PostHog): per cohort and period offset, cohort members active again. "
    "Columns cohort, cohort_size, period_offset, retained, retention_rate, is_partial",
    "share of cohort",
    options=_RETENTION_OPTIONS,
    section="retention",
)
def retention(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    """One row per cohort period (every period of the range, empty ones with cohort_size 0) and
    offset 0..periods that has started by the as-of date. retained at offset 0 = cohort_size;
    retention_rate = retained / cohort_size (NULL for an empty cohort)."""
    return cohort_table(cur, filters, retention_spec(cur, **options))


def mean_curve(table: pd.DataFrame, periods: int | None = None, by: str | None = None) -> pd.DataFrame:
    """Mean retention curve from a cohort table: per offset, the cohort-size-weighted mean over the
    cohorts that reached it (the offset's period has ended and the cohort is not empty):
    sum(retained) / sum(cohort_size). Offsets 0..periods all present (NULL rate when none reached)."""
    keys = ([by] if by else []) + ["period_offset"]
    done = table[(~table["is_partial"].astype(bool)) & (table["cohort_size"] > 0)]
    agg = done.groupby(keys, sort=True).agg(
        cohorts=("cohort_size", "size"), cohort_size=("cohort_size", "sum"), retained=("retained", "sum"))
    top = int(periods if periods is not None else (table["period_offset"].max() if len(table) else -1))
    offsets = pd.Index(range(top + 1), name="period_offset")
    if by:
        groups = sorted(table[by].dropna().unique().tolist())
        index = pd.MultiIndex.from_product([groups, offsets], names=keys)
    else:
        index = offsets
    out = agg.reindex(index, fill_value=0).reset_index()
    for col in ("cohorts", "cohort_size", "retained"):
        out[col] = out[col].astype("int64")
    out["retention_rate"] = np.where(out["cohort_size"] > 0,
                                     out["retained"] / out["cohort_size"].where(out["cohort_size"] > 0), np.nan)
    return out


def period_trend(table: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Period-N retention trend from a cohort table: per cohort period, the retention rate at
    ``offset`` (value), with cohort_size and retained. value and retained are NULL while the
    cohort's period N has not started (or the cohort is empty); is_partial while it has not ended."""
    cohorts = table.loc[table["period_offset"] == 0, ["cohort", "cohort_size"]]
    at = table.loc[table["period_offset"] == offset, ["cohort", "retained", "retention_rate", "is_partial"]]
    out = cohorts.merge(at, on="cohort", how="left").rename(columns={"cohort": "period", "retention_rate": "value"})
    out["retained"] = out["retained"].astype("Int64")
    out["is_partial"] = out["is_partial"].astype("boolean").fillna(True).astype(bool)
    out["value"] = out["value"].astype("float64")
    return out[["period", "value", "cohort_size", "retained", "is_partial"]].sort_values("period").reset_index(drop=True)


@register(
    "retention_curve",
    "Mean retention curve: per period offset, the cohort-size-weighted mean retention over the "
    "cohorts that reached it (offset period ended)",
    "share of cohort",
    options=_RETENTION_OPTIONS,
    section="retention",
)
def retention_curve(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    """Columns period_offset, cohorts, cohort_size, retained, retention_rate."""
    spec = retention_spec(cur, **options)
    return mean_curve(cohort_table(cur, filters, spec), spec.periods)


@register(
    "retention_trend",
    "Period-N retention trend: per cohort, the retention rate at offset N (is month-1 retention "
    "getting better?)",
    "share of cohort",
    options={**_RETENTION_OPTIONS, "offset": "N, the period offset to follow (default 1)"},
    per_period=True,
    section="retention",
)
def retention_trend(cur: duckdb.DuckDBPyConnection, filters: Filters, offset=1, **options) -> pd.DataFrame:
    """Columns period (the cohort), value (retention rate at offset N), cohort_size, retained, is_partial."""
    n = _int_option("offset", offset, 1, MAX_PERIODS)
    spec = retention_spec(cur, **options)
    spec = RetentionSpec(**{**spec.__dict__, "periods": n})
    return period_trend(cohort_table(cur, filters, spec), n)


@register(
    "retention_breakdown",
    "Mean retention curve per channel of first activity or per member segment",
    "share of cohort",
    options={**_RETENTION_OPTIONS, "by": "channel (of the first (start) activity; default) | segment"},
    section="retention",
)
def retention_breakdown(cur: duckdb.DuckDBPyConnection, filters: Filters, by: str = "channel",
                        **options) -> pd.DataFrame:
    """Columns breakdown, period_offset, cohorts, cohort_size, retained, retention_rate (the mean
    curve of each group; members without a segment or channel fall under "(none)")."""
    _choice("by", by, BREAKDOWNS)
    spec = retention_spec(cur, **options)
    table = cohort_table(cur, filters, spec, breakdown=by)
    return mean_curve(table, spec.periods, by="breakdown")


# ----------------------------------------------------------------------------------------------
# Lifecycle, growth accounting, activity churn
# ----------------------------------------------------------------------------------------------


def _growth_sql(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str, activity: str) -> str:
    g = grain
    if _fast_months(cur, filters, g, activity):
        seq = f"""{_months_cte()},
        seq AS (SELECT p, last_at AS last_ts, prev_p, next_p, CASE WHEN is_first THEN p END AS first_p FROM am)"""
    else:
        seq = f"""mp AS (SELECT member_id, {_pidx(g, 'occurred_at')} AS p, max(last_at) AS last_ts
               FROM src GROUP BY ALL),
        seq AS (SELECT p, last_ts, lag(p) OVER w AS prev_p, lead(p) OVER w AS next_p,
                       min(p) OVER (PARTITION BY member_id) AS first_p
                FROM mp WINDOW w AS (PARTITION BY member_id ORDER BY p))"""
    return f"""
        WITH {_source_sql(cur, filters, activity, g)},
        {_limits_sql(g, (activity,))},
        {seq},
        up AS (SELECT p, count(*) AS active, count(*) FILTER (p = first_p) AS new,
                      count(*) FILTER (prev_p = p - 1) AS returning
               FROM seq, lim WHERE CAST(last_ts AS DATE) >= lim.lo GROUP BY 1),
        down AS (SELECT p + 1 AS p, count(*) AS active_previous,
                        count(*) FILTER (next_p IS NULL OR next_p > p + 1) AS dormant
                 FROM seq GROUP BY 1),
        spine AS (SELECT unnest(range(lo_p, hi_p + 1)) AS p FROM lim)
        SELECT {_pdate(g, 's.p')} AS period,
               coalesce(up.active, 0)::BIGINT AS active,
               coalesce(up.new, 0)::BIGINT AS new,
               coalesce(up.returning, 0)::BIGINT AS returning,
               (coalesce(up.active, 0) - coalesce(up.new, 0) - coalesce(up.returning, 0))::BIGINT AS resurrecting,
               (-coalesce(down.dormant, 0))::BIGINT AS dormant,
               coalesce(down.active_previous, 0)::BIGINT AS active_previous,
               {_partial(g, 's.p')} AS is_partial
        FROM spine s CROSS JOIN lim LEFT JOIN up USING (p) LEFT JOIN down USING (p)
        ORDER BY s.p"""


def _grain_and_source(grain: str, activity: str) -> tuple[str, str]:
    return check_grain(grain), _choice("activity", activity, SOURCES)


_GROWTH_OPTIONS = {
    "grain": "day | week | month (default month)",
    "activity": "interactions (default) | transactions",
}


@register(
    "growth_accounting",
    "Growth accounting per period: active = new + returning + resurrecting; dormant (negative); "
    "quick ratio = (new + resurrecting) / dormant; activity churn = dormant / active the period before",
    "members",
    options=_GROWTH_OPTIONS,
    section="retention",
)
def growth_accounting(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                      activity: str = "interactions") -> pd.DataFrame:
    """Columns period, active, new, returning, resurrecting, dormant (≤ 0), active_previous,
    quick_ratio, activity_churn, is_partial. Statuses follow PostHog's lifecycle: new = first-ever
    activity in the period; returning = active in it and the one before; resurrecting = active, not
    the period before, not new; dormant = active the period before, not in this one. The look-back
    (previous period, first-ever) ignores the start of the date range."""
    grain, activity = _grain_and_source(grain, activity)
    frame = _run(cur, _growth_sql(cur, filters, grain, activity), _params(filters))
    lost = -frame["dormant"]
    frame.insert(7, "quick_ratio", (frame["new"] + frame["resurrecting"]) / lost.where(lost > 0))
    frame.insert(8, "activity_churn", lost / frame["active_previous"].where(frame["active_previous"] > 0))
    return frame


@register(
    "lifecycle",
    "Lifecycle (PostHog): per period new, returning, resurrecting and dormant (negative) members",
    "members",
    options=_GROWTH_OPTIONS,
    section="retention",
)
def lifecycle(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
              activity: str = "interactions") -> pd.DataFrame:
    """Columns period, new, returning, resurrecting, dormant (dormant ≤ 0)."""
    return growth_accounting(cur, filters, grain, activity)[["period", "new", "returning", "resurrecting", "dormant"]]


@register(
    "quick_ratio",
    "Quick ratio per period: (new + resurrecting) / dormant; above 1 the active base grows",
    "ratio",
    options=_GROWTH_OPTIONS,
    per_period=True,
    section="retention",
)
def quick_ratio(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                activity: str = "interactions") -> pd.DataFrame:
    """Columns period, value (NULL when nobody went dormant), is_partial."""
    frame = growth_accounting(cur, filters, grain, activity)
    return frame.rename(columns={"quick_ratio": "value"})[["period", "value", "is_partial"]]


@register(
    "activity_churn",
    "Activity churn: members active in the previous period and not in this one / active in the "
    "previous period",
    "share",
    options=_GROWTH_OPTIONS,
    per_period=True,
    section="retention",
)
def activity_churn(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                   activity: str = "interactions") -> pd.DataFrame:
    """Columns period, value, active_previous, churned, is_partial (a partial last period overstates churn)."""
    frame = growth_accounting(cur, filters, grain, activity)
    out = frame.rename(columns={"activity_churn": "value"})
    out["churned"] = -frame["dormant"]
    return out[["period", "value", "active_previous", "churned", "is_partial"]]


# ----------------------------------------------------------------------------------------------
# Contractual churn
# ----------------------------------------------------------------------------------------------


@register(
    "contractual_churn",
    "Contractual churn: members with churned_at in the period / community size at its start",
    "share",
    options={"grain": "day | week | month (default month)"},
    per_period=True,
    section="retention",
)
def contractual_churn(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns period, value, churned, community_start, is_partial. Community at the start of a
    period = non-employee members (segment filter applied) who joined before it and had not
    churned before it; joined_at falls back to the first activity, and a member with neither
    counts from the start. Periods span the interactions and transactions data."""
    g = check_grain(grain)
    # Member m is in the community at the start of period p when joined < start(p) <= churned_at:
    # +1 from the period after the join, -1 from the period after the churn (a running sum).
    sql = f"""
        WITH {activity_ctes(cur, filters, g, use_start=False, use_end=False)},
        {_limits_sql(g, ('interactions', 'transactions'))},
        ppl AS (SELECT mk, joined_at, churned_at FROM mdim
                WHERE NOT is_employee AND (len($f_segments) = 0 OR list_contains($f_segments, segment))),
        firsts AS (SELECT mk, min(first_at)::DATE AS d FROM activity
                   WHERE mk IN (SELECT mk FROM ppl WHERE joined_at IS NULL) GROUP BY 1),
        m AS (SELECT coalesce(p.joined_at, f.d) AS joined, p.churned_at
              FROM ppl p LEFT JOIN firsts f USING (mk)),
        ev AS (SELECT greatest(coalesce({_pidx(g, 'joined')} + 1, lim.lo_p), lim.lo_p) AS p, 1 AS delta
               FROM m, lim
               UNION ALL
               SELECT greatest({_pidx(g, 'greatest(churned_at, coalesce(joined, churned_at))')} + 1, lim.lo_p), -1
               FROM m, lim WHERE churned_at IS NOT NULL),
        evp AS (SELECT p, sum(delta) AS delta FROM ev GROUP BY 1),
        ch AS (SELECT {_pidx(g, 'churned_at')} AS p, count(*) AS churned FROM m
               WHERE churned_at IS NOT NULL GROUP BY 1),
        spine AS (SELECT unnest(range(lo_p, hi_p + 1)) AS p FROM lim)
        SELECT {_pdate(g, 's.p')} AS period, coalesce(ch.churned, 0)::BIGINT AS churned,
               (sum(coalesce(evp.delta, 0)) OVER (ORDER BY s.p))::BIGINT AS community_start,
               {_partial(g, 's.p')} AS is_partial
        FROM spine s CROSS JOIN lim LEFT JOIN evp ON evp.p = s.p LEFT JOIN ch ON ch.p = s.p
        ORDER BY s.p"""
    frame = _run(cur, sql, _params(filters))
    frame["churned"] = frame["churned"].astype("int64")
    frame["community_start"] = frame["community_start"].astype("int64")
    frame.insert(1, "value", frame["churned"] / frame["community_start"].where(frame["community_start"] > 0))
    return frame


# ----------------------------------------------------------------------------------------------
# Drifting and inactive members
# ----------------------------------------------------------------------------------------------


@register(
    "drifting_members",
    "Drifting (last activity 90-180 days before the as-of date) and inactive (over 180 days) "
    "members, with who they are: the win-back call list",
    "members",
    options={
        "drifting_days": "days since the last activity from which a member is drifting (default 90)",
        "inactive_days": "days since the last activity after which a member is inactive (default 180)",
        "activity": "interactions (default) | transactions",
        "status": "all (default) | drifting | inactive",
    },
    section="retention",
)
def drifting_members(cur: duckdb.DuckDBPyConnection, filters: Filters, drifting_days=90, inactive_days=180,
                     activity: str = "interactions", status: str = "all") -> pd.DataFrame:
    """Columns member_id, name, email, segment, status, last_activity, days_since, last_channel,
    first_activity, activities, churned_at, in_crm. days_since = as-of date − last activity date;
    drifting: drifting_days ≤ days_since ≤ inactive_days; inactive: days_since > inactive_days.
    Members never active are not listed. Ordered for calling: drifting before inactive, members in
    the CRM (with contact details) before unidentified handles, then most recently seen first."""
    drift = _int_option("drifting_days", drifting_days, 1, 3650)
    inactive = _int_option("inactive_days", inactive_days, 1, 3650)
    if drift > inactive:
        raise ValueError(f"drifting_days ({drift}) must not exceed inactive_days ({inactive})")
    activity = _choice("activity", activity, SOURCES)
    _choice("status", status, STATUSES)
    if (activity == "interactions" and not filters.channels and pick(cur, filters, "month", use_start=False)
            and covers_end(cur, filters)):
        # All of each member's activity counts: the per-member rollup has it.
        agg = f"""agg AS (SELECT mk, last_at AS last_ts, first_at AS first_ts, last_channel, n AS activities
                FROM member_activity WHERE {segment_mk('mk')})"""
    else:
        agg = """agg AS (SELECT member_id AS mk, max(last_at) AS last_ts, min(occurred_at) AS first_ts,
                       arg_max(channel, (last_at, channel)) AS last_channel, sum(n) AS activities
                FROM src GROUP BY 1)"""
    sql = f"""
        WITH {_source_sql(cur, filters, activity, 'month')},
        {_limits_sql('day', (activity,))},
        {agg},
        last AS (SELECT x.member_id, agg.* FROM agg JOIN ids x USING (mk)),
        d AS (SELECT l.*, date_diff('day', CAST(l.last_ts AS DATE), lim.as_of) AS days_since FROM last l, lim)
        SELECT d.member_id, m.name, m.email, m.segment,
               CASE WHEN d.days_since > $inactive THEN 'inactive' ELSE 'drifting' END AS status,
               CAST(d.last_ts AS DATE) AS last_activity, d.days_since::BIGINT AS days_since, d.last_channel,
               CAST(d.first_ts AS DATE) AS first_activity, d.activities::BIGINT AS activities, m.churned_at,
               m.member_id IS NOT NULL AS in_crm
        FROM d LEFT JOIN mdim m ON m.mk = d.mk
        WHERE d.days_since >= $drift
          AND ($status = 'all' OR $status = CASE WHEN d.days_since > $inactive THEN 'inactive' ELSE 'drifting' END)
        ORDER BY d.days_since > $inactive, m.member_id IS NULL, d.days_since, d.member_id"""
    return _run_arrow(cur, sql, _params(filters, drift=drift, inactive=inactive, status=status))


def retention_inputs(cur: duckdb.DuckDBPyConnection) -> dict:
    """What the Retention page can offer: the inbound actions (start / return pickers) and counts of
    non-employee members, of those with joined_at and churned_at, and of purchase lines."""
    actions = rollups.inbound_actions(cur)
    members, joined, churned = cur.execute(
        "SELECT count(*), count(joined_at), count(churned_at) FROM members_current WHERE NOT coalesce(is_employee, FALSE)"
    ).fetchall()[0]
    purchases = cur.execute(
        "SELECT count(*) FROM transactions WHERE member_id IS NOT NULL AND NOT coalesce(is_refund, FALSE)"
    ).fetchall()[0][0]
    return {"actions": actions, "members": int(members), "joined_at": int(joined), "churned_at": int(churned),
            "transactions": int(purchases)}
