"""Home: the workspace at a glance, activity next to size."""

from __future__ import annotations

import streamlit as st

from ui import db
from ui.charts import explain, fmt_int, line, show
from ui.context import empty_state, sidebar
from ui.downloads import download

ctx = sidebar()
st.title("Social CRM dashboard")
st.caption(
    "Is our social CRM working? Are customers participating, do they stay, do they grow? "
    "Measure, try things, keep what works (meten is weten)."
)
if empty_state(ctx):
    st.stop()

counts = db.metric(ctx.workspace, "row_counts")
active = db.metric(ctx.workspace, "active_members", ctx.filters, grain=ctx.grain)
by_table = counts.set_index("table")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Members (CRM)", fmt_int(by_table.loc["members", "rows"]), border=True,
          help="Members in the CRM export (latest version of each).")
c2.metric("Interactions", fmt_int(by_table.loc["interactions", "rows"]), border=True,
          help="Every contact moment imported, inbound and outbound, all channels.")
c3.metric("Transactions", fmt_int(by_table.loc["transactions", "rows"]), border=True)
latest = active["value"].iloc[-1] if len(active) else None
previous = active["value"].iloc[-2] if len(active) > 1 else None
c4.metric(f"Active members (last {ctx.grain})", fmt_int(latest), border=True,
          delta=None if previous is None or latest is None else int(latest - previous),
          help="Distinct members with at least one inbound interaction in the period "
               "(employees and anonymous messages excluded). The last period may be partial.")

st.subheader("Active members per " + ctx.grain)
explain("Activity, not size, decides whether a community works: how many members actually took part each period.")
if active.empty:
    st.info("No member activity in the chosen filters. Widen the date range or clear the channel / segment filter.")
else:
    show(line(active.rename(columns={"value": "active members"}), "period", "active members",
              y_title="active members", x_title=ctx.grain))
    download(active, f"active-members-{ctx.grain}", key="home-active")

st.subheader("What is stored")
st.dataframe(counts, hide_index=True, column_config={
    "rows": st.column_config.NumberColumn("rows", format="localized"),
    "members": st.column_config.NumberColumn("distinct members", format="localized"),
    "first_date": st.column_config.DateColumn("first date", format="DD-MM-YYYY"),
    "last_date": st.column_config.DateColumn("last date", format="DD-MM-YYYY"),
})
st.page_link("app_pages/data.py", label="Load more exports on the Data page", icon=":material/upload:")
