"""Derived tables the metrics read instead of scanning ``interactions``: maintained by the importer.

Built from the canonical tables after every import and undo (a full rebuild, inside the same
transaction: ~14 s at 10 M interactions, see BENCHMARKS.md), and stamped with the data version
they were built from. A metric uses them only when that stamp equals the workspace's data
version, so a stale or missing rollup is never read (the metric falls back to the raw tables,
which stay the reference: the metric tests compute every metric both ways and compare).

* ``member_dim``: one row per member id seen anywhere (interactions, members, transactions), with
  an integer key ``mk`` in member_id order (joins and group-bys on integers instead of strings;
  ties broken by ``mk`` rank like ties broken by member_id) and the attributes of the member's latest CRM row
  (``in_crm`` false for ids seen only in interactions or transactions).
* ``activity_day`` / ``activity_week`` / ``activity_month``: activity (inbound interactions by
  a known, non-employee member; METRICS.md) per period start x member x channel: ``n``
  interactions, ``first_at`` / ``last_at`` (first and last time), ``max_reach``. Week = ISO week.
* ``active_months``: each member's active months (all channels): ``n``, ``first_at`` / ``last_at``, ``max_reach``,
  the channel of the first and of the last activity in the month, and the member's previous and
  next active month ``prv`` / ``nxt`` (NULL at the ends): lifecycle and cohorts without a regrouping
  or a window at query time.
* ``member_activity``: per member over all time and channels: ``first_at``, ``last_at``, the channel
  of the last activity, ``n``, ``max_reach`` (the drifting / inactive list, per-member totals).
* ``active_days``: each member's active days (all channels) with the member's next active day
  ``nxt`` (NULL for the last): DAU / WAU / MAU and day-grain stickiness without a window at query time.
* ``daily_active``: DAU / WAU / MAU (members active on the day and in the trailing 7 / 30 days)
  for every day from the first activity to 30 days after the last, all channels and members.
* ``messages``: inbound messages of activity that carry an ``interaction_id`` (the ones a reply
  can answer), with ``day``, ``mk``, channel, action, ``answerable`` (action not in the default
  ``NOT_ANSWERABLE``), ``replied_at`` (the first outbound reply) and ``seconds`` to it.
* ``hourly``: every interaction counted per day x weekday x hour x channel x direction, with
  whether the member is known / in the CRM / an employee (timing heatmap, identified share).
* ``contacts``: member x day x channel on which we sent the member something (addressed to
  them, or a reply without member_id to one of their messages).
* ``posts``: our broadcasts (outbound, answering nothing, with an id): time, channel and the
  number of replies to it by known non-employee members (any date).
* ``inbound_actions``: the inbound action names present, with their counts (option pickers).
* ``purchase_day``: transaction lines with a member id merged per member key ``mk`` and day: ``bought`` (value
  of the non-refund lines), ``is_purchase`` (any non-refund line), ``net`` (all lines, refunds
  included). A refund line is ``is_refund`` or a negative amount (METRICS.md).
"""

from __future__ import annotations

import duckdb

from datastore.workspace import data_version, get_setting, set_setting

GRAINS = ("day", "week", "month")
# Actions a reply does not answer, by default (METRICS.md); metrics.participation offers it as an option.
NOT_ANSWERABLE: tuple[str, ...] = ("like", "share", "view", "follow")
TABLES = ("member_dim", "inbound_actions", "purchase_day", "active_months", "member_activity", "active_days", "daily_active", "messages", "hourly", "contacts", "posts", *(f"activity_{g}" for g in GRAINS))
STAMP = "rollups_data_version"
VERSION = 13  # bump when the tables change: older rollups are then stale and rebuilt

_MEMBER_DIM = """
    CREATE OR REPLACE TABLE member_dim AS
    SELECT (row_number() OVER (ORDER BY ids.member_id))::INTEGER AS mk, ids.member_id,
           m.member_id IS NOT NULL AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee,
           m.name, m.email, m.segment, m.joined_at, m.churned_at, m.followers, m.lifecycle_stage,
           m.referred_by
    FROM (SELECT member_id FROM interactions WHERE member_id IS NOT NULL
          UNION SELECT member_id FROM members
          UNION SELECT member_id FROM transactions WHERE member_id IS NOT NULL) ids
    LEFT JOIN members_current m USING (member_id)"""

_ACTIVITY_DAY = """
    CREATE OR REPLACE TABLE activity_day AS
    SELECT CAST(i.occurred_at AS DATE) AS period, d.mk, i.channel, count(*)::INTEGER AS n,
           min(i.occurred_at) AS first_at, max(i.occurred_at) AS last_at, max(i.reach) AS max_reach
    FROM interactions i JOIN member_dim d USING (member_id)
    WHERE i.direction = 'inbound' AND NOT d.is_employee
    GROUP BY ALL"""


# arg_min / arg_max over the per-channel rows: the channel of the earliest / latest activity; a tie
# between channels at the same instant goes to the first / last channel name (the key (time, channel)
# orders raw rows and rollup rows alike, so every level of aggregation picks the same channel).
_ACTIVE_MONTHS = """
    CREATE OR REPLACE TABLE active_months AS
    SELECT period, mk, n, first_at, last_at, max_reach, first_channel, last_channel,
           lag(period) OVER w AS prv, lead(period) OVER w AS nxt
    FROM (SELECT period, mk, sum(n)::INTEGER AS n, min(first_at) AS first_at, max(last_at) AS last_at,
                 max(max_reach) AS max_reach,
                 arg_min(channel, (first_at, channel)) AS first_channel,
                 arg_max(channel, (last_at, channel)) AS last_channel
          FROM activity_month GROUP BY 1, 2)
    WINDOW w AS (PARTITION BY mk ORDER BY period)"""

_MEMBER_ACTIVITY = """
    CREATE OR REPLACE TABLE member_activity AS
    SELECT mk, min(first_at) AS first_at, max(last_at) AS last_at, arg_max(last_channel, (last_at, last_channel)) AS last_channel,
           sum(n)::BIGINT AS n, max(max_reach) AS max_reach
    FROM active_months GROUP BY 1"""

_ACTIVE_DAYS = """
    CREATE OR REPLACE TABLE active_days AS
    SELECT period, mk, lead(period) OVER (PARTITION BY mk ORDER BY period) AS nxt
    FROM (SELECT DISTINCT period, mk FROM activity_day)"""

# A member active on `day` (next active day `nxt`) counts in the W-day window ending on t for t in
# [day, least(nxt, day + W)): +1 there, -1 after; running sums count them (metrics.participation).
_DAILY_ACTIVE = """
    CREATE OR REPLACE TABLE daily_active AS
    WITH ev AS (
        SELECT unnest([period, least(nxt, period + 7), least(nxt, period + 30)]) AS t,
               unnest([1, 0, 0]) AS d1, unnest([1, -1, 0]) AS d7, unnest([1, 0, -1]) AS d30
        FROM active_days),
    agg AS (SELECT t, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30 FROM ev GROUP BY t),
    days AS (SELECT CAST(unnest(generate_series(min(t), max(t), INTERVAL 1 DAY)) AS DATE) AS t
             FROM agg HAVING count(*) > 0)
    SELECT d.t AS day, coalesce(a.d1, 0)::BIGINT AS dau,
           (sum(coalesce(a.d7, 0)) OVER (ORDER BY d.t))::BIGINT AS wau,
           (sum(coalesce(a.d30, 0)) OVER (ORDER BY d.t))::BIGINT AS mau
    FROM days d LEFT JOIN agg a USING (t) ORDER BY day"""

_MESSAGES = f"""
    CREATE OR REPLACE TABLE messages AS
    WITH fr AS (SELECT in_reply_to AS interaction_id, min(occurred_at) AS replied_at FROM interactions
                WHERE direction = 'outbound' AND in_reply_to IS NOT NULL GROUP BY 1)
    SELECT i.occurred_at, i.occurred_at::DATE AS day, d.mk, i.channel, i.action,
           NOT list_contains({list(NOT_ANSWERABLE)}, coalesce(i.action, 'interaction')) AS answerable, fr.replied_at,
           (CASE WHEN fr.replied_at IS NOT NULL  -- greatest() would turn NULL into 0
                 THEN greatest(date_diff('second', i.occurred_at, fr.replied_at), 0) END)::BIGINT AS seconds
    FROM interactions i JOIN member_dim d USING (member_id) LEFT JOIN fr USING (interaction_id)
    WHERE i.direction = 'inbound' AND NOT d.is_employee AND i.interaction_id IS NOT NULL
"""

_HOURLY = """
    CREATE OR REPLACE TABLE hourly AS
    SELECT CAST(i.occurred_at AS DATE) AS period, isodow(i.occurred_at)::TINYINT AS weekday,
           hour(i.occurred_at)::TINYINT AS hour, i.channel, i.direction,
           i.member_id IS NOT NULL AS known, coalesce(d.in_crm, FALSE) AS in_crm,
           coalesce(d.is_employee, FALSE) AS is_employee, count(*)::INTEGER AS n
    FROM interactions i LEFT JOIN member_dim d USING (member_id)
    GROUP BY ALL"""

_CONTACTS = """
    CREATE OR REPLACE TABLE contacts AS
    SELECT DISTINCT CAST(o.occurred_at AS DATE) AS period, d.mk, o.channel
    FROM interactions o JOIN member_dim d USING (member_id)
    WHERE o.direction = 'outbound'
    UNION
    SELECT DISTINCT CAST(o.occurred_at AS DATE), d.mk, o.channel
    FROM interactions o JOIN interactions i ON o.in_reply_to = i.interaction_id
         JOIN member_dim d ON d.member_id = i.member_id
    WHERE o.direction = 'outbound' AND o.member_id IS NULL AND o.in_reply_to IS NOT NULL"""

_POSTS = """
    CREATE OR REPLACE TABLE posts AS
    WITH resp AS (SELECT i.in_reply_to AS interaction_id, count(*) AS n
                  FROM interactions i JOIN member_dim d USING (member_id)
                  WHERE i.direction = 'inbound' AND i.in_reply_to IS NOT NULL AND NOT d.is_employee GROUP BY 1)
    SELECT o.occurred_at, o.channel, coalesce(resp.n, 0)::INTEGER AS responses
    FROM interactions o LEFT JOIN resp USING (interaction_id)
    WHERE o.direction = 'outbound' AND o.in_reply_to IS NULL AND o.interaction_id IS NOT NULL"""

_INBOUND_ACTIONS = """
    CREATE OR REPLACE TABLE inbound_actions AS
    SELECT action, count(*) AS n FROM interactions
    WHERE direction = 'inbound' AND action IS NOT NULL GROUP BY 1 ORDER BY 1"""


# Refund lines: flagged, or a negative amount (the same test as metrics.development's raw path).
REFUND = "(coalesce(t.is_refund, FALSE) OR coalesce(t.amount, 0) < 0)"
_PURCHASE_DAY = f"""
    CREATE OR REPLACE TABLE purchase_day AS
    SELECT d.mk, t.occurred_at::DATE AS day,
           sum(t.amount) FILTER (WHERE NOT {REFUND}) AS bought,
           bool_or(NOT {REFUND}) AS is_purchase, sum(t.amount) AS net
    FROM transactions t JOIN member_dim d USING (member_id)
    GROUP BY 1, 2"""


def _coarser(grain: str) -> str:
    return f"""
    CREATE OR REPLACE TABLE activity_{grain} AS
    SELECT CAST(date_trunc('{grain}', period) AS DATE) AS period, mk, channel, sum(n)::INTEGER AS n,
           min(first_at) AS first_at, max(last_at) AS last_at, max(max_reach) AS max_reach
    FROM activity_day GROUP BY ALL"""


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every rollup from the canonical tables and stamp them with the data version.
    Call it after the data version was bumped, inside the writer's transaction."""
    for sql in (_MEMBER_DIM, _ACTIVITY_DAY, _coarser("week"), _coarser("month"), _ACTIVE_MONTHS, _MEMBER_ACTIVITY,
                _ACTIVE_DAYS, _DAILY_ACTIVE,
                _MESSAGES, _HOURLY, _CONTACTS, _POSTS, _INBOUND_ACTIONS, _PURCHASE_DAY):
        con.execute(sql)
    stamp(con)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Build the rollups unless they are fresh (a workspace from before them, or before a
    ``VERSION`` change), in one transaction."""
    if not fresh(con):
        with con.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            refresh(cur)
            cur.execute("COMMIT")


def stamp(con: duckdb.DuckDBPyConnection) -> None:
    """Mark the rollups as describing the current data version (after a change that left the
    canonical tables as they were)."""
    set_setting(con, STAMP, _stamp(con))


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DELETE FROM settings WHERE key = ?", [STAMP])


def inbound_actions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The inbound action names in the workspace, sorted (from the rollup when fresh)."""
    table = "inbound_actions" if fresh(con) else (
        "(SELECT DISTINCT action FROM interactions WHERE direction = 'inbound' AND action IS NOT NULL)")
    return [r[0] for r in con.execute(f"SELECT action FROM {table} ORDER BY 1").fetchall()]


def fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the rollups exist and were built from the current data."""
    return get_setting(con, STAMP) == _stamp(con)


def _stamp(con: duckdb.DuckDBPyConnection) -> str:
    # NOT_ANSWERABLE is baked into messages.answerable: a changed list makes the rollups stale too.
    return f"v{VERSION}-{'|'.join(NOT_ANSWERABLE)}:{data_version(con)}"
