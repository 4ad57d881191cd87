"""Issue 14 items 10 and 12: what a workspace connection may touch, where files wait, and what a
killed process leaves behind (folders, a swollen workspace file)."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from datastore import staging
from datastore.importer import ImportOptions, import_file
from datastore.workspace import open_workspace


@pytest.fixture
def workspace(tmp_path):
    con = open_workspace(tmp_path / "ws.duckdb")
    yield con
    con.close()


def _refused(con, sql: str) -> str:
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql).fetchall()
    return str(info.value)


def test_a_workspace_connection_reads_no_file_outside_the_staging_root(workspace, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    assert "disabled by configuration" in _refused(workspace, "SELECT * FROM read_csv('/etc/passwd')")
    assert "disabled by configuration" in _refused(workspace, f"SELECT * FROM read_csv('{outside}')")
    assert "disabled by configuration" in _refused(workspace, "SELECT * FROM read_text('/etc/hostname')")
    assert "disabled by configuration" in _refused(workspace, "SELECT * FROM sniff_csv('/etc/passwd')")
    _refused(workspace, "INSTALL httpfs")
    _refused(workspace, "SELECT * FROM read_csv('https://example.com/x.csv')")
    _refused(workspace, "SET enable_external_access = true")  # DuckDB refuses to turn it back on
    _refused(workspace, "SET allowed_directories = ['/']")
    assert workspace.execute("SELECT current_setting('autoload_known_extensions'), "
                             "current_setting('autoinstall_known_extensions')").fetchall() == [(False, False)]
    with workspace.cursor() as cur:  # cursors share the database's settings
        assert "disabled by configuration" in _refused(cur, "SELECT * FROM read_csv('/etc/passwd')")


def test_an_import_from_anywhere_still_loads_through_a_link_or_a_copy(workspace, tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.csv"
    path.write_text("occurred_at,channel,text\n2025-01-02,forum,hello\n2025-01-03,forum,again\n")
    report = import_file(workspace, path)
    assert report.status == "loaded" and report.rows_loaded == 2, report.message

    def no_links(*_a, **_k):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "link", no_links)  # another file system: the file is copied instead
    path2 = tmp_path / "elsewhere2.csv"
    path2.write_text("occurred_at,channel,text\n2025-01-04,forum,third\n")
    report = import_file(workspace, path2)
    assert report.status == "loaded" and report.rows_loaded == 1, report.message
    assert path.exists() and path2.exists()  # the originals stay where they were
    assert not [p for p in staging.root().glob(f"import-{os.getpid()}-*")]  # working folders removed


def test_stale_folders_of_a_dead_process_are_removed_and_live_ones_kept():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = staging.root() / f"uploads-{pid}-test"
    stale.mkdir()
    (stale / "big.csv").write_bytes(b"x" * 1000)
    mine = staging.new_dir("import")
    removed = staging.clean_stale()
    assert stale in removed and not stale.exists()
    assert mine.exists() and mine not in removed
    mine.rmdir()


def test_a_swollen_workspace_file_is_compacted_on_open_with_every_row_kept(tmp_path):
    path = tmp_path / "ws.duckdb"
    con = open_workspace(path)
    src = tmp_path / "a.csv"
    src.write_text("occurred_at,channel,text\n" + "".join(f"2025-01-{d:02d},forum,row {d}\n" for d in range(1, 29)))
    assert import_file(con, src, options=ImportOptions()).rows_loaded == 28
    before = con.execute("SELECT * FROM interactions ORDER BY occurred_at").fetchall()
    tables = con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 1").fetchall()
    con.close()
    normal = path.stat().st_size
    with open(path, "ab") as f:  # what a kill during a large import leaves: blocks past the used ones
        f.truncate(normal + (200 << 20))
    con = open_workspace(path)
    try:
        assert path.stat().st_size <= normal + (1 << 20)
        assert con.execute("SELECT * FROM interactions ORDER BY occurred_at").fetchall() == before
        assert con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 1").fetchall() == tables
        assert con.execute("SELECT constraint_type, count(*) FROM duckdb_constraints() GROUP BY ALL ORDER BY 1"
                           ).fetchall()[-1][0] == "PRIMARY KEY"
        assert import_file(con, src).rows_duplicate == 28  # the import ledger came along: nothing doubles
    finally:
        con.close()
    assert not list(tmp_path.glob("*.compacting.duckdb"))
