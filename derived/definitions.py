"""The definitions every number rests on, written once (METRICS.md, "Conventions").

The derived tables (``derived.tables``), the metrics and the trials all use these; so does the
raw-table oracle in the tests, so a definition changed here changes everywhere at once.

* **activity**: an inbound interaction by a known (``member_id`` set), non-employee member.
  Outbound interactions are the organisation's own and never count as participation.
* **answerable message**: an inbound interaction that carries an ``interaction_id`` (so a reply
  can name it) and whose action is not one of ``NOT_ANSWERABLE`` (a like or a share asks for no
  answer); configurable per metric.
* **reply**: an outbound interaction whose ``in_reply_to`` is the message's ``interaction_id``;
  the **first reply** is the earliest one. A reply stamped before the message it answers (clock
  skew between systems) still answers it, in 0 seconds.
* **ticket reply**: a service-desk ticket (Zendesk, Freshdesk) has no reply rows; its export's own
  first-reply time (``first_reply_at``, from minutes or a timestamp) is its first reply when no
  reply row answers it.
* **broadcast** (post): an outbound interaction with an ``interaction_id`` that answers nothing.
* **refund**: a transaction line flagged ``is_refund`` or with a negative amount. A **purchase**
  is a member's non-refund lines on one calendar day, merged; revenue is net (refunds included).
* **community** at a date: CRM members (latest version, non-employees) who joined on or before
  it (``joined_at``, else their first activity; neither: from the start) and had not churned
  (``churned_at`` after it). Without any members data: everyone seen in the interactions so far.
* **sentiment** of an interaction: the export's own value when given, else its text's score
  (``derived.text``); **positive** above 0.05, **negative** below -0.05, else neutral.
* **hashtags**: the ``#word`` tokens of the text (at its start or after a space or punctuation,
  not inside a URL or an HTML entity) and the words of the ``hashtags`` column, lower-cased,
  without ``#``, distinct and sorted.
* **engagements** of an organisation post (METRICS.md, "Posts and audience"): the export's own
  engagements count when it has one (X); else the sum of the interaction counts it holds:
  reactions / likes + comments + shares / reposts + saves + clicks, and follows on LinkedIn (so
  Facebook counts clicks only when "Total clicks" is given, Instagram likes + comments + shares +
  saves). A day of page statistics the same way (its own engagements, else the sum).
* **mention** (listening): an inbound interaction, by anyone (members, unknown handles and
  anonymous contacts alike: listening is about what is said, not who is a member).
"""

from __future__ import annotations

NOT_ANSWERABLE: tuple[str, ...] = ("like", "share", "view", "follow")
DEFAULT_ACTION = "interaction"  # an interaction without an action


def is_activity(direction: str, member: str, employee: str) -> str:
    """SQL: the row is activity (inbound, known member, not an employee)."""
    return f"({direction} = 'inbound' AND {member} IS NOT NULL AND NOT coalesce({employee}, FALSE))"


def answerable(action: str, not_answerable: str = "$not_answerable") -> str:
    """SQL: the action asks for an answer (``not_answerable``: a list parameter or literal)."""
    return f"NOT list_contains({not_answerable}, coalesce({action}, '{DEFAULT_ACTION}'))"


def reply_seconds(message_at: str, replied_at: str) -> str:
    """SQL: seconds from a message to its first reply (NULL when unanswered; never negative)."""
    # greatest() would turn a NULL reply into 0: keep the CASE.
    return (f"(CASE WHEN {replied_at} IS NOT NULL "
            f"THEN greatest(date_diff('second', {message_at}, {replied_at}), 0) END)")


def first_reply(from_rows: str, from_export: str) -> str:
    """SQL: a message's first reply time: the earliest reply row, else the export's own value."""
    return f"coalesce({from_rows}, {from_export})"


SENTIMENT_THRESHOLD = 0.05


def sentiment_label(score: str) -> str:
    """SQL: 'positive' / 'neutral' / 'negative' for a sentiment (NULL without one)."""
    t = SENTIMENT_THRESHOLD
    return (f"(CASE WHEN {score} > {t} THEN 'positive' WHEN {score} < -{t} THEN 'negative' "
            f"WHEN {score} IS NOT NULL THEN 'neutral' END)")


def net_sentiment(positive: str, negative: str) -> str:
    """SQL: (positive - negative) / (positive + negative); NULL when both are 0."""
    return f"(({positive}) - ({negative}))::DOUBLE / nullif(({positive}) + ({negative}), 0)"


_TAG = "[\\pL\\pN_]+"  # no braces: the SQL goes through str.format


def hashtags(text: str, column: str) -> str:
    """SQL: the hashtags of an interaction (see the module text) as a sorted list."""
    # The regex only runs on texts holding a '#' (most rows hold none: the scan stays cheap). A tag
    # starts the text or follows a space or punctuation: not '&#39;' (an HTML entity) or '/#top' (a URL).
    return (f"list_sort(list_distinct(list_concat("
            f"CASE WHEN contains({text}, '#') THEN regexp_extract_all(lower({text}), '(?:^|[^\\pL\\pN_&/])#({_TAG})', 1) "
            f"ELSE [] END, "
            f"coalesce(regexp_extract_all(lower({column}), '#?({_TAG})', 1), []))))")


_ENGAGEMENT_PARTS = ("reactions", "comments", "shares", "saves", "clicks")


def post_engagements(alias: str) -> str:
    """SQL: a post's engagements (see the module text); NULL when the row holds no count at all."""
    parts = [f"{alias}.{p}" for p in _ENGAGEMENT_PARTS]
    follows = f"CASE WHEN {alias}.network = 'linkedin' THEN {alias}.follows END"
    counts = [*parts, follows]
    summed = " + ".join(f"coalesce({c}, 0)" for c in counts)
    none = " AND ".join(f"{c} IS NULL" for c in counts)
    return f"coalesce({alias}.engagements, CASE WHEN NOT ({none}) THEN {summed} END)"


def engagement_basis(alias: str) -> str:
    """SQL: what a post's engagements were counted from, in words ('reactions + comments + shares')."""
    names = {"reactions": "reactions", "comments": "comments", "shares": "shares", "saves": "saves",
             "clicks": "clicks"}
    words = ", ".join(f"CASE WHEN {alias}.{c} IS NOT NULL THEN '{w}' END" for c, w in names.items())
    return (f"CASE WHEN {alias}.engagements IS NOT NULL THEN 'the export''s engagements' "
            f"ELSE nullif(concat_ws(' + ', {words}, CASE WHEN {alias}.network = 'linkedin' AND {alias}.follows IS NOT NULL "
            f"THEN 'follows' END), '') END")


def page_engagements(alias: str) -> str:
    """SQL: a day's engagements from page statistics: its own count, else the sum of its counts."""
    parts = [f"{alias}.{p}" for p in ("reactions", "comments", "shares", "clicks")]
    none = " AND ".join(f"{c} IS NULL" for c in parts)
    summed = " + ".join(f"coalesce({c}, 0)" for c in parts)
    return f"coalesce({alias}.page_engagements, CASE WHEN NOT ({none}) THEN {summed} END)"


def rate(numerator: str, denominator: str) -> str:
    """SQL: a fraction, empty when the denominator is 0 or missing."""
    return f"(({numerator})::DOUBLE / nullif({denominator}, 0))"


def is_refund(is_refund_col: str, amount: str) -> str:
    """SQL: the transaction line is a refund (flagged, or a negative amount)."""
    return f"(coalesce({is_refund_col}, FALSE) OR coalesce({amount}, 0) < 0)"


def joined(joined_at: str, first_activity: str) -> str:
    """SQL: the day a member joined the community (NULL: a member from the start)."""
    return f"coalesce({joined_at}, {first_activity})"


def in_community(joined_day: str, churned_day: str, at: str) -> str:
    """SQL: a member who joined on ``joined_day`` (NULL = from the start) and churned on
    ``churned_day`` (NULL = not) belongs to the community on day ``at``."""
    return f"(({joined_day} IS NULL OR {joined_day} <= {at}) AND ({churned_day} IS NULL OR {churned_day} > {at}))"
