"""Workspaces: one DuckDB file per workspace in a data directory.

The data directory is ``./workspaces`` unless ``SOCIALCRM_DATA_DIR`` (or an explicit argument,
e.g. the CLI's ``--data-dir``) says otherwise. Opening a workspace applies pending migrations,
so a later release opens an older workspace without losing data.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import duckdb

from datastore import staging
from datastore.schema import MIGRATIONS, SCHEMA_VERSION

DATA_DIR_ENV = "SOCIALCRM_DATA_DIR"
SAMPLE = "Sample"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,63}$")


def data_dir(override: str | Path | None = None) -> Path:
    """The folder that holds the workspace files (created when missing)."""
    path = Path(override or os.environ.get(DATA_DIR_ENV) or "workspaces")
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise ValueError(
            "A workspace name has 1 to 64 letters, digits, spaces, '-' or '_', "
            f"and starts with a letter or digit (got {name!r})."
        )
    return name


def workspace_path(name: str, directory: str | Path | None = None) -> Path:
    return data_dir(directory) / f"{check_name(name)}.duckdb"


def list_workspaces(directory: str | Path | None = None) -> list[str]:
    return sorted(p.stem for p in data_dir(directory).glob("*.duckdb"))


def check_time_zone(tz: str) -> str:
    if tz not in available_timezones() and tz != "UTC":
        raise ValueError(f"Unknown time zone {tz!r}; use an IANA name such as 'Europe/Amsterdam'.")
    ZoneInfo(tz)
    return tz


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring a workspace to SCHEMA_VERSION; returns the version it had before."""
    has_settings = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'settings'"
    ).fetchall()[0][0]
    before = 0
    if has_settings:
        row = con.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchall()
        before = int(row[0][0]) if row else 0
    if before > SCHEMA_VERSION:
        raise ValueError(
            f"This workspace was written by a newer release (schema {before}, "
            f"this release knows up to {SCHEMA_VERSION}). Upgrade the dashboard to open it."
        )
    for version, _title, statements in MIGRATIONS:
        if version <= before:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in statements:
                con.execute(stmt)
            con.execute(
                "INSERT OR REPLACE INTO settings VALUES ('schema_version', ?)", [str(version)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return before


def open_workspace(path: str | Path, time_zone: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating when new) the workspace file at ``path`` and migrate it."""
    path = Path(path)
    zone = check_time_zone(time_zone) if time_zone else "UTC"  # before a file is created
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    if _bloated(con, path):
        con.close()
        compact(path)
        con = duckdb.connect(str(path))
    try:
        # No progress bar (DuckDB draws one on stdout for long queries: the server log, the CLI's
        # output); cursors inherit it.
        con.execute("SET enable_progress_bar = false")
        migrate(con)
        defaults = {
            "time_zone": zone,
            "data_version": "0",
            "created_at": datetime.now().isoformat(timespec="seconds"),
            "name": path.stem,
            "workspace_id": uuid.uuid4().hex,  # tells two files apart in caches (a reset keeps the path)
        }
        for key, value in defaults.items():
            con.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", [key, value])
        staging.harden(con)
    except Exception:
        con.close()
        raise
    return con


# A file this much larger than the blocks it uses holds the remains of an interrupted import (a
# killed process: DuckDB reuses those blocks but never gives them back to the file system).
_SLACK = 64 << 20


def _bloated(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    used = con.execute("SELECT total_blocks * block_size FROM pragma_database_size()").fetchall()[0][0] or 0
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size > 2 * used + _SLACK


def compact(path: str | Path) -> None:
    """Rewrite the workspace file with only the blocks it uses (``COPY FROM DATABASE`` into a new
    file, checked table by table, then moved over the old one). Needs the file closed everywhere."""
    path = Path(path)
    fresh = path.with_name(path.stem + ".compacting.duckdb")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH {_q(path)} AS old (READ_ONLY)")
        con.execute(f"ATTACH {_q(fresh)} AS new")
        con.execute("COPY FROM DATABASE old TO new")
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'old'").fetchall()
        for schema, table in tables:
            counts = [con.execute(f'SELECT count(*) FROM {db}."{schema}"."{table}"').fetchall()[0][0]
                      for db in ("old", "new")]
            if counts[0] != counts[1]:
                raise RuntimeError(f"compacting {path.name}: {table} has {counts[0]} rows, the copy {counts[1]}")
        con.execute("DETACH new")
        con.execute("DETACH old")
    except Exception:
        con.close()
        fresh.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(fresh, path)


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def lock_holder(exc: Exception) -> str | None:
    """For DuckDB's "could not set lock" error: the holder as 'PID 1234' ('' when the message
    names none); None for any other error."""
    text = str(exc)
    if "lock" not in text.lower():
        return None
    m = re.search(r"PID (\d+)", text)
    return f"PID {m.group(1)}" if m else ""


def get_setting(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, str(value)])


def time_zone(con: duckdb.DuckDBPyConnection) -> str:
    return get_setting(con, "time_zone", "UTC") or "UTC"


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """A number that changes with every import or undo: the cache key for query results."""
    return int(get_setting(con, "data_version", "0") or 0)


def bump_data_version(con: duckdb.DuckDBPyConnection) -> int:
    version = data_version(con) + 1
    set_setting(con, "data_version", str(version))
    return version


def create_workspace(
    name: str, time_zone: str = "UTC", directory: str | Path | None = None
) -> Path:
    path = workspace_path(name, directory)
    if path.exists():
        raise ValueError(f"A workspace called {name!r} already exists.")
    open_workspace(path, time_zone=time_zone).close()
    return path


def delete_workspace(name: str, directory: str | Path | None = None) -> None:
    path = workspace_path(name, directory)
    for p in (path, path.with_suffix(".duckdb.wal")):
        if p.exists():
            p.unlink()
