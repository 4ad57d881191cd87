"""AppTest of the Targets & trials page: creating, editing and archiving a target and logging,
analysing and deciding a trial through the forms, on the Sample workspace and on an empty one."""

from __future__ import annotations

from datetime import date, timedelta

from streamlit.testing.v1 import AppTest

from datastore import workspace as ws
from plans import store as plans
from tests import ui_support
from tests.ui_support import app as _app
from tests.ui_support import texts as _texts

data_dir = ui_support.data_dir  # fixtures, used by name
small_sample = ui_support.small_sample

PAGE = "pages/plans.py"
TODAY = date.today()


def _stored_targets(data_dir, **kw):
    from ui import db  # the app's own connection (AppTest runs in this process)

    with db.cursor("Sample") as cur:
        return plans.list_targets(cur, **kw)


def _stored_trials():
    from ui import db

    with db.cursor("Sample") as cur:
        return plans.list_trials(cur)


def _submit(at, label: str):
    buttons = [b for b in at.button if b.label == label]
    assert buttons, [b.label for b in at.button]
    buttons[0].click().run()
    assert not at.exception, at.exception
    return at


def _sign_in(at, name: str = "Sanne de Vries"):
    at.text_input(key="plans_author_input").input(name).run()
    assert not at.exception, at.exception
    assert f"as **{name}**" in _texts(at)


def _clear_plans(data_dir):
    """The Sample may come with example plans; these tests start from none."""
    from ui import db

    with db.cursor("Sample") as cur:
        cur.execute("DELETE FROM targets")
        cur.execute("DELETE FROM trials")


def test_plans_page_on_sample(data_dir):
    at = _app(PAGE)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Targets & trials"]
    shown = _texts(at)
    for heading in ("Targets", "New target", "Trials", "New trial", "Past trials: the team's memory"):
        assert heading in shown, heading
    # The metric's description is shown next to the picker.
    assert "participation rate" in shown and "community size" in shown
    # The Sample's example plans: three targets with their status, the decided trial in the memory.
    assert len(at.dataframe[0].value) == 3 and set(at.dataframe[0].value["status"]) <= {
        "achieved", "on track", "at risk", "off track", "no data"}
    assert any(m.value.startswith("**Webcare team from 4 to 7 agents** :green-badge[keep]") for m in at.markdown)
    assert [b.proto.label for b in at.get("download_button")].count("Download CSV") >= 3  # targets, trials, memory


def test_create_target_through_the_form(data_dir):
    before = len(_stored_targets(data_dir))  # the Sample's example targets
    at = AppTest.from_file("../dashboard.py", default_timeout=60)
    at.query_params["channel"] = "forum"  # the sidebar's channel filter prefills the target's scope
    at.run()
    at.switch_page(PAGE).run()
    _sign_in(at)
    at.selectbox(key="new_target_metric").set_value("participation_rate").run()
    at.text_input(key="new_target_name").input("Forum participation up")
    at.number_input(key="new_target_value").set_value(12.5)  # percent: a share
    at.date_input(key="new_target_start").set_value(TODAY - timedelta(days=30))
    at.date_input(key="new_target_due").set_value(TODAY + timedelta(days=60))
    at.text_input(key="new_target_owner").input("Community team")
    at.text_area(key="new_target_note").input("<b>not bold</b>")
    _submit(at, "Create target")
    assert [s.value for s in at.success] == ["Target created: Forum participation up."]
    stored = _stored_targets(data_dir)
    assert len(stored) == before + 1
    row = stored.iloc[-1]
    assert row["name"] == "Forum participation up" and row["metric"] == "participation_rate"
    assert row["target_value"] == 0.125  # 12.5 % entered, stored as a share
    assert list(row["channels"]) == ["forum"] and row["direction"] == "at_least"
    assert row["options"] == {"grain": "month"} and row["created_by"] == "Sanne de Vries"
    assert row["start_date"] == TODAY - timedelta(days=30) and row["owner"] == "Community team"
    # Listed, with its detail: progress tiles and the chart.
    assert len(at.dataframe) >= 1 and "Forum participation up" in list(at.dataframe[0].value["target"])
    assert any(m.value.startswith("### Forum participation up") for m in at.markdown)  # its detail is shown
    assert at.selectbox(key="plans_target").value == row["target_id"]
    labels = [m.label for m in at.metric]
    assert {"Now", "Baseline", "Progress", "Expected by now", "Projected"} <= set(labels)
    assert len(at.get("vega_lite_chart")) == 1
    assert "by Sanne de Vries" in _texts(at)
    # The form is empty again for the next target.
    assert at.text_input(key="new_target_name").value == ""
    # The data's freshness is said next to the target when the data ends before today.
    from ui import db

    with db.cursor("Sample") as cur:
        last = cur.execute("SELECT max(occurred_at)::DATE FROM interactions").fetchone()[0]
    assert ("Data until" in _texts(at)) == ((TODAY - last).days > 1)
    # The same target again (a second click with the same values) is refused, not stored twice.
    at.text_input(key="new_target_name").input("Forum participation up")
    at.number_input(key="new_target_value").set_value(12.5)
    at.date_input(key="new_target_start").set_value(TODAY - timedelta(days=30))
    at.date_input(key="new_target_due").set_value(TODAY + timedelta(days=60))
    at.text_input(key="new_target_owner").input("Community team")
    at.text_area(key="new_target_note").input("<b>not bold</b>")
    _submit(at, "Create target")
    assert any("exists already" in e.value for e in at.error), [e.value for e in at.error]
    assert len(_stored_targets(data_dir)) == before + 1


def test_target_form_refuses_bad_input_with_a_message(data_dir):
    _clear_plans(data_dir)
    at = _app(PAGE)
    _submit(at, "Create target")  # no name, no target value
    assert "Enter a target value." in [e.value for e in at.error]
    at.number_input(key="new_target_value").set_value(10.0)
    _submit(at, "Create target")
    assert any("Enter your name" in e.value for e in at.error)
    _sign_in(at)
    at.number_input(key="new_target_value").set_value(10.0)
    at.date_input(key="new_target_due").set_value(TODAY - timedelta(days=1))
    at.date_input(key="new_target_start").set_value(TODAY)
    _submit(at, "Create target")
    assert "The due date must be after the start date." in [e.value for e in at.error]
    assert len(_stored_targets(data_dir)) == 0


def test_edit_and_archive_a_target(data_dir):
    _clear_plans(data_dir)
    from ui import db

    with db.cursor("Sample") as cur:
        tid = plans.create_target(cur, author="lead", name="Churn down", metric="activity_churn", direction="at_most",
                                  target_value=0.3, start_date=TODAY - timedelta(days=60),
                                  due_date=TODAY + timedelta(days=30), options={"grain": "month"})
    at = _app(PAGE)
    _sign_in(at, "Piet")
    key = f"edit_target_{tid}"
    assert at.number_input(key=f"{key}_value").value == 30.0  # shown in percent
    at.number_input(key=f"{key}_value").set_value(25.0)
    at.text_input(key=f"{key}_owner").input("Webcare")
    _submit(at, "Save changes")
    assert [s.value for s in at.success] == ["Target saved."]
    with db.cursor("Sample") as cur:
        saved = plans.get_target(cur, tid)
    assert saved["target_value"] == 0.25 and saved["owner"] == "Webcare" and saved["updated_by"] == "Piet"
    assert saved["direction"] == "at_most" and saved["created_by"] == "lead"
    _submit(at, "Archive this target")
    assert [s.value for s in at.success] == ["Target archived: Churn down."]
    assert len(_stored_targets(data_dir)) == 0 and len(_stored_targets(data_dir, include_archived=True)) == 1
    assert "No targets yet" in _texts(at)
    at.toggle(key="plans_archived").set_value(True).run()
    assert not at.exception, at.exception
    assert "Archived." in _texts(at)


def test_financial_target_warns(data_dir):
    # Financial metrics can be targets (they could not before, so the warning never showed); they warn.
    at = _app(PAGE)
    at.selectbox(key="new_target_metric").set_value("revenue_per_member").run()
    assert any("Financial targets alone fail" in w.value for w in at.warning)
    at.selectbox(key="new_target_metric").set_value("participation_rate").run()
    assert not any("Financial targets alone fail" in w.value for w in at.warning)


def test_log_analyse_and_decide_a_trial(data_dir):
    _clear_plans(data_dir)
    at = _app(PAGE)
    _sign_in(at)
    at.selectbox(key="new_trial_goal").set_value("response_within_1h").run()
    at.text_input(key="new_trial_name").input("Reply within the hour")
    at.text_area(key="new_trial_hypothesis").input("More agents answer faster.")
    at.text_area(key="new_trial_change").input("Three agents added.")
    at.multiselect(key="new_trial_guardrails").set_value(["active_share"])
    at.multiselect(key="new_trial_t_channels").set_value(["x"])
    at.multiselect(key="new_trial_c_channels").set_value(["facebook"])
    # Campaign tags: picked from the workspace's tags (the Sample has some); a new one may be typed.
    assert "luxury-class" in at.multiselect(key="new_trial_t_campaigns").options
    at.multiselect(key="new_trial_t_campaigns").set_value(["luxury-class", "winter-2027"])
    at.date_input(key="new_trial_start").set_value(date(2025, 9, 1))  # in the Sample's data
    at.date_input(key="new_trial_end").set_value(date(2025, 9, 30))
    at.number_input(key="new_trial_split").set_value(50.0)
    _submit(at, "Start trial")
    assert [s.value for s in at.success] == ["Trial logged: Reply within the hour."]
    stored = _stored_trials()
    assert len(stored) == 1 and stored.iloc[0]["status"] == "ended"  # over, no decision yet
    row = stored.iloc[0]
    assert row["treatment"] == {"channels": ["x"], "segments": [], "campaigns": ["luxury-class", "winter-2027"]}
    assert row["control"]["channels"] == ["facebook"] and row["planned_split"] == 0.5
    # The analysis: before/after and treatment vs control, goal and guardrail.
    shown = _texts(at)
    assert "Treatment vs control, 30 days:" in shown
    analysis = at.dataframe[1].value  # [0] is the trials list
    assert set(analysis["design"]) == {"before / after", "treatment vs control"}
    assert set(analysis["role"]) == {"goal", "guardrail"}
    srm = [e.value for e in at.error if "Sample-ratio check" in e.value]
    # x and facebook do not get the same number of messages: the 50 % split is off, and said so twice.
    assert srm and "NOT split as planned" in srm[0]
    assert any("Sample ratio mismatch" in w.value for w in at.warning)
    # Decide: keep, with the lesson; it joins the team's memory.
    _submit(at, "Record decision")
    assert "Pick keep, iterate or stop." in [e.value for e in at.error]
    at.radio(key=f"decide_{int(row['trial_id'])}_d").set_value("keep")
    at.text_area(key=f"decide_{int(row['trial_id'])}_n").input("Faster replies, no guardrail hurt.")
    _submit(at, "Record decision")
    assert [s.value for s in at.success] == ["Decision recorded for Reply within the hour: keep."]
    memory = [m.value for m in at.markdown if m.value.startswith("**Reply within the hour** :green-badge[keep]")]
    assert len(memory) == 1
    assert "**Why keep:** Faster replies, no guardrail hurt. (Sanne de Vries)" in memory[0]
    assert "**Outcome:** Treatment vs control, 30 days:" in memory[0]
    assert _stored_trials().iloc[0]["status"] == "decided"
    # Edit the trial: the form shows what is stored; a longer window and a clearer name are saved,
    # the rest (scopes, split, decision) stays.
    key = f"edit_trial_{int(row['trial_id'])}"
    assert at.text_input(key=f"{key}_name").value == "Reply within the hour"
    assert at.number_input(key=f"{key}_split").value == 50.0
    assert at.multiselect(key=f"{key}_t_campaigns").value == ["luxury-class", "winter-2027"]
    at.text_input(key=f"{key}_name").input("Reply within the hour on X")
    at.date_input(key=f"{key}_end").set_value(date(2025, 10, 15))
    _submit(at, "Save changes")
    assert [s.value for s in at.success] == ["Trial saved: Reply within the hour on X."]
    edited = _stored_trials().iloc[0]
    assert edited["name"] == "Reply within the hour on X" and edited["end_date"] == date(2025, 10, 15)
    assert edited["planned_split"] == 0.5 and edited["decision"] == "keep" and edited["updated_by"] == "Sanne de Vries"
    assert edited["treatment"]["campaigns"] == ["luxury-class", "winter-2027"]


def test_trial_form_refuses_bad_input_with_a_message(data_dir):
    _clear_plans(data_dir)
    at = _app(PAGE)
    _sign_in(at)
    _submit(at, "Start trial")
    assert "Give the trial a name." in [e.value for e in at.error]
    assert len(_stored_trials()) == 0


def test_plans_page_on_empty_workspace(data_dir):
    ws.create_workspace("Empty", "UTC", data_dir)
    at = _app(PAGE, ws="Empty")
    assert not at.exception, at.exception
    assert "has no data yet" in _texts(at)
    _sign_in(at)
    at.number_input(key="new_target_value").set_value(20.0)
    _submit(at, "Create target")
    assert not at.exception, at.exception
    assert [s.value for s in at.success][0].startswith("Target created")
    assert "No data in this workspace yet" in _texts(at)  # the target's reading says why it is empty
    assert "no data" in _texts(at)


def test_target_chart_layers_values_projection_and_rules():
    import pandas as pd

    from plans.targets import evaluate
    from ui.plans_forms import target_chart

    # Monthly participation 10 %, 11 %, 12 % from April; baseline 10 %, target 15 % by the end of September.
    series = pd.DataFrame({"period": pd.to_datetime(["2026-04-01", "2026-05-01", "2026-06-01"]),
                           "value": [0.10, 0.11, 0.12]})
    target = {"metric": "participation_rate", "target_value": 0.15, "start_date": date(2026, 4, 1),
              "due_date": date(2026, 9, 30), "direction": "at_least"}
    rep = evaluate(series, direction="at_least", baseline=0.10, target_value=0.15, start=date(2026, 4, 1),
                   due=date(2026, 9, 30), today=date(2026, 7, 15))
    spec = target_chart(target, rep, width=400).to_dict()
    assert spec["width"] == 400 and len(spec["layer"]) == 5  # line, points, projection, rules, dates
    datasets = list(spec["datasets"].values())
    lines = next(d for d in datasets if any(r.get("series") == "projection" for r in d))
    actual = [(r["period"][:10], r["shown"]) for r in lines if r["series"] == "period value"]
    assert actual == [("2026-04-01", "10.0 %"), ("2026-05-01", "11.0 %"), ("2026-06-01", "12.0 %")]
    # The least-squares line through 10, 11, 12 % goes up 1 point a month: 15 % in September.
    projected = [r["shown"] for r in lines if r["series"] == "projection"]
    assert projected == ["10.0 %", "11.0 %", "12.0 %", "13.0 %", "14.0 %", "15.0 %"]
    # Issue 15.5: the target and baseline labels ran into the line; they are named in the legend now
    # (no text on the plot), each with its value, and the rules carry the same names.
    marks = [layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"] for layer in spec["layer"]]
    assert "text" not in marks
    domain = spec["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert domain == ["period value", "projection", "target 15.0 %", "baseline 10.0 %"]
    rules = sorted(r["series"] for d in datasets for r in d if "what" in r)
    assert rules == ["baseline 10.0 %", "target 15.0 %"]


def test_trials_overview_readouts_cuped_and_the_planner(data_dir):
    """The Sample's trials: the overview with readouts and its filters, a treatment-vs-control trial read
    before its planned end (always-valid test, CUPED), and the planner's answer."""
    at = _app(PAGE)
    overview = at.dataframe[1].value  # [0] is the targets list
    assert list(overview.columns[:4]) == ["trial", "status", "readout", "goal"]
    readouts = dict(zip(overview["trial"], overview["readout"], strict=True))
    assert readouts["Webcare team from 4 to 7 agents"] == "won"  # first response time fell by two thirds
    # the Sample's data end on 31 October, before the Silver trial's planned end (30 November)
    assert readouts["Personal travel tips for Silver members"] == "running"
    assert overview["chance better"].between(0, 100).all()
    at.multiselect(key="plans_trials_readout").set_value(["won"]).run()
    assert list(at.dataframe[1].value["trial"]) == ["Webcare team from 4 to 7 agents"]
    at.multiselect(key="plans_trials_readout").set_value([]).run()
    at.selectbox(key="plans_trial").set_value(
        int(_stored_trials().set_index("name").loc["Personal travel tips for Silver members", "trial_id"])).run()
    assert not at.exception, at.exception
    shown = _texts(at)
    assert "Treatment vs control, 31 of 61 days (always-valid test: safe to read every day):" in shown
    assert "Chance that the treatment is better: " in shown
    cuped = [c.value for c in at.caption if c.value.startswith("CUPED: each member's interactions per member")]
    assert cuped and "of the variance of the goal's effect" in cuped[0]
    analysis = at.dataframe[2].value
    tc = analysis[analysis["design"] == "treatment vs control"]
    assert set(tc["test"]) == {"always-valid"} and (tc["variance reduction"] != "–").all()
    _submit(at, "What can it detect?")
    plan = [m.value for m in at.markdown if m.value.startswith("**What can it detect?**")]
    assert plan and "-day trial can detect a change of ±" in plan[0]
