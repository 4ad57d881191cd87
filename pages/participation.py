"""Participation: activity next to size, inequality, two-way interaction, timing, channels, influentials.

Widgets -> one view (views.participation, cached on the data) -> charts (ui.charts)."""

from __future__ import annotations

import streamlit as st

from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.widgets import computing, header, tile, tiles
from views.common import GrainSettings

ctx = sidebar()
header("Participation", "A social CRM works through the activity of its participants and mutual value, not "
       "through audience size or broadcasting. Activity counts inbound interactions by known customers; "
       "employees, anonymous messages and our own outbound posts never count.")
if empty_state(ctx):
    st.stop()
g = ctx.grain
with computing(what="participation"):
    v = db.view("participation", ctx.workspace, ctx.filters, GrainSettings(g))

st.caption(v.period_note)
tiles(v.tiles, per_row=3)
if not v.active:
    st.info("No member activity in the chosen filters. Widen the date range or clear the channel, segment or "
            "campaign filter in the sidebar.", icon=":material/filter_alt_off:")
    st.stop()

st.subheader("Activity beats size")
ch.explain("Active members next to the community they come from: a growing audience with flat activity is a "
           "community that is not working.")
ch.show(ch.activity_and_size(v.rate, g))
download(v.rate, f"participation-rate-{g}", key="part-rate")

st.subheader("Daily, weekly and monthly active members")
ch.explain("Members active on the day and over the trailing 7 and 30 days (per week or month: the mean of the "
           "days); stickiness = DAU / MAU tells how much of the monthly crowd comes back day after day.")
left, right = st.columns([3, 1])
with left:
    ch.show(ch.dau_wau_mau(v.dwm, g))
tile(right, v.stickiness)
download(v.dwm, f"dau-wau-mau-{g}", key="part-dwm")
st.markdown(f"**How many {g}s were members active?**")
ch.explain(f"Each active member counted once, by the number of {g}s with activity in the range: a long tail to "
           "the right is a loyal core.")
dist = v.distribution[v.distribution["members"] > 0] if len(v.distribution) > 60 else v.distribution
ch.show(ch.bars(dist, "periods_active", "members", x_title=f"{g}s active", y_title="members",
                tips=(ch.alt.Tooltip("share:Q", format=".1%"),)))
download(v.distribution, f"stickiness-distribution-{g}", key="part-dist")

st.subheader("Who carries the community")
ch.explain("Most communities live on a small core: the onion shows lurkers and the core / regular / casual "
           "participants; the Lorenz curve shows how unequal the activity is.")
if not v.inequality.empty:
    row = v.inequality.iloc[0]
    c = st.columns(4)
    c[0].metric("Lurkers", ch.fmt_pct(row["lurker_share"]), border=True,
                help=f"{ch.fmt_int(row['lurkers'])} of {ch.fmt_int(row['community'])} community members had no "
                     "activity in the range.")
    c[1].metric("Gini of activity", ch.fmt_num(row["gini"]), border=True,
                help="0 = everyone equally active, 1 = one member does everything (active members only).")
    c[2].metric("Top 10 % share", ch.fmt_pct(row["top_10pct_share"]), border=True,
                help="Share of the activity produced by the most active 10 % of active members.")
    c[3].metric("Absence factor", ch.fmt_int(row["absence_factor"]), border=True,
                help="The fewest members who together produce half of the activity (CHAOSS): the people the "
                     "community cannot do without.")
    a, b = st.columns(2)
    with a:
        ch.show(ch.onion(v.tiers))
        download(v.inequality, "participation-inequality", key="part-ineq")
    with b:
        ch.show(ch.lorenz(v.lorenz))
        download(v.lorenz, "participation-lorenz", key="part-lorenz")

st.subheader("Two-way interaction")
ch.explain("Mutual value, not push: how many customer messages get an answer, how fast, and whether anyone "
           "answers our posts.")
if not v.two_way["available"]:
    st.warning(v.two_way["message"], icon=":material/link_off:")
    st.page_link("pages/data.py", label="Map in_reply_to on the Data page", icon=":material/upload:")
else:
    frt = ch.long(v.frt, {"median_hours": "median", "p90_hours": "p90"}, "hours")
    ch.show(ch.line(frt, "hours", g, color="series", y_title="hours to first reply", fmt=".1f"))
    download(v.frt, f"first-response-time-{g}", key="part-frt")
    a, b = st.columns(2)
    with a:
        st.markdown("**Time to first reply**")
        ch.explain("Answerable customer messages of the range by how long our first answer took.")
        ch.show(ch.response_buckets(v.response_buckets))
        download(v.response_buckets, "response-time-distribution", key="part-rtd")
    with b:
        st.markdown("**Customer responses per post**")
        ch.explain("Customer replies to our broadcast posts, per post: low means we talk and nobody answers.")
        ch.show(ch.line(v.posts, "value", g, y_title="responses per post", fmt=".2f"))
        download(v.posts, f"customer-responses-per-post-{g}", key="part-posts")

st.subheader("When do customers talk, when do we answer?")
modes = {"Customer activity": (v.heat_activity, "activity", "customer interactions", ",.0f"),
         "Our outbound messages": (v.heat_activity, "outbound", "our outbound messages", ",.0f")}
if v.heat_response is not None:
    modes["Median first response"] = (v.heat_response, "median_hours", "median hours to first reply", ".1f")
mode = st.segmented_control("Show", list(modes), default="Customer activity", key="part-heat") or "Customer activity"
frame, column, title, fmt = modes[mode]
ch.explain("Median time to our first reply by the hour the customer wrote: nights and weekends show where the team "
           "is missing." if column == "median_hours" else
           f"Customers choose the day, hour and channel: staff and schedule posts for when they talk (times in "
           f"{ctx.time_zone}).")
ch.show(ch.week_heatmap(frame, column, title, fmt))
download(frame, "hour-of-week", key="part-heat-dl")

st.subheader("Channels")
ch.explain("Which channels customers are active on (a member can use several) and how the mix moves: be where "
           "your customers are.")
a, b = st.columns([2, 3])
with a:
    ch.show(ch.channel_presence(v.presence))
    download(v.presence, "channel-presence", key="part-presence")
with b:
    ch.show(ch.channel_mix(v.mix, g))
    download(v.mix, f"channel-mix-{g}", key="part-mix")

st.subheader("Known customers and influentials")
ch.explain("Phase 2: contact moments tied to a known customer. Phase 3: reaching the influentials who carry the "
           "message further (love = their activity in the last 90 days, reach = followers, gravity = love × reach).")
tiles(v.phase_tiles, per_row=2)
if v.influentials.empty:
    st.info("No active member has a reach: map followers (members) or reach (interactions) to find influentials.")
else:
    st.dataframe(v.influentials.fillna({"name": "(not in the CRM)", "segment": "–"}), hide_index=True, placeholder="–",
                 column_config={
                     "member_id": st.column_config.TextColumn("member"),
                     "love": st.column_config.NumberColumn("love", help="activity in the 90 days to the range end",
                                                           format="localized"),
                     "reach": st.column_config.NumberColumn("reach", format="localized",
                                                            help="followers, else the largest reach of their messages"),
                     "gravity": st.column_config.NumberColumn("gravity", help="love × reach", format="localized"),
                     "engaged": st.column_config.CheckboxColumn("engaged", help="we sent them something in the range"),
                     "reach_rank": st.column_config.NumberColumn("reach rank")})
    download(v.influentials, "influentials", key="part-infl")
