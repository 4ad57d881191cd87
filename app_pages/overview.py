"""Overview: the page a marketing lead opens on Monday.

The handful of numbers that matter (the same metrics and options as the Participation, Retention and
Development pages, so the numbers agree), the status of every open target, the running trials, what
needs attention, and a one-page report to send to management (ui/report.py). What is stored sits at
the bottom. Thin: cached metric calls (ui.db) -> tiles and tables; plans are read uncached.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from datastore import plans
from metrics.development import development_states
from metrics.participation import two_way_status
from metrics.retention import period_trend
from metrics.targets import target_report
from metrics.trials import analyse
from ui import db
from ui.charts import explain, fmt_int, fmt_pct, line, show
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.plans_forms import (
    badge,
    days_left,
    fmt_value,
    metric_label,
    target_chart,
    target_line,
    target_row,
    target_title,
    trial_line,
    trial_metric_label,
    trial_window,
)
from ui.report import (
    Headline,
    Report,
    build_report,
    chart_png,
    fmt_hours,
    fmt_pp,
    fmt_signed_hours,
    fmt_signed_int,
    headline,
    report_file_name,
)

# The Retention and Development pages' default options: the same cached results, the same numbers.
RETENTION_OPTIONS = {"mode": "first_time", "window": "on", "cohort_by": "first_activity", "activity": "interactions"}
RETENTION_PERIODS = {"day": 14, "week": 12, "month": 12}
LADDER = {"window_days": 30, "participant": 2, "contributor": 7, "advocate_actions": 3}
OPEN_TRIAL_STATES = ("running", "ended")  # ended = waiting for a decision
BAD_STATES = ("off track", "at risk")
RANK = {"achieved": 0, "on track": 1, "no data": 2, "at risk": 3, "off track": 4}

ctx = sidebar()
st.title("Overview")
st.caption(
    "Is our social CRM working? The numbers that matter, the targets the team set and the trials it runs: "
    "measure, try things, keep what works (meten is weten)."
)
if empty_state(ctx):
    st.stop()

ws, flt, grain = ctx.workspace, ctx.filters, ctx.grain
today = date.today()


def period_label(ts, g: str = grain) -> str:
    ts = pd.Timestamp(ts)
    if g == "month":
        return ts.strftime("%Y-%m")
    if g == "week":
        return f"{ts.isocalendar().year}-W{ts.isocalendar().week:02d}"
    return ts.strftime("%d-%m-%Y")


# ---------------------------------------------------------------------------------------------
# The numbers that matter
# ---------------------------------------------------------------------------------------------
rate = db.metric(ws, "participation_rate", flt, grain=grain)
two_way = db.call(ws, two_way_status)
frt = db.metric(ws, "first_response_time", flt, grain=grain, by="period") if two_way["available"] else None
cohorts = db.metric(ws, "retention", flt, grain=grain, periods=RETENTION_PERIODS[grain], **RETENTION_OPTIONS)
p1 = period_trend(cohorts, 1)
p1 = p1[~p1["is_partial"] & (p1["cohort_size"] > 0)].dropna(subset=["value"])
states = db.call(ws, development_states, flt, **LADDER)
sizes, ladder_rates = states["level_sizes"], states["level_rates"]
done_months = sizes.loc[~sizes["is_partial"], "period"]
last_month = done_months.max() if len(done_months) else (sizes["period"].max() if len(sizes) else None)
promoted = ladder_rates[(ladder_rates["level"] == "all") & (ladder_rates["period"] <= last_month)] \
    if last_month is not None else None
value = db.metric(ws, "value_over_time", flt, grain=grain)
has_purchases = value is not None and not value.empty and value["buyers"].fillna(0).sum() > 0

missing_reply = " Needs in_reply_to: map a column to it on the Data page."
tiles: list[Headline] = [
    headline("Active members", rate, "active_members", fmt=fmt_int, delta_fmt=fmt_signed_int,
             period_label=period_label,
             help="Distinct members with at least one inbound interaction in the period (as on the Participation page)."),
    headline("Participation rate", rate, "value", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=period_label,
             help="Active community members / community size at the end of the period."),
    headline("Response rate", frt, "response_rate", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=period_label,
             help="Answerable inbound messages that got an outbound reply." + ("" if frt is not None else missing_reply)),
    headline("Median first response", frt, "median_hours", fmt=fmt_hours, delta_fmt=fmt_signed_hours,
             lower_is_better=True, period_label=period_label,
             help="Median time from an inbound message to our first reply (answered messages); lower is better."
             + ("" if frt is not None else missing_reply)),
    headline(f"{grain.capitalize()}-1 retention", p1, "value", fmt=fmt_pct, delta_fmt=fmt_pp,
             period_label=lambda p: "cohort " + period_label(p),
             help=f"Of the members who first took part in the latest cohort whose {grain} 1 has ended, the share "
                  f"active again the {grain} after (as 'Latest {grain}-1 retention' on the Retention page); "
                  "compared with the cohort before."),
    headline("Promoted up the ladder", promoted, "promotion_rate", fmt=fmt_pct, delta_fmt=fmt_pp,
             period_label=lambda p: period_label(p, "month"),
             help="Share of the community that moved up at least one engagement level during the last complete "
                  "month (as 'Promoted' on the Development page); compared with the month before."),
    headline("Repeat purchase rate", value if has_purchases else None, "repeat_purchase_rate", fmt=fmt_pct,
             delta_fmt=fmt_pp, period_label=period_label,
             help="Members with two or more purchases ever / members with one or more, at the end of the period "
                  "(the Development page's repeat purchase rate over time)."
                  + ("" if has_purchases else " Needs purchases: load a transactions export on the Data page.")),
]

if not rate.empty:
    st.caption(f"Each tile: the latest {grain} (starting {pd.Timestamp(rate['period'].iloc[-1]):%d-%m-%Y}) against "
               f"the {grain} before, with the trend of the last 12. The latest period may be incomplete; retention "
               "compares the latest complete cohort, the ladder the latest complete month.")
row = st.columns(4) + st.columns(4)
for col, tile in zip(row, tiles, strict=False):
    col.metric(tile.label, tile.text, delta=tile.delta_text, delta_color=tile.delta_color,
               delta_arrow=tile.delta_arrow, border=True,
               help=tile.help + (f" Period: {tile.period}." if tile.period else ""),
               chart_data=list(tile.trend) if len(tile.trend) > 1 else None, chart_type="line")

# ---------------------------------------------------------------------------------------------
# Targets and trials (read uncached: writes do not bump the data version)
# ---------------------------------------------------------------------------------------------
with db.cursor(ws) as cur:
    target_list = plans.list_targets(cur)
    targets = [plans.get_target(cur, int(t)) for t in target_list["target_id"]] if len(target_list) else []
    trial_list = plans.list_trials(cur)
    open_trials = trial_list[trial_list["status"].isin(OPEN_TRIAL_STATES)] if len(trial_list) else trial_list
    trials = [(plans.get_trial(cur, int(t)), s) for t, s in zip(open_trials["trial_id"], open_trials["status"],
                                                                 strict=True)] if len(open_trials) else []

reports = {t["target_id"]: db.call(ws, target_report, t, today=today) for t in targets}
week_ago = {t["target_id"]: db.call(ws, target_report, t, today=today - timedelta(days=7)) for t in targets
            if t["start_date"] <= today - timedelta(days=7)}
analyses = {tr["trial_id"]: db.call(ws, analyse, tr, today=today) for tr, _ in trials}

on_track = sum(reports[t["target_id"]].status in ("achieved", "on track") for t in targets)
row[7].metric("Targets on track", f"{on_track} of {len(targets)}" if targets else "–", border=True,
              help="Open targets achieved or on track (progress at least the share of time elapsed). "
                   "Set targets on the Targets & trials page.")

# ---------------------------------------------------------------------------------------------
# Needs attention
# ---------------------------------------------------------------------------------------------
alerts: list[str] = []
for t in targets:
    rep, title = reports[t["target_id"]], target_title(t)
    before = week_ago.get(t["target_id"])
    if rep.status in BAD_STATES:
        slipped = before is not None and RANK.get(before.status, 0) < RANK[rep.status]
        how = f"slipped from {before.status} to {rep.status}" if slipped else f"is {rep.status}"
        if rep.progress is None or pd.isna(rep.progress):  # the baseline met the target, now it is missed
            where = (f"now {fmt_value(t['metric'], rep.current)} misses the target the baseline "
                     f"({fmt_value(t['metric'], rep.baseline)}) already met")
        else:
            where = f"{100 * rep.progress:.0f} % of the way with {100 * rep.expected_progress:.0f} % of the time gone"
        alerts.append(f"Target '{title}' {how}: {where} ({days_left(t['due_date'], today)}).")
for tr, status in trials:
    # The analysis raises its own alerts: the goal or a guardrail got worse, a sample-ratio mismatch.
    alerts += [f"Trial '{tr['name']}': {text}" for text in analyses[tr["trial_id"]].alerts]
    if status == "ended":
        alerts.append(f"Trial '{tr['name']}' ended on {tr['end_date']:%d-%m-%Y} and waits for a decision "
                      "(keep, iterate or stop).")

st.subheader("Needs attention")
if alerts:
    for text in alerts:
        st.warning(text, icon=":material/priority_high:")
elif targets or trials:
    st.success("Nothing needs attention: every open target is achieved or on track and no trial hurts a guardrail.",
               icon=":material/check_circle:")
else:
    st.caption("Alerts appear here when a target slips to at risk or off track, a trial hurts a guardrail or its "
               "groups are not split as planned.")

# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
st.subheader("Targets")
if not targets:
    st.info("No targets yet. Set a tactical target on a customer goal — participation, retention or development, "
            "not only money — and follow its progress here.", icon=":material/flag:")
    st.page_link("app_pages/plans.py", label="Set a target on the Targets & trials page", icon=":material/add_task:")
else:
    explain("Every open target with its own filters (set with the target; the sidebar does not change them). "
            "Progress = (now − baseline) / (target − baseline), next to the share of the time gone.")
    rows = pd.DataFrame([target_row(t, reports[t["target_id"]]) for t in targets])
    rows = rows.assign(rank=rows["status"].map(RANK)).sort_values(["rank", "due"], ascending=[False, True])
    for r in rows.itertuples(index=False):
        with st.container(border=True):
            a, b, c = st.columns([2.2, 2, 1.3], vertical_alignment="center")
            a.markdown(f"**{r.target}** {badge(r.status)}  \n{metric_label(r.metric)} · {r.scope}")
            progress = 0.0 if r.progress is None or pd.isna(r.progress) else max(0.0, min(1.0, r.progress))
            if r.progress is None or pd.isna(r.progress):
                way = "no complete period yet" if r.status == "no data" else "baseline already met the target"
            elif r.progress < 0:
                way = f"moving away from the target ({100 * r.progress:.0f} %)"
            else:
                way = f"{100 * r.progress:.0f} % of the way"
            b.progress(progress, text=f"{way} · {100 * r.expected:.0f} % of the time gone")
            c.markdown(f"now **{r.current}** · target **{r.goal}**  \n"
                       f"due {r.due:%d-%m-%Y} ({days_left(r.due, today)})" + (f" · {r.owner}" if r.owner else ""))
    download(rows.drop(columns=["rank"]), "targets-status", key="overview-targets")
    st.page_link("app_pages/plans.py", label="Edit targets and see their charts", icon=":material/flag:")

# ---------------------------------------------------------------------------------------------
# Trials
# ---------------------------------------------------------------------------------------------
st.subheader("Trials running or waiting for a decision")
if not trials:
    st.info("No trial is running. Try something — a faster reply on one channel, a member event — and measure it "
            "against a control group or the weeks before.", icon=":material/science:")
    st.page_link("app_pages/plans.py", label="Log a trial on the Targets & trials page", icon=":material/science:")
else:
    for tr, status in trials:
        with st.container(border=True):
            st.markdown(f"**{tr['name']}** {badge(status)}  \n"
                        f"goal: {trial_metric_label(tr['goal_metric'])} · {trial_window(tr)}")
            st.markdown(analyses[tr["trial_id"]].summary)
    st.page_link("app_pages/plans.py", label="Analyse and decide on the Targets & trials page",
                 icon=":material/science:")

# ---------------------------------------------------------------------------------------------
# Activity over time (the trend behind the first tiles)
# ---------------------------------------------------------------------------------------------
st.subheader("Active members per " + grain)
explain("Activity, not size, decides whether a community works: how many members actually took part each period.")
active_chart = None
if rate.empty or rate["active_members"].sum() == 0:
    st.info("No member activity in the chosen filters. Widen the date range or clear the channel / segment filter.",
            icon=":material/filter_alt_off:")
else:
    active = rate[["period", "active_members", "community_size", "value"]].rename(
        columns={"active_members": "active members", "value": "participation rate"})
    active_chart = line(active, "period", "active members", y_title="active members", x_title=grain)
    show(active_chart)
    download(active, f"active-members-{grain}", key="overview-active")

# ---------------------------------------------------------------------------------------------
# The one-page report for management
# ---------------------------------------------------------------------------------------------
st.subheader("Report for management")
scope = (f"{flt.start:%d-%m-%Y} – {flt.end:%d-%m-%Y}" if flt.start and flt.end else "all dates") + \
    (f" · channel {', '.join(flt.channels)}" if flt.channels else "") + \
    (f" · segment {', '.join(flt.segments)}" if flt.segments else "") + f" · per {grain}"
target_lines = [target_line(t, reports[t["target_id"]]) for t in targets]
trial_lines = [trial_line(tr, status, analyses[tr["trial_id"]].summary) for tr, status in trials]
chart_specs = ([("Active members per " + grain, active_chart.properties(width=420, height=200))]
               if active_chart is not None else [])
chart_specs += [(target_title(t), target_chart(t, reports[t["target_id"]], width=420, height=200))
                for t in targets[:6]]
report = Report(workspace=ws, scope=scope, headlines=tiles, targets=target_lines, trials=trial_lines,
                alerts=alerts, period_note=f"Latest {grain} against the {grain} before.")


def make_report() -> str:
    """Built on click (charts rendered offline by vl-convert), not on every rerun."""
    charts = tuple((title, chart_png(chart)) for title, chart in chart_specs)
    return build_report(replace(report, charts=charts, generated_at=datetime.now()))


explain("One self-contained HTML page with these numbers, the targets, the trials and the charts as images: "
        "open it in a browser, print it to PDF or attach it to an e-mail.")
st.download_button("Download the one-page report (HTML)", make_report, report_file_name(ws, today), "text/html",
                   key="overview-report", on_click="ignore", icon=":material/summarize:", type="primary")

# ---------------------------------------------------------------------------------------------
# What is stored
# ---------------------------------------------------------------------------------------------
st.subheader("What is stored")
counts = db.metric(ws, "row_counts")
by_table = counts.set_index("table")
c = st.columns(3)
c[0].metric("Members (CRM)", fmt_int(by_table.loc["members", "rows"]), border=True,
            help="Members in the CRM export (latest version of each).")
c[1].metric("Interactions", fmt_int(by_table.loc["interactions", "rows"]), border=True,
            help="Every contact moment imported, inbound and outbound, all channels.")
c[2].metric("Transactions", fmt_int(by_table.loc["transactions", "rows"]), border=True,
            help="Purchase lines (webshop orders, bookings), refunds included.")
st.dataframe(counts, hide_index=True, column_config={
    "rows": st.column_config.NumberColumn("rows", format="localized"),
    "members": st.column_config.NumberColumn("distinct members", format="localized"),
    "first_date": st.column_config.DateColumn("first date", format="DD-MM-YYYY"),
    "last_date": st.column_config.DateColumn("last date", format="DD-MM-YYYY"),
})
st.page_link("app_pages/data.py", label="Load more exports on the Data page", icon=":material/upload:")
