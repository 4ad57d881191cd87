"""Posts & audience: our own posts' engagement per network, the best and weakest posts, when to
post, and the audience next to it (activity beats size).

Widgets -> one view (views.posts, cached on the data) -> charts (ui.charts)."""

from __future__ import annotations

import streamlit as st

from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.widgets import computing, header, plain, tiles
from views.posts import RANKINGS, PostsSettings

ctx = sidebar()
header("Posts & audience", "How our own posts do on each network, by each platform's published definition: "
       "engagements per post and the engagement rate by impressions and by reach; the audience next to it, "
       "because a large audience that does not engage is not a working community.")
if empty_state(ctx):
    st.stop()
g = ctx.grain
rank_by = st.session_state.get("posts_rank") or "engagement_rate_impressions"
with computing(what="the posts and audience"):
    v = db.view("posts", ctx.workspace, ctx.filters, PostsSettings(g, rank_by))

if not v.has_posts and not v.has_audience:
    st.info("No post or audience figures in the chosen filters. Load a post export (X Tweet activity, Meta Business "
            "Suite Facebook posts, Instagram posts) or page statistics (LinkedIn page content or followers, X's daily "
            "summary) on the Data page, or widen the date range.", icon=":material/campaign:")
    st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload:")
    st.stop()
st.caption(v.period_note)
tiles(v.tiles, per_row=5)

st.subheader("Engagement rate per network")
ch.explain("Engagements / impressions of the posts published in each period (a sum over the posts, not a mean of "
           "rates); a network with only page statistics is read from those.")
ch.show(ch.network_rates(v.rates, g))
if v.bases:
    st.caption("Engagements counted from: " + "; ".join(f"**{plain(n)}** {plain(b)}" for n, b in sorted(v.bases.items())))
download(v.rates, f"engagement-rate-{g}", key="posts-rates")

if v.has_posts and not v.posts.empty:
    st.subheader("Best and weakest posts")
    st.segmented_control("Rank by", list(RANKINGS), format_func=RANKINGS.get, key="posts_rank",
                         default="engagement_rate_impressions")
    columns = {
        "published_at": st.column_config.DatetimeColumn("published", format="DD-MM-YYYY HH:mm"),
        "text": st.column_config.TextColumn("post", width="large"),
        "permalink": st.column_config.LinkColumn("link", display_text="open"),
        "impressions": st.column_config.NumberColumn("impressions", format="localized"),
        "reach": st.column_config.NumberColumn("reach", format="localized"),
        "engagements": st.column_config.NumberColumn("engagements", format="localized"),
        "engagement_rate_impressions": st.column_config.NumberColumn("rate (impressions)", format="percent",
                                                                     help="engagements / impressions"),
        "engagement_rate_reach": st.column_config.NumberColumn("rate (reach)", format="percent",
                                                               help="engagements / reach"),
    }
    shown = ["network", "published_at", "text", "impressions", "reach", "engagements",
             "engagement_rate_impressions", "engagement_rate_reach", "permalink"]
    top, bottom = st.tabs(["Top 10", "Bottom 10"])
    with top:
        st.dataframe(v.top[shown], hide_index=True, column_config=columns, placeholder="–")
    with bottom:
        st.dataframe(v.bottom[shown], hide_index=True, column_config=columns, placeholder="–")
    download(v.posts, "posts", key="posts-all", label="Download every post")

    st.subheader("When to post")
    ch.explain("Median engagement rate of the posts published at each weekday and hour (times in "
               f"{ctx.time_zone}); the outlined cell is the best one with at least 3 posts.")
    ch.show(ch.posting_heatmap(v.times))
    best = v.times[v.times["best"]]
    if len(best):
        b = best.iloc[0]
        st.success(f"Best time so far: {ch.WEEKDAYS[int(b['weekday']) - 1]} {int(b['hour']):02d}:00 "
                   f"(median {ch.fmt_pct(b['median_rate'], 2)} over {int(b['posts'])} posts).", icon=":material/schedule:")
    else:
        st.caption("No weekday and hour has 3 posts yet: the best time shows once one has.")
    download(v.times, "posting-times", key="posts-times")

st.subheader("Audience")
ch.explain("Net follower growth per network next to engagements per 1,000 followers: activity beats size.")
if not v.has_audience:
    st.info("No audience figures yet: load LinkedIn's followers export or X's daily summary on the Data page.",
            icon=":material/group_add:")
else:
    ch.show(ch.followers_and_engagement(v.audience, g))
    st.dataframe(v.audience, hide_index=True, placeholder="–", column_config={
        "period": st.column_config.DateColumn(g, format="YYYY-MM-DD"),
        "growth_rate": st.column_config.NumberColumn("growth rate", format="percent"),
        "engagement_per_1000": st.column_config.NumberColumn("engagements per 1,000 followers", format="%.1f")})
    download(v.audience, f"audience-growth-{g}", key="posts-audience")
