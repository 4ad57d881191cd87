"""Targets and trials in the workspace: persistence across a reopened workspace, the audit
columns, validation messages, archiving, decisions, the derived trial status, migration 3 on a
workspace written at schema 2, and the Sample's example plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from datastore import workspace as ws
from datastore.schema import MIGRATIONS, SCHEMA_VERSION
from plans import store as plans


def _target(con, **overrides) -> int:
    args = dict(author="Anna", metric="participation_rate", target_value=0.2, start_date=date(2026, 1, 1),
                due_date=date(2026, 6, 30), options={"grain": "week"}, channels=["forum", "x"],
                segments=["Gold"], owner="Community team", note="more members taking part")
    return plans.create_target(con, **{**args, **overrides})


def _trial(con, **overrides) -> int:
    args = dict(author="Bram", name="Faster answers", hypothesis="More agents answer faster",
                change="3 agents added", goal_metric="first_response_hours",
                guardrail_metrics=["response_within_1h", "interactions_per_member"],
                start_date=date(2026, 3, 1), end_date=date(2026, 3, 31))
    return plans.create_trial(con, **{**args, **overrides})


# --------------------------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------------------------
def test_plans_survive_a_reopened_workspace(tmp_path):
    path = tmp_path / "W.duckdb"
    con = ws.open_workspace(path)
    before = datetime.now().replace(microsecond=0)
    tid = _target(con)
    rid = _trial(con, treatment={"segments": ["Gold"]}, control={"segments": ["Silver"]}, planned_split=0.4)
    plans.decide_trial(con, rid, author="Cees", decision="keep", note="clearly faster")
    version = ws.data_version(con)
    con.close()

    con = ws.open_workspace(path)
    try:
        t = plans.get_target(con, tid)
        assert t["target_id"] == tid == 1
        assert (t["metric"], t["target_value"], t["direction"], t["baseline"]) == (
            "participation_rate", 0.2, "at_least", None)
        assert (t["start_date"], t["due_date"]) == (date(2026, 1, 1), date(2026, 6, 30))
        assert t["options"] == {"grain": "week"}
        assert (t["channels"], t["segments"], t["campaigns"]) == (["forum", "x"], ["Gold"], [])
        assert (t["owner"], t["note"], t["archived"]) == ("Community team", "more members taking part", False)
        assert t["name"] == "participation rate ≥ 0.2"  # derived when not given
        assert t["created_by"] == t["updated_by"] == "Anna"
        assert before <= t["created_at"] == t["updated_at"] <= datetime.now()

        r = plans.get_trial(con, rid)
        assert (r["name"], r["hypothesis"], r["change"], r["goal_metric"]) == (
            "Faster answers", "More agents answer faster", "3 agents added", "first_response_hours")
        assert r["guardrail_metrics"] == ["response_within_1h", "interactions_per_member"]
        assert r["treatment"] == {"channels": [], "segments": ["Gold"], "campaigns": []}
        assert r["control"] == {"channels": [], "segments": ["Silver"], "campaigns": []}
        assert r["planned_split"] == 0.4
        assert (r["decision"], r["decision_note"], r["decided_by"], r["status"]) == (
            "keep", "clearly faster", "Cees", "decided")
        assert (r["created_by"], r["updated_by"]) == ("Bram", "Cees")
        # Plans are not data: writing them leaves the data version (the cache key) alone.
        assert ws.data_version(con) == version == 0
    finally:
        con.close()


def test_update_is_audited_and_rechecked(workspace):
    tid = _target(workspace)
    plans.update_target(workspace, tid, author="Bram", target_value=0.25, baseline=0.1, name="Back to 25 %")
    t = plans.get_target(workspace, tid)
    assert (t["target_value"], t["baseline"], t["name"], t["updated_by"], t["created_by"]) == (
        0.25, 0.1, "Back to 25 %", "Bram", "Anna")
    assert t["channels"] == ["forum", "x"]  # untouched fields stay
    plans.update_target(workspace, tid, author="Bram", baseline=None)  # back to the computed baseline
    assert plans.get_target(workspace, tid)["baseline"] is None
    with pytest.raises(ValueError, match="due date must be after the start date"):
        plans.update_target(workspace, tid, author="Bram", due_date=date(2025, 12, 31))
    with pytest.raises(ValueError, match="no field colour"):
        plans.update_target(workspace, tid, author="Bram", colour="red")
    assert plans.get_target(workspace, tid)["due_date"] == date(2026, 6, 30)  # a refused update changes nothing

    rid = _trial(workspace)
    plans.update_trial(workspace, rid, author="Anna", end_date=date(2026, 4, 15), note="extended")
    r = plans.get_trial(workspace, rid)
    assert (r["end_date"], r["note"], r["updated_by"], r["name"]) == (date(2026, 4, 15), "extended", "Anna",
                                                                      "Faster answers")


def test_an_exact_copy_is_refused_and_a_changed_one_stored(workspace):
    tid = _target(workspace)
    with pytest.raises(ValueError, match=f"exists already \\(#{tid}, created by Anna\\)"):
        _target(workspace, author="Bram")  # a second click on the form: same fields, another author
    assert _target(workspace, target_value=0.25) != tid  # one field changed: another target
    plans.archive_target(workspace, tid, author="Anna")
    assert _target(workspace) not in (tid,)  # the archived one no longer blocks it
    rid = _trial(workspace)
    with pytest.raises(ValueError, match="trial exists already"):
        _trial(workspace)
    assert _trial(workspace, end_date=date(2026, 4, 30)) != rid
    assert len(plans.list_targets(workspace)) == 2 and len(plans.list_trials(workspace)) == 2


def test_archive_instead_of_delete(workspace):
    a, b = _target(workspace), _target(workspace, metric="active_members", target_value=500, options=None)
    plans.archive_target(workspace, a, author="Cees")
    assert plans.list_targets(workspace)["target_id"].tolist() == [b]
    everything = plans.list_targets(workspace, include_archived=True)
    assert everything["target_id"].tolist() == [a, b]
    assert everything["archived"].tolist() == [True, False]
    t = plans.get_target(workspace, a)
    assert (t["archived"], t["archived_by"], t["updated_by"]) == (True, "Cees", "Cees")
    first = t["archived_at"]
    plans.archive_target(workspace, a, author="Dirk")  # archiving twice keeps the first record
    assert plans.get_target(workspace, a)["archived_by"] == "Cees" and plans.get_target(workspace, a)["archived_at"] == first


def test_list_frames_have_their_columns_even_when_empty(workspace):
    targets, trials = plans.list_targets(workspace), plans.list_trials(workspace)
    assert targets.empty and trials.empty
    assert targets.columns[0] == "target_id" and {"metric", "archived", "created_by"} <= set(targets.columns)
    assert trials.columns[0] == "trial_id" and {"status", "decision", "updated_at"} <= set(trials.columns)


def test_trial_status_is_derived_from_dates_and_decision(workspace):
    rid = _trial(workspace)  # 1..31 March 2026
    assert plans.get_trial(workspace, rid, today=date(2026, 2, 28))["status"] == "planned"
    assert plans.get_trial(workspace, rid, today=date(2026, 3, 1))["status"] == "running"
    assert plans.get_trial(workspace, rid, today=date(2026, 3, 31))["status"] == "running"
    assert plans.list_trials(workspace, today=date(2026, 4, 1))["status"].tolist() == ["ended"]
    plans.decide_trial(workspace, rid, author="Anna", decision="iterate", note="try again in May")
    assert plans.list_trials(workspace, today=date(2026, 4, 1))["status"].tolist() == ["decided"]
    plans.decide_trial(workspace, rid, author="Bram", decision="stop")  # a later decision replaces it
    r = plans.get_trial(workspace, rid)
    assert (r["decision"], r["decision_note"], r["decided_by"]) == ("stop", "", "Bram")


# --------------------------------------------------------------------------------------------
# Validation: messages fit for the UI
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("overrides", "message"), [
    ({"author": "  "}, "Fill in your name"),
    ({"metric": "no_such_metric"}, "cannot be a target"),
    ({"metric": "participation_lorenz"}, "cannot be a target"),  # not one number per period
    ({"direction": "up"}, "direction must be 'at_least' or 'at_most'"),
    ({"due_date": date(2026, 1, 1)}, "due date must be after the start date"),
    ({"start_date": "1 januari"}, "start date must be a date"),
    ({"target_value": "veel"}, "target value must be a number"),
    ({"target_value": float("nan")}, "finite"),
    ({"baseline": 0.2}, "equals the baseline"),
    ({"options": {"grain": "year"}}, "grain must be one of day, week, month"),
    ({"options": {"colour": "red"}}, "has no option.*colour"),
])
def test_invalid_targets_are_refused(workspace, overrides, message):
    with pytest.raises(ValueError, match=message):
        _target(workspace, **overrides)
    assert plans.list_targets(workspace, include_archived=True).empty


@pytest.mark.parametrize(("overrides", "message"), [
    ({"name": ""}, "Give the trial a name"),
    ({"hypothesis": " "}, "Write down the hypothesis"),
    ({"goal_metric": "participation_lorenz"}, "cannot be a trial goal"),
    ({"guardrail_metrics": ["nonsense"]}, "Unknown guardrail metric nonsense"),
    ({"end_date": date(2026, 2, 28)}, "end date cannot be before the start date"),
    ({"control": {}}, "control scope needs at least one"),
    ({"control": {"channels": ["x"]}, "treatment": {"channels": ["x"]}}, "same as the treatment"),
    ({"control": {"segments": ["Gold", "Blue"]}, "treatment": {"segments": ["Gold"]}}, "Gold is in both"),
    ({"control": {"colour": ["red"]}}, "scope holds channels, segments, campaigns"),
    ({"planned_split": 0.5}, "planned split needs a control"),
    ({"planned_split": 1.5, "control": {"segments": ["Blue"]}}, "between 0 and 1"),
    ({"author": ""}, "Fill in your name"),
])
def test_invalid_trials_are_refused(workspace, overrides, message):
    with pytest.raises(ValueError, match=message):
        _trial(workspace, **overrides)
    assert plans.list_trials(workspace).empty


def test_missing_records_and_bad_decisions(workspace):
    with pytest.raises(ValueError, match="No target #7"):
        plans.get_target(workspace, 7)
    with pytest.raises(ValueError, match="No trial #3"):
        plans.decide_trial(workspace, 3, author="Anna", decision="keep")
    rid = _trial(workspace)
    with pytest.raises(ValueError, match="keep, iterate, stop"):
        plans.decide_trial(workspace, rid, author="Anna", decision="maybe")


def test_inputs_are_normalised(workspace):
    tid = _target(workspace, channels=("x", " x ", "", "forum"), segments="Gold", start_date="2026-01-01",
                  due_date=datetime(2026, 6, 30, 12, 0), target_value="0.3", name="  Meer deelname  ")
    t = plans.get_target(workspace, tid)
    assert (t["channels"], t["segments"], t["start_date"], t["due_date"], t["target_value"], t["name"]) == (
        ["x", "forum"], ["Gold"], date(2026, 1, 1), date(2026, 6, 30), 0.3, "Meer deelname")
    rid = _trial(workspace, guardrail_metrics=["first_response_hours", "active_share", "participation_rate"])
    # the goal is not its own guardrail; a trial saved with the old name of a metric gets the registry's
    assert plans.get_trial(workspace, rid)["guardrail_metrics"] == ["participation_rate"]


# --------------------------------------------------------------------------------------------
# Migration 3 on a workspace written at schema 2
# --------------------------------------------------------------------------------------------
def build_v2_workspace(path) -> None:
    """A workspace as release 2 wrote it (migrations 1 and 2), with a member and an interaction."""
    con = duckdb.connect(str(path))
    try:
        for version, _title, statements in MIGRATIONS[:2]:
            assert version in (1, 2)
            for stmt in statements:
                con.execute(stmt)
        con.execute("INSERT INTO settings VALUES ('schema_version', '2'), ('time_zone', 'Europe/Amsterdam'), "
                    "('data_version', '3'), ('name', 'Twee')")
        con.execute("""INSERT INTO members (member_id, joined_at, segment, name, import_id, row_hash)
                       VALUES ('1', DATE '2025-01-01', 'Gold', 'Anna', 1, 1)""")
        con.execute("""INSERT INTO interactions (occurred_at, channel, member_id, direction, import_id, row_hash)
                       VALUES (TIMESTAMP '2025-02-01 10:00', 'x', '1', 'inbound', 2, 2)""")
    finally:
        con.close()


def test_migration_3_adds_the_plan_tables_to_a_v2_workspace(tmp_path):
    assert SCHEMA_VERSION >= 3 and MIGRATIONS[2][0] == 3
    path = tmp_path / "Twee.duckdb"
    build_v2_workspace(path)
    con = duckdb.connect(str(path))
    try:
        assert ws.migrate(con) == 2
    finally:
        con.close()
    con = ws.open_workspace(path)
    try:
        assert ws.get_setting(con, "schema_version") == str(SCHEMA_VERSION)
        assert (ws.time_zone(con), ws.data_version(con), ws.get_setting(con, "name")) == ("Europe/Amsterdam", 3, "Twee")
        assert con.execute("SELECT member_id, name, segment FROM members_current").fetchall() == [("1", "Anna", "Gold")]
        assert con.execute("SELECT count(*) FROM interactions").fetchall() == [(1,)]
        assert plans.list_targets(con).empty and plans.list_trials(con).empty
        tid = _target(con)
        rid = _trial(con)
        assert (plans.get_target(con, tid)["metric"], plans.get_trial(con, rid)["name"]) == (
            "participation_rate", "Faster answers")
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# The Sample's example plans
# --------------------------------------------------------------------------------------------
def test_sample_plans_are_seeded_once(workspace):
    assert plans.seed_sample_plans(workspace) is True
    assert plans.seed_sample_plans(workspace) is False  # idempotent
    targets = plans.list_targets(workspace)
    trials = plans.list_trials(workspace, today=date(2026, 11, 23))
    assert len(targets) == 3 and set(targets["created_by"]) == {"sample"}
    assert targets["metric"].tolist() == ["participation_rate", "response_rate", "retention_trend"]
    assert targets["direction"].tolist() == ["at_least"] * 3
    assert trials["status"].tolist() == ["decided", "running", "running"]
    assert trials["decision"].tolist()[0] == "keep"
    assert trials["goal_metric"].tolist() == ["first_response_hours", "participation_rate", "interactions_per_member"]
    silver = plans.get_trial(workspace, int(trials["trial_id"].iloc[2]))
    assert (silver["treatment"]["segments"], silver["control"]["segments"]) == (["Silver"], ["Blue"])


def test_ensure_sample_holds_the_example_plans(small_sample):
    con = duckdb.connect(small_sample, read_only=True)
    try:
        assert len(plans.list_targets(con)) == 3
        trials = plans.list_trials(con)
        assert trials["name"].tolist()[0] == "Webcare team from 4 to 7 agents"
        assert trials["start_date"].tolist()[0] == date(2025, 9, 1)
        assert all(trials["created_by"] == "sample")
        assert (trials["end_date"] - trials["start_date"]).tolist()[0] == timedelta(days=29)
    finally:
        con.close()
