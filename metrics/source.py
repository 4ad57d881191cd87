"""What a metric reads: the derived tables under the filters, as relations with fixed columns.

``Source`` is the one place that knows the physical derived tables (``derived.tables``). A
metric asks it for *relations* (CTE text) and writes its SQL once against their columns; the
source picks the cheapest table that answers exactly under the filters (a month table for whole
months, the per-member tables without a channel or campaign filter, ``events`` otherwise). The
tests hand the metrics a second implementation of the same relations on the raw canonical
tables (``tests/oracle.py``) and compare every metric's frames.

Relations (``mk`` = the integer member key of ``member_dim``; ties are broken on member_id):

* ``mdim``: CRM members (latest version): mk, member_id, in_crm, is_employee, name, email,
  segment, persona, country, joined_at, churned_at, followers, lifecycle_stage, referred_by.
* ``ids(mk, member_id)``: every member id seen anywhere.
* ``activity(period, mk, channel, n, first_at, last_at, max_reach)``: activity under the filters
  as *partial aggregates* per period at the grain (always aggregate: ``sum(n)``, ``min(first_at)``,
  ``count(DISTINCT mk)``); ``use_start`` / ``use_end`` = False ignore the range's start / end.
* ``member_months``: one row per member and active month (all channels under the filters): n,
  first_at, last_at, max_reach, first_channel, last_channel, prv / nxt (the previous / next
  active month; a next month after the range end may show).
* ``member_totals(mk, n, first_at, last_at, max_reach, last_channel)``: per active member over the range.
* ``member_days(mk, day, nxt)``: active days from ``since`` to the range end with the next one.
* ``daily(day, dau, wau, mau)`` for every day of the range (windows look back before it).
* ``resp(occurred_at, day, mk, channel, replied_at, seconds)``: answerable messages with their first reply.
* ``hourly(day, weekday, hour, channel, inbound, known, in_crm, is_employee, n)``: interaction
  counts; a segment filter keeps the inbound rows of its members and every outbound row.
* ``posts(ts, day, channel, responses)``: broadcasts with replies by activity (segment applied).
* ``rep(ts, agent)``: outbound replies (all filters; segment through the member replied to).
* ``contacts(period, mk, channel)``: member x day x channel we sent something to.
* ``community(mk, joined, churned)``: see ``derived.definitions``.
* ``mentions(ts, day, mk, channel, campaign, tags, sentiment, label, lang, text_key, id, replied_at,
  action, activity)``: inbound
  interactions by anyone (listening: what is said); ``mh(hr, day, channel, campaign, tags, label,
  n)`` the same counted per hour; ``text_topics(text_key, topic)`` and
  ``texts(text_key, text)`` per distinct text.
* ``post_rows``: organisation posts (latest figures of each) with ``eng`` (their engagements,
  ``definitions.post_engagements``) and ``basis``; ``page_days``: page statistics per network and
  day with ``eng``. Both read the canonical ``posts_current`` / ``audience_current`` (one row per
  post / per network and day: small); the date range and the channel filter (on the network) apply.
* ``pday(mk, day, bought, is_purchase, net)``, ``purch(mk, day, amount)``, ``rev(mk, day, amount)``:
  purchases (employees and the segment filter applied; channel and campaign filters do not apply).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from derived import definitions as d
from metrics.filters import Filters, check_grain

_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_FIELDS = ("start", "end", "channels", "segments", "campaigns")


_FILTER_PARAMS = {  # as Filters.params() gives them
    "f_start": lambda f: f.start,
    "f_end_excl": lambda f: f.end + timedelta(days=1) if f.end else None,
    "f_channels": lambda f: list(f.channels),
    "f_segments": lambda f: list(f.segments),
    "f_campaigns": lambda f: list(f.campaigns),
}


class ReadFilters:
    """The filters as a metric sees them, noting which fields it read: a metric's result depends
    on those alone, so ``metrics.registry.Computer`` reuses it for filters that differ elsewhere
    (a channel filter leaves the purchase metrics alone)."""

    __slots__ = ("_f", "_read")

    def __init__(self, filters: Filters):
        self._f, self._read = filters, set()

    def __getattr__(self, name: str):
        if name in _FIELDS:
            self._read.add(name)
        elif name == "members_only":
            self._read.update(("channels", "campaigns"))
        elif name == "params":
            self._read.update(_FIELDS)
        return getattr(self._f, name)

    def reads(self) -> tuple[tuple[str, object], ...]:
        """(field, value) of every field read, in a fixed order."""
        return tuple((k, getattr(self._f, k)) for k in _FIELDS if k in self._read)


def period_start(grain: str, day: date) -> date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day


class Source:
    """The derived tables of one workspace cursor under one set of filters."""

    dim = "member_dim"  # every member id with its attributes (the oracle builds its own)

    def __init__(self, cur: duckdb.DuckDBPyConnection, filters: Filters):
        self.cur, self.f = cur, ReadFilters(filters)
        self._cache: dict = {}

    def reads(self) -> tuple[tuple[str, object], ...]:
        """The filter fields read so far, with their values (``ReadFilters.reads``)."""
        return self.f.reads()

    @property
    def employees(self) -> str:
        return f"(SELECT mk FROM {self.dim} WHERE is_employee)"

    @property
    def segment_mks(self) -> str:
        return f"(SELECT mk FROM {self.dim} WHERE list_contains($f_segments, segment))"

    # ------------------------------------------------------------------------------------------
    # Running SQL: only the parameters a statement names are bound (DuckDB refuses others)
    # ------------------------------------------------------------------------------------------
    def params(self, sql: str, extra: dict | None = None) -> dict:
        """The values of the parameters ``sql`` names (only those: DuckDB refuses others); filter
        parameters are read from the filters one by one (so only those count as read)."""
        extra = extra or {}
        out, missing = {}, []
        for name in dict.fromkeys(_PARAM.findall(sql)):
            if name in extra:
                out[name] = extra[name]
            elif name in _FILTER_PARAMS:
                out[name] = _FILTER_PARAMS[name](self.f)
            else:
                missing.append(name)
        if missing:
            raise KeyError(f"SQL parameters without a value: {sorted(missing)}")
        return out

    def run(self, sql: str, **extra) -> pd.DataFrame:
        return self.cur.execute(sql, self.params(sql, extra)).df()

    def rows(self, sql: str, **extra) -> list[tuple]:
        return self.cur.execute(sql, self.params(sql, extra)).fetchall()

    def numpy(self, sql: str, **extra) -> dict[str, np.ndarray]:
        out = self.cur.execute(sql, self.params(sql, extra)).fetchnumpy()
        return {k: np.asarray(v) for k, v in out.items()}

    def arrow_df(self, sql: str, **extra) -> pd.DataFrame:
        """``run`` for long results (a call list): through Arrow, about half the conversion time of
        ``.df()`` on text; dates come back as ``datetime64[us]`` as ``.df()`` gives them."""
        table = self.cur.sql(sql, params=self.params(sql, extra)).to_arrow_table()
        frame = table.to_pandas(date_as_object=False)
        for name, typ in zip(table.column_names, table.schema.types, strict=True):
            if pa.types.is_date(typ):
                frame[name] = frame[name].astype("datetime64[us]")
        return frame

    def _once(self, key, sql: str):
        if key not in self._cache:
            self._cache[key] = self.cur.execute(sql).fetchall()[0]
        return self._cache[key]

    # ------------------------------------------------------------------------------------------
    # Filter conditions (only the filters that are set reach the SQL)
    # ------------------------------------------------------------------------------------------
    def where(self, alias: str, *, day: str | None = "day", first: str | None = None, last: str | None = None,
              use_start: bool = True, use_end: bool = True, channel: bool = True, campaign: bool = True,
              segment: bool = True) -> str:
        """Conditions on ``alias`` for the filters: dates on ``day`` (or ``first`` / ``last`` for
        rows spanning a period), channel, campaign, and the segment through ``alias.mk``."""
        f, conds = self.f, []
        lo, hi = first or day, last or day
        if use_start and f.start is not None and lo:
            conds.append(f"{alias}.{lo} >= $f_start")
        if use_end and f.end is not None and hi:
            conds.append(f"{alias}.{hi} < $f_end_excl")
        if channel and f.channels:
            conds.append(f"list_contains($f_channels, {alias}.channel)")
        if campaign and f.campaigns:
            conds.append(f"list_contains($f_campaigns, {alias}.campaign)")
        if segment and f.segments:
            conds.append(f"{alias}.mk IN {self.segment_mks}")
        return " AND ".join(conds) or "TRUE"

    def segment_of(self, column: str) -> str:
        """The segment filter on a segment column (member tables)."""
        return f"list_contains($f_segments, {column})" if self.f.segments else "TRUE"

    # ------------------------------------------------------------------------------------------
    # Facts about the workspace
    # ------------------------------------------------------------------------------------------
    def activity_span(self) -> tuple[date | None, date | None]:
        """First and last day with activity (all channels)."""
        return self._once("aspan", "SELECT min(first_at)::DATE, max(last_at)::DATE FROM member_totals")

    def interactions_span(self) -> tuple[date | None, date | None]:
        return self._once("ispan", "SELECT min(day), max(day) FROM hourly")

    def transactions_span(self) -> tuple[date | None, date | None]:
        return self._once("tspan", "SELECT min(day), max(day) FROM purchase_day")

    def has_members(self) -> bool:
        return bool(self._once("members", "SELECT EXISTS (SELECT 1 FROM member_dim WHERE in_crm)")[0])

    def has_replies(self) -> bool:
        return bool(self._once("replies", "SELECT EXISTS (SELECT 1 FROM events WHERE reply_to IS NOT NULL OR replied_at IS NOT NULL)")[0])

    def inbound_actions(self) -> list[str]:
        return [r[0] for r in self.cur.execute("SELECT action FROM inbound_actions ORDER BY 1").fetchall()]

    def covers_end(self) -> bool:
        """The range's end is not before the last day of activity."""
        hi = self.activity_span()[1]
        return self.f.end is None or hi is None or self.f.end >= hi

    def covers_all(self) -> bool:
        lo, hi = self.activity_span()
        return lo is None or ((self.f.start is None or self.f.start <= lo) and self.covers_end())

    def range_end(self) -> date | None:
        """The range's last day: the filter's end, else the day of the last activity under the filters."""
        if self.f.end is not None:
            return self.f.end
        sql = f"WITH {self.activity('month')} SELECT max(last_at)::DATE FROM activity"
        return self.rows(sql)[0][0]

    # ------------------------------------------------------------------------------------------
    # Members
    # ------------------------------------------------------------------------------------------
    def mdim(self) -> str:
        return f"mdim AS (SELECT * FROM {self.dim} WHERE in_crm)"

    def ids(self) -> str:
        return f"ids AS (SELECT mk, member_id FROM {self.dim})"

    def stored(self) -> str:
        """SQL: rows, distinct members and date span of what is stored (the three tables)."""
        return """
        SELECT 'interactions' AS "table", count(*) AS rows, count(DISTINCT mk) AS members,
               min(day) AS first_date, max(day) AS last_date FROM events
        UNION ALL
        SELECT 'members', count(*), count(*), min(joined_at), max(joined_at) FROM member_dim WHERE in_crm
        UNION ALL
        SELECT 'transactions', coalesce(sum(all_lines), 0)::BIGINT, count(DISTINCT mk), min(day), max(day)
        FROM purchase_day"""

    def community(self) -> str:
        """``community(mk, joined, churned)``: joined NULL = a member from the start."""
        if self.has_members():
            return f"""community AS (
            SELECT m.mk, {d.joined('m.joined_at', 't.first_at::DATE')} AS joined, m.churned_at AS churned
            FROM member_dim m LEFT JOIN member_totals t USING (mk)
            WHERE m.in_crm AND NOT m.is_employee AND {self.segment_of('m.segment')})"""
        return f"""community AS (
            SELECT e.mk, min(e.day) AS joined, NULL::DATE AS churned FROM events e
            WHERE e.mk IS NOT NULL AND {self.where('e', day=None, use_start=False, use_end=False)} GROUP BY 1)"""

    # ------------------------------------------------------------------------------------------
    # Activity
    # ------------------------------------------------------------------------------------------
    def period_table(self, grain: str, *, use_start: bool = True, use_end: bool = True) -> str | None:
        """``activity_<grain>`` when the range starts and ends on its period boundaries (or beyond
        the data), else None (read ``events``)."""
        check_grain(grain)
        if grain == "day":
            return None
        lo, hi = self.activity_span()
        if lo is None:
            return f"activity_{grain}"
        start = self.f.start if use_start else None
        end_excl = self.f.end + timedelta(days=1) if self.f.end and use_end else None
        start_ok = start is None or start <= lo or period_start(grain, start) == start
        end_ok = end_excl is None or end_excl > hi or period_start(grain, end_excl) == end_excl
        return f"activity_{grain}" if start_ok and end_ok else None

    def activity(self, grain: str, *, use_start: bool = True, use_end: bool = True, name: str = "activity") -> str:
        table = self.period_table(grain, use_start=use_start, use_end=use_end)
        if table is None:
            return f"""{name} AS (
            SELECT CAST(date_trunc('{grain}', e.day) AS DATE) AS period, e.mk, e.channel, 1 AS n,
                   e.ts AS first_at, e.ts AS last_at, e.reach AS max_reach
            FROM events e WHERE e.activity AND {self.where('e', use_start=use_start, use_end=use_end)})"""
        # Exact: every row of a period table lies wholly inside or outside the range.
        where = self.where("a", first="first_at", last="last_at", use_start=use_start, use_end=use_end)
        return f"""{name} AS (
            SELECT a.period, a.mk, a.channel, a.n, a.first_at, a.last_at, a.max_reach
            FROM {table} a WHERE {where})"""

    def member_months(self, *, use_start: bool = True, name: str = "mm") -> str:
        cols = "period, mk, n, first_at, last_at, max_reach, first_channel, last_channel, prv, nxt"
        if self.f.members_only and self.period_table("month", use_start=use_start) == "activity_month":
            where = self.where("a", first="first_at", last="last_at", use_start=use_start, channel=False, campaign=False)
            return f"{name} AS (SELECT {cols} FROM member_month a WHERE {where})"
        start = "WHERE first_at >= $f_start" if use_start and self.f.start is not None else ""
        return f"""{self.activity('month', use_start=False, name=name + '_a')},
        {name}_g AS (
            SELECT period, mk, sum(n)::INTEGER AS n, min(first_at) AS first_at, max(last_at) AS last_at,
                   max(max_reach) AS max_reach, arg_min(channel, (first_at, channel)) AS first_channel,
                   arg_max(channel, (last_at, channel)) AS last_channel
            FROM {name}_a GROUP BY 1, 2),
        {name} AS (
            SELECT * FROM (SELECT {cols.replace('prv, nxt', 'lag(period) OVER w AS prv, lead(period) OVER w AS nxt')}
                           FROM {name}_g WINDOW w AS (PARTITION BY mk ORDER BY period)) {start})"""

    def member_totals(self, name: str = "mt", *, use_start: bool = True) -> str:
        """Per active member over the range (``use_start`` False: from their first-ever activity)."""
        cols = "mk, n, first_at, last_at, max_reach, last_channel"
        whole = self.covers_all() if use_start else self.covers_end()
        if self.f.members_only and whole:
            return f"{name} AS (SELECT {cols} FROM member_totals a WHERE {self.where('a', day=None)})"
        agg = """SELECT mk, sum(n) AS n, min(first_at) AS first_at, max(last_at) AS last_at, max(max_reach) AS max_reach,
                        arg_max({ch}, (last_at, {ch})) AS last_channel FROM {src} GROUP BY 1"""
        if self.f.members_only and self.period_table("month", use_start=use_start) == "activity_month":
            return f"""{self.member_months(name=name + '_m', use_start=use_start)},
        {name} AS ({agg.format(ch='last_channel', src=name + '_m')})"""
        return f"""{self.activity('month', name=name + '_a', use_start=use_start)},
        {name} AS ({agg.format(ch='channel', src=name + '_a')})"""

    def member_days(self, since: str = "$f_start", name: str = "md") -> str:
        """``since``: a SQL date expression (NULL = no limit)."""
        if self.f.members_only:
            return f"""{name} AS (
            SELECT a.mk, a.day, a.nxt FROM member_days a
            WHERE ({since} IS NULL OR a.day >= {since}) AND {self.where('a', use_start=False)})"""
        return f"""{name} AS (
            SELECT mk, day, lead(day) OVER (PARTITION BY mk ORDER BY day) AS nxt
            FROM (SELECT DISTINCT e.mk, e.day FROM events e
                  WHERE e.activity AND ({since} IS NULL OR e.day >= {since}) AND {self.where('e', use_start=False)}))"""

    def daily(self) -> str:
        """``daily(day, dau, wau, mau)`` for every day of the range (WAU / MAU look back before it)."""
        f = self.f
        if f.members_only and not f.segments:
            return """bounds AS (
            SELECT coalesce(CAST($f_start AS DATE), min(day) FILTER (dau > 0)) AS lo,
                   coalesce(CAST($f_end_excl AS DATE) - 1, max(day) FILTER (dau > 0)) AS hi
            FROM daily_active),
        daily AS (
            SELECT d.day, coalesce(a.dau, 0) AS dau, coalesce(a.wau, 0) AS wau, coalesce(a.mau, 0) AS mau
            FROM (SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS day
                  FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi) d
            LEFT JOIN daily_active a USING (day))"""
        return f"""{self.member_days(since="(CAST($f_start AS DATE) - 29)")},
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

    def love(self) -> str:
        """SQL for ``(mk, love)``: activity per member in [$love_from, $love_to) (the love window
        replaces the range; channel, campaign and segment filters apply)."""
        return f"""SELECT e.mk, count(*)::BIGINT AS love FROM events e
            WHERE e.activity AND e.day >= $love_from AND e.day < $love_to
              AND {self.where('e', use_start=False, use_end=False)} GROUP BY 1"""

    def activity_rows(self, *, flags: str = "") -> str:
        """``src(mk, occurred_at, channel[, flags])``: single activity rows from the first-ever one
        to the range end (the start of the range is ignored), e.g. for start / return actions."""
        return f"""src AS (SELECT e.mk, e.ts AS occurred_at, e.ts AS last_at, 1 AS n, e.channel{flags}
            FROM events e WHERE e.activity AND {self.where('e', use_start=False)})"""

    def active_days(self) -> str:
        """SQL ``(mk, day)``: every member's active days (all history; channel and campaign filters)."""
        if self.f.members_only:
            return "SELECT mk, day FROM member_days"
        return f"SELECT DISTINCT e.mk, e.day FROM events e WHERE e.activity AND {self.where('e', day=None, segment=False)}"

    def day_actions(self) -> str:
        """SQL ``(mk, day, sr)``: every member's active days (all history; channel, campaign and
        segment filters) with the number of actions in ``$l_adv_types`` that day."""
        return f"""SELECT e.mk, e.day, count(*) FILTER (WHERE list_contains($l_adv_types, e.action)) AS sr
            FROM events e WHERE e.activity AND {self.where('e', day=None)} GROUP BY 1, 2"""

    def action_days(self, types: str = "$l_adv_types") -> str:
        """SQL ``(mk, day, n)``: activity rows whose action is in ``types`` (all history)."""
        return f"""SELECT e.mk, e.day, 1 AS n FROM events e
            WHERE e.activity AND list_contains({types}, e.action) AND {self.where('e', day=None, segment=False)}"""

    # ------------------------------------------------------------------------------------------
    # Two-way interaction
    # ------------------------------------------------------------------------------------------
    def messages(self, name: str = "resp") -> str:
        """Answerable messages in the range (bind ``$not_answerable``)."""
        return f"""{name} AS (
            SELECT e.ts AS occurred_at, e.day, e.mk, e.channel, e.replied_at,
                   {d.reply_seconds('e.ts', 'e.replied_at')} AS seconds
            FROM events e
            WHERE e.activity AND e.id IS NOT NULL AND {d.answerable('e.action')} AND {self.where('e')})"""

    def hourly(self) -> str:
        if not self.f.segments:
            return f"""hourly AS (
            SELECT h.day, h.weekday, h.hour, h.channel, h.inbound, h.known, h.in_crm, h.is_employee, h.n
            FROM hourly h WHERE {self.where('h', segment=False)})"""
        return f"""hourly AS (
            SELECT e.day, isodow(e.ts) AS weekday, hour(e.ts) AS hour, e.channel, e.inbound, e.mk IS NOT NULL AS known,
                   coalesce(m.in_crm, FALSE) AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee, count(*) AS n
            FROM events e LEFT JOIN member_dim m USING (mk)
            WHERE (NOT e.inbound OR e.mk IN {self.segment_mks}) AND {self.where('e', segment=False)}
            GROUP BY ALL)"""

    def posts(self) -> str:
        where = self.where("p", segment=False)
        if not self.f.segments:
            return f"posts AS (SELECT p.ts, p.day, p.channel, p.responses FROM broadcasts p WHERE {where})"
        return f"""posts AS (
            SELECT p.ts, p.day, p.channel, coalesce(r.n, 0) AS responses FROM broadcasts p
            LEFT JOIN (SELECT reply_to AS id, count(*) AS n FROM events
                       WHERE activity AND reply_to IS NOT NULL AND mk IN {self.segment_mks} GROUP BY 1) r USING (id)
            WHERE {where})"""

    def replies(self) -> str:
        return f"""rep AS (SELECT e.ts, e.agent FROM events e
            WHERE NOT e.inbound AND e.reply_to IS NOT NULL AND {self.where('e')})"""

    def contacts(self, period: str = "{t}") -> str:
        """``contacts(period, mk, channel)``; ``period`` formats the day column ``{t}``."""
        if not self.f.campaigns:
            return f"""contacts AS (
            SELECT DISTINCT {period.format(t='c.period')} AS period, c.mk, c.channel FROM contacts c
            WHERE {self.where('c', day='period', segment=False)})"""
        where = self.where("o", segment=False)
        return f"""contacts AS (
            SELECT DISTINCT {period.format(t='o.day')} AS period, o.mk, o.channel FROM events o
            WHERE NOT o.inbound AND o.mk IS NOT NULL AND {where}
            UNION
            SELECT DISTINCT {period.format(t='o.day')}, i.mk, o.channel FROM events o JOIN events i ON o.reply_to = i.id
            WHERE NOT o.inbound AND o.mk IS NULL AND o.reply_to IS NOT NULL AND i.mk IS NOT NULL AND {where})"""

    # ------------------------------------------------------------------------------------------
    # Listening
    # ------------------------------------------------------------------------------------------
    def mentions(self, name: str = "mentions", *, use_start: bool = True) -> str:
        return f"""{name} AS (
            SELECT e.ts, e.day, e.mk, e.channel, e.campaign, e.tags, e.sentiment,
                   {d.sentiment_label('e.sentiment')} AS label, e.lang, e.text_key, e.id, e.replied_at,
                   e.action, e.activity
            FROM events e WHERE e.inbound AND {self.where('e', use_start=use_start)})"""

    def mention_hours(self, name: str = "mh", *, use_start: bool = True) -> str:
        """``mh(hr, day, channel, campaign, tags, label, n)``: mentions counted per hour (from
        ``mention_hourly``; with a segment filter, from ``events``: the hours do not know members)."""
        if self.f.segments:
            return f"""{name} AS (
            SELECT date_trunc('hour', e.ts) AS hr, e.day, e.channel, e.campaign, e.tags,
                   {d.sentiment_label('e.sentiment')} AS label, count(*) AS n
            FROM events e WHERE e.inbound AND {self.where('e', use_start=use_start)} GROUP BY ALL)"""
        return f"""{name} AS (
            SELECT h.hr, h.day, h.channel, h.campaign, h.tags, h.label, h.n FROM mention_hourly h
            WHERE {self.where('h', use_start=use_start, segment=False)})"""

    def text_topics(self) -> str:
        return "text_topics"

    def texts(self) -> str:
        return "(SELECT text_key, text FROM text_scores)"

    # ------------------------------------------------------------------------------------------
    # Purchases
    # ------------------------------------------------------------------------------------------
    # ------------------------------------------------------------------------------------------
    # Posts and audience
    # ------------------------------------------------------------------------------------------
    def _network_where(self, alias: str, day: str, *, use_start: bool = True) -> str:
        f, conds = self.f, []
        if use_start and f.start is not None:
            conds.append(f"{day} >= $f_start")
        if f.end is not None:
            conds.append(f"{day} < $f_end_excl")
        if f.channels:
            conds.append(f"list_contains($f_channels, {alias}.network)")
        return " AND ".join(conds) or "TRUE"

    def post_rows(self, name: str = "post_rows") -> str:
        return f"""{name} AS (
            SELECT p.*, {d.post_engagements('p')} AS eng, {d.engagement_basis('p')} AS basis
            FROM posts_current p WHERE {self._network_where('p', 'p.published_at::DATE')})"""

    def page_days(self, name: str = "page_days", *, use_start: bool = True) -> str:
        return f"""{name} AS (
            SELECT a.*, {d.page_engagements('a')} AS eng FROM audience_current a
            WHERE {self._network_where('a', 'a.day', use_start=use_start)})"""

    def purchases(self, *, use_dates: bool = False, end_param: str | None = None) -> str:
        """``pday``, ``purch``, ``rev`` (see the module docstring). ``use_dates``: the range's dates;
        ``end_param``: a parameter naming an exclusive end day. Amounts stay DECIMAL (exact)."""
        conds = [f"p.mk NOT IN {self.employees}"]
        if self.f.segments:
            conds.append(f"p.mk IN {self.segment_mks}")
        if use_dates:
            conds.append(self.where("p", channel=False, campaign=False, segment=False))
        if end_param:
            conds.append(f"p.day < ${end_param}")
        return f"""pday AS (SELECT p.mk, p.day, p.bought, p.is_purchase, p.net FROM purchase_day p
                WHERE {' AND '.join(conds)}),
        purch AS (SELECT mk, day, bought AS amount FROM pday WHERE is_purchase),
        rev AS (SELECT mk, day, net AS amount FROM pday)"""

    def purchase_rows(self) -> str:
        """``src(mk, occurred_at, last_at, n, channel)``: purchase days up to the range end (first /
        last non-refund line, their channel, the number of lines), employees and segment applied."""
        conds = [f"p.mk NOT IN {self.employees}", "p.is_purchase"]
        if self.f.segments:
            conds.append(f"p.mk IN {self.segment_mks}")
        if self.f.end is not None:
            conds.append("p.day < $f_end_excl")
        return f"""src AS (SELECT p.mk, p.first_at AS occurred_at, p.last_at, p.lines AS n, p.first_channel AS channel,
                          p.last_channel FROM purchase_day p WHERE {' AND '.join(conds)})"""
