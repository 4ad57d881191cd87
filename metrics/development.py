"""Customer development (klantontwikkeling): are members moving up and is their value growing?

Definitions: METRICS.md, "Customer development". Conventions used throughout this module:

* **activity** = inbound interactions by known, non-employee members (``derived.definitions``);
* a **purchase** = a member's non-refund transaction lines on one calendar day, merged (the CLV
  convention: same-day purchases count once); **revenue** is net: refund lines included;
* the **community** at a date = non-employee CRM members (segment filter applied) who joined on or
  before it (``joined_at``, else their first activity or purchase) and had not churned, plus
  members seen only in the activity or purchases;
* **month ends**: the date filter picks the months; the level at a month end looks back
  ``window_days`` days, which may reach before the range start (a member's history does not
  start with the filter). A month not over at the data's last date is measured at that date and
  marked ``is_partial``. The move into the range's first month starts from the month end before
  it, so every month of the range has its migration.

Ladder and stage sizes, migrations and promotion / demotion rates are projections of one metric,
``ladder_transitions``: per month and (previous level, level, previous stage, stage) the number
of members, counted in numpy from integer arrays a few lean queries return (see the comment above
``_ladder_arrays``). ``engagement_ladder`` lists every member at every month end in SQL: the
definition written out, and the cross-check of the counts (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from metrics.options import GrainOptions, Options, opt
from metrics.periods import spine_cte, trunc
from metrics.registry import measure, projection
from metrics.source import Source

SECTION = "development"
LEVELS: tuple[str, ...] = ("Observer", "Explorer", "Participant", "Contributor", "Advocate")
STAGES: tuple[str, ...] = ("prospect", "customer", "repeat", "advocate")
NEW, LEFT = "(new)", "(left)"
UNITS: dict[str, float] = {"week": 7.0, "day": 1.0}


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LadderOptions(Options):
    grain: Literal["month"] = opt("month", "the ladder is measured at month ends")
    window_days: int = opt(30, "trailing window in days", lo=1, hi=366)
    explorer: int = opt(1, "active days for Explorer", lo=1, hi=366)
    participant: int = opt(2, "active days for Participant", lo=1, hi=366)
    contributor: int = opt(7, "active days for Contributor", lo=1, hi=366)
    advocate_actions: int = opt(3, "share/reply actions in the window that make a Contributor an Advocate",
                                lo=1, hi=100_000)
    advocate_action_types: tuple[str, ...] = opt(("reply", "share"), "actions counted for Advocate")

    def check(self) -> None:
        if not self.explorer <= self.participant <= self.contributor:
            raise ValueError("thresholds must satisfy explorer <= participant <= contributor")
        if not self.advocate_action_types:
            raise ValueError("advocate_action_types must name at least one action")

    def params(self) -> dict:
        return {"l_window": self.window_days, "l_explorer": self.explorer, "l_participant": self.participant,
                "l_contributor": self.contributor, "l_adv_n": self.advocate_actions,
                "l_adv_types": list(self.advocate_action_types)}


@dataclass(frozen=True)
class LadderMonth(LadderOptions):
    month: date | None = opt(None, "only this month (YYYY-MM or a date in it); default all months")


@dataclass(frozen=True)
class ClvOptions(Options):
    calibration_end: date | None = opt(None, "last day of the calibration period (default the range end or "
                                              "the last purchase)")
    unit: Literal["week", "day"] = opt("week", "the time unit of frequency / recency / T")
    horizon_months: int = opt(12, "months ahead for expected purchases and CLV", lo=1, hi=120)
    discount_rate: float = opt(0.10, "yearly discount rate for CLV", lo=0.0, hi=1.0)


# --------------------------------------------------------------------------------------------
# Shared SQL
# --------------------------------------------------------------------------------------------
def _crm_cte(src: Source) -> str:
    """`crm`: the CRM's non-employee members (segment filter applied); needs `mdim`."""
    return f"""crm AS (
        SELECT mk, member_id, joined_at, churned_at, referred_by FROM mdim
        WHERE NOT is_employee AND {src.segment_of('segment')})"""


def _states_sql(src: Source) -> str:
    """CTE chain ending in `states(period, as_of, is_partial, mk, active_days, share_reply,
    referrals, level, purchases, stage)`: every community member at every month end. Per-member
    facts (first / second purchase day, first referral) ride on `people` (one row per member) and
    the window counts are one keyed join: the big months x people join stays lean."""
    return f"""WITH {src.mdim()}, {src.purchases()}, {_crm_cte(src)},
    mdays AS ({src.day_actions()}),
    span AS (
        SELECT min(d0) AS d0, max(d1) AS d1 FROM (
          SELECT min(day) AS d0, max(day) AS d1 FROM mdays UNION ALL SELECT min(day), max(day) FROM purch)),
    bounds AS (
        SELECT coalesce(CAST($f_start AS DATE), d0) AS lo,
               least(coalesce(CAST($f_end_excl AS DATE) - 1, d1), d1) AS hi, d1 FROM span),
    months AS (
        SELECT period, least(CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE), hi) AS as_of,
               CAST(period + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) > d1 AS is_partial
        FROM (SELECT CAST(unnest(generate_series(date_trunc('month', lo), date_trunc('month', hi),
                                                 INTERVAL 1 MONTH)) AS DATE) AS period, hi, d1
              FROM bounds WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi)),
    win AS (
        SELECT m.period, d.mk, count(*) AS active_days, sum(d.sr) AS sr
        FROM months m JOIN mdays d ON d.day > m.as_of - $l_window AND d.day <= m.as_of
        GROUP BY 1, 2),
    refs AS (
        SELECT r.mk, m.joined_at FROM mdim m JOIN {src.dim} r ON r.member_id = m.referred_by
        WHERE m.joined_at IS NOT NULL AND NOT m.is_employee),
    ref_win AS (
        SELECT m.period, r.mk, count(*) AS n
        FROM months m JOIN refs r ON r.joined_at > m.as_of - $l_window AND r.joined_at <= m.as_of
        GROUP BY 1, 2),
    ref_first AS (SELECT mk, min(joined_at) AS first_ref FROM refs GROUP BY 1),
    buys AS (
        SELECT mk, min(day) AS first_buy, min(day) FILTER (WHERE rn = 2) AS second_buy
        FROM (SELECT mk, day, row_number() OVER (PARTITION BY mk ORDER BY day) AS rn FROM purch)
        WHERE rn <= 2 GROUP BY 1),
    seen AS (
        SELECT mk, min(d) AS first_day FROM (
          SELECT mk, day AS d FROM mdays UNION ALL SELECT mk, first_buy FROM buys)
        GROUP BY 1),
    people AS (
        SELECT mk, least(c.joined_at, s.first_day) AS since, c.churned_at, b.first_buy, b.second_buy, rf.first_ref
        FROM crm c FULL OUTER JOIN seen s USING (mk)
        LEFT JOIN buys b USING (mk) LEFT JOIN ref_first rf USING (mk)),
    wr AS (
        SELECT period, mk, sum(active_days) AS active_days, sum(sr) AS sr, sum(n) AS n FROM (
          SELECT period, mk, active_days, sr, 0 AS n FROM win
          UNION ALL SELECT period, mk, 0, 0, n FROM ref_win) GROUP BY 1, 2),
    lv AS (
        SELECT m.period, m.as_of, m.is_partial, p.mk,
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
        LEFT JOIN wr w ON w.period = m.period AND w.mk = p.mk),
    states AS (
        SELECT * EXCLUDE (has_referred),
               CASE WHEN purchases = 2 AND (level = 'Advocate' OR coalesce(has_referred, FALSE)) THEN 'advocate'
                    WHEN purchases = 2 THEN 'repeat' WHEN purchases = 1 THEN 'customer'
                    ELSE 'prospect' END AS stage
        FROM lv)"""


# --------------------------------------------------------------------------------------------
# Engagement ladder and customer stage
# --------------------------------------------------------------------------------------------
@measure("engagement_ladder",
         "Engagement level of every community member at each month end (Observer 0 / Explorer 1 / "
         "Participant 2-6 / Contributor >= 7 active days in the trailing 30 days; Advocate = Contributor "
         "with a referral or >= 3 share/reply actions) and the customer stage (prospect / customer / "
         "repeat / advocate)", "members", SECTION, options=LadderMonth, reads=("events", "purchases", "mdim"))
def engagement_ladder(src: Source, o: LadderMonth) -> pd.DataFrame:
    """Columns period, as_of, is_partial, member_id, active_days, share_reply, referrals, level,
    purchases (0, 1, 2 = two or more), stage; ordered by period, member_id."""
    sql = _states_sql(src) + f""", {src.ids()}
        SELECT s.period, s.as_of, s.is_partial, x.member_id, s.active_days, s.share_reply, s.referrals, s.level,
               s.purchases, s.stage
        FROM states s JOIN ids x USING (mk)
        WHERE CAST($only AS DATE) IS NULL OR s.period = CAST($only AS DATE) ORDER BY s.period, x.member_id"""
    only = o.month.replace(day=1) if o.month else None
    return src.run(sql, **o.params(), only=only)


# The month-end states in bulk. `engagement_ladder` lists every member at every month end with the
# SQL above. `ladder_transitions` only needs counts, so it never builds the member x month rows in
# SQL: a few lean queries fetch per-member facts and the active days as integer arrays (member key,
# day number), and numpy walks the months with one vector over the members per month (trailing-
# window counts by bincount over each window's rows, `_Windows`; level and stage codes by
# arithmetic; the move counts by bincount of (previous state, state) codes). Members are keyed by
# the integer `member_dim.mk` (member_dim covers every id of the interactions and transactions).
_NEVER = 2**30  # day number for a missing date: after every month end
_DAY0 = date(1970, 1, 1)


def _dayno(expr: str) -> str:
    """SQL: the date ``expr`` as days since 1970-01-01 (INTEGER), ``_NEVER`` when NULL."""
    return f"coalesce(CAST(CAST({expr} AS DATE) - DATE '1970-01-01' AS INTEGER), {_NEVER})"


class _Windows:
    """Rows (day, slot[, weight]) arranged so that each month's trailing window (as_of - w, as_of]
    is one contiguous slice; ``count(t)`` = per slot, the rows (or the weights) in month t's window.
    The rows are grouped by which of the window edges they fall between: a stable radix sort on a
    small integer key (the derived tables keep no particular row order), skipped when already by day."""

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


def _ladder_arrays(src: Source, o: LadderOptions) -> dict:
    """Integer arrays for the month-end states (see above). Members are slots 0..size-1 (slot =
    mk; slot 0 and the keys of members outside the filters never enter the community)."""
    p = o.params()
    mem = src.numpy(f"""SELECT mk, NOT is_employee AND coalesce({src.segment_of('segment')}, FALSE) AS ok, in_crm,
               {_dayno('joined_at')} AS joined, {_dayno('churned_at')} AS churned FROM {src.dim}""")
    buy = src.numpy(f"WITH {src.purchases()} SELECT mk, {_dayno('day')} AS day FROM purch")
    ref = src.numpy(f"""SELECT r.mk, {_dayno('m.joined_at')} AS day
        FROM {src.dim} m JOIN {src.dim} r ON r.member_id = m.referred_by
        WHERE m.in_crm AND NOT m.is_employee AND m.joined_at IS NOT NULL""")
    act = src.numpy(f"SELECT mk, {_dayno('day')} AS day FROM ({src.active_days()})")
    sr = src.numpy(f"SELECT mk, {_dayno('day')} AS day, n FROM ({src.action_days()})", **p)

    size = int(mem["mk"].max()) + 1 if len(mem["mk"]) else 1
    ok = np.zeros(size, bool)
    ok[mem["mk"]] = mem["ok"]
    crm = mem["in_crm"] & ok[mem["mk"]]
    joined = np.full(size, _NEVER, np.int32)
    churned = np.full(size, _NEVER, np.int32)
    joined[mem["mk"][crm]] = mem["joined"][crm]
    churned[mem["mk"][crm]] = mem["churned"][crm]

    # Employees are excluded by the queries; members outside the segment filter here.
    def kept(slot: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
        slot = slot.astype(np.int64)
        if not src.f.segments:
            return (slot, *cols)
        keep = ok[slot]
        return (slot[keep], *(c[keep] for c in cols))

    bslot, bday = kept(buy["mk"], buy["day"].astype(np.int32))
    first_buy = np.full(size, _NEVER, np.int32)
    np.minimum.at(first_buy, bslot, bday)
    later = bday > first_buy[bslot]
    second_buy = np.full(size, _NEVER, np.int32)
    np.minimum.at(second_buy, bslot[later], bday[later])

    ref_slot, ref_day = ref["mk"].astype(np.int64), ref["day"].astype(np.int32)
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


def _month_ends(src: Source, d0: int | None, d1: int | None) -> list[tuple[date, date, bool | None]]:
    """(period, as_of, is_partial) per month of the range (d0 / d1 = the data's first / last day;
    NULL-skipping least as in SQL)."""
    first = _DAY0 + timedelta(days=d0) if d0 is not None else None
    last = _DAY0 + timedelta(days=d1) if d1 is not None else None
    lo = src.f.start if src.f.start is not None else first
    his = [h for h in (src.f.end, last) if h is not None]
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


@measure("ladder_transitions",
         "Per month end: members by (from_level, level, from_stage, stage), from the month end before: "
         "the engagement ladder's and customer stages' sizes and moves in one table", "members", SECTION,
         options=LadderOptions, reads=("member_days", "events", "purchases", "mdim"))
def ladder_transitions(src: Source, o: LadderOptions) -> pd.DataFrame:
    """Per month: members by (from_level, level, from_stage, stage); ``from_*`` is the state at the
    month end before (``(new)`` when not in the community then); rows with level ``(left)`` count
    members who left the community. Columns period, as_of, is_partial, from_level, level,
    from_stage, stage, members; ordered by period, from_level, level, from_stage, stage. The same
    counts as grouping the ``engagement_ladder`` rows of consecutive month ends (the tests check)."""
    x = _ladder_arrays(src, o)
    months = _month_ends(src, x["d0"], x["d1"])
    size = x["size"]
    steps = (o.explorer, o.participant, o.contributor)
    ends = [(m[1] - _DAY0).days for m in months]
    if months:  # the month end before the first month: where the first month's moves start from
        ends = [(months[0][0] - _DAY0).days - 1, *ends]
    ends = np.array(ends, np.int64)
    act, sr, ref = (_Windows(*x[k][:2], ends, o.window_days, size, *x[k][2:]) for k in ("act", "sr", "ref"))

    counts = np.zeros((len(months), _NCODE * _NCODE), np.int64)
    prev = np.full(size, _NEW_CODE, np.int16)
    for t, a in enumerate(ends):
        days = act.count(t)
        top = days >= steps[2]
        level = (days >= steps[0]).astype(np.int16) + (days >= steps[1]) + top
        if top.any():
            adv = top & ((ref.count(t) > 0) | (sr.count(t) >= o.advocate_actions))
            level += adv
        else:
            adv = top
        bought = (x["first_buy"] <= a).astype(np.int16) + (x["second_buy"] <= a)
        stage = bought + ((bought == 2) & (adv | (x["first_ref"] <= a)))
        inside = (x["since"] <= a) & (x["churned"] > a)
        now = np.where(inside, level * 4 + stage, _LEFT_CODE).astype(np.int16)
        if t > 0:
            counts[t - 1] = np.bincount(prev.astype(np.int64) * _NCODE + now, minlength=_NCODE * _NCODE)
        prev = np.where(inside, now, _NEW_CODE).astype(np.int16)
    counts[:, _NEW_CODE * _NCODE + _LEFT_CODE] = 0  # in neither month

    t, code = np.nonzero(counts)
    order = np.lexsort((_PAIR_RANK[code], t))  # ORDER BY period, from_level, level, ...
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
    For every period, the rows of ``from_<kind>`` = L sum to the number at L the month end before
    (``(left)`` included); the rows of ``to_<kind>`` = L sum to the number at L now."""
    names = LEVELS if kind == "level" else STAGES
    src = "from_level" if kind == "level" else "from_stage"
    out = trans.groupby(["period", src, kind], as_index=False)["members"].sum()
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


def _ladder_projection(name: str, description: str, make, unit: str = "members", **kw) -> None:
    projection(name, description, unit, SECTION, parent="ladder_transitions", options=LadderOptions, **kw)(
        lambda frame, o: make(frame))


_ladder_projection("ladder_sizes", "Members per engagement level at each month end (gaps filled)",
                   lambda t: sizes_from(t, "level"))
_ladder_projection("ladder_migration", "Month-to-month migration matrix between engagement levels "
                   "((new) = joined the community, (left) = left it)", lambda t: migration_from(t, "level"))
_ladder_projection("ladder_rates", "Promotion and demotion rate per engagement level and month",
                   lambda t: rates_from(migration_from(t, "level"), "level"), unit="ratio")
_ladder_projection("stage_sizes", "Members per customer stage (prospect / customer / repeat / advocate) at "
                   "each month end", lambda t: sizes_from(t, "stage"))
_ladder_projection("stage_movement", "Month-to-month movement matrix between customer stages",
                   lambda t: migration_from(t, "stage"))
_ladder_projection("stage_rates", "Share of each customer stage that moved up (or down) a stage per month",
                   lambda t: rates_from(migration_from(t, "stage"), "stage"), unit="ratio")


@projection("promotion_rate", "Share of the community that moved up at least one engagement level from the "
            "month end before to this one", "share", SECTION, parent="ladder_transitions",
            options=LadderOptions, per_period=True)
def promotion_rate(trans: pd.DataFrame, o: LadderOptions) -> pd.DataFrame:
    """Columns period, value, is_partial (the 'all' row of the ladder's rates)."""
    rates = rates_from(migration_from(trans, "level"), "level")
    rates = rates[rates["level"] == "all"][["period", "promotion_rate"]].rename(columns={"promotion_rate": "value"})
    months = trans[["period", "is_partial"]].drop_duplicates()
    return months.merge(rates, on="period", how="left")[["period", "value", "is_partial"]].reset_index(drop=True)


@measure("lifecycle_stage_distribution", "The CRM's own lifecycle_stage as given: members per value "
         "(non-employees, segment filter applied); empty when the column is not filled", "members", SECTION,
         reads=("mdim",))
def lifecycle_stage_distribution(src: Source, o: Options) -> pd.DataFrame:
    sql = f"""
        WITH {src.mdim()}, m AS (SELECT lifecycle_stage FROM mdim WHERE NOT is_employee AND {src.segment_of('segment')}),
        g AS (SELECT coalesce(lifecycle_stage, '(none)') AS lifecycle_stage, count(*) AS members FROM m GROUP BY 1)
        SELECT lifecycle_stage, members, members / sum(members) OVER () AS share
        FROM g WHERE (SELECT count(lifecycle_stage) FROM m) > 0
        ORDER BY members DESC, lifecycle_stage"""
    return src.run(sql)


# --------------------------------------------------------------------------------------------
# Value development
# --------------------------------------------------------------------------------------------
@measure("value_curves",
         "Per first-purchase cohort (month) and months since first purchase: net revenue, cumulative "
         "revenue per cohort member and net revenue retention (revenue in month k / revenue in month 0)",
         "currency per member", SECTION, reads=("purchases",), financial=True)
def value_curves(src: Source, o: Options) -> pd.DataFrame:
    """Cohorts: members whose first-ever purchase falls in the date range; revenue up to the range
    end. Columns cohort, cohort_size, months_since, buyers, revenue, cumulative_revenue_per_member,
    net_revenue_retention, is_partial."""
    # Per member and month (first purchase day, net revenue): cohort members' first purchase is
    # never after lim.hi, so limiting the days to lim.hi loses no cohort.
    sql = f"""WITH {src.purchases()},
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
    return src.run(sql)


@measure("value_over_time",
         "Per period: buyers, purchases (purchase days), net revenue, purchase frequency (purchases / "
         "buyers), average order value (purchase value / purchases) and the repeat purchase rate (members "
         "with >= 2 purchases ever / members with >= 1, at period end)", "mixed", SECTION,
         options=GrainOptions, reads=("purchases",), financial=True)
def value_over_time(src: Source, o: GrainOptions) -> pd.DataFrame:
    g = o.grain
    sql = f"""WITH {src.purchases()},
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
    out = src.run(sql)
    for col in ("buyers", "purchases"):
        out[col] = out[col].astype("int64")
    return out


@measure("value_summary",
         "Over the date range: customers, repeat customers (>= 2 purchase days in the range), repeat "
         "purchase rate, purchases, purchase frequency, net revenue, average order value, revenue per customer",
         "mixed", SECTION, reads=("purchases",), financial=True)
def value_summary(src: Source, o: Options) -> pd.DataFrame:
    # One pass over the purchase days per member (every member in `rev` has a row in `per`).
    sql = f"""WITH {src.purchases(use_dates=True)},
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
    return src.run(sql)


def _buyer_units(src: Source, o: Options) -> str:
    return f"""WITH {src.purchases(use_dates=True)}
        SELECT mk, CASE WHEN count(*) >= 2 THEN 1 ELSE 0 END AS v FROM purch GROUP BY 1"""


@measure("repeat_purchase",
         "Of the members who bought in the period (purchase days, same-day lines merged), the share who "
         "bought on 2 or more days in it", "share", SECTION, label="repeat buyers", options=GrainOptions, per_period=True,
         reads=("purchases",), units=_buyer_units, kind="proportion", unit_of_analysis="buyer")
def repeat_purchase(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns period, buyers, repeat_buyers, value."""
    g = o.grain
    sql = f"""WITH {src.purchases(use_dates=True)},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(day)) AS lo,
                      coalesce(CAST($f_end_excl AS DATE) - 1, max(day)) AS hi FROM pday),
    {spine_cte(g)},
    per AS (SELECT {trunc(g, 'day')} AS period, mk, count(*) AS n FROM purch GROUP BY 1, 2),
    agg AS (SELECT period, count(*) AS buyers, count(*) FILTER (WHERE n >= 2) AS repeat_buyers FROM per GROUP BY 1)
    SELECT s.period, coalesce(a.buyers, 0)::BIGINT AS buyers, coalesce(a.repeat_buyers, 0)::BIGINT AS repeat_buyers,
           a.repeat_buyers / nullif(a.buyers, 0) AS value
    FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    return src.run(sql)


def _revenue_units(src: Source, o: Options) -> str:
    from metrics.participation import _in_community_at_end

    return f"""WITH {src.community()}, {src.purchases(use_dates=True)},
        r AS (SELECT mk, sum(amount) AS revenue FROM rev GROUP BY 1)
        SELECT c.mk, coalesce(r.revenue, 0)::DOUBLE AS v FROM community c LEFT JOIN r USING (mk)
        WHERE {_in_community_at_end()}"""


@measure("revenue_per_member",
         "Net revenue (refunds included) of the community in the period per community member at period end "
         "(members without purchases count as 0)", "currency per member", SECTION, label="revenue per member", options=GrainOptions,
         per_period=True, reads=("purchases", "community"), units=_revenue_units, financial=True)
def revenue_per_member(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns period, revenue, community_size, value."""
    from metrics.participation import _SIZE, _period_end

    g = o.grain
    sql = f"""WITH {src.community()}, {src.purchases(use_dates=True)},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(day)) AS lo,
                      coalesce(CAST($f_end_excl AS DATE) - 1, max(day)) AS hi FROM pday),
    {spine_cte(g)},
    ends AS (SELECT s.period, {_period_end(g)} AS period_end FROM spine s, bounds b),
    rv AS (SELECT {trunc(g, 'r.day')} AS period, r.mk, sum(r.amount) AS amount FROM rev r GROUP BY 1, 2),
    rp AS (SELECT v.period, sum(v.amount) AS revenue FROM rv v JOIN ends e USING (period) JOIN community c USING (mk)
           WHERE (c.joined IS NULL OR c.joined <= e.period_end) AND (c.churned IS NULL OR c.churned > e.period_end)
           GROUP BY 1),
    {_SIZE}
    SELECT e.period, coalesce(rp.revenue, 0) AS revenue, coalesce(size.n, 0)::BIGINT AS community_size,
           coalesce(rp.revenue, 0) / nullif(coalesce(size.n, 0), 0) AS value
    FROM ends e LEFT JOIN rp USING (period) LEFT JOIN size USING (period) ORDER BY e.period"""
    return src.run(sql)


# --------------------------------------------------------------------------------------------
# Participation and value
# --------------------------------------------------------------------------------------------
@measure("participation_value",
         "Among the CRM members in the community at the range end (handles not in the CRM cannot be "
         "matched to purchases and are left out): participants (>= 1 activity in the range) vs "
         "non-participants: members, buyers, repeat buyers, repeat purchase rate (repeat buyers / "
         "buyers), net revenue and revenue per member (purchases in the range)", "mixed", SECTION,
         reads=("member_totals", "purchases", "community"), financial=True)
def participation_value(src: Source, o: Options) -> pd.DataFrame:
    sql = f"""WITH {src.member_totals()}, {src.purchases(use_dates=True)}, {src.community()}, {src.mdim()},
    lim AS (SELECT coalesce(CAST($f_end_excl AS DATE) - 1, DATE '9999-12-31') AS hi),
    -- Per member from the days: a buyer has a first purchase day, a repeat buyer a later one too.
    buy AS (SELECT mk, min(day) FILTER (WHERE is_purchase) AS first_day,
                   max(day) FILTER (WHERE is_purchase) AS last_day, sum(net) AS revenue FROM pday GROUP BY 1),
    members AS (
        SELECT c.mk FROM community c, lim
        WHERE (c.joined IS NULL OR c.joined <= lim.hi) AND (c.churned IS NULL OR c.churned > lim.hi)
          AND c.mk IN (SELECT mk FROM mdim)),
    g AS (
        SELECT CASE WHEN a.mk IS NOT NULL THEN 'participants' ELSE 'non-participants' END AS "group",
               count(*) AS members, count(b.first_day) AS buyers,
               count(*) FILTER (WHERE b.last_day > b.first_day) AS repeat_buyers, coalesce(sum(b.revenue), 0) AS revenue
        FROM members c LEFT JOIN mt a USING (mk) LEFT JOIN buy b USING (mk) GROUP BY 1),
    grid AS (SELECT unnest(['participants', 'non-participants']) AS "group", generate_subscripts(['a', 'b'], 1) AS o)
    SELECT grid."group", coalesce(g.members, 0) AS members, coalesce(g.buyers, 0) AS buyers,
           coalesce(g.repeat_buyers, 0) AS repeat_buyers,
           g.buyers / nullif(g.members, 0) AS buyer_rate,
           g.repeat_buyers / nullif(g.buyers, 0) AS repeat_purchase_rate,
           coalesce(g.revenue, 0) AS revenue,
           g.revenue / nullif(g.members, 0) AS revenue_per_member
    FROM grid LEFT JOIN g USING ("group") ORDER BY grid.o"""
    out = src.run(sql)
    for col in ("members", "buyers", "repeat_buyers"):
        out[col] = out[col].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Referrals
# --------------------------------------------------------------------------------------------
def _referral_base(src: Source) -> str:
    return f"""
    base AS (SELECT member_id, joined_at, referred_by FROM mdim WHERE NOT is_employee AND {src.segment_of('segment')}),
    new AS (SELECT * FROM base WHERE joined_at IS NOT NULL
              AND ($f_start IS NULL OR joined_at >= $f_start) AND ($f_end_excl IS NULL OR joined_at < $f_end_excl))"""


# `depth(member_id, depth)` for the members referred by a member in `base` (`linked`): how far
# down a referral chain they are (1 = referred by a non-referred member, ...); every other member
# is at depth 0. The recursion walks the linked members only (a tenth of the base), from the ones
# whose referrer is not linked; capped at 100 links. Members in a referral cycle are never reached:
# they have no depth and are left out.
_REFERRAL_DEPTH = """linked AS (SELECT member_id, referred_by FROM base WHERE referred_by IN (SELECT member_id FROM base)),
    chain(member_id, depth) AS (
        SELECT member_id, 1 FROM linked WHERE referred_by NOT IN (SELECT member_id FROM linked)
        UNION ALL
        SELECT l.member_id, c.depth + 1 FROM linked l JOIN chain c ON l.referred_by = c.member_id
        WHERE c.depth < 100),
    depth AS (SELECT member_id, max(depth) AS depth FROM chain GROUP BY 1)"""


@measure("referral_share",
         "Per period: new members (joined_at in the period), of whom referred (referred_by set), and the share referred",
         "ratio", SECTION, options=GrainOptions, reads=("mdim",))
def referral_share(src: Source, o: GrainOptions) -> pd.DataFrame:
    g = o.grain
    sql = f"""WITH {src.mdim()}, {_referral_base(src)},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(joined_at)) AS lo,
                   coalesce(CAST($f_end_excl AS DATE) - 1, max(joined_at)) AS hi FROM new),
    {spine_cte(g)},
    agg AS (SELECT {trunc(g, 'joined_at')} AS period, count(*) AS new_members,
                   count(referred_by) AS referred FROM new GROUP BY 1)
    SELECT s.period, coalesce(a.new_members, 0) AS new_members, coalesce(a.referred, 0) AS referred,
           a.referred / nullif(a.new_members, 0) AS share_referred
    FROM spine s LEFT JOIN agg a USING (period) ORDER BY s.period"""
    out = src.run(sql)
    for col in ("new_members", "referred"):
        out[col] = out[col].astype("int64")
    return out


@measure("referral_summary",
         "Among members who joined in the range: new members, referred, share referred, referrers, "
         "referrals per referrer, the longest referral chain and members in chains (referred by someone "
         "who was referred)", "mixed", SECTION, reads=("mdim",))
def referral_summary(src: Source, o: Options) -> pd.DataFrame:
    sql = f"""WITH RECURSIVE {src.mdim()}, {_referral_base(src)}, {_REFERRAL_DEPTH}
    SELECT count(*) AS new_members, count(referred_by) AS referred,
           count(referred_by) / nullif(count(*), 0) AS share_referred,
           count(DISTINCT referred_by) AS referrers,
           count(referred_by) / nullif(count(DISTINCT referred_by), 0) AS referrals_per_referrer,
           (SELECT coalesce(max(d.depth), 0) FROM new JOIN depth d USING (member_id)) AS longest_chain,
           (SELECT count(*) FROM new JOIN depth d USING (member_id) WHERE d.depth >= 2) AS members_in_chains
    FROM new"""
    return src.run(sql)


@measure("referral_chains",
         "Members who joined in the range by referral depth (0 = not referred, 1 = referred by a "
         "non-referred member, 2 = referred by a referred member, ...)", "members", SECTION, reads=("mdim",))
def referral_chains(src: Source, o: Options) -> pd.DataFrame:
    sql = f"""WITH RECURSIVE {src.mdim()}, {_referral_base(src)}, {_REFERRAL_DEPTH}
    SELECT 0 AS depth, count(*) AS members FROM new WHERE member_id NOT IN (SELECT member_id FROM linked)
    HAVING count(*) > 0
    UNION ALL SELECT d.depth, count(*) FROM new JOIN depth d USING (member_id) GROUP BY 1
    ORDER BY 1"""
    return src.run(sql)


# --------------------------------------------------------------------------------------------
# Customer lifetime value
# --------------------------------------------------------------------------------------------
def rfm(src: Source, calibration_end: date | None = None, unit: str = "week") -> pd.DataFrame:
    """Per customer with a purchase in [range start, calibration end]: frequency (repeat purchase
    days), recency and T (in ``unit``s from the first purchase to the last one / to the calibration
    end) and monetary_value (mean value of the repeat purchase days; 0 without repeats).
    Same-day purchases are merged. Columns member_id, first_purchase, frequency, recency, T,
    monetary_value; ordered by member_id."""
    end = calibration_end
    if end is None:
        end = src.rows(f"WITH {src.purchases(use_dates=True)} SELECT max(day) FROM purch")[0][0]
    if end is None:
        return pd.DataFrame({"member_id": pd.Series(dtype="str"), "first_purchase": pd.Series(dtype="datetime64[us]"),
                             **{c: pd.Series(dtype="float64") for c in ("frequency", "recency", "T", "monetary_value")}})
    sql = f"""WITH {src.ids()}, {src.purchases(use_dates=True, end_param='cal_end_excl')},
    f AS (SELECT mk, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
                 sum(amount) AS total, arg_min(amount, day) AS first_amount FROM purch GROUP BY 1)
    SELECT d.member_id, first_day AS first_purchase, frequency::DOUBLE AS frequency,
           datediff('day', first_day, last_day) / $unit_days AS recency,
           datediff('day', first_day, CAST($cal_end AS DATE)) / $unit_days AS T,
           CASE WHEN frequency > 0 THEN (total - first_amount) / frequency ELSE 0 END AS monetary_value
    FROM f JOIN ids d USING (mk) ORDER BY d.member_id"""
    return src.run(sql, cal_end=end, cal_end_excl=end + timedelta(days=1), unit_days=UNITS[unit])


@measure("customer_lifetime_value",
         "Per customer: frequency / recency / T, P(alive) and expected purchases (BG/NBD), expected "
         "average value (Gamma-Gamma) and discounted CLV over the horizon; highest CLV first", "currency",
         SECTION, options=ClvOptions, reads=("purchases",), financial=True)
def customer_lifetime_value(src: Source, o: ClvOptions) -> pd.DataFrame:
    """Fit BG/NBD and Gamma-Gamma on the range's purchases. The frame lists the customers (rfm
    columns, p_alive, expected_purchases in the horizon, expected_average_value, clv; by clv
    descending); ``attrs`` carries ``parameters`` (model, parameter, value) and ``error`` (None
    or why there is no fit)."""
    from metrics import clv as clvm  # scipy.optimize / special load when a fit is asked for, not at start

    frame = rfm(src, o.calibration_end, o.unit)
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
    step = 30.4375 / UNITS[o.unit]
    if bg.ok:
        out["p_alive"] = clvm.p_alive(bg, x, tx, T)
        out["expected_purchases"] = clvm.expected_purchases(bg, o.horizon_months * step, x, tx, T)
    else:
        out["p_alive"] = np.nan
        out["expected_purchases"] = np.nan
    if bg.ok and gg.ok:
        out["expected_average_value"] = clvm.expected_average_value(gg, x, m)
        monthly = (1 + o.discount_rate) ** (1 / 12) - 1
        out["clv"] = clvm.clv(bg, gg, x, tx, T, m, horizon_steps=o.horizon_months, step=step, discount_rate=monthly)
        out = out.sort_values(["clv", "member_id"], ascending=[False, True]).reset_index(drop=True)
    else:
        out["expected_average_value"] = np.nan
        out["clv"] = np.nan
    out.attrs = {"parameters": params, "error": bg.error or gg.error}
    return out


@projection("clv_parameters", "Fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) parameters "
            "with their log-likelihoods", "parameters", SECTION, parent="customer_lifetime_value",
            options=ClvOptions, higher_is_better=None)
def clv_parameters(frame: pd.DataFrame, o: ClvOptions) -> pd.DataFrame:
    return frame.attrs["parameters"]
