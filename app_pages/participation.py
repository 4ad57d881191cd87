"""Participation: activity next to size, inequality, two-way interaction, timing, channels, influentials."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from metrics.participation import two_way_status
from ui import db
from ui.charts import explain, fmt_int, fmt_pct, line, show
from ui.context import empty_state, sidebar
from ui.downloads import download

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

ctx = sidebar()
st.title("Participation")
st.caption(
    "A social CRM works through the activity of its participants and mutual value, not through "
    "audience size or broadcasting. Activity counts inbound interactions by known customers; "
    "employees, anonymous messages and our own outbound posts never count."
)
if empty_state(ctx):
    st.stop()

ws, flt, grain = ctx.workspace, ctx.filters, ctx.grain


def metric(name: str, **options) -> pd.DataFrame:
    return db.metric(ws, name, flt, **options)


def hours(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value * 60:.0f} min" if value < 1 else f"{value:.1f} h"


def latest(frame: pd.DataFrame, column: str):
    """(last value, last − previous) of a per-period column; None where missing."""
    if frame is None or frame.empty or column not in frame:
        return None, None
    values = frame[column].tolist()
    last = values[-1] if pd.notna(values[-1]) else None
    prev = values[-2] if len(values) > 1 and pd.notna(values[-2]) else None
    return last, (last - prev if last is not None and prev is not None else None)


def tile(col, label: str, frame: pd.DataFrame, column: str, fmt, delta_fmt, help: str,
         inverse: bool = False) -> None:
    value, delta = latest(frame, column)
    col.metric(label, fmt(value), delta=None if delta is None else delta_fmt(delta), border=True, help=help,
               delta_color="inverse" if inverse else "normal")


rate = metric("participation_rate", grain=grain)
per_member = metric("activity_per_active_member", grain=grain)
two_way = db.call(ws, two_way_status)
frt = metric("first_response_time", grain=grain, by="period") if two_way["available"] else None
posts = metric("customer_responses_per_post", grain=grain) if two_way["available"] else None

# ---------------------------------------------------------------------------------------------
# Headline tiles: the last period against the one before
# ---------------------------------------------------------------------------------------------
if not rate.empty:
    last_period = pd.Timestamp(rate["period"].iloc[-1])
    st.caption(f"Tiles: the latest {grain} (starting {last_period:%d-%m-%Y}) against the {grain} before. "
               "The latest period may be incomplete.")
t = st.columns(3) + st.columns(3)
tile(t[0], "Active members", rate, "active_members", fmt_int, lambda d: f"{d:+,.0f}",
     "Distinct members with at least one inbound interaction in the period.")
tile(t[1], "Participation rate", rate, "value", fmt_pct, lambda d: f"{100 * d:+.1f} pp",
     "Active community members / community size at the end of the period (members joined and not churned).")
tile(t[2], "Activity per active member", per_member, "value", lambda v: "–" if v is None else f"{v:.1f}",
     lambda d: f"{d:+.1f}", "Inbound interactions per active member in the period (mean).")
missing_reply = "Needs in_reply_to: map a column to it on the Data page."
tile(t[3], "Response rate", frt, "response_rate", fmt_pct, lambda d: f"{100 * d:+.1f} pp",
     "Answerable inbound messages that got an outbound reply." if frt is not None else missing_reply)
tile(t[4], "Median first response", frt, "median_hours", hours, lambda d: f"{d:+.1f} h",
     "Median time from an inbound message to our first reply (answered messages)."
     if frt is not None else missing_reply, inverse=True)
tile(t[5], "Customer responses per post", posts, "value", lambda v: "–" if v is None else f"{v:.2f}",
     lambda d: f"{d:+.2f}", "Customer replies to our broadcast posts of the period, per post."
     if posts is not None else missing_reply)

if rate.empty or rate["active_members"].sum() == 0:
    st.info("No member activity in the chosen filters. Widen the date range or clear the channel / "
            "segment filter in the sidebar.", icon=":material/filter_alt_off:")
    st.stop()

# ---------------------------------------------------------------------------------------------
# Activity beats size
# ---------------------------------------------------------------------------------------------
st.subheader("Activity beats size")
explain("Active members next to the community they come from: a growing audience with flat activity is "
        "a community that is not working.")
long = rate.melt(id_vars=["period", "value"], value_vars=["active_members", "community_size"],
                 var_name="series", value_name="members")
long["series"] = long["series"].map({"active_members": "active members", "community_size": "community size"})
chart = alt.Chart(long).mark_line(point=len(rate) < 60).encode(
    x=alt.X("period:T", title=grain),
    y=alt.Y("members:Q", title="members"),
    color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#1f6feb", "#9aa4b2"])),
    tooltip=[alt.Tooltip("period:T", title=grain), alt.Tooltip("series:N", title="series"),
             alt.Tooltip("members:Q", format=",.0f"),
             alt.Tooltip("value:Q", title="participation rate", format=".1%")],
).properties(height=280)
show(chart)
download(rate, f"participation-rate-{grain}", key="part-rate")

# ---------------------------------------------------------------------------------------------
# DAU / WAU / MAU and stickiness
# ---------------------------------------------------------------------------------------------
st.subheader("Daily, weekly and monthly active members")
explain("Members active on the day and over the trailing 7 and 30 days (per week or month: the mean of the "
        "days); stickiness = DAU / MAU tells how much of the monthly crowd comes back day after day.")
dwm = metric("dau_wau_mau", grain=grain)
left, right = st.columns([3, 1])
with left:
    dwm_long = dwm.melt(id_vars=["period", "stickiness"], value_vars=["dau", "wau", "mau"],
                        var_name="measure", value_name="members")
    dwm_long["measure"] = dwm_long["measure"].str.upper()
    show(alt.Chart(dwm_long).mark_line().encode(
        x=alt.X("period:T", title=grain),
        y=alt.Y("members:Q", title="active members"),
        color=alt.Color("measure:N", title=None, sort=["DAU", "WAU", "MAU"]),
        tooltip=[alt.Tooltip("period:T", title=grain), "measure:N",
                 alt.Tooltip("members:Q", format=",.1f"), alt.Tooltip("stickiness:Q", format=".1%")],
    ).properties(height=260))
with right:
    value, delta = latest(dwm, "stickiness")
    st.metric("Stickiness (DAU / MAU)", fmt_pct(value), delta=None if delta is None else f"{100 * delta:+.1f} pp",
              border=True, help=f"Mean DAU / mean MAU over the latest {grain}.")
download(dwm, f"dau-wau-mau-{grain}", key="part-dwm")

dist = metric("stickiness_distribution", grain=grain)
st.markdown(f"**How many {grain}s were members active?**")
explain(f"Each active member counted once, by the number of {grain}s with activity in the range: "
        "a long tail to the right is a loyal core.")
dist_shown = dist[dist["members"] > 0] if len(dist) > 60 else dist
show(alt.Chart(dist_shown).mark_bar(color="#1f6feb").encode(
    x=alt.X("periods_active:O", title=f"{grain}s active", sort="ascending",
            axis=alt.Axis(labelOverlap=True)),
    y=alt.Y("members:Q", title="members"),
    tooltip=[alt.Tooltip("periods_active:O", title=f"{grain}s active"), alt.Tooltip("members:Q", format=",.0f"),
             alt.Tooltip("share:Q", format=".1%")],
).properties(height=220))
download(dist, f"stickiness-distribution-{grain}", key="part-dist")

# ---------------------------------------------------------------------------------------------
# Participation inequality
# ---------------------------------------------------------------------------------------------
st.subheader("Who carries the community")
explain("Most communities live on a small core: the onion shows lurkers and the core / regular / casual "
        "participants; the Lorenz curve shows how unequal the activity is.")
ineq = metric("participation_inequality")
lorenz = metric("participation_lorenz")
if not ineq.empty:
    row = ineq.iloc[0]
    c = st.columns(4)
    c[0].metric("Lurkers", fmt_pct(row["lurker_share"]), border=True,
                help=f"{fmt_int(row['lurkers'])} of {fmt_int(row['community'])} community members had no "
                     "activity in the range.")
    c[1].metric("Gini of activity", "–" if pd.isna(row["gini"]) else f"{row['gini']:.2f}", border=True,
                help="0 = everyone equally active, 1 = one member does everything (active members only).")
    c[2].metric("Top 10 % share", fmt_pct(row["top_10pct_share"]), border=True,
                help="Share of the activity produced by the most active 10 % of active members.")
    c[3].metric("Absence factor", fmt_int(row["absence_factor"]), border=True,
                help="The fewest members who together produce half of the activity (CHAOSS): "
                     "the people the community cannot do without.")
    tiers = pd.DataFrame({
        "tier": ["core", "regular", "casual", "lurkers"],
        "position": [0, 1, 2, 3],
        "members": [int(row["core"]), int(row["regular"]), int(row["casual"]), int(row["lurkers"])],
        "meaning": ["smallest top group producing 80 % of activity", "next 15 % of activity",
                    "last 5 % of activity", "community members without activity"],
        "group": "community",
    })
    tiers["share"] = tiers["members"] / max(1, int(row["community"]))
    a, b = st.columns(2)
    with a:
        bars = alt.Chart(tiers).encode(
            y=alt.Y("tier:N", sort=list(tiers["tier"]), title=None),
            x=alt.X("members:Q", title="members"),
            tooltip=["tier:N", alt.Tooltip("members:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%"),
                     "meaning:N"],
        )
        show((bars.mark_bar().encode(
            color=alt.Color("tier:N", legend=None, scale=alt.Scale(
                domain=list(tiers["tier"]), range=["#0b3d91", "#1f6feb", "#8cb8ff", "#b6bec9"])))
            + bars.mark_text(align="left", dx=4, color="#57606a").encode(text=alt.Text("share:Q", format=".1%")))
            .properties(height=200, title="Onion: core, regular, casual participants and lurkers"))
        download(ineq, "participation-inequality", key="part-ineq")
    with b:
        if not lorenz.empty:
            base = alt.Chart(lorenz).encode(x=alt.X("member_share:Q", title="share of active members (least active first)",
                                                    axis=alt.Axis(format="%")))
            curve = base.mark_line(color="#1f6feb").encode(
                y=alt.Y("activity_share:Q", title="share of activity", axis=alt.Axis(format="%")),
                tooltip=[alt.Tooltip("member_share:Q", title="members", format=".0%"),
                         alt.Tooltip("activity_share:Q", title="activity", format=".1%")])
            equal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(
                color="#9aa4b2", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
            show((equal + curve).properties(height=240, title="Lorenz curve"))
            download(lorenz, "participation-lorenz", key="part-lorenz")

# ---------------------------------------------------------------------------------------------
# Two-way interaction
# ---------------------------------------------------------------------------------------------
st.subheader("Two-way interaction")
explain("Mutual value, not push: how many customer messages get an answer, how fast, and whether "
        "anyone answers our posts.")
if not two_way["available"]:
    st.warning(two_way["message"], icon=":material/link_off:")
    st.page_link("app_pages/data.py", label="Map in_reply_to on the Data page", icon=":material/upload:")
else:
    show(line(frt.melt(id_vars=["period"], value_vars=["median_hours", "p90_hours"], var_name="measure",
                       value_name="hours").replace({"measure": {"median_hours": "median", "p90_hours": "p90"}}),
              "period", "hours", color="measure", y_title="hours to first reply", x_title=grain, fmt=".1f"))
    download(frt, f"first-response-time-{grain}", key="part-frt")

    dist_rt = metric("response_time_distribution")
    a, b = st.columns(2)
    with a:
        st.markdown("**Time to first reply**")
        explain("Answerable customer messages of the range by how long our first answer took.")
        show(alt.Chart(dist_rt).mark_bar().encode(
            x=alt.X("bucket:N", sort=list(dist_rt["bucket"]), title=None, axis=alt.Axis(labelAngle=-90, labelOverlap=False)),
            y=alt.Y("messages:Q", title="messages"),
            color=alt.condition(alt.datum.bucket == "unanswered", alt.value("#cf222e"), alt.value("#1f6feb")),
            tooltip=["bucket:N", alt.Tooltip("messages:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%")],
        ).properties(height=240))
        download(dist_rt, "response-time-distribution", key="part-rtd")
    with b:
        st.markdown("**Customer responses per post**")
        explain("Customer replies to our broadcast posts, per post: low means we talk and nobody answers.")
        show(line(posts, "period", "value", y_title="responses per post", x_title=grain, fmt=".2f"))
        download(posts, f"customer-responses-per-post-{grain}", key="part-posts")

# ---------------------------------------------------------------------------------------------
# When customers talk and when we answer
# ---------------------------------------------------------------------------------------------
st.subheader("When do customers talk, when do we answer?")
views = ["Customer activity", "Our outbound messages"] + (["Median first response"] if two_way["available"] else [])
view = st.segmented_control("Show", views, default=views[0], key="part-heat") or views[0]
if view == "Median first response":
    heat = metric("first_response_time", by="hour_of_week")
    heat = heat.assign(shown=heat["median_hours"])
    heat_title, heat_fmt = "median hours to first reply", ".1f"
    explain("Median time to our first reply by the hour the customer wrote: nights and weekends show "
            "where the team is missing.")
else:
    heat = metric("activity_heatmap")
    column = "activity" if view == "Customer activity" else "outbound"
    heat = heat.assign(shown=heat[column])
    heat_title, heat_fmt = ("customer interactions" if column == "activity" else "our outbound messages"), ",.0f"
    explain("Customers choose the day, hour and channel: staff and schedule posts for when they talk "
            f"(times in {ctx.time_zone}).")
heat = heat.assign(day=heat["weekday"].map(lambda d: WEEKDAYS[int(d) - 1]))
show(alt.Chart(heat).mark_rect().encode(
    x=alt.X("hour:O", title="hour of day"),
    y=alt.Y("day:N", sort=WEEKDAYS, title=None),
    color=alt.Color("shown:Q", title=heat_title, scale=alt.Scale(scheme="blues")),
    tooltip=["day:N", "hour:O", alt.Tooltip("shown:Q", title=heat_title, format=heat_fmt)],
).properties(height=230))
download(heat.drop(columns=["shown"]), "hour-of-week", key="part-heat-dl")

# ---------------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------------
st.subheader("Channels")
explain("Which channels customers are active on (a member can use several) and how the mix moves: "
        "be where your customers are.")
presence = metric("channel_presence")
mix = metric("channel_mix", grain=grain)
a, b = st.columns([2, 3])
with a:
    show(alt.Chart(presence).mark_bar(color="#1f6feb").encode(
        x=alt.X("member_share:Q", title="share of active members", axis=alt.Axis(format="%")),
        y=alt.Y("channel:N", sort="-x", title=None),
        tooltip=["channel:N", alt.Tooltip("active_members:Q", format=",.0f"),
                 alt.Tooltip("member_share:Q", format=".1%"), alt.Tooltip("activity:Q", format=",.0f"),
                 alt.Tooltip("activity_share:Q", format=".1%")],
    ).properties(height=260))
    download(presence, "channel-presence", key="part-presence")
with b:
    show(alt.Chart(mix).mark_area().encode(
        x=alt.X("period:T", title=grain),
        y=alt.Y("activity:Q", stack="normalize", title="share of activity", axis=alt.Axis(format="%")),
        color=alt.Color("channel:N", title=None),
        tooltip=[alt.Tooltip("period:T", title=grain), "channel:N", alt.Tooltip("activity:Q", format=",.0f"),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("active_members:Q", format=",.0f")],
    ).properties(height=260))
    download(mix, f"channel-mix-{grain}", key="part-mix")

# ---------------------------------------------------------------------------------------------
# Phases: known customers and influentials
# ---------------------------------------------------------------------------------------------
st.subheader("Known customers and influentials")
explain("Phase 2: contact moments tied to a known customer. Phase 3: reaching the influentials who "
        "carry the message further (love = their activity in the last 90 days, reach = followers, "
        "gravity = love × reach).")
ident = metric("identified_share", grain=grain)
engaged = metric("influentials_engaged", grain=grain)
c = st.columns(2)
tile(c[0], "Identified share", ident, "value", fmt_pct, lambda d: f"{100 * d:+.1f} pp",
     "Inbound interactions whose member_id is in the CRM / all inbound interactions (anonymous included).")
tile(c[1], "Influentials engaged", engaged, "value", fmt_pct, lambda d: f"{100 * d:+.1f} pp",
     "Influentials (top 1 % by reach among the period's active members) who got an outbound message "
     "from us in the period.")
infl = metric("influentials", limit=50)
if infl.empty:
    st.info("No active member has a reach: map followers (members) or reach (interactions) to find influentials.")
else:
    st.dataframe(infl.fillna({"name": "(not in the CRM)", "segment": "–"}), hide_index=True, column_config={
        "member_id": st.column_config.TextColumn("member"),
        "love": st.column_config.NumberColumn("love", help="activity in the 90 days to the range end",
                                              format="localized"),
        "reach": st.column_config.NumberColumn("reach", help="followers, else the largest reach of their messages",
                                               format="localized"),
        "gravity": st.column_config.NumberColumn("gravity", help="love × reach", format="localized"),
        "engaged": st.column_config.CheckboxColumn("engaged", help="we sent them something in the range"),
        "reach_rank": st.column_config.NumberColumn("reach rank"),
    })
    download(infl, "influentials", key="part-infl")
