"""Overview: the page a marketing lead opens on Monday.

The numbers that matter (the same metrics as the other pages), every open target, the running trials, what
needs attention, the active-member trend, a one-page report for management and what is stored. Widgets -> one
view (views.overview) -> tiles, lists and a chart."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pandas as pd
import streamlit as st

from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.plans_forms import (
    badge,
    days_left,
    metric_label,
    target_chart,
    target_line,
    target_row,
    target_title,
    trial_line,
    trial_metric_label,
    trial_window,
)
from ui.report import Report, build_report, chart_png, report_file_name
from ui.widgets import computing, header, plain, tile
from views.overview import OverviewSettings

ctx = sidebar()
header("Overview", "Is our social CRM working? The numbers that matter, the targets the team set and the trials it "
       "runs: measure, try things, keep what works (meten is weten).")
if empty_state(ctx):
    st.stop()
g, today = ctx.grain, date.today()
with computing(what="the Overview"):
    v = db.view("overview", ctx.workspace, ctx.filters, OverviewSettings(g, today))

st.caption(v.period_note)
row = st.columns(5) + st.columns(5)
for col, h in zip(row, v.tiles, strict=False):
    tile(col, h, trend=True)
row[9].metric("Targets on track", f"{v.on_track} of {len(v.targets)}" if v.targets else "–", border=True,
              help="Open targets achieved or on track (progress at least the share of time elapsed). Set targets on "
                   "the Targets & trials page.")

st.subheader("Needs attention")
for text in v.spikes:
    st.error(f"Spike: {plain(text)}", icon=":material/campaign:")
if v.spikes:
    st.page_link("pages/listening.py", label="What are they saying? See the spikes on the Listening page",
                 icon=":material/hearing:")
for text in v.alerts:
    st.warning(plain(text), icon=":material/priority_high:")
if not v.alerts and not v.spikes and (v.targets or v.trials):
    st.success("Nothing needs attention: every open target is achieved or on track and no trial hurts a guardrail.",
               icon=":material/check_circle:")
elif not v.alerts and not v.spikes:
    st.caption("Alerts appear here when a hashtag or campaign spikes, a target slips to at risk or off track, a trial hurts a guardrail or its groups "
               "are not split as planned.")

st.subheader("Targets")
if not v.targets:
    st.info("No targets yet. Set a tactical target on a customer goal — participation, retention or development, not "
            "only money — and follow its progress here.", icon=":material/flag:")
else:
    ch.explain("Every open target with its own filters (set with the target; the sidebar does not change them). "
               "Progress = (now − baseline) / (target − baseline), next to the share of the time gone"
               + (f"; the data runs until {v.data_end:%d-%m-%Y}." if v.data_end else "."))
    rows = [target_row(t, v.reports[t["target_id"]]) for t in v.targets]
    for r in rows:
        with st.container(border=True):
            a, b, c = st.columns([2.2, 2, 1.3], vertical_alignment="center")
            a.markdown(f"**{plain(r['target'])}** {badge(r['status'])}  \n{metric_label(r['metric'])} · {plain(r['scope'])}")
            p = r["progress"]
            way = ("no complete period yet" if r["status"] == "no data" else "baseline already met the target") \
                if p is None else (f"moving away from the target ({100 * p:.0f} %)" if p < 0 else f"{100 * p:.0f} % of the way")
            b.progress(0.0 if p is None else max(0.0, min(1.0, p)), text=f"{way} · {100 * r['expected']:.0f} % of the time gone")
            c.markdown(f"now **{r['current']}** · target **{r['goal']}**  \ndue {r['due']:%d-%m-%Y} "
                       f"({days_left(r['due'], today)})" + (f" · {plain(r['owner'])}" if r["owner"] else ""))
    download(pd.DataFrame(rows), "targets-status", key="overview-targets")
st.page_link("pages/plans.py", label="Set and edit targets on the Targets & trials page", icon=":material/flag:")

st.subheader("Trials running or waiting for a decision")
if not v.trials:
    st.info("No trial is running. Try something — a faster reply on one channel, a member event — and measure it "
            "against a control group or the weeks before.", icon=":material/science:")
for tr, status in v.trials:
    with st.container(border=True):
        result = v.analyses[tr["trial_id"]]
        st.markdown(f"**{plain(tr['name'])}** {badge(status)} {badge(result.readout) if result.readout != status else ''}  \n"
                    f"goal: {trial_metric_label(tr['goal_metric'])} · "
                    f"{trial_window(tr)}")
        st.markdown(result.summary)

st.subheader("Active members per " + g)
ch.explain("Activity, not size, decides whether a community works: how many members actually took part each period.")
active_chart = ch.line(v.active, "active members", g, y_title="active members")
if active_chart is None or v.active["active members"].sum() == 0:
    st.info("No member activity in the chosen filters. Widen the date range or clear the channel, segment or "
            "campaign filter.", icon=":material/filter_alt_off:")
    active_chart = None
ch.show(active_chart)
download(v.active, f"active-members-{g}", key="overview-active")

st.subheader("Report for management")
flt = ctx.filters
scope = (f"{flt.start:%d-%m-%Y} – {flt.end:%d-%m-%Y}" if flt.start and flt.end else "all dates") + "".join(
    f" · {what} {', '.join(vals)}" for what, vals in (("channel", flt.channels), ("segment", flt.segments),
                                                       ("campaign", flt.campaigns)) if vals) + f" · per {g}"


def make_report() -> str:
    """Built on click (charts rendered offline by vl-convert), not on every rerun."""
    charts = [("Active members per " + g, active_chart.properties(width=420, height=200))] if active_chart else []
    charts += [(target_title(t), target_chart(t, v.reports[t["target_id"]], width=420, height=200)) for t in v.targets[:6]]
    report = Report(workspace=ctx.workspace, scope=scope, headlines=v.tiles,
                    targets=[target_line(t, v.reports[t["target_id"]]) for t in v.targets],
                    trials=[trial_line(tr, s, v.analyses[tr["trial_id"]].summary) for tr, s in v.trials],
                    alerts=(*(f'Spike: {t}' for t in v.spikes), *v.alerts), period_note=v.period_note, generated_at=datetime.now(),
                    charts=tuple((title, chart_png(c)) for title, c in charts))
    return build_report(replace(report))


ch.explain("One self-contained HTML page with these numbers, the targets, the trials and the charts as images: open it "
           "in a browser, print it to PDF or attach it to an e-mail.")
st.download_button("Download the one-page report (HTML)", make_report, report_file_name(ctx.workspace, today),
                   "text/html", key="overview-report", on_click="ignore", icon=":material/summarize:", type="primary")

st.subheader("What is stored")
by_table = v.stored.set_index("table")
c = st.columns(3)
for col, (table, label, what) in zip(c, (("members", "Members (CRM)", "Members in the CRM export (latest version)."),
                                         ("interactions", "Interactions", "Every contact moment, both directions."),
                                         ("transactions", "Transactions", "Purchase lines, refunds included.")), strict=True):
    col.metric(label, ch.fmt_int(by_table.loc[table, "rows"]), border=True, help=what)
st.dataframe(v.stored, hide_index=True, placeholder="–", column_config={
    "rows": st.column_config.NumberColumn("rows", format="localized"),
    "members": st.column_config.NumberColumn("distinct members", format="localized"),
    "first_date": st.column_config.DateColumn("first date", format="DD-MM-YYYY"),
    "last_date": st.column_config.DateColumn("last date", format="DD-MM-YYYY")})
st.page_link("pages/data.py", label="Load more exports on the Data page", icon=":material/upload:")
