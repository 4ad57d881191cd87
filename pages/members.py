"""Members: find one member and see every contact moment across channels (the customer 360).

Widgets -> one view (views.members) -> profile tiles and the timeline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import db
from ui.charts import fmt_int
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.widgets import header, plain
from views.members import MembersSettings

ctx = sidebar()
header("Members", "One member's timeline of every contact moment: social, forum, e-mail, phone, chat, store and purchases.")
if empty_state(ctx):
    st.stop()
query = st.text_input("Find a member by id, name or e-mail", key="member_q", bind="query-params",
                      placeholder="e.g. M00042 or Anna")
if not query.strip():
    st.info("Type part of a member id, name or e-mail address to find someone.", icon=":material/search:")
    st.stop()
v = db.view("members", ctx.workspace, ctx.filters, MembersSettings(query, st.session_state.get("member_pick")))
if st.session_state.get("member_pick") not in set(v.hits["member_id"]):
    st.session_state.pop("member_pick", None)  # a new search: its first hit
if v.hits.empty:
    st.warning(f"No member matches “{plain(query)}”.")
    st.stop()
hits = v.hits.set_index("member_id")
st.selectbox(f"{len(hits)} match{'es' if len(hits) != 1 else ''}", list(hits.index), key="member_pick",
             index=list(hits.index).index(v.member),
             format_func=lambda m: " · ".join(str(x) for x in hits.loc[m, ["name", "segment"]] if pd.notna(x)) + f"  ({m})")
p = v.profile
if p is None:
    st.warning("This member has no data.")
    st.stop()

st.subheader(plain(p.get("name") or v.member))
if not p.get("in_crm", True):
    st.caption("Seen in interactions but not in the CRM export (an unidentified customer).")
top, bottom = st.columns(3), st.columns(3)
top[0].metric("Segment", p.get("segment") or "–", border=True)
top[1].metric("Stage (CRM)", p.get("lifecycle_stage") or "–", border=True)
joined = p.get("joined_at")
top[2].metric("Joined", joined.strftime("%d-%m-%Y") if joined is not None and pd.notna(joined) else "–", border=True)
bottom[0].metric("Followers", fmt_int(p.get("followers")), border=True)
bottom[1].metric("Messages from / to us", f"{fmt_int(p['inbound'])} / {fmt_int(p['outbound'])}", border=True,
                 help="Inbound messages from this member / outbound messages from us to them.")
revenue = p.get("revenue")
bottom[2].metric("Purchases", fmt_int(p.get("transactions")), border=True, delta_color="off", delta_arrow="off",
                 delta=None if revenue is None or pd.isna(revenue) else f"{revenue:,.2f} revenue")
if p.get("churned_at") is not None and pd.notna(p.get("churned_at")):
    st.warning(f"Left on {p['churned_at']:%d-%m-%Y} (contractual churn).")

timeline = v.timeline
f1, f2, f3 = st.columns(3)
chans = f1.multiselect("Channels", sorted(timeline["channel"].dropna().unique()), placeholder="All channels")
dirs = f2.multiselect("Direction", ["inbound", "outbound"], placeholder="Both directions")
tones = f3.multiselect("Tone", ["negative", "neutral", "positive"], placeholder="Every tone",
                       help="The export's own sentiment, else the score of the text (the Listening page says how).")
keep = pd.Series(True, index=timeline.index)
if chans:
    keep &= timeline["channel"].isin(chans)
if dirs:
    keep &= timeline["direction"].isin(dirs)
if tones:
    keep &= timeline["sentiment_label"].isin(tones)
shown = timeline[keep]
answered = timeline["response_hours"].dropna()
if len(answered):
    st.caption(f"{len(answered)} of this member's messages were answered; median first response {answered.median():.1f} h.")
st.dataframe(shown.fillna({c: "" for c in ("text", "agent", "campaign", "hashtags", "topics") if c in shown}),
             hide_index=True, placeholder="–", height=480,
             column_config={
                 "when": st.column_config.DatetimeColumn("when", format="DD-MM-YYYY HH:mm"),
                 "response_hours": st.column_config.NumberColumn("first response (h)", format="%.1f",
                                                                 help="Time until our first reply to this message."),
                 "amount": st.column_config.NumberColumn("amount", format="%.2f"),
                 "sentiment": st.column_config.NumberColumn("sentiment", format="%+.2f"),
                 "sentiment_label": st.column_config.TextColumn("tone"),
                 "text": st.column_config.TextColumn("text / product", width="large")})
download(shown, f"timeline-{v.member}", key="timeline")
