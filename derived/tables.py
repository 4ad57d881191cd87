"""The derived tables: the only tables the metrics read (METRICS.md's definitions, precomputed).

Built from the canonical tables by ``derived.sync`` and kept up to date incrementally: each
table is a set of *partitions* (days, months, members, ...) and a change recomputes only the
partitions it touched. Every table is defined once, as a SELECT whose ``{where}`` restricts it
to some partitions; the full build uses the same SELECT with ``{where}`` = TRUE.

* ``member_dim`` (one row per member id seen anywhere): the integer member key ``mk`` (stable:
  new ids get the next numbers) and the attributes of the latest CRM row (``in_crm`` false for
  ids seen only in interactions or transactions). Ties are broken on ``member_id``, never on mk.
* ``events`` (one row per interaction, integer-keyed): time, day, mk, channel, campaign,
  direction, action, ``activity`` (definitions.is_activity), reach, agent, the natural key and
  the message it answers, for inbound rows ``replied_at``, the first reply's time, and from the
  text: ``tags`` (definitions.hashtags), ``lang``, ``sentiment`` (the export's, else the text's
  score) and ``text_key`` (the text's row in ``text_scores``).
* ``text_scores`` / ``text_topics`` (per distinct text, kept across rebuilds): language, score and
  lemmas (``derived.text``); the topics whose keywords the text holds (``derived.sync.set_topics``);
  ``topic_forms``: every keyword's forms (lemmas in each language) as the rules were matched.
* ``activity_week`` / ``activity_month``: activity per period x mk x channel x campaign: ``n``,
  ``first_at``, ``last_at``, ``max_reach``.
* ``member_month``: each member's active months over all channels and campaigns, with the first
  and last channel of the month and the previous / next active month (``prv`` / ``nxt``).
* ``member_totals``: per member over all time: first / last activity, last channel, ``n``, max reach.
* ``member_days``: each member's active days (all channels) with the next one (``nxt``).
* ``daily_active``: DAU / WAU / MAU (active on the day / in the trailing 7 / 30 days), every day
  from the first activity to 30 days after the last.
* ``hourly``: every interaction counted per day x hour x channel x campaign x direction, with
  whether the member is known, in the CRM, an employee (timing, identified share).
* ``contacts``: member x day x channel on which we sent the member something (addressed to
  them, or a reply without member_id to one of their messages).
* ``broadcasts``: our broadcasts (posts) with the number of replies to them by activity (any date).
* ``mention_hourly``: inbound interactions (mentions, by anyone) per hour x channel x campaign x
  hashtags x sentiment label: ``n`` (volumes, sentiment and spikes without a segment filter).
* ``inbound_actions``: inbound action names with their counts.
* ``purchase_day``: transaction lines per member and day: ``bought`` (non-refund value),
  ``is_purchase`` (any non-refund line), ``net`` (refunds included), ``all_lines``, and of the non-refund lines
  their number, first / last time and the channel of the first / last one.
"""

from __future__ import annotations

from dataclasses import dataclass

from derived import definitions as d

VERSION = 5  # bump when a table changes: workspaces built by another version are rebuilt in full


@dataclass(frozen=True)
class Table:
    """A derived table: ``select`` (with ``{where}``) and how its partitions are named.

    ``key``: this table's column that holds the partition key; ``restrict``: the condition on
    ``select``'s source rows that keeps the touched partitions (``{keys}`` = a subquery of them);
    ``keys``: which touched-key set applies (see ``derived.sync``)."""

    name: str
    select: str
    key: str
    restrict: str
    keys: str


_ATTRS = ("name", "email", "segment", "persona", "country", "joined_at", "churned_at", "followers",
          "lifecycle_stage", "referred_by")


def _attrs(alias: str) -> str:
    return ", ".join(f"{alias}.{a}::DATE AS {a}" if a.endswith("_at") else f"{alias}.{a}" for a in _ATTRS)


# member_dim is maintained by derived.sync itself (stable keys); this is its full build.
MEMBER_DIM = f"""
    CREATE OR REPLACE TABLE member_dim AS
    SELECT (row_number() OVER (ORDER BY ids.member_id))::INTEGER AS mk, ids.member_id,
           m.member_id IS NOT NULL AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee, {_attrs('m')}
    FROM (SELECT member_id FROM interactions WHERE member_id IS NOT NULL
          UNION SELECT member_id FROM members
          UNION SELECT member_id FROM transactions WHERE member_id IS NOT NULL) ids
    LEFT JOIN members_current m USING (member_id)"""

# The attributes of the member ids in {ids} (derived.sync updates member_dim with them).
MEMBER_ATTRS = f"""
    SELECT t.member_id, m.member_id IS NOT NULL AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee, {_attrs('m')}
    FROM {{ids}} t LEFT JOIN members_current m USING (member_id)"""
ATTRS = ("in_crm", "is_employee", *_ATTRS)

_FIRST_REPLY = """SELECT in_reply_to AS id, min(occurred_at) AS replied_at FROM interactions
                  WHERE direction = 'outbound' AND in_reply_to IS NOT NULL AND {where} GROUP BY 1"""

# events: maintained per import (rows of an import in, rows of an undone import out) plus the
# reply times of the messages a change answered; {where} restricts the interactions read.
EVENTS = f"""
    SELECT i.import_id, i.interaction_id AS id, i.in_reply_to AS reply_to, i.occurred_at AS ts,
           CAST(i.occurred_at AS DATE) AS day, m.mk, i.channel, i.campaign, i.direction = 'inbound' AS inbound,
           i.action, {d.is_activity('i.direction', 'i.member_id', 'm.is_employee')} AS activity,
           i.reach, i.agent, CASE WHEN i.direction = 'inbound' THEN {d.first_reply('fr.replied_at', 'i.first_reply_at')} END
             AS replied_at,
           {d.hashtags('i.text', 'i.hashtags')} AS tags, s.lang, coalesce(i.sentiment, s.score) AS sentiment,
           s.text_key
    FROM interactions i LEFT JOIN member_dim m USING (member_id)
    LEFT JOIN ({_FIRST_REPLY.format(where='{replies}')}) fr ON fr.id = i.interaction_id
    LEFT JOIN text_scores s ON s.text_key = hash(i.text) AND i.text IS NOT NULL
    WHERE {{where}}"""

# The per-text caches derived.sync keeps (not rebuilt with the tables: scoring is the slow part).
TEXT_TABLES = (
    """CREATE TABLE IF NOT EXISTS text_scores (
        text_key UBIGINT, text VARCHAR, lang VARCHAR, score DOUBLE, lemmas VARCHAR[], scorer VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS text_topics (text_key UBIGINT, topic VARCHAR)",
    "CREATE TABLE IF NOT EXISTS topic_forms (topic VARCHAR, keyword VARCHAR, form VARCHAR)",
)


def _coarser(grain: str) -> Table:
    return Table(
        f"activity_{grain}",
        f"""SELECT CAST(date_trunc('{grain}', e.day) AS DATE) AS period, e.mk, e.channel, e.campaign,
                   count(*)::INTEGER AS n, min(e.ts) AS first_at, max(e.ts) AS last_at, max(e.reach) AS max_reach
            FROM events e WHERE e.activity AND {{where}} GROUP BY ALL""",
        "period", f"CAST(date_trunc('{grain}', e.day) AS DATE) IN {{keys}}", grain)


_REFUND = d.is_refund("t.is_refund", "t.amount")

# arg_min / arg_max over the per-channel rows: the channel of the earliest / latest activity; a tie
# between channels at the same instant goes to the first / last channel name, so every level of
# aggregation (and the oracle on the raw rows) picks the same channel.
TABLES: tuple[Table, ...] = (
    _coarser("week"),
    _coarser("month"),
    Table("member_month", """
        SELECT period, mk, n, first_at, last_at, max_reach, first_channel, last_channel,
               lag(period) OVER w AS prv, lead(period) OVER w AS nxt
        FROM (SELECT a.period, a.mk, sum(a.n)::INTEGER AS n, min(a.first_at) AS first_at, max(a.last_at) AS last_at,
                     max(a.max_reach) AS max_reach,
                     arg_min(a.channel, (a.first_at, a.channel)) AS first_channel,
                     arg_max(a.channel, (a.last_at, a.channel)) AS last_channel
              FROM activity_month a WHERE {where} GROUP BY 1, 2)
        WINDOW w AS (PARTITION BY mk ORDER BY period)""", "mk", "a.mk IN {keys}", "member"),
    Table("member_totals", """
        SELECT mk, min(first_at) AS first_at, max(last_at) AS last_at,
               arg_max(last_channel, (last_at, last_channel)) AS last_channel,
               sum(n)::BIGINT AS n, max(max_reach) AS max_reach
        FROM member_month a WHERE {where} GROUP BY 1""", "mk", "a.mk IN {keys}", "member"),
    Table("member_days", """
        SELECT day, mk, lead(day) OVER (PARTITION BY mk ORDER BY day) AS nxt
        FROM (SELECT DISTINCT e.day, e.mk FROM events e WHERE e.activity AND {where})""",
          "mk", "e.mk IN {keys}", "member"),
    Table("hourly", """
        SELECT e.day, isodow(e.ts)::TINYINT AS weekday, hour(e.ts)::TINYINT AS hour, e.channel, e.campaign,
               e.inbound, e.mk IS NOT NULL AS known, coalesce(m.in_crm, FALSE) AS in_crm,
               coalesce(m.is_employee, FALSE) AS is_employee, count(*)::INTEGER AS n
        FROM events e LEFT JOIN member_dim m USING (mk) WHERE {where} GROUP BY ALL""",
          "day", "e.day IN {keys}", "day"),
    Table("contacts", """
        SELECT DISTINCT o.day AS period, o.mk, o.channel FROM events o
        WHERE NOT o.inbound AND o.mk IS NOT NULL AND {where}
        UNION
        SELECT DISTINCT o.day, i.mk, o.channel FROM events o JOIN events i ON o.reply_to = i.id
        WHERE NOT o.inbound AND o.mk IS NULL AND o.reply_to IS NOT NULL AND i.mk IS NOT NULL AND {where}""",
          "period", "o.day IN {keys}", "contact_day"),
    Table("broadcasts", """
        SELECT o.ts, o.day, o.channel, o.campaign, o.id, coalesce(r.n, 0)::INTEGER AS responses
        FROM events o
        LEFT JOIN (SELECT reply_to AS id, count(*) AS n FROM events WHERE activity AND reply_to IS NOT NULL
                   AND reply_to IN (SELECT id FROM events o WHERE NOT o.inbound AND o.reply_to IS NULL AND {where})
                   GROUP BY 1) r USING (id)
        WHERE NOT o.inbound AND o.reply_to IS NULL AND o.id IS NOT NULL AND {where}""",
          "day", "o.day IN {keys}", "post_day"),
    Table("mention_hourly", f"""
        SELECT e.day, date_trunc('hour', e.ts) AS hr, e.channel, e.campaign, e.tags,
               {d.sentiment_label('e.sentiment')} AS label, count(*)::INTEGER AS n
        FROM events e WHERE e.inbound AND {{where}} GROUP BY ALL""", "day", "e.day IN {keys}", "day"),
    Table("inbound_actions", """
        SELECT e.action, count(*) AS n FROM events e WHERE e.inbound AND e.action IS NOT NULL AND {where} GROUP BY 1""",
          "action", "e.action IN {keys}", "action"),
    Table("purchase_day", f"""
        SELECT m.mk, t.occurred_at::DATE AS day,
               sum(t.amount) FILTER (WHERE NOT {_REFUND}) AS bought, bool_or(NOT {_REFUND}) AS is_purchase,
               sum(t.amount) AS net, count(*)::INTEGER AS all_lines, count(*) FILTER (WHERE NOT {_REFUND})::INTEGER AS lines,
               min(t.occurred_at) FILTER (WHERE NOT {_REFUND}) AS first_at,
               max(t.occurred_at) FILTER (WHERE NOT {_REFUND}) AS last_at,
               arg_min(t.channel, (t.occurred_at, t.channel)) FILTER (WHERE NOT {_REFUND}) AS first_channel,
               arg_max(t.channel, (t.occurred_at, t.channel)) FILTER (WHERE NOT {_REFUND}) AS last_channel
        FROM transactions t JOIN member_dim m USING (member_id) WHERE {{where}} GROUP BY 1, 2""",
          "day", "t.occurred_at::DATE IN {keys}", "purchase_day"),
)

# DAU / WAU / MAU: a member active on `day` (next active day `nxt`) counts in the W-day window
# ending on t for t in [day, least(nxt, day + W)): +1 there, -1 after; running sums count them.
# The values on [lo, hi] only depend on member_days rows with day >= lo - 30, so derived.sync
# recomputes the days around a change: {lo} / {hi} bound the days written (NULL = all).
DAILY_ACTIVE = """
    WITH ev AS (
        SELECT unnest([day, least(nxt, day + 7), least(nxt, day + 30)]) AS t,
               unnest([1, 0, 0]) AS d1, unnest([1, -1, 0]) AS d7, unnest([1, 0, -1]) AS d30
        FROM member_days WHERE {lo} IS NULL OR day >= CAST({lo} AS DATE) - 30),
    agg AS (SELECT t, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30 FROM ev GROUP BY t),
    span AS (SELECT min(day) AS lo, max(day) + 30 AS hi FROM member_days),
    days AS (SELECT CAST(unnest(generate_series(greatest(s.lo, coalesce(CAST({lo} AS DATE) - 30, s.lo)), s.hi,
                                                INTERVAL 1 DAY)) AS DATE) AS t
             FROM span s WHERE s.lo IS NOT NULL),
    run AS (
        SELECT d.t AS day, coalesce(a.d1, 0)::BIGINT AS dau,
               (sum(coalesce(a.d7, 0)) OVER (ORDER BY d.t))::BIGINT AS wau,
               (sum(coalesce(a.d30, 0)) OVER (ORDER BY d.t))::BIGINT AS mau
        FROM days d LEFT JOIN agg a USING (t))
    SELECT * FROM run WHERE ({lo} IS NULL OR day >= CAST({lo} AS DATE)) AND ({hi} IS NULL OR day <= CAST({hi} AS DATE))
    ORDER BY day"""

NAMES: tuple[str, ...] = ("member_dim", "events", *(t.name for t in TABLES), "daily_active")
# Tables of earlier releases (datastore.rollups) that a full build removes.
OBSOLETE: tuple[str, ...] = ("activity_day", "active_months", "member_activity", "active_days", "messages")
