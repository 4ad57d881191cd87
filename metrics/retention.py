"""Retention and lifecycle: cohorts, curves, churn, lifecycle and growth accounting.

Definitions: METRICS.md, "Retention and lifecycle" (PostHog semantics). In short:

* **activity** is an inbound interaction by a known, non-employee member, or, with
  ``activity="transactions"``, a purchase (refund lines excluded; the channel and campaign filters
  are about interactions and do not apply to purchases).
* **cohort** (``mode="first_time"``): the period of a member's first-ever (start) activity, or of
  ``joined_at`` (``cohort_by="joined_at"``; first activity when it is missing). ``recurring``:
  every period a member is active starts a cohort row. First-ever means: the start of the date
  filter is ignored when looking back; cohorts themselves start inside the date range.
* **offset k** counts cohort members with a (return) activity in period cohort+k (``on``) or in
  that period or any later one (``on_or_after``); offset 0 is the cohort itself.
* **as-of date** = the filter's end date, or the last date in the source table when earlier; a
  period that has not ended by then is ``is_partial``. Periods after it are not shown.

SQL does the scanning and returns sufficient statistics (the cohort table, the per-period
lifecycle counts); small pure functions (``mean_curve``, ``period_trend``) aggregate them and are
the projections behind ``retention_curve`` and ``retention_trend``. Periods are handled as
integers inside SQL (months since year 0, ISO weeks and days since 1900-01-01, a Monday) and
turned back into their first day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from metrics.options import Grain, Options, opt
from metrics.registry import measure, projection, same_fields
from metrics.source import Source

SECTION = "retention"
DEFAULT_PERIODS = 12
MAX_PERIODS = 400
NO_VALUE = "(none)"
_ANCHOR = "DATE '1900-01-01'"  # a Monday: week k starts on anchor + 7k


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetentionOptions(Options):
    grain: Grain = opt("month", "period length")
    mode: Literal["first_time", "recurring"] = opt(
        "first_time", "first_time: cohort = period of first-ever activity; recurring: every active period")
    window: Literal["on", "on_or_after"] = opt(
        "on", "on: active in period cohort+k; on_or_after: in cohort+k or any later period")
    cohort_by: Literal["first_activity", "joined_at"] = opt(
        "first_activity", "joined_at: members.joined_at (first activity when missing)")
    activity: Literal["interactions", "transactions"] = opt(
        "interactions", "transactions gives repeat-purchase retention")
    start_action: tuple[str, ...] = opt((), "only these inbound actions (a,b) start a cohort, e.g. post")
    return_action: tuple[str, ...] = opt((), "only these inbound actions (a,b) count as a return")
    periods: int = opt(DEFAULT_PERIODS, "offsets 0..N to follow", lo=1, hi=MAX_PERIODS)

    def check(self) -> None:
        if self.cohort_by == "joined_at" and self.mode == "recurring":
            raise ValueError("cohort_by=joined_at works with mode=first_time (a member joins once)")
        if (self.start_action or self.return_action) and self.activity == "transactions":
            raise ValueError("start_action / return_action apply to interactions, not to transactions")
        if self.start_action and self.cohort_by == "joined_at":
            raise ValueError("start_action applies to cohort_by=first_activity")


@dataclass(frozen=True)
class TrendOptions(RetentionOptions):
    offset: int = opt(1, "N, the period offset to follow", lo=1, hi=MAX_PERIODS)


@dataclass(frozen=True)
class BreakdownOptions(RetentionOptions):
    by: Literal["channel", "segment"] = opt("channel", "channel of the first (start) activity, or member segment")


@dataclass(frozen=True)
class GrowthOptions(Options):
    grain: Grain = opt("month", "period length")
    activity: Literal["interactions", "transactions"] = opt("interactions", "what counts as being active")


@dataclass(frozen=True)
class ContractOptions(Options):
    grain: Grain = opt("month", "period length")


@dataclass(frozen=True)
class DriftOptions(Options):
    drifting_days: int = opt(90, "days since the last activity from which a member is drifting", lo=1, hi=3650)
    inactive_days: int = opt(180, "days since the last activity after which a member is inactive", lo=1, hi=3650)
    activity: Literal["interactions", "transactions"] = opt("interactions", "what counts as being active")
    status: Literal["all", "drifting", "inactive"] = opt("all", "which members to list")

    def check(self) -> None:
        if self.drifting_days > self.inactive_days:
            raise ValueError(f"drifting_days ({self.drifting_days}) must not exceed inactive_days "
                             f"({self.inactive_days})")


def _check_actions(src: Source, o: RetentionOptions) -> None:
    """The action options name inbound actions present in the workspace (the allowlist)."""
    wanted = (*o.start_action, *o.return_action)
    if not wanted:
        return
    known = set(src.inbound_actions())
    for name, values in (("start_action", o.start_action), ("return_action", o.return_action)):
        unknown = [a for a in values if a not in known]
        if unknown:
            raise ValueError(
                f"{name}: no inbound action {', '.join(map(repr, unknown))} in this workspace "
                f"(known: {', '.join(sorted(known)) or 'none'})")


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


def _source_sql(src: Source, activity: str, grain: str, start: bool = False, ret: bool = False) -> str:
    """CTEs ``mdim``, ``ids`` and ``src(member_id, occurred_at, last_at, n, channel, last_channel[, s][, r])``:
    activity under the filters except the start date (first-ever activity looks back), up to the
    end date. ``member_id`` is the member key ``mk``; a row is a partial aggregate of ``n``
    activities from ``occurred_at`` to ``last_at``. ``s`` / ``r`` flag the start / return actions
    when those options are set (single rows then)."""
    head = f"{src.mdim()}, {src.ids()}"
    if activity == "transactions":
        return f"""{head}, {src.purchase_rows().replace('src AS', 'prows AS', 1)},
        src AS (SELECT mk AS member_id, occurred_at, last_at, n, channel, last_channel FROM prows)"""
    if start or ret:
        flags = "".join([", list_contains($start_actions, e.action) AS s" if start else "",
                         ", list_contains($return_actions, e.action) AS r" if ret else ""])
        return f"""{head}, {src.activity_rows(flags=flags).replace('src AS', 'arows AS', 1)},
        src AS (SELECT mk AS member_id, occurred_at, last_at, n, channel, channel AS last_channel
                {', s' if start else ''}{', r' if ret else ''} FROM arows)"""
    return f"""{head}, {src.activity(grain, use_start=False)},
        src AS (SELECT mk AS member_id, first_at AS occurred_at, last_at, n, channel, channel AS last_channel
                FROM activity)"""


def _months(src: Source) -> str:
    """``am(member_id, p, first_at, last_at, first_channel, prev_p, next_p, is_first)``: the
    member's active months up to the range end, with the previous / next active month (a next
    month after the range end can show: only periods past the end see it)."""
    return f"""{src.member_months(use_start=False)},
        am AS (SELECT mk AS member_id, {_pidx('month', 'period')} AS p, first_at, last_at, first_channel,
                      {_pidx('month', 'prv')} AS prev_p, {_pidx('month', 'nxt')} AS next_p, prv IS NULL AS is_first
               FROM mm)"""


def _per_month(grain: str, activity: str, start: bool = False, ret: bool = False) -> bool:
    """Month grain on interactions without action options: the member-month relation answers."""
    return grain == "month" and activity == "interactions" and not (start or ret)


def _span(src: Source, tables: tuple[str, ...]) -> tuple:
    spans = [src.interactions_span() if t == "interactions" else src.transactions_span() for t in tables]
    lows = [s[0] for s in spans if s[0] is not None]
    highs = [s[1] for s in spans if s[1] is not None]
    return (min(lows) if lows else None), (max(highs) if highs else None)


def _limits_sql(grain: str) -> str:
    """``lim(lo, as_of, lo_p, hi_p)``: first date of the range (filter start, not before the data)
    and the as-of date (filter end, not after the data's last date), with their period indices.
    Bind $d0 / $d1, the data's first and last day (``_span``)."""
    return f"""lim AS (
        SELECT lo, as_of, {_pidx(grain, 'lo')} AS lo_p, {_pidx(grain, 'as_of')} AS hi_p FROM (
          SELECT greatest(coalesce(CAST($f_start AS DATE), d0), d0) AS lo,
                 least(coalesce(CAST($f_end_excl AS DATE) - 1, d1), d1) AS as_of
          FROM (SELECT CAST($d0 AS DATE) AS d0, CAST($d1 AS DATE) AS d1)))"""


def _partial(grain: str, idx: str) -> str:
    return f"({_pdate(grain, f'{idx} + 1')} - 1 > lim.as_of)"


# ----------------------------------------------------------------------------------------------
# Cohort retention
# ----------------------------------------------------------------------------------------------
def _retention_sql(src: Source, spec: RetentionOptions, breakdown: str | None = None) -> str:
    """The cohort table; with ``breakdown`` a leading column ``breakdown`` (the member's segment,
    or the channel of their first (start) activity)."""
    g = spec.grain
    start, ret = bool(spec.start_action), bool(spec.return_action)
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
    if _per_month(g, spec.activity, start, ret):
        cols = ["p", "first_at AS first_s" if spec.mode == "first_time" else "last_at AS last_s"]
        if spec.mode == "first_time" and by_channel:
            cols.append("first_channel AS ch")
        mp = f"{_months(src)},\n        mp AS (SELECT member_id, {', '.join(cols)} FROM am)"

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
                             WHERE NOT is_employee AND {src.segment_of('segment')}) p
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
        WITH {_source_sql(src, spec.activity, g, start, ret)},
        {_limits_sql(g)},
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


def cohort_table(src: Source, spec: RetentionOptions, breakdown: str | None = None) -> pd.DataFrame:
    """Run the cohort query for validated options (see ``retention``)."""
    _check_actions(src, spec)
    d0, d1 = _span(src, (spec.activity,))
    return src.run(_retention_sql(src, spec, breakdown), start_actions=list(spec.start_action),
                   return_actions=list(spec.return_action), none=NO_VALUE, d0=d0, d1=d1)


@measure("retention",
         "Cohort retention (PostHog): per cohort and period offset, cohort members active again. "
         "Columns cohort, cohort_size, period_offset, retained, retention_rate, is_partial",
         "share of cohort", SECTION, options=RetentionOptions, reads=("activity", "member_months", "purchases"))
def retention(src: Source, o: RetentionOptions) -> pd.DataFrame:
    """One row per cohort period (every period of the range, empty ones with cohort_size 0) and
    offset 0..periods that has started by the as-of date. retained at offset 0 = cohort_size;
    retention_rate = retained / cohort_size (NULL for an empty cohort)."""
    return cohort_table(src, o)


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


@projection("retention_curve",
            "Mean retention curve: per period offset, the cohort-size-weighted mean retention over the "
            "cohorts that reached it (offset period ended)", "share of cohort", SECTION, parent="retention",
            options=RetentionOptions)
def retention_curve(table: pd.DataFrame, o: RetentionOptions) -> pd.DataFrame:
    """Columns period_offset, cohorts, cohort_size, retained, retention_rate."""
    return mean_curve(table, o.periods)


@projection("retention_trend",
            "Period-N retention trend: per cohort, the retention rate at offset N (is month-1 retention "
            "getting better?)", "share of cohort", SECTION, parent="retention", options=TrendOptions,
            per_period=True,
            parent_options=lambda o: {**same_fields(o, RetentionOptions), "periods": max(o.periods, o.offset)})
def retention_trend(table: pd.DataFrame, o: TrendOptions) -> pd.DataFrame:
    """Columns period (the cohort), value (retention rate at offset N), cohort_size, retained, is_partial."""
    return period_trend(table, o.offset)


@measure("retention_breakdown", "Mean retention curve per channel of first activity or per member segment",
         "share of cohort", SECTION, options=BreakdownOptions, reads=("activity", "member_months", "purchases"))
def retention_breakdown(src: Source, o: BreakdownOptions) -> pd.DataFrame:
    """Columns breakdown, period_offset, cohorts, cohort_size, retained, retention_rate (the mean
    curve of each group; members without a segment or channel fall under "(none)")."""
    table = cohort_table(src, o, breakdown=o.by)
    return mean_curve(table, o.periods, by="breakdown")


# ----------------------------------------------------------------------------------------------
# Lifecycle, growth accounting, activity churn
# ----------------------------------------------------------------------------------------------
def _growth_sql(src: Source, grain: str, activity: str) -> str:
    g = grain
    if _per_month(g, activity):
        seq = f"""{_months(src)},
        seq AS (SELECT p, last_at AS last_ts, prev_p, next_p, CASE WHEN is_first THEN p END AS first_p FROM am)"""
    else:
        seq = f"""mp AS (SELECT member_id, {_pidx(g, 'occurred_at')} AS p, max(last_at) AS last_ts
               FROM src GROUP BY ALL),
        seq AS (SELECT p, last_ts, lag(p) OVER w AS prev_p, lead(p) OVER w AS next_p,
                       min(p) OVER (PARTITION BY member_id) AS first_p
                FROM mp WINDOW w AS (PARTITION BY member_id ORDER BY p))"""
    return f"""
        WITH {_source_sql(src, activity, g)},
        {_limits_sql(g)},
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


@measure("growth_accounting",
         "Growth accounting per period: active = new + returning + resurrecting; dormant (negative); "
         "quick ratio = (new + resurrecting) / dormant; activity churn = dormant / active the period before",
         "members", SECTION, options=GrowthOptions, reads=("activity", "member_months", "purchases"))
def growth_accounting(src: Source, o: GrowthOptions) -> pd.DataFrame:
    """Columns period, active, new, returning, resurrecting, dormant (≤ 0), active_previous,
    quick_ratio, activity_churn, is_partial. Statuses follow PostHog's lifecycle: new = first-ever
    activity in the period; returning = active in it and the one before; resurrecting = active, not
    the period before, not new; dormant = active the period before, not in this one. The look-back
    (previous period, first-ever) ignores the start of the date range."""
    d0, d1 = _span(src, (o.activity,))
    frame = src.run(_growth_sql(src, o.grain, o.activity), d0=d0, d1=d1)
    lost = -frame["dormant"]
    frame.insert(7, "quick_ratio", (frame["new"] + frame["resurrecting"]) / lost.where(lost > 0))
    frame.insert(8, "activity_churn", lost / frame["active_previous"].where(frame["active_previous"] > 0))
    return frame


@projection("lifecycle", "Lifecycle (PostHog): per period new, returning, resurrecting and dormant (negative) members",
            "members", SECTION, parent="growth_accounting", options=GrowthOptions)
def lifecycle(frame: pd.DataFrame, o: GrowthOptions) -> pd.DataFrame:
    """Columns period, new, returning, resurrecting, dormant (dormant ≤ 0)."""
    return frame[["period", "new", "returning", "resurrecting", "dormant"]]


@projection("quick_ratio", "Quick ratio per period: (new + resurrecting) / dormant; above 1 the active base grows",
            "ratio", SECTION, parent="growth_accounting", options=GrowthOptions, per_period=True)
def quick_ratio(frame: pd.DataFrame, o: GrowthOptions) -> pd.DataFrame:
    """Columns period, value (NULL when nobody went dormant), is_partial."""
    return frame.rename(columns={"quick_ratio": "value"})[["period", "value", "is_partial"]]


@projection("activity_churn",
            "Activity churn: members active in the previous period and not in this one / active in the "
            "previous period", "share", SECTION, parent="growth_accounting", options=GrowthOptions,
            per_period=True, higher_is_better=False)
def activity_churn(frame: pd.DataFrame, o: GrowthOptions) -> pd.DataFrame:
    """Columns period, value, active_previous, churned, is_partial (a partial last period overstates churn)."""
    out = frame.rename(columns={"activity_churn": "value"})
    out = out.assign(churned=-frame["dormant"])
    return out[["period", "value", "active_previous", "churned", "is_partial"]]


# ----------------------------------------------------------------------------------------------
# Contractual churn
# ----------------------------------------------------------------------------------------------
@measure("contractual_churn", "Contractual churn: members with churned_at in the period / community size at its start",
         "share", SECTION, options=ContractOptions, per_period=True, reads=("community",), higher_is_better=False)
def contractual_churn(src: Source, o: ContractOptions) -> pd.DataFrame:
    """Columns period, value, churned, community_start, is_partial. Community at the start of a
    period = non-employee CRM members (segment filter applied) who joined before it and had not
    churned before it; joined_at falls back to the first activity, and a member with neither
    counts from the start. Periods span the interactions and transactions data."""
    g = o.grain
    if not src.has_members():
        frame = pd.DataFrame({"period": pd.Series(dtype="datetime64[us]"), "value": pd.Series(dtype="float64"),
                              "churned": pd.Series(dtype="int64"), "community_start": pd.Series(dtype="int64"),
                              "is_partial": pd.Series(dtype=bool)})
        return frame
    d0, d1 = _span(src, ("interactions", "transactions"))
    # Member m is in the community at the start of period p when joined < start(p) <= churned_at:
    # +1 from the period after the join, -1 from the period after the churn (a running sum).
    sql = f"""
        WITH {src.community()},
        {_limits_sql(g)},
        m AS (SELECT joined, churned AS churned_at FROM community),
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
    frame = src.run(sql, d0=d0, d1=d1)
    frame["churned"] = frame["churned"].astype("int64")
    frame["community_start"] = frame["community_start"].astype("int64")
    frame.insert(1, "value", frame["churned"] / frame["community_start"].where(frame["community_start"] > 0))
    return frame


# ----------------------------------------------------------------------------------------------
# Drifting and inactive members
# ----------------------------------------------------------------------------------------------
@measure("drifting_members",
         "Drifting (last activity 90-180 days before the as-of date) and inactive (over 180 days) "
         "members, with who they are: the win-back call list", "members", SECTION, options=DriftOptions,
         reads=("member_totals", "purchases"), higher_is_better=False)
def drifting_members(src: Source, o: DriftOptions) -> pd.DataFrame:
    """Columns member_id, name, email, segment, status, last_activity, days_since, last_channel,
    first_activity, activities, churned_at, in_crm. days_since = as-of date − last activity date;
    drifting: drifting_days ≤ days_since ≤ inactive_days; inactive: days_since > inactive_days.
    Members never active are not listed. Ordered for calling: drifting before inactive, members in
    the CRM (with contact details) before unidentified handles, then most recently seen first."""
    if o.activity == "interactions":
        agg = f"""{src.member_totals(use_start=False)},
        agg AS (SELECT mk, last_at AS last_ts, first_at AS first_ts, last_channel, n AS activities FROM mt)"""
        head = f"{src.mdim()}, {src.ids()}"
    else:
        head = _source_sql(src, "transactions", "month")
        agg = """agg AS (SELECT member_id AS mk, max(last_at) AS last_ts, min(occurred_at) AS first_ts,
                       arg_max(last_channel, (last_at, last_channel)) AS last_channel, sum(n) AS activities
                FROM src GROUP BY 1)"""
    sql = f"""
        WITH {head}, {_limits_sql('day')},
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
    d0, d1 = _span(src, (o.activity,))
    return src.arrow_df(sql, drift=o.drifting_days, inactive=o.inactive_days, status=o.status, d0=d0, d1=d1)


def retention_inputs(con) -> dict:
    """What the Retention page can offer: the inbound actions (start / return pickers) and counts of
    non-employee members, of those with joined_at and churned_at, and of purchase lines."""
    from derived.sync import ensure
    from metrics.filters import Filters

    ensure(con)
    with con.cursor() as cur:
        return _inputs(Source(cur, Filters()))


def _inputs(src: Source) -> dict:
    members, joined, churned = src.rows(
        "SELECT count(*), count(joined_at), count(churned_at) FROM member_dim WHERE in_crm AND NOT is_employee")[0]
    purchases = src.rows("SELECT coalesce(sum(lines), 0) FROM purchase_day")[0][0]
    return {"actions": src.inbound_actions(), "members": int(members), "joined_at": int(joined),
            "churned_at": int(churned), "transactions": int(purchases)}
