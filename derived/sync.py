"""Keep the derived tables in step with the canonical tables, incrementally.

The importer writes a journal (``changes``: every import that loaded rows, every undo; an undo
keeps the rows it deleted in ``removed_<dataset>`` until they are applied here). ``sync`` applies
the journal entries after the one the derived tables were built to (setting ``derived_state``):

1. ``member_dim``: new member ids get the next keys; the ids whose CRM rows changed get their
   attributes again, and the members whose employee or CRM flag flipped are *touched*;
2. ``events``: the rows of undone imports out, the rows of new imports in, the rows of touched
   members re-flagged, and the first reply of every message a new or removed reply answers;
3. every other table: only the partitions (days, weeks, months, members, actions) that the old
   or new versions of the changed events (or transaction lines) fall in are recomputed, from
   ``events`` with the table's own SELECT (``derived.tables``), in dependency order.

All of it in one transaction, so a reader sees the tables before or after, never half. A change
that rewrites a large part of the data (the first import of a file, say) is cheaper as a full
build: then every table is built from scratch (the same SELECTs without restriction).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import duckdb
import pandas as pd

from datastore.schema import DATASETS
from datastore.workspace import get_setting, set_setting
from derived import tables as T
from derived import text as text_analysis

STATE = "derived_state"
FULL_BUILD_SHARE = 0.25  # a change touching more than this share of the interactions rebuilds in full
_LOCK = threading.Lock()  # one writer per process (DuckDB allows one writing process per file)

Progress = Callable[[float, str], None]


@dataclass
class SyncReport:
    mode: str  # "none" | "incremental" | "full"
    changes: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)


def _last_change(cur: duckdb.DuckDBPyConnection) -> int:
    return int(cur.execute("SELECT coalesce(max(change_id), 0) FROM changes").fetchall()[0][0])


def _state(cur: duckdb.DuckDBPyConnection) -> tuple[int | None, int]:
    """(derived tables' version, last change applied); version None when never built."""
    value = get_setting(cur, STATE)
    if not value or ":" not in value:
        return None, 0
    version, applied = value.split(":")[:2]
    return int(version.lstrip("v")), int(applied)


def _present(cur: duckdb.DuckDBPyConnection) -> bool:
    names = {r[0] for r in cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    return all(n in names for n in T.NAMES)


def stale(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the derived tables miss journal entries (or were built by another version, or
    their texts read by other scorers)."""
    with con.cursor() as cur:
        version, applied = _state(cur)
        return version != T.VERSION or applied < _last_change(cur) or _other_scorer(cur)


def _other_scorer(cur: duckdb.DuckDBPyConnection) -> bool:
    """Texts scored by other scorers (derived.text.SCORER): every text is read again, and every
    table that holds a sentiment is rebuilt with it (a full build)."""
    exists = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                         "AND table_name = 'text_scores'").fetchall()[0][0]
    return bool(exists) and bool(cur.execute(
        "SELECT EXISTS (SELECT 1 FROM text_scores WHERE scorer <> $s)", {"s": text_analysis.SCORER}).fetchall()[0][0])


def ensure(con: duckdb.DuckDBPyConnection, progress: Progress | None = None) -> tuple[str, str, str]:
    """Sync when stale; returns (database file, workspace id, derived state): a cache key that
    changes with every change applied (the file tells copies of one workspace apart)."""
    if stale(con):
        sync(con, progress)
    with con.cursor() as cur:
        ident = get_setting(cur, "workspace_id")
        if not ident:  # a workspace from before the setting (datastore.workspace sets it on open)
            ident = uuid.uuid4().hex
            set_setting(cur, "workspace_id", ident)
        path = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                           ).fetchall()[0][0]
        return str(path), ident, get_setting(cur, STATE) or ""


def sync(con: duckdb.DuckDBPyConnection, progress: Progress | None = None, *, full: bool = False,
         rescore: bool = False) -> SyncReport:
    """Bring the derived tables up to date (a no-op when they are). ``full``: rebuild everything;
    ``rescore``: and score every text again (in the same transaction)."""
    say = progress or (lambda _f, _t: None)
    with _LOCK, con.cursor() as cur:
        started = time.perf_counter()
        version, applied = _state(cur)
        last = _last_change(cur)
        rebuild = full or rescore or version != T.VERSION or not _present(cur) or _other_scorer(cur)
        if not rebuild and applied >= last:
            return SyncReport("none")
        pending = cur.execute(
            "SELECT change_id, import_id, dataset, kind FROM changes WHERE change_id > ? ORDER BY change_id",
            [applied]).fetchall()
        if not rebuild:
            rebuild = _large(cur, pending)
        report = SyncReport("full" if rebuild else "incremental", len(pending))
        cur.execute("BEGIN TRANSACTION")
        try:
            if rebuild:
                _full(cur, say, report, rescore=rescore)
            else:
                _incremental(cur, pending, say, report)
            for ds in DATASETS:
                cur.execute(f"DELETE FROM removed_{ds} WHERE change_id <= ?", [last])
            # The state names the build too: caches keyed on it never outlive a full build.
            build = uuid.uuid4().hex[:8] if rebuild else (get_setting(cur, STATE) or "::").split(":")[2]
            set_setting(cur, STATE, f"v{T.VERSION}:{last}:{build}")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        finally:
            for name in ("_todo", "_add_i", "_rem_i", "_add_t", "_rem_t", "_ids", "_flip", "_crm_flip", "_rows", "_replied",
                         *(f"_k_{k}" for k in _KEYS)):
                cur.execute(f"DROP TABLE IF EXISTS {name}")
        _checkpoint(cur)
        report.seconds = round(time.perf_counter() - started, 3)
        return report


def _checkpoint(cur: duckdb.DuckDBPyConnection) -> None:
    """Write the import (or undo) and the rebuilt tables into the file now, not at some later
    automatic checkpoint: a kill after this point replays nothing, and the blocks the old derived
    tables held are free for the next change. Skipped (DuckDB says so) while another connection
    of the process is in a transaction; the automatic checkpoint then does it later."""
    try:
        cur.execute("CHECKPOINT")
    except duckdb.Error:
        pass


def _large(cur: duckdb.DuckDBPyConnection, pending: list[tuple]) -> bool:
    """Does the pending change rewrite a large share of the interactions?"""
    added = [imp for _c, imp, ds, kind in pending if ds == "interactions" and kind == "import"]
    undone = [c for c, _imp, ds, kind in pending if ds == "interactions" and kind == "undo"]
    stored = cur.execute("SELECT count(*) FROM events").fetchall()[0][0]
    moved = 0
    if added:
        moved += cur.execute("SELECT count(*) FROM interactions WHERE list_contains($a, import_id)",
                             {"a": added}).fetchall()[0][0]
    if undone:
        moved += cur.execute("SELECT count(*) FROM removed_interactions WHERE list_contains($u, change_id)",
                             {"u": undone}).fetchall()[0][0]
    return moved > FULL_BUILD_SHARE * max(stored, 1)


# ------------------------------------------------------------------------------------------------
# Full build
# ------------------------------------------------------------------------------------------------
def _timed(report: SyncReport, name: str, cur: duckdb.DuckDBPyConnection, sql: str, params=None) -> None:
    t = time.perf_counter()
    cur.execute(sql, params or {})
    report.steps[name] = round(report.steps.get(name, 0) + time.perf_counter() - t, 3)


def _full(cur: duckdb.DuckDBPyConnection, say: Progress, report: SyncReport, *, rescore: bool = False) -> None:
    for name in T.OBSOLETE:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
    say(0.05, "Numbering the members")
    _timed(report, "member_dim", cur, T.MEMBER_DIM)
    if rescore:
        for sql in T.TEXT_TABLES:
            cur.execute(sql)
        cur.execute("DELETE FROM text_scores")
        cur.execute("DELETE FROM text_topics")
    _texts(cur, "interactions", say, report)
    _prune_texts(cur, "(SELECT text_key FROM text_scores)")
    if not cur.execute("SELECT count(*) FROM topic_forms").fetchall()[0][0] and topic_rules(cur):
        _match_topics(cur, "(SELECT text_key FROM text_scores)")  # a workspace from before topic_forms
    say(0.15, "Preparing the interactions")
    _timed(report, "events", cur, "CREATE OR REPLACE TABLE events AS " + T.EVENTS.format(where="TRUE", replies="TRUE"))
    for i, table in enumerate(T.TABLES):
        say(0.3 + 0.6 * i / len(T.TABLES), f"Preparing {table.name.replace('_', ' ')}")
        _timed(report, table.name, cur, f"CREATE OR REPLACE TABLE {table.name} AS " + table.select.format(where="TRUE"))
    say(0.95, "Preparing daily active members")
    _timed(report, "daily_active", cur, "CREATE OR REPLACE TABLE daily_active AS "
           + T.DAILY_ACTIVE.format(lo="$lo", hi="$hi"), {"lo": None, "hi": None})


# ------------------------------------------------------------------------------------------------
# Incremental
# ------------------------------------------------------------------------------------------------
# Touched-key sets: name -> the key column's type. Filled from the old and new versions of the
# changed rows (_rows) and transaction lines; each derived table names the set it is split by.
_KEYS = {"day": "DATE", "week": "DATE", "month": "DATE", "member": "INTEGER", "contact_day": "DATE",
         "post_day": "DATE", "action": "VARCHAR", "purchase_day": "DATE"}


def _ids_of(pending: list[tuple], dataset: str, kind: str, column: int) -> list[int]:
    return [row[column] for row in pending if row[2] == dataset and row[3] == kind]


def _incremental(cur: duckdb.DuckDBPyConnection, pending: list[tuple], say: Progress, report: SyncReport) -> None:
    # a_x: import ids loaded into dataset x; u_x: change ids of its undos (the tombstones' key);
    # undone_i: the import ids those undos removed from the interactions.
    p = {f"a_{ds[0]}": _ids_of(pending, ds, "import", 1) for ds in DATASETS}
    p |= {f"u_{ds[0]}": _ids_of(pending, ds, "undo", 0) for ds in DATASETS}
    p["undone_i"] = _ids_of(pending, "interactions", "undo", 1)

    # The changed canonical rows: present ones of new imports, removed ones of undos.
    cur.execute("CREATE OR REPLACE TEMP TABLE _add_i AS SELECT * FROM interactions WHERE list_contains($a_i, import_id)",
                {"a_i": p["a_i"]})
    cur.execute("CREATE OR REPLACE TEMP TABLE _rem_i AS SELECT * FROM removed_interactions WHERE list_contains($u_i, change_id)",
                {"u_i": p["u_i"]})
    cur.execute("""CREATE OR REPLACE TEMP TABLE _add_t AS SELECT member_id, occurred_at FROM transactions
                   WHERE list_contains($a_t, import_id)""", {"a_t": p["a_t"]})
    cur.execute("""CREATE OR REPLACE TEMP TABLE _rem_t AS SELECT member_id, occurred_at FROM removed_transactions
                   WHERE list_contains($u_t, change_id)""", {"u_t": p["u_t"]})

    say(0.1, "Numbering new members")
    _members(cur, p, report)
    _texts(cur, "_add_i", say, report)
    if p["u_i"]:  # the texts only undone rows held leave the workspace with them
        _prune_texts(cur, "(SELECT hash(text) FROM _rem_i WHERE text IS NOT NULL)")
    say(0.3, "Updating the interactions")
    _events(cur, p, report)
    _touched(cur, report)
    for i, table in enumerate(T.TABLES):
        say(0.4 + 0.5 * i / len(T.TABLES), f"Updating {table.name.replace('_', ' ')}")
        keys = f"(SELECT k FROM _k_{table.keys})"
        if not cur.execute(f"SELECT count(*) FROM _k_{table.keys}").fetchall()[0][0]:
            continue
        _timed(report, table.name, cur, f"DELETE FROM {table.name} WHERE {table.key} IN {keys}")
        _timed(report, table.name, cur, f"INSERT INTO {table.name} BY NAME "
               + table.select.format(where=table.restrict.format(keys=keys)))
    _daily_active(cur, say, report)


def _daily_active(cur: duckdb.DuckDBPyConnection, say: Progress, report: SyncReport) -> None:
    """A change of activity on day k changes the values of [k, k + 30]; when the span (first
    activity to last + 30) grows or shrinks, the days between the old and new ends are added or
    removed too. Days outside the new span go; [lo, hi] covering both is written again."""
    lo, hi = cur.execute("SELECT min(k), max(k) + 30 FROM _k_day WHERE k IN (SELECT day FROM _rows WHERE activity)"
                         ).fetchall()[0]
    if lo is None:
        return
    say(0.95, "Updating daily active members")
    old_lo, old_hi = cur.execute("SELECT min(day), max(day) FROM daily_active").fetchall()[0]
    new_lo, new_hi = cur.execute("SELECT min(day), max(day) + 30 FROM member_days").fetchall()[0]
    if new_lo is None:
        _timed(report, "daily_active", cur, "DELETE FROM daily_active")
        return
    if old_lo is None:
        lo, hi = new_lo, new_hi
    else:  # days the span gained: [new_lo, old_lo) and (old_hi, new_hi]
        if new_lo < old_lo:
            lo, hi = min(lo, new_lo), max(hi, old_lo - timedelta(days=1))
        if new_hi > old_hi:
            lo, hi = min(lo, old_hi + timedelta(days=1)), max(hi, new_hi)
    bounds = {"lo": lo, "hi": hi, "s_lo": new_lo, "s_hi": new_hi}
    _timed(report, "daily_active", cur, "DELETE FROM daily_active WHERE day BETWEEN $lo AND $hi "
           "OR day < $s_lo OR day > $s_hi", bounds)
    _timed(report, "daily_active", cur, "INSERT INTO daily_active BY NAME " + T.DAILY_ACTIVE.format(lo="$lo", hi="$hi"),
           {"lo": lo, "hi": hi})


# ------------------------------------------------------------------------------------------------
# Texts: language, sentiment, lemmas and topics per distinct text (derived.text)
# ------------------------------------------------------------------------------------------------
TEXT_BATCH = 50_000  # texts scored per round trip
TOPICS = "topics"  # the setting that holds the topic rules: {"topic": ["keyword", "a phrase"], ...}


def _texts(cur: duckdb.DuckDBPyConnection, source: str, say: Progress, report: SyncReport) -> None:
    """Score the texts of ``source`` that ``text_scores`` does not hold yet (all of them again
    when the scorers changed) and match them with the topic rules."""
    t = time.perf_counter()
    for sql in T.TEXT_TABLES:
        cur.execute(sql)
    if cur.execute("SELECT count(*) FROM text_scores WHERE scorer <> $s", {"s": text_analysis.SCORER}).fetchall()[0][0]:
        cur.execute("DELETE FROM text_scores")
        cur.execute("DELETE FROM text_topics")
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE _todo AS
        SELECT row_number() OVER () AS rn, text FROM (
            SELECT DISTINCT text FROM {source} WHERE text IS NOT NULL
            AND hash(text) NOT IN (SELECT text_key FROM text_scores))""")
    total = cur.execute("SELECT count(*) FROM _todo").fetchall()[0][0]
    for lo in range(0, total, TEXT_BATCH):  # batches: memory stays flat however many texts there are
        texts = [r[0] for r in cur.execute("SELECT text FROM _todo WHERE rn > $lo AND rn <= $hi ORDER BY rn",
                                           {"lo": lo, "hi": lo + TEXT_BATCH}).fetchall()]
        say(0.1 + 0.1 * lo / total, f"Reading texts (language, sentiment): {lo:,} of {total:,}")
        scored = text_analysis.analyse_many(
            texts, lambda done, _n, lo=lo: say(0.1 + 0.1 * (lo + done) / total, f"Reading texts: {lo + done:,} of {total:,}"))
        frame = pd.DataFrame({"text": texts, "lang": [a.lang for a in scored], "score": [a.score for a in scored],
                              "lemmas": [list(a.lemmas) for a in scored]})
        cur.register("_scored", frame)
        try:
            cur.execute("""INSERT INTO text_scores SELECT hash(text), text, lang, score, CAST(lemmas AS VARCHAR[]), $s
                           FROM _scored""", {"s": text_analysis.SCORER})
        finally:
            cur.unregister("_scored")
    if total:
        _match_topics(cur, "(SELECT hash(text) FROM _todo)")
    cur.execute("DROP TABLE _todo")
    report.steps["texts"] = round(time.perf_counter() - t, 3)
    report.steps["texts_scored"] = total


def topic_rules(cur: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """The workspace's topics: name -> keywords (words match by lemma, phrases as written)."""
    raw = get_setting(cur, TOPICS)
    try:
        rules = json.loads(raw) if raw else {}
    except ValueError:
        rules = {}
    return {str(k): tuple(str(w) for w in v) for k, v in rules.items() if isinstance(v, list)}


def clean_rules(rules: dict) -> dict[str, list[str]]:
    """Topic names trimmed, keywords trimmed and lower-cased, empty ones dropped; ValueError on a
    topic without keywords."""
    out: dict[str, list[str]] = {}
    for name, words in rules.items():
        topic = str(name).strip()
        kws = sorted({str(w).strip().lower() for w in (words or ()) if str(w).strip()})
        if not topic:
            continue
        if not kws:
            raise ValueError(f"topic {topic!r} has no keywords")
        out[topic] = kws
    return out


def _prune_texts(cur: duckdb.DuckDBPyConnection, keys: str) -> None:
    """Forget the per-text rows among ``keys`` that no stored interaction holds any more."""
    held = f"(SELECT hash(text) FROM interactions WHERE text IS NOT NULL AND hash(text) IN {keys})"
    cur.execute(f"DELETE FROM text_scores WHERE text_key IN {keys} AND text_key NOT IN {held}")
    cur.execute("DELETE FROM text_topics WHERE text_key NOT IN (SELECT text_key FROM text_scores)")


def _match_topics(cur: duckdb.DuckDBPyConnection, keys: str) -> None:
    """Match the texts ``keys`` with the topic rules: a word by its forms against the text's lemmas
    (a hash join), a phrase as written in the lower-cased text."""
    rules = topic_rules(cur)
    cur.execute(f"DELETE FROM text_topics WHERE text_key IN {keys}")
    rows = [(topic, kw, list(text_analysis.keyword_forms(kw)), " " in kw)
            for topic, kws in rules.items() for kw in kws]
    frame = pd.DataFrame(rows, columns=["topic", "keyword", "forms", "phrase"])
    cur.register("_rules", frame)
    try:
        # The forms as matched (the Listening page's suggestions leave them out without lemmatizing).
        cur.execute("DELETE FROM topic_forms")
        if not rows:
            return
        cur.execute("INSERT INTO topic_forms SELECT topic, keyword, unnest(CAST(forms AS VARCHAR[])) FROM _rules")
        cur.execute(f"""INSERT INTO text_topics
            WITH todo AS (SELECT text_key, lemmas, text FROM text_scores WHERE text_key IN {keys}),
            words AS (SELECT DISTINCT topic, unnest(CAST(forms AS VARCHAR[])) AS form FROM _rules WHERE NOT phrase),
            phrases AS (SELECT topic, keyword FROM _rules WHERE phrase)
            SELECT DISTINCT text_key, topic FROM (
                SELECT t.text_key, w.topic FROM (SELECT text_key, unnest(lemmas) AS lemma FROM todo) t
                JOIN words w ON w.form = t.lemma
                UNION ALL
                SELECT t.text_key, p.topic FROM (SELECT text_key, lower(text) AS low FROM todo) t
                JOIN phrases p ON contains(t.low, p.keyword))""")
    finally:
        cur.unregister("_rules")


def set_topics(con: duckdb.DuckDBPyConnection, rules: dict) -> dict[str, list[str]]:
    """Store the topic rules and match every stored text with them (one transaction; the derived
    state changes, so no cached number outlives the old rules). Returns the rules as stored."""
    clean = clean_rules(rules)
    with _LOCK, con.cursor() as cur:
        cur.execute("BEGIN TRANSACTION")
        try:
            set_setting(cur, TOPICS, json.dumps(clean, ensure_ascii=False))
            for sql in T.TEXT_TABLES:
                cur.execute(sql)
            _match_topics(cur, "(SELECT text_key FROM text_scores)")
            version, applied = _state(cur)
            if version is not None:
                set_setting(cur, STATE, f"v{version}:{applied}:{uuid.uuid4().hex[:8]}")
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
    return clean


def rescore(con: duckdb.DuckDBPyConnection, progress: Progress | None = None) -> SyncReport:
    """Score every text again (after a scorer update, or on request) and rebuild the tables, in
    one transaction: readers see the old scores until the new ones are complete."""
    return sync(con, progress, full=True, rescore=True)


def _members(cur: duckdb.DuckDBPyConnection, p: dict, report: SyncReport) -> None:
    """New ids get the next keys; changed CRM rows their attributes; flips go to ``_flip``."""
    t = time.perf_counter()
    cur.execute("""CREATE OR REPLACE TEMP TABLE _ids AS
        SELECT DISTINCT member_id FROM (
          SELECT member_id FROM _add_i UNION ALL SELECT member_id FROM _add_t
          UNION ALL SELECT member_id FROM members WHERE list_contains($a_m, import_id)
          UNION ALL SELECT member_id FROM removed_members WHERE list_contains($u_m, change_id))
        WHERE member_id IS NOT NULL""", {"a_m": p["a_m"], "u_m": p["u_m"]})
    cur.execute("""INSERT INTO member_dim (mk, member_id, in_crm, is_employee)
        SELECT (SELECT coalesce(max(mk), 0) FROM member_dim) + row_number() OVER (ORDER BY member_id), member_id, FALSE, FALSE
        FROM _ids WHERE member_id NOT IN (SELECT member_id FROM member_dim)""")
    crm_ids = ("(SELECT member_id FROM members WHERE list_contains($a_m, import_id) UNION "
               "SELECT member_id FROM removed_members WHERE list_contains($u_m, change_id))")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _new_attrs AS {T.MEMBER_ATTRS.format(ids=crm_ids)}",
                {"a_m": p["a_m"], "u_m": p["u_m"]})
    # _flip: the employee flag changed (the members' activity changes); _crm_flip: only the CRM
    # flag (it shows in `hourly` alone).
    cur.execute("""CREATE OR REPLACE TEMP TABLE _flip AS
        SELECT d.mk FROM member_dim d JOIN _new_attrs a USING (member_id) WHERE d.is_employee IS DISTINCT FROM a.is_employee""")
    cur.execute("""CREATE OR REPLACE TEMP TABLE _crm_flip AS
        SELECT d.mk FROM member_dim d JOIN _new_attrs a USING (member_id) WHERE d.in_crm IS DISTINCT FROM a.in_crm""")
    sets = ", ".join(f"{c} = a.{c}" for c in T.ATTRS)
    cur.execute(f"UPDATE member_dim SET {sets} FROM _new_attrs a WHERE member_dim.member_id = a.member_id")
    cur.execute("DROP TABLE _new_attrs")
    report.steps["member_dim"] = round(time.perf_counter() - t, 3)


_ROW_COLS = "day, mk, activity, inbound, id, reply_to, action, ts"


def _events(cur: duckdb.DuckDBPyConnection, p: dict, report: SyncReport) -> None:
    """Apply the changed rows to ``events``; ``_rows`` keeps the old and new versions of every
    event that changed (what the other tables are recomputed from)."""
    t = time.perf_counter()
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _rows AS SELECT {_ROW_COLS} FROM events WHERE list_contains($u, import_id)",
                {"u": p["undone_i"]})
    cur.execute("DELETE FROM events WHERE list_contains($u, import_id)", {"u": p["undone_i"]})
    # Members whose employee flag flipped: their rows change their activity flag.
    cur.execute(f"INSERT INTO _rows SELECT {_ROW_COLS} FROM events WHERE mk IN (SELECT mk FROM _flip)")
    cur.execute("""UPDATE events SET activity = events.inbound AND NOT m.is_employee
                   FROM member_dim m WHERE events.mk = m.mk AND m.mk IN (SELECT mk FROM _flip)""")
    cur.execute(f"INSERT INTO _rows SELECT {_ROW_COLS} FROM events WHERE mk IN (SELECT mk FROM _flip)")
    # New rows, with the first reply already stored for their messages.
    new = T.EVENTS.format(where="list_contains($a_i, i.import_id)",
                          replies="in_reply_to IN (SELECT interaction_id FROM _add_i WHERE direction = 'inbound')")
    cur.execute(f"INSERT INTO events BY NAME {new}", {"a_i": p["a_i"]})
    cur.execute(f"INSERT INTO _rows SELECT {_ROW_COLS} FROM events WHERE list_contains($a_i, import_id)",
                {"a_i": p["a_i"]})
    # Messages answered by a reply that came or went: their first reply again.
    cur.execute("""CREATE OR REPLACE TEMP TABLE _replied AS
        SELECT DISTINCT in_reply_to AS id FROM (
          SELECT in_reply_to FROM _add_i WHERE direction = 'outbound'
          UNION ALL SELECT in_reply_to FROM _rem_i WHERE direction = 'outbound')
        WHERE in_reply_to IS NOT NULL""")
    cur.execute("""UPDATE events SET replied_at = fr.replied_at
        FROM (SELECT r.id, min(o.occurred_at) AS replied_at FROM _replied r
              LEFT JOIN interactions o ON o.in_reply_to = r.id AND o.direction = 'outbound' GROUP BY 1) fr
        WHERE events.inbound AND events.id = fr.id AND events.replied_at IS DISTINCT FROM fr.replied_at""")
    report.steps["events"] = round(time.perf_counter() - t, 3)


def _touched(cur: duckdb.DuckDBPyConnection, report: SyncReport) -> None:
    """The partitions the changed events and transaction lines fall in."""
    t = time.perf_counter()
    queries = {
        "day": "SELECT day FROM _rows UNION SELECT day FROM events WHERE mk IN (SELECT mk FROM _crm_flip)",
        "week": "SELECT DISTINCT CAST(date_trunc('week', day) AS DATE) FROM _rows WHERE activity",
        "month": "SELECT DISTINCT CAST(date_trunc('month', day) AS DATE) FROM _rows WHERE activity",
        "member": "SELECT DISTINCT mk FROM _rows WHERE activity",
        # contacts: our rows that changed, and our replies to rows that changed
        "contact_day": """SELECT day FROM _rows WHERE NOT inbound
                          UNION SELECT o.day FROM events o WHERE NOT o.inbound AND o.reply_to IN
                                (SELECT id FROM _rows WHERE id IS NOT NULL)""",
        # posts: broadcasts that changed, and the posts a changed activity row replies to
        "post_day": """SELECT day FROM _rows WHERE NOT inbound AND reply_to IS NULL
                       UNION SELECT o.day FROM events o WHERE NOT o.inbound AND o.reply_to IS NULL AND o.id IN
                             (SELECT reply_to FROM _rows WHERE activity AND reply_to IS NOT NULL)""",
        "action": "SELECT DISTINCT action FROM _rows WHERE inbound AND action IS NOT NULL",
        "purchase_day": "SELECT DISTINCT occurred_at::DATE FROM _add_t UNION SELECT occurred_at::DATE FROM _rem_t",
    }
    for name, sql in queries.items():
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _k_{name} AS SELECT * FROM ({sql}) t(k) WHERE k IS NOT NULL")
    report.steps["touched"] = round(time.perf_counter() - t, 3)
