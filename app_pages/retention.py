"""Retention (klantbehoud): do customers stay? Cohorts, curves, churn, lifecycle, who to win back.

Thin: widgets -> cached metric calls (ui.db) -> charts. Definitions: METRICS.md, "Retention and
lifecycle" (PostHog semantics); the mean curve and the period-N trend are computed from the cohort
table by the same pure functions the CLI uses (metrics.retention.mean_curve / period_trend).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from metrics.retention import mean_curve, period_trend, retention_inputs
from ui import db
from ui.charts import explain, fmt_int, fmt_pct, show
from ui.context import empty_state, sidebar
from ui.downloads import download

MAX_HEATMAP_ROWS = 36
DEFAULT_PERIODS = {"day": 14, "week": 12, "month": 12}
LIFECYCLE_COLORS = {"new": "#2e9e5b", "returning": "#3b75af", "resurrecting": "#9b6ad6", "dormant": "#d1495b"}

ctx = sidebar()
st.title("Retention")
st.caption(
    "Do customers stay (klantbehoud)? Cohorts of members by the period they first took part, how "
    "many come back, who drifts away, and whether the active base grows. Same definitions as "
    "PostHog's retention and lifecycle insights."
)
if empty_state(ctx):
    st.stop()

ws, flt, grain = ctx.workspace, ctx.filters, ctx.grain
info = db.call(ws, retention_inputs)

# ---------------------------------------------------------------------------------------------
# What counts: activity source, cohort definition, window
# ---------------------------------------------------------------------------------------------
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    source = c1.segmented_control(
        "Activity", ["interactions", "transactions"], default="interactions", key="ret_source",
        bind="query-params", format_func={"interactions": "Interactions", "transactions": "Purchases"}.get,
        help="Purchases gives repeat-purchase retention from the transactions export (refund lines left out).",
    ) or "interactions"
    mode = c2.segmented_control(
        "Cohorts", ["first_time", "recurring"], default="first_time", key="ret_mode", bind="query-params",
        format_func={"first_time": "First time", "recurring": "Recurring"}.get,
        help="First time: a member's cohort is the period of their first-ever activity. Recurring: every "
             "period a member is active starts a cohort row (PostHog's two retention types).",
    ) or "first_time"
    window = c3.segmented_control(
        "Retained when active", ["on", "on_or_after"], default="on", key="ret_window", bind="query-params",
        format_func={"on": "in period N", "on_or_after": "in N or later"}.get,
        help="In period N: counted at offset N when active in exactly that period. In N or later: when "
             "active in that period or any later one (PostHog's 'on or after').",
    ) or "on"
    with st.expander("More: periods to follow, cohort by joined date, start and return actions"):
        e0, e1, e2, e3 = st.columns([0.8, 1.2, 1, 1])
        periods = int(e0.number_input("Periods to follow", 1, 60, DEFAULT_PERIODS[grain], key="ret_periods",
                                      bind="query-params", help=f"Offsets 0 to N {grain}s after the cohort."))
        cohort_by = e1.radio(
            "Cohort by", ["first_activity", "joined_at"], key="ret_cohort_by",
            format_func={"first_activity": "first activity", "joined_at": "joined date"}.get,
            disabled=mode == "recurring",
            help="Joined date: members.joined_at from the CRM export (first activity where it is missing); "
                 "members who never took part stay in their cohort.",
        )
        actions = ["(any)"] + info["actions"]
        no_actions = source == "transactions" or not info["actions"]
        start_action = e2.selectbox("Start action", actions, key="ret_start", disabled=no_actions or
                                    (mode == "first_time" and cohort_by == "joined_at"),
                                    help="Only this action starts a cohort, e.g. a first post.")
        return_action = e3.selectbox("Return action", actions, key="ret_return", disabled=no_actions,
                                     help="Only this action counts as coming back.")

if mode == "recurring":
    cohort_by = "first_activity"
options: dict = {"grain": grain, "mode": mode, "window": window, "cohort_by": cohort_by, "activity": source,
                 "periods": periods}
if source == "interactions" and start_action != "(any)" and cohort_by == "first_activity":
    options["start_action"] = start_action
if source == "interactions" and return_action != "(any)":
    options["return_action"] = return_action
what = "purchase" if source == "transactions" else "activity"

if source == "transactions":
    if not info["transactions"]:
        st.info("No purchases loaded yet. Upload webshop orders or bookings (transactions) on the Data page "
                "to see repeat-purchase retention.", icon=":material/shopping_cart:")
        st.page_link("app_pages/data.py", label="Go to the Data page", icon=":material/upload:")
        st.stop()
    if flt.channels:
        st.caption("The channel filter is about interactions; purchases ignore it (date and segment filters apply).")

table = db.metric(ws, "retention", flt, **options)
growth = db.metric(ws, "growth_accounting", flt, grain=grain, activity=source)
if table.empty or not (table["cohort_size"] > 0).any():
    hint = " or switch Activity to Purchases" if source == "interactions" and info["transactions"] else ""
    st.info(f"No member {what} in the chosen range and filters. Widen the date range, clear the channel or "
            f"segment filter{hint}.", icon=":material/filter_alt_off:")
    st.stop()


def label(ts, g: str = grain) -> str:
    ts = pd.Timestamp(ts)
    if g == "month":
        return ts.strftime("%Y-%m")
    if g == "week":
        return f"{ts.isocalendar().year}-W{ts.isocalendar().week:02d}"
    return ts.strftime("%Y-%m-%d")


def hollow_when_partial(chart: alt.Chart, color: str) -> alt.Chart:
    """Points on a line: filled for complete periods, hollow (white) for periods not over yet."""
    return chart.mark_point(size=45, filled=True, strokeWidth=1.5, color=color).encode(
        fill=alt.condition("datum.is_partial", alt.value("white"), alt.value(color)))


def faded_when_partial(chart: alt.Chart) -> alt.Chart:
    """Points on a coloured line (legend kept): faded for periods not over yet."""
    return chart.mark_point(size=35, filled=True).encode(
        opacity=alt.condition("datum.is_partial", alt.value(0.3), alt.value(1.0)))


curve = mean_curve(table, periods)
complete = table[~table["is_partial"] & (table["cohort_size"] > 0)]

# ---------------------------------------------------------------------------------------------
# Headline tiles
# ---------------------------------------------------------------------------------------------
done_growth = growth[~growth["is_partial"]]
last_growth = done_growth.iloc[-1] if len(done_growth) else None
p1 = complete[complete["period_offset"] == 1]
t = st.columns(4)
t[0].metric(f"Mean {grain}-1 retention", fmt_pct(curve.loc[curve["period_offset"] == 1, "retention_rate"].iloc[0])
            if periods >= 1 and len(curve) > 1 else "–", border=True,
            help=f"Cohort-size-weighted mean over the cohorts whose {grain} 1 has ended.")
t[1].metric(f"Latest {grain}-1 retention", fmt_pct(p1["retention_rate"].iloc[-1]) if len(p1) else "–", border=True,
            help=f"The most recent cohort whose {grain} 1 has ended"
                 + (f" ({label(p1['cohort'].iloc[-1])})." if len(p1) else "."))
t[2].metric("Quick ratio", "–" if last_growth is None or pd.isna(last_growth["quick_ratio"])
            else f"{last_growth['quick_ratio']:.2f}", border=True,
            help="(new + resurrecting) / dormant in the last complete period; above 1 the active base grows.")
t[3].metric(f"Activity churn (last {grain})", fmt_pct(None if last_growth is None else last_growth["activity_churn"]),
            border=True, help=f"Active the {grain} before and not in the last complete {grain}, as a share "
                              f"of those active the {grain} before.")

# ---------------------------------------------------------------------------------------------
# Cohort heatmap
# ---------------------------------------------------------------------------------------------
st.subheader("Cohorts")
explain(f"Each row is a cohort of members by the {grain} of their "
        + ("first purchase" if source == "transactions" else "first activity" if cohort_by == "first_activity"
           else "joining") + f"; each column the share (or number) active again N {grain}s later. "
        "Lighter cells with * are periods that have not ended yet. The first cohort also holds everyone "
        "already active when the data starts.")
show_as = st.segmented_control("Show", ["percent", "count"], default="percent", key="ret_show",
                               format_func={"percent": "%", "count": "count"}.get) or "percent"
heat = table.copy()
heat["cohort_label"] = [f"{label(c)}  (n={n:,})".replace(",", "\u202f") for c, n in zip(heat["cohort"], heat["cohort_size"], strict=True)]
heat["cell"] = [("–" if pd.isna(r) else f"{100 * r:.0f}%") if show_as == "percent" else f"{n:,}".replace(",", "\u202f")
                for r, n in zip(heat["retention_rate"], heat["retained"], strict=True)]
heat["cell"] = heat["cell"] + heat["is_partial"].map({True: "*", False: ""})
heat["state"] = heat["is_partial"].map({True: "partial: the period has not ended", False: "complete"})
cohort_order = list(dict.fromkeys(heat["cohort_label"]))
if len(cohort_order) > MAX_HEATMAP_ROWS:
    cohort_order = cohort_order[-MAX_HEATMAP_ROWS:]
    heat = heat[heat["cohort_label"].isin(cohort_order)]
    st.caption(f"The last {MAX_HEATMAP_ROWS} cohorts; the download has them all.")
base = alt.Chart(heat).encode(
    x=alt.X("period_offset:O", title=f"{grain}s later", axis=alt.Axis(labelAngle=0)),
    y=alt.Y("cohort_label:O", title=None, sort=cohort_order),
    tooltip=[alt.Tooltip("cohort_label:N", title="cohort"), alt.Tooltip("period_offset:O", title=f"{grain}s later"),
             alt.Tooltip("retained:Q", title="retained", format=","),
             alt.Tooltip("cohort_size:Q", title="cohort size", format=","),
             alt.Tooltip("retention_rate:Q", title="retention", format=".1%"), alt.Tooltip("state:N", title="period")],
)
cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
    color=alt.Color("retention_rate:Q", title="retention", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                    legend=alt.Legend(format="%")),
    opacity=alt.condition("datum.is_partial", alt.value(0.45), alt.value(1.0)),
)
text = base.mark_text(fontSize=11).encode(
    text="cell:N",
    color=alt.condition("datum.retention_rate > 0.55 && !datum.is_partial", alt.value("white"), alt.value("#222")),
)
show((cells + text).properties(height=min(24 * len(cohort_order) + 40, 900)))
download(table, f"retention-cohorts-{grain}", key="ret-cohorts")

# ---------------------------------------------------------------------------------------------
# Curves: each cohort and the weighted mean
# ---------------------------------------------------------------------------------------------
st.subheader("Retention curves")
explain("Thin lines: each cohort (complete periods only). Thick line: the mean weighted by cohort size over "
        "the cohorts that reached that offset. A curve that flattens out means a loyal core stays.")
lines = complete.assign(series="single cohort", cohort_label=[label(c) for c in complete["cohort"]])
mean = curve[curve["cohorts"] > 0].assign(series="weighted mean", cohort_label="weighted mean")
both = pd.concat([lines[["period_offset", "retention_rate", "retained", "cohort_size", "series", "cohort_label"]],
                  mean[["period_offset", "retention_rate", "retained", "cohort_size", "series", "cohort_label"]]],
                 ignore_index=True)
curves = alt.Chart(both).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
    x=alt.X("period_offset:Q", title=f"{grain}s later", axis=alt.Axis(tickMinStep=1)),
    y=alt.Y("retention_rate:Q", title="retained", axis=alt.Axis(format="%")),
    detail="cohort_label:N",
    color=alt.Color("series:N", title=None, scale=alt.Scale(domain=["single cohort", "weighted mean"],
                                                            range=["#b7c7dc", "#c0392b"])),
    strokeWidth=alt.condition("datum.series == 'weighted mean'", alt.value(3.5), alt.value(1.2)),
    tooltip=[alt.Tooltip("cohort_label:N", title="cohort"), alt.Tooltip("period_offset:Q", title=f"{grain}s later"),
             alt.Tooltip("retention_rate:Q", title="retention", format=".1%"),
             alt.Tooltip("retained:Q", title="retained", format=","),
             alt.Tooltip("cohort_size:Q", title="of", format=",")],
).properties(height=320)
show(curves)
download(curve, f"retention-mean-curve-{grain}", key="ret-curve")

# ---------------------------------------------------------------------------------------------
# Period-N trend
# ---------------------------------------------------------------------------------------------
st.subheader(f"Is {grain}-N retention getting better?")
if st.session_state.get("ret_n", 1) > periods:
    st.session_state["ret_n"] = periods
n = int(st.number_input("N", 1, periods, 1, key="ret_n", help="Follow the retention at offset N per cohort."))
trend = period_trend(table, n).dropna(subset=["value"])
explain(f"{grain.capitalize()}-{n} retention of each cohort over time: rising means newer members stay better. "
        "Hollow points: that period has not ended yet (too early to judge).")
if trend.empty:
    st.info(f"No cohort has reached {grain} {n} yet. Pick a smaller N or a longer date range.")
else:
    trend = trend.assign(label=[label(p) for p in trend["period"]],
                         state=trend["is_partial"].map({True: "partial", False: "complete"}))
    tb = alt.Chart(trend).encode(
        x=alt.X("period:T", title="cohort"),
        y=alt.Y("value:Q", title=f"{grain}-{n} retention", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("label:N", title="cohort"), alt.Tooltip("value:Q", title="retention", format=".1%"),
                 alt.Tooltip("retained:Q", title="retained", format=","),
                 alt.Tooltip("cohort_size:Q", title="cohort size", format=","), alt.Tooltip("state:N", title="period")],
    )
    show((tb.mark_line(color="#3b75af") + hollow_when_partial(tb, "#3b75af")).properties(height=260))
    download(period_trend(table, n), f"retention-{grain}-{n}-trend", key="ret-trend")

# ---------------------------------------------------------------------------------------------
# Churn over time
# ---------------------------------------------------------------------------------------------
st.subheader("Churn over time")
explain(f"Activity churn: members active the {grain} before who did not come back this {grain}. "
        "Contractual churn: members who cancelled (churned_at) as a share of the community at the start. "
        "Faded points: the period has not ended yet.")
churn = growth[["period", "activity_churn", "is_partial"]].rename(columns={"activity_churn": "value"}).assign(
    kind="activity churn")
contract = db.metric(ws, "contractual_churn", flt, grain=grain) if info["churned_at"] else None
if contract is not None:
    churn = pd.concat([churn, contract[["period", "value", "is_partial"]].assign(kind="contractual churn")],
                      ignore_index=True)
else:
    st.caption("Contractual churn needs a churned_at (cancelled / left) column in the members export: map it on "
               "the Data page.")
churn = churn.dropna(subset=["value"]).assign(label=lambda f: [label(p) for p in f["period"]],
                                              state=lambda f: f["is_partial"].map({True: "partial", False: "complete"}))
if churn.empty:
    st.info(f"Churn needs at least two {grain}s of {what}.")
else:
    cb = alt.Chart(churn).encode(
        x=alt.X("period:T", title=grain),
        y=alt.Y("value:Q", title="churn", axis=alt.Axis(format="%")),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["activity churn", "contractual churn"],
                                                              range=["#d1495b", "#6c757d"])),
        tooltip=[alt.Tooltip("label:N", title=grain), alt.Tooltip("kind:N", title="churn"),
                 alt.Tooltip("value:Q", title="rate", format=".1%"), alt.Tooltip("state:N", title="period")],
    )
    show((cb.mark_line() + faded_when_partial(cb)).properties(height=260))
    out = growth[["period", "active_previous", "dormant", "activity_churn", "is_partial"]]
    if contract is not None:
        out = out.merge(contract.rename(columns={"value": "contractual_churn"}).drop(columns="is_partial"),
                        on="period", how="left")
    download(out, f"churn-{grain}", key="ret-churn")

# ---------------------------------------------------------------------------------------------
# Lifecycle and growth accounting
# ---------------------------------------------------------------------------------------------
st.subheader("Lifecycle: where the active members come from")
explain(f"Per {grain}: new (first-ever {what}), returning (also active the {grain} before), resurrecting "
        f"(back after a pause) above the line; dormant (active the {grain} before, not now) below it.")
life = growth.melt(id_vars=["period", "is_partial"], value_vars=list(LIFECYCLE_COLORS), var_name="status",
                   value_name="members")
life["label"] = [label(p) for p in life["period"]]
life["order"] = life["status"].map({s: i for i, s in enumerate(LIFECYCLE_COLORS)})
bars = alt.Chart(life).mark_bar().encode(
    x=alt.X("label:O", title=grain, sort=list(dict.fromkeys(life["label"])),
            axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
    y=alt.Y("members:Q", title="members", stack="zero"),
    color=alt.Color("status:N", title=None, scale=alt.Scale(domain=list(LIFECYCLE_COLORS),
                                                            range=list(LIFECYCLE_COLORS.values()))),
    order=alt.Order("order:Q"),
    opacity=alt.condition("datum.is_partial", alt.value(0.5), alt.value(1.0)),
    tooltip=[alt.Tooltip("label:N", title=grain), alt.Tooltip("status:N"),
             alt.Tooltip("members:Q", format=",")],
).properties(height=320)
show(bars)
qr = growth.dropna(subset=["quick_ratio"]).assign(label=lambda f: [label(p) for p in f["period"]])
if len(qr):
    explain("Quick ratio = (new + resurrecting) / dormant: above 1 the active base grows, below 1 it shrinks.")
    qb = alt.Chart(qr).encode(
        x=alt.X("period:T", title=grain), y=alt.Y("quick_ratio:Q", title="quick ratio"),
        tooltip=[alt.Tooltip("label:N", title=grain), alt.Tooltip("quick_ratio:Q", title="quick ratio", format=".2f"),
                 alt.Tooltip("new:Q", format=","), alt.Tooltip("resurrecting:Q", format=","),
                 alt.Tooltip("dormant:Q", format=",")],
    )
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#888").encode(y="y:Q")
    show((qb.mark_line(color="#2e9e5b", point=True) + rule).properties(height=200))
download(growth, f"growth-accounting-{grain}", key="ret-growth")

# ---------------------------------------------------------------------------------------------
# Breakdown by channel or segment
# ---------------------------------------------------------------------------------------------
st.subheader("Who stays: by channel or segment")
by = st.segmented_control("Break down by", ["channel", "segment"], default="channel", key="ret_by",
                          bind="query-params",
                          format_func={"channel": "first channel", "segment": "segment"}.get) or "channel"
explain(("Mean retention curve per channel of the member's first " + what) if by == "channel" else
        "Mean retention curve per member segment (CRM export); members without one under (none).")
breakdown = db.metric(ws, "retention_breakdown", flt, by=by, **options)
shown = breakdown[breakdown["cohorts"] > 0]
if shown.empty:
    st.info("No cohort has a complete period yet.")
else:
    bb = alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("period_offset:Q", title=f"{grain}s later", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("retention_rate:Q", title="retained", axis=alt.Axis(format="%")),
        color=alt.Color("breakdown:N", title=by),
        tooltip=[alt.Tooltip("breakdown:N", title=by), alt.Tooltip("period_offset:Q", title=f"{grain}s later"),
                 alt.Tooltip("retention_rate:Q", title="retention", format=".1%"),
                 alt.Tooltip("retained:Q", format=","), alt.Tooltip("cohort_size:Q", title="of", format=",")],
    ).properties(height=300)
    show(bb)
    download(breakdown, f"retention-by-{by}-{grain}", key="ret-breakdown")

# ---------------------------------------------------------------------------------------------
# Drifting and inactive members: the win-back call list
# ---------------------------------------------------------------------------------------------
st.subheader("Who to win back")
d1, d2, d3 = st.columns([1, 1, 2])
drift_days = int(d1.number_input("Drifting after (days)", 1, 3650, 90, key="ret_drift",
                                 help="Last activity at least this many days before the end of the date range."))
inactive_days = int(d2.number_input("Inactive after (days)", 1, 3650, max(180, drift_days), key="ret_inactive",
                                    help="Last activity more than this many days ago (CHAOSS inactive contributors)."))
if drift_days > inactive_days:
    st.warning("'Drifting after' must not be larger than 'Inactive after'.")
else:
    people = db.metric(ws, "drifting_members", flt, drifting_days=drift_days, inactive_days=inactive_days,
                       activity=source)
    as_of = (people["last_activity"].iloc[0] + pd.Timedelta(days=int(people["days_since"].iloc[0]))
             if len(people) else pd.Timestamp(flt.end or ctx.span[1]))
    explain(f"Members whose last {what} was {drift_days}–{inactive_days} days before {as_of:%d-%m-%Y} (drifting) "
            "or longer ago (inactive): call the drifting ones first, they are the easiest to win back.")
    counts = people["status"].value_counts()
    d3.metric("Drifting / inactive", f"{fmt_int(counts.get('drifting', 0))} / {fmt_int(counts.get('inactive', 0))}",
              border=True, help="Members seen before but quiet for a while; never-active members are not listed.")
    if people.empty:
        st.info("Nobody is drifting: every member seen was active recently.")
    else:
        shown = people.head(1000).fillna({"name": "", "email": "", "segment": ""})
        st.dataframe(shown, hide_index=True, height=320, column_config={
            "last_activity": st.column_config.DateColumn("last activity", format="DD-MM-YYYY"),
            "first_activity": st.column_config.DateColumn("first activity", format="DD-MM-YYYY"),
            "churned_at": st.column_config.DateColumn("churned", format="DD-MM-YYYY"),
            "days_since": st.column_config.NumberColumn("days quiet"),
            "last_channel": st.column_config.TextColumn("last channel"),
            "in_crm": st.column_config.CheckboxColumn("in CRM", help="Known in the members export (contact details)."),
        })
        if len(people) > 1000:
            st.caption(f"The first 1,000 of {len(people):,}; the download has everyone.")
        download(people, f"win-back-call-list-{drift_days}-{inactive_days}", key="ret-people",
                 label="Download call list")
