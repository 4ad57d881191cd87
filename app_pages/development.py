"""Development (klantontwikkeling): are members moving up, and is their value growing?

Thin: widgets -> cached calls (ui.db) -> charts. Definitions: METRICS.md, "Customer development".
Ladder and stage views come from one call (metrics.development.development_states); CLV from
metrics.development.clv_result (BG/NBD + Gamma-Gamma, metrics.clv).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from metrics import Filters
from metrics.development import LEVELS, STAGES, clv_result, development_states
from ui import db
from ui.charts import explain, fmt_int, fmt_pct, show
from ui.context import empty_state, sidebar
from ui.downloads import download

LEVEL_COLORS = ["#c9d3df", "#9ecae1", "#4a90c2", "#1f5f9e", "#e08a1e"]
STAGE_COLORS = ["#c9d3df", "#8fbc8f", "#3c8d5a", "#e08a1e"]
MOVE_ORDER_LEVEL = ["(new)", *LEVELS, "(left)"]
MOVE_ORDER_STAGE = ["(new)", *STAGES, "(left)"]
MAX_COHORTS = 12
TOP_N = 20

ctx = sidebar()
st.title("Development")
st.caption(
    "Do customers grow (klantontwikkeling)? Members climbing the engagement ladder from Observer to "
    "Advocate, customers moving from prospect to repeat buyer and advocate, value per member over time, "
    "the expected lifetime value of each customer, and referrals."
)
if empty_state(ctx):
    st.stop()

ws, flt, grain = ctx.workspace, ctx.filters, ctx.grain


def month_label(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m")


# ---------------------------------------------------------------------------------------------
# Settings: ladder thresholds and CLV options
# ---------------------------------------------------------------------------------------------
with st.expander("Definitions and settings: ladder thresholds, lifetime value"):
    c = st.columns(4)
    contributor = int(c[0].number_input("Contributor from (active days)", 2, 30, 7, key="dev_contributor",
                                        help="Active days in the trailing window that make a member a Contributor."))
    participant = int(c[1].number_input("Participant from (active days)", 2, 30, 2, key="dev_participant",
                                        help="Explorer is 1 active day; Participant from here up to the Contributor "
                                             "threshold (at most that threshold)."))
    participant = min(participant, contributor)
    window = int(c[2].number_input("Window (days)", 7, 120, 30, key="dev_window",
                                   help="Trailing days looked at, ending at each month end."))
    adv = int(c[3].number_input("Advocate: share/reply actions", 1, 50, 3, key="dev_adv",
                                help="A Contributor with a referral or at least this many share/reply actions in "
                                     "the window is an Advocate."))
    d = st.columns(4)
    unit = d[0].segmented_control("CLV time unit", ["week", "day"], default="week", key="dev_unit",
                                  help="Unit of frequency / recency / T in the BG/NBD fit.") or "week"
    horizon = int(d[1].number_input("CLV horizon (months)", 1, 60, 12, key="dev_horizon"))
    rate = float(d[2].number_input("Yearly discount rate", 0.0, 0.5, 0.10, step=0.01, key="dev_rate",
                                   format="%.2f", help="Future purchases are discounted monthly at this yearly rate."))
ladder = {"window_days": window, "participant": participant, "contributor": contributor, "advocate_actions": adv}

states = db.call(ws, development_states, flt, **ladder)
sizes, rates = states["level_sizes"], states["level_rates"]
if sizes.empty:
    st.info("No members in the chosen range and filters. Widen the date range or clear the segment filter.",
            icon=":material/filter_alt_off:")
    st.stop()

all_time = db.metric(ws, "value_summary", Filters())
has_transactions = int(all_time["customers"].iloc[0]) > 0
summary = db.metric(ws, "value_summary", flt) if has_transactions else None
referral = db.metric(ws, "referral_summary", flt).iloc[0]

# ---------------------------------------------------------------------------------------------
# Headline tiles
# ---------------------------------------------------------------------------------------------
complete_months = sizes.loc[~sizes["is_partial"], "period"]
last_month = complete_months.max() if len(complete_months) else sizes["period"].max()
latest = sizes[sizes["period"] == last_month].set_index("level")
top = int(latest.loc[["Contributor", "Advocate"], "members"].sum())
all_rates = rates[(rates["level"] == "all") & (rates["period"] == last_month)]
t = st.columns(4)
t[0].metric("Contributors+", fmt_int(top), border=True,
            help=f"Contributors and Advocates at the end of {month_label(last_month)}: members with at least "
                 f"{contributor} active days in the {window} days up to the month end.")
t[1].metric("Promoted", fmt_pct(all_rates["promotion_rate"].iloc[0]) if len(all_rates) else "–",
            border=True, help=f"Share of the community at the end of the month before {month_label(last_month)} that moved up at "
                 "least one level by its end.")
t[2].metric("Repeat buyers", fmt_pct(summary["repeat_purchase_rate"].iloc[0]) if summary is not None else "–",
            border=True, help="Customers with two or more purchase days in the range / customers with one or more.")
t[3].metric("Referred", fmt_pct(referral["share_referred"]), border=True,
            help="Members who joined in the range with a referrer (referred_by) / all who joined.")

# ---------------------------------------------------------------------------------------------
# Engagement ladder
# ---------------------------------------------------------------------------------------------
st.subheader("Engagement ladder")
explain(f"Community members by level at each month end, from active days in the trailing {window} days: Observer 0, "
        f"Explorer 1, Participant {participant}–{contributor - 1}, Contributor {contributor}+, Advocate = Contributor "
        "who refers or shares / replies. A growing top of the bars is a community that moves up.")
bars = sizes.assign(month=[month_label(p) for p in sizes["period"]],
                    state=sizes["is_partial"].map({True: "partial month", False: "complete"}))
show(alt.Chart(bars).mark_bar().encode(
    x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
    y=alt.Y("members:Q", title="members", stack="zero"),
    color=alt.Color("level:N", title="level", scale=alt.Scale(domain=list(LEVELS), range=LEVEL_COLORS),
                    sort=list(LEVELS)),
    order=alt.Order("level_rank:Q"),
    opacity=alt.condition("datum.is_partial", alt.value(0.5), alt.value(1.0)),
    tooltip=[alt.Tooltip("month:N"), alt.Tooltip("level:N"), alt.Tooltip("members:Q", format=","),
             alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("state:N", title="month")],
).transform_calculate(level_rank=f"indexof({list(LEVELS)!r}, datum.level)").properties(height=300))
download(sizes, "development-ladder-sizes", key="dev-sizes")

non_observer = bars[bars["level"] != "Observer"]
show(alt.Chart(non_observer).mark_line(point=True).encode(
    x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
    y=alt.Y("members:Q", title="members (without Observers)"),
    color=alt.Color("level:N", title="level", scale=alt.Scale(domain=list(LEVELS), range=LEVEL_COLORS)),
    tooltip=[alt.Tooltip("month:N"), alt.Tooltip("level:N"), alt.Tooltip("members:Q", format=","),
             alt.Tooltip("share:Q", format=".1%")],
).properties(height=220))
explain("The same levels without the Observers, so the active rungs are readable.")

# ---------------------------------------------------------------------------------------------
# Migration and promotion / demotion
# ---------------------------------------------------------------------------------------------
st.subheader("Promotions and demotions")
months = sorted(states["level_migration"]["period"].unique())
if not months:
    st.info("Migration needs at least two months in the range.", icon=":material/date_range:")
else:
    default = max([m for m in months if m <= last_month] or months)
    pick = st.select_slider("Month", options=[month_label(m) for m in months], value=month_label(default),
                            key="dev_month", help="Movement from the previous month end to this month end.")
    picked = pd.Timestamp(pick + "-01")
    explain(f"Rows: level at the end of the month before {pick}; columns: level at the end of {pick}. "
            "Above the diagonal moved up, below moved down; (new) joined the community, (left) left it.")
    left_col, right_col = st.columns([1.2, 1])
    mig = states["level_migration"]
    cell = mig[mig["period"] == picked]
    cell = cell.assign(dark=cell["members"] > 0.4 * cell["members"].max())
    with left_col:
        show(alt.Chart(cell).mark_rect(stroke="white").encode(
            x=alt.X("to_level:N", title=f"level end of {pick}", sort=MOVE_ORDER_LEVEL, axis=alt.Axis(labelAngle=-40, labelOverlap=False)),
            y=alt.Y("from_level:N", title="level the month before", sort=MOVE_ORDER_LEVEL),
            color=alt.Color("members:Q", title="members", scale=alt.Scale(scheme="blues", type="sqrt")),
            tooltip=[alt.Tooltip("from_level:N", title="from"), alt.Tooltip("to_level:N", title="to"),
                     alt.Tooltip("members:Q", format=",")],
        ).properties(height=300) + alt.Chart(cell).mark_text(fontSize=11).encode(
            x=alt.X("to_level:N", sort=MOVE_ORDER_LEVEL), y=alt.Y("from_level:N", sort=MOVE_ORDER_LEVEL),
            text=alt.Text("members:Q", format=","),
            color=alt.condition("datum.dark", alt.value("white"), alt.value("#222")),
        ))
    with right_col:
        table = rates[rates["period"] == picked][["level", "base", "promoted", "demoted", "stayed", "left",
                                                   "promotion_rate", "demotion_rate"]]
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "level": "level before", "base": st.column_config.NumberColumn("members", format="%d"),
            "promotion_rate": st.column_config.NumberColumn("promoted", format="percent"),
            "demotion_rate": st.column_config.NumberColumn("demoted", format="percent"),
            "promoted": None, "demoted": None, "stayed": None, "left": None,
        })
        explain("Promotion / demotion rate: of the members at a level the month before, the share one or more "
                "levels higher / lower now (those who left count in the base only).")
    download(mig, "development-ladder-migration", key="dev-mig")
    trend = rates[rates["level"] == "all"].melt(id_vars=["period"], value_vars=["promotion_rate", "demotion_rate"],
                                                var_name="rate", value_name="value").dropna()
    trend["month"] = [month_label(p) for p in trend["period"]]
    trend["rate"] = trend["rate"].map({"promotion_rate": "promoted", "demotion_rate": "demoted"})
    show(alt.Chart(trend).mark_line(point=True).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("value:Q", title="share of the community", axis=alt.Axis(format="%")),
        color=alt.Color("rate:N", title=None, scale=alt.Scale(domain=["promoted", "demoted"],
                                                              range=["#2e9e5b", "#d1495b"])),
        tooltip=[alt.Tooltip("month:N"), alt.Tooltip("rate:N"), alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=220))
    explain("Promotion and demotion rate over the whole community, month by month: promotions above demotions "
            "means the community moves up.")
    download(rates, "development-ladder-rates", key="dev-rates")

# ---------------------------------------------------------------------------------------------
# Customer stages
# ---------------------------------------------------------------------------------------------
st.subheader("Customer stages")
explain("From behaviour at each month end: prospect (no purchase yet), customer (one purchase day), repeat (two or "
        "more), advocate (repeat and an Advocate on the ladder or a referrer). The funnel is the last month.")
ssz = states["stage_sizes"]
funnel = ssz[ssz["period"] == last_month]
f1, f2 = st.columns([1, 1.3])
with f1:
    show(alt.Chart(funnel).mark_bar().encode(
        y=alt.Y("stage:N", sort=list(STAGES), title=None),
        x=alt.X("members:Q", title=f"members, {month_label(last_month)}"),
        color=alt.Color("stage:N", scale=alt.Scale(domain=list(STAGES), range=STAGE_COLORS), legend=None),
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("members:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=220))
with f2:
    sm = states["stage_movement"]
    moved = sm[(sm["period"] == last_month) & (sm["from_stage"] != sm["to_stage"])]
    moved = moved.assign(dark=moved["members"] > 0.4 * moved["members"].max())
    if moved.empty:
        st.caption(f"No stage movement into {month_label(last_month)}.")
    else:
        show(alt.Chart(moved).mark_rect(stroke="white").encode(
            x=alt.X("to_stage:N", sort=MOVE_ORDER_STAGE, title=f"stage end of {month_label(last_month)}",
                    axis=alt.Axis(labelAngle=-40, labelOverlap=False)),
            y=alt.Y("from_stage:N", sort=MOVE_ORDER_STAGE, title="stage the month before"),
            color=alt.Color("members:Q", scale=alt.Scale(scheme="greens", type="sqrt"), title="members"),
            tooltip=[alt.Tooltip("from_stage:N", title="from"), alt.Tooltip("to_stage:N", title="to"),
                     alt.Tooltip("members:Q", format=",")],
        ).properties(height=220) + alt.Chart(moved).mark_text(fontSize=11).encode(
            x=alt.X("to_stage:N", sort=MOVE_ORDER_STAGE), y=alt.Y("from_stage:N", sort=MOVE_ORDER_STAGE),
            text=alt.Text("members:Q", format=","),
            color=alt.condition("datum.dark", alt.value("white"), alt.value("#222"))))
        explain("Members who changed stage into the last month (staying put is left out).")
download(ssz, "development-stage-sizes", key="dev-stages")
download(states["stage_movement"], "development-stage-movement", key="dev-stage-moves", label="Download movement CSV")
crm = db.metric(ws, "lifecycle_stage_distribution", flt)
if not crm.empty:
    st.markdown("**The CRM's own lifecycle stage** (as given in the members export)")
    show(alt.Chart(crm).mark_bar(color="#7d8ca3").encode(
        y=alt.Y("lifecycle_stage:N", sort="-x", title=None), x=alt.X("members:Q", title="members"),
        tooltip=[alt.Tooltip("lifecycle_stage:N", title="stage"), alt.Tooltip("members:Q", format=","),
                 alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=30 * len(crm) + 30))
    explain("The CRM's lifecycle_stage column, not derived: compare it with the behaviour-based stages above.")

# ---------------------------------------------------------------------------------------------
# Value development and CLV (need transactions)
# ---------------------------------------------------------------------------------------------
st.subheader("Value per member")
if not has_transactions:
    st.info("No transactions loaded yet: value per member, repeat purchases and customer lifetime value need "
            "purchases. Upload webshop orders, bookings or invoices (transactions) on the Data page.",
            icon=":material/shopping_cart:")
    st.page_link("app_pages/data.py", label="Go to the Data page", icon=":material/upload:")
else:
    s = summary.iloc[0]
    v = st.columns(4)
    v[0].metric("Customers", fmt_int(s["customers"]), border=True)
    v[1].metric("Purchases each", "–" if pd.isna(s["purchase_frequency"]) else f"{s['purchase_frequency']:.2f}",
                border=True, help="Purchase days per customer in the range (same-day purchases merged).")
    v[2].metric("Order value", "–" if pd.isna(s["average_order_value"]) else f"{s['average_order_value']:,.2f}",
                border=True, help="Purchase value / purchases (refund lines left out).")
    v[3].metric("Per customer", "–" if pd.isna(s["revenue_per_customer"])
                else f"{s['revenue_per_customer']:,.2f}", border=True, help="Net revenue (refunds included) / customers.")
    curves = db.metric(ws, "value_curves", flt)
    if curves.empty:
        st.info("No first purchases in the chosen range.", icon=":material/filter_alt_off:")
    else:
        keep = sorted(curves["cohort"].unique())[-MAX_COHORTS:]
        shown = curves[curves["cohort"].isin(keep)].assign(cohort_label=lambda f: [month_label(c) for c in f["cohort"]])
        explain("Cumulative net revenue per cohort member by months since the first purchase, one line per "
                f"first-purchase month (the last {MAX_COHORTS}). Steeper and higher lines: newer customers are worth more.")
        show(alt.Chart(shown).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
            x=alt.X("months_since:Q", title="months since first purchase", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("cumulative_revenue_per_member:Q", title="cumulative revenue per member"),
            color=alt.Color("cohort_label:N", title="cohort", scale=alt.Scale(scheme="viridis")),
            tooltip=[alt.Tooltip("cohort_label:N", title="cohort"), alt.Tooltip("months_since:Q", title="month"),
                     alt.Tooltip("cumulative_revenue_per_member:Q", title="per member", format=",.2f"),
                     alt.Tooltip("cohort_size:Q", title="cohort size", format=","),
                     alt.Tooltip("net_revenue_retention:Q", title="net revenue retention", format=".0%")],
        ).properties(height=320))
        download(curves, "development-value-curves", key="dev-curves")
    over = db.metric(ws, "value_over_time", flt, grain=grain)
    o = over.melt(id_vars=["period"], value_vars=["repeat_purchase_rate", "average_order_value"], var_name="measure")
    o = o.dropna()
    g1, g2 = st.columns(2)
    with g1:
        show(alt.Chart(o[o["measure"] == "repeat_purchase_rate"]).mark_line(point=True, color="#3c8d5a").encode(
            x=alt.X("period:T", title=None), y=alt.Y("value:Q", title="repeat purchase rate", axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip("period:T", title=grain), alt.Tooltip("value:Q", title="repeat rate", format=".1%")],
        ).properties(height=220))
        explain("Customers with two or more purchases ever / customers with one or more, at each period end.")
    with g2:
        show(alt.Chart(o[o["measure"] == "average_order_value"]).mark_line(point=True, color="#1f5f9e").encode(
            x=alt.X("period:T", title=None), y=alt.Y("value:Q", title="average order value"),
            tooltip=[alt.Tooltip("period:T", title=grain), alt.Tooltip("value:Q", title="AOV", format=",.2f")],
        ).properties(height=220))
        explain(f"Purchase value per purchase in each {grain}.")
    download(over, f"development-value-{grain}", key="dev-over")

    st.subheader("Customer lifetime value")
    res = db.call(ws, clv_result, flt, unit=unit, horizon_months=horizon, discount_rate=rate)
    if res["error"]:
        st.info(f"No lifetime-value model for this range: {res['error']}.", icon=":material/info:")
    else:
        cust = res["customers"]
        explain(f"BG/NBD (how often, and whether still active) and Gamma-Gamma (how much) fitted on the purchases in "
                f"the range; CLV = expected net spend in the next {horizon} months, discounted at {rate:.0%} a year. "
                "Most customers are worth little, a few a lot.")
        cap = float(cust["clv"].quantile(0.99)) if len(cust) > 20 else float(cust["clv"].max())
        hist = cust.assign(clv_capped=cust["clv"].clip(upper=cap))
        show(alt.Chart(hist).mark_bar(color="#1f5f9e").encode(
            x=alt.X("clv_capped:Q", bin=alt.Bin(maxbins=40), title="CLV (top 1 % capped)"),
            y=alt.Y("count():Q", title="customers"),
            tooltip=[alt.Tooltip("clv_capped:Q", bin=alt.Bin(maxbins=40), title="CLV", format=",.0f"),
                     alt.Tooltip("count():Q", title="customers", format=",")],
        ).properties(height=240))
        cols = ["member_id", "clv", "p_alive", "expected_purchases", "expected_average_value", "frequency", "recency",
                "T", "monetary_value"]
        cfg = {"clv": st.column_config.NumberColumn("CLV", format="%.2f"),
               "p_alive": st.column_config.ProgressColumn("P(alive)", min_value=0.0, max_value=1.0, format="percent"),
               "expected_purchases": st.column_config.NumberColumn(f"purchases next {horizon} mo", format="%.2f"),
               "expected_average_value": st.column_config.NumberColumn("expected spend", format="%.2f"),
               "monetary_value": st.column_config.NumberColumn("mean repeat spend", format="%.2f"),
               "recency": st.column_config.NumberColumn(f"recency ({unit}s)", format="%.1f"),
               "T": st.column_config.NumberColumn(f"age ({unit}s)", format="%.1f")}
        k1, k2 = st.columns(2)
        with k1:
            st.markdown(f"**Worth keeping: top {TOP_N} by CLV**")
            st.dataframe(cust[cols].head(TOP_N), hide_index=True, width="stretch", column_config=cfg)
        with k2:
            slipping = cust[(cust["frequency"] > 0) & (cust["p_alive"] < 0.5)].assign(
                past=lambda f: f["frequency"] * f["monetary_value"]).sort_values("past", ascending=False)
            st.markdown(f"**Slipping away: valuable repeat buyers with P(alive) < 50 %** ({fmt_int(len(slipping))})")
            st.dataframe(slipping[cols].head(TOP_N), hide_index=True, width="stretch", column_config=cfg)
        explain("P(alive): the model's probability that the customer still buys. Left: whom to keep happy; right: "
                "past repeat buyers (by past repeat spend) the model thinks have probably gone — worth a call.")
        download(cust, "development-clv", key="dev-clv")
        with st.expander("Fitted parameters"):
            st.dataframe(res["parameters"], hide_index=True, width="stretch")
            st.caption("BG/NBD: r, alpha (purchase rate), a, b (drop-out); Gamma-Gamma: p, q, gamma (spend). "
                       "Our implementation reproduces the published CDNOW estimates (see tests/test_clv.py).")

# ---------------------------------------------------------------------------------------------
# Participation and value
# ---------------------------------------------------------------------------------------------
st.subheader("Participation and value")
pv = db.metric(ws, "participation_value", flt)
if not has_transactions:
    st.caption("Needs transactions (see above).")
else:
    explain("Members active in the community in the range vs the rest of the community: do participants buy again "
            "more often and spend more? (A correlation, not proof that participation causes it.)")
    long = pv.melt(id_vars=["group"], value_vars=["repeat_purchase_rate", "revenue_per_member"], var_name="measure")
    p1, p2 = st.columns(2)
    for col, measure, title, fmt in ((p1, "repeat_purchase_rate", "repeat purchase rate", ".1%"),
                                     (p2, "revenue_per_member", "revenue per member", ",.2f")):
        with col:
            show(alt.Chart(long[long["measure"] == measure]).mark_bar().encode(
                x=alt.X("group:N", title=None, sort=["participants", "non-participants"], axis=alt.Axis(labelAngle=0)),
                y=alt.Y("value:Q", title=title, axis=alt.Axis(format=fmt.replace(",", "") if "%" in fmt else ",.0f")),
                color=alt.Color("group:N", legend=None, scale=alt.Scale(domain=["participants", "non-participants"],
                                                                        range=["#1f5f9e", "#c9d3df"])),
                tooltip=[alt.Tooltip("group:N"), alt.Tooltip("value:Q", title=title, format=fmt)],
            ).properties(height=220))
    download(pv, "development-participation-value", key="dev-pv")

# ---------------------------------------------------------------------------------------------
# Referrals
# ---------------------------------------------------------------------------------------------
st.subheader("Referrals")
if int(referral["new_members"]) == 0:
    st.caption("No members joined in the range (members export with joined_at), so there is nothing to refer.")
else:
    r = st.columns(4)
    r[0].metric("Referred", fmt_int(referral["referred"]), border=True,
                help=f"New members with a referrer, of {fmt_int(referral['new_members'])} who joined in the range.")
    r[1].metric("Per referrer", "–" if pd.isna(referral["referrals_per_referrer"])
                else f"{referral['referrals_per_referrer']:.2f}", border=True,
                help="Referred new members / distinct members who referred them.")
    r[2].metric("Longest chain", fmt_int(referral["longest_chain"]), border=True,
                help="Referral steps from a non-referred member to the deepest referred one.")
    r[3].metric("In chains", fmt_int(referral["members_in_chains"]), border=True,
                help="New members at depth 2 or more: the referral spread further than one step.")
    share = db.metric(ws, "referral_share", flt, grain=grain)
    explain(f"Share of the members who joined each {grain} with a referrer. Bars: new members.")
    base = alt.Chart(share).encode(x=alt.X("period:T", title=None))
    show(alt.layer(
        base.mark_bar(color="#dfe6ee").encode(
            y=alt.Y("new_members:Q", title="new members"),
            tooltip=[alt.Tooltip("period:T", title=grain), alt.Tooltip("new_members:Q", title="new", format=","),
                     alt.Tooltip("referred:Q", format=","), alt.Tooltip("share_referred:Q", format=".1%")]),
        base.mark_line(point=True, color="#e08a1e").encode(
            y=alt.Y("share_referred:Q", title="share referred", axis=alt.Axis(format="%")),
            tooltip=[alt.Tooltip("period:T", title=grain), alt.Tooltip("share_referred:Q", format=".1%")]),
    ).resolve_scale(y="independent").properties(height=240))
    download(share, f"development-referrals-{grain}", key="dev-ref")
    chains = db.metric(ws, "referral_chains", flt)
    show(alt.Chart(chains).mark_bar(color="#e08a1e").encode(
        x=alt.X("depth:O", title="referral depth (0 = not referred)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("members:Q", title="new members (log scale)", scale=alt.Scale(type="symlog")),
        tooltip=[alt.Tooltip("depth:O"), alt.Tooltip("members:Q", format=",")],
    ).properties(height=200))
    explain("New members by how far down a referral chain they are: depth 2 and more means referred members "
            "bring in others.")
    download(chains, "development-referral-chains", key="dev-chains")
