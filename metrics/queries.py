"""Lookups the pages need that are not metrics: filter options, member search and timeline.

Filter options and the search read the derived tables; a member's timeline is the record itself
(every contact moment with its text), read from the canonical tables for that one member.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from derived import definitions as d


def filter_options(cur: duckdb.DuckDBPyConnection) -> dict:
    """Channels, segments, campaign tags and the date span (None when the workspace holds no dated rows)."""
    lo, hi = cur.execute(
        """SELECT min(d0), max(d1) FROM (
             SELECT min(day) d0, max(day) d1 FROM hourly
             UNION ALL SELECT min(day), max(day) FROM purchase_day
             UNION ALL SELECT min(published_at)::DATE, max(published_at)::DATE FROM posts
             UNION ALL SELECT min(day), max(day) FROM audience)"""
    ).fetchall()[0]
    channels = [r[0] for r in cur.execute(
        """SELECT channel FROM (SELECT DISTINCT channel FROM hourly UNION SELECT DISTINCT network FROM posts
           UNION SELECT DISTINCT network FROM audience) WHERE channel IS NOT NULL ORDER BY 1""").fetchall()]
    segments = [r[0] for r in cur.execute(
        "SELECT DISTINCT segment FROM member_dim WHERE in_crm AND segment IS NOT NULL ORDER BY 1").fetchall()]
    campaigns = [r[0] for r in cur.execute(
        "SELECT DISTINCT campaign FROM hourly WHERE campaign IS NOT NULL ORDER BY 1").fetchall()]
    span: tuple[date, date] | None = (lo, hi) if lo is not None else None
    return {"span": span, "channels": channels, "segments": segments, "campaigns": campaigns}


def find_members(cur: duckdb.DuckDBPyConnection, text: str, limit: int = 50) -> pd.DataFrame:
    """Members whose id, name or e-mail contains ``text`` (case-insensitive), most active first.
    Ids seen only in interactions or transactions (not in the CRM) are found too, a buyer also by
    the customer name on their orders (a webshop export without a CRM file)."""
    pattern = f"%{text.strip()}%"
    return cur.execute(
        """WITH cn AS (SELECT member_id, arg_max(customer_name, occurred_at) AS customer_name FROM transactions
                      WHERE customer_name IS NOT NULL GROUP BY 1),
           hits AS (
             SELECT d.mk, d.member_id, coalesce(d.name, cn.customer_name) AS name, d.segment
             FROM member_dim d LEFT JOIN cn USING (member_id)
             WHERE d.member_id ILIKE $p OR d.name ILIKE $p OR d.email ILIKE $p OR cn.customer_name ILIKE $p
             LIMIT 5000),
           n AS (SELECT mk, count(*) AS interactions FROM events WHERE mk IN (SELECT mk FROM hits) GROUP BY 1)
           SELECT h.member_id, h.name, h.segment, coalesce(n.interactions, 0) AS interactions
           FROM hits h LEFT JOIN n USING (mk)
           WHERE n.mk IS NOT NULL OR h.member_id IN (SELECT member_id FROM member_dim WHERE in_crm)
              OR h.mk IN (SELECT mk FROM purchase_day)
           ORDER BY (h.member_id = $exact) DESC, interactions DESC, h.member_id LIMIT $limit""",
        {"p": pattern, "exact": text.strip(), "limit": limit},
    ).df()


def member_profile(cur: duckdb.DuckDBPyConnection, member_id: str) -> dict | None:
    rows = cur.execute(
        """SELECT member_id, name, email, segment, persona, country, lifecycle_stage, joined_at,
                  churned_at, followers, referred_by, is_employee
           FROM members_current WHERE member_id = $m""", {"m": member_id}).df()
    stats = cur.execute(
        """SELECT count(*) FILTER (inbound) AS inbound, count(*) FILTER (NOT inbound) AS outbound,
                  min(ts) AS first_seen, max(ts) AS last_seen, count(DISTINCT channel) AS channels
           FROM events WHERE mk = (SELECT mk FROM member_dim WHERE member_id = $m)""", {"m": member_id}
    ).df().iloc[0].to_dict()
    money = cur.execute(
        """SELECT count(*) AS transactions, sum(amount)::DOUBLE AS revenue,
                  arg_max(customer_name, occurred_at) AS customer_name FROM transactions WHERE member_id = $m""",
        {"m": member_id}).df().iloc[0].to_dict()
    if rows.empty and not stats["inbound"] and not stats["outbound"] and not money["transactions"]:
        return None
    profile = rows.iloc[0].to_dict() if not rows.empty else {"member_id": member_id, "in_crm": False}
    profile.setdefault("in_crm", True)
    if not profile.get("name") or pd.isna(profile.get("name")):
        profile["name"] = money.get("customer_name")  # the name on their orders
    return {**profile, **stats, **money}


def member_timeline(cur: duckdb.DuckDBPyConnection, member_id: str) -> pd.DataFrame:
    """Every contact moment of one member, newest first: inbound and outbound interactions and
    transactions, with the response time of each answered inbound message."""
    label = d.sentiment_label("coalesce(m.sentiment, s.score)")
    tags = d.hashtags("m.text", "m.hashtags")
    return cur.execute(
        f"""WITH mine AS (SELECT * FROM interactions WHERE member_id = $m),
           first_reply AS (
             SELECT r.in_reply_to AS id, min(r.occurred_at) AS replied_at, arg_min(r.agent, (r.occurred_at, r.agent)) AS agent
             FROM interactions r
             WHERE r.direction = 'outbound' AND r.in_reply_to IN (SELECT interaction_id FROM mine)
             GROUP BY 1)
           SELECT m.occurred_at AS "when", m.channel, m.direction, m.action, m.text,
                  coalesce(m.agent, CASE WHEN m.direction = 'inbound' THEN fr.agent END) AS agent,
                  coalesce(m.sentiment, s.score) AS sentiment, {label} AS sentiment_label, s.lang AS language,
                  array_to_string(list_transform({tags}, lambda x: '#' || x), ' ') AS hashtags,
                  (SELECT string_agg(topic, ', ' ORDER BY topic) FROM text_topics tt WHERE tt.text_key = s.text_key) AS topics,
                  m.campaign,
                  CASE WHEN m.direction = 'inbound' THEN
                       round(date_diff('second', m.occurred_at, fr.replied_at) / 3600.0, 2) END AS response_hours,
                  NULL::DOUBLE AS amount, m.interaction_id AS id
           FROM mine m LEFT JOIN first_reply fr ON fr.id = m.interaction_id
           LEFT JOIN text_scores s ON s.text_key = hash(m.text) AND m.text IS NOT NULL
           UNION ALL
           SELECT t.occurred_at, coalesce(t.channel, 'purchase'), 'inbound',
                  CASE WHEN t.is_refund THEN 'refund' ELSE 'purchase' END, t.product, NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL, NULL, t.amount::DOUBLE, coalesce(t.transaction_id, t.order_id)
           FROM transactions t WHERE t.member_id = $m
           ORDER BY 1 DESC""",
        {"m": member_id},
    ).df()


def suggest_keywords(cur: duckdb.DuckDBPyConnection, limit: int = 24) -> pd.DataFrame:
    """Words (lemmas) that many inbound texts hold and no topic uses yet (``topic_forms``: the
    keywords in every form), with how many inbound interactions hold them and their net sentiment:
    candidates for a topic's keywords. Common words (``derived.text.stopwords``) are left out."""
    from derived.text import stopwords

    return cur.execute(
        f"""WITH words AS (SELECT text_key, unnest(lemmas) AS word FROM text_scores),
                 uses AS (SELECT text_key, count(*) AS n, count(*) FILTER (WHERE sentiment > 0.05) AS pos,
                                 count(*) FILTER (WHERE sentiment < -0.05) AS neg
                          FROM events e WHERE inbound AND text_key IS NOT NULL GROUP BY 1)
            SELECT w.word AS keyword, sum(u.n)::BIGINT AS interactions,
                   ((sum(u.pos) - sum(u.neg)) / nullif(sum(u.pos) + sum(u.neg), 0))::DOUBLE AS net_sentiment
            FROM (SELECT DISTINCT text_key, word FROM words) w JOIN uses u USING (text_key)
            WHERE length(w.word) >= 4
              AND w.word NOT IN (SELECT unnest($stop::VARCHAR[])) AND w.word NOT IN (SELECT form FROM topic_forms)
            GROUP BY 1 ORDER BY interactions DESC, keyword LIMIT {int(limit)}""",
        {"stop": sorted(stopwords())}).df()
