"""The command line (`python -m metrics ...`): JSON out, exit codes 0 / 1 / 2, and the basic
metrics on a hand-checkable workspace."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cli import main
from datastore.importer import import_file
from datastore.workspace import open_workspace
from metrics import REGISTRY, Filters, get

MEMBERS = (
    "Klantnummer;Naam;Lid sinds;Segment;Medewerker\n"
    "A;Anna;01-01-2025;Gold;nee\n"
    "B;Bram;01-01-2025;Blue;nee\n"
    "C;Carla;01-02-2025;Gold;nee\n"
    "E;Eva (staff);01-01-2025;Gold;ja\n"
)
# Hand-checkable activity (inbound, known, non-employee members):
#   January 2025:  A (x, twice), B (forum)             -> 2 active
#   February 2025: nobody inbound (only our reply, E's post and an anonymous post) -> 0
#   March 2025:    A (forum), C (x)                    -> 2 active
INTERACTIONS = (
    "occurred_at,channel,member_id,direction,action\n"
    "2025-01-05 10:00,x,A,inbound,post\n"
    "2025-01-06 11:00,x,A,inbound,comment\n"
    "2025-01-20 09:00,forum,B,inbound,post\n"
    "2025-02-03 12:00,x,A,outbound,reply\n"
    "2025-02-10 12:00,forum,E,inbound,post\n"
    "2025-02-11 12:00,forum,,inbound,post\n"
    "2025-03-01 08:00,forum,A,inbound,post\n"
    "2025-03-31 23:59,x,C,inbound,mention\n"
)


@pytest.fixture
def ws_path(tmp_path):
    (tmp_path / "leden.csv").write_bytes(MEMBERS.encode("cp1252"))
    (tmp_path / "interactions.csv").write_text(INTERACTIONS)
    path = tmp_path / "Test.duckdb"
    con = open_workspace(path)
    assert import_file(con, tmp_path / "leden.csv").status == "loaded"
    assert import_file(con, tmp_path / "interactions.csv").status == "loaded"
    con.close()
    return path


def run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code)
    return code, out.getvalue()


def test_active_members_golden(ws_path):
    con = open_workspace(ws_path)
    frame = get("active_members").compute(con, grain="month")
    assert frame["period"].dt.date.tolist() == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    assert frame["value"].tolist() == [2, 0, 2]  # February is filled with 0, not left out
    by_channel = get("active_members").compute(con, Filters(channels=("x",)), grain="month")
    assert by_channel["value"].tolist() == [1, 0, 1]  # A in January, C in March
    gold = get("active_members").compute(con, Filters(segments=("Gold",)), grain="month")
    assert gold["value"].tolist() == [1, 0, 2]  # A; -; A and C (E is Gold but staff)
    march = get("active_members").compute(con, Filters(start=date(2025, 3, 1), end=date(2025, 3, 31)), grain="day")
    assert len(march) == 31 and march["value"].sum() == 2
    con.close()


def test_cli_list_has_the_registry():
    code, out = run(["list"])
    assert code == 0
    names = {m["name"] for m in json.loads(out)}
    assert {"row_counts", "active_members"} <= names
    assert names == set(REGISTRY)


def test_cli_compute_json_and_csv(ws_path):
    code, out = run(["compute", "active_members", "--workspace", str(ws_path), "--grain", "month"])
    assert code == 0
    assert [r["value"] for r in json.loads(out)] == [2, 0, 2]
    code, out = run(["compute", "active_members", "--workspace", str(ws_path), "--grain", "month",
                     "--from", "2025-03-01", "--channel", "forum", "--format", "csv"])
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert frame["value"].tolist() == [1]
    code, out = run(["compute", "row_counts", "--workspace", str(ws_path)])
    rows = {r["table"]: r["rows"] for r in json.loads(out)}
    assert rows == {"interactions": 8, "members": 4, "transactions": 0}


def test_cli_import_reports_json_and_exit_codes(tmp_path):
    good = tmp_path / "boekingen.csv"
    good.write_bytes("Klantnummer;Datum;Bedrag\n17850.0;31-12-2025;1.234,56\n17850;garbage;3,00\n".encode("cp1252"))
    ws = tmp_path / "W.duckdb"
    code, out = run(["import", "--workspace", str(ws), "--dataset", "transactions", str(good)])
    report = json.loads(out)
    assert code == 0 and report["status"] == "loaded"
    assert (report["rows_read"], report["rows_loaded"], report["rows_rejected"]) == (2, 1, 1)
    # Again: nothing new, still a success (the rows are there).
    code, out = run(["import", "--workspace", str(ws), "--dataset", "transactions", str(good)])
    assert code == 0 and json.loads(out)["rows_duplicate"] == 1
    # A refused file: exit 1 with the reason.
    empty = tmp_path / "leeg.csv"
    empty.write_bytes(b"")
    code, out = run(["import", "--workspace", str(ws), str(empty)])
    assert code == 1 and "empty" in json.loads(out)["message"]
    # An explicit mapping and a fixed value from the command line.
    forum = tmp_path / "forum.csv"
    forum.write_text("wanneer,wie\n2025-01-01 10:00,M1\n")
    code, out = run(["import", "--workspace", str(ws), "--dataset", "interactions", "--map", "occurred_at=wanneer",
                     "--map", "member_id=wie", "--set", "channel=Community", str(forum)])
    assert code == 0 and json.loads(out)["rows_loaded"] == 1
    con = open_workspace(ws)
    assert con.execute("SELECT channel, member_id FROM interactions").fetchall() == [("forum", "M1")]
    con.close()


def test_cli_usage_errors_exit_2(tmp_path):
    assert run(["import", "--workspace", str(tmp_path / "W.duckdb")])[0] == 2  # no file
    assert run(["compute", "no_such_metric", "--workspace", str(tmp_path / "W.duckdb")])[0] == 2
    assert run(["frobnicate"])[0] == 2


def test_cli_refuses_what_it_cannot_use_with_a_message_not_a_traceback(tmp_path, ws_path):
    import subprocess
    import sys

    csv = tmp_path / "interactions.csv"
    not_db = tmp_path / "notes.duckdb"
    not_db.write_text("not a database")
    folder = tmp_path / "exports"
    folder.mkdir()
    w = str(tmp_path / "W.duckdb")

    def refused(args, expected):
        code, out = run(args)
        assert code == 1 and json.loads(out) == {"status": "refused", "message": expected}, out

    refused(["import", "--workspace", w, "--dataset", "interactions", str(folder)],
            f"{folder} is a folder, not a file: give the CSV file itself.")
    refused(["inspect", str(folder)], f"{folder} is a folder, not a file: give the CSV file itself.")
    refused(["import", "--workspace", str(not_db), "--dataset", "interactions", str(csv)],
            f"{not_db} is not a workspace: it is not a DuckDB database file.")
    refused(["compute", "active_members", "--workspace", str(not_db)],
            f"{not_db} is not a workspace: it is not a DuckDB database file.")
    refused(["import", "--workspace", str(folder), "--dataset", "interactions", str(csv)],
            f"{folder} is a folder, not a workspace file (.duckdb).")
    assert run(["import", "--workspace", w, "--dataset", "interactions", "--delimiter", "ab", str(csv)])[0] == 2
    # A workspace another process holds (the dashboard, another import): refused, not a lock traceback.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(ws_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, out = run(["--wait", "0", "compute", "active_members", "--workspace", str(ws_path)])
        message = json.loads(out)["message"]
        assert code == 1 and "is in use by another process (PID " in message and "--wait" in message
    finally:
        holder.communicate("")


def test_cli_waits_for_a_workspace_the_dashboard_lets_go_of(ws_path):
    """Issue 14.7: a CLI import next to a running dashboard failed with a lock traceback. The
    dashboard now closes a workspace it has not used for a while (ui.db.release_idle) and the CLI
    waits for it (--wait, default 120 s), saying so."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(3); c.close(); print('released', flush=True); "
                               "sys.stdin.read()", str(ws_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        cli = subprocess.run([sys.executable, "-m", "metrics", "--wait", "30", "compute", "active_members",
                              "--workspace", str(ws_path)], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        waited = time.monotonic() - started
    finally:
        holder.communicate("")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "is in use by another process (PID " in cli.stderr and "waiting up to 30 s" in cli.stderr
    assert json.loads(cli.stdout)  # the metric, once the file was free
    assert waited >= 1.0  # it did wait (the holder kept the file for ~3 s)


def test_cli_targets_and_trials_list_add_and_analyse_as_the_app_does(ws_path):
    from plans import store
    from plans.targets import target_report
    from plans.trials import analyse

    w = ["--workspace", str(ws_path)]
    code, out = run(["targets", "add", *w, "--author", "Anna", "--metric", "participation_rate", "--value", "0.2",
                     "--start", "2026-01-01", "--due", "2026-06-30", "--grain", "week", "--channel", "forum",
                     "--name", "Forum up"])
    assert code == 0, out
    tid = json.loads(out)["target_id"]
    code, out = run(["targets", "add", *w, "--author", "Anna", "--metric", "participation_rate", "--value", "0.2",
                     "--start", "2026-01-01", "--due", "2026-06-30", "--grain", "week", "--channel", "forum",
                     "--name", "Forum up"])
    assert code == 2  # the same target again is refused (exists already)
    code, out = run(["targets", "list", *w])
    listed = json.loads(out)
    assert code == 0 and [t["name"] for t in listed] == ["Forum up"] and listed[0]["channels"] == ["forum"]
    assert listed[0]["start_date"] == "2026-01-01" and listed[0]["options"] == {"grain": "week"}
    code, out = run(["targets", "analyse", *w, str(tid), "--today", "2026-03-15"])
    got = json.loads(out)["report"]
    con = open_workspace(ws_path)
    try:
        want = target_report(con, store.get_target(con, tid), today=date(2026, 3, 15))
    finally:
        con.close()
    assert code == 0 and got["status"] == want.status and got["expected_progress"] == want.expected_progress
    assert len(got["series"]) == len(want.series)

    code, out = run(["trials", "add", *w, "--author", "Bram", "--name", "Faster answers", "--hypothesis",
                     "more agents answer faster", "--change", "3 agents added", "--goal", "first_response_hours",
                     "--start", "2026-02-01", "--end", "2026-02-28", "--channel", "forum"])
    assert code == 0, out
    rid = json.loads(out)["trial_id"]
    code, out = run(["trials", "list", *w, "--today", "2026-03-15"])
    assert code == 0 and [(t["name"], t["status"]) for t in json.loads(out)] == [("Faster answers", "ended")]
    code, out = run(["trials", "analyse", *w, str(rid), "--today", "2026-03-15"])
    got = json.loads(out)["analysis"]
    con = open_workspace(ws_path)
    try:
        want = analyse(con, store.get_trial(con, rid, today=date(2026, 3, 15)), today=date(2026, 3, 15))
    finally:
        con.close()
    assert code == 0 and got["summary"] == want.summary
    assert [c["verdict"] for c in got["comparisons"]] == [c.verdict for c in want.comparisons]
    assert run(["targets", "analyse", *w, "99"])[0] == 2  # no such target: a message, exit 2


def test_the_api_example_script_runs_on_a_workspace(tmp_path, small_sample):
    import importlib.util
    import shutil

    path = tmp_path / "Sample.duckdb"
    shutil.copy(small_sample, path)
    spec = importlib.util.spec_from_file_location("api_example", "examples/api_example.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(str(path), str(tmp_path / "out"))
    assert result["files"] == ["growth.csv", "participation.png"] and result["months"] > 0
    con = open_workspace(path)
    try:
        quick = get("quick_ratio").compute(con, Filters(), grain="month")
    finally:
        con.close()
    assert result["latest_quick_ratio"] == float(quick["value"].dropna().iloc[-1])
    assert pd.read_csv(tmp_path / "out" / "growth.csv").shape[0] == result["months"]


def test_a_workspace_name_follows_the_apps_rules_and_stays_in_the_data_folder(tmp_path):
    data = tmp_path / "data"
    code, out = run(["--data-dir", str(data), "compute", "active_members", "--workspace", "../../evil_ws"])
    assert code == 1 and "A workspace name has 1 to 64 letters" in json.loads(out)["message"]
    assert not list(tmp_path.rglob("evil_ws*"))  # nothing written anywhere
    open_workspace(data / "Demo.duckdb").close()  # a name is looked up in the data folder
    code, out = run(["--data-dir", str(data), "compute", "active_members", "--workspace", "Demo"])
    assert code == 0, out
