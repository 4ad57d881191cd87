"""Targets & trials (meten is weten): set tactical targets on customer goals, log what the team tries,
measure it, decide, and keep the log as the team's memory.

Definitions: METRICS.md, "Targets and trials". Storage: plans.store (targets and trials live in the
workspace, audited); arithmetic: plans.targets / plans.trials / metrics.stats. Everything the page shows
comes from one view (views.plans), cached until the data or a plan changes; the forms write through
plans.store.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from metrics import get
from plans import store as plans
from plans.targets import TARGET_METRICS, is_financial
from plans.trials import TRIAL_METRICS, detectable, plan
from plans.trials import metric_name as trial_metric_name
from ui import db
from ui.charts import explain, show
from ui.context import sidebar
from ui.downloads import download
from ui.plans_forms import (
    DIRECTIONS,
    FINANCIAL_WARNING,
    TARGET_COLUMNS,
    author_box,
    badge,
    days_left,
    fmt_value,
    is_share,
    metric_label,
    scope_text,
    style_status,
    target_chart,
    target_row,
    target_table,
    target_title,
    trial_metric_label,
    trial_window,
)
from ui.trials import (
    COMPARISON_COLUMNS,
    DESIGN_WORDS,
    OVERVIEW_COLUMNS,
    READOUT_HELP,
    comparisons_table,
    cuped_caption,
    filter_overview,
    how_to_read,
    overview_frame,
    show_plan,
)
from ui.widgets import plain
from views.plans import PlansSettings

FLASH = "plans_flash"
GRAINS = ["day", "week", "month"]

ctx = sidebar()
st.title("Targets & trials")
st.caption(
    "There is no manual for social CRM: set tactical targets on customer goals — participation, retention, "
    "development, not only money — try things, measure them, and keep what works (meten is weten)."
)
ws, today = ctx.workspace, date.today()
if ctx.empty:
    st.info(f"**{ws}** has no data yet. You can set targets and log trials now; their readings appear once "
            "exports are loaded on the Data page.", icon=":material/upload_file:")
    st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload:")

author = author_box()
if st.session_state.get(FLASH):
    st.success(plain(st.session_state.pop(FLASH)), icon=":material/check_circle:")
view = db.view("plans", ws, ctx.filters, PlansSettings(bool(st.session_state.get("plans_archived")), today))
options = view.options


def done(message: str, clear: str = "") -> None:
    """Show ``message`` after the rerun that lists the change; empty the form whose keys start with ``clear``."""
    st.session_state[FLASH] = message
    if clear:
        for key in [k for k in st.session_state if str(k).startswith(clear)]:
            del st.session_state[key]
    st.rerun()


def save(write, message: str, *, clear: str = "", pick: str | None = None) -> None:
    """Run ``write(cursor)`` as the signed-in author; a ValueError (validation) shows as an error,
    success reruns with ``message`` (``done``). ``pick``: session key that receives write's result
    (a new id, so the page shows it after the rerun)."""
    if not need_author():
        return
    try:
        with db.cursor(ws) as cur:
            result = write(cur)
    except ValueError as exc:
        st.error(plain(exc))
        return
    if pick:
        st.session_state[pick] = result
    done(message, clear)


def need_author() -> bool:
    if author:
        return True
    st.error("Enter your name at the top of the page first: every change is recorded with its author.")
    return False


def scope_inputs(prefix: str, channels=(), segments=(), campaigns=(), what: str = "") -> dict:
    """Channel / segment / campaign pickers (inside a form)."""
    c1, c2, c3 = st.columns(3)
    ch = c1.multiselect(f"{what}channels", sorted(set(options["channels"]) | set(channels)), default=list(channels),
                        key=f"{prefix}_channels", placeholder="All channels")
    sg = c2.multiselect(f"{what}segments", sorted(set(options["segments"]) | set(segments)), default=list(segments),
                        key=f"{prefix}_segments", placeholder="All segments")
    cp = c3.multiselect(f"{what}campaigns", sorted(set(options.get("campaigns", [])) | set(campaigns)),
                        default=list(campaigns), key=f"{prefix}_campaigns", placeholder="All campaigns",
                        accept_new_options=True,
                        help="Campaign tags as in the interactions export. Type a new tag for a campaign that has "
                             "no rows yet (e.g. summer-2026): it counts once its rows are loaded.")
    return {"channels": ch, "segments": sg, "campaigns": [c.strip() for c in cp if c.strip()]}


def metric_help(name: str) -> None:
    m = get(name)
    st.caption(f"**{metric_label(name)}** ({m.unit}): {m.description.rstrip('.')}.")


# =============================================================================================
# Targets
# =============================================================================================
def target_form(key: str, metric: str, current: dict | None, submit: str) -> dict | None:
    """The target fields in a form, prefilled from ``current`` (edit) or the sidebar (new);
    the fields to store when submitted, else None."""
    cur = current or {}
    share = is_share(metric)
    scale = 100.0 if share else 1.0
    unit = " (%)" if share else ""
    opts = dict(cur.get("options") or {})
    with st.form(key, border=True):
        name = st.text_input("Name", cur.get("name", ""), key=f"{key}_name", max_chars=120,
                             placeholder="e.g. More members take part on the forum",
                             help="Optional: a short name the team recognises. Empty = the metric and its scope.")
        st.markdown("**Measured on**")
        scope = scope_inputs(key, cur.get("channels", ctx.filters.channels), cur.get("segments", ctx.filters.segments),
                             cur.get("campaigns", ctx.filters.campaigns))
        c1, c2, c3, c4 = st.columns(4)
        grain = c1.selectbox("Per", GRAINS, index=GRAINS.index(opts.get("grain", ctx.grain)), key=f"{key}_grain",
                             help="The period the metric is measured in; the target judges complete periods.") \
            if get(metric).grains and len(get(metric).grains) > 1 else None
        direction = c2.radio("Direction", list(DIRECTIONS), index=list(DIRECTIONS).index(cur.get("direction", "at_least")),
                             format_func=DIRECTIONS.get, key=f"{key}_direction", horizontal=True,
                             help="At least: higher is better (e.g. participation). At most: lower is better "
                                  "(e.g. churn or response time).")
        base = cur.get("baseline")
        baseline = c3.number_input(f"Baseline{unit}", value=None if base is None else base * scale, format="%.6g",
                                   key=f"{key}_baseline", placeholder="from the data",
                                   help="Leave empty to use the value of the last complete period before the start.")
        tv = cur.get("target_value")
        target_value = c4.number_input(f"Target value{unit}", value=None if tv is None else tv * scale, format="%.6g",
                                       key=f"{key}_value", placeholder="required",
                                       help="Shares in percent (25 = 25 %)." if share else "In the metric's unit.")
        d1, d2, d3 = st.columns(3)
        start = d1.date_input("Start", cur.get("start_date", today), format="DD-MM-YYYY", key=f"{key}_start")
        due = d2.date_input("Due", cur.get("due_date", today + timedelta(days=90)), format="DD-MM-YYYY",
                            key=f"{key}_due")
        owner = d3.text_input("Owner", cur.get("owner", ""), key=f"{key}_owner", max_chars=80,
                              help="Who answers for this target.")
        note = st.text_area("Note", cur.get("note", ""), key=f"{key}_note", height=68, max_chars=1000,
                            placeholder="Why this target, what the team will try")
        if not st.form_submit_button(submit, type="primary", icon=":material/flag:"):
            return None
    if target_value is None:
        st.error("Enter a target value.")
        return None
    fields = {"name": name.strip(), "direction": direction, "target_value": float(target_value) / scale,
              "baseline": None if baseline is None else float(baseline) / scale, "start_date": start,
              "due_date": due, "owner": owner.strip(), "note": note.strip(), **scope}
    new_opts = {k: v for k, v in opts.items() if k != "grain"}
    if grain:
        new_opts["grain"] = grain
    fields["options"] = new_opts
    return fields


def new_target() -> None:
    metric = st.selectbox("Metric", TARGET_METRICS, key="new_target_metric", format_func=metric_label,
                          index=TARGET_METRICS.index("participation_rate") if "participation_rate" in TARGET_METRICS
                          else 0, help="Any metric that gives one number per period.")
    metric_help(metric)
    if is_financial(metric):
        st.warning(FINANCIAL_WARNING, icon=":material/payments:")
    fields = target_form("new_target", metric, None, "Create target")
    if fields is not None:
        save(lambda cur: plans.create_target(cur, author=author, metric=metric, **fields),
             f"Target created: {fields['name'] or metric_label(metric)}.", clear="new_target_", pick="plans_pick_target")


def target_detail(target: dict) -> None:
    rep = view.reports[target["target_id"]]
    metric = target["metric"]
    st.markdown(f"### {plain(target_title(target))} {badge(rep.status)}")
    st.caption(f"{metric_label(metric)} · {plain(scope_text(target['channels'], target['segments'], target['campaigns']))}"
               f" · {DIRECTIONS[target['direction']]} {fmt_value(metric, target['target_value'])} · "
               f"{target['start_date']:%d-%m-%Y} – {target['due_date']:%d-%m-%Y} "
               f"({days_left(target['due_date'], today)})" + (f" · owner {plain(target['owner'])}" if target["owner"] else ""))
    if rep.financial:
        st.warning(FINANCIAL_WARNING, icon=":material/payments:")
    if rep.message:
        st.info(plain(rep.message), icon=":material/info:")
    m = st.columns(5)
    m[0].metric("Now", fmt_value(metric, rep.current), border=True,
                help="The latest complete period" + (f" ({rep.current_period:%d-%m-%Y})." if rep.current_period else "."))
    m[1].metric("Baseline", fmt_value(metric, rep.baseline), border=True,
                help="Given with the target, else the last complete period before the start.")
    m[2].metric("Progress", "–" if rep.progress is None else f"{100 * rep.progress:.0f} %", border=True,
                delta=None if rep.progress is None else f"{100 * (rep.progress - rep.expected_progress):+.0f} pts",
                delta_color="off" if rep.progress is None else "normal",
                help="(now − baseline) / (target − baseline). Below: progress minus the expected progress by now, "
                     "in percentage points.")
    m[3].metric("Expected by now", f"{100 * rep.expected_progress:.0f} %", border=True,
                help=f"Days from the start to today ({today:%d-%m-%Y}) / days from the start to the due date.")
    m[4].metric("Projected", fmt_value(metric, rep.projected_at_due), border=True,
                help="At the due date: the least-squares trend of the complete period values since the start, "
                     "extended to the due date.")
    span = view.options.get("span")
    if span and (today - span[1]).days > 1:
        st.caption(f":material/schedule: Data until {span[1]:%d-%m-%Y}, {(today - span[1]).days} days before today: "
                   "'Now' is the latest complete period in the data, 'Expected by now' counts to today. Load newer "
                   "exports on the Data page to compare like with like.")
    if rep.progress is None and rep.current is not None:
        st.caption(f"Progress is not defined: the baseline ({fmt_value(metric, rep.baseline)}) already met the target, "
                   "so there was no way to go. The status says whether the metric still meets it.")
    explain("Blue: the metric per period (faded points: periods not complete yet, shown but not judged). Grey dashes: "
            "the least-squares projection to the due date. Green rule: the target; grey rule: the baseline.")
    show(target_chart(target, rep))
    st.caption(f"Created {target['created_at']:%d-%m-%Y %H:%M} by {plain(target['created_by'])}"
               + (f" · last changed {target['updated_at']:%d-%m-%Y %H:%M} by {plain(target['updated_by'])}"
                  if target.get("updated_at") else ""))
    if target.get("archived"):
        st.caption("Archived.")
        return
    with st.expander("Edit this target"):
        fields = target_form(f"edit_target_{target['target_id']}", metric, target, "Save changes")
        if fields is not None:
            save(lambda cur: plans.update_target(cur, target["target_id"], author=author, **fields), "Target saved.")
    if st.button("Archive this target", key=f"archive_{target['target_id']}", icon=":material/archive:",
                 help="Archived targets leave the Overview and the list; they stay in the workspace."):
        save(lambda cur: plans.archive_target(cur, target["target_id"], author=author),
             f"Target archived: {target_title(target)}.")


tab_targets, tab_trials = st.tabs(["Targets", "Trials"])

with tab_targets:
    show_archived = st.toggle("Show archived targets", key="plans_archived")
    listing, targets, reports = view.listing, list(view.targets), view.reports
    st.subheader("Targets")
    if not targets:
        st.info("No targets yet. Create the first one below: pick a customer goal (participation, retention or "
                "development), where it stands now and where it should be by when.", icon=":material/flag:")
    else:
        explain("Status: achieved, on track (progress at least the share of time gone), at risk (within 10 points "
                "below), off track. Progress = (now − baseline) / (target − baseline).")
        rows = pd.DataFrame([target_row(t, reports[t["target_id"]]) | {"archived": bool(t.get("archived"))}
                             for t in targets])
        st.dataframe(style_status(target_table(rows)), hide_index=True, placeholder="–", width="stretch",
                     column_config={**TARGET_COLUMNS, "archived": st.column_config.CheckboxColumn("archived")
                                    if show_archived else None})
        download(rows.merge(listing, on="target_id", how="left", suffixes=("", "_stored")), "targets",
                 key="plans-targets")
        if st.session_state.get("plans_pick_target") in reports:  # just created: select it (before the widget)
            st.session_state["plans_target"] = st.session_state.pop("plans_pick_target")
        picked = st.selectbox("Target", [t["target_id"] for t in targets], key="plans_target",
                              format_func=lambda i: target_title(next(t for t in targets if t["target_id"] == i)),
                              help="Its chart, progress, history and edit form.")
        target_detail(next(t for t in targets if t["target_id"] == picked))
    st.subheader("New target")
    with st.container(border=True):
        new_target()


# =============================================================================================
# Trials
# =============================================================================================
def trial_form(prefix: str, current: dict | None, submit: str) -> dict | None:
    """The trial's fields (goal metric above the form, so its description follows the pick); the
    fields to store when ``submit`` was pressed, else None. ``current``: the trial to edit."""
    cur = current or {}
    names = list(TRIAL_METRICS)
    current_goal = trial_metric_name(cur.get("goal_metric") or "")
    goal = st.selectbox("Goal metric", names, key=f"{prefix}_goal", format_func=trial_metric_label,
                        index=names.index(current_goal) if current_goal in names else 0,
                        help="The one number the change should move.")
    tm = get(goal)
    st.caption(f"**{tm.label}** ({'lower' if tm.higher_is_better is False else 'higher'} is better): {tm.description}")
    t = cur.get("treatment") or ({"channels": ctx.filters.channels, "segments": ctx.filters.segments,
                                  "campaigns": ctx.filters.campaigns} if current is None else {})
    c = cur.get("control") or {}
    with st.form(prefix, border=True):
        name = st.text_input("Name", cur.get("name", ""), key=f"{prefix}_name", max_chars=120,
                             placeholder="e.g. Reply within the hour on X")
        hypothesis = st.text_area("Hypothesis", cur.get("hypothesis") or "", key=f"{prefix}_hypothesis", height=68,
                                  max_chars=1000, placeholder="If we …, then … because …")
        change = st.text_area("What changed", cur.get("change") or "", key=f"{prefix}_change", height=68,
                              max_chars=1000, placeholder="Exactly what the team does differently, and where")
        guardrails = st.multiselect("Guardrail metrics", [n for n in names if n != goal], key=f"{prefix}_guardrails",
                                    default=[g for g in map(trial_metric_name, cur.get("guardrail_metrics") or [])
                                             if g in names and g != goal],
                                    format_func=trial_metric_label,
                                    help="Numbers that must not get worse (a cheaper reply must not lose customers).")
        st.markdown("**Treatment**: who gets the change")
        treatment = scope_inputs(f"{prefix}_t", t.get("channels") or (), t.get("segments") or (),
                                 t.get("campaigns") or ())
        st.markdown("**Control** (optional): a comparable group that does not get it. Leave empty to compare the "
                    "treatment with the same number of days before the start.")
        control = scope_inputs(f"{prefix}_c", c.get("channels") or (), c.get("segments") or (), c.get("campaigns") or ())
        c1, c2, c3, c4 = st.columns(4)
        start = c1.date_input("Start", cur.get("start_date") or today, format="DD-MM-YYYY", key=f"{prefix}_start")
        end = c2.date_input("End", cur.get("end_date") or today + timedelta(days=28), format="DD-MM-YYYY",
                            key=f"{prefix}_end")
        planned = cur.get("planned_split")
        split = c3.number_input("Planned treatment share (%)", min_value=1.0, max_value=99.0,
                                value=None if planned is None else round(float(planned) * 100, 1),
                                key=f"{prefix}_split", placeholder="no split planned",
                                help="With a control group: the share of members planned in the treatment, e.g. 50. "
                                     "The sample-ratio check flags a split far from it.")
        owner = c4.text_input("Owner", cur.get("owner") or "", key=f"{prefix}_owner", max_chars=80)
        note = st.text_input("Note", cur.get("note") or "", key=f"{prefix}_note", max_chars=500)
        b1, b2 = st.columns([1, 3])
        submitted = b1.form_submit_button(submit, type="primary", icon=":material/science:" if current is None else None)
        planning = b2.form_submit_button("What can it detect?", icon=":material/query_stats:",
                                         help="From the latest data: how many members each group would have and the "
                                              "smallest change a trial this long (and 1–8 weeks) can find.")
    has_control = any(control.values())
    if planning:
        with st.spinner("Measuring the groups in the latest data…"), db.cursor(ws) as cur:
            show_plan(plan(cur, goal, treatment, control if has_control else None, (end - start).days + 1))
    if not submitted:
        return None
    return dict(name=name.strip(), hypothesis=hypothesis.strip(), change=change.strip(), goal_metric=goal,
                guardrail_metrics=guardrails, treatment=treatment, control=control if has_control else None,
                planned_split=None if split is None or not has_control else split / 100.0,
                start_date=start, end_date=end, owner=owner.strip(), note=note.strip())


def new_trial() -> None:
    fields = trial_form("new_trial", None, "Start trial")
    if fields is not None:
        save(lambda cur: plans.create_trial(cur, author=author, **fields), f"Trial logged: {fields['name']}.",
             clear="new_trial_", pick="plans_pick_trial")


def edit_trial(trial: dict) -> None:
    with st.expander("Edit this trial"):
        fields = trial_form(f"edit_trial_{trial['trial_id']}", trial, "Save changes")
        if fields is not None:
            save(lambda cur: plans.update_trial(cur, trial["trial_id"], author=author, **fields),
                 f"Trial saved: {fields['name']}.")


def trial_detail(trial: dict, status: str) -> None:
    st.markdown(f"### {plain(trial['name'])} {badge(status)}" + (f" {badge(trial['decision'])}" if trial.get("decision") else ""))
    st.caption(f"{trial_window(trial)} · goal: {trial_metric_label(trial['goal_metric'])}"
               + (f" · guardrails: {', '.join(trial_metric_label(g) for g in trial['guardrail_metrics'])}"
                  if trial.get("guardrail_metrics") else "")
               + (f" · owner {plain(trial['owner'])}" if trial.get("owner") else ""))
    t = trial.get("treatment") or {}
    c = trial.get("control") or {}
    st.markdown(f"**Hypothesis:** {plain(trial.get('hypothesis') or '–')}  \n**What changed:** {plain(trial.get('change') or '–')}  \n"
                f"**Treatment:** {plain(scope_text(t.get('channels'), t.get('segments'), t.get('campaigns')))} · "
                f"**Control:** {plain(scope_text(c.get('channels'), c.get('segments'), c.get('campaigns'))) if c else 'none (before / after)'}")
    if status == "planned":
        st.info(f"Starts on {trial['start_date']:%d-%m-%Y}: nothing to measure yet.", icon=":material/schedule:")
    else:
        result = view.analyses[trial["trial_id"]]
        st.markdown(f"**Reading:** {badge(result.readout)} {result.summary}")
        for line in (detectable(result), cuped_caption(result)):
            if line:
                st.caption(line)
        w = result.windows
        if w:
            st.caption(f"Before: {w['before_start']:%d-%m-%Y} – {w['before_end']:%d-%m-%Y} · during: "
                       f"{w['during_start']:%d-%m-%Y} – {w['during_end']:%d-%m-%Y} (windows of equal length).")
        for text in result.alerts:
            st.warning(plain(text), icon=":material/warning:")
        if result.caveat:
            st.info(result.caveat, icon=":material/info:")
        if result.srm is not None:
            chi2, p, flagged = result.srm
            (st.error if flagged else st.caption)(
                f"Sample-ratio check: χ² = {chi2:.2f}, p = {p:.3g} — "
                + ("the groups are NOT split as planned (p < 0.001): look for a bug in who got the change before "
                   "trusting the result." if flagged else "the split matches the plan."))
        table = comparisons_table(result)
        st.markdown("  \n".join(f"{c.role} · {DESIGN_WORDS.get(c.design, c.design)}: {badge(c.verdict)} {c.reading}"
                                for c in result.comparisons))
        if table.empty:
            st.info("No comparison yet: too little data in the windows.", icon=":material/hourglass_empty:")
        else:
            st.dataframe(style_status(table, ("verdict",)), hide_index=True, placeholder="–", width="stretch",
                         column_config=COMPARISON_COLUMNS)
            download(table, f"trial-{trial['trial_id']}-analysis", key=f"plans-trial-{trial['trial_id']}")
            how_to_read()
    st.caption(f"Logged {trial['created_at']:%d-%m-%Y %H:%M} by {plain(trial['created_by'])}"
               + (f" · last changed {trial['updated_at']:%d-%m-%Y %H:%M} by {plain(trial['updated_by'])}"
                  if trial.get("updated_at") else ""))
    edit_trial(trial)
    with st.form(f"decide_{trial['trial_id']}", border=True):
        st.markdown("**Decision**: keep the change, iterate on it, or stop it")
        current = trial.get("decision")
        decision = st.radio("Decision", ["keep", "iterate", "stop"], horizontal=True, key=f"decide_{trial['trial_id']}_d",
                            index=["keep", "iterate", "stop"].index(current) if current in ("keep", "iterate", "stop")
                            else None, label_visibility="collapsed")
        note = st.text_area("Why (the lesson for the next team)", trial.get("decision_note") or "",
                            key=f"decide_{trial['trial_id']}_n", height=68, max_chars=1000)
        if st.form_submit_button("Record decision", icon=":material/gavel:"):
            if decision is None:
                st.error("Pick keep, iterate or stop.")
            else:
                save(lambda cur: plans.decide_trial(cur, trial["trial_id"], author=author, decision=decision,
                                                    note=note.strip()),
                     f"Decision recorded for {trial['name']}: {decision}.")


with tab_trials:
    trial_list, trials, status_of = view.trial_list, view.trials, view.status
    st.subheader("Trials")
    if not trials:
        st.info("No trials yet. Log the first one below: what you change, for whom, from when to when, and which "
                "number should move. The analysis compares it with a control group or the same number of days "
                "before.", icon=":material/science:")
    else:
        explain("Status — planned: not started; running: between start and end; ended: waiting for a decision; "
                "decided: kept, iterated or stopped. " + READOUT_HELP[0].upper() + READOUT_HELP[1:])
        overview = overview_frame(trials, status_of, view.analyses)
        shown = filter_overview(overview, "plans_trials")
        st.dataframe(style_status(shown, ("status", "readout")), hide_index=True, placeholder="–", width="stretch",
                     column_config=OVERVIEW_COLUMNS)
        if shown.empty:
            st.caption("No trial matches these filters.")
        download(trial_list.merge(overview[["readout", "chance better", "guardrails"]].assign(
            trial_id=list(trials)), on="trial_id", how="left"), "trials", key="plans-trials")
        if st.session_state.get("plans_pick_trial") in trials:
            st.session_state["plans_trial"] = st.session_state.pop("plans_pick_trial")
        picked = st.selectbox("Trial", list(trials), key="plans_trial", format_func=lambda i: trials[i]["name"],
                              help="Its analysis and the decision.")
        trial_detail(trials[picked], status_of[picked])
    st.subheader("Past trials: the team's memory")
    decided = [tr for i, tr in trials.items() if status_of.get(i) == "decided"]
    if not decided:
        st.caption("Decided trials appear here with their outcome, so the next team does not try the same thing twice.")
    else:
        explain("What was tried, what it did and what the team decided: read this before planning the next trial.")
        memory = pd.DataFrame([{
            "trial": tr["name"], "when": trial_window(tr), "goal": trial_metric_label(tr["goal_metric"]),
            "what_changed": tr.get("change") or "", "decision": tr.get("decision") or "",
            "why": tr.get("decision_note") or "", "outcome": view.analyses[tr["trial_id"]].summary,
            "decided_by": tr.get("decided_by") or "",
        } for tr in decided])
        for r in memory.itertuples(index=False):
            with st.container(border=True):
                st.markdown(f"**{plain(r.trial)}** {badge(r.decision)} · {r.when} · goal: {r.goal}  \n"
                            f"**Changed:** {plain(r.what_changed or '–')}  \n**Outcome:** {r.outcome}  \n"
                            f"**Why {r.decision}:** {plain(r.why or '–')}" + (f" ({plain(r.decided_by)})" if r.decided_by else ""))
        download(memory, "past-trials", key="plans-memory")

    st.subheader("New trial")
    with st.container(border=True):
        new_trial()
