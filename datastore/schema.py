"""Canonical workspace schema, its field catalogue and the migrations that build it.

Timestamps are stored as naive ``TIMESTAMP`` holding wall-clock time in the workspace time
zone (setting ``time_zone``, default UTC): period boundaries (day, ISO week, month) are then a
plain ``date_trunc``. Values that carry a zone in the file are converted on import; values
without one are taken to be in the workspace zone already.

Every imported row carries ``import_id`` (so an import can be undone exactly) and ``row_hash``
(a hash of its canonical values, used to judge overlap of keyless rows as a multiset). Every
import that stores rows and every undo is written to the journal ``changes``; ``derived.sync``
applies it to the derived tables the metrics read.
"""

from __future__ import annotations

from dataclasses import dataclass

DATASETS: tuple[str, ...] = ("interactions", "members", "transactions", "posts", "audience")


@dataclass(frozen=True)
class Field:
    """One canonical column a file column can be mapped onto."""

    name: str
    kind: str  # text | id | timestamp | date | number | integer | ratio | boolean | channel | direction | sentiment
    required: bool = False
    description: str = ""


FIELDS: dict[str, tuple[Field, ...]] = {
    "interactions": (
        Field("occurred_at", "timestamp", True, "when it happened"),
        Field("channel", "channel", True, "x, facebook, instagram, linkedin, forum, email, phone, chat, store, ..."),
        Field("member_id", "id", False, "the customer / participant (empty = anonymous)"),
        Field("action", "action", False, "post, comment, reply, like, share, mention, review, call, visit, ..."),
        Field("direction", "direction", False, "inbound (from the customer) or outbound (from us)"),
        Field("interaction_id", "id", False, "unique id of this interaction (natural key)"),
        Field("in_reply_to", "id", False, "interaction_id this one answers"),
        Field("agent", "text", False, "employee who sent an outbound message"),
        Field("text", "text", False, "message text"),
        Field("hashtags", "text", False, "hashtags"),
        Field("campaign", "text", False, "campaign tag"),
        Field("sentiment", "sentiment", False, "-1 .. 1 or positive / neutral / negative"),
        Field("reach", "integer", False, "impressions or audience"),
        Field("first_reply_at", "timestamp", False, "when the first reply was sent (ticket exports)"),
        Field("first_reply_minutes", "number", False, "minutes to the first reply (ticket exports)"),
        Field("solved_at", "timestamp", False, "when the ticket was solved / resolved"),
        Field("channel_raw", "text", False, "the channel as the export wrote it (kept on import)"),
    ),
    "members": (
        Field("member_id", "id", True, "customer / participant key"),
        Field("name", "text", False, "display name (or the first name, with last_name)"),
        Field("last_name", "text", False, "last name (joined to the name)"),
        Field("email", "text", False, "e-mail address"),
        Field("joined_at", "date", False, "sign-up / became customer"),
        Field("churned_at", "date", False, "cancelled / left"),
        Field("segment", "text", False, "segment"),
        Field("persona", "text", False, "persona"),
        Field("country", "text", False, "country"),
        Field("lifecycle_stage", "text", False, "lead, prospect, customer, repeat, advocate, ..."),
        Field("followers", "integer", False, "audience size"),
        Field("referred_by", "id", False, "member_id of the referrer"),
        Field("is_employee", "boolean", False, "employees are excluded from participation"),
    ),
    "transactions": (
        Field("member_id", "id", True, "the customer"),
        Field("occurred_at", "timestamp", True, "when it happened"),
        Field("amount", "number", True, "value (quantity x unit price when missing)"),
        Field("quantity", "number", False, "quantity"),
        Field("unit_price", "number", False, "price per unit"),
        Field("transaction_id", "id", False, "unique id of this line (natural key)"),
        Field("order_id", "id", False, "order / invoice number (may repeat over lines)"),
        Field("product", "text", False, "product"),
        Field("channel", "channel", False, "sales channel"),
        Field("is_refund", "boolean", False, "cancellation / refund line"),
        Field("status", "text", False, "order status (cancelled / refunded orders are left out)"),
        Field("customer_name", "text", False, "the customer's name on the order"),
    ),
    "posts": (
        Field("post_id", "id", True, "the platform's id of the post"),
        Field("network", "channel", True, "x, facebook, instagram, linkedin, ..."),
        Field("published_at", "timestamp", True, "when the post was published"),
        Field("text", "text", False, "post text / description"),
        Field("post_type", "text", False, "photo, video, reel, link, ..."),
        Field("permalink", "text", False, "link to the post"),
        Field("impressions", "integer", False, "times shown (Instagram: views)"),
        Field("reach", "integer", False, "distinct accounts reached"),
        Field("engagements", "integer", False, "the export's own engagements count (X)"),
        Field("reactions", "integer", False, "reactions / likes / favorites"),
        Field("comments", "integer", False, "comments / replies"),
        Field("shares", "integer", False, "shares / reposts / retweets"),
        Field("saves", "integer", False, "saves"),
        Field("clicks", "integer", False, "clicks (link / total clicks)"),
        Field("video_views", "integer", False, "video / media views"),
        Field("follows", "integer", False, "follows from the post"),
        Field("platform_engagement_rate", "ratio", False, "the export's own engagement rate (fraction or %)"),
    ),
    "audience": (
        Field("day", "date", True, "the day the figures are for"),
        Field("network", "channel", True, "x, facebook, instagram, linkedin, ..."),
        Field("followers", "integer", False, "followers in total at the end of the day"),
        Field("followers_organic", "integer", False, "organic followers (total)"),
        Field("followers_paid", "integer", False, "paid / sponsored followers (total)"),
        Field("new_followers", "integer", False, "followers gained that day"),
        Field("unfollows", "integer", False, "followers lost that day"),
        Field("page_impressions", "integer", False, "impressions of the page's content that day"),
        Field("page_engagements", "integer", False, "engagements with the page's content that day"),
        Field("clicks", "integer", False, "clicks that day"),
        Field("reactions", "integer", False, "reactions / likes that day"),
        Field("comments", "integer", False, "comments that day"),
        Field("shares", "integer", False, "shares / reposts that day"),
        Field("posts_published", "integer", False, "posts published that day"),
        Field("platform_engagement_rate", "ratio", False, "the export's own engagement rate that day"),
    ),
}

NATURAL_KEY: dict[str, str] = {
    "interactions": "interaction_id",
    "transactions": "transaction_id",
    "members": "member_id",
    "posts": "post_id",
    "audience": "day",
}

# Datasets whose rows are versions of one thing: a later import's row replaces the stored one with
# the same key (a member's latest CRM row, a post's latest lifetime figures, a network's day).
VERSIONED: dict[str, tuple[str, ...]] = {
    "members": ("member_id",),
    "posts": ("network", "post_id"),
    "audience": ("network", "day"),
}

SQL_TYPE: dict[str, str] = {
    "text": "VARCHAR",
    "id": "VARCHAR",
    "action": "VARCHAR",
    "channel": "VARCHAR",
    "direction": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "number": "DECIMAL(18,4)",
    "integer": "BIGINT",
    "ratio": "DOUBLE",
    "boolean": "BOOLEAN",
    "sentiment": "DOUBLE",
}


def field_names(dataset: str) -> list[str]:
    return [f.name for f in FIELDS[dataset]]


def get_field(dataset: str, name: str) -> Field:
    for f in FIELDS[dataset]:
        if f.name == name:
            return f
    raise ValueError(f"{name!r} is not a field of {dataset}")


def _table_ddl(dataset: str, fields: tuple[Field, ...]) -> str:
    cols = []
    for f in fields:
        not_null = " NOT NULL" if f.required else ""
        cols.append(f"{f.name} {SQL_TYPE[f.kind]}{not_null}")
    cols += ["extra JSON", "import_id INTEGER NOT NULL", "row_hash UBIGINT NOT NULL"]
    return f"CREATE TABLE {dataset} (\n  " + ",\n  ".join(cols) + "\n)"


# Version 1: the canonical tables as first released (members without name / email, and without
# the fields migration 5 adds).
ADDED_V5 = {"interactions": ("first_reply_at", "first_reply_minutes", "solved_at", "channel_raw"),
            "members": ("last_name",), "transactions": ("status", "customer_name")}


def _v1(dataset: str) -> tuple[Field, ...]:
    drop = ADDED_V5.get(dataset, ()) + (("name", "email") if dataset == "members" else ())
    return tuple(f for f in FIELDS[dataset] if f.name not in drop)

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "canonical tables, import log, rejects, settings",
        [
            "CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR)",
            _table_ddl("interactions", _v1("interactions")),
            _table_ddl("members", _v1("members")),
            _table_ddl("transactions", _v1("transactions")),
            """CREATE TABLE imports (
                import_id INTEGER PRIMARY KEY,
                file_name VARCHAR NOT NULL,
                content_hash VARCHAR NOT NULL,
                dataset VARCHAR NOT NULL,
                rows_read BIGINT NOT NULL,
                rows_loaded BIGINT NOT NULL,
                rows_rejected BIGINT NOT NULL,
                rows_duplicate BIGINT NOT NULL,
                mapping JSON,
                options JSON,
                imported_at TIMESTAMP NOT NULL,
                status VARCHAR NOT NULL
            )""",
            """CREATE TABLE rejects (
                import_id INTEGER NOT NULL,
                row_number BIGINT NOT NULL,
                column_name VARCHAR,
                raw_value VARCHAR,
                reason VARCHAR NOT NULL
            )""",
        ],
    ),
    (
        2,
        "members get name and e-mail; members_current view (latest version of each member)",
        [
            "ALTER TABLE members ADD COLUMN name VARCHAR",
            "ALTER TABLE members ADD COLUMN email VARCHAR",
            "ALTER TABLE imports ADD COLUMN rows_updated BIGINT DEFAULT 0",
            "ALTER TABLE imports ADD COLUMN message VARCHAR",
            """CREATE VIEW members_current AS
               SELECT * EXCLUDE (rn) FROM (
                 SELECT *, row_number() OVER (PARTITION BY member_id ORDER BY import_id DESC) AS rn
                 FROM members)
               WHERE rn = 1""",
        ],
    ),
    (
        3,
        "targets and trials (meten is weten): audited plans, archived instead of deleted",
        [
            """CREATE TABLE targets (
                target_id INTEGER PRIMARY KEY,
                name VARCHAR NOT NULL,
                metric VARCHAR NOT NULL,
                options JSON,
                channels VARCHAR[],
                segments VARCHAR[],
                campaigns VARCHAR[],
                direction VARCHAR NOT NULL,
                baseline DOUBLE,
                target_value DOUBLE NOT NULL,
                start_date DATE NOT NULL,
                due_date DATE NOT NULL,
                owner VARCHAR,
                note VARCHAR,
                archived_at TIMESTAMP,
                archived_by VARCHAR,
                created_at TIMESTAMP NOT NULL,
                created_by VARCHAR NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                updated_by VARCHAR NOT NULL
            )""",
            """CREATE TABLE trials (
                trial_id INTEGER PRIMARY KEY,
                name VARCHAR NOT NULL,
                hypothesis VARCHAR NOT NULL,
                change VARCHAR,
                goal_metric VARCHAR NOT NULL,
                guardrail_metrics VARCHAR[],
                treatment JSON,
                control JSON,
                planned_split DOUBLE,
                start_date DATE NOT NULL,
                end_date DATE NOT NULL,
                owner VARCHAR,
                note VARCHAR,
                decision VARCHAR,
                decision_note VARCHAR,
                decided_at TIMESTAMP,
                decided_by VARCHAR,
                created_at TIMESTAMP NOT NULL,
                created_by VARCHAR NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                updated_by VARCHAR NOT NULL
            )""",
        ],
    ),
]

MIGRATIONS.append((
    4,
    "journal of changes (the derived tables apply it incrementally); rows an undo deletes are kept until applied",
    [
        """CREATE TABLE changes (
            change_id INTEGER PRIMARY KEY,
            import_id INTEGER NOT NULL,
            dataset VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            changed_at TIMESTAMP NOT NULL
        )""",
        *(f"CREATE TABLE removed_{ds} AS SELECT *, NULL::INTEGER AS change_id FROM {ds} LIMIT 0" for ds in DATASETS[:3]),
        "DELETE FROM settings WHERE key = 'rollups_data_version'",
    ],
))
# A migration that adds a column to a canonical table adds it to its removed_<dataset> table too
# (an undo copies the rows BY NAME).

def _add_columns(dataset: str) -> list[str]:
    out = []
    for name in ADDED_V5[dataset]:
        f = get_field(dataset, name)
        out += [f"ALTER TABLE {t} ADD COLUMN {f.name} {SQL_TYPE[f.kind]}" for t in (dataset, f"removed_{dataset}")]
    return out


MIGRATIONS.append((
    5,
    "posts and audience (organisation posts, daily page statistics) as versioned datasets; ticket reply "
    "times, the raw channel, order status and customer name",
    [
        # The derived table of broadcasts was called posts before (derived.tables VERSION 5 renames it).
        "DROP TABLE IF EXISTS posts",
        _table_ddl("posts", FIELDS["posts"]),
        _table_ddl("audience", FIELDS["audience"]),
        *(f"CREATE TABLE removed_{ds} AS SELECT *, NULL::INTEGER AS change_id FROM {ds} LIMIT 0"
          for ds in ("posts", "audience")),
        *(sql for ds in ADDED_V5 for sql in _add_columns(ds)),
        # The latest version of each post; per network and day the latest value of each figure (a
        # page-content export and a followers export fill different columns of the same day).
        """CREATE VIEW posts_current AS
           SELECT * EXCLUDE (rn) FROM (
             SELECT *, row_number() OVER (PARTITION BY network, post_id ORDER BY import_id DESC) AS rn
             FROM posts)
           WHERE rn = 1""",
        "CREATE VIEW audience_current AS SELECT day, network, "
        + ", ".join(f"arg_max({f.name}, import_id) FILTER (WHERE {f.name} IS NOT NULL) AS {f.name}"
                    for f in FIELDS["audience"][2:])
        + " FROM audience GROUP BY day, network",
    ],
))

SCHEMA_VERSION: int = MIGRATIONS[-1][0]
