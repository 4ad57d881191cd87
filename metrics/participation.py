"""Participation and activity metrics (METRICS.md, "Participation and activity").

Every metric reads the relations of ``metrics.source`` (activity, community, messages, ...; the
definitions behind them are in ``derived.definitions``). Periods come from ``metrics.periods``
(ISO weeks, workspace wall-clock time); per-period results are gap-filled by a spine and ordered
by period; ratios are NULL when their denominator is empty.

**Two-way** metrics need ``in_reply_to``. When no row of the workspace has it, they return an
empty frame whose ``attrs["message"]`` says which column to map (``two_way_status`` tells the
page the same), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import pandas as pd

from derived.definitions import NOT_ANSWERABLE
from metrics.options import Grain, GrainOptions, Options, opt
from metrics.periods import spine_cte, trunc
from metrics.registry import measure, projection
from metrics.source import Source

SECTION = "participation"
NEEDS_IN_REPLY_TO = (
    "No interaction in this workspace says which message it answers. Map a column to "
    "in_reply_to (the interaction_id a reply answers) on the Data page to see response rates, "
    "response times and customer responses."
)
RESPONSE_BUCKETS: tuple[tuple[str, int | None], ...] = (  # label, upper bound in seconds (inclusive)
    ("< 15 min", 900), ("15–60 min", 3600), ("1–4 h", 4 * 3600), ("4–24 h", 24 * 3600),
    ("1–3 days", 72 * 3600), ("> 3 days", None),
)


@dataclass(frozen=True)
class DayGrain(Options):
    grain: Grain = opt("day", "period length")


@dataclass(frozen=True)
class Answerable(Options):
    not_answerable: tuple[str, ...] = opt(NOT_ANSWERABLE, "actions a reply does not answer")


@dataclass(frozen=True)
class AnswerableGrain(Answerable):
    grain: Grain = opt("month", "period length")


@dataclass(frozen=True)
class ResponseTimes(AnswerableGrain):
    by: Literal["period", "channel", "hour_of_week", "overall"] = opt("period", "breakdown")


@dataclass(frozen=True)
class Influence(Options):
    top_share: float = opt(0.01, "share of active members by reach", lo=1e-9, hi=1.0)
    love_days: int = opt(90, "trailing days for love", lo=1, hi=3650)
    limit: int = opt(100, "rows to return, by gravity (0 = all)", lo=0, hi=10_000_000)


@dataclass(frozen=True)
class InfluenceGrain(Options):
    grain: Grain = opt("month", "period length")
    top_share: float = opt(0.01, "share of active members by reach", lo=1e-9, hi=1.0)


# ------------------------------------------------------------------------------------------
# SQL building blocks
# ------------------------------------------------------------------------------------------
def _bounds(source: str, lo: str = "lo", hi: str = "hi") -> str:
    """`bounds(lo, hi)`: the filter's dates, else the span of an aggregated CTE carrying each
    group's first / last time (so the rows are scanned once)."""
    return f"""bounds AS (
        SELECT coalesce(CAST($f_start AS DATE), min({lo})::DATE) AS lo,
               coalesce(CAST($f_end_excl AS DATE) - 1, max({hi})::DATE) AS hi
        FROM {source})"""


def _period_end(grain: str, period: str = "s.period") -> str:
    """Last day of the period, clipped to the range end (bounds.hi)."""
    return f"least(CAST({period} + INTERVAL 1 {grain} AS DATE) - 1, b.hi)"


def _member_periods(src: Source, grain: str) -> str:
    """`pm(mk, period, lo, hi)`: one row per member and period with activity (first / last time)."""
    if grain == "day":
        return f"""{src.member_days()},
        pm AS (SELECT mk, day AS period, day AS lo, day AS hi FROM md)"""
    if grain == "month":
        return f"""{src.member_months()},
        pm AS (SELECT mk, period, first_at AS lo, last_at AS hi FROM mm)"""
    return f"""{src.activity(grain)},
        pm AS (SELECT mk, period, min(first_at) AS lo, max(last_at) AS hi FROM activity GROUP BY ALL)"""


def _per_member(src: Source) -> str:
    """`pmt(mk, n, lo, hi, max_reach)`: each active member's activity over the range."""
    return f"""{src.member_totals()},
        pmt AS (SELECT mk, n, first_at AS lo, last_at AS hi, max_reach FROM mt)"""


def two_way_status(con) -> dict:
    """``{"available": bool, "message": str | None}``: can two-way metrics be computed at all?"""
    from derived.sync import ensure
    from metrics.filters import Filters

    ensure(con)
    with con.cursor() as cur:
        available = Source(cur, Filters()).has_replies()
    return {"available": available, "message": None if available else NEEDS_IN_REPLY_TO}


def _needs_in_reply_to(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame.attrs["message"] = NEEDS_IN_REPLY_TO
    frame.attrs["missing_column"] = "in_reply_to"
    return frame


# ------------------------------------------------------------------------------------------
# Activity next to size
# ------------------------------------------------------------------------------------------
@measure("participation_rate",
         "Active community members / community size at period end (activity next to size). Also "
         "returns active_members (all, incl. handles not in the CRM) and community_size.",
         "share", SECTION, label="participation rate", options=GrainOptions, per_period=True, reads=("member_months", "community"),
         units=lambda src, o: _community_units(src, "CASE WHEN a.mk IS NOT NULL THEN 1 ELSE 0 END"),
         kind="proportion")
def participation_rate(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, active_members, active_in_community, community_size, value.

    ``value`` = active_in_community / community_size, where active_in_community counts the
    period's active members that belong to the community at the period end (so the rate stays a
    share; activity by handles not in the CRM shows in active_members only). The period end is
    clipped to the range end for a partial last period.
    """
    g = o.grain
    sql = f"""
        WITH {_member_periods(src, g)},
        {_bounds('pm')}, {spine_cte(g)}, {src.community()},
        ends AS (SELECT s.period, {_period_end(g)} AS period_end FROM spine s, bounds b),
        act AS (SELECT period, count(*) AS n FROM pm GROUP BY 1),
        act_c AS (
            SELECT pm.period, count(*) AS n
            FROM pm JOIN ends e USING (period) JOIN community c USING (mk)
            WHERE (c.joined IS NULL OR c.joined <= e.period_end) AND (c.churned IS NULL OR c.churned > e.period_end)
            GROUP BY 1),
        {_SIZE}
        SELECT e.period,
               coalesce(act.n, 0) AS active_members,
               coalesce(act_c.n, 0) AS active_in_community,
               coalesce(size.n, 0)::BIGINT AS community_size,
               coalesce(act_c.n, 0) / nullif(coalesce(size.n, 0), 0) AS value
        FROM ends e LEFT JOIN act USING (period) LEFT JOIN act_c USING (period) LEFT JOIN size USING (period)
        ORDER BY e.period"""
    return src.run(sql)


# `size(period, n)`: the community at each period end (`ends`): +1 from the join, -1 from the churn.
_SIZE = """ev AS (
            SELECT joined AS d, count(*) AS delta FROM community GROUP BY 1
            UNION ALL
            SELECT greatest(churned, joined), -count(*) FROM community WHERE churned IS NOT NULL GROUP BY 1),
        size AS (
            SELECT e.period, sum(ev.delta) AS n
            FROM ends e JOIN ev ON coalesce(ev.d, DATE '0001-01-01') <= e.period_end
            GROUP BY 1)"""


def _community_units(src: Source, value: str) -> str:
    """Per community member at the range end (the units of a trial on a member metric): ``value``
    from their activity in the range (``a``: per-member totals, NULL when not active)."""
    return f"""WITH {src.community()}, {_per_member(src)},
        a AS (SELECT mk, n FROM pmt)
        SELECT c.mk, {value} AS v FROM community c LEFT JOIN a USING (mk)
        WHERE {_in_community_at_end()}"""


def _in_community_at_end() -> str:
    end = "coalesce(CAST($f_end_excl AS DATE) - 1, DATE '9999-12-31')"
    return f"(c.joined IS NULL OR c.joined <= {end}) AND (c.churned IS NULL OR c.churned > {end})"


@measure("interactions_per_member",
         "Activity of the community per community member at period end (members without activity "
         "count as 0): a mean per member, the unit a trial compares",
         "interactions per member", SECTION, label="interactions per member", options=GrainOptions, per_period=True,
         reads=("member_months", "community"), units=lambda src, o: _community_units(src, "coalesce(a.n, 0)"))
def interactions_per_member(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, activity (by community members), community_size, value."""
    g = o.grain
    sql = f"""
        WITH {src.activity(g)}, {src.community()},
        agg AS (SELECT period, mk, sum(n) AS n, min(first_at) AS lo, max(last_at) AS hi FROM activity GROUP BY 1, 2),
        {_bounds('agg')}, {spine_cte(g)},
        ends AS (SELECT s.period, {_period_end(g)} AS period_end FROM spine s, bounds b),
        act AS (
            SELECT a.period, sum(a.n) AS n FROM agg a JOIN ends e USING (period) JOIN community c USING (mk)
            WHERE (c.joined IS NULL OR c.joined <= e.period_end) AND (c.churned IS NULL OR c.churned > e.period_end)
            GROUP BY 1),
        {_SIZE}
        SELECT e.period, coalesce(act.n, 0)::BIGINT AS activity, coalesce(size.n, 0)::BIGINT AS community_size,
               coalesce(act.n, 0) / nullif(coalesce(size.n, 0), 0) AS value
        FROM ends e LEFT JOIN act USING (period) LEFT JOIN size USING (period) ORDER BY e.period"""
    return src.run(sql)


@measure("dau_wau_mau",
         "Distinct active members on the day (DAU) and over the trailing 7 (WAU) and 30 days (MAU) "
         "ending on it (PostHog); per week / month the mean of the daily values; stickiness = "
         "mean DAU / mean MAU", "members", SECTION, options=DayGrain, reads=("daily",))
def dau_wau_mau(src: Source, o: DayGrain) -> pd.DataFrame:
    """Columns: period, dau, wau, mau, stickiness (DOUBLE means for week / month)."""
    if o.grain == "day":
        select = """SELECT day AS period, dau::BIGINT AS dau, wau::BIGINT AS wau, mau::BIGINT AS mau,
                           dau / nullif(mau, 0) AS stickiness FROM daily ORDER BY period"""
    else:
        select = f"""SELECT {trunc(o.grain, 'day')} AS period, avg(dau) AS dau, avg(wau) AS wau, avg(mau) AS mau,
                            avg(dau) / nullif(avg(mau), 0) AS stickiness
                     FROM daily GROUP BY 1 ORDER BY 1"""
    return src.run(f"WITH {src.daily()} {select}")


@projection("stickiness", "Mean DAU / mean MAU over the days of each period (PostHog stickiness ratio)",
            "share", SECTION, parent="dau_wau_mau", options=GrainOptions, per_period=True)
def stickiness(frame: pd.DataFrame, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, value."""
    return frame[["period", "stickiness"]].rename(columns={"stickiness": "value"})


@measure("stickiness_distribution",
         "Members by the number of periods (days, weeks or months) they were active in the range; "
         "each active member in exactly one bucket (PostHog stickiness)", "members", SECTION,
         options=DayGrain, reads=("member_days", "member_months", "activity"))
def stickiness_distribution(src: Source, o: DayGrain) -> pd.DataFrame:
    """Columns: periods_active (1 .. periods in the range), members, share (of active members)."""
    sql = f"""
        WITH {_member_periods(src, o.grain)},
        {_bounds('pm')}, {spine_cte(o.grain)},
        per AS (SELECT mk, count(*) AS k FROM pm GROUP BY 1),
        agg AS (SELECT k, count(*) AS members FROM per GROUP BY 1),
        buckets AS (SELECT unnest(generate_series(1, (SELECT count(*) FROM spine))) AS k)
        SELECT b.k AS periods_active, coalesce(a.members, 0) AS members,
               coalesce(a.members, 0) / nullif(sum(coalesce(a.members, 0)) OVER (), 0) AS share
        FROM buckets b LEFT JOIN agg a USING (k)
        ORDER BY b.k"""
    return src.run(sql)


@measure("activity_per_active_member",
         "Activity count / active members per period; also the median and p90 of the per-member "
         "counts (linear interpolation, as numpy / pandas)", "interactions per member", SECTION,
         options=GrainOptions, per_period=True, reads=("member_months", "activity"))
def activity_per_active_member(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, activity, active_members, value (mean), median, p90."""
    g = o.grain
    if g == "month":
        per_member = f"{src.member_months()}, pm AS (SELECT period, mk, n, first_at AS lo, last_at AS hi FROM mm)"
    else:
        per_member = f"""{src.activity(g)},
        pm AS (SELECT period, mk, sum(n) AS n, min(first_at) AS lo, max(last_at) AS hi FROM activity GROUP BY ALL)"""
    sql = f"""
        WITH {per_member},
        agg AS (SELECT period, sum(n) AS activity, count(*) AS active_members,
                       quantile_cont(n, [0.5, 0.9]) AS q, min(lo) AS lo, max(hi) AS hi
                FROM pm GROUP BY 1),
        {_bounds('agg')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.activity, 0)::BIGINT AS activity, coalesce(a.active_members, 0) AS active_members,
               a.activity / nullif(a.active_members, 0) AS value, a.q[1]::DOUBLE AS median, a.q[2]::DOUBLE AS p90
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql)


# ------------------------------------------------------------------------------------------
# Participation inequality
# ------------------------------------------------------------------------------------------
@measure("participation_inequality",
         "For the range: community (members at some point in the range, plus anyone active), active "
         "members, lurkers; onion tiers core (smallest top group with 80 % of activity), regular "
         "(next 15 %), casual (last 5 %) (GrimoireLab); gini; top_10pct_share; absence_factor (CHAOSS)",
         "members", SECTION, reads=("member_totals", "community"))
def participation_inequality(src: Source, o: Options) -> pd.DataFrame:
    """One row for the whole range (empty when the range is undefined). Columns: community,
    active_members, lurkers, lurker_share, activity, core, regular, casual, gini,
    top_10pct_share, absence_factor.

    Active members are sorted by activity (descending); a member is in the core while the
    activity of those before them is < 80 % of the total, regular while < 95 %, casual after;
    absence_factor counts those before whom < 50 % was reached (the counts do not depend on how
    ties are ordered). gini is over the active members' counts; top_10pct_share is the activity
    share of the top ceil(10 %) of them. A range without activity gives NULL for gini,
    top_10pct_share and absence_factor.
    """
    sql = f"""
        WITH {_per_member(src)},
        {_bounds('pmt')}, {src.community()},
        ranked AS (
            SELECT n,
                   coalesce(sum(n) OVER (ORDER BY n DESC, mk
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
                   row_number() OVER (ORDER BY n DESC, mk) AS r,
                   sum(n) OVER () AS total, count(*) OVER () AS active
            FROM pmt),
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
        lurk AS (SELECT count(*) AS lurkers FROM comm WHERE mk NOT IN (SELECT mk FROM pmt))
        SELECT s.active + l.lurkers AS community, s.active AS active_members, l.lurkers,
               l.lurkers / nullif(s.active + l.lurkers, 0) AS lurker_share, s.activity,
               s.core, s.regular, s.casual, s.gini, s.top_10pct_share, s.absence_factor
        FROM stats s, lurk l, bounds b
        WHERE b.lo IS NOT NULL AND b.hi IS NOT NULL AND b.lo <= b.hi"""
    return src.run(sql)


@measure("participation_lorenz",
         "Lorenz curve of activity over the range's active members (least active first): share of "
         "members vs share of activity, at 101 points", "share", SECTION, reads=("member_totals",))
def participation_lorenz(src: Source, o: Options) -> pd.DataFrame:
    """Columns: members (the bottom i members, i = floor(k * N / 100) for k = 0..100),
    member_share (i / N), activity_share (their share of the activity). Empty without activity."""
    sql = f"""
        WITH {_per_member(src)},
        ranked AS (
            SELECT row_number() OVER (ORDER BY n, mk) AS i,
                   sum(n) OVER (ORDER BY n, mk ROWS UNBOUNDED PRECEDING) AS cum
            FROM pmt),
        tot AS (SELECT count(*) AS members, sum(n) AS activity FROM pmt),
        pts AS (SELECT DISTINCT (k * members) // 100 AS i
                FROM tot, (SELECT unnest(generate_series(0, 100)) AS k) WHERE members > 0)
        SELECT p.i AS members, p.i / t.members AS member_share, coalesce(r.cum, 0) / t.activity AS activity_share
        FROM pts p CROSS JOIN tot t LEFT JOIN ranked r ON r.i = p.i
        ORDER BY p.i"""
    return src.run(sql)


# ------------------------------------------------------------------------------------------
# Two-way interaction
# ------------------------------------------------------------------------------------------
_FRT_STATS = """count(*) AS answerable, count(replied_at) AS answered,
    count(replied_at) / nullif(count(*), 0) AS response_rate,
    (quantile_cont(seconds, [0.5, 0.9])[1] / 3600.0)::DOUBLE AS median_hours,
    (quantile_cont(seconds, [0.5, 0.9])[2] / 3600.0)::DOUBLE AS p90_hours,
    (avg(seconds) / 3600.0)::DOUBLE AS mean_hours,
    count(*) FILTER (seconds <= 3600) / nullif(count(*), 0) AS within_1h,
    count(*) FILTER (seconds <= 86400) / nullif(count(*), 0) AS within_24h"""
_FRT_COLUMNS = ["answerable", "answered", "response_rate", "median_hours", "p90_hours", "mean_hours",
                "within_1h", "within_24h"]


@measure("first_response_time",
         "First outbound reply time − inbound time of answerable inbound messages: median, p90 and "
         "mean in hours (over answered ones), share answered within 1 h and within 24 h (of all "
         "answerable ones), response rate; by period, channel, hour of week, or overall", "hours",
         SECTION, options=ResponseTimes, reads=("messages",), higher_is_better=False)
def first_response_time(src: Source, o: ResponseTimes) -> pd.DataFrame:
    """Columns: the key (period | channel | weekday, hour | nothing) then answerable, answered,
    response_rate, median_hours, p90_hours, mean_hours, within_1h, within_24h. Periods and the
    7 x 24 hour grid are gap-filled (weekday 1 = Monday, ISO); channels are those with answerable
    messages."""
    keys = {"period": ["period"], "channel": ["channel"], "hour_of_week": ["weekday", "hour"], "overall": []}
    if not src.has_replies():
        return _needs_in_reply_to(keys[o.by] + _FRT_COLUMNS)
    g, resp = o.grain, src.messages()
    if o.by == "period":
        sql = f"""
            WITH {resp},
            agg AS (SELECT {trunc(g, 'day')} AS period, {_FRT_STATS}, min(day) AS lo, max(day) AS hi
                    FROM resp GROUP BY 1),
            {_bounds('agg')}, {spine_cte(g)}
            SELECT s.period, coalesce(a.answerable, 0) AS answerable, coalesce(a.answered, 0) AS answered,
                   a.response_rate, a.median_hours, a.p90_hours, a.mean_hours, a.within_1h, a.within_24h
            FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    elif o.by == "channel":
        sql = f"WITH {resp} SELECT channel, {_FRT_STATS} FROM resp GROUP BY 1 ORDER BY answerable DESC, channel"
    elif o.by == "hour_of_week":
        sql = f"""
            WITH {resp},
            agg AS (SELECT isodow(occurred_at) AS weekday, hour(occurred_at) AS hour, {_FRT_STATS}
                    FROM resp GROUP BY 1, 2),
            grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t1(w), range(0, 24) t2(h))
            SELECT g.weekday, g.hour, coalesce(a.answerable, 0) AS answerable, coalesce(a.answered, 0) AS answered,
                   a.response_rate, a.median_hours, a.p90_hours, a.mean_hours, a.within_1h, a.within_24h
            FROM grid g LEFT JOIN agg a USING (weekday, hour) ORDER BY g.weekday, g.hour"""
    else:
        sql = f"WITH {resp} SELECT {_FRT_STATS} FROM resp"
    return src.run(sql, not_answerable=list(o.not_answerable))


def _by_period(o: AnswerableGrain) -> dict:
    return {"grain": o.grain, "not_answerable": o.not_answerable, "by": "period"}


def _message_units(value: str):
    def units(src: Source, o: Options) -> str:
        if not src.has_replies():
            return "SELECT NULL::DOUBLE AS v WHERE FALSE"
        return f"WITH {src.messages()} SELECT {value} AS v FROM resp"
    return units


@projection("response_rate",
            "Answerable inbound interactions (all actions except like, share, view, follow) with at least "
            "one outbound reply / answerable inbound interactions, by the period of the inbound message",
            "share", SECTION, parent="first_response_time", label="response rate", options=AnswerableGrain, per_period=True,
            parent_options=_by_period, kind="proportion", unit_of_analysis="message",
            units=_message_units("CASE WHEN replied_at IS NOT NULL THEN 1 ELSE 0 END"))
def response_rate(frame: pd.DataFrame, o: AnswerableGrain) -> pd.DataFrame:
    """Columns: period, answerable, answered, value. Needs in_reply_to (see module docstring)."""
    if frame.empty and frame.attrs.get("message"):
        return _needs_in_reply_to(["period", "answerable", "answered", "value"])
    return frame[["period", "answerable", "answered", "response_rate"]].rename(columns={"response_rate": "value"})


@projection("response_within_1h",
            "Share of the answerable inbound messages of the period whose first reply came within 1 hour "
            "(unanswered ones count as not within)", "share", SECTION, parent="first_response_time",
            label="replies within 1 h", options=AnswerableGrain, per_period=True, parent_options=_by_period, kind="proportion",
            unit_of_analysis="message",
            units=_message_units("CASE WHEN seconds IS NOT NULL AND seconds <= 3600 THEN 1 ELSE 0 END"))
def response_within_1h(frame: pd.DataFrame, o: AnswerableGrain) -> pd.DataFrame:
    """Columns: period, answerable, value."""
    if frame.empty and frame.attrs.get("message"):
        return _needs_in_reply_to(["period", "answerable", "value"])
    return frame[["period", "answerable", "within_1h"]].rename(columns={"within_1h": "value"})


@projection("first_response_hours",
            "Mean hours from an answered inbound message of the period to its first outbound reply "
            "(a reply stamped before its message counts as 0)", "hours", SECTION,
            parent="first_response_time", label="first response time", options=AnswerableGrain, per_period=True, parent_options=_by_period,
            higher_is_better=False, unit_of_analysis="message",
            units=_message_units("seconds / 3600.0"))
def first_response_hours(frame: pd.DataFrame, o: AnswerableGrain) -> pd.DataFrame:
    """Columns: period, answered, value (mean hours)."""
    if frame.empty and frame.attrs.get("message"):
        return _needs_in_reply_to(["period", "answered", "value"])
    return frame[["period", "answered", "mean_hours"]].rename(columns={"mean_hours": "value"})


@measure("response_time_distribution",
         "Answerable inbound messages of the range by time to first reply (< 15 min, 15–60 min, "
         "1–4 h, 4–24 h, 1–3 days, > 3 days) and unanswered; parts sum to all answerable messages",
         "messages", SECTION, options=Answerable, reads=("messages",))
def response_time_distribution(src: Source, o: Answerable) -> pd.DataFrame:
    """Columns: bucket (label), position (sort order), messages, share (of answerable)."""
    if not src.has_replies():
        return _needs_in_reply_to(["bucket", "position", "messages", "share"])
    cases, labels = [], []
    for pos, (label, upper) in enumerate(RESPONSE_BUCKETS):
        if upper is not None:
            cases.append(f"WHEN seconds <= {upper} THEN {pos}")
        labels.append(f"({pos}, '{label}')")
    unanswered = len(RESPONSE_BUCKETS)
    labels.append(f"({unanswered}, 'unanswered')")
    sql = f"""
        WITH {src.messages()},
        b AS (SELECT CASE WHEN seconds IS NULL THEN {unanswered} {' '.join(cases)}
                          ELSE {len(RESPONSE_BUCKETS) - 1} END AS position FROM resp),
        agg AS (SELECT position, count(*) AS messages FROM b GROUP BY 1),
        names AS (SELECT * FROM (VALUES {', '.join(labels)}) t(position, bucket))
        SELECT n.bucket, n.position, coalesce(a.messages, 0) AS messages,
               coalesce(a.messages, 0) / nullif(sum(coalesce(a.messages, 0)) OVER (), 0) AS share
        FROM names n LEFT JOIN agg a USING (position) ORDER BY n.position"""
    return src.run(sql, not_answerable=list(o.not_answerable))


@measure("customer_responses_per_post",
         "Inbound member interactions replying to an outbound post / outbound posts (outbound rows that "
         "answer nothing, i.e. broadcasts), by the post's period. Low = we broadcast, nobody answers",
         "responses per post", SECTION, options=GrainOptions, per_period=True, reads=("posts",))
def customer_responses_per_post(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, posts, posts_with_response, responses, value (responses / posts; empty for
    a period without posts). Posts follow the date, channel and campaign filters; responses (any
    date) come from activity and follow the segment filter. Every period of the range appears."""
    g = o.grain
    if not src.has_replies():
        return _needs_in_reply_to(["period", "posts", "posts_with_response", "responses", "value"])
    lo, hi = src.interactions_span()
    sql = f"""
        WITH {src.posts()},
        agg AS (SELECT {trunc(g, 'p.day')} AS period, count(*) AS posts,
                       count(*) FILTER (p.responses > 0) AS posts_with_response, sum(p.responses) AS responses
                FROM posts p GROUP BY 1),
        bounds AS (SELECT coalesce(CAST($f_start AS DATE), CAST($lo AS DATE)) AS lo,
                          coalesce(CAST($f_end_excl AS DATE) - 1, CAST($hi AS DATE)) AS hi),
        {spine_cte(g)}
        SELECT s.period, coalesce(a.posts, 0) AS posts, coalesce(a.posts_with_response, 0) AS posts_with_response,
               coalesce(a.responses, 0)::BIGINT AS responses, a.responses / nullif(a.posts, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql, lo=lo, hi=hi)


@measure("responder_breadth", "Distinct agents sending outbound replies (in_reply_to set) per period",
         "agents", SECTION, options=GrainOptions, per_period=True, reads=("replies",))
def responder_breadth(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, replies, value (distinct non-null agents). Replies follow all filters
    (the segment filter through the reply's member_id, the customer addressed)."""
    g = o.grain
    if not src.has_replies():
        return _needs_in_reply_to(["period", "replies", "value"])
    sql = f"""
        WITH {src.replies()},
        agg AS (SELECT {trunc(g, 'ts')} AS period, count(*) AS replies, count(DISTINCT agent) AS agents
                FROM rep GROUP BY 1),
        {_bounds('agg', 'period', 'period')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.replies, 0) AS replies, coalesce(a.agents, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql)


# ------------------------------------------------------------------------------------------
# Channels and timing
# ------------------------------------------------------------------------------------------
@measure("channel_presence",
         "Per channel over the range: active members on it and their share of all active members "
         "(a member can be on several channels), activity and its share", "share", SECTION,
         reads=("activity",))
def channel_presence(src: Source, o: Options) -> pd.DataFrame:
    """Columns: channel, active_members, member_share, activity, activity_share; most members first."""
    sql = f"""
        WITH {src.activity('month')},
        mc AS (SELECT mk, channel, sum(n) AS n FROM activity GROUP BY ALL),
        tot AS (SELECT count(DISTINCT mk) AS members, sum(n) AS activity FROM mc)
        SELECT mc.channel, count(*) AS active_members, count(*) / nullif(any_value(t.members), 0) AS member_share,
               sum(n)::BIGINT AS activity, sum(n) / nullif(any_value(t.activity), 0) AS activity_share
        FROM mc, tot t GROUP BY mc.channel ORDER BY active_members DESC, mc.channel"""
    return src.run(sql)


@measure("channels_per_active_member", "Mean number of distinct channels an active member used in the period",
         "channels", SECTION, options=GrainOptions, per_period=True, reads=("activity",))
def channels_per_active_member(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, active_members, member_channels (distinct member-channel pairs), value."""
    g = o.grain
    sql = f"""
        WITH {src.activity(g)},
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
    return src.run(sql)


@measure("channel_mix",
         "Activity and active members per channel per period, with the channel's share of the "
         "period's activity (shares sum to 1 per period with activity)", "interactions", SECTION,
         options=GrainOptions, reads=("activity",))
def channel_mix(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, channel, activity, active_members, share. Every (period, channel with
    activity in the range) pair is present, 0 when quiet; ordered by period, channel."""
    g = o.grain
    sql = f"""
        WITH {src.activity(g)},
        agg AS (SELECT period, channel, sum(n) AS activity, count(DISTINCT mk) AS active_members,
                       min(first_at) AS lo, max(last_at) AS hi
                FROM activity GROUP BY ALL),
        {_bounds('agg')}, {spine_cte(g)},
        channels AS (SELECT DISTINCT channel FROM agg)
        SELECT s.period, c.channel, coalesce(a.activity, 0) AS activity,
               coalesce(a.active_members, 0) AS active_members,
               coalesce(a.activity, 0) / nullif(sum(coalesce(a.activity, 0)) OVER (PARTITION BY s.period), 0) AS share
        FROM spine s CROSS JOIN channels c LEFT JOIN agg a USING (period, channel)
        ORDER BY s.period, c.channel"""
    return src.run(sql)


@measure("activity_heatmap",
         "Activity (inbound, members) and our outbound interactions by weekday (1 = Monday) and hour "
         "of day, workspace wall-clock time: when customers talk and when we answer", "interactions",
         SECTION, reads=("hourly",))
def activity_heatmap(src: Source, o: Options) -> pd.DataFrame:
    """Columns: weekday (1..7), hour (0..23), activity, outbound; all 168 cells, 0 when quiet."""
    sql = f"""
        WITH {src.hourly()},
        a AS (SELECT weekday, hour, sum(n)::BIGINT AS n FROM hourly WHERE inbound AND known AND NOT is_employee GROUP BY 1, 2),
        o AS (SELECT weekday, hour, sum(n)::BIGINT AS n FROM hourly WHERE NOT inbound GROUP BY 1, 2),
        grid AS (SELECT w AS weekday, h AS hour FROM range(1, 8) t1(w), range(0, 24) t2(h))
        SELECT g.weekday, g.hour, coalesce(a.n, 0) AS activity, coalesce(o.n, 0) AS outbound
        FROM grid g LEFT JOIN a USING (weekday, hour) LEFT JOIN o USING (weekday, hour)
        ORDER BY g.weekday, g.hour"""
    return src.run(sql)


# ------------------------------------------------------------------------------------------
# Phase indicators and influentials
# ------------------------------------------------------------------------------------------
@measure("identified_share",
         "Inbound interactions whose member_id is in the members table / all inbound interactions "
         "(anonymous included, employees excluded): contact moments tied to a known customer (phase 2)",
         "share", SECTION, options=GrainOptions, per_period=True, reads=("hourly",))
def identified_share(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, inbound, identified, value. (A segment filter keeps only members, so it
    makes the share 1 wherever there is activity.)"""
    g = o.grain
    sql = f"""
        WITH {src.hourly()},
        agg AS (
            SELECT {trunc(g, 'day')} AS period, sum(n)::BIGINT AS inbound,
                   coalesce(sum(n) FILTER (in_crm), 0)::BIGINT AS identified, min(day) AS lo, max(day) AS hi
            FROM hourly WHERE inbound AND NOT is_employee GROUP BY 1),
        {_bounds('agg')}, {spine_cte(g)}
        SELECT s.period, coalesce(a.inbound, 0) AS inbound, coalesce(a.identified, 0) AS identified,
               a.identified / nullif(a.inbound, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql)


# `ranked(..., k, rk)`: the first k rows of `reach` by reach (descending, then member_id) in each
# partition, k from `active`, rk their rank (members without a reach sort last: never among them).
# Only the rows at or above the k-th largest reach (`max(reach, n)` lists the n largest) are
# ranked: the rest rank after all of them, so the first k ranks are those of the whole partition.
_TOP_BY_REACH = """top AS (
            SELECT {part}, max(reach, coalesce((SELECT max(k) FROM active), 1)) AS top FROM reach
            WHERE reach IS NOT NULL GROUP BY ALL),
        cand AS (
            SELECT r.*, a.k, x.member_id FROM reach r JOIN active a {by} JOIN top t {by} JOIN ids x USING (mk)
            WHERE r.reach >= t.top[least(a.k, len(t.top))]),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY reach DESC, member_id) AS rk FROM cand)"""


@measure("influentials",
         "Influentials (top 1 % by reach among the range's active members, configurable) with love "
         "(activity in the trailing 90 days to the range end), reach (followers, else max reach of "
         "their interactions), gravity = love × reach (Orbit) and whether we engaged them (sent them an "
         "outbound interaction in the range)", "members", SECTION, options=Influence,
         reads=("member_totals", "contacts", "events"))
def influentials(src: Source, o: Influence) -> pd.DataFrame:
    """Columns: member_id, name, segment, love, reach, gravity, engaged, reach_rank; by gravity
    descending, then reach, then member_id. Influentials are the first ceil(top_share x active)
    active members by reach (descending, then member_id) that have a reach."""
    hi = src.range_end()
    if hi is None:
        return pd.DataFrame(columns=["member_id", "name", "segment", "love", "reach", "gravity", "engaged",
                                     "reach_rank"])
    sql = f"""
        WITH {_per_member(src)}, {src.mdim()}, {src.ids()},
        love AS ({src.love()}),
        reach AS (SELECT 1 AS part, p.mk, coalesce(m.followers, p.max_reach) AS reach
                  FROM pmt p LEFT JOIN mdim m USING (mk)),
        active AS (SELECT ceil($top_share * count(*))::BIGINT AS k FROM pmt),
        {_TOP_BY_REACH.format(part="part", by="ON TRUE")},
        infl AS (
            SELECT r.mk, r.member_id, m.name, m.segment, coalesce(l.love, 0)::BIGINT AS love, r.reach,
                   r.rk AS reach_rank
            FROM ranked r LEFT JOIN mdim m USING (mk) LEFT JOIN love l USING (mk)
            WHERE r.rk <= r.k),
        {src.contacts(period="0")}
        SELECT i.member_id, i.name, i.segment, i.love, i.reach, i.love * i.reach AS gravity,
               i.mk IN (SELECT mk FROM contacts) AS engaged, i.reach_rank
        FROM infl i
        ORDER BY gravity DESC, i.reach DESC, i.member_id
        LIMIT CASE WHEN $limit > 0 THEN $limit END"""
    return src.run(sql, top_share=o.top_share, limit=o.limit,
                   love_from=hi + timedelta(days=1 - o.love_days), love_to=hi + timedelta(days=1))


@measure("influentials_engaged",
         "Influentials (top 1 % by reach among the period's active members) who received an outbound "
         "interaction from us in the period / influentials (phase 3)", "share", SECTION,
         options=InfluenceGrain, per_period=True, reads=("member_months", "activity", "contacts"))
def influentials_engaged(src: Source, o: InfluenceGrain) -> pd.DataFrame:
    """Columns: period, influentials, engaged, value."""
    g = o.grain
    if g == "month":
        per = f"{src.member_months()}, pm AS (SELECT period, mk, max_reach, first_at AS lo, last_at AS hi FROM mm)"
    else:
        per = f"""{src.activity(g)},
        pm AS (SELECT period, mk, max(max_reach) AS max_reach, min(first_at) AS lo, max(last_at) AS hi
               FROM activity GROUP BY ALL)"""
    sql = f"""
        WITH {per}, {src.mdim()}, {src.ids()},
        {_bounds('pm')}, {spine_cte(g)},
        reach AS (SELECT pm.period, pm.mk, coalesce(m.followers, pm.max_reach) AS reach
                  FROM pm LEFT JOIN mdim m USING (mk)),
        active AS (SELECT period, ceil($top_share * count(*))::BIGINT AS k FROM pm GROUP BY 1),
        {_TOP_BY_REACH.format(part="period", by="USING (period)")},
        infl AS (SELECT period, mk FROM ranked WHERE rk <= k),
        {src.contacts(period=trunc(g, '{t}'))},
        engaged AS (SELECT DISTINCT period, mk FROM contacts WHERE mk IN (SELECT mk FROM infl)),
        agg AS (SELECT i.period, count(*) AS influentials, count(e.mk) AS engaged
                FROM infl i LEFT JOIN engaged e USING (period, mk) GROUP BY 1)
        SELECT s.period, coalesce(a.influentials, 0) AS influentials, coalesce(a.engaged, 0) AS engaged,
               a.engaged / nullif(a.influentials, 0) AS value
        FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql, top_share=o.top_share)
