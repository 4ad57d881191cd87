"""Participation and activity metrics (METRICS.md, "Participation and activity").

Data contract, shared by every metric here:

* **activity** = inbound interactions by a known (``member_id`` not null), non-employee
  (``members_current.is_employee``) member, under the global filters. Outbound rows are the
  organisation's own and never count as participation.
* **community** at a date = members (latest version, employees excluded, segment filter applied)
  with ``joined_at`` <= date and no ``churned_at`` <= date. A member without ``joined_at`` joins
  on their first-ever activity; one with neither is taken to be a member from the start (a CRM
  record without a date still belongs to the audience). Without any members data: the distinct
  members seen in interactions (any direction, channel / campaign filters applied) up to the date.
* Periods come from ``metrics.periods`` (ISO weeks, workspace wall-clock time); every
  per-period result is gap-filled by a spine and ordered by period. Ratios are NULL when their
  denominator is empty.
* **Two-way** metrics need ``in_reply_to``. When no row of the workspace has it, they return an
  empty frame whose ``attrs["message"]`` says which column to map (``two_way_status`` tells the
  page the same), never a guess. A reply is an outbound interaction whose ``in_reply_to`` is the
  inbound ``interaction_id``; a reply stamped before the message it answers (clock skew between
  systems) still answers it, in 0 seconds; inbound rows without an ``interaction_id`` cannot be
  answered and are left out.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import pandas as pd

from datastore import rollups
from metrics.filters import Filters, check_grain, interaction_where
from metrics.periods import spine_cte, trunc
from metrics.registry import register
from metrics.source import active_days_cte, activity_ctes, exact_rows, member_months, member_totals, pick, segment_mk

SECTION = "participation"
NOT_ANSWERABLE: tuple[str, ...] = rollups.NOT_ANSWERABLE
NEEDS_IN_REPLY_TO = (
    "No interaction in this workspace says which message it answers. Map a column to "
    "in_reply_to (the interaction_id a reply answers) on the Data page to see response rates, "
    "response times and customer responses."
)
GRAIN_OPTION = "day | week | month (default month)"
RESPONSE_BUCKETS: tuple[tuple[str, int | None], ...] = (  # label, upper bound in seconds (inclusive)
    ("< 15 min", 900), ("15–60 min", 3600), ("1–4 h", 4 * 3600), ("4–24 h", 24 * 3600),
    ("1–3 days", 72 * 3600), ("> 3 days", None),
)
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_EMPLOYEES = "(SELECT member_id FROM members_current WHERE is_employee)"


# ------------------------------------------------------------------------------------------
# SQL building blocks
# ------------------------------------------------------------------------------------------

def _used(sql: str, params: dict) -> dict:
    """The parameters the SQL names (DuckDB refuses unused ones)."""
    names = set(_PARAM.findall(sql))
    return {k: v for k, v in params.items() if k in names}


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    return cur.execute(sql, _used(sql, params)).df()


def _dates(col: str) -> str:
    return f"($f_start IS NULL OR {col} >= $f_start) AND ($f_end_excl IS NULL OR {col} < $f_end_excl)"


def _activity(name: str = "activity", *, use_dates: bool = True) -> str:
    """Like ``filters.activity_cte`` (same rows), with the extra columns two-way and influence need."""
    return f"""{name} AS (
        SELECT i.member_id, i.occurred_at, i.channel, i.action, i.interaction_id, i.in_reply_to, i.reach
        FROM interactions i
        WHERE i.direction = 'inbound' AND i.member_id IS NOT NULL
          AND i.member_id NOT IN {_EMPLOYEES}
          AND {interaction_where('i', use_dates=use_dates)})"""


def _outbound_where(alias: str = "o") -> str:
    """Outbound rows under the filters that make sense for them: dates, channel, campaign.
    (The segment filter selects customers; a broadcast post belongs to no customer.)"""
    conds = [f"{alias}.direction = 'outbound'", _dates(f"{alias}.occurred_at")]
    conds += [
        f"(len($f_channels) = 0 OR list_contains($f_channels, {alias}.channel))",
        f"(len($f_campaigns) = 0 OR list_contains($f_campaigns, {alias}.campaign))",
    ]
    return " AND ".join(conds)


def _bounds(source: str, lo: str = "lo", hi: str = "hi") -> str:
    """`bounds(lo, hi)` like ``periods.bounds_cte``, read from an aggregated CTE carrying each
    group's first / last time, so the raw rows are scanned once (a CTE referenced twice is
    materialised by DuckDB)."""
    return f"""bounds AS (
        SELECT coalesce(CAST($f_start AS DATE), min({lo})::DATE) AS lo,
               coalesce(CAST($f_end_excl AS DATE) - 1, max({hi})::DATE) AS hi
        FROM {source})"""


def _keyless_rollup_ok(cur: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    """The rollups without a member key (``hourly``, ``posts``) answer without a segment filter."""
    return pick(cur, filters, "day") is not None and not filters.segments


_HOURLY_WHERE = ("($f_start IS NULL OR h.period >= $f_start) AND ($f_end_excl IS NULL OR h.period < $f_end_excl) "
                 "AND (len($f_channels) = 0 OR list_contains($f_channels, h.channel))")


def _period_end(grain: str, period: str = "s.period") -> str:
    """Last day of the period, clipped to the range end (bounds.hi)."""
    g = check_grain(grain)
    return f"least(CAST({period} + INTERVAL 1 {g} AS DATE) - 1, b.hi)"


def _has_members(cur: duckdb.DuckDBPyConnection) -> bool:
    return bool(cur.execute("SELECT EXISTS (SELECT 1 FROM members)").fetchall()[0][0])


def _community_cte(cur: duckdb.DuckDBPyConnection, filters: Filters) -> str:
    """`community(mk, joined, churned)` keyed like ``activity`` (see metrics.source; use after
    it): joined NULL = member from the start. Without members data: everyone seen so far."""
    fresh = pick(cur, filters, "day") is not None  # keyed like activity_ctes' mdim (raw under a campaign filter)
    if _has_members(cur):
        # first inbound day of the members without joined_at
        first = ("SELECT mk, min(period) AS first_day FROM activity_day WHERE mk IN" if fresh else
                 "SELECT member_id AS mk, min(occurred_at)::DATE AS first_day FROM interactions "
                 "WHERE direction = 'inbound' AND member_id IN")
        return f"""community AS (
            SELECT m.mk, coalesce(m.joined_at, fa.first_day) AS joined, m.churned_at AS churned
            FROM mdim m
            LEFT JOIN ({first} (SELECT mk FROM mdim WHERE joined_at IS NULL) GROUP BY 1) fa USING (mk)
            WHERE NOT m.is_employee
              AND (len($f_segments) = 0 OR list_contains($f_segments, m.segment)))"""
    key = "d.mk" if fresh else "i.member_id"
    join = "JOIN member_dim d USING (member_id)" if fresh else ""
    return f"""community AS (
        SELECT {key} AS mk, min(i.occurred_at)::DATE AS joined, NULL::DATE AS churned
        FROM interactions i {join}
        WHERE i.member_id IS NOT NULL AND {interaction_where('i', use_dates=False)}
        GROUP BY 1)"""


def _range_end(cur: duckdb.DuckDBPyConnection, filters: Filters) -> date | None:
    """The range's last day: the filter's end, else the day of the last activity (None: none)."""
    if filters.end is not None:
        return filters.end
    sql = f"WITH {activity_ctes(cur, filters, 'month')} SELECT max(last_at)::DATE FROM activity"
    return cur.execute(sql, _used(sql, filters.params())).fetchall()[0][0]


def two_way_status(cur: duckdb.DuckDBPyConnection) -> dict:
    """``{"available": bool, "message": str | None}``: can two-way metrics be computed at all?"""
    available = bool(cur.execute(
        "SELECT EXISTS (SELECT 1 FROM interactions WHERE in_reply_to IS NOT NULL)").fetchall()[0][0])
    return {"available": available, "message": None if available else NEEDS_IN_REPLY_TO}


def _needs_in_reply_to(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame.attrs["message"] = NEEDS_IN_REPLY_TO
    frame.attrs["missing_column"] = "in_reply_to"
    return frame


def _not_answerable(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return list(NOT_ANSWERABLE)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


# ------------------------------------------------------------------------------------------
# Activity next to size
# ------------------------------------------------------------------------------------------

@register(
    "participation_rate",
    "Active community members / community size at period end (activity next to size). Also "
    "returns active_members (all, incl. handles not in the CRM) and community_size.",
    "share",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def participation_rate(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, active_members, active_in_community, community_size, value.

    ``value`` = active_in_community / community_size, where active_in_community counts the
    period's active members that belong to the community at the period end (so the rate stays a
    share; activity by handles not in the CRM shows in active_members only). The period end is
    clipped to the range end for a partial last period.
    """
    g = check_grain(grain)
    sql = f"""
        WITH {_member_periods(cur, filters, g)},
        {_bounds('pm')}, {spine_cte(g)}, {_community_cte(cur, filters)},
        ends AS (SELECT s.period, {_period_end(g)} AS period_end FROM spine s, bounds b),
        act AS (SELECT period, count(*) AS n FROM pm GROUP BY 1),
        act_c AS (
            SELECT pm.period, count(*) AS n
            FROM pm JOIN ends e USING (period) JOIN community c USING (mk)
            WHERE (c.joined IS NULL OR c.joined <= e.period_end) AND (c.churned IS NULL OR c.churned > e.period_end)
            GROUP BY 1),
        ev AS (
            SELECT joined AS d, count(*) AS delta FROM community GROUP BY 1
            UNION ALL
            SELECT greatest(churned, joined), -count(*) FROM community WHERE churned IS NOT NULL GROUP BY 1),
        size AS (
            SELECT e.period, sum(ev.delta) AS n
            FROM ends e JOIN ev ON coalesce(ev.d, DATE '0001-01-01') <= e.period_end
            GROUP BY 1)
        SELECT e.period,
               coalesce(act.n, 0) AS active_members,
               coalesce(act_c.n, 0) AS active_in_community,
               coalesce(size.n, 0)::BIGINT AS community_size,
               coalesce(act_c.n, 0) / nullif(coalesce(size.n, 0), 0) AS value
        FROM ends e LEFT JOIN act USING (period) LEFT JOIN act_c USING (period) LEFT JOIN size USING (period)
        ORDER BY e.period"""
    return _run(cur, sql, filters.params())


def _member_periods(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str) -> str:
    """`pm(mk, period, lo, hi)`: one row per member and period with activity (first / last time)."""
    if grain == "day":
        return f"""{active_days_cte(cur, filters)},
        pm AS (SELECT mk, day AS period, day AS lo, day AS hi FROM md)"""
    months = member_months(cur, filters) if grain == "month" else None
    if months is not None:
        return f"""{activity_ctes(cur, filters, grain)},
        pm AS (SELECT mk, period, first_at AS lo, last_at AS hi FROM ({months}))"""
    return f"""{activity_ctes(cur, filters, grain)},
        pm AS (SELECT mk, period, min(first_at) AS lo, max(last_at) AS hi FROM activity GROUP BY ALL)"""


def _daily_active_sql(cur: duckdb.DuckDBPyConnection, filters: Filters) -> str:
    """`daily(day, dau, wau, mau)` for every day of the range. WAU / MAU count members active in
    the trailing 7 / 30 days ending on the day, looking back before the range start (PostHog).
    Without a channel, segment or campaign filter the ``daily_active`` rollup holds the series
    (a window ending in the range only reaches 29 days back, so the full history gives the same
    counts); otherwise it is computed from the members' active days."""
    if pick(cur, filters, "day") and not filters.channels and not filters.segments:
        return """bounds AS (
            SELECT coalesce(CAST($f_start AS DATE), min(day) FILTER (dau > 0)) AS lo,
                   coalesce(CAST($f_end_excl AS DATE) - 1, max(day) FILTER (dau > 0)) AS hi
            FROM daily_active),
        daily AS (
            SELECT d.day, coalesce(a.dau, 0) AS dau, coalesce(a.wau, 0) AS wau, coalesce(a.mau, 0) AS mau
            FROM (SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS day
                  FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi) d
            LEFT JOIN daily_active a USING (day))"""
    return f"""{active_days_cte(cur, filters, since="(CAST($f_start AS DATE) - 29)")},
        -- a member active on `day` (next active day `nxt`) counts in the W-day window ending on t
        -- for t in [day, least(nxt, day + W)): +1 there, -1 after; a running sum counts them.
        ev AS (
            SELECT unnest([day, least(nxt, day + 7), least(nxt, day + 30)]) AS t,
                   unnest([1, 0, 0]) AS d1, unnest([1, -1, 0]) AS d7, unnest([1, 0, -1]) AS d30
            FROM md),
        agg AS (SELECT t, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30 FROM ev GROUP BY t),
        bounds AS (
            SELECT coalesce(CAST($f_start AS DATE), min(t) FILTER (d1 > 0)) AS lo,
                   coalesce(CAST($f_end_excl AS DATE) - 1, max(t) FILTER (d1 > 0)) AS hi
            FROM agg),
        alldays AS (
            SELECT CAST(unnest(generate_series(lo - 29, hi, INTERVAL 1 DAY)) AS DATE) AS t
            FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi),
        cum AS (
            SELECT d.t AS day, coalesce(a.d1, 0) AS dau,
                   sum(coalesce(a.d7, 0)) OVER (ORDER BY d.t) AS wau,
                   sum(coalesce(a.d30, 0)) OVER (ORDER BY d.t) AS mau
            FROM alldays d LEFT JOIN agg a USING (t)),
        daily AS (SELECT c.* FROM cum c, bounds b WHERE c.day BETWEEN b.lo AND b.hi)"""


@register(
    "dau_wau_mau",
    "Distinct active members on the day (DAU) and over the trailing 7 (WAU) and 30 days (MAU) "
    "ending on it (PostHog); per week / month the mean of the daily values; stickiness = "
    "mean DAU / mean MAU",
    "members",
    options={"grain": "day | week | month (default day)"},
    section=SECTION,
)
def dau_wau_mau(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Columns: period, dau, wau, mau, stickiness (DOUBLE means for week / month)."""
    g = check_grain(grain)
    if g == "day":
        select = """SELECT day AS period, dau::BIGINT AS dau, wau::BIGINT AS wau, mau::BIGINT AS mau,
                           dau / nullif(mau, 0) AS stickiness FROM daily ORDER BY period"""
    else:
        select = f"""SELECT {trunc(g, 'day')} AS period, avg(dau) AS dau, avg(wau) AS wau, avg(mau) AS mau,
                            avg(dau) / nullif(avg(mau), 0) AS stickiness
                     FROM daily GROUP BY 1 ORDER BY 1"""
    return _run(cur, f"WITH {_daily_active_sql(cur, filters)} {select}", filters.params())


@register(
    "stickiness",
    "Mean DAU / mean MAU over the days of each period (PostHog stickiness ratio)",
    "share",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def stickiness(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, value."""
    frame = dau_wau_mau(cur, filters, grain=grain)
    return frame[["period", "stickiness"]].rename(columns={"stickiness": "value"})


@register(
    "stickiness_distribution",
    "Members by the number of periods (days, weeks or months) they were active in the range; "
    "each active member in exactly one bucket (PostHog stickiness)",
    "members",
    options={"grain": "day | week | month (default day): the unit counted"},
    section=SECTION,
)
def stickiness_distribution(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "day") -> pd.DataFrame:
    """Columns: periods_active (1 .. periods in the range), members, share (of active members)."""
    g = check_grain(grain)
    sql = f"""
        WITH {_member_periods(cur, filters, g)},
        {_bounds('pm')}, {spine_cte(g)},
        per AS (SELECT mk, count(*) AS k FROM pm GROUP BY 1),
        agg AS (SELECT k, count(*) AS members FROM per GROUP BY 1),
        buckets AS (SELECT unnest(generate_series(1, (SELECT count(*) FROM spine))) AS k)
        SELECT b.k AS periods_active, coalesce(a.members, 0) AS members,
               coalesce(a.members, 0) / nullif(sum(coalesce(a.members, 0)) OVER (), 0) AS share
        FROM buckets b LEFT JOIN agg a USING (k)
        ORDER BY b.k"""
    return _run(cur, sql, filters.params())


@register(
    "activity_per_active_member",
    "Activity count / active members per period; also the median and p90 of the per-member "
    "counts (linear interpolation, as numpy / pandas)",
    "interactions per member",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def activity_per_active_member(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, activity, active_members, value (mean), median, p90."""
    g = check_grain(grain)
    months = member_months(cur, filters) if g == "month" else None
    per_member = (f"SELECT period, mk, n, first_at AS lo, last_at AS hi FROM ({months})" if months else
                  "SELECT period, mk, sum(n) AS n, min(first_at) AS lo, max(last_at) AS hi FROM activity GROUP BY ALL")
    sql = f"""
        WITH {activity_ctes(cur, filters, g)},
        pm AS ({per_member}),
        agg AS (SELECT period, sum(n) AS activity, count(*) AS active_members,
                       median(n)::DOUBLE AS median, quantile_cont(n, 0.9)::DOUBLE AS p90, min(lo) AS lo, max(hi) AS hi
                FROM pm GROUP BY 1),
        {_bounds('agg')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.activity, 0)::BIGINT AS activity, coalesce(a.active_members, 0) AS active_members,
               a.activity / nullif(a.active_members, 0) AS value, a.median, a.p90
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, filters.params())


# ------------------------------------------------------------------------------------------
# Participation inequality
# ------------------------------------------------------------------------------------------

def _per_member(cur: duckdb.DuckDBPyConnection, filters: Filters) -> str:
    """`(mk, n, lo, hi, max_reach)`: each active member's activity count, first / last time and
    largest reach over the range (use after ``activity_ctes(cur, filters, "month")``)."""
    totals = member_totals(cur, filters)
    if totals is not None:
        return f"SELECT mk, n, first_at AS lo, last_at AS hi, max_reach FROM ({totals})"
    return ("SELECT mk, sum(n) AS n, min(first_at) AS lo, max(last_at) AS hi, max(max_reach) AS max_reach "
            "FROM activity GROUP BY 1")


@register(
    "participation_inequality",
    "For the range: community (members at some point in the range, plus anyone active), active "
    "members, lurkers; onion tiers core (smallest top group with 80 % of activity), regular "
    "(next 15 %), casual (last 5 %) (GrimoireLab); gini; top_10pct_share; absence_factor (CHAOSS)",
    "members",
    section=SECTION,
)
def participation_inequality(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row for the whole range (empty when the range is undefined). Columns: community,
    active_members, lurkers, lurker_share, activity, core, regular, casual, gini,
    top_10pct_share, absence_factor.

    Active members are sorted by activity (descending, then member_id); a member is in the
    core while the activity of those before them is < 80 % of the total, regular while < 95 %,
    casual after; absence_factor counts those before whom < 50 % was reached. gini is over the
    active members' counts; top_10pct_share is the activity share of the top ceil(10 %) of them.
    A range without activity gives NULL for gini, top_10pct_share and absence_factor.
    """
    sql = f"""
        WITH {activity_ctes(cur, filters, 'month')},
        pm AS ({_per_member(cur, filters)}),
        {_bounds('pm')}, {_community_cte(cur, filters)},
        ranked AS (
            SELECT n,
                   coalesce(sum(n) OVER (ORDER BY n DESC, mk
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
                   row_number() OVER (ORDER BY n DESC, mk) AS r,
                   sum(n) OVER () AS total, count(*) OVER () AS active
            FROM pm),
        stats AS (
            SELECT count(*) AS active, coalesce(sum(n), 0)::BIGINT AS activity,
                   count(*) FILTER (5 * before < 4 * total) AS core,
                   count(*) FILTER (5 * before >= 4 * total AND 20 * before < 19 * total) AS regular,
                   count(*) FILTER (20 * before >= 19 * total) AS casual,
                   CASE WHEN count(*) > 0 THEN count(*) FILTER (2 * before < total) END AS absence_factor,
                   sum(n) FILTER (10 * (r - 1) < active)::DOUBLE / nullif(sum(n), 0) AS top_10pct_share,
                   CASE WHEN count(*) > 0 THEN
                        2.0 * sum((active - r + 1) * n::DOUBLE) / (count(*) * sum(n)::DOUBLE)
                        - (count(*) + 1.0) / count(*) END AS gini
            FROM ranked),
        comm AS (
            SELECT c.mk FROM community c, bounds b
            WHERE (c.joined IS NULL OR c.joined <= b.hi)
              AND (c.churned IS NULL OR c.churned > greatest(b.lo, c.joined))),
        lurk AS (SELECT count(*) AS lurkers FROM comm WHERE mk NOT IN (SELECT mk FROM pm))
        SELECT s.active + l.lurkers AS community, s.active AS active_members, l.lurkers,
               l.lurkers / nullif(s.active + l.lurkers, 0) AS lurker_share, s.activity,
               s.core, s.regular, s.casual, s.gini, s.top_10pct_share, s.absence_factor
        FROM stats s, lurk l, bounds b
        WHERE b.lo IS NOT NULL AND b.hi IS NOT NULL AND b.lo <= b.hi"""
    return _run(cur, sql, filters.params())


@register(
    "participation_lorenz",
    "Lorenz curve of activity over the range's active members (least active first): share of "
    "members vs share of activity, at 101 points",
    "share",
    section=SECTION,
)
def participation_lorenz(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Columns: members (the bottom i members, i = floor(k * N / 100) for k = 0..100),
    member_share (i / N), activity_share (their share of the activity). Empty without activity."""
    sql = f"""
        WITH {activity_ctes(cur, filters, 'month')},
        pm AS ({_per_member(cur, filters)}),
        ranked AS (
            SELECT row_number() OVER (ORDER BY n, mk) AS i,
                   sum(n) OVER (ORDER BY n, mk ROWS UNBOUNDED PRECEDING) AS cum
            FROM pm),
        tot AS (SELECT count(*) AS members, sum(n) AS activity FROM pm),
        pts AS (SELECT DISTINCT (k * members) // 100 AS i
                FROM tot, (SELECT unnest(generate_series(0, 100)) AS k) WHERE members > 0)
        SELECT p.i AS members, p.i / t.members AS member_share, coalesce(r.cum, 0) / t.activity AS activity_share
        FROM pts p CROSS JOIN tot t LEFT JOIN ranked r ON r.i = p.i
        ORDER BY p.i"""
    return _run(cur, sql, filters.params())


# ------------------------------------------------------------------------------------------
# Two-way interaction
# ------------------------------------------------------------------------------------------

def _responses_sql(cur: duckdb.DuckDBPyConnection, filters: Filters, not_answerable: list[str]) -> str:
    """`resp(occurred_at, day, channel, replied_at, seconds)`: each answerable inbound message in
    the range (its action not in ``not_answerable``; bind it as ``$not_answerable``) with its first
    outbound reply (NULL when none). A reply stamped before the message (clock skew between
    systems) still answers it, in 0 seconds. Reads the ``messages`` rollup when it answers (see
    metrics.source); its ``answerable`` flag stands for the default list."""
    seconds = ("CASE WHEN replied_at IS NOT NULL "
               "THEN greatest(date_diff('second', occurred_at, replied_at), 0) END AS seconds")
    if pick(cur, filters, "day"):
        answerable = ("m.answerable" if sorted(not_answerable) == sorted(NOT_ANSWERABLE) else
                      "NOT list_contains($not_answerable, coalesce(m.action, 'interaction'))")
        return f"""resp AS (
            SELECT occurred_at, day, channel, replied_at, seconds FROM messages m
            WHERE {answerable} AND {_dates('m.occurred_at')}
              AND (len($f_channels) = 0 OR list_contains($f_channels, m.channel))
              AND {segment_mk('m.mk')})"""
    return f"""{_activity()},
        ans AS (SELECT interaction_id, occurred_at, channel FROM activity
                WHERE interaction_id IS NOT NULL
                  AND NOT list_contains($not_answerable, coalesce(action, 'interaction'))),
        fr AS (SELECT in_reply_to AS interaction_id, min(occurred_at) AS replied_at FROM interactions
               WHERE direction = 'outbound' AND in_reply_to IS NOT NULL GROUP BY 1),
        resp AS (
            SELECT a.occurred_at, a.occurred_at::DATE AS day, a.channel, f.replied_at, {seconds}
            FROM ans a LEFT JOIN fr f USING (interaction_id))"""


_FRT_STATS = """count(*) AS answerable, count(replied_at) AS answered,
    count(replied_at) / nullif(count(*), 0) AS response_rate,
    (quantile_cont(seconds, [0.5, 0.9])[1] / 3600.0)::DOUBLE AS median_hours,
    (quantile_cont(seconds, [0.5, 0.9])[2] / 3600.0)::DOUBLE AS p90_hours,
    count(*) FILTER (seconds <= 3600) / nullif(count(*), 0) AS within_1h,
    count(*) FILTER (seconds <= 86400) / nullif(count(*), 0) AS within_24h"""
_FRT_COLUMNS = ["answerable", "answered", "response_rate", "median_hours", "p90_hours", "within_1h", "within_24h"]


@register(
    "response_rate",
    "Answerable inbound interactions (all actions except like, share, view, follow) with at least "
    "one outbound reply / answerable inbound interactions, by the period of the inbound message",
    "share",
    options={"grain": GRAIN_OPTION, "not_answerable": "comma-separated actions (default like,share,view,follow)"},
    per_period=True,
    section=SECTION,
)
def response_rate(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                  not_answerable: str | None = None) -> pd.DataFrame:
    """Columns: period, answerable, answered, value. Needs in_reply_to (see module docstring)."""
    frame = first_response_time(cur, filters, grain=grain, by="period", not_answerable=not_answerable)
    if frame.empty and frame.attrs.get("message"):
        return _needs_in_reply_to(["period", "answerable", "answered", "value"])
    return frame[["period", "answerable", "answered", "response_rate"]].rename(columns={"response_rate": "value"})


@register(
    "first_response_time",
    "First outbound reply time − inbound time of answerable inbound messages: median and p90 "
    "in hours (over answered ones), share answered within 1 h and within 24 h (of all answerable "
    "ones), response rate; by period, channel, hour of week, or overall",
    "hours",
    options={"grain": GRAIN_OPTION, "by": "period | channel | hour_of_week | overall (default period)",
             "not_answerable": "comma-separated actions (default like,share,view,follow)"},
    section=SECTION,
)
def first_response_time(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                        by: str = "period", not_answerable: str | None = None) -> pd.DataFrame:
    """Columns: the key (period | channel | weekday, hour | nothing) then answerable, answered,
    response_rate, median_hours, p90_hours, within_1h, within_24h. Periods and the 7 x 24 hour
    grid are gap-filled (weekday 1 = Monday, ISO); channels are those with answerable messages."""
    g = check_grain(grain)
    keys = {"period": ["period"], "channel": ["channel"], "hour_of_week": ["weekday", "hour"], "overall": []}
    if by not in keys:
        raise ValueError(f"by must be one of {', '.join(keys)} (got {by!r})")
    if not two_way_status(cur)["available"]:
        return _needs_in_reply_to(keys[by] + _FRT_COLUMNS)
    params = {**filters.params(), "not_answerable": _not_answerable(not_answerable)}
    resp = _responses_sql(cur, filters, params["not_answerable"])
    if by == "period":
        sql = f"""
            WITH {resp},
            agg AS (SELECT {trunc(g, 'day')} AS period, {_FRT_STATS}, min(day) AS lo, max(day) AS hi
                    FROM resp GROUP BY 1),
            {_bounds('agg')}, {spine_cte(g)}
            SELECT s.period, coalesce(a.answerable, 0) AS answerable, coalesce(a.answered, 0) AS answered,
                   a.response_rate, a.median_hours, a.p90_hours, a.within_1h, a.within_24h
            FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    elif by == "channel":
        sql = f"""WITH {resp}
            SELECT channel, {_FRT_STATS} FROM resp GROUP BY 1 ORDER BY answerable DESC, channel"""
    elif by == "hour_of_week":
        sql = f"""
            WITH {resp},
            agg AS (SELECT isodow(occurred_at) AS weekday, hour(occurred_at) AS hour, {_FRT_STATS}
                    FROM resp GROUP BY 1, 2),
            grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t1(w), range(0, 24) t2(h))
            SELECT g.weekday, g.hour, coalesce(a.answerable, 0) AS answerable, coalesce(a.answered, 0) AS answered,
                   a.response_rate, a.median_hours, a.p90_hours, a.within_1h, a.within_24h
            FROM grid g LEFT JOIN agg a USING (weekday, hour) ORDER BY g.weekday, g.hour"""
    else:
        sql = f"WITH {resp} SELECT {_FRT_STATS} FROM resp"
    return _run(cur, sql, params)


@register(
    "response_time_distribution",
    "Answerable inbound messages of the range by time to first reply (< 15 min, 15–60 min, "
    "1–4 h, 4–24 h, 1–3 days, > 3 days) and unanswered; parts sum to all answerable messages",
    "messages",
    options={"not_answerable": "comma-separated actions (default like,share,view,follow)"},
    section=SECTION,
)
def response_time_distribution(cur: duckdb.DuckDBPyConnection, filters: Filters,
                               not_answerable: str | None = None) -> pd.DataFrame:
    """Columns: bucket (label), position (sort order), messages, share (of answerable)."""
    if not two_way_status(cur)["available"]:
        return _needs_in_reply_to(["bucket", "position", "messages", "share"])
    params = {**filters.params(), "not_answerable": _not_answerable(not_answerable)}
    resp = _responses_sql(cur, filters, params["not_answerable"])
    cases, labels = [], []
    for pos, (label, upper) in enumerate(RESPONSE_BUCKETS):
        if upper is not None:
            cases.append(f"WHEN seconds <= {upper} THEN {pos}")
        labels.append(f"({pos}, '{label}')")
    unanswered = len(RESPONSE_BUCKETS)
    labels.append(f"({unanswered}, 'unanswered')")
    sql = f"""
        WITH {resp},
        b AS (SELECT CASE WHEN seconds IS NULL THEN {unanswered} {' '.join(cases)}
                          ELSE {len(RESPONSE_BUCKETS) - 1} END AS position FROM resp),
        agg AS (SELECT position, count(*) AS messages FROM b GROUP BY 1),
        names AS (SELECT * FROM (VALUES {', '.join(labels)}) t(position, bucket))
        SELECT n.bucket, n.position, coalesce(a.messages, 0) AS messages,
               coalesce(a.messages, 0) / nullif(sum(coalesce(a.messages, 0)) OVER (), 0) AS share
        FROM names n LEFT JOIN agg a USING (position) ORDER BY n.position"""
    return _run(cur, sql, params)


@register(
    "customer_responses_per_post",
    "Inbound member interactions replying to an outbound post / outbound posts (outbound rows that "
    "answer nothing, i.e. broadcasts), by the post's period. Low = we broadcast, nobody answers",
    "responses per post",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def customer_responses_per_post(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, posts, posts_with_response, responses, value (responses / posts).
    Posts follow the date, channel and campaign filters; responses (any date) come from known,
    non-employee members and follow the segment filter."""
    g = check_grain(grain)
    cols = ["period", "posts", "posts_with_response", "responses", "value"]
    if not two_way_status(cur)["available"]:
        return _needs_in_reply_to(cols)
    if _keyless_rollup_ok(cur, filters):  # no campaign or segment filter: the posts rollup answers
        agg = f"""agg AS (
            SELECT {trunc(g, 'p.occurred_at')} AS period, count(*) AS posts,
                   count(*) FILTER (p.responses > 0) AS posts_with_response, sum(p.responses) AS responses
            FROM posts p
            WHERE {_dates('p.occurred_at')} AND (len($f_channels) = 0 OR list_contains($f_channels, p.channel))
            GROUP BY 1)"""
    else:
        agg = f"""posts AS (
            SELECT o.interaction_id, o.occurred_at FROM interactions o
            WHERE {_outbound_where('o')} AND o.in_reply_to IS NULL AND o.interaction_id IS NOT NULL),
        resp AS (
            SELECT i.in_reply_to AS id, count(*) AS n FROM interactions i
            WHERE i.direction = 'inbound' AND i.member_id IS NOT NULL AND i.in_reply_to IS NOT NULL
              AND i.member_id NOT IN {_EMPLOYEES}
              AND (len($f_segments) = 0 OR i.member_id IN
                   (SELECT member_id FROM members_current WHERE list_contains($f_segments, segment)))
            GROUP BY 1),
        agg AS (
            SELECT {trunc(g, 'p.occurred_at')} AS period, count(*) AS posts, count(r.n) AS posts_with_response,
                   coalesce(sum(r.n), 0) AS responses
            FROM posts p LEFT JOIN resp r ON r.id = p.interaction_id GROUP BY 1)"""
    sql = f"""
        WITH {agg},
        {_bounds('agg', 'period', 'period')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.posts, 0) AS posts, coalesce(a.posts_with_response, 0) AS posts_with_response,
               coalesce(a.responses, 0)::BIGINT AS responses, a.responses / nullif(a.posts, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, filters.params())


@register(
    "responder_breadth",
    "Distinct agents sending outbound replies (in_reply_to set) per period",
    "agents",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def responder_breadth(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, replies, value (distinct non-null agents). Replies follow all filters
    (the segment filter through the reply's member_id, the customer addressed)."""
    g = check_grain(grain)
    if not two_way_status(cur)["available"]:
        return _needs_in_reply_to(["period", "replies", "value"])
    sql = f"""
        WITH rep AS (
            SELECT o.occurred_at, o.agent FROM interactions o
            WHERE o.direction = 'outbound' AND o.in_reply_to IS NOT NULL AND {interaction_where('o')}),
        agg AS (SELECT {trunc(g, 'occurred_at')} AS period, count(*) AS replies, count(DISTINCT agent) AS agents
                FROM rep GROUP BY 1),
        {_bounds('agg', 'period', 'period')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.replies, 0) AS replies, coalesce(a.agents, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, filters.params())


# ------------------------------------------------------------------------------------------
# Channels and timing
# ------------------------------------------------------------------------------------------

@register(
    "channel_presence",
    "Per channel over the range: active members on it and their share of all active members "
    "(a member can be on several channels), activity and its share",
    "share",
    section=SECTION,
)
def channel_presence(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Columns: channel, active_members, member_share, activity, activity_share; most members first."""
    sql = f"""
        WITH {activity_ctes(cur, filters, 'month')},
        mc AS (SELECT mk, channel, sum(n) AS n FROM activity GROUP BY ALL),
        tot AS (SELECT count(DISTINCT mk) AS members, sum(n) AS activity FROM mc)
        SELECT mc.channel, count(*) AS active_members, count(*) / nullif(any_value(t.members), 0) AS member_share,
               sum(n)::BIGINT AS activity, sum(n) / nullif(any_value(t.activity), 0) AS activity_share
        FROM mc, tot t GROUP BY mc.channel ORDER BY active_members DESC, mc.channel"""
    return _run(cur, sql, filters.params())


@register(
    "channels_per_active_member",
    "Mean number of distinct channels an active member used in the period",
    "channels",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def channels_per_active_member(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, active_members, member_channels (distinct member-channel pairs), value."""
    g = check_grain(grain)
    sql = f"""
        WITH {activity_ctes(cur, filters, g)},
        pmc AS (SELECT period, mk, channel, min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY ALL),
        agg AS (SELECT period, count(DISTINCT mk) AS active_members, count(*) AS member_channels,
                       min(lo) AS lo, max(hi) AS hi
                FROM pmc GROUP BY 1),
        {_bounds('agg')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.active_members, 0) AS active_members,
               coalesce(a.member_channels, 0) AS member_channels,
               a.member_channels / nullif(a.active_members, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, filters.params())


@register(
    "channel_mix",
    "Activity and active members per channel per period, with the channel's share of the "
    "period's activity (shares sum to 1 per period with activity)",
    "interactions",
    options={"grain": GRAIN_OPTION},
    section=SECTION,
)
def channel_mix(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, channel, activity, active_members, share. Every (period, channel with
    activity in the range) pair is present, 0 when quiet; ordered by period, channel."""
    g = check_grain(grain)
    members = "count(*)" if exact_rows(cur, filters, g) else "count(DISTINCT mk)"
    sql = f"""
        WITH {activity_ctes(cur, filters, g)},
        agg AS (SELECT period, channel, sum(n) AS activity,
                       {members} AS active_members, min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY ALL),
        {_bounds('agg')}, {spine_cte(g)},
        channels AS (SELECT DISTINCT channel FROM agg)
        SELECT s.period, c.channel, coalesce(a.activity, 0) AS activity,
               coalesce(a.active_members, 0) AS active_members,
               coalesce(a.activity, 0) / nullif(sum(coalesce(a.activity, 0)) OVER (PARTITION BY s.period), 0) AS share
        FROM spine s CROSS JOIN channels c LEFT JOIN agg a USING (period, channel)
        ORDER BY s.period, c.channel"""
    return _run(cur, sql, filters.params())


@register(
    "activity_heatmap",
    "Activity (inbound, members) and our outbound interactions by weekday (1 = Monday) and hour "
    "of day, workspace wall-clock time: when customers talk and when we answer",
    "interactions",
    section=SECTION,
)
def activity_heatmap(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Columns: weekday (1..7), hour (0..23), activity, outbound; all 168 cells, 0 when quiet."""
    if _keyless_rollup_ok(cur, filters):
        counts = f"""
        a AS (SELECT weekday, hour, sum(n)::BIGINT AS n FROM hourly h
              WHERE h.direction = 'inbound' AND h.known AND NOT h.is_employee AND {_HOURLY_WHERE} GROUP BY 1, 2),
        o AS (SELECT weekday, hour, sum(n)::BIGINT AS n FROM hourly h
              WHERE h.direction = 'outbound' AND {_HOURLY_WHERE} GROUP BY 1, 2)"""
    else:
        counts = f"""{_activity()},
        a AS (SELECT isodow(occurred_at) AS weekday, hour(occurred_at) AS hour, count(*) AS n
              FROM activity GROUP BY 1, 2),
        o AS (SELECT isodow(o.occurred_at) AS weekday, hour(o.occurred_at) AS hour, count(*) AS n
              FROM interactions o WHERE {_outbound_where('o')} GROUP BY 1, 2)"""
    sql = f"""
        WITH {counts},
        grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t1(w), range(0, 24) t2(h))
        SELECT g.weekday, g.hour, coalesce(a.n, 0) AS activity, coalesce(o.n, 0) AS outbound
        FROM grid g LEFT JOIN a USING (weekday, hour) LEFT JOIN o USING (weekday, hour)
        ORDER BY g.weekday, g.hour"""
    return _run(cur, sql, filters.params())


# ------------------------------------------------------------------------------------------
# Phase indicators and influentials
# ------------------------------------------------------------------------------------------

@register(
    "identified_share",
    "Inbound interactions whose member_id is in the members table / all inbound interactions "
    "(anonymous included, employees excluded): contact moments tied to a known customer (phase 2)",
    "share",
    options={"grain": GRAIN_OPTION},
    per_period=True,
    section=SECTION,
)
def identified_share(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """Columns: period, inbound, identified, value. (A segment filter keeps only members, so it
    makes the share 1 wherever there is activity.)"""
    g = check_grain(grain)
    if filters.segments and pick(cur, filters, g) is not None:
        # A segment keeps CRM members only: every inbound row left is activity, and identified.
        agg = f"""{activity_ctes(cur, filters, g)},
        agg AS (SELECT period, sum(n)::BIGINT AS inbound, sum(n)::BIGINT AS identified,
                       min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY 1)"""
    elif _keyless_rollup_ok(cur, filters):
        agg = f"""agg AS (
            SELECT {trunc(g, 'h.period')} AS period, sum(n)::BIGINT AS inbound, coalesce(sum(n) FILTER (h.in_crm), 0)::BIGINT AS identified,
                   min(h.period) AS lo, max(h.period) AS hi
            FROM hourly h WHERE h.direction = 'inbound' AND NOT h.is_employee AND {_HOURLY_WHERE} GROUP BY 1)"""
    else:
        agg = f"""inb AS (
            SELECT i.occurred_at, i.member_id FROM interactions i
            WHERE i.direction = 'inbound' AND (i.member_id IS NULL OR i.member_id NOT IN {_EMPLOYEES})
              AND {interaction_where('i')}),
        known AS (SELECT DISTINCT member_id FROM members_current),
        agg AS (SELECT {trunc(g, 'i.occurred_at')} AS period, count(*) AS inbound, count(k.member_id) AS identified,
                       min(i.occurred_at) AS lo, max(i.occurred_at) AS hi
                FROM inb i LEFT JOIN known k USING (member_id) GROUP BY 1)"""
    sql = f"""
        WITH {agg},
        {_bounds('agg')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.inbound, 0) AS inbound, coalesce(a.identified, 0) AS identified,
               a.identified / nullif(a.inbound, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, filters.params())


def _engaged_cte(cur: duckdb.DuckDBPyConnection, filters: Filters, period_expr: str) -> str:
    """`engaged(period, mk)`: influentials (from `infl`) who received an outbound interaction in
    the range: addressed to them (its member_id) or, when it names no member, replying to one of
    their messages. Reads the ``contacts`` rollup when it answers (no campaign filter)."""
    if pick(cur, filters, "day"):
        return f"""engaged AS (
        SELECT DISTINCT {period_expr.format(t='c.period')} AS period, c.mk FROM contacts c
        WHERE ($f_start IS NULL OR c.period >= $f_start) AND ($f_end_excl IS NULL OR c.period < $f_end_excl)
          AND (len($f_channels) = 0 OR list_contains($f_channels, c.channel))
          AND c.mk IN (SELECT mk FROM infl))"""
    return f"""engaged AS (
        SELECT DISTINCT {period_expr.format(t='o.occurred_at')} AS period, o.member_id AS mk FROM interactions o
        WHERE {_outbound_where('o')} AND o.member_id IN (SELECT mk FROM infl)
        UNION
        SELECT DISTINCT {period_expr.format(t='o.occurred_at')}, i.member_id
        FROM interactions o JOIN interactions i ON o.in_reply_to = i.interaction_id
        WHERE {_outbound_where('o')} AND o.member_id IS NULL AND o.in_reply_to IS NOT NULL
          AND i.member_id IN (SELECT mk FROM infl))"""


def _love_sql(cur: duckdb.DuckDBPyConnection, filters: Filters) -> str:
    """`(mk, love)`: activity per member in [$love_from, $love_to) under the channel and segment
    filters (the love window replaces the date range)."""
    if pick(cur, filters, "day"):
        return f"""SELECT mk, sum(n) AS love FROM activity_day a
            WHERE a.period >= $love_from AND a.period < $love_to
              AND (len($f_channels) = 0 OR list_contains($f_channels, a.channel)) AND {segment_mk('a.mk')}
            GROUP BY 1"""
    return f"""SELECT member_id AS mk, count(*) AS love FROM interactions i
            WHERE i.direction = 'inbound' AND i.member_id IS NOT NULL AND i.member_id NOT IN {_EMPLOYEES}
              AND i.occurred_at >= $love_from AND i.occurred_at < $love_to
              AND {interaction_where('i', use_dates=False)}
            GROUP BY 1"""


# `ranked(..., k, rk)`: the first k rows of `reach` by reach (descending, then mk) in each
# partition, k from `active`, rk their rank (members without a reach sort last: never among them).
# Only the rows at or above the k-th largest reach (`max(reach, n)` lists the n largest) are
# ranked: the rest rank after all of them, so the first k ranks are those of the whole partition.
_TOP_BY_REACH = """top AS (
            SELECT {part}, max(reach, coalesce((SELECT max(k) FROM active), 1)) AS top FROM reach
            WHERE reach IS NOT NULL GROUP BY ALL),
        cand AS (
            SELECT r.*, a.k FROM reach r JOIN active a {by} JOIN top t {by}
            WHERE r.reach >= t.top[least(a.k, len(t.top))]),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY reach DESC, mk) AS rk FROM cand)"""


@register(
    "influentials",
    "Influentials (top 1 % by reach among the range's active members, configurable) with love "
    "(activity in the trailing 90 days to the range end), reach (followers, else max reach of "
    "their interactions), gravity = love × reach (Orbit) and whether we engaged them (sent them an "
    "outbound interaction in the range)",
    "members",
    options={"top_share": "share of active members by reach (default 0.01)",
             "love_days": "trailing days for love (default 90)",
             "limit": "rows to return, by gravity (default 100; 0 = all)"},
    section=SECTION,
)
def influentials(cur: duckdb.DuckDBPyConnection, filters: Filters, top_share: float = 0.01,
                 love_days: int = 90, limit: int = 100) -> pd.DataFrame:
    """Columns: member_id, name, segment, love, reach, gravity, engaged, reach_rank; by gravity
    descending, then reach, then member_id. Influentials are the first ceil(top_share x active)
    active members by reach (descending, then member_id) that have a reach."""
    if not 0 < float(top_share) <= 1:
        raise ValueError(f"top_share must be in (0, 1] (got {top_share!r})")
    if int(love_days) < 1 or int(limit) < 0:
        raise ValueError("love_days must be >= 1 and limit >= 0")
    hi = _range_end(cur, filters)
    if hi is None:
        return pd.DataFrame(columns=["member_id", "name", "segment", "love", "reach", "gravity", "engaged",
                                     "reach_rank"])
    sql = f"""
        WITH {activity_ctes(cur, filters, 'month')},
        am AS ({_per_member(cur, filters)}),
        love AS ({_love_sql(cur, filters)}),
        reach AS (SELECT 1 AS part, am.mk, coalesce(m.followers, am.max_reach) AS reach
                  FROM am LEFT JOIN mdim m USING (mk)),
        active AS (SELECT ceil($top_share * count(*))::BIGINT AS k FROM am),
        {_TOP_BY_REACH.format(part="part", by="ON TRUE")},
        infl AS (
            SELECT r.mk, x.member_id, m.name, m.segment, coalesce(l.love, 0)::BIGINT AS love, r.reach,
                   r.rk AS reach_rank
            FROM ranked r JOIN ids x USING (mk) LEFT JOIN mdim m USING (mk) LEFT JOIN love l USING (mk)
            WHERE r.rk <= r.k),
        {_engaged_cte(cur, filters, "0")}
        SELECT i.member_id, i.name, i.segment, i.love, i.reach, i.love * i.reach AS gravity,
               i.mk IN (SELECT mk FROM engaged) AS engaged, i.reach_rank
        FROM infl i
        ORDER BY gravity DESC, i.reach DESC, i.mk
        LIMIT CASE WHEN $limit > 0 THEN $limit END"""
    params = {**filters.params(), "top_share": float(top_share), "limit": int(limit),
              "love_from": hi + timedelta(days=1 - int(love_days)), "love_to": hi + timedelta(days=1)}
    return _run(cur, sql, params)


@register(
    "influentials_engaged",
    "Influentials (top 1 % by reach among the period's active members) who received an outbound "
    "interaction from us in the period / influentials (phase 3)",
    "share",
    options={"grain": GRAIN_OPTION, "top_share": "share of active members by reach (default 0.01)"},
    per_period=True,
    section=SECTION,
)
def influentials_engaged(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month",
                         top_share: float = 0.01) -> pd.DataFrame:
    """Columns: period, influentials, engaged, value."""
    g = check_grain(grain)
    if not 0 < float(top_share) <= 1:
        raise ValueError(f"top_share must be in (0, 1] (got {top_share!r})")
    months = member_months(cur, filters) if g == "month" else None
    per_member = (f"SELECT period, mk, max_reach, first_at AS lo, last_at AS hi FROM ({months})" if months else
                  "SELECT period, mk, max(max_reach) AS max_reach, min(first_at) AS lo, max(last_at) AS hi "
                  "FROM activity GROUP BY ALL")
    sql = f"""
        WITH {activity_ctes(cur, filters, g)},
        pm AS ({per_member}),
        {_bounds('pm')}, {spine_cte(g)},
        reach AS (SELECT pm.period, pm.mk, coalesce(m.followers, pm.max_reach) AS reach
                  FROM pm LEFT JOIN mdim m USING (mk)),
        active AS (SELECT period, ceil($top_share * count(*))::BIGINT AS k FROM pm GROUP BY 1),
        {_TOP_BY_REACH.format(part="period", by="USING (period)")},
        infl AS (SELECT period, mk FROM ranked WHERE rk <= k),
        {_engaged_cte(cur, filters, trunc(g, '{t}'))},
        agg AS (SELECT i.period, count(*) AS influentials, count(e.mk) AS engaged
                FROM infl i LEFT JOIN engaged e USING (period, mk) GROUP BY 1)
        SELECT s.period, coalesce(a.influentials, 0) AS influentials, coalesce(a.engaged, 0) AS engaged,
               a.engaged / nullif(a.influentials, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return _run(cur, sql, {**filters.params(), "top_share": float(top_share)})
