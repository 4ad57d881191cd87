"""Shared pieces of the Targets & trials page and the Overview: formats, status badges, the target
chart, the author name, and the rows both pages (and the report) show for targets and trials.

Reads plans uncached (cheap, and a write does not bump the data version); the metric work behind a
target or trial reading goes through ``ui.db.call`` so it is cached until the data or the plan changes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from plans.targets import TargetReport
from ui.report import STATUS_COLORS
from views.plans_text import (  # noqa: F401  (the pages use them from here too)
    days_left,
    fmt_value,
    is_share,
    metric_label,
    scope_text,
    target_goal_text,
    target_line,
    target_row,
    target_title,
    trial_line,
    trial_metric_label,
    trial_window,
    unit_of,
)

BADGE_COLORS = {"achieved": "green", "on track": "green", "at risk": "orange", "off track": "red",
                "no data": "gray", "planned": "gray", "running": "blue", "ended": "orange", "decided": "violet",
                "better": "green", "worse": "red", "no clear difference": "gray", "too little data": "gray",
                "keep": "green", "iterate": "orange", "stop": "red",
                "won": "green", "lost": "red", "inconclusive": "gray"}
DIRECTIONS = {"at_least": "at least", "at_most": "at most"}
FINANCIAL_WARNING = ("Financial targets alone fail: pair this one with a participation, retention or development "
                     "target, so the team also steers on what makes customers stay and grow.")
AUTHOR_KEY = "plans_author"


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------
def badge(status: str | None) -> str:
    """A coloured Markdown badge for a status, verdict or decision."""
    if not status:
        return ""
    return f":{BADGE_COLORS.get(status, 'gray')}-badge[{status}]"


def style_status(frame: pd.DataFrame, columns=("status",)):
    """A Styler colouring the status columns like the badges (st.dataframe shows it)."""
    def paint(value) -> str:
        color = STATUS_COLORS.get(str(value))
        return f"color: white; background-color: {color}" if color else ""

    cols = [c for c in columns if c in frame]
    return frame.style.map(paint, subset=cols) if cols else frame


# ---------------------------------------------------------------------------------------------
# The author of changes (audit trail), asked once per session
# ---------------------------------------------------------------------------------------------
def author_name() -> str:
    return str(st.session_state.get(AUTHOR_KEY, "") or "").strip()


def _remember_author(key: str) -> None:
    st.session_state[AUTHOR_KEY] = str(st.session_state.get(key) or "").strip()


def author_box() -> str:
    """Ask for the author's name once per session (kept in session state across pages); afterwards
    show it, with a way to change it. Returns the name ('' while none was given)."""
    name = author_name()
    if name:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.caption(f"Changes are recorded in the audit trail as **{name}**.")
        with c2.popover("Change name", icon=":material/badge:"):
            st.text_input("Your name", value=name, key="plans_author_edit", on_change=_remember_author,
                          args=("plans_author_edit",))
        return name
    st.text_input("Your name", key="plans_author_input", on_change=_remember_author, args=("plans_author_input",),
                  placeholder="e.g. Sanne de Vries — press Enter",
                  help="Asked once per session: every target and trial keeps who created and last changed it.")
    return author_name()


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
def _frame(series: pd.DataFrame | None, name: str) -> pd.DataFrame:
    """period (datetime), value, series (the line's name), state (complete or not) of a period series."""
    if series is None or len(series) == 0:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[us]"), "value": pd.Series(dtype="float64"),
                             "series": pd.Series(dtype="str"), "state": pd.Series(dtype="str")})
    s = series.dropna(subset=["value"])
    partial = s["is_partial"].fillna(False).astype(bool) if "is_partial" in s else pd.Series(False, index=s.index)
    return pd.DataFrame({
        "period": pd.to_datetime(s["period"]), "value": s["value"].astype("float64"), "series": name,
        "state": ["not complete: shown, not judged" if p else "complete" for p in partial],
    })


def target_chart(target: dict, rep: TargetReport, *, width: int | None = None, height: int = 260) -> alt.LayerChart:
    """Period values (line), the least-squares projection to the due date (dashed), the target value
    and the baseline (horizontal rules) and the start and due dates (vertical rules), with tooltips."""
    metric = target["metric"]
    share = is_share(metric)
    series = rep.series if rep.series is not None else pd.DataFrame(columns=["period", "value"])
    if len(series):  # context before the start: as long a stretch as the target runs, no more
        since = pd.Timestamp(target["start_date"]) - (pd.Timestamp(target["due_date"]) - pd.Timestamp(target["start_date"]))
        series = series[pd.to_datetime(series["period"]) >= since]
    actual = _frame(series, "period value")
    projection = _frame(rep.projection, "projection").assign(state="least-squares trend")
    lines = pd.concat([actual, projection], ignore_index=True)
    lines["shown"] = [fmt_value(metric, v) for v in lines["value"]]
    # The target and the baseline are named in the legend ("target 15.0 %"), not written on the plot,
    # where their labels ran into the line.
    rules = [("target", float(target["target_value"]), "#2e9e5b")]
    if rep.baseline is not None and not pd.isna(rep.baseline):
        rules.append(("baseline", float(rep.baseline), "#6c737d"))
    rule_rows = pd.DataFrame({"what": [w for w, _, _ in rules], "value": [v for _, v, _ in rules],
                              "shown": [fmt_value(metric, v) for _, v, _ in rules]})
    rule_rows["series"] = rule_rows["what"] + " " + rule_rows["shown"]
    color = alt.Color("series:N", title=None, scale=alt.Scale(
        domain=["period value", "projection", *rule_rows["series"]],
        range=["#3b75af", "#8a8f98", *[c for _, _, c in rules]]),
        legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeWidth=2.5, labelLimit=320))
    x = alt.X("period:T", title=None)
    y_axis = alt.Axis(format="%") if share else alt.Axis()
    tooltip = [alt.Tooltip("series:N", title="line"), alt.Tooltip("period:T", title="period"),
               alt.Tooltip("shown:N", title="value"), alt.Tooltip("state:N", title="period state")]
    base = alt.Chart(lines).encode(x=x, y=alt.Y("value:Q", title=metric_label(metric), axis=y_axis,
                                                 scale=alt.Scale(zero=False)), color=color, tooltip=tooltip)
    layers = [
        base.transform_filter("datum.series == 'period value'").mark_line(),
        base.transform_filter("datum.series == 'period value'").mark_point(filled=True, size=40).encode(
            opacity=alt.condition("datum.state == 'complete'", alt.value(1.0), alt.value(0.35))),
        base.transform_filter("datum.series == 'projection'").mark_line(strokeDash=[6, 4]),
        alt.Chart(rule_rows).mark_rule(strokeDash=[2, 2], strokeWidth=2).encode(
            y="value:Q", color=color,
            tooltip=[alt.Tooltip("what:N", title="line"), alt.Tooltip("shown:N", title="value")]),
    ]
    dates = pd.DataFrame({"when": ["start", "due"],
                          "period": pd.to_datetime([target["start_date"], target["due_date"]])})
    layers.append(alt.Chart(dates).mark_rule(color="#555", strokeDash=[1, 3]).encode(
        x="period:T", tooltip=[alt.Tooltip("when:N", title="date"), alt.Tooltip("period:T", title="on")]))
    chart = alt.layer(*layers).properties(height=height)
    if width:
        chart = chart.properties(width=width)
    return chart


TARGET_COLUMNS = {
    "target_id": None,
    "target": st.column_config.TextColumn("target"),
    "status": st.column_config.TextColumn("status", help="achieved / on track (progress at least the time elapsed) / "
                                          "at risk (within 10 points below) / off track / no data"),
    "metric": None,
    "scope": st.column_config.TextColumn("scope", help="The filters the target is measured on."),
    "current": st.column_config.TextColumn("now", help="The latest complete period's value."),
    "goal": st.column_config.TextColumn("target"),
    "baseline": st.column_config.TextColumn("baseline", help="The value at the start date, unless given."),
    "progress": st.column_config.ProgressColumn("progress", format="%.0f %%", min_value=0, max_value=100, width="small",
                                                help="(now − baseline) / (target − baseline)"),
    "expected": st.column_config.ProgressColumn("expected", format="%.0f %%", min_value=0, max_value=100, width="small",
                                                help="Expected progress by now: time elapsed since the start / "
                                                     "total time to the due date."),
    "projected": st.column_config.TextColumn("projected", help="At the due date: the least-squares trend of the "
                                                               "period values since the start, extended."),
    "start": None,
    "due": st.column_config.DateColumn("due", format="DD-MM-YYYY"),
    "owner": st.column_config.TextColumn("owner"),
    "note": None,
}


def target_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The targets table as shown: progress and expected progress in percent (0-100) for the bars; the
    baseline (in the detail) and an all-'everyone' scope left out so the columns fit."""
    shown = rows.assign(progress=rows["progress"].astype("float64") * 100, expected=rows["expected"] * 100)
    shown = shown.drop(columns=["baseline"])  # in the detail below; the download has it
    if (shown["scope"] == "everyone").all():
        shown = shown.drop(columns=["scope"])
    return shown


