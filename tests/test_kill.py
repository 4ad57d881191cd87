"""Opt-in (``python -m pytest -m slow tests/test_kill.py``): a CLI import killed with SIGKILL at
several moments loses nothing that was stored, leaves no half import, no staging folder that
outlives the next import and no swollen workspace file, and the retry loads every row once.

Slow because it needs an import that runs long enough to be killed in each phase (about 1.5 M
rows, ~80 MB); the figures it prints go into RELIABILITY.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from datastore import staging
from datastore.workspace import open_workspace

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ROWS = 1_500_000
KILL_AT = (0.1, 0.3, 0.5, 0.7, 0.9)  # shares of a whole import's time: reading, staging, loading, syncing


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "metrics", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _state(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT count(*), count(DISTINCT text) FROM interactions").fetchall()[0],
                con.execute("SELECT import_id, status, rows_loaded FROM imports ORDER BY 1").fetchall())
    finally:
        con.close()


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "big.csv"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT TIMESTAMP '2025-01-01' + to_seconds(range * 7) AS occurred_at,
                               ['forum', 'x', 'email'][1 + range % 3] AS channel,
                               'M' || lpad(CAST(range % 50000 AS VARCHAR), 6, '0') AS member_id,
                               'message ' || range AS text
                        FROM range({ROWS})) TO '{path}' (HEADER, DELIMITER ',')""")
    con.close()
    return path


def test_kill_during_import_loses_nothing_and_the_retry_loads_once(tmp_path, big_file):
    ws = tmp_path / "kill.duckdb"
    small = tmp_path / "small.csv"
    small.write_text("occurred_at,channel,member_id,text\n"
                     + "".join(f"2024-06-{d:02d},forum,M9{d:05d},kept {d}\n" for d in range(1, 29)))
    assert _cli("import", str(small), "--workspace", str(ws)).wait(120) == 0
    stored = _state(ws)
    started = time.perf_counter()  # how long a whole import takes here, in a throwaway workspace
    assert _cli("import", str(big_file), "--workspace", str(tmp_path / "timing.duckdb")).wait(900) == 0
    whole = time.perf_counter() - started
    survived = []
    for share in KILL_AT:
        delay = round(share * whole, 2)
        proc = _cli("import", str(big_file), "--workspace", str(ws))
        time.sleep(delay)
        if proc.poll() is not None:  # finished before the kill (a faster run): try the next moment
            pytest.fail(f"the import finished before the kill at {delay} s")
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        after = _state(ws)  # opening replays DuckDB's log: the killed import is all there or not at all
        assert after[1][:len(stored[1])] == stored[1], (delay, after)  # nothing stored before changed
        new = after[1][len(stored[1]):]
        if new:  # killed after its commit (while the derived tables were updated): all of it, once
            assert len(new) == 1 and new[0][1] == "loaded", (delay, after)
            assert new[0][2] == (ROWS if stored[0][0] == 28 else 0), (delay, after)  # a second time: duplicates
        assert after[0] == (stored[0][0] + sum(n for _i, _s, n in new),) * 2, (delay, after)
        stored = after
        survived.append(delay)
        # what the killed process left in the staging root goes with the next process that stages
        left = list(staging.root().glob(f"*-{proc.pid}-*"))
        staging.clean_stale()
        assert not [p for p in left if p.exists()]
    assert len(survived) == len(KILL_AT), survived
    con = open_workspace(ws)  # compacts a file swollen by the killed imports
    try:
        used = con.execute("SELECT total_blocks * block_size FROM pragma_database_size()").fetchall()[0][0]
    finally:
        con.close()
    assert ws.stat().st_size <= 2 * used + (64 << 20)
    done = _cli("import", str(big_file), "--workspace", str(ws))
    out, err = done.communicate(timeout=900)
    assert done.returncode == 0, err
    (rows, distinct), imports = _state(ws)
    assert rows == distinct == 28 + ROWS  # every row once, whether a killed import had committed or not
    assert sum(n for _i, s, n in imports if s == "loaded") == 28 + ROWS
    con = open_workspace(ws)
    try:
        from derived import sync

        assert not sync.stale(con)  # the derived tables the pages read caught up
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 28 + ROWS
    finally:
        con.close()
    print(f"\nwhole import {whole:.1f} s; kills survived: {len(survived)} at {survived} s; "
          f"workspace {ws.stat().st_size >> 20} MiB after the retry")
