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

Ladder and stage sizes, migrations and promotion / demotion rates all derive from one grouped
query (``transitions``): per month and (previous level, level, previous stage, stage) the number
of members. ``(new)`` = not in the community the month before, ``(left)`` = no longer in it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from metrics import clv as clvm
from metrics.filters import Filters, activity_cte, check_grain
from metrics.periods import spine_cte, trunc
from metrics.registry import register

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
_NON_EMPLOYEE = "member_id NOT IN (SELECT member_id FROM members_current WHERE is_employee)"
_SEGMENT = ("(len($f_segments) = 0 OR {col} IN "
            "(SELECT member_id FROM members_current WHERE list_contains($f_segments, segment)))")


def _purchases_cte(*, use_dates: bool = False, end_param: str | None = None) -> str:
    """`purch(member_id, day, amount)`: purchase days (non-refund lines merged per day);
    `rev(member_id, day, amount)`: net revenue per member and day (refund lines included)."""
    conds = [
        "t.member_id IS NOT NULL",
        f"t.{_NON_EMPLOYEE}",
        _SEGMENT.format(col="t.member_id"),
    ]
    if use_dates:
        conds += ["($f_start IS NULL OR t.occurred_at >= $f_start)",
                  "($f_end_excl IS NULL OR t.occurred_at < $f_end_excl)"]
    if end_param:
        conds.append(f"t.occurred_at < ${end_param}")
    where = " AND ".join(conds)
    return f"""tx AS (
        SELECT t.member_id, t.occurred_at::DATE AS day, t.amount::DOUBLE AS amount,
               coalesce(t.is_refund, FALSE) OR coalesce(t.amount, 0) < 0 AS refund
        FROM transactions t WHERE {where}),
    purch AS (SELECT member_id, day, sum(amount) AS amount FROM tx WHERE NOT refund GROUP BY 1, 2),
    rev AS (SELECT member_id, day, sum(amount) AS amount FROM tx GROUP BY 1, 2)"""


def _crm_cte() -> str:
    return """crm AS (
        SELECT member_id, joined_at::DATE AS joined_at, churned_at::DATE AS churned_at, referred_by
        FROM members_current
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


def _states_sql() -> str:
    """CTE chain ending in `states(period, as_of, is_partial, member_id, active_days,
    share_reply, referrals, level, purchases, stage)`: every community member at every month end.
    Per-member facts (first / second purchase day, first referral) ride on `people` (one row per
    member) and the window counts are one keyed join: the big months x people join stays lean."""
    return f"""WITH {activity_cte(use_dates=False)}, {_purchases_cte()}, {_crm_cte()}, {_months_cte()},
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
        FROM (SELECT member_id, day, row_number() OVER (PARTITION BY member_id ORDER BY day) AS rn FROM purch)
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
    sql = _states_sql() + """
        SELECT * FROM states WHERE $only IS NULL OR period = $only ORDER BY period, member_id"""
    return _run(cur, sql, params)


def transitions(cur: duckdb.DuckDBPyConnection, filters: Filters, **options) -> pd.DataFrame:
    """Per month: members by (from_level, level, from_stage, stage); ``from_*`` is the state at
    the previous month end of the range, ``(new)`` when not in the community then (every member in
    the first month); rows with level ``(left)`` count members who left the community. Columns
    period, as_of, is_partial, from_level, level, from_stage, stage, members."""
    params = _params(filters, **ladder_params(**options))
    sql = _states_sql() + """,
    prev AS (SELECT period, lead(period) OVER (ORDER BY period) AS next FROM months),
    cur AS (SELECT member_id, period, level, stage FROM states),
    prv AS (SELECT s.member_id, p.next AS period, s.level, s.stage
            FROM states s JOIN prev p USING (period) WHERE p.next IS NOT NULL),
    moves AS (
        SELECT coalesce(c.period, v.period) AS period, coalesce(v.level, $new) AS from_level,
               coalesce(c.level, $left) AS level, coalesce(v.stage, $new) AS from_stage,
               coalesce(c.stage, $left) AS stage, count(*) AS members
        FROM cur c FULL OUTER JOIN prv v ON c.member_id = v.member_id AND c.period = v.period
        GROUP BY ALL)
    SELECT m.period, m.as_of, m.is_partial, x.from_level, x.level, x.from_stage, x.stage, x.members
    FROM moves x JOIN months m USING (period)
    ORDER BY m.period, x.from_level, x.level, x.from_stage, x.stage"""
    return _run(cur, sql, {**params, "new": NEW, "left": LEFT})


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
    sql = """
        WITH m AS (SELECT lifecycle_stage FROM members_current
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
    sql = f"""WITH {_purchases_cte()},
    firsts AS (SELECT member_id, min(day) AS first_day FROM purch GROUP BY 1),
    coh AS (SELECT member_id, CAST(date_trunc('month', first_day) AS DATE) AS cohort FROM firsts
            WHERE ($f_start IS NULL OR first_day >= $f_start) AND ($f_end_excl IS NULL OR first_day < $f_end_excl)),
    sizes AS (SELECT cohort, count(*) AS n FROM coh GROUP BY 1),
    lim AS (SELECT max(day) AS data_hi, least(coalesce(CAST($f_end_excl AS DATE) - 1, max(day)), max(day)) AS hi FROM rev),
    r AS (SELECT c.cohort, datediff('month', c.cohort, date_trunc('month', v.day)) AS k,
                 sum(v.amount) AS revenue, count(DISTINCT v.member_id) AS buyers
          FROM coh c JOIN rev v USING (member_id), lim
          WHERE v.day <= lim.hi GROUP BY 1, 2),
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
    sql = f"""WITH {_purchases_cte()},
    bounds AS (SELECT coalesce(CAST($f_start AS DATE), min(day)) AS lo,
                   least(coalesce(CAST($f_end_excl AS DATE) - 1, max(day)), max(day)) AS hi FROM rev),
    {spine_cte(g)},
    p AS (SELECT {trunc(g, 'day')} AS period, count(DISTINCT member_id) AS buyers, count(*) AS purchases,
                 sum(amount) AS purchase_value FROM purch, bounds WHERE day BETWEEN bounds.lo AND bounds.hi GROUP BY 1),
    v AS (SELECT {trunc(g, 'day')} AS period, sum(amount) AS revenue FROM rev, bounds
          WHERE day BETWEEN bounds.lo AND bounds.hi GROUP BY 1),
    nth AS (SELECT member_id, day, row_number() OVER (PARTITION BY member_id ORDER BY day) AS rn FROM purch),
    firsts AS (SELECT {trunc(g, 'day')} AS period, count(*) FILTER (WHERE rn = 1) AS new_customers,
                      count(*) FILTER (WHERE rn = 2) AS new_repeat FROM nth WHERE rn <= 2 GROUP BY 1),
    cum AS (SELECT period, sum(new_customers) OVER w AS customers, sum(new_repeat) OVER w AS repeaters
            FROM (SELECT s.period, coalesce(f.new_customers, 0) AS new_customers, coalesce(f.new_repeat, 0) AS new_repeat
                  FROM (SELECT period FROM spine UNION SELECT period FROM firsts) s LEFT JOIN firsts f USING (period))
            WINDOW w AS (ORDER BY period))
    SELECT s.period, coalesce(p.buyers, 0) AS buyers, coalesce(p.purchases, 0) AS purchases,
           coalesce(v.revenue, 0) AS revenue,
           p.purchases / nullif(p.buyers, 0) AS purchase_frequency,
           p.purchase_value / nullif(p.purchases, 0) AS average_order_value,
           c.repeaters / nullif(c.customers, 0) AS repeat_purchase_rate
    FROM spine s LEFT JOIN p USING (period) LEFT JOIN v USING (period) LEFT JOIN cum c USING (period)
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
    sql = f"""WITH {_purchases_cte(use_dates=True)},
    per AS (SELECT member_id, count(*) AS n, sum(amount) AS value FROM purch GROUP BY 1)
    SELECT (SELECT count(*) FROM per) AS customers,
           (SELECT count(*) FROM per WHERE n >= 2) AS repeat_customers,
           (SELECT count(*) FROM per WHERE n >= 2) / nullif((SELECT count(*) FROM per), 0) AS repeat_purchase_rate,
           (SELECT count(*) FROM purch) AS purchases,
           (SELECT count(*) FROM purch) / nullif((SELECT count(*) FROM per), 0) AS purchase_frequency,
           (SELECT coalesce(sum(amount), 0) FROM rev) AS revenue,
           (SELECT sum(amount) FROM purch) / nullif((SELECT count(*) FROM purch), 0) AS average_order_value,
           (SELECT sum(amount) FROM rev) / nullif((SELECT count(DISTINCT member_id) FROM rev), 0) AS revenue_per_customer"""
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
    sql = f"""WITH {activity_cte(use_dates=True)}, {_purchases_cte(use_dates=True)}, {_crm_cte()},
    lim AS (SELECT coalesce(CAST($f_end_excl AS DATE) - 1, DATE '9999-12-31') AS hi),
    active AS (SELECT DISTINCT member_id FROM activity),
    community AS (
        SELECT member_id FROM crm, lim
        WHERE (joined_at IS NULL OR joined_at <= lim.hi) AND (churned_at IS NULL OR churned_at > lim.hi)
        UNION SELECT member_id FROM active
        UNION SELECT member_id FROM rev),
    per AS (SELECT member_id, count(*) AS n FROM purch GROUP BY 1),
    money AS (SELECT member_id, sum(amount) AS revenue FROM rev GROUP BY 1),
    g AS (
        SELECT CASE WHEN a.member_id IS NOT NULL THEN 'participants' ELSE 'non-participants' END AS "group",
               count(*) AS members, count(p.member_id) AS buyers, count(*) FILTER (WHERE p.n >= 2) AS repeat_buyers,
               coalesce(sum(m.revenue), 0) AS revenue
        FROM community c LEFT JOIN active a USING (member_id) LEFT JOIN per p USING (member_id)
        LEFT JOIN money m USING (member_id) GROUP BY 1),
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
    base AS (SELECT member_id, joined_at::DATE AS joined_at, referred_by FROM members_current
             WHERE NOT coalesce(is_employee, FALSE)
               AND (len($f_segments) = 0 OR list_contains($f_segments, segment))),
    new AS (SELECT * FROM base WHERE joined_at IS NOT NULL
              AND ($f_start IS NULL OR joined_at >= $f_start) AND ($f_end_excl IS NULL OR joined_at < $f_end_excl))"""


# `depth(member_id, depth)`: how far down a referral chain each member is (0 = not referred by
# a member in the data); capped at 100 links so a cycle in the CRM data cannot run forever.
_REFERRAL_DEPTH = """chain(member_id, depth) AS (
        SELECT member_id, 0 FROM base WHERE referred_by IS NULL OR referred_by NOT IN (SELECT member_id FROM base)
        UNION ALL
        SELECT b.member_id, c.depth + 1 FROM base b JOIN chain c ON b.referred_by = c.member_id
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
    sql = f"""WITH {_REFERRAL_BASE},
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
    sql = f"""WITH RECURSIVE {_REFERRAL_BASE}, {_REFERRAL_DEPTH}
    SELECT (SELECT count(*) FROM new) AS new_members,
           (SELECT count(referred_by) FROM new) AS referred,
           (SELECT count(referred_by) FROM new) / nullif((SELECT count(*) FROM new), 0) AS share_referred,
           (SELECT count(DISTINCT referred_by) FROM new) AS referrers,
           (SELECT count(referred_by) FROM new) / nullif((SELECT count(DISTINCT referred_by) FROM new), 0)
               AS referrals_per_referrer,
           (SELECT coalesce(max(d.depth), 0) FROM new JOIN depth d USING (member_id)) AS longest_chain,
           (SELECT count(*) FROM new JOIN depth d USING (member_id) WHERE d.depth >= 2) AS members_in_chains"""
    return _run(cur, sql, filters.params())


@register(
    "referral_chains",
    "Members who joined in the range by referral depth (0 = not referred, 1 = referred by a "
    "non-referred member, 2 = referred by a referred member, ...)",
    "members",
    section="development",
)
def referral_chains(cur: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    sql = f"""WITH RECURSIVE {_REFERRAL_BASE}, {_REFERRAL_DEPTH}
    SELECT d.depth, count(*) AS members FROM new JOIN depth d USING (member_id) GROUP BY 1 ORDER BY 1"""
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
        end = _run(cur, f"WITH {_purchases_cte(use_dates=True)} SELECT max(day) AS d FROM purch", params)["d"].iloc[0]
        end = None if pd.isna(end) else pd.Timestamp(end).date()
    if end is None:
        return pd.DataFrame({"member_id": pd.Series(dtype="str"), "first_purchase": pd.Series(dtype="datetime64[us]"),
                             **{c: pd.Series(dtype="float64") for c in ("frequency", "recency", "T", "monetary_value")}})
    params.update({"cal_end": end, "cal_end_excl": end + timedelta(days=1), "unit_days": UNITS[unit]})
    sql = f"""WITH {_purchases_cte(use_dates=True, end_param='cal_end_excl')},
    f AS (SELECT member_id, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
                 sum(amount) AS total, arg_min(amount, day) AS first_amount FROM purch GROUP BY 1)
    SELECT member_id, first_day AS first_purchase, frequency::DOUBLE AS frequency,
           datediff('day', first_day, last_day) / $unit_days AS recency,
           datediff('day', first_day, CAST($cal_end AS DATE)) / $unit_days AS T,
           CASE WHEN frequency > 0 THEN (total - first_amount) / frequency ELSE 0 END AS monetary_value
    FROM f ORDER BY member_id"""
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
