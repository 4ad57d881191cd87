"""Members: find one member and see every contact moment across channels (the customer 360)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.queries import find_members, member_profile, member_timeline
from ui import db
from ui.charts import fmt_int
from ui.context import empty_state, sidebar
from ui.downloads import download

ctx = sidebar()
st.title("Members")
st.caption("One member's timeline of every contact moment: social, forum, e-mail, phone, chat, store and purchases.")
if empty_state(ctx):
    st.stop()

query = st.text_input("Find a member by id, name or e-mail", key="member_q", bind="query-params",
                      placeholder="e.g. M00042 or Anna")
if not query.strip():
    st.info("Type part of a member id, name or e-mail address to find someone.", icon=":material/search:")
    st.stop()

hits = db.call(ctx.workspace, find_members, query)
if hits.empty:
    st.warning(f"No member matches “{query}”.")
    st.stop()
member = st.selectbox(
    f"{len(hits)} match{'es' if len(hits) != 1 else ''}", hits["member_id"].tolist(),
    format_func=lambda m: " · ".join(str(x) for x in hits.set_index("member_id").loc[m, ["name", "segment"]]
                                     if pd.notna(x)) + f"  ({m})",
)
profile = db.call(ctx.workspace, member_profile, member)
if profile is None:
    st.warning("This member has no data.")
    st.stop()

st.subheader(str(profile.get("name") or member))
if not profile.get("in_crm", True):
    st.caption("Seen in interactions but not in the CRM export (an unidentified customer).")
top, bottom = st.columns(3), st.columns(3)
top[0].metric("Segment", profile.get("segment") or "–", border=True)
top[1].metric("Stage (CRM)", profile.get("lifecycle_stage") or "–", border=True)
joined = profile.get("joined_at")
top[2].metric("Joined", joined.strftime("%d-%m-%Y") if joined is not None and pd.notna(joined) else "–", border=True)
bottom[0].metric("Followers", fmt_int(profile.get("followers")), border=True)
bottom[1].metric("Messages from / to us", f"{fmt_int(profile['inbound'])} / {fmt_int(profile['outbound'])}", border=True,
                 help="Inbound messages from this member / outbound messages from us to them.")
revenue = profile.get("revenue")
bottom[2].metric("Purchases", fmt_int(profile.get("transactions")), border=True,
                 delta=None if revenue is None or pd.isna(revenue) else f"{revenue:,.2f} revenue", delta_color="off",
                 delta_arrow="off")
if profile.get("churned_at") is not None and pd.notna(profile.get("churned_at")):
    st.warning(f"Left on {profile['churned_at']:%d-%m-%Y} (contractual churn).")

timeline = db.call(ctx.workspace, member_timeline, member)
f1, f2 = st.columns(2)
chans = f1.multiselect("Channels", sorted(timeline["channel"].dropna().unique()), placeholder="All channels")
dirs = f2.multiselect("Direction", ["inbound", "outbound"], placeholder="Both directions")
shown = timeline
if chans:
    shown = shown[shown["channel"].isin(chans)]
if dirs:
    shown = shown[shown["direction"].isin(dirs)]
answered = timeline["response_hours"].dropna()
if len(answered):
    st.caption(f"{len(answered)} of this member's messages were answered; median first response "
               f"{answered.median():.1f} h.")
st.dataframe(shown, hide_index=True, height=480, column_config={
    "when": st.column_config.DatetimeColumn("when", format="DD-MM-YYYY HH:mm"),
    "response_hours": st.column_config.NumberColumn("first response (h)", format="%.1f",
                                                    help="Time until our first reply to this message."),
    "amount": st.column_config.NumberColumn("amount", format="%.2f"),
    "text": st.column_config.TextColumn("text / product", width="large"),
})
download(shown, f"timeline-{member}", key="timeline")
