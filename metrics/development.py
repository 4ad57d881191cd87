"""Customer development (klantontwikkeling): are members moving up and is their value growing?

Definitions: METRICS.md, "Customer development". Conventions used throughout this module:

* **activity** = inbound interactions by known, non-employee members (``activity_cte``);
* a **purchase** = a member's non-refund transaction lines on one calendar day, merged (the CLV
  convention: same-day purchases count once); **revenue** is net: refund lines included;
* the **community** at a date = non-employee CRM members (segment filter applied) who joined on or
  before it (``joined_at``, else their first activity or purchase) and had not churned, plus
  members seen only in the activity or purchases;
* **month ends**: the date filter picks the months; the level at a month end looks back
  ``window_days`` days, which may reach before the range start (a member's history does not
  start with the filter). A month not over at the data's last date is measured at that date and
  marked ``is_partial``.

Ladder and stage sizes, migrations and promotion / demotion rates all derive from one table
(``transitions``): per month and (previous level, level, previous stage, stage) the number of
members. ``(new)`` = not in the community the month before, ``(left)`` = no longer in it. It is
counted in numpy from integer arrays a few lean queries return (see the comment above
``transitions``); ``engagement_ladder`` keeps the per-member SQL (the reference definition).
Member attributes come from ``mdim`` (metrics.source: the member_dim rollup when fresh, else
members_current) and activity from the rollups when they answer exactly, else ``interactions``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from datastore import rollups
from metrics import clv as clvm
from metrics.filters import Filters, activity_cte, check_grain, interaction_where
from metrics.periods import spine_cte, trunc
from metrics.registry import register
from metrics.source import MDIM_RAW, activity_ctes, mdim_cte, pick

LEVELS: tuple[str, ...] = ("Observer", "Explorer", "Participant", "Contributor", "Advocate")
STAGES: tuple[str, ...] = ("prospect", "customer", "repeat", "advocate")
NEW, LEFT = "(new)", "(left)"
UNITS: dict[str, float] = {"week": 7.0, "day": 1.0}

LADDER_OPTIONS: dict[str, str] = {
    "window_days": "trailing window in days (default 30)",
    "explorer": "active days for Explorer (default 1)",
    "participant": "active days for Participant (default 2)",
    "contributor": "active days for Contributor (default 7)",
    "advocate_actions": "share/reply actions in the window that make a Contributor an Advocate (default 3)",
    "advocate_action_types": "comma-separated actions counted for Advocate (default share,reply)",
}


# --------------------------------------------------------------------------------------------
# Option checking
# --------------------------------------------------------------------------------------------
def _int(name: str, value, lo: int, hi: int) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number (got {value!r})") from None
    if v != value and not isinstance(value, str) or not lo <= v <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi} (got {value!r})")
    return v


def _float(name: str, value, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi} (got {value!r})")
    return v


def _date_opt(name: str, value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD (got {value!r})") from None


def ladder_params(window_days=30, explorer=1, participant=2, contributor=7, advocate_actions=3,
                  advocate_action_types="share,reply") -> dict:
    """Checked ladder thresholds as SQL parameters (Explorer <= Participant <= Contributor)."""
    p = {
        "l_window": _int("window_days", window_days, 1, 366),
        "l_explorer": _int("explorer", explorer, 1, 366),
        "l_participant": _int("participant", participant, 1, 366),
        "l_contributor": _int("contributor", contributor, 1, 366),
        "l_adv_n": _int("advocate_actions", advocate_actions, 1, 100_000),
    }
    if not p["l_explorer"] <= p["l_participant"] <= p["l_contributor"]:
        raise ValueError("thresholds must satisfy explorer <= participant <= contributor")
    types = advocate_action_types
    if isinstance(types, str):
        types = [t.strip() for t in types.split(",")]
    types = [str(t) for t in types if str(t)]
    if not types:
        raise ValueError("advocate_action_types must name at least one action")
    p["l_adv_types"] = types
    return p


# --------------------------------------------------------------------------------------------
# Shared SQL
# --------------------------------------------------------------------------------------------
def _purchases_cte(filters: Filters, *, use_dates: bool = False, end_param: str | None = None,
                   rollup: bool = False) -> str:
    """`pday(mk, day, bought, is_purchase, net)`: transaction lines merged per member and day (value
    of the non-refund lines, whether there was one, net value refunds included); `purch(mk, day,
    amount)`: the purchase days and their value; `rev(mk, day, amount)`: net revenue per member and
    day. ``mk`` is the member key of `mdim` (metrics.source), which must come before: employees and
    the segment filter come from there. ``rollup``: read the `purchase_day` rollup (integer keys;
    pass ``rollups.fresh(cur)``) instead of grouping the lines (``mk`` = member_id). Date bounds
    are dates, so comparing the day equals comparing the line's time. Amounts stay DECIMAL (exact:
    sums do not depend on the order DuckDB adds the rows in, so both paths agree to the last bit;
    divisions give DOUBLE, and DuckDB hands DECIMAL results to pandas as float64)."""
    key, col = ("p.mk", "p.day") if rollup else ("t.member_id", "t.occurred_at")
    conds = [f"{key} NOT IN (SELECT mk FROM mdim WHERE is_employee)"]
    if filters.segments:
        conds.append(f"{key} IN (SELECT mk FROM mdim WHERE list_contains($f_segments, segment))")
    if use_dates:
        conds += [f"($f_start IS NULL OR {col} >= $f_start)", f"($f_end_excl IS NULL OR {col} < $f_end_excl)"]
    if end_param:
        conds.append(f"{col} < ${end_param}")
    where = " AND ".join(conds)
    if rollup:
        pday = f"pday AS (SELECT p.mk, p.day, p.bought, p.is_purchase, p.net FROM purchase_day p WHERE {where})"
    else:
        pday = f"""tx AS (
        SELECT t.member_id AS mk, t.occurred_at::DATE AS day, t.amount, {rollups.REFUND} AS refund
        FROM transactions t WHERE t.member_id IS NOT NULL AND {where}),
    pday AS (SELECT mk, day, sum(amount) FILTER (WHERE NOT refund) AS bought,
                    bool_or(NOT refund) AS is_purchase, sum(amount) AS net
             FROM tx GROUP BY 1, 2)"""
    return f"""{pday},
    purch AS (SELECT mk, day, bought AS amount FROM pday WHERE is_purchase),
    rev AS (SELECT mk, day, net AS amount FROM pday)"""


def _purchases(cur: duckdb.DuckDBPyConnection, filters: Filters, **kw) -> str:
    """``mdim`` and the purchase CTEs of ``_purchases_cte``, from the rollups when they are fresh."""
    return f"{mdim_cte(cur)}, {_purchases_cte(filters, rollup=rollups.fresh(cur), **kw)}"


def _crm_cte() -> str:
    """`crm`: the CRM's non-employee members (segment filter applied); needs `mdim`."""
    return """crm AS (
        SELECT mk, member_id, joined_at::DATE AS joined_at, churned_at::DATE AS churned_at, referred_by
        FROM mdim
        WHERE NOT coalesce(is_employee, FALSE)
          AND (len($f_segments) = 0 OR list_contains($f_segments, segment)))"""


def _months_cte() -> str:
    """`months(period, as_of, is_partial)` over the filter range (else the data span)."""
    return """span AS (
        SELECT min(d0) AS d0, max(d1) AS d1 FROM (
          SELECT min(occurred_at)::DATE AS d0, max(occurred_at)::DATE AS d1 FROM activity
          UNION ALL SELECT min(day), max(day) FROM purch)),
    bounds AS (
        SELECT coalesce(CAST($f_start AS DATE), d0) AS lo,
               least(coalesce(CAST($f_end_excl AS DATE) - 1, d1), d1) AS hi, d1 FROM span),
    months AS (
        SELECT period, least(CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE), hi) AS as_of,
               CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) > d1 AS is_partial
        FROM (SELECT CAST(unnest(generate_series(date_trunc('month', lo), date_trunc('month', hi),
                                                 INTERVAL 1 MONTH)) AS DATE) AS period, hi, d1
              FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi))"""


def _states_sql(filters: Filters) -> str:
    """CTE chain ending in `states(period, as_of, is_partial, member_id, active_days,
    share_reply, referrals, level, purchases, stage)`: every community member at every month end.
    Per-member facts (first / second purchase day, first referral) ride on `people` (one row per
    member) and the window counts are one keyed join: the big months x people join stays lean."""
    return f"""WITH {MDIM_RAW}, {activity_cte(use_dates=False)}, {_purchases_cte(filters)}, {_crm_cte()}, {_months_cte()},
    mdays AS (
        SELECT member_id, occurred_at::DATE AS day,
               count(*) FILTER (WHERE list_contains($l_adv_types, action)) AS sr
        FROM activity GROUP BY 1, 2),
    win AS (
        SELECT m.period, d.member_id, count(*) AS active_days, sum(d.sr) AS sr
        FROM months m JOIN mdays d ON d.day > m.as_of - $l_window AND d.day <= m.as_of
        GROUP BY 1, 2),
    refs AS (
        SELECT referred_by AS member_id, joined_at FROM members_current
        WHERE referred_by IS NOT NULL AND joined_at IS NOT NULL AND NOT coalesce(is_employee, FALSE)),
    ref_win AS (
        SELECT m.period, r.member_id, count(*) AS n
        FROM months m JOIN refs r ON r.joined_at::DATE > m.as_of - $l_window AND r.joined_at::DATE <= m.as_of
        GROUP BY 1, 2),
    ref_first AS (SELECT member_id, min(joined_at)::DATE AS first_ref FROM refs GROUP BY 1),
    buys AS (
        SELECT member_id, min(day) AS first_buy,
               min(day) FILTER (WHERE rn = 2) AS second_buy
        FROM (SELECT mk AS member_id, day, row_number() OVER (PARTITION BY mk ORDER BY day) AS rn FROM purch)
        WHERE rn <= 2 GROUP BY 1),
    seen AS (
        SELECT member_id, min(d) AS first_day FROM (
          SELECT member_id, day AS d FROM mdays UNION ALL SELECT member_id, first_buy FROM buys)
        GROUP BY 1),
    people AS (
        SELECT member_id, least(c.joined_at, s.first_day) AS since, c.churned_at, b.first_buy, b.second_buy,
               rf.first_ref
        FROM crm c FULL OUTER JOIN seen s USING (member_id)
        LEFT JOIN buys b USING (member_id) LEFT JOIN ref_first rf USING (member_id)),
    wr AS (
        SELECT period, member_id, sum(active_days) AS active_days, sum(sr) AS sr, sum(n) AS n FROM (
          SELECT period, member_id, active_days, sr, 0 AS n FROM win
          UNION ALL SELECT period, member_id, 0, 0, n FROM ref_win) GROUP BY 1, 2),
    lv AS (
        SELECT m.period, m.as_of, m.is_partial, p.member_id,
               coalesce(w.active_days, 0) AS active_days, coalesce(w.sr, 0)::BIGINT AS share_reply,
               coalesce(w.n, 0) AS referrals,
               CASE WHEN coalesce(w.active_days, 0) >= $l_contributor
                         AND (coalesce(w.n, 0) > 0 OR coalesce(w.sr, 0) >= $l_adv_n) THEN 'Advocate'
                    WHEN coalesce(w.active_days, 0) >= $l_contributor THEN 'Contributor'
                    WHEN coalesce(w.active_days, 0) >= $l_participant THEN 'Participant'
                    WHEN coalesce(w.active_days, 0) >= $l_explorer THEN 'Explorer'
                    ELSE 'Observer' END AS level,
               CASE WHEN p.second_buy <= m.as_of THEN 2 WHEN p.first_buy <= m.as_of THEN 1 ELSE 0 END AS purchases,
               p.first_ref <= m.as_of AS has_referred
        FROM months m
        JOIN people p ON p.since <= m.as_of AND (p.churned_at IS NULL OR p.churned_at > m.as_of)
        LEFT JOIN wr w ON w.period = m.period AND w.member_id = p.member_id),
    states AS (
        SELECT * EXCLUDE (has_referred),
               CASE WHEN purchases = 2 AND (level = 'Advocate' OR coalesce(has_referred, FALSE)) THEN 'advocate'
                    WHEN purchases = 2 THEN 'repeat' WHEN purchases = 1 THEN 'customer'
                    ELSE 'prospect' END AS stage
        FROM lv)"""


def _params(filters: Filters, **extra) -> dict:
    return {**filters.params(), **extra}


def _run(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """Execute with the parameters the SQL names (DuckDB refuses unused ones)."""
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    return cur.execute(sql, {k: v for k, v in params.items() if k in used}).df()


# --------------------------------------------------------------------------------------------
# Engagement ladder and customer stage
# --------------------------------------------------------------------------------------------
@register(
    "engagement_ladder",
    "Engagement level of every community member at each month end (Observer 0 / Explorer 1 / "
    "Participant 2-6 / Contributor >= 7 active days in the trailing 30 days; Advocate = Contributor "
    "with a referral or >= 3 share/reply actions) and the customer stage (prospect / customer / "
    "repeat / advocate)",
    "members",
    options={**LADDER_OPTIONS, "month": "only this month (YYYY-MM or a date in it); default all months"},
    section="development",
)
def engagement_ladder(cur: duckdb.DuckDBPyConnection, filters: Filters, month=None, **options) -> pd.DataFrame:
    """Columns period, as_of, is_partial, member_id, active_days, share_reply, referrals, level,
    purchases (0, 1, 2 = two or more), stage; ordered by period, member_id."""
    params = _params(filters, **ladder_params(**options))
    one = None
    if month is not None:
        text = str(month)
        one = _date_opt("month", text + "-01" if len(text) == 7 else text).replace(day=1)
    params["only"] = one
    sql = _states_sql(filters) + """
        SELECT * FROM states WHERE $only IS NULL OR period = $only ORDER BY period, member_id"""
    return _run(cur, sql, params)


# The month-end states in bulk. `engagement_ladder` lists every member at every month end with the
# SQL above (the reference). `transitions` only needs counts, so it never builds the member x month
# rows in SQL: a few lean queries fetch per-member facts and the active days as integer arrays
# (member key, day number), and numpy walks the months with one vector over the members per month
# (trailing-window counts by bincount over each window's rows, `_Windows`; level and stage codes by
# arithmetic; the move counts by bincount of (previous state, state) codes). Members are keyed by the integer
# `member_dim.mk` (computed on the fly with the same definition when the rollups are stale or a
# campaign filter is set: then the activity comes from `interactions` too); purchasers seen only
# in the transactions get keys after the largest mk.
_NEVER = 2**30  # day number for a missing date: after every month end
_DAY0 = date(1970, 1, 1)


def _dayno(expr: str) -> str:
    """SQL: the date ``expr`` as days since 1970-01-01 (INTEGER), ``_NEVER`` when NULL."""
    return f"coalesce(CAST(CAST({expr} AS DATE) - DATE '1970-01-01' AS INTEGER), {_NEVER})"


_MDX_ROLLUP = ("mdx AS (SELECT mk, member_id, in_crm, is_employee, segment, joined_at, churned_at, referred_by "
               "FROM member_dim)")
# Member keys for the raw path: datastore.rollups' member_dim without the ids seen only in the
# transactions (those get keys after the largest mk in _ladder_arrays). The numbering differs from
# member_dim's when such ids exist; harmless: the ladder only counts members.
_MDX_RAW = """mdx AS (
        SELECT (row_number() OVER (ORDER BY ids.member_id))::INTEGER AS mk, ids.member_id,
               m.member_id IS NOT NULL AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee,
               m.segment, m.joined_at, m.churned_at, m.referred_by
        FROM (SELECT member_id FROM interactions WHERE member_id IS NOT NULL
              UNION SELECT member_id FROM members) ids
        LEFT JOIN members_current m USING (member_id))"""


def _fetch(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> dict[str, np.ndarray]:
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    out = cur.execute(sql, {k: v for k, v in params.items() if k in used}).fetchnumpy()
    return {k: np.asarray(v) for k, v in out.items()}


class _Windows:
    """Rows (day, slot[, weight]) arranged so that each month's trailing window (as_of - w, as_of]
    is one contiguous slice; ``count(t)`` = per slot, the rows (or the weights) in month t's window.
    The rows are grouped by which of the window edges they fall between: a stable radix sort on a
    small integer key (the rollups keep no particular row order), skipped when already by day."""

    def __init__(self, day: np.ndarray, slot: np.ndarray, as_of: np.ndarray, w: int, size: int, weight=None):
        self.size, self.slot, self.weight = size, slot, weight
        if len(day) < 2 or bool((day[1:] >= day[:-1]).all()):
            self.bounds = np.searchsorted(day, np.stack([as_of - w, as_of], axis=1), side="right")
            return
        edges = np.unique(np.concatenate([as_of - w, as_of]))
        lo = int(day.min())
        lut = np.searchsorted(edges, np.arange(lo, int(day.max()) + 1), side="left")  # edges below a day
        key = lut.astype(np.uint8 if len(edges) < 255 else np.uint16)[day - lo]
        order = np.argsort(key, kind="stable")
        self.slot = slot[order]
        self.weight = None if weight is None else weight[order]
        start = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=len(edges) + 1))])
        # rows after edge j0 = as_of - w and up to edge j1 = as_of: keys j0 + 1 .. j1
        j = np.searchsorted(edges, np.stack([as_of - w, as_of], axis=1))
        self.bounds = start[j + 1]

    def count(self, t: int) -> np.ndarray:
        i, j = self.bounds[t]
        return np.bincount(self.slot[i:j], None if self.weight is None else self.weight[i:j], minlength=self.size)


def _ladder_inputs(cur: duckdb.DuckDBPyConnection, filters: Filters, params: dict) -> dict:
    """Integer arrays for the month-end states (see above). Members are slots 0..size-1 (slot = mk;
    slot 0 and the keys of members outside the filters never enter the community). Without fresh
    rollups (or with a campaign filter) the member keys are computed once, as member_dim would be,
    and read by the queries from an Arrow table registered on the cursor for the duration."""
    if pick(cur, filters, "day") is not None:
        return _ladder_arrays(cur, filters, params, _MDX_ROLLUP, fast=True)
    name = f"_dev_mdx_{id(cur):x}"
    cur.register(name, cur.sql(f"WITH {_MDX_RAW} SELECT * FROM mdx").to_arrow_table())
    try:
        return _ladder_arrays(cur, filters, params, f"mdx AS (SELECT * FROM {name})", fast=False)
    finally:
        cur.unregister(name)


def _ladder_arrays(cur: duckdb.DuckDBPyConnection, filters: Filters, params: dict, mdx: str, *, fast: bool) -> dict:
    seg_ok = "coalesce(len($f_segments) = 0 OR list_contains($f_segments, segment), FALSE)"
    mem = _fetch(cur, f"""WITH {mdx}
        SELECT mk, NOT is_employee AND {seg_ok} AS ok, in_crm, {_dayno('joined_at')} AS joined,
               {_dayno('churned_at')} AS churned
        FROM mdx""", params)
    # Purchase days (member key, day); first and second purchase day per member in numpy. On the
    # rollups every purchaser has a key (member_dim covers the transactions); on the raw path the
    # purchasers outside mdx (only in the transactions, rare) come with their member id from a second
    # query when the join loses lines.
    ids = np.array([], dtype=object)
    if fast:
        buy = _fetch(cur, f"""WITH {mdx}
            SELECT p.mk, {_dayno('p.day')} AS day FROM purchase_day p JOIN mdx d USING (mk)
            WHERE p.is_purchase AND NOT d.is_employee""", params)
    else:
        lines = f"""tx AS (SELECT t.member_id, t.occurred_at FROM transactions t
            WHERE t.member_id IS NOT NULL AND NOT {rollups.REFUND})"""
        buy = _fetch(cur, f"""WITH {mdx}, {lines}
            SELECT d.mk, {_dayno('tx.occurred_at')} AS day FROM tx JOIN mdx d USING (member_id)
            WHERE NOT d.is_employee""", params)
        counted = f"""WITH {mdx}, {lines}
            SELECT count(*) FROM tx WHERE member_id NOT IN (SELECT member_id FROM mdx WHERE is_employee)"""
        if cur.execute(counted).fetchone()[0] > len(buy["mk"]):
            alone = _fetch(cur, f"""WITH {mdx}, {lines}
                SELECT member_id, {_dayno('occurred_at')} AS day FROM tx
                WHERE member_id NOT IN (SELECT member_id FROM mdx)""", params)
            ids, inverse = np.unique(alone["member_id"].astype(object), return_inverse=True)
            buy = {"mk": np.concatenate([buy["mk"], -1 - inverse]), "day": np.concatenate([buy["day"], alone["day"]])}
    # Referrals: (referrer key, the referred member's join day); the referrer's id when not in mdx.
    ref = _fetch(cur, f"""WITH {mdx}
        SELECT coalesce(r.mk, -1) AS mk, CASE WHEN r.mk IS NULL THEN m.referred_by END AS referred_by,
               {_dayno('m.joined_at')} AS day
        FROM mdx m LEFT JOIN mdx r ON r.member_id = m.referred_by
        WHERE m.in_crm AND NOT m.is_employee AND m.referred_by IS NOT NULL AND m.joined_at IS NOT NULL""", params)
    # Active days (member key, day) and the share / reply actions (member key, day, count).
    chan = "(len($f_channels) = 0 OR list_contains($f_channels, {}.channel))"
    if fast:
        if filters.channels:
            act = _fetch(cur, f"""SELECT DISTINCT mk, {_dayno('period')} AS day FROM activity_day
                WHERE list_contains($f_channels, channel)""", params)
        else:
            act = _fetch(cur, f"SELECT mk, {_dayno('period')} AS day FROM active_days", params)
        inbound = f"""SELECT d.mk, {_dayno('i.occurred_at')} AS day, 1 AS n FROM interactions i JOIN mdx d USING (member_id)
            WHERE i.direction = 'inbound' AND NOT d.is_employee AND list_contains($l_adv_types, i.action)
              AND {chan.format('i')}"""
        if "messages" in rollups.TABLES:
            # The `messages` rollup holds the activity rows that have an interaction_id, with mk and
            # action: only the rows without an id are read from `interactions`.
            inbound = f"""SELECT mk, {_dayno('occurred_at')} AS day, 1 AS n FROM messages
                WHERE list_contains($l_adv_types, action) AND {chan.format('messages')}
                UNION ALL {inbound.replace("WHERE ", "WHERE i.interaction_id IS NULL AND ", 1)}"""
        sr = _fetch(cur, f"WITH {mdx} {inbound}", params)
    else:
        act = _fetch(cur, f"""WITH {mdx}
            SELECT d.mk, {_dayno('i.occurred_at')} AS day,
                   count(*) FILTER (WHERE list_contains($l_adv_types, i.action)) AS n
            FROM interactions i JOIN mdx d USING (member_id)
            WHERE i.direction = 'inbound' AND NOT d.is_employee AND {interaction_where('i', use_dates=False)}
            GROUP BY ALL""", params)
        keep = act["n"] > 0
        sr = {"mk": act["mk"][keep], "day": act["day"][keep], "n": act["n"][keep]}

    # Slots: mk, then the purchasers outside mdx (buy["mk"] = -1 - their index in ids).
    top = int(mem["mk"].max()) + 1 if len(mem["mk"]) else 1
    size = top + len(ids)
    ok = np.zeros(size, bool)
    ok[mem["mk"]] = mem["ok"]
    ok[top:] = not filters.segments  # purchasers outside mdx: no segment, not employees
    crm = mem["in_crm"] & ok[mem["mk"]]
    joined = np.full(size, _NEVER, np.int32)
    churned = np.full(size, _NEVER, np.int32)
    joined[mem["mk"][crm]] = mem["joined"][crm]
    churned[mem["mk"][crm]] = mem["churned"][crm]

    # Employees are excluded by the queries; members outside the segment filter here.
    def kept(slot: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
        slot = slot.astype(np.int64)
        if not filters.segments:
            return (slot, *cols)
        keep = ok[slot]
        return (slot[keep], *(c[keep] for c in cols))

    bslot = buy["mk"].astype(np.int64)
    bslot, bday = kept(np.where(bslot < 0, top - 1 - bslot, bslot), buy["day"].astype(np.int32))
    first_buy = np.full(size, _NEVER, np.int32)
    np.minimum.at(first_buy, bslot, bday)
    later = bday > first_buy[bslot]
    second_buy = np.full(size, _NEVER, np.int32)
    np.minimum.at(second_buy, bslot[later], bday[later])

    rslot = ref["mk"].astype(np.int64)
    lost = rslot < 0
    if lost.any():
        extra = {m: top + i for i, m in enumerate(ids)}
        rslot[lost] = [extra.get(r, -1) for r in ref["referred_by"][lost]]
    rkeep = rslot >= 0
    ref_day, ref_slot = ref["day"][rkeep].astype(np.int32), rslot[rkeep]
    first_ref = np.full(size, _NEVER, np.int32)
    np.minimum.at(first_ref, ref_slot, ref_day)

    act_slot, act_day = kept(act["mk"], act["day"].astype(np.int32))
    first_act = np.full(size, _NEVER, np.int32)
    np.minimum.at(first_act, act_slot, act_day)
    sr_slot, sr_day, sr_n = kept(sr["mk"], sr["day"].astype(np.int32), sr["n"].astype(np.int64))

    lows = [int(v.min()) for v in (act_day, bday) if len(v)]
    highs = [int(v.max()) for v in (act_day, bday) if len(v)]
    since = np.minimum(np.minimum(joined, first_act), first_buy)
    return {"size": size, "since": since, "churned": churned, "first_buy": first_buy, "second_buy": second_buy,
            "first_ref": first_ref, "act": (act_day, act_slot), "sr": (sr_day, sr_slot, sr_n),
            "ref": (ref_day, ref_slot), "d0": min(lows, default=None), "d1": max(highs, default=None)}


def _month_ends(filters: Filters, d0: int | None, d1: int | None) -> list[tuple[date, date, bool | None]]:
    """(period, as_of, is_partial) per month: the `months` CTE on day numbers (d0 / d1 = the data's
    first / last day; NULL-skipping least as in SQL)."""
    first = _DAY0 + timedelta(days=d0) if d0 is not None else None
    last = _DAY0 + timedelta(days=d1) if d1 is not None else None
    lo = filters.start if filters.start is not None else first
    his = [h for h in (filters.end, last) if h is not None]
    hi = min(his) if his else None
    if lo is None or hi is None or lo > hi:
        return []
    out, p = [], lo.replace(day=1)
    while p <= hi:
        nxt = (p + timedelta(days=32)).replace(day=1)
        end = nxt - timedelta(days=1)
        out.append((p, min(end, hi), None if last is None else end > last))
        p = nxt
    return out


_STATES = [(lv, st) for lv in LEVELS for st in STAGES]  # code = level * 4 + stage
_LEFT_CODE, _NEW_CODE = len(_STATES), len(_STATES) + 1
_NCODE = len(_STATES) + 2


def _labels() -> tuple[np.ndarray, np.ndarray]:
    """For every (previous, current) code pair (index previous * _NCODE + current): the labels
    (from_level, level, from_stage, stage) and the pair's rank when sorted on those strings."""
    names = [*_STATES, (LEFT, LEFT), (NEW, NEW)]
    pairs = [(names[a][0], names[b][0], names[a][1], names[b][1]) for a in range(_NCODE) for b in range(_NCODE)]
    rank = np.empty(len(pairs), np.int64)
    rank[sorted(range(len(pairs)), key=pairs.__getitem__)] = np.arange(len(pairs))
    return np.array(pairs, dtype=object), rank


_PAIRS, _PAIR_RANK = _labels()


def transitions(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    """Per month: members by (from_level, level, from_stage, stage); ``from_*`` is the state at
    the previous month end of the range, ``(new)`` when not in the community then (every member in
    the first month); rows with level ``(left)`` count members who left the community. Columns
    period, as_of, is_partial, from_level, level, from_stage, stage, members; ordered by period,
    from_level, level, from_stage, stage. The same counts as grouping the `engagement_ladder` rows
    of consecutive months (tests/test_development.py keeps that SQL as the reference)."""
    lp = ladder_params(**options)
    x = _ladder_inputs(cur, filters, {**filters.params(), **lp})
    months = _month_ends(filters, x["d0"], x["d1"])
    n_adv, size = lp["l_adv_n"], x["size"]
    steps = (lp["l_explorer"], lp["l_participant"], lp["l_contributor"])
    ends = np.array([(m[1] - _DAY0).days for m in months], np.int64)
    act, sr, ref = (_Windows(*x[k][:2], ends, lp["l_window"], size, *x[k][2:]) for k in ("act", "sr", "ref"))

    counts = np.zeros((len(months), _NCODE * _NCODE), np.int64)
    prev = np.full(size, _NEW_CODE, np.int16)
    for t, a in enumerate(ends):
        days = act.count(t)
        top = days >= steps[2]
        level = (days >= steps[0]).astype(np.int16) + (days >= steps[1]) + top
        if top.any():
            adv = top & ((ref.count(t) > 0) | (sr.count(t) >= n_adv))
            level += adv
        else:
            adv = top
        bought = (x["first_buy"] <= a).astype(np.int16) + (x["second_buy"] <= a)
        stage = bought + ((bought == 2) & (adv | (x["first_ref"] <= a)))
        inside = (x["since"] <= a) & (x["churned"] > a)
        now = np.where(inside, level * 4 + stage, _LEFT_CODE).astype(np.int16)
        counts[t] = np.bincount(prev.astype(np.int64) * _NCODE + now, minlength=_NCODE * _NCODE)
        prev = np.where(inside, now, _NEW_CODE).astype(np.int16)
    counts[:, _NEW_CODE * _NCODE + _LEFT_CODE] = 0  # in neither month

    t, code = np.nonzero(counts)
    order = np.lexsort((_PAIR_RANK[code], t))  # the SQL's ORDER BY period, from_level, level, ...
    t, code = t[order], code[order]
    lab = _PAIRS[code] if len(code) else np.empty((0, 4), dtype=object)
    per = pd.DataFrame(months, columns=["period", "as_of", "is_partial"])
    text = "str" if len(code) else object  # as DuckDB's .df() gives them
    return pd.DataFrame({
        "period": pd.to_datetime(per["period"].to_numpy()[t]).astype("datetime64[us]"),
        "as_of": pd.to_datetime(per["as_of"].to_numpy()[t]).astype("datetime64[us]"),
        # unknown (NULL) when there is no data at all but a date range: nullable, as from DuckDB
        "is_partial": pd.array(per["is_partial"].to_numpy()[t],
                               dtype="boolean" if len(t) and per["is_partial"].isna().any() else bool),
        "from_level": pd.Series(lab[:, 0], dtype=text), "level": pd.Series(lab[:, 1], dtype=text),
        "from_stage": pd.Series(lab[:, 2], dtype=text), "stage": pd.Series(lab[:, 3], dtype=text),
        "members": counts[t, code].astype("int64"),
    })


def _order(values: tuple[str, ...]) -> list[str]:
    return [NEW, *values, LEFT]


def sizes_from(trans: pd.DataFrame, kind: str = "level") -> pd.DataFrame:
    """Members per month and level (``kind`` = level) or stage (``kind`` = stage), gaps filled
    with 0: columns period, as_of, is_partial, <kind>, members, share."""
    names = LEVELS if kind == "level" else STAGES
    months = trans[["period", "as_of", "is_partial"]].drop_duplicates().sort_values("period")
    grid = months.merge(pd.DataFrame({kind: list(names)}), how="cross")
    inside = trans[trans[kind] != LEFT].groupby(["period", kind], as_index=False)["members"].sum()
    out = grid.merge(inside, on=["period", kind], how="left")
    out["members"] = out["members"].fillna(0).astype("int64")
    total = out.groupby("period")["members"].transform("sum")
    out["share"] = (out["members"] / total.where(total > 0)).astype("float64")
    out[kind] = pd.Categorical(out[kind], categories=list(names), ordered=True)
    out = out.sort_values(["period", kind]).reset_index(drop=True)
    out[kind] = out[kind].astype(str)
    return out


def migration_from(trans: pd.DataFrame, kind: str = "level") -> pd.DataFrame:
    """Month-to-month movement: columns period (the later month), from_<kind>, to_<kind>, members.
    For every period after the first, the rows of ``from_<kind>`` = L sum to the number at L the
    month before (``(left)`` included); the rows of ``to_<kind>`` = L sum to the number at L now."""
    names = LEVELS if kind == "level" else STAGES
    first = trans["period"].min() if len(trans) else None
    t = trans[trans["period"] != first]
    src = "from_level" if kind == "level" else "from_stage"
    out = t.groupby(["period", src, kind], as_index=False)["members"].sum()
    out = out.rename(columns={src: f"from_{kind}", kind: f"to_{kind}"})
    order = {n: i for i, n in enumerate(_order(names))}
    out = out.assign(_a=out[f"from_{kind}"].map(order), _b=out[f"to_{kind}"].map(order))
    out = out.sort_values(["period", "_a", "_b"]).drop(columns=["_a", "_b"]).reset_index(drop=True)
    out["members"] = out["members"].astype("int64")
    return out


def rates_from(migration: pd.DataFrame, kind: str = "level") -> pd.DataFrame:
    """Promotion / demotion per period and starting level: among members at level L the month
    before, the share at a higher (lower) level now; those who left count in the base only.
    Columns period, <kind>, base, promoted, demoted, stayed, left, promotion_rate, demotion_rate;
    one extra row per period with <kind> = 'all'."""
    names = LEVELS if kind == "level" else STAGES
    rank = {n: i for i, n in enumerate(names)}
    m = migration[migration[f"from_{kind}"].isin(names)].copy()
    a = m[f"from_{kind}"].map(rank)
    b = m[f"to_{kind}"].map(rank)
    m["promoted"] = np.where(b > a, m["members"], 0)
    m["demoted"] = np.where(b < a, m["members"], 0)
    m["stayed"] = np.where(b == a, m["members"], 0)
    m["left"] = np.where(m[f"to_{kind}"] == LEFT, m["members"], 0)
    cols = ["members", "promoted", "demoted", "stayed", "left"]
    per = m.groupby(["period", f"from_{kind}"], as_index=False)[cols].sum().rename(
        columns={f"from_{kind}": kind, "members": "base"})
    allrows = m.groupby("period", as_index=False)[cols].sum().rename(columns={"members": "base"})
    allrows[kind] = "all"
    out = pd.concat([per, allrows], ignore_index=True)
    order = {n: i for i, n in enumerate([*names, "all"])}
    out = out.assign(_o=out[kind].map(order)).sort_values(["period", "_o"]).drop(columns="_o")
    base = out["base"].where(out["base"] > 0)
    out["promotion_rate"] = (out["promoted"] / base).astype("float64")
    out["demotion_rate"] = (out["demoted"] / base).astype("float64")
    return out.reset_index(drop=True)


def development_states(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> dict[str, pd.DataFrame]:
    """Everything the ladder and stage views need from one query: level_sizes, level_migration,
    level_rates, stage_sizes, stage_movement, stage_rates."""
    trans = transitions(cur, filters, **options)
    lm, sm = migration_from(trans, "level"), migration_from(trans, "stage")
    return {
        "level_sizes": sizes_from(trans, "level"), "level_migration": lm, "level_rates": rates_from(lm, "level"),
        "stage_sizes": sizes_from(trans, "stage"), "stage_movement": sm, "stage_rates": rates_from(sm, "stage"),
    }


@register("ladder_sizes", "Members per engagement level at each month end (gaps filled)", "members",
          options=LADDER_OPTIONS, section="development")
def ladder_sizes(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return sizes_from(transitions(cur, filters, **options), "level")


@register("ladder_migration", "Month-to-month migration matrix between engagement levels "
          "((new) = joined the community, (left) = left it)", "members", options=LADDER_OPTIONS,
          section="development")
def ladder_migration(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return migration_from(transitions(cur, filters, **options), "level")


@register("ladder_rates", "Promotion and demotion rate per engagement level and month", "ratio",
          options=LADDER_OPTIONS, section="development")
def ladder_rates(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return rates_from(ladder_migration(cur, filters, **options), "level")


@register("stage_sizes", "Members per customer stage (prospect / customer / repeat / advocate) at each month end",
          "members", options=LADDER_OPTIONS, section="development")
def stage_sizes(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return sizes_from(transitions(cur, filters, **options), "stage")


@register("stage_movement", "Month-to-month movement matrix between customer stages", "members",
          options=LADDER_OPTIONS, section="development")
def stage_movement(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return migration_from(transitions(cur, filters, **options), "stage")


@register("lifecycle_stage_distribution", "The CRM's own lifecycle_stage as given: members per value "
          "(non-employees, segment filter applied); empty when the column is not filled", "members",
          section="development")
def lifecycle_stage_distribution(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    sql = f"""
        WITH {mdim_cte(cur)}, m AS (SELECT lifecycle_stage FROM mdim
                   WHERE NOT coalesce(is_employee, FALSE)
                     AND (len($f_segments) = 0 OR list_contains($f_segments, segment))),
        g AS (SELECT coalesce(lifecycle_stage, '(none)') AS lifecycle_stage, count(*) AS members FROM m GROUP BY 1)
        SELECT lifecycle_stage, members, members / sum(members) OVER () AS share
        FROM g WHERE (SELECT count(lifecycle_stage) FROM m) > 0
        ORDER BY members DESC, lifecycle_stage"""
    return _run(cur, sql, filters.params())


# --------------------------------------------------------------------------------------------
# Value development
# --------------------------------------------------------------------------------------------
@register(
    "value_curves",
    "Per first-purchase cohort (month) and months since first purchase: net revenue, cumulative "
    "revenue per cohort member and net revenue retention (revenue in month k / revenue in month 0)",
    "currency per member",
    section="development",
)
def value_curves(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Cohorts: members whose first-ever purchase falls in the date range; revenue up to the range
    end. Columns cohort, cohort_size, months_since, buyers, revenue, cumulative_revenue_per_member,
    net_revenue_retention, is_partial."""
    # Straight from the lines, per member and month (first purchase day, net revenue): cohort
    # members' first purchase is never after lim.hi, so limiting the lines to lim.hi loses no cohort.
    sql = f"""WITH {_purchases(cur, filters)},
    lim AS (SELECT max(day) AS data_hi, least(coalesce(CAST($f_end_excl AS DATE) - 1, max(day)), max(day)) AS hi FROM pday),
    pm AS (SELECT mk, date_trunc('month', day) AS month, min(day) FILTER (WHERE is_purchase) AS first_buy,
                  sum(net) AS revenue
           FROM pday, lim WHERE day <= lim.hi GROUP BY 1, 2),
    coh AS (SELECT mk, CAST(date_trunc('month', min(first_buy)) AS DATE) AS cohort FROM pm GROUP BY 1
            HAVING min(first_buy) IS NOT NULL AND ($f_start IS NULL OR min(first_buy) >= $f_start)
               AND ($f_end_excl IS NULL OR min(first_buy) < $f_end_excl)),
    sizes AS (SELECT cohort, count(*) AS n FROM coh GROUP BY 1),
    r AS (SELECT c.cohort, datediff('month', c.cohort, pm.month) AS k, sum(pm.revenue) AS revenue, count(*) AS buyers
          FROM coh c JOIN pm USING (mk) GROUP BY 1, 2),
    grid AS (SELECT s.cohort, s.n, unnest(range(0, datediff('month', s.cohort, date_trunc('month', lim.hi)) + 1)) AS k
             FROM sizes s, lim)
    SELECT g.cohort, g.n AS cohort_size, g.k AS months_since, coalesce(r.buyers, 0) AS buyers,
           coalesce(r.revenue, 0) AS revenue,
           sum(coalesce(r.revenue, 0)) OVER (PARTITION BY g.cohort ORDER BY g.k) / g.n AS cumulative_revenue_per_member,
           coalesce(r.revenue, 0) / nullif(first_value(coalesce(r.revenue, 0)) OVER (PARTITION BY g.cohort ORDER BY g.k), 0)
               AS net_revenue_retention,
           CAST(g.cohort + to_months(CAST(g.k + 1 AS INTEGER)) - INTERVAL 1 DAY AS DATE) > (SELECT data_hi FROM lim) AS is_partial
    FROM grid g LEFT JOIN r ON r.cohort = g.cohort AND r.k = g.k
    ORDER BY g.cohort, g.k"""
    return _run(cur, sql, filters.params())


@register(
    "value_over_time",
    "Per period: buyers, purchases (purchase days), net revenue, purchase frequency (purchases / "
    "buyers), average order value (purchase value / purchases) and the repeat purchase rate (members "
    "with >= 2 purchases ever / members with >= 1, at period end)",
    "mixed",
    options={"grain": "day | week | month (default month)"},
    section="development",
)
def value_over_time(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    g = check_grain(grain)
    sql = f"""WITH {_purchases(cur, filters)},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(day)) AS lo,
                   least(coalesce(CAST($f_end_excl AS DATE) - 1, max(day)), max(day)) AS hi FROM pday),
    {spine_cte(g)},
    pm AS (SELECT {trunc(g, 'day')} AS period, mk, count(*) FILTER (WHERE is_purchase) AS purchases,
                  sum(bought) AS value, sum(net) AS revenue
           FROM pday, bounds WHERE day BETWEEN bounds.lo AND bounds.hi GROUP BY 1, 2),
    pv AS (SELECT period, count(*) FILTER (WHERE purchases > 0) AS buyers, sum(purchases)::BIGINT AS purchases,
                  sum(value) AS purchase_value, sum(revenue) AS revenue FROM pm GROUP BY 1),
    two AS (SELECT min(day, 2) AS d FROM purch GROUP BY mk),
    firsts AS (SELECT period, count(*) FILTER (WHERE k = 1) AS new_customers, count(*) FILTER (WHERE k = 2) AS new_repeat
               FROM (SELECT {trunc(g, 'd[1]')} AS period, 1 AS k FROM two
                     UNION ALL SELECT {trunc(g, 'd[2]')}, 2 FROM two WHERE len(d) = 2) GROUP BY 1),
    cum AS (SELECT period, sum(new_customers) OVER w AS customers, sum(new_repeat) OVER w AS repeaters
            FROM (SELECT s.period, coalesce(f.new_customers, 0) AS new_customers, coalesce(f.new_repeat, 0) AS new_repeat
                  FROM (SELECT period FROM spine UNION SELECT period FROM firsts) s LEFT JOIN firsts f USING (period))
            WINDOW w AS (ORDER BY period))
    SELECT s.period, coalesce(p.buyers, 0) AS buyers, coalesce(p.purchases, 0) AS purchases,
           coalesce(p.revenue, 0) AS revenue,
           p.purchases / nullif(p.buyers, 0) AS purchase_frequency,
           p.purchase_value / nullif(p.purchases, 0) AS average_order_value,
           c.repeaters / nullif(c.customers, 0) AS repeat_purchase_rate
    FROM spine s LEFT JOIN pv p USING (period) LEFT JOIN cum c USING (period)
    ORDER BY s.period"""
    out = _run(cur, sql, filters.params())
    for col in ("buyers", "purchases"):
        out[col] = out[col].astype("int64")
    return out


@register(
    "value_summary",
    "Over the date range: customers, repeat customers (>= 2 purchase days in the range), repeat "
    "purchase rate, purchases, purchase frequency, net revenue, average order value, revenue per customer",
    "mixed",
    section="development",
)
def value_summary(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    # One pass over the purchase days per member (every member in `rev` has a row in `per`).
    sql = f"""WITH {_purchases(cur, filters, use_dates=True)},
    per AS (SELECT mk, count(*) FILTER (WHERE is_purchase) AS n, sum(bought) AS value, sum(net) AS net
            FROM pday GROUP BY 1)
    SELECT count(*) FILTER (WHERE n > 0) AS customers,
           count(*) FILTER (WHERE n >= 2) AS repeat_customers,
           count(*) FILTER (WHERE n >= 2) / nullif(count(*) FILTER (WHERE n > 0), 0) AS repeat_purchase_rate,
           coalesce(sum(n), 0)::BIGINT AS purchases,
           sum(n) / nullif(count(*) FILTER (WHERE n > 0), 0) AS purchase_frequency,
           coalesce(sum(net), 0) AS revenue,
           sum(value) / nullif(sum(n), 0) AS average_order_value,
           sum(net) / nullif(count(*), 0) AS revenue_per_customer
    FROM per"""
    return _run(cur, sql, filters.params())


# --------------------------------------------------------------------------------------------
# Participation and value
# --------------------------------------------------------------------------------------------
@register(
    "participation_value",
    "Participants (>= 1 activity in the range) vs non-participants among the community at the "
    "range end: members, buyers, repeat buyers, repeat purchase rate (repeat buyers / buyers), "
    "net revenue and revenue per member (purchases in the range)",
    "mixed",
    section="development",
)
def participation_value(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    # Any grain answers "active in the range"; the coarsest one the date filter allows is the smallest.
    # Purchases keyed like the activity: integer keys only when the activity comes from the rollups.
    fast = pick(cur, filters, "month") is not None
    sql = f"""WITH {activity_ctes(cur, filters, "month")}, {_purchases_cte(filters, use_dates=True, rollup=fast)},
    {_crm_cte()},
    lim AS (SELECT coalesce(CAST($f_end_excl AS DATE) - 1, DATE '9999-12-31') AS hi),
    active AS (SELECT DISTINCT mk FROM activity),
    -- Per member from the lines: a buyer has a first purchase day, a repeat buyer a later one too.
    buy AS (SELECT mk, min(day) FILTER (WHERE is_purchase) AS first_day,
                   max(day) FILTER (WHERE is_purchase) AS last_day, sum(net) AS revenue FROM pday GROUP BY 1),
    community AS (
        SELECT mk FROM crm, lim
        WHERE (joined_at IS NULL OR joined_at <= lim.hi) AND (churned_at IS NULL OR churned_at > lim.hi)
        UNION SELECT mk FROM active
        UNION SELECT mk FROM buy),
    g AS (
        SELECT CASE WHEN a.mk IS NOT NULL THEN 'participants' ELSE 'non-participants' END AS "group",
               count(*) AS members, count(b.first_day) AS buyers,
               count(*) FILTER (WHERE b.last_day > b.first_day) AS repeat_buyers, coalesce(sum(b.revenue), 0) AS revenue
        FROM community c LEFT JOIN active a USING (mk) LEFT JOIN buy b USING (mk) GROUP BY 1),
    grid AS (SELECT unnest(['participants', 'non-participants']) AS "group", generate_subscripts(['a', 'b'], 1) AS o)
    SELECT grid."group", coalesce(g.members, 0) AS members, coalesce(g.buyers, 0) AS buyers,
           coalesce(g.repeat_buyers, 0) AS repeat_buyers,
           g.buyers / nullif(g.members, 0) AS buyer_rate,
           g.repeat_buyers / nullif(g.buyers, 0) AS repeat_purchase_rate,
           coalesce(g.revenue, 0) AS revenue,
           g.revenue / nullif(g.members, 0) AS revenue_per_member
    FROM grid LEFT JOIN g USING ("group") ORDER BY grid.o"""
    out = _run(cur, sql, filters.params())
    for col in ("members", "buyers", "repeat_buyers"):
        out[col] = out[col].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Referrals
# --------------------------------------------------------------------------------------------
_REFERRAL_BASE = """
    base AS (SELECT member_id, joined_at::DATE AS joined_at, referred_by FROM mdim
             WHERE NOT coalesce(is_employee, FALSE)
               AND (len($f_segments) = 0 OR list_contains($f_segments, segment))),
    new AS (SELECT * FROM base WHERE joined_at IS NOT NULL
              AND ($f_start IS NULL OR joined_at >= $f_start) AND ($f_end_excl IS NULL OR joined_at < $f_end_excl))"""


# `depth(member_id, depth)` for the members referred by a member in `base` (`linked`): how far
# down a referral chain they are (1 = referred by a non-referred member, ...); every other member
# is at depth 0. The recursion walks the linked members only (a tenth of the base), from the ones
# whose referrer is not linked; capped at 100 links. Members in a referral cycle are never reached:
# they have no depth and are left out, as they always were.
_REFERRAL_DEPTH = """linked AS (SELECT member_id, referred_by FROM base WHERE referred_by IN (SELECT member_id FROM base)),
    chain(member_id, depth) AS (
        SELECT member_id, 1 FROM linked WHERE referred_by NOT IN (SELECT member_id FROM linked)
        UNION ALL
        SELECT l.member_id, c.depth + 1 FROM linked l JOIN chain c ON l.referred_by = c.member_id
        WHERE c.depth < 100),
    depth AS (SELECT member_id, max(depth) AS depth FROM chain GROUP BY 1)"""


@register(
    "referral_share",
    "Per period: new members (joined_at in the period), of whom referred (referred_by set), and the share referred",
    "ratio",
    options={"grain": "day | week | month (default month)"},
    per_period=False,
    section="development",
)
def referral_share(cur: duckdb.DuckDBPyConnection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    g = check_grain(grain)
    sql = f"""WITH {mdim_cte(cur)}, {_REFERRAL_BASE},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(joined_at)) AS lo,
                   coalesce(CAST($f_end_excl AS DATE) - 1, max(joined_at)) AS hi FROM new),
    {spine_cte(g)},
    agg AS (SELECT {trunc(g, 'joined_at')} AS period, count(*) AS new_members,
                   count(referred_by) AS referred FROM new GROUP BY 1)
    SELECT s.period, coalesce(a.new_members, 0) AS new_members, coalesce(a.referred, 0) AS referred,
           a.referred / nullif(a.new_members, 0) AS share_referred
    FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    out = _run(cur, sql, filters.params())
    for col in ("new_members", "referred"):
        out[col] = out[col].astype("int64")
    return out


@register(
    "referral_summary",
    "Among members who joined in the range: new members, referred, share referred, referrers, "
    "referrals per referrer, the longest referral chain and members in chains (referred by someone "
    "who was referred)",
    "mixed",
    section="development",
)
def referral_summary(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    sql = f"""WITH RECURSIVE {mdim_cte(cur)}, {_REFERRAL_BASE}, {_REFERRAL_DEPTH}
    SELECT count(*) AS new_members, count(referred_by) AS referred,
           count(referred_by) / nullif(count(*), 0) AS share_referred,
           count(DISTINCT referred_by) AS referrers,
           count(referred_by) / nullif(count(DISTINCT referred_by), 0) AS referrals_per_referrer,
           (SELECT coalesce(max(d.depth), 0) FROM new JOIN depth d USING (member_id)) AS longest_chain,  -- 0: none linked
           (SELECT count(*) FROM new JOIN depth d USING (member_id) WHERE d.depth >= 2) AS members_in_chains
    FROM new"""
    return _run(cur, sql, filters.params())


@register(
    "referral_chains",
    "Members who joined in the range by referral depth (0 = not referred, 1 = referred by a "
    "non-referred member, 2 = referred by a referred member, ...)",
    "members",
    section="development",
)
def referral_chains(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    sql = f"""WITH RECURSIVE {mdim_cte(cur)}, {_REFERRAL_BASE}, {_REFERRAL_DEPTH}
    SELECT 0 AS depth, count(*) AS members FROM new WHERE member_id NOT IN (SELECT member_id FROM linked)
    HAVING count(*) > 0
    UNION ALL SELECT d.depth, count(*) FROM new JOIN depth d USING (member_id) GROUP BY 1
    ORDER BY 1"""
    return _run(cur, sql, filters.params())


# --------------------------------------------------------------------------------------------
# Customer lifetime value
# --------------------------------------------------------------------------------------------
CLV_OPTIONS: dict[str, str] = {
    "calibration_end": "last day of the calibration period (YYYY-MM-DD; default the range end or the last purchase)",
    "unit": "week (default) | day: the time unit of frequency / recency / T",
    "horizon_months": "months ahead for expected purchases and CLV (default 12)",
    "discount_rate": "yearly discount rate for CLV (default 0.10)",
}


def rfm(cur: duckdb.DuckDBPyConnection, filters: Filters, calibration_end=None, unit: str = "week") -> pd.DataFrame:
    """Per customer with a purchase in [range start, calibration end]: frequency (repeat purchase
    days), recency and T (in ``unit``s from the first purchase to the last one / to the calibration
    end) and monetary_value (mean value of the repeat purchase days; 0 without repeats).
    Same-day purchases are merged. Columns member_id, first_purchase, frequency, recency, T,
    monetary_value; ordered by member_id."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)} (got {unit!r})")
    end = _date_opt("calibration_end", calibration_end)
    params = filters.params()
    if end is None:
        end = _run(cur, f"WITH {_purchases(cur, filters, use_dates=True)} SELECT max(day) AS d FROM purch",
                   params)["d"].iloc[0]
        end = None if pd.isna(end) else pd.Timestamp(end).date()
    if end is None:
        return pd.DataFrame({"member_id": pd.Series(dtype="str"), "first_purchase": pd.Series(dtype="datetime64[us]"),
                             **{c: pd.Series(dtype="float64") for c in ("frequency", "recency", "T", "monetary_value")}})
    params.update({"cal_end": end, "cal_end_excl": end + timedelta(days=1), "unit_days": UNITS[unit]})
    sql = f"""WITH {_purchases(cur, filters, use_dates=True, end_param='cal_end_excl')},
    f AS (SELECT mk, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
                 sum(amount) AS total, arg_min(amount, day) AS first_amount FROM purch GROUP BY 1)
    SELECT {"d.member_id" if rollups.fresh(cur) else "f.mk AS member_id"}, first_day AS first_purchase, frequency::DOUBLE AS frequency,
           datediff('day', first_day, last_day) / $unit_days AS recency,
           datediff('day', first_day, CAST($cal_end AS DATE)) / $unit_days AS T,
           CASE WHEN frequency > 0 THEN (total - first_amount) / frequency ELSE 0 END AS monetary_value
    FROM f {"JOIN member_dim d USING (mk)" if rollups.fresh(cur) else ""} ORDER BY member_id"""
    return _run(cur, sql, params)


def clv_result(cur: duckdb.DuckDBPyConnection, filters: Filters, calibration_end=None, unit: str = "week",
               horizon_months=12, discount_rate=0.10) -> dict:
    """Fit BG/NBD and Gamma-Gamma on the range's purchases. Returns ``customers`` (per member:
    rfm columns, p_alive, expected_purchases in the horizon, expected_average_value, clv; by
    clv descending), ``parameters`` (model, parameter, value) and ``error`` (None or why no fit)."""
    months = _int("horizon_months", horizon_months, 1, 120)
    rate = _float("discount_rate", discount_rate, 0.0, 1.0)
    frame = rfm(cur, filters, calibration_end, unit)
    x, tx, T, m = (frame[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    bg = clvm.fit_bgnbd(x, tx, T)
    gg = clvm.fit_gamma_gamma(x, m) if bg.ok else clvm.GammaGammaFit(*(float("nan"),) * 4, 0, "no BG/NBD fit")
    params = pd.DataFrame({
        "model": ["BG/NBD"] * 6 + ["Gamma-Gamma"] * 5,
        "parameter": ["r", "alpha", "a", "b", "log_likelihood", "customers", "p", "q", "gamma", "log_likelihood",
                      "customers"],
        "value": [bg.r, bg.alpha, bg.a, bg.b, bg.log_likelihood, float(bg.n), gg.p, gg.q, gg.gamma,
                  gg.log_likelihood, float(gg.n)],
    })
    out = frame.copy()
    if bg.ok:
        step = 30.4375 / UNITS[unit]
        out["p_alive"] = clvm.p_alive(bg, x, tx, T)
        out["expected_purchases"] = clvm.expected_purchases(bg, months * step, x, tx, T)
    else:
        out["p_alive"] = np.nan
        out["expected_purchases"] = np.nan
    if bg.ok and gg.ok:
        out["expected_average_value"] = clvm.expected_average_value(gg, x, m)
        monthly = (1 + rate) ** (1 / 12) - 1
        out["clv"] = clvm.clv(bg, gg, x, tx, T, m, horizon_steps=months, step=30.4375 / UNITS[unit],
                              discount_rate=monthly)
        out = out.sort_values(["clv", "member_id"], ascending=[False, True]).reset_index(drop=True)
    else:
        out["expected_average_value"] = np.nan
        out["clv"] = np.nan
    return {"customers": out, "parameters": params, "error": bg.error or gg.error}


@register(
    "customer_lifetime_value",
    "Per customer: frequency / recency / T, P(alive) and expected purchases (BG/NBD), expected "
    "average value (Gamma-Gamma) and discounted CLV over the horizon; highest CLV first",
    "currency",
    options=CLV_OPTIONS,
    section="development",
)
def customer_lifetime_value(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return clv_result(cur, filters, **options)["customers"]


@register("clv_parameters", "Fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) parameters "
          "with their log-likelihoods", "parameters", options=CLV_OPTIONS, section="development")
def clv_parameters(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    return clv_result(cur, filters, **options)["parameters"]
