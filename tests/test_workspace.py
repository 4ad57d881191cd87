"""Workspaces: files, names, time zones, settings and schema migrations."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from datastore import workspace as ws
from datastore.importer import import_file, list_imports
from datastore.schema import FIELDS, MIGRATIONS, SCHEMA_VERSION


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]


def build_v1_workspace(path) -> None:
    """A workspace file as the first release wrote it: migration 1 only, with data in it."""
    version, _title, statements = MIGRATIONS[0]
    assert version == 1
    con = duckdb.connect(str(path))
    try:
        for stmt in statements:
            con.execute(stmt)
        con.execute("INSERT INTO settings VALUES ('schema_version', '1'), ('time_zone', 'Europe/Amsterdam'), "
                    "('data_version', '7'), ('name', 'Oud')")
        con.execute("""INSERT INTO imports VALUES
            (1, 'leden.csv', 'abc', 'members', 2, 2, 0, 0, '{}', '{}', TIMESTAMP '2024-01-01 10:00', 'loaded'),
            (2, 'tweets.csv', 'def', 'interactions', 3, 2, 1, 0, '{}', '{}', TIMESTAMP '2024-01-02 10:00', 'loaded')""")
        con.execute("""INSERT INTO members (member_id, joined_at, segment, is_employee, followers, import_id, row_hash)
                       VALUES ('1', DATE '2023-01-01', 'gold', FALSE, 10, 1, 11),
                              ('2', DATE '2023-06-01', 'silver', TRUE, NULL, 1, 12)""")
        con.execute("""INSERT INTO interactions (occurred_at, channel, member_id, action, direction, interaction_id,
                                                 sentiment, import_id, row_hash)
                       VALUES (TIMESTAMP '2024-01-01 09:00', 'x', '1', 'post', 'inbound', 't1', 0.5, 2, 21),
                              (TIMESTAMP '2024-01-01 10:00', 'x', NULL, 'post', 'outbound', 't2', NULL, 2, 22)""")
        con.execute("INSERT INTO rejects VALUES (2, 4, 'time', 'gisteren', 'unparseable date')")
    finally:
        con.close()


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = tmp_path / "Oud.duckdb"
    build_v1_workspace(path)
    con = ws.open_workspace(path)
    try:
        assert ws.get_setting(con, "schema_version") == str(SCHEMA_VERSION)
        # Settings of the old workspace are kept, not replaced by defaults.
        assert (ws.time_zone(con), ws.data_version(con), ws.get_setting(con, "name")) == (
            "Europe/Amsterdam", 7, "Oud")
        assert con.execute(
            "SELECT member_id, joined_at, segment, is_employee, followers, name, email FROM members ORDER BY 1"
        ).fetchall() == [("1", date(2023, 1, 1), "gold", False, 10, None, None),
                         ("2", date(2023, 6, 1), "silver", True, None, None, None)]
        assert con.execute(
            "SELECT occurred_at, member_id, direction, interaction_id, sentiment FROM interactions ORDER BY 1"
        ).fetchall() == [(datetime(2024, 1, 1, 9, 0), "1", "inbound", "t1", 0.5),
                         (datetime(2024, 1, 1, 10, 0), None, "outbound", "t2", None)]
        assert con.execute("SELECT * FROM rejects").fetchall() == [(2, 4, "time", "gisteren", "unparseable date")]
        # New columns and the view exist.
        assert {"name", "email"} <= set(columns(con, "members"))
        assert {"rows_updated", "message"} <= set(columns(con, "imports"))
        assert set(columns(con, "members")) == {f.name for f in FIELDS["members"]} | {"extra", "import_id", "row_hash"}
        assert con.execute("SELECT member_id, segment FROM members_current ORDER BY 1").fetchall() == [
            ("1", "gold"), ("2", "silver")]
        history = list_imports(con)
        assert history["import_id"].tolist() == [2, 1]
        assert history["rows_updated"].tolist() == [0, 0]
    finally:
        con.close()


def test_migrated_workspace_takes_new_imports(tmp_path, write_file):
    path = tmp_path / "Oud.duckdb"
    build_v1_workspace(path)
    con = ws.open_workspace(path)
    try:
        report = import_file(con, write_file("leden.csv", "member_id,name,segment\n1,Anna,platinum\n3,Cees,gold\n"))
        assert report.status == "loaded", report.message
        assert (report.import_id, report.rows_loaded, report.rows_updated) == (3, 2, 1)
        assert con.execute("SELECT member_id, name, segment FROM members_current ORDER BY 1").fetchall() == [
            ("1", "Anna", "platinum"), ("2", None, "silver"), ("3", "Cees", "gold")]
        assert ws.data_version(con) == 8
    finally:
        con.close()


def test_migration_is_idempotent_and_reports_the_old_version(tmp_path):
    path = tmp_path / "w.duckdb"
    build_v1_workspace(path)
    con = duckdb.connect(str(path))
    try:
        assert ws.migrate(con) == 1
        assert ws.migrate(con) == SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM members").fetchall() == [(2,)]
    finally:
        con.close()


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    build_v1_workspace(path)
    broken = [MIGRATIONS[0], (2, "broken", ["ALTER TABLE members ADD COLUMN name VARCHAR", "SELECT nonsense FROM nowhere"])]
    monkeypatch.setattr(ws, "MIGRATIONS", broken)
    con = duckdb.connect(str(path))
    try:
        with pytest.raises(duckdb.Error):
            ws.migrate(con)
        assert ws.get_setting(con, "schema_version") == "1"
        assert "name" not in columns(con, "members")
        assert con.execute("SELECT count(*) FROM members").fetchall() == [(2,)]
    finally:
        con.close()


def test_newer_schema_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "Nieuw.duckdb"
    ws.open_workspace(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE settings SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(ValueError) as info:
        ws.open_workspace(path)
    assert str(info.value) == (
        f"This workspace was written by a newer release (schema {SCHEMA_VERSION + 1}, "
        f"this release knows up to {SCHEMA_VERSION}). Upgrade the dashboard to open it."
    )
    # The file is released (no lingering lock) and untouched.
    con = duckdb.connect(str(path))
    assert con.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchall() == [
        (str(SCHEMA_VERSION + 1),)]
    con.close()


def test_new_workspace_has_the_current_schema(tmp_path):
    con = ws.open_workspace(tmp_path / "Nieuw.duckdb", time_zone="Europe/Amsterdam")
    try:
        assert ws.get_setting(con, "schema_version") == str(SCHEMA_VERSION)
        assert ws.time_zone(con) == "Europe/Amsterdam"
        assert ws.data_version(con) == 0
        assert ws.get_setting(con, "name") == "Nieuw"
        for table in ("interactions", "members", "transactions"):
            assert set(columns(con, table)) == {f.name for f in FIELDS[table]} | {"extra", "import_id", "row_hash"}
        assert con.execute("SELECT count(*) FROM members_current").fetchall() == [(0,)]
    finally:
        con.close()


def test_reopening_keeps_settings(tmp_path):
    path = tmp_path / "w.duckdb"
    con = ws.open_workspace(path, time_zone="America/New_York")
    assert ws.bump_data_version(con) == 1
    con.close()
    con = ws.open_workspace(path)  # no time zone given: the stored one stays
    try:
        assert (ws.time_zone(con), ws.data_version(con)) == ("America/New_York", 1)
    finally:
        con.close()


@pytest.mark.parametrize("name", ["Sample", "klant 2025", "KLM_community-NL", "a", "9" * 64])
def test_valid_names(name):
    assert ws.check_name(f"  {name} ") == name


@pytest.mark.parametrize("name", ["", "   ", "../etc", "a/b", "-leading", " _x", "x" * 65, "naam.duckdb",
                                  "C:\\temp", "ëmoji", None])
def test_invalid_names_refused(name):
    with pytest.raises(ValueError, match="A workspace name has 1 to 64 letters"):
        ws.check_name(name)


def test_create_list_delete(tmp_path):
    directory = tmp_path / "data"
    assert ws.list_workspaces(directory) == []
    path = ws.create_workspace("Klanten 2025", time_zone="Europe/Berlin", directory=directory)
    assert path == directory / "Klanten 2025.duckdb" and path.exists()
    ws.create_workspace("Alpha", directory=directory)
    assert ws.list_workspaces(directory) == ["Alpha", "Klanten 2025"]
    with pytest.raises(ValueError, match="already exists"):
        ws.create_workspace("Alpha", directory=directory)
    con = ws.open_workspace(path)
    assert ws.time_zone(con) == "Europe/Berlin"
    con.close()
    ws.delete_workspace("Klanten 2025", directory=directory)
    assert ws.list_workspaces(directory) == ["Alpha"]
    assert not path.exists() and not path.with_suffix(".duckdb.wal").exists()
    ws.delete_workspace("Never existed", directory=directory)  # no error
    with pytest.raises(ValueError):
        ws.delete_workspace("../Alpha", directory=directory)


def test_create_with_bad_time_zone_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="Unknown time zone 'Mars/Olympus'"):
        ws.create_workspace("X", time_zone="Mars/Olympus", directory=tmp_path)
    assert ws.list_workspaces(tmp_path) == []


def test_data_dir_from_argument_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ws.DATA_DIR_ENV, str(tmp_path / "from-env"))
    assert ws.data_dir() == tmp_path / "from-env" and (tmp_path / "from-env").is_dir()
    assert ws.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv(ws.DATA_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    assert ws.data_dir().resolve() == (tmp_path / "workspaces").resolve()


@pytest.mark.parametrize("tz", ["UTC", "Europe/Amsterdam", "America/Sao_Paulo", "Asia/Kolkata"])
def test_valid_time_zones(tz):
    assert ws.check_time_zone(tz) == tz


@pytest.mark.parametrize("tz", ["CET+1", "Europe/Amsterdamm", "", "europe/amsterdam", "GMT+2", "../../etc/passwd"])
def test_invalid_time_zones(tz):
    with pytest.raises(ValueError, match="Unknown time zone"):
        ws.check_time_zone(tz)


def test_open_with_invalid_time_zone_releases_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with pytest.raises(ValueError, match="Unknown time zone"):
        ws.open_workspace(path, time_zone="Nowhere/Town")
    assert not path.exists()  # refused before a file was made
    con = ws.open_workspace(path)
    assert ws.time_zone(con) == "UTC"
    con.close()


def test_settings_round_trip(workspace):
    ws.set_setting(workspace, "target", 42)
    assert ws.get_setting(workspace, "target") == "42"
    assert ws.get_setting(workspace, "missing", "default") == "default"
    assert ws.bump_data_version(workspace) == 1
    assert ws.bump_data_version(workspace) == 2
