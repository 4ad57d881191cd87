"""Retention (klantbehoud): do customers stay? Cohorts, curves, churn, lifecycle, who to win back.

Widgets -> one view (views.retention; PostHog's retention and lifecycle semantics, METRICS.md) -> charts."""

from __future__ import annotations

import streamlit as st

from metrics.retention import RetentionOptions, retention_inputs
from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.widgets import computing, header, tiles
from views.retention import CALL_LIST_ROWS, MAX_HEATMAP_ROWS, RetentionSettings, churn, churn_download

DEFAULT_PERIODS = {"day": 14, "week": 12, "month": 12}

ctx = sidebar()
header("Retention", "Do customers stay (klantbehoud)? Cohorts of members by the period they first took part, how "
       "many come back, who drifts away, and whether the active base grows. Same definitions as PostHog's retention "
       "and lifecycle insights.")
if empty_state(ctx):
    st.stop()
g = ctx.grain
info = retention_inputs(db.root(ctx.workspace))

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    source = c1.segmented_control(
        "Activity", ["interactions", "transactions"], default="interactions", key="ret_source", bind="query-params",
        format_func={"interactions": "Interactions", "transactions": "Purchases"}.get,
        help="Purchases gives repeat-purchase retention from the transactions export (refund lines left out).",
    ) or "interactions"
    mode = c2.segmented_control(
        "Cohorts", ["first_time", "recurring"], default="first_time", key="ret_mode", bind="query-params",
        format_func={"first_time": "First time", "recurring": "Recurring"}.get,
        help="First time: a member's cohort is the period of their first-ever activity. Recurring: every period a "
             "member is active starts a cohort row (PostHog's two retention types).") or "first_time"
    window = c3.segmented_control(
        "Retained when active", ["on", "on_or_after"], default="on", key="ret_window", bind="query-params",
        format_func={"on": "in period N", "on_or_after": "in N or later"}.get,
        help="In period N: counted at offset N when active in exactly that period. In N or later: when active in "
             "that period or any later one (PostHog's 'on or after').") or "on"
    with st.expander("More: periods to follow, cohort by joined date, start and return actions"):
        e0, e1, e2, e3 = st.columns([0.8, 1.2, 1, 1])
        periods = int(e0.number_input("Periods to follow", 1, 60, DEFAULT_PERIODS[g], key="ret_periods",
                                      bind="query-params", help=f"Offsets 0 to N {g}s after the cohort."))
        cohort_by = e1.radio("Cohort by", ["first_activity", "joined_at"], key="ret_cohort_by",
                             format_func={"first_activity": "first activity", "joined_at": "joined date"}.get,
                             disabled=mode == "recurring",
                             help="Joined date: members.joined_at from the CRM export (first activity where it is "
                                  "missing); members who never took part stay in their cohort.")
        actions = ["(any)"] + info["actions"]
        no_actions = source == "transactions" or not info["actions"]
        start_action = e2.selectbox("Start action", actions, key="ret_start", help="Only this action starts a cohort.",
                                    disabled=no_actions or (mode == "first_time" and cohort_by == "joined_at"))
        return_action = e3.selectbox("Return action", actions, key="ret_return", disabled=no_actions,
                                     help="Only this action counts as coming back.")
if mode == "recurring":
    cohort_by = "first_activity"
interactions = source == "interactions"
options = RetentionOptions(
    grain=g, mode=mode, window=window, cohort_by=cohort_by, activity=source, periods=periods,
    start_action=(start_action,) if interactions and start_action != "(any)" and cohort_by == "first_activity" else (),
    return_action=(return_action,) if interactions and return_action != "(any)" else ())
what = "activity" if interactions else "purchase"
if not interactions and not info["transactions"]:
    st.info("No purchases loaded yet. Upload webshop orders or bookings (transactions) on the Data page to see "
            "repeat-purchase retention.", icon=":material/shopping_cart:")
    st.stop()
if not interactions and (ctx.filters.channels or ctx.filters.campaigns):
    st.caption("The channel and campaign filters are about interactions; purchases ignore them.")

if st.session_state.get("ret_n", 1) > periods:  # before the widget: its maximum follows the periods
    st.session_state["ret_n"] = periods
n = int(st.session_state.get("ret_n", 1))
by = st.session_state.get("ret_by") or "channel"
drift, inactive = int(st.session_state.get("ret_drift", 90)), int(st.session_state.get("ret_inactive", 180))
with computing(what="retention"):
    v = db.view("retention", ctx.workspace, ctx.filters,
                RetentionSettings(options, n=n, by=by, drifting_days=min(drift, inactive), inactive_days=inactive))
if v.empty:
    st.info(f"No member {what} in the chosen range and filters. Widen the date range or clear the channel, segment "
            "or campaign filter.", icon=":material/filter_alt_off:")
    st.stop()
tiles(v.tiles)

st.subheader("Cohorts")
ch.explain(f"Each row is a cohort of members by the {g} of their " + ("first purchase" if not interactions else
           "first activity" if cohort_by == "first_activity" else "joining") + f"; each column the share (or number) "
           f"active again N {g}s later. Lighter cells with * are periods that have not ended yet.")
show_as = st.segmented_control("Show", ["percent", "count"], default="percent", key="ret_show",
                               format_func={"percent": "%", "count": "count"}.get) or "percent"
if v.table["cohort"].nunique() > MAX_HEATMAP_ROWS:
    st.caption(f"The last {MAX_HEATMAP_ROWS} cohorts; the download has them all.")
ch.show(ch.cohort_heatmap(v.table, g, percent=show_as == "percent", rows=MAX_HEATMAP_ROWS))
download(v.table, f"retention-cohorts-{g}", key="ret-cohorts")

st.subheader("Retention curves")
ch.explain("Thin lines: each cohort (complete periods only). Thick line: the mean weighted by cohort size over the "
           "cohorts that reached that offset. A curve that flattens out means a loyal core stays.")
ch.show(ch.retention_curves(v.table, v.curve, g))
download(v.curve, f"retention-mean-curve-{g}", key="ret-curve")

st.subheader(f"Is {g}-N retention getting better?")
st.number_input("N", 1, periods, n, key="ret_n", help="Follow the retention at offset N per cohort.")
ch.explain(f"{g.capitalize()}-{n} retention of each cohort over time: rising means newer members stay better. "
           "Hollow points: that period has not ended yet (too early to judge).")
trend = ch.partial_line(v.trend, "value", g, y_title=f"{g}-{n} retention", x_title="cohort")
if trend is None:
    st.info(f"No cohort has reached {g} {n} yet. Pick a smaller N or a longer date range.")
ch.show(trend)
download(v.trend, f"retention-{g}-{n}-trend", key="ret-trend")

st.subheader("Churn over time")
ch.explain(f"Activity churn: members active the {g} before who did not come back this {g}. Contractual churn: "
           "members who cancelled (churned_at) as a share of the community at the start. Faded points: the period "
           "has not ended yet.")
if v.contract is None:
    st.caption("Contractual churn needs a churned_at (cancelled / left) column in the members export.")
chart = ch.churn_lines(churn(v), g)
if chart is None:
    st.info(f"Churn needs at least two {g}s of {what}.")
ch.show(chart)
download(churn_download(v), f"churn-{g}", key="ret-churn")

st.subheader("Lifecycle: where the active members come from")
ch.explain(f"Per {g}: new (first-ever {what}), returning (also active the {g} before), resurrecting (back after a "
           f"pause) above the line; dormant (active the {g} before, not now) below it.")
ch.show(ch.lifecycle_bars(v.growth, g))
ch.explain("Quick ratio = (new + resurrecting) / dormant: above 1 the active base grows, below 1 it shrinks.")
ch.show(ch.quick_ratio(v.growth, g))
download(v.growth, f"growth-accounting-{g}", key="ret-growth")

st.subheader("Who stays: by channel or segment")
st.segmented_control("Break down by", ["channel", "segment"], default="channel", key="ret_by", bind="query-params",
                     format_func={"channel": "first channel", "segment": "segment"}.get)
ch.explain(("Mean retention curve per channel of the member's first " + what) if by == "channel" else
           "Mean retention curve per member segment (CRM export); members without one under (none).")
curves = ch.breakdown_curves(v.breakdown, g, by)
if curves is None:
    st.info("No cohort has a complete period yet.")
ch.show(curves)
download(v.breakdown, f"retention-by-{by}-{g}", key="ret-breakdown")

st.subheader("Who to win back")
d1, d2, d3 = st.columns([1, 1, 2])
d1.number_input("Drifting after (days)", 1, 3650, 90, key="ret_drift",
                help="Last activity at least this many days before the end of the date range.")
d2.number_input("Inactive after (days)", 1, 3650, 180, key="ret_inactive",
                help="Last activity more than this many days ago (CHAOSS inactive contributors).")
if drift > inactive:
    st.warning("'Drifting after' must not be larger than 'Inactive after'.")
ch.explain(f"Members whose last {what} was {min(drift, inactive)}–{inactive} days before {v.as_of:%d-%m-%Y} (drifting) "
           "or longer ago (inactive): call the drifting ones first, they are the easiest to win back.")
d3.metric("Drifting / inactive", f"{ch.fmt_int(v.call_counts['drifting'])} / {ch.fmt_int(v.call_counts['inactive'])}",
          border=True, help="Members seen before but quiet for a while; never-active members are not listed.")
if v.people.empty:
    st.info("Nobody is drifting: every member seen was active recently.")
else:
    st.dataframe(v.people.head(CALL_LIST_ROWS).fillna({"name": "", "email": "", "segment": ""}), hide_index=True, placeholder="–",
                 height=320, column_config={
                     "last_activity": st.column_config.DateColumn("last activity", format="DD-MM-YYYY"),
                     "first_activity": st.column_config.DateColumn("first activity", format="DD-MM-YYYY"),
                     "churned_at": st.column_config.DateColumn("churned", format="DD-MM-YYYY"),
                     "days_since": st.column_config.NumberColumn("days quiet"),
                     "last_channel": st.column_config.TextColumn("last channel"),
                     "in_crm": st.column_config.CheckboxColumn("in CRM", help="Known in the members export.")})
    if len(v.people) > CALL_LIST_ROWS:
        st.caption(f"The first {CALL_LIST_ROWS:,} of {len(v.people):,}; the download has everyone.")
    download(v.people, f"win-back-call-list-{drift}-{inactive}", key="ret-people", label="Download call list")
