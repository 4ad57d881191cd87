"""The raw-table oracle: the relations of ``metrics.source.Source`` computed from the canonical
tables directly (interactions, members_current, transactions), never from the derived tables.

Every metric computed through ``RawSource`` must give the same frame as through the production
``Source`` (``tests.metric_support.compute`` checks it for every metric test): that proves the
derived tables, their incremental maintenance and the source's choice of table. The SQL here is
deliberately plain (one row per interaction, windows at query time) and written apart from the
derived tables' builder.

Member keys: ``_o_dim`` numbers every member id seen anywhere in member_id order (results never
show a key; ties are broken on member_id).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.source import Source

NOT_ANSWERABLE = ("like", "share", "view", "follow")

_DIM = """
    CREATE OR REPLACE TEMP TABLE _o_dim AS
    SELECT (row_number() OVER (ORDER BY ids.member_id))::INTEGER AS mk, ids.member_id,
           m.member_id IS NOT NULL AS in_crm, coalesce(m.is_employee, FALSE) AS is_employee,
           m.name, m.email, m.segment, m.persona, m.country, m.joined_at, m.churned_at, m.followers,
           m.lifecycle_stage, m.referred_by
    FROM (SELECT member_id FROM interactions WHERE member_id IS NOT NULL
          UNION SELECT member_id FROM members
          UNION SELECT member_id FROM transactions WHERE member_id IS NOT NULL) ids
    LEFT JOIN members_current m USING (member_id)"""

# One row per interaction with its day, member key and employee flag.
_ROWS = """(SELECT i.*, CAST(i.occurred_at AS DATE) AS day, i.occurred_at AS ts, d.mk,
                   coalesce(d.is_employee, FALSE) AS employee, i.direction = 'inbound' AS inbound
            FROM interactions i LEFT JOIN _o_dim d USING (member_id))"""
_ACTIVITY = f"(SELECT * FROM {_ROWS} WHERE inbound AND member_id IS NOT NULL AND NOT employee)"
_REFUND = "(coalesce(t.is_refund, FALSE) OR coalesce(t.amount, 0) < 0)"


class RawSource(Source):
    dim = "_o_dim"

    def __init__(self, cur: duckdb.DuckDBPyConnection, filters: Filters):
        super().__init__(cur, filters)
        cur.execute(_DIM)

    # Facts ------------------------------------------------------------------------------------
    def activity_span(self):
        return self._once("aspan", f"SELECT min(day), max(day) FROM {_ACTIVITY}")

    def interactions_span(self):
        return self._once("ispan", "SELECT min(occurred_at)::DATE, max(occurred_at)::DATE FROM interactions")

    def transactions_span(self):
        return self._once("tspan", "SELECT min(occurred_at)::DATE, max(occurred_at)::DATE FROM transactions")

    def has_members(self) -> bool:
        return bool(self._once("members", "SELECT EXISTS (SELECT 1 FROM members)")[0])

    def has_replies(self) -> bool:
        return bool(self._once("replies", "SELECT EXISTS (SELECT 1 FROM interactions WHERE in_reply_to IS NOT NULL)")[0])

    def inbound_actions(self) -> list[str]:
        return [r[0] for r in self.cur.execute(
            "SELECT DISTINCT action FROM interactions WHERE direction = 'inbound' AND action IS NOT NULL ORDER BY 1"
        ).fetchall()]

    def stored(self) -> str:
        return """
        SELECT 'interactions' AS "table", count(*) AS rows, count(DISTINCT member_id) AS members,
               min(occurred_at)::DATE AS first_date, max(occurred_at)::DATE AS last_date FROM interactions
        UNION ALL
        SELECT 'members', count(*), count(DISTINCT member_id), min(joined_at), max(joined_at) FROM members_current
        UNION ALL
        SELECT 'transactions', count(*), count(DISTINCT member_id), min(occurred_at)::DATE, max(occurred_at)::DATE
        FROM transactions"""

    # Members ----------------------------------------------------------------------------------
    def community(self) -> str:
        if self.has_members():
            return f"""community AS (
            SELECT m.mk, coalesce(m.joined_at, f.first_day) AS joined, m.churned_at AS churned
            FROM _o_dim m LEFT JOIN (SELECT mk, min(day) AS first_day FROM {_ACTIVITY} GROUP BY 1) f USING (mk)
            WHERE m.in_crm AND NOT m.is_employee AND {self.segment_of('m.segment')})"""
        return f"""community AS (
            SELECT r.mk, min(r.day) AS joined, NULL::DATE AS churned FROM {_ROWS} r
            WHERE r.mk IS NOT NULL AND {self.where('r', day=None, use_start=False, use_end=False)} GROUP BY 1)"""

    # Activity ---------------------------------------------------------------------------------
    def period_table(self, grain, *, use_start=True, use_end=True):
        return None

    def activity(self, grain, *, use_start=True, use_end=True, name="activity") -> str:
        return f"""{name} AS (
            SELECT CAST(date_trunc('{grain}', a.day) AS DATE) AS period, a.mk, a.channel, 1 AS n,
                   a.ts AS first_at, a.ts AS last_at, a.reach AS max_reach
            FROM {_ACTIVITY} a WHERE {self.where('a', use_start=use_start, use_end=use_end)})"""

    def member_months(self, *, use_start=True, name="mm") -> str:
        start = "WHERE first_at >= $f_start" if use_start and self.f.start is not None else ""
        return f"""{name} AS (
            SELECT * FROM (
              SELECT period, mk, n, first_at, last_at, max_reach, first_channel, last_channel,
                     lag(period) OVER w AS prv, lead(period) OVER w AS nxt
              FROM (SELECT CAST(date_trunc('month', a.day) AS DATE) AS period, a.mk, count(*)::INTEGER AS n,
                           min(a.ts) AS first_at, max(a.ts) AS last_at, max(a.reach) AS max_reach,
                           arg_min(a.channel, (a.ts, a.channel)) AS first_channel,
                           arg_max(a.channel, (a.ts, a.channel)) AS last_channel
                    FROM {_ACTIVITY} a WHERE {self.where('a', use_start=False)} GROUP BY 1, 2)
              WINDOW w AS (PARTITION BY mk ORDER BY period)) {start})"""

    def member_totals(self, name="mt", *, use_start=True) -> str:
        return f"""{name} AS (
            SELECT a.mk, count(*) AS n, min(a.ts) AS first_at, max(a.ts) AS last_at, max(a.reach) AS max_reach,
                   arg_max(a.channel, (a.ts, a.channel)) AS last_channel
            FROM {_ACTIVITY} a WHERE {self.where('a', use_start=use_start)} GROUP BY 1)"""

    def member_days(self, since="$f_start", name="md") -> str:
        return f"""{name} AS (
            SELECT mk, day, lead(day) OVER (PARTITION BY mk ORDER BY day) AS nxt
            FROM (SELECT DISTINCT a.mk, a.day FROM {_ACTIVITY} a
                  WHERE ({since} IS NULL OR a.day >= {since}) AND {self.where('a', use_start=False)}))"""

    def daily(self) -> str:
        # Counted directly: for each day of the range, members with an active day in the window.
        return f"""days AS (SELECT DISTINCT a.mk, a.day FROM {_ACTIVITY} a WHERE {self.where('a', use_start=False, use_end=False)}),
        bounds AS (
            SELECT coalesce(CAST($f_start AS DATE), min(day)) AS lo, coalesce(CAST($f_end_excl AS DATE) - 1, max(day)) AS hi
            FROM days),
        cal AS (SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS day FROM bounds
                WHERE lo IS NOT NULL AND hi IS NOT NULL AND lo <= hi),
        daily AS (
            SELECT c.day, count(DISTINCT d.mk) FILTER (d.day = c.day) AS dau,
                   count(DISTINCT d.mk) FILTER (d.day > c.day - 7) AS wau, count(DISTINCT d.mk) AS mau
            FROM cal c LEFT JOIN days d ON d.day <= c.day AND d.day > c.day - 30 GROUP BY 1)"""

    def love(self) -> str:
        return f"""SELECT a.mk, count(*)::BIGINT AS love FROM {_ACTIVITY} a
            WHERE a.day >= $love_from AND a.day < $love_to AND {self.where('a', use_start=False, use_end=False)} GROUP BY 1"""

    def activity_rows(self, *, flags: str = "") -> str:
        return f"""src AS (SELECT e.mk, e.ts AS occurred_at, e.ts AS last_at, 1 AS n, e.channel{flags}
            FROM {_ACTIVITY} e WHERE {self.where('e', use_start=False)})"""

    def active_days(self) -> str:
        return f"SELECT DISTINCT a.mk, a.day FROM {_ACTIVITY} a WHERE {self.where('a', day=None, segment=False)}"

    def day_actions(self) -> str:
        return f"""SELECT a.mk, a.day, count(*) FILTER (WHERE list_contains($l_adv_types, a.action)) AS sr
            FROM {_ACTIVITY} a WHERE {self.where('a', day=None)} GROUP BY 1, 2"""

    def action_days(self, types: str = "$l_adv_types") -> str:
        return f"""SELECT a.mk, a.day, 1 AS n FROM {_ACTIVITY} a
            WHERE list_contains({types}, a.action) AND {self.where('a', day=None, segment=False)}"""

    # Two-way ----------------------------------------------------------------------------------
    def messages(self, name="resp") -> str:
        return f"""{name}_fr AS (SELECT in_reply_to AS id, min(occurred_at) AS replied_at FROM interactions
                   WHERE direction = 'outbound' AND in_reply_to IS NOT NULL GROUP BY 1),
        {name} AS (
            SELECT a.ts AS occurred_at, a.day, a.mk, a.channel, coalesce(f.replied_at, a.first_reply_at) AS replied_at,
                   CASE WHEN coalesce(f.replied_at, a.first_reply_at) IS NOT NULL
                        THEN greatest(date_diff('second', a.ts, coalesce(f.replied_at, a.first_reply_at)), 0) END
                     AS seconds
            FROM {_ACTIVITY} a LEFT JOIN {name}_fr f ON f.id = a.interaction_id
            WHERE a.interaction_id IS NOT NULL
              AND NOT list_contains($not_answerable, coalesce(a.action, 'interaction')) AND {self.where('a')})"""

    def hourly(self) -> str:
        keep = f"(NOT r.inbound OR r.mk IN {self.segment_mks})" if self.f.segments else "TRUE"
        return f"""hourly AS (
            SELECT r.day, isodow(r.ts) AS weekday, hour(r.ts) AS hour, r.channel, r.inbound,
                   r.member_id IS NOT NULL AS known, coalesce(d.in_crm, FALSE) AS in_crm, r.employee AS is_employee,
                   1 AS n
            FROM {_ROWS} r LEFT JOIN _o_dim d USING (mk)
            WHERE {keep} AND {self.where('r', segment=False)})"""

    def posts(self) -> str:
        seg = f"AND a.mk IN {self.segment_mks}" if self.f.segments else ""
        return f"""posts AS (
            SELECT o.ts, o.day, o.channel, (SELECT count(*) FROM {_ACTIVITY} a
                                            WHERE a.in_reply_to = o.interaction_id {seg}) AS responses
            FROM {_ROWS} o
            WHERE NOT o.inbound AND o.in_reply_to IS NULL AND o.interaction_id IS NOT NULL
              AND {self.where('o', segment=False)})"""

    def replies(self) -> str:
        return f"""rep AS (SELECT o.ts, o.agent FROM {_ROWS} o
            WHERE NOT o.inbound AND o.in_reply_to IS NOT NULL AND {self.where('o')})"""

    def contacts(self, period="{t}") -> str:
        where = self.where("o", segment=False)
        return f"""contacts AS (
            SELECT DISTINCT {period.format(t='o.day')} AS period, o.mk, o.channel FROM {_ROWS} o
            WHERE NOT o.inbound AND o.mk IS NOT NULL AND {where}
            UNION
            SELECT DISTINCT {period.format(t='o.day')}, i.mk, o.channel FROM {_ROWS} o JOIN {_ROWS} i
              ON o.in_reply_to = i.interaction_id
            WHERE NOT o.inbound AND o.member_id IS NULL AND o.in_reply_to IS NOT NULL AND i.mk IS NOT NULL AND {where})"""

    # Listening --------------------------------------------------------------------------------
    def _text_tables(self) -> None:
        """_o_texts(text, text_key, lang, score), _o_tags(text, hashtags, tags), _o_topics(text_key,
        topic): scored, parsed and matched here in Python, from the canonical rows (not from the
        derived per-text tables)."""
        if getattr(self, "_texts_done", False):
            return
        import re

        from derived import text as ta
        from derived.sync import topic_rules

        texts = [r[0] for r in self.cur.execute(
            "SELECT DISTINCT text FROM interactions WHERE text IS NOT NULL ORDER BY 1").fetchall()]
        scored = [ta.analyse(t) for t in texts]
        self.cur.execute("CREATE OR REPLACE TEMP TABLE _o_texts (text VARCHAR, text_key UBIGINT, lang VARCHAR, "
                         "score DOUBLE, lemmas VARCHAR[])")
        if texts:
            frame = pd.DataFrame({"text": texts, "lang": [a.lang for a in scored], "score": [a.score for a in scored],
                                  "lemmas": [list(a.lemmas) for a in scored]})
            self.cur.register("_o_f", frame)
            self.cur.execute("INSERT INTO _o_texts SELECT text, hash(text), lang, score, lemmas FROM _o_f")
            self.cur.unregister("_o_f")
        pairs = self.cur.execute("SELECT DISTINCT text, hashtags FROM interactions "
                                 "WHERE text IS NOT NULL OR hashtags IS NOT NULL").fetchall()
        tags = [(t, h, sorted(set(re.findall(r"(?:^|[^\w&/])#(\w+)", (t or "").lower()))
                              | set(re.findall(r"#?(\w+)", (h or "").lower()))))
                for t, h in pairs]
        self.cur.execute("CREATE OR REPLACE TEMP TABLE _o_tags (text VARCHAR, hashtags VARCHAR, tags VARCHAR[])")
        if tags:
            self.cur.register("_o_g", pd.DataFrame(tags, columns=["text", "hashtags", "tags"]))
            self.cur.execute("INSERT INTO _o_tags SELECT text, hashtags, tags FROM _o_g")
            self.cur.unregister("_o_g")
        rules = topic_rules(self.cur)
        topics = []
        for text, a in zip(texts, scored, strict=True):
            low, words = text.lower(), set(a.lemmas)
            for topic, kws in rules.items():
                if any(kw in low if " " in kw else words & set(ta.keyword_forms(kw)) for kw in kws):
                    topics.append((text, topic))
        self.cur.execute("CREATE OR REPLACE TEMP TABLE _o_topics (text_key UBIGINT, topic VARCHAR)")
        if topics:
            self.cur.register("_o_t", pd.DataFrame(topics, columns=["text", "topic"]))
            self.cur.execute("INSERT INTO _o_topics SELECT hash(text), topic FROM _o_t")
            self.cur.unregister("_o_t")
        self._texts_done = True

    def mentions(self, name="mentions", *, use_start=True) -> str:
        self._text_tables()
        return f"""{name}_fr AS (SELECT in_reply_to AS id, min(occurred_at) AS replied_at FROM interactions
                   WHERE direction = 'outbound' AND in_reply_to IS NOT NULL GROUP BY 1),
        {name} AS (
            SELECT r.ts, r.day, r.mk, r.channel, r.campaign, coalesce(g.tags, []) AS tags,
                   coalesce(r.sentiment, t.score) AS sentiment,
                   CASE WHEN coalesce(r.sentiment, t.score) > 0.05 THEN 'positive'
                        WHEN coalesce(r.sentiment, t.score) < -0.05 THEN 'negative'
                        WHEN coalesce(r.sentiment, t.score) IS NOT NULL THEN 'neutral' END AS label,
                   t.lang, t.text_key, r.interaction_id AS id, coalesce(f.replied_at, r.first_reply_at) AS replied_at, r.action,
                   r.member_id IS NOT NULL AND NOT r.employee AS activity
            FROM {_ROWS} r LEFT JOIN _o_texts t ON t.text = r.text
            LEFT JOIN _o_tags g ON g.text IS NOT DISTINCT FROM r.text AND g.hashtags IS NOT DISTINCT FROM r.hashtags
            LEFT JOIN {name}_fr f ON f.id = r.interaction_id
            WHERE r.inbound AND {self.where('r', use_start=use_start)})"""

    def mention_hours(self, name="mh", *, use_start=True) -> str:
        return f"""{self.mentions(name=name + '_m', use_start=use_start)},
        {name} AS (SELECT date_trunc('hour', ts) AS hr, day, channel, campaign, tags, label, count(*) AS n
                   FROM {name}_m GROUP BY ALL)"""

    def text_topics(self) -> str:
        self._text_tables()
        return "_o_topics"

    def texts(self) -> str:
        self._text_tables()
        return "(SELECT text_key, text FROM _o_texts)"

    # Purchases --------------------------------------------------------------------------------
    def _lines(self) -> str:
        return f"""(SELECT t.*, d.mk, t.occurred_at::DATE AS day, {_REFUND} AS refund
                    FROM transactions t JOIN _o_dim d USING (member_id))"""

    def purchases(self, *, use_dates=False, end_param=None) -> str:
        conds = [f"p.mk NOT IN {self.employees}"]
        if self.f.segments:
            conds.append(f"p.mk IN {self.segment_mks}")
        if use_dates:
            conds.append(self.where("p", channel=False, campaign=False, segment=False))
        if end_param:
            conds.append(f"p.day < ${end_param}")
        return f"""pday AS (
            SELECT p.mk, p.day, sum(p.amount) FILTER (WHERE NOT p.refund) AS bought, bool_or(NOT p.refund) AS is_purchase,
                   sum(p.amount) AS net
            FROM {self._lines()} p WHERE {' AND '.join(conds)} GROUP BY 1, 2),
        purch AS (SELECT mk, day, bought AS amount FROM pday WHERE is_purchase),
        rev AS (SELECT mk, day, net AS amount FROM pday)"""

    def purchase_rows(self) -> str:
        conds = [f"p.mk NOT IN {self.employees}", "NOT p.refund"]
        if self.f.segments:
            conds.append(f"p.mk IN {self.segment_mks}")
        if self.f.end is not None:
            conds.append("p.day < $f_end_excl")
        return f"""src AS (SELECT p.mk, p.occurred_at, p.occurred_at AS last_at, 1 AS n, p.channel,
                          p.channel AS last_channel FROM {self._lines()} p WHERE {' AND '.join(conds)})"""
