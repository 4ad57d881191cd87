"""Development (klantontwikkeling): are members moving up, and is their value growing?

Widgets -> one view (views.development) -> charts; the lifetime-value model (its own settings) in a fragment."""

from __future__ import annotations

import streamlit as st

from metrics.development import LEVELS, NEW, STAGES, ClvOptions, LadderOptions
from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.widgets import computing, header
from views.development import TOP_N, DevelopmentSettings

MOVES_LEVEL, MOVES_STAGE = [NEW, *LEVELS, "(left)"], [NEW, *STAGES, "(left)"]

ctx = sidebar()
header("Development", "Do customers grow (klantontwikkeling)? Members climbing the engagement ladder from Observer "
       "to Advocate, customers moving from prospect to repeat buyer and advocate, value per member over time, the "
       "expected lifetime value of each customer, and referrals.")
if empty_state(ctx):
    st.stop()
g = ctx.grain
with st.expander("Definitions and settings: the engagement ladder's thresholds"):
    c = st.columns(4)
    contributor = int(c[0].number_input("Contributor from (active days)", 2, 30, 7, key="dev_contributor",
                                        help="Active days in the trailing window that make a member a Contributor."))
    participant = min(contributor, int(c[1].number_input(
        "Participant from (active days)", 2, 30, 2, key="dev_participant",
        help="Explorer is 1 active day; Participant from here up to the Contributor threshold.")))
    window = int(c[2].number_input("Window (days)", 7, 120, 30, key="dev_window",
                                   help="Trailing days looked at, ending at each month end."))
    adv = int(c[3].number_input("Advocate: share/reply actions", 1, 50, 3, key="dev_adv",
                                help="A Contributor with a referral or at least this many share/reply actions in the "
                                     "window is an Advocate."))
ladder = LadderOptions(window_days=window, participant=participant, contributor=contributor, advocate_actions=adv)
with computing(what="customer development"):
    v = db.view("development", ctx.workspace, ctx.filters, DevelopmentSettings(ladder, g))
if v.empty:
    st.info("No members in the chosen range and filters. Widen the date range or clear the segment filter.",
            icon=":material/filter_alt_off:")
    st.stop()

last = v.last_month
latest = v.level_sizes[v.level_sizes["period"] == last].set_index("level")
rates = v.level_rates[(v.level_rates["level"] == "all") & (v.level_rates["period"] == last)]
month = f"{last:%Y-%m}"
t = st.columns(4)
t[0].metric("Contributors+", ch.fmt_int(latest.loc[["Contributor", "Advocate"], "members"].sum()), border=True,
            help=f"Contributors and Advocates at the end of {month}: at least {contributor} active days in the "
                 f"{window} days up to the month end.")
t[1].metric("Promoted", ch.fmt_pct(rates["promotion_rate"].iloc[0]) if len(rates) else "–", border=True,
            help=f"Share of the community at the month end before {month} that moved up at least one level by its end.")
t[2].metric("Repeat buyers", ch.fmt_pct(v.summary["repeat_purchase_rate"].iloc[0]) if v.summary is not None else "–",
            border=True, help="Customers with two or more purchase days in the range / customers with one or more.")
t[3].metric("Referred", ch.fmt_pct(v.referral["share_referred"]), border=True,
            help="Members who joined in the range with a referrer (referred_by) / all who joined.")

st.subheader("Engagement ladder")
ch.explain(f"Community members by level at each month end, from active days in the trailing {window} days: Observer 0, "
           f"Explorer 1, Participant {participant}–{contributor - 1}, Contributor {contributor}+, Advocate = Contributor "
           "who refers or shares / replies. A growing top of the bars is a community that moves up.")
ch.show(ch.ladder_bars(v.level_sizes, LEVELS))
ch.show(ch.ladder_lines(v.level_sizes, LEVELS))
download(v.level_sizes, "development-ladder-sizes", key="dev-sizes")

st.subheader("Promotions and demotions")
labels = [f"{m:%Y-%m}" for m in v.months]
pick = st.select_slider("Month", options=labels, value=month if month in labels else labels[-1], key="dev_month",
                        help="Movement from the previous month end to this month end.")
ch.explain(f"Rows: level at the end of the month before {pick}; columns: level at the end of {pick}. Above the "
           "diagonal moved up, below moved down; (new) joined the community, (left) left it.")
a, b = st.columns([1.2, 1])
picked = v.months[labels.index(pick)]
with a:
    ch.show(ch.move_matrix(v.level_migration[v.level_migration["period"] == picked], "level", MOVES_LEVEL,
                           f"level end of {pick}"))
with b:
    st.dataframe(v.level_rates[v.level_rates["period"] == picked][["level", "base", "promotion_rate", "demotion_rate"]],
                 hide_index=True, placeholder="–", width="stretch", column_config={
                     "level": "level before", "base": st.column_config.NumberColumn("members", format="%d"),
                     "promotion_rate": st.column_config.NumberColumn("promoted", format="percent"),
                     "demotion_rate": st.column_config.NumberColumn("demoted", format="percent")})
    ch.explain("Of the members at a level the month before, the share one or more levels higher / lower now (those "
               "who left count in the base only).")
download(v.level_migration, "development-ladder-migration", key="dev-mig")
ch.show(ch.promotion_lines(v.level_rates))
download(v.level_rates, "development-ladder-rates", key="dev-rates")

st.subheader("Customer stages")
ch.explain("From behaviour at each month end: prospect (no purchase yet), customer (one purchase day), repeat (two or "
           "more), advocate (repeat and an Advocate on the ladder or a referrer). The funnel is the last month.")
f1, f2 = st.columns([1, 1.3])
with f1:
    ch.show(ch.stage_funnel(v.stage_sizes[v.stage_sizes["period"] == last], STAGES, f"members, {month}"))
with f2:
    moved = v.stage_movement[(v.stage_movement["period"] == last)
                             & (v.stage_movement["from_stage"] != v.stage_movement["to_stage"])]
    if moved.empty:
        st.caption(f"No stage movement into {month}.")
    ch.show(ch.move_matrix(moved, "stage", MOVES_STAGE, f"stage end of {month}", scheme="greens", height=220))
download(v.stage_sizes, "development-stage-sizes", key="dev-stages")
download(v.stage_movement, "development-stage-movement", key="dev-stage-moves", label="Download movement CSV")
if not v.crm_stages.empty:
    st.markdown("**The CRM's own lifecycle stage** (as given in the members export, not derived)")
    ch.show(ch.bars(v.crm_stages, "lifecycle_stage", "members", x_title="", y_title="members", color="#7d8ca3",
                    horizontal=True, sort="-x", height=30 * len(v.crm_stages) + 30))

st.subheader("Value per member")
if not v.has_transactions:
    st.info("No transactions loaded yet: value per member, repeat purchases and customer lifetime value need "
            "purchases. Upload webshop orders, bookings or invoices (transactions) on the Data page.",
            icon=":material/shopping_cart:")
    st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload:")
else:
    s = v.summary.iloc[0]
    t = st.columns(4)
    t[0].metric("Customers", ch.fmt_int(s["customers"]), border=True)
    t[1].metric("Purchases each", ch.fmt_num(s["purchase_frequency"]), border=True,
                help="Purchase days per customer in the range (same-day purchases merged).")
    t[2].metric("Order value", ch.fmt_num(s["average_order_value"]), border=True,
                help="Purchase value / purchases (refund lines left out).")
    t[3].metric("Per customer", ch.fmt_num(s["revenue_per_customer"]), border=True,
                help="Net revenue (refunds included) / customers.")
    ch.explain("Cumulative net revenue per cohort member by months since the first purchase, one line per "
               "first-purchase month (the last 12): steeper and higher lines mean newer customers are worth more.")
    ch.show(ch.value_curves(v.curves))
    download(v.curves, "development-value-curves", key="dev-curves")
    g1, g2 = st.columns(2)
    with g1:
        ch.show(ch.line(v.value, "repeat_purchase_rate", g, y_title="repeat purchase rate", y_format="%", fmt=".1%"))
        ch.explain("Customers with two or more purchases ever / customers with one or more, at each period end.")
    with g2:
        ch.show(ch.line(v.value, "average_order_value", g, y_title="average order value", fmt=",.2f"))
        ch.explain(f"Purchase value per purchase in each {g}.")
    download(v.value, f"development-value-{g}", key="dev-over")


@st.fragment
def lifetime_value() -> None:
    st.subheader("Customer lifetime value")
    d = st.columns(3)
    unit = d[0].segmented_control("Time unit", ["week", "day"], default="week", key="dev_unit",
                                  help="Unit of frequency / recency / T in the BG/NBD fit.") or "week"
    horizon = int(d[1].number_input("Horizon (months)", 1, 60, 12, key="dev_horizon"))
    rate = float(d[2].number_input("Yearly discount rate", 0.0, 0.5, 0.10, step=0.01, key="dev_rate", format="%.2f",
                                   help="Future purchases are discounted monthly at this yearly rate."))
    options = ClvOptions(unit=unit, horizon_months=horizon, discount_rate=rate)
    cv, busy = db.stored_view("development_clv", ctx.workspace, ctx.filters, options)
    if cv is None and not st.session_state.get("dev_clv_on"):
        # The fit takes seconds on large data: the rest of the page does not wait for it. The
        # background warm-up fits the default settings after each import, so usually it is there.
        st.caption("The model is fitted on every customer in the range, which takes a few seconds on large data"
                   + (" (it is being fitted in the background now)." if busy else "."))
        if not st.button("Fit the lifetime-value model", key="dev_clv_fit", icon=":material/play_arrow:",
                         help="Once asked, the model follows your filters and settings for the rest of the visit."):
            return
        st.session_state["dev_clv_on"] = True
    if cv is None:
        with computing(300, "the lifetime-value model (a few seconds on large data)"):
            cv = db.view("development_clv", ctx.workspace, ctx.filters, options)
    if cv.error:
        st.info(f"No lifetime-value model for this range: {cv.error}.", icon=":material/info:")
        return
    ch.explain(f"BG/NBD (how often, and whether still active) and Gamma-Gamma (how much) fitted on the purchases in "
               f"the range; CLV = expected net spend in the next {horizon} months, discounted at {rate:.0%} a year. "
               "Most customers are worth little, a few a lot.")
    ch.show(ch.clv_histogram(cv.histogram))
    cols = ["member_id", "clv", "p_alive", "expected_purchases", "expected_average_value", "frequency", "recency", "T",
            "monetary_value"]
    cfg = {"clv": st.column_config.NumberColumn("CLV", format="%.2f"),
           "p_alive": st.column_config.ProgressColumn("P(alive)", min_value=0.0, max_value=1.0, format="percent"),
           "expected_purchases": st.column_config.NumberColumn(f"purchases next {horizon} mo", format="%.2f"),
           "expected_average_value": st.column_config.NumberColumn("expected spend", format="%.2f"),
           "monetary_value": st.column_config.NumberColumn("mean repeat spend", format="%.2f"),
           "recency": st.column_config.NumberColumn(f"recency ({unit}s)", format="%.1f"),
           "T": st.column_config.NumberColumn(f"age ({unit}s)", format="%.1f")}
    k1, k2 = st.columns(2)
    k1.markdown(f"**Worth keeping: top {TOP_N} by CLV**")
    k1.dataframe(cv.top[cols], hide_index=True, placeholder="–", width="stretch", column_config=cfg)
    k2.markdown(f"**Slipping away: valuable repeat buyers with P(alive) < 50 %** ({ch.fmt_int(cv.slipping_count)})")
    k2.dataframe(cv.slipping[cols], hide_index=True, placeholder="–", width="stretch", column_config=cfg)
    ch.explain("P(alive): the model's probability that the customer still buys. Left: whom to keep happy; right: past "
               "repeat buyers (by past repeat spend) the model thinks have probably gone — worth a call.")
    download(cv.customers, "development-clv", key="dev-clv")
    with st.expander("Fitted parameters"):
        st.dataframe(cv.parameters, hide_index=True, placeholder="–", width="stretch")
        st.caption("BG/NBD: r, alpha (purchase rate), a, b (drop-out); Gamma-Gamma: p, q, gamma (spend). Our "
                   "implementation reproduces the published CDNOW estimates (see tests/test_clv.py).")


if v.has_transactions:
    lifetime_value()

st.subheader("Participation and value")
if not v.has_transactions:
    st.caption("Needs transactions (see above).")
else:
    ch.explain("CRM members active in the community in the range vs the other CRM members (handles not in the CRM "
               "cannot be matched to purchases): do participants buy again more often and spend more? (A "
               "correlation, not proof that participation causes it.)")
    p1, p2 = st.columns(2)
    with p1:
        ch.show(ch.group_bars(v.participation_value, "repeat_purchase_rate", "repeat purchase rate", ".1%"))
    with p2:
        ch.show(ch.group_bars(v.participation_value, "revenue_per_member", "revenue per member", ",.2f"))
    download(v.participation_value, "development-participation-value", key="dev-pv")

st.subheader("Referrals")
r = v.referral
if int(r["new_members"]) == 0:
    st.caption("No members joined in the range (members export with joined_at), so there is nothing to refer.")
else:
    t = st.columns(4)
    t[0].metric("Referred", ch.fmt_int(r["referred"]), border=True,
                help=f"New members with a referrer, of {ch.fmt_int(r['new_members'])} who joined in the range.")
    t[1].metric("Per referrer", ch.fmt_num(r["referrals_per_referrer"]), border=True,
                help="Referred new members / distinct members who referred them.")
    t[2].metric("Longest chain", ch.fmt_int(r["longest_chain"]), border=True,
                help="Referral steps from a non-referred member to the deepest referred one.")
    t[3].metric("In chains", ch.fmt_int(r["members_in_chains"]), border=True,
                help="New members at depth 2 or more: the referral spread further than one step.")
    ch.explain(f"Share of the members who joined each {g} with a referrer. Bars: new members.")
    ch.show(ch.referrals(v.referral_share, g))
    download(v.referral_share, f"development-referrals-{g}", key="dev-ref")
    ch.show(ch.referral_depth(v.referral_chains))
    ch.explain("New members by how far down a referral chain they are: depth 2 and more means referred members bring "
               "in others.")
    download(v.referral_chains, "development-referral-chains", key="dev-chains")
