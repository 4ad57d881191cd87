"""Targets and trials stored in the workspace (schema migration 3): the team's plans and memory.

Every write is audited (``created_at`` / ``created_by``, ``updated_at`` / ``updated_by``; local
wall-clock time to the second) and checked: invalid input raises ``ValueError`` with a message
fit to show as it is. Targets are archived, never deleted; trials are never deleted (the log of
past trials is the team's memory). Writes do not bump the data version: plans are not data, and
pages key their cached views on the ``plans_version`` setting, which every write moves.

Dictionaries returned by ``get_target`` / ``get_trial`` hold dates as ``date``, filters and metric
lists as lists, options and scopes as dicts. A scope is ``{"channels": [...], "segments": [...],
"campaigns": [...]}``; the treatment scope with all three empty means everyone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime

import duckdb
import pandas as pd

from metrics.registry import REGISTRY
from plans.targets import DIRECTIONS, TARGET_METRICS
from plans.trials import SCOPE_KEYS, TRIAL_METRICS, metric_name

DECISIONS: tuple[str, ...] = ("keep", "iterate", "stop")
TRIAL_STATUSES: tuple[str, ...] = ("planned", "running", "ended", "decided")
TARGET_FIELDS: tuple[str, ...] = ("name", "metric", "target_value", "start_date", "due_date", "direction", "baseline",
                                  "options", "channels", "segments", "campaigns", "owner", "note")
TRIAL_FIELDS: tuple[str, ...] = ("name", "hypothesis", "change", "goal_metric", "start_date", "end_date",
                                 "guardrail_metrics", "treatment", "control", "planned_split", "owner", "note")
_AUDIT = ("created_at", "created_by", "updated_at", "updated_by")
_TARGET_COLUMNS = ("target_id", *TARGET_FIELDS, "archived_at", "archived_by", *_AUDIT)
_TRIAL_COLUMNS = ("trial_id", *TRIAL_FIELDS, "decision", "decision_note", "decided_at", "decided_by", *_AUDIT)
SAMPLE_AUTHOR = "sample"


# --------------------------------------------------------------------------------------------
# Checking input
# --------------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _author(author: str) -> str:
    author = str(author or "").strip()
    if not author:
        raise ValueError("Fill in your name: every change to a target or trial records who made it.")
    return author


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _date(value, label: str) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except (TypeError, ValueError):
        raise ValueError(f"The {label} must be a date (YYYY-MM-DD); got {value!r}.") from None


def _number(value, label: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"The {label} must be a number; got {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"The {label} must be a finite number; got {value!r}.")
    return v


def _names(values, label: str) -> list[str]:
    """A list of distinct, non-empty strings (a single string is one value)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise ValueError(f"The {label} must be a list; got {values!r}.")
    out: list[str] = []
    for v in values:
        s = _text(v)
        if s and s not in out:
            out.append(s)
    return out


def _options(metric: str, options) -> dict:
    options = dict(options or {})
    for key, value in options.items():
        if not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"Option {key} must be text or a number; got {value!r}.")
    REGISTRY[metric].make_options(options)  # the metric's own checks (a ValueError to show as it is)
    return options


def _scope(scope, label: str) -> dict[str, list[str]]:
    scope = dict(scope or {})
    unknown = sorted(set(scope) - set(SCOPE_KEYS))
    if unknown:
        raise ValueError(f"A {label} scope holds {', '.join(SCOPE_KEYS)}; not {', '.join(unknown)}.")
    return {k: _names(scope.get(k), f"{label} {k}") for k in SCOPE_KEYS}


def _check_target(rec: dict) -> dict:
    rec = dict(rec)
    metric = _text(rec.get("metric"))
    if metric not in TARGET_METRICS:
        raise ValueError(f"{metric or 'No metric'!r} cannot be a target: choose a metric with one number per period "
                         f"({', '.join(TARGET_METRICS)}).")
    rec["metric"] = metric
    if rec.get("direction") not in DIRECTIONS:
        raise ValueError(f"The direction must be 'at_least' or 'at_most'; got {rec.get('direction')!r}.")
    rec["start_date"] = _date(rec.get("start_date"), "start date")
    rec["due_date"] = _date(rec.get("due_date"), "due date")
    if rec["due_date"] <= rec["start_date"]:
        raise ValueError("The due date must be after the start date.")
    rec["target_value"] = _number(rec.get("target_value"), "target value")
    rec["baseline"] = None if rec.get("baseline") is None else _number(rec["baseline"], "baseline")
    if rec["baseline"] is not None and rec["baseline"] == rec["target_value"]:
        raise ValueError("The target value equals the baseline: there is nothing to reach.")
    rec["options"] = _options(metric, rec.get("options"))
    for key in SCOPE_KEYS:
        rec[key] = _names(rec.get(key), key)
    rec["owner"], rec["note"] = _text(rec.get("owner")), _text(rec.get("note"))
    rec["name"] = _text(rec.get("name")) or (
        f"{metric.replace('_', ' ')} {'≥' if rec['direction'] == 'at_least' else '≤'} {rec['target_value']:g}")
    return rec


def _check_trial(rec: dict) -> dict:
    rec = dict(rec)
    rec["name"] = _text(rec.get("name"))
    if not rec["name"]:
        raise ValueError("Give the trial a name.")
    rec["hypothesis"] = _text(rec.get("hypothesis"))
    if not rec["hypothesis"]:
        raise ValueError("Write down the hypothesis: what do you expect to change, and why?")
    rec["change"] = _text(rec.get("change"))
    goal = metric_name(_text(rec.get("goal_metric")))
    if goal not in TRIAL_METRICS:
        raise ValueError(f"{goal or 'No goal metric'!r} cannot be a trial goal: choose one of {', '.join(TRIAL_METRICS)}.")
    rec["goal_metric"] = goal
    guards = list(dict.fromkeys(metric_name(g) for g in _names(rec.get("guardrail_metrics"), "guardrail metrics")))
    bad = [g for g in guards if g not in TRIAL_METRICS]
    if bad:
        raise ValueError(f"Unknown guardrail metric {', '.join(bad)}; choose from {', '.join(TRIAL_METRICS)}.")
    rec["guardrail_metrics"] = [g for g in guards if g != goal]
    rec["start_date"] = _date(rec.get("start_date"), "start date")
    rec["end_date"] = _date(rec.get("end_date"), "end date")
    if rec["end_date"] < rec["start_date"]:
        raise ValueError("The end date cannot be before the start date.")
    rec["treatment"] = _scope(rec.get("treatment"), "treatment")
    if rec.get("control") is None:
        rec["control"] = None
    else:
        control = _scope(rec["control"], "control")
        if not any(control.values()):
            raise ValueError("A control scope needs at least one channel, segment or campaign "
                             "(an empty scope is everyone, the treatment included).")
        if control == rec["treatment"]:
            raise ValueError("The control scope is the same as the treatment scope.")
        both = set(control["segments"]) & set(rec["treatment"]["segments"])
        if both:
            raise ValueError(f"Segment {', '.join(sorted(both))} is in both treatment and control.")
        rec["control"] = control
    split = rec.get("planned_split")
    if split is not None:
        split = _number(split, "planned split")
        if not 0 < split < 1:
            raise ValueError("The planned split is the treatment's share of all members in the trial: between 0 and 1.")
        if rec["control"] is None:
            raise ValueError("A planned split needs a control scope.")
    rec["planned_split"] = split
    rec["owner"], rec["note"] = _text(rec.get("owner")), _text(rec.get("note"))
    return rec


def _fields(fields: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(f"A {what} has no field {', '.join(unknown)}; it has {', '.join(allowed)}.")


# --------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------
def _to_db(rec: dict, key: str) -> object:
    value = rec[key]
    if key in ("options", "treatment", "control"):
        return None if value is None else json.dumps(value, sort_keys=True)
    return value


def _insert(con: duckdb.DuckDBPyConnection, table: str, key: str, rec: dict, columns: tuple[str, ...]) -> int:
    cols = [c for c in columns if c != key]
    placeholders = ", ".join("?" for _ in cols)
    sql = (f"INSERT INTO {table} ({key}, {', '.join(cols)}) "
           f"SELECT coalesce(max({key}), 0) + 1, {placeholders} FROM {table} RETURNING {key}")
    cur = con.cursor()
    try:
        ident = int(cur.execute(sql, [_to_db(rec, c) for c in cols]).fetchall()[0][0])
        _touch(cur)
        return ident
    finally:
        cur.close()


def _revise(con: duckdb.DuckDBPyConnection, kind: str, ident: int, current: dict, author: str, fields: dict) -> None:
    """Store ``current`` with ``fields`` changed, after checking the whole record again (``kind``:
    "target" or "trial"), with the author and time of the change."""
    who = _author(author)
    names, check = (TARGET_FIELDS, _check_target) if kind == "target" else (TRIAL_FIELDS, _check_trial)
    _fields(fields, names, kind)
    rec = check({**{k: current[k] for k in names}, **fields})
    values = {k: _to_db(rec, k) for k in names}
    _update(con, f"{kind}s", f"{kind}_id", ident, {**values, "updated_at": _now(), "updated_by": who})


def _update(con: duckdb.DuckDBPyConnection, table: str, key: str, ident: int, values: dict) -> None:
    sets = ", ".join(f"{c} = ?" for c in values)
    cur = con.cursor()
    try:
        cur.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", [*values.values(), int(ident)])
        _touch(cur)
    finally:
        cur.close()


def _touch(cur: duckdb.DuckDBPyConnection) -> None:
    """Every plan write moves the plans' version: views that show targets and trials key on it."""
    cur.execute("""INSERT OR REPLACE INTO settings
                   SELECT 'plans_version', CAST(coalesce(max(CAST(value AS BIGINT)), 0) + 1 AS VARCHAR)
                   FROM settings WHERE key = 'plans_version'""")


def _rows(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], where: str = "",
          params: list | None = None) -> list[dict]:
    cur = con.cursor()
    try:
        rows = cur.execute(f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {columns[0]}",
                           params or []).fetchall()
    finally:
        cur.close()
    out = []
    for row in rows:
        rec = dict(zip(columns, row, strict=True))
        for k in ("options", "treatment", "control"):
            if k in rec:
                rec[k] = None if rec[k] is None else json.loads(rec[k])
        for k in ("channels", "segments", "campaigns", "guardrail_metrics"):
            if k in rec:
                rec[k] = list(rec[k] or [])
        if "options" in rec and rec["options"] is None:
            rec["options"] = {}
        out.append(rec)
    return out


def _one(con, table: str, key: str, ident, columns: tuple[str, ...], what: str) -> dict:
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        raise ValueError(f"No {what} {ident!r}.") from None
    rows = _rows(con, table, columns, f"WHERE {key} = ?", [ident])
    if not rows:
        raise ValueError(f"No {what} #{ident} in this workspace.")
    return rows[0]


def _same(a, b) -> bool:
    norm = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731 - lists, dicts, dates alike
    return norm(a) == norm(b)


def _refuse_duplicate(con, table: str, columns: tuple[str, ...], fields: tuple[str, ...], rec: dict, what: str,
                      where: str = "") -> None:
    """An exact copy of a stored target or trial (a second click on a form) is refused."""
    for row in _rows(con, table, columns, where):
        if all(_same(row[f], rec[f]) for f in fields):
            raise ValueError(f"This {what} exists already (#{row[columns[0]]}, created by {row['created_by']}): "
                             "change a field to store another one.")


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
def create_target(con: duckdb.DuckDBPyConnection, *, author: str, metric: str, target_value: float,
                  start_date: date, due_date: date, direction: str = "at_least", baseline: float | None = None,
                  options: dict | None = None, channels=(), segments=(), campaigns=(), owner: str = "",
                  note: str = "", name: str = "") -> int:
    """Store a new target; returns its id."""
    who, now = _author(author), _now()
    rec = _check_target(dict(metric=metric, target_value=target_value, start_date=start_date, due_date=due_date,
                             direction=direction, baseline=baseline, options=options, channels=channels,
                             segments=segments, campaigns=campaigns, owner=owner, note=note, name=name))
    _refuse_duplicate(con, "targets", _TARGET_COLUMNS, TARGET_FIELDS, rec, "target", "WHERE archived_at IS NULL")
    rec.update(archived_at=None, archived_by=None, created_at=now, created_by=who, updated_at=now, updated_by=who)
    return _insert(con, "targets", "target_id", rec, _TARGET_COLUMNS)


def get_target(con: duckdb.DuckDBPyConnection, target_id: int) -> dict:
    rec = _one(con, "targets", "target_id", target_id, _TARGET_COLUMNS, "target")
    rec["archived"] = rec["archived_at"] is not None
    return rec


def update_target(con: duckdb.DuckDBPyConnection, target_id: int, *, author: str, **fields) -> None:
    """Change some fields of a target (the others stay); the whole target is checked again.
    Setting ``baseline=None`` goes back to the baseline computed at the start date."""
    _revise(con, "target", target_id, get_target(con, target_id), author, fields)


def archive_target(con: duckdb.DuckDBPyConnection, target_id: int, *, author: str) -> None:
    """Archive (not delete): hidden from ``list_targets`` unless asked for; kept for the record."""
    who = _author(author)
    current = get_target(con, target_id)
    if current["archived"]:
        return
    now = _now()
    _update(con, "targets", "target_id", target_id,
            {"archived_at": now, "archived_by": who, "updated_at": now, "updated_by": who})


def list_targets(con: duckdb.DuckDBPyConnection, *, include_archived: bool = False) -> pd.DataFrame:
    """One row per target (target_id first, then the fields, archived, audit columns), by id."""
    where = "" if include_archived else "WHERE archived_at IS NULL"
    rows = _rows(con, "targets", _TARGET_COLUMNS, where)
    for r in rows:
        r["archived"] = r["archived_at"] is not None
    columns = [*_TARGET_COLUMNS[:-6], "archived", *_TARGET_COLUMNS[-6:]]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------
def trial_status(trial: dict, today: date | None = None) -> str:
    """planned (before the start) | running (start..end) | ended (after the end, no decision) | decided."""
    today = today or date.today()
    if trial.get("decision"):
        return "decided"
    if today < trial["start_date"]:
        return "planned"
    return "running" if today <= trial["end_date"] else "ended"


def create_trial(con: duckdb.DuckDBPyConnection, *, author: str, name: str, hypothesis: str, change: str,
                 goal_metric: str, start_date: date, end_date: date, guardrail_metrics=(),
                 treatment: dict | None = None, control: dict | None = None, planned_split: float | None = None,
                 owner: str = "", note: str = "") -> int:
    """Store a new trial; returns its id."""
    who, now = _author(author), _now()
    rec = _check_trial(dict(name=name, hypothesis=hypothesis, change=change, goal_metric=goal_metric,
                            start_date=start_date, end_date=end_date, guardrail_metrics=guardrail_metrics,
                            treatment=treatment, control=control, planned_split=planned_split, owner=owner,
                            note=note))
    _refuse_duplicate(con, "trials", _TRIAL_COLUMNS, TRIAL_FIELDS, rec, "trial")
    rec.update(decision=None, decision_note=None, decided_at=None, decided_by=None,
               created_at=now, created_by=who, updated_at=now, updated_by=who)
    return _insert(con, "trials", "trial_id", rec, _TRIAL_COLUMNS)


def get_trial(con: duckdb.DuckDBPyConnection, trial_id: int, *, today: date | None = None) -> dict:
    rec = _one(con, "trials", "trial_id", trial_id, _TRIAL_COLUMNS, "trial")
    rec["status"] = trial_status(rec, today)
    return rec


def update_trial(con: duckdb.DuckDBPyConnection, trial_id: int, *, author: str, **fields) -> None:
    """Change some fields of a trial (the others stay); the whole trial is checked again. The
    decision is set with ``decide_trial``."""
    _revise(con, "trial", trial_id, get_trial(con, trial_id), author, fields)


def decide_trial(con: duckdb.DuckDBPyConnection, trial_id: int, *, author: str, decision: str, note: str = "") -> None:
    """Record the decision (keep / iterate / stop) with a note; a later decision replaces it."""
    who = _author(author)
    if decision not in DECISIONS:
        raise ValueError(f"The decision is one of {', '.join(DECISIONS)}; got {decision!r}.")
    get_trial(con, trial_id)
    now = _now()
    _update(con, "trials", "trial_id", trial_id, {"decision": decision, "decision_note": _text(note),
                                                  "decided_at": now, "decided_by": who,
                                                  "updated_at": now, "updated_by": who})


def list_trials(con: duckdb.DuckDBPyConnection, *, today: date | None = None) -> pd.DataFrame:
    """One row per trial (trial_id first, then the fields, decision, status, audit columns), by id."""
    rows = _rows(con, "trials", _TRIAL_COLUMNS)
    for r in rows:
        r["status"] = trial_status(r, today)
    columns = [*_TRIAL_COLUMNS[:-4], "status", *_TRIAL_COLUMNS[-4:]]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Examples for the built-in Sample workspace
# --------------------------------------------------------------------------------------------
def seed_sample_plans(con: duckdb.DuckDBPyConnection) -> bool:
    """Example targets and trials for the Sample (SkyLoop Airways), by author "sample", so the
    Overview has something to show on first start. Idempotent: does nothing when the sample's
    plans exist. Returns whether it added them."""
    cur = con.cursor()
    try:
        seen = cur.execute("SELECT (SELECT count(*) FROM targets WHERE created_by = ?) "
                           "+ (SELECT count(*) FROM trials WHERE created_by = ?)",
                           [SAMPLE_AUTHOR, SAMPLE_AUTHOR]).fetchall()[0][0]
    finally:
        cur.close()
    if seen:
        return False
    a = SAMPLE_AUTHOR
    create_target(con, author=a, name="Participation back to 15 %", metric="participation_rate",
                  target_value=0.15, start_date=date(2026, 7, 1), due_date=date(2026, 12, 31),
                  options={"grain": "month"}, owner="Community team",
                  note="Activity, not size: more of our members taking part each month.")
    create_target(con, author=a, name="Answer 70 % of customer messages", metric="response_rate",
                  target_value=0.70, start_date=date(2026, 6, 1), due_date=date(2027, 3, 31),
                  options={"grain": "month"}, owner="Webcare",
                  note="Answerable inbound messages (not likes or shares) that get a reply from us.")
    create_target(con, author=a, name="Month-1 retention of new members 40 %", metric="retention_trend",
                  target_value=0.40, start_date=date(2026, 7, 1), due_date=date(2027, 3, 31),
                  options={"grain": "month", "offset": 1}, owner="Community team",
                  note="Of the members who first take part in a month, the share who are back the month after.")
    keep = create_trial(
        con, author=a, name="Webcare team from 4 to 7 agents",
        hypothesis="With more agents on social, forum and e-mail we answer customers within the hour, "
                   "without answering fewer of them.",
        change="Three agents added to the webcare rota from 1 September 2025.",
        goal_metric="first_response_hours", guardrail_metrics=["response_within_1h", "interactions_per_member"],
        start_date=date(2025, 9, 1), end_date=date(2025, 9, 30), owner="Webcare")
    decide_trial(con, keep, author=a, decision="keep",
                 note="First response time fell by about two thirds and many more messages were answered "
                      "within the hour; interactions per member held. Keep the rota.")
    create_trial(
        con, author=a, name="Weekly forum Q&A with the product team",
        hypothesis="A fixed weekly Q&A gets more frequent flyers to take part on the forum.",
        change="Every Thursday 16:00-17:00 a product manager answers questions on the forum.",
        goal_metric="participation_rate", guardrail_metrics=["first_response_hours"],
        treatment={"channels": ["forum"]}, start_date=date(2026, 10, 1), end_date=date(2026, 12, 31),
        owner="Community team")
    create_trial(
        con, author=a, name="Personal travel tips for Silver members",
        hypothesis="A personal travel tip before each flight gets Silver members to take part more often.",
        change="From 1 October 2026 every Silver member gets a personal tip by e-mail three days before a flight; "
               "Blue members, who do not, are the control.",
        goal_metric="interactions_per_member", guardrail_metrics=["participation_rate"],
        treatment={"segments": ["Silver"]}, control={"segments": ["Blue"]},
        start_date=date(2026, 10, 1), end_date=date(2026, 11, 30), owner="CRM team")
    return True
