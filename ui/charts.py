"""Chart factories shared by the pages: one look, tooltips everywhere, axes in the period's terms.

Every factory takes the frame a view holds and returns an Altair chart; ``show`` draws it (never
an empty chart: Vega warns about an infinite extent, and an empty frame tells the user nothing).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from views.tiles import fmt_int, fmt_num, fmt_pct  # noqa: F401  (the pages' formats, next to their charts)

BLUE, GREY, RED, GREEN, ORANGE = "#1f6feb", "#9aa4b2", "#d1495b", "#2e9e5b", "#e08a1e"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def explain(text: str) -> None:
    """The one-line 'what this shows and why it matters' under a chart title."""
    st.caption(text)


def show(chart: alt.TopLevelMixin | None) -> None:
    if chart is not None:
        st.altair_chart(chart, width="stretch")


def time_x(grain: str, field: str = "period", title: str | None = None) -> alt.X:
    """A period axis: month labels for months (one tick a month at most), dates otherwise."""
    fmt = {"month": "%b %Y", "week": "%d %b %Y", "day": "%d %b %Y"}.get(grain, "%d %b %Y")
    ticks = {"tickCount": {"interval": grain, "step": 1}} if grain in ("month", "week") else {}
    axis = alt.Axis(format=fmt, labelOverlap=True, **ticks)
    return alt.X(f"{field}:T", title=title if title is not None else grain, axis=axis)


def _tip_period(grain: str, field: str = "period") -> alt.Tooltip:
    fmt = {"month": "%B %Y", "week": "week of %d %b %Y", "day": "%d %b %Y"}.get(grain, "%d %b %Y")
    return alt.Tooltip(f"{field}:T", title=grain, format=fmt)


def line(frame: pd.DataFrame, y: str, grain: str, *, color: str | None = None, y_title: str = "",
         fmt: str = ",.0f", height: int = 260, y_format: str | None = None, extra: tuple = ()) -> alt.Chart | None:
    """Values over periods, one line per ``color`` group."""
    if frame is None or frame.empty or frame[y].isna().all():
        return None
    tips = [_tip_period(grain), alt.Tooltip(f"{y}:Q", title=y_title or y, format=fmt), *extra]
    enc = {"x": time_x(grain), "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else
                                          alt.Undefined), "tooltip": tips}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None)
        tips.append(alt.Tooltip(f"{color}:N", title="series"))
    return alt.Chart(frame).mark_line(point=len(frame) < 60).encode(**enc).properties(height=height)


def long(frame: pd.DataFrame, columns: dict[str, str], value: str, keep: tuple[str, ...] = ("period",)) -> pd.DataFrame:
    """Columns -> rows: ``columns`` maps a column to the series name shown."""
    out = frame.melt(id_vars=list(keep), value_vars=list(columns), var_name="series", value_name=value)
    out["series"] = out["series"].map(columns)
    return out


def activity_and_size(rate: pd.DataFrame, grain: str) -> alt.Chart | None:
    data = long(rate, {"active_members": "active members", "community_size": "community size"}, "members",
                keep=("period", "value"))
    if data["members"].fillna(0).eq(0).all():
        return None
    return alt.Chart(data).mark_line(point=len(rate) < 60).encode(
        x=time_x(grain), y=alt.Y("members:Q", title="members"),
        color=alt.Color("series:N", title=None, scale=alt.Scale(range=[BLUE, GREY])),
        tooltip=[_tip_period(grain), alt.Tooltip("series:N", title="series"),
                 alt.Tooltip("members:Q", format=",.0f"),
                 alt.Tooltip("value:Q", title="participation rate", format=".1%")],
    ).properties(height=280)


def dau_wau_mau(dwm: pd.DataFrame, grain: str) -> alt.Chart | None:
    if dwm.empty:
        return None
    data = long(dwm, {"dau": "DAU", "wau": "WAU", "mau": "MAU"}, "members", keep=("period", "stickiness"))
    return alt.Chart(data).mark_line().encode(
        x=time_x(grain), y=alt.Y("members:Q", title="active members"),
        color=alt.Color("series:N", title=None, sort=["DAU", "WAU", "MAU"]),
        tooltip=[_tip_period(grain), alt.Tooltip("series:N", title="measure"),
                 alt.Tooltip("members:Q", format=",.1f"), alt.Tooltip("stickiness:Q", format=".1%")],
    ).properties(height=260)


def bars(frame: pd.DataFrame, x: str, y: str, *, x_title: str, y_title: str, color: str = BLUE, sort=None,
         horizontal: bool = False, height: int = 220, tips: tuple = (), x_format: str | None = None) -> alt.Chart | None:
    """Bars of ``y`` by the ordinal / nominal ``x`` (``horizontal``: categories on the y axis)."""
    if frame is None or frame.empty:
        return None
    cat = alt.X(f"{x}:O", title=x_title, sort=sort, axis=alt.Axis(labelOverlap=True, labelAngle=0)) if not horizontal \
        else alt.Y(f"{x}:N", title=x_title or None, sort=sort)
    val = (alt.Y if not horizontal else alt.X)(f"{y}:Q", title=y_title,
                                               axis=alt.Axis(format=x_format) if x_format else alt.Undefined)
    enc = {"x": cat, "y": val} if not horizontal else {"y": cat, "x": val}
    return alt.Chart(frame).mark_bar(color=color).encode(
        **enc, tooltip=[alt.Tooltip(f"{x}:N", title=x_title or x), alt.Tooltip(f"{y}:Q", title=y_title, format=",.0f"),
                        *tips]).properties(height=height)


def onion(tiers: pd.DataFrame) -> alt.Chart | None:
    if tiers.empty:
        return None
    base = alt.Chart(tiers).encode(
        y=alt.Y("tier:N", sort=list(tiers["tier"]), title=None), x=alt.X("members:Q", title="members"),
        tooltip=["tier:N", alt.Tooltip("members:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%"), "meaning:N"])
    colors = alt.Scale(domain=list(tiers["tier"]), range=["#0b3d91", BLUE, "#8cb8ff", "#b6bec9"])
    return (base.mark_bar().encode(color=alt.Color("tier:N", legend=None, scale=colors))
            + base.mark_text(align="left", dx=4, color="#57606a").encode(text=alt.Text("share:Q", format=".1%"))
            ).properties(height=200, title="Onion: core, regular, casual participants and lurkers")


def lorenz(frame: pd.DataFrame) -> alt.Chart | None:
    if frame.empty:
        return None
    base = alt.Chart(frame).encode(x=alt.X("member_share:Q", title="share of active members (least active first)",
                                           axis=alt.Axis(format="%")))
    curve = base.mark_line(color=BLUE).encode(
        y=alt.Y("activity_share:Q", title="share of activity", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("member_share:Q", title="members", format=".0%"),
                 alt.Tooltip("activity_share:Q", title="activity", format=".1%")])
    equal = alt.Chart(pd.DataFrame({"x": [0, 1], "y": [0, 1]})).mark_line(color=GREY, strokeDash=[4, 4]).encode(
        x="x:Q", y="y:Q")
    return (equal + curve).properties(height=240, title="Lorenz curve")


def response_buckets(frame: pd.DataFrame) -> alt.Chart | None:
    if frame is None or frame.empty:
        return None
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("bucket:N", sort=list(frame["bucket"]), title=None, axis=alt.Axis(labelAngle=-90, labelOverlap=False)),
        y=alt.Y("messages:Q", title="messages"),
        color=alt.condition(alt.datum.bucket == "unanswered", alt.value("#cf222e"), alt.value(BLUE)),
        tooltip=["bucket:N", alt.Tooltip("messages:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=240)


def week_heatmap(frame: pd.DataFrame, value: str, title: str, fmt: str) -> alt.Chart | None:
    """Weekday x hour (weekday 1 = Monday)."""
    if frame is None or frame.empty:
        return None
    data = frame.assign(day=frame["weekday"].map(lambda d: WEEKDAYS[int(d) - 1]), shown=frame[value])
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("hour:O", title="hour of day"), y=alt.Y("day:N", sort=WEEKDAYS, title=None),
        color=alt.Color("shown:Q", title=title, scale=alt.Scale(scheme="blues")),
        tooltip=["day:N", "hour:O", alt.Tooltip("shown:Q", title=title, format=fmt)],
    ).properties(height=230)


def channel_presence(frame: pd.DataFrame) -> alt.Chart | None:
    if frame.empty:
        return None
    return alt.Chart(frame).mark_bar(color=BLUE).encode(
        x=alt.X("member_share:Q", title="share of active members", axis=alt.Axis(format="%")),
        y=alt.Y("channel:N", sort="-x", title=None),
        tooltip=["channel:N", alt.Tooltip("active_members:Q", format=",.0f"),
                 alt.Tooltip("member_share:Q", format=".1%"), alt.Tooltip("activity:Q", format=",.0f"),
                 alt.Tooltip("activity_share:Q", format=".1%")],
    ).properties(height=260)


def channel_mix(frame: pd.DataFrame, grain: str) -> alt.Chart | None:
    if frame.empty or frame["activity"].sum() == 0:
        return None
    return alt.Chart(frame).mark_area().encode(
        x=time_x(grain), y=alt.Y("activity:Q", stack="normalize", title="share of activity", axis=alt.Axis(format="%")),
        color=alt.Color("channel:N", title=None),
        tooltip=[_tip_period(grain), "channel:N", alt.Tooltip("activity:Q", format=",.0f"),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("active_members:Q", format=",.0f")],
    ).properties(height=260)


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------
LIFECYCLE_COLORS = {"new": GREEN, "returning": "#3b75af", "resurrecting": "#9b6ad6", "dormant": RED}


def cohort_heatmap(table: pd.DataFrame, grain: str, *, percent: bool = True, rows: int = 36) -> alt.Chart | None:
    """Cohorts (rows) by periods later (columns); lighter cells with * have not ended."""
    if table.empty:
        return None
    from views.common import period_label

    heat = table.copy()
    heat["cohort_label"] = [f"{period_label(c, grain)}  (n={fmt_int(n)})"
                            for c, n in zip(heat["cohort"], heat["cohort_size"], strict=True)]
    heat["cell"] = [("–" if pd.isna(r) else f"{100 * r:.0f}%") if percent else fmt_int(n)
                    for r, n in zip(heat["retention_rate"], heat["retained"], strict=True)]
    heat["cell"] = heat["cell"] + heat["is_partial"].map({True: "*", False: ""})
    heat["state"] = heat["is_partial"].map({True: "partial: the period has not ended", False: "complete"})
    order = list(dict.fromkeys(heat["cohort_label"]))[-rows:]
    heat = heat[heat["cohort_label"].isin(order)]
    base = alt.Chart(heat).encode(
        x=alt.X("period_offset:O", title=f"{grain}s later", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort_label:O", title=None, sort=order),
        tooltip=[alt.Tooltip("cohort_label:N", title="cohort"), alt.Tooltip("period_offset:O", title=f"{grain}s later"),
                 alt.Tooltip("retained:Q", title="retained", format=","),
                 alt.Tooltip("cohort_size:Q", title="cohort size", format=","),
                 alt.Tooltip("retention_rate:Q", title="retention", format=".1%"),
                 alt.Tooltip("state:N", title="period")])
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("retention_rate:Q", title="retention", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(format="%")),
        opacity=alt.condition("datum.is_partial", alt.value(0.45), alt.value(1.0)))
    text = base.mark_text(fontSize=11).encode(
        text="cell:N",
        color=alt.condition("datum.retention_rate > 0.55 && !datum.is_partial", alt.value("white"), alt.value("#222")))
    return (cells + text).properties(height=min(24 * len(order) + 40, 900))


def retention_curves(table: pd.DataFrame, curve: pd.DataFrame, grain: str) -> alt.Chart | None:
    """Thin lines per cohort (complete periods), a thick cohort-size-weighted mean."""
    from views.common import period_label

    complete = table[~table["is_partial"] & (table["cohort_size"] > 0)]
    cols = ["period_offset", "retention_rate", "retained", "cohort_size", "series", "cohort_label"]
    lines = complete.assign(series="single cohort", cohort_label=[period_label(c, grain) for c in complete["cohort"]])
    mean = curve[curve["cohorts"] > 0].assign(series="weighted mean", cohort_label="weighted mean")
    both = pd.concat([lines[cols], mean[cols]], ignore_index=True).dropna(subset=["retention_rate"])
    if both.empty:
        return None
    return alt.Chart(both).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
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


def partial_line(frame: pd.DataFrame, y: str, grain: str, *, y_title: str, color: str = "#3b75af",
                 y_format: str = "%", height: int = 260, fmt: str = ".1%", x_title: str | None = None) -> alt.Chart | None:
    """A line with its points hollow where the period has not ended (``is_partial``)."""
    data = frame.dropna(subset=[y])
    if data.empty:
        return None
    data = data.assign(state=data["is_partial"].map({True: "partial", False: "complete"}))
    base = alt.Chart(data).encode(
        x=time_x(grain, title=x_title), y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format)),
        tooltip=[_tip_period(grain), alt.Tooltip(f"{y}:Q", title=y_title, format=fmt),
                 alt.Tooltip("state:N", title="period"), *[alt.Tooltip(f"{c}:Q", format=",") for c in
                                                           ("retained", "cohort_size") if c in data]])
    points = base.mark_point(size=45, filled=True, strokeWidth=1.5, color=color).encode(
        fill=alt.condition("datum.is_partial", alt.value("white"), alt.value(color)))
    return (base.mark_line(color=color) + points).properties(height=height)


def churn_lines(frame: pd.DataFrame, grain: str) -> alt.Chart | None:
    if frame.empty:
        return None
    data = frame.assign(state=frame["is_partial"].map({True: "partial", False: "complete"}))
    base = alt.Chart(data).encode(
        x=time_x(grain), y=alt.Y("value:Q", title="churn", axis=alt.Axis(format="%")),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=["activity churn", "contractual churn"],
                                                              range=[RED, "#6c757d"])),
        tooltip=[_tip_period(grain), alt.Tooltip("kind:N", title="churn"),
                 alt.Tooltip("value:Q", title="rate", format=".1%"), alt.Tooltip("state:N", title="period")])
    return (base.mark_line() + base.mark_point(size=35, filled=True).encode(
        opacity=alt.condition("datum.is_partial", alt.value(0.3), alt.value(1.0)))).properties(height=260)


def lifecycle_bars(growth: pd.DataFrame, grain: str) -> alt.Chart | None:
    if growth.empty:
        return None
    from views.common import period_label

    life = growth.melt(id_vars=["period", "is_partial"], value_vars=list(LIFECYCLE_COLORS), var_name="status",
                       value_name="members")
    life["label"] = [period_label(p, grain) for p in life["period"]]
    life["order"] = life["status"].map({s: i for i, s in enumerate(LIFECYCLE_COLORS)})
    return alt.Chart(life).mark_bar().encode(
        x=alt.X("label:O", title=grain, sort=list(dict.fromkeys(life["label"])),
                axis=alt.Axis(labelAngle=-45, labelOverlap=True)),
        y=alt.Y("members:Q", title="members", stack="zero"),
        color=alt.Color("status:N", title=None, scale=alt.Scale(domain=list(LIFECYCLE_COLORS),
                                                                range=list(LIFECYCLE_COLORS.values()))),
        order=alt.Order("order:Q"),
        opacity=alt.condition("datum.is_partial", alt.value(0.5), alt.value(1.0)),
        tooltip=[alt.Tooltip("label:N", title=grain), alt.Tooltip("status:N"), alt.Tooltip("members:Q", format=",")],
    ).properties(height=320)


def quick_ratio(growth: pd.DataFrame, grain: str) -> alt.Chart | None:
    qr = growth.dropna(subset=["quick_ratio"])
    if qr.empty:
        return None
    base = alt.Chart(qr).encode(
        x=time_x(grain), y=alt.Y("quick_ratio:Q", title="quick ratio"),
        tooltip=[_tip_period(grain), alt.Tooltip("quick_ratio:Q", title="quick ratio", format=".2f"),
                 alt.Tooltip("new:Q", format=","), alt.Tooltip("resurrecting:Q", format=","),
                 alt.Tooltip("dormant:Q", format=",")])
    rule = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4], color="#888").encode(y="y:Q")
    return (base.mark_line(color=GREEN, point=True) + rule).properties(height=200)


def breakdown_curves(frame: pd.DataFrame, grain: str, by: str) -> alt.Chart | None:
    shown = frame[frame["cohorts"] > 0]
    if shown.empty:
        return None
    return alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("period_offset:Q", title=f"{grain}s later", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("retention_rate:Q", title="retained", axis=alt.Axis(format="%")),
        color=alt.Color("breakdown:N", title=by),
        tooltip=[alt.Tooltip("breakdown:N", title=by), alt.Tooltip("period_offset:Q", title=f"{grain}s later"),
                 alt.Tooltip("retention_rate:Q", title="retention", format=".1%"),
                 alt.Tooltip("retained:Q", format=","), alt.Tooltip("cohort_size:Q", title="of", format=",")],
    ).properties(height=300)


# ---------------------------------------------------------------------------------------------
# Development
# ---------------------------------------------------------------------------------------------
LEVEL_COLORS = ["#c9d3df", "#9ecae1", "#4a90c2", "#1f5f9e", ORANGE]
STAGE_COLORS = ["#c9d3df", "#8fbc8f", "#3c8d5a", ORANGE]


def _month(frame: pd.DataFrame, field: str = "period") -> pd.Series:
    return pd.to_datetime(frame[field]).dt.strftime("%Y-%m")


def ladder_bars(sizes: pd.DataFrame, levels: tuple[str, ...]) -> alt.Chart | None:
    if sizes.empty:
        return None
    data = sizes.assign(month=_month(sizes), state=sizes["is_partial"].map({True: "partial month", False: "complete"}),
                        level_rank=sizes["level"].map({lv: i for i, lv in enumerate(levels)}))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("members:Q", title="members", stack="zero"),
        color=alt.Color("level:N", title="level", scale=alt.Scale(domain=list(levels), range=LEVEL_COLORS),
                        sort=list(levels)),
        order=alt.Order("level_rank:Q"), opacity=alt.condition("datum.is_partial", alt.value(0.5), alt.value(1.0)),
        tooltip=[alt.Tooltip("month:N"), alt.Tooltip("level:N"), alt.Tooltip("members:Q", format=","),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("state:N", title="month")],
    ).properties(height=300)


def ladder_lines(sizes: pd.DataFrame, levels: tuple[str, ...]) -> alt.Chart | None:
    data = sizes[sizes["level"] != "Observer"]
    if data.empty:
        return None
    return alt.Chart(data.assign(month=_month(data))).mark_line(point=True).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("members:Q", title="members (without Observers)"),
        color=alt.Color("level:N", title="level", scale=alt.Scale(domain=list(levels[1:]), range=LEVEL_COLORS[1:])),
        tooltip=[alt.Tooltip("month:N"), alt.Tooltip("level:N"), alt.Tooltip("members:Q", format=","),
                 alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=220)


def move_matrix(cells: pd.DataFrame, kind: str, order: list[str], title_to: str, scheme: str = "blues",
                height: int = 300) -> alt.Chart | None:
    """Members from (rows: the month end before) to (columns: this month end)."""
    if cells.empty:
        return None
    data = cells.assign(dark=cells["members"] > 0.4 * cells["members"].max())
    x = alt.X(f"to_{kind}:N", title=title_to, sort=order, axis=alt.Axis(labelAngle=-40, labelOverlap=False))
    y = alt.Y(f"from_{kind}:N", title=f"{kind} before", sort=order)  # a longer title was cut off (15.5)
    rect = alt.Chart(data).mark_rect(stroke="white").encode(
        x=x, y=y, color=alt.Color("members:Q", title="members", scale=alt.Scale(scheme=scheme, type="sqrt")),
        tooltip=[alt.Tooltip(f"from_{kind}:N", title="from"), alt.Tooltip(f"to_{kind}:N", title="to"),
                 alt.Tooltip("members:Q", format=",")])
    text = alt.Chart(data).mark_text(fontSize=11).encode(
        x=alt.X(f"to_{kind}:N", sort=order), y=alt.Y(f"from_{kind}:N", sort=order), text=alt.Text("members:Q", format=","),
        color=alt.condition("datum.dark", alt.value("white"), alt.value("#222")))
    return (rect + text).properties(height=height)


def promotion_lines(rates: pd.DataFrame, kind: str = "level") -> alt.Chart | None:
    data = rates[rates[kind] == "all"].melt(id_vars=["period"], value_vars=["promotion_rate", "demotion_rate"],
                                                 var_name="rate", value_name="value").dropna()
    if data.empty:
        return None
    data = data.assign(month=_month(data), rate=data["rate"].map({"promotion_rate": "promoted",
                                                                   "demotion_rate": "demoted"}))
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("value:Q", title="share of the community", axis=alt.Axis(format="%")),
        color=alt.Color("rate:N", title=None, scale=alt.Scale(domain=["promoted", "demoted"], range=[GREEN, RED])),
        tooltip=[alt.Tooltip("month:N"), alt.Tooltip("rate:N"), alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=220)


def stage_funnel(funnel: pd.DataFrame, stages: tuple[str, ...], title: str) -> alt.Chart | None:
    if funnel.empty:
        return None
    return alt.Chart(funnel).mark_bar().encode(
        y=alt.Y("stage:N", sort=list(stages), title=None), x=alt.X("members:Q", title=title),
        color=alt.Color("stage:N", scale=alt.Scale(domain=list(stages), range=STAGE_COLORS), legend=None),
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("members:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=220)


def value_curves(curves: pd.DataFrame) -> alt.Chart | None:
    if curves is None or curves.empty:
        return None
    return alt.Chart(curves.assign(cohort_label=_month(curves, "cohort"))).mark_line(
        point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("months_since:Q", title="months since first purchase", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("cumulative_revenue_per_member:Q", title="cumulative revenue per member"),
        color=alt.Color("cohort_label:N", title="cohort", scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("cohort_label:N", title="cohort"), alt.Tooltip("months_since:Q", title="month"),
                 alt.Tooltip("cumulative_revenue_per_member:Q", title="per member", format=",.2f"),
                 alt.Tooltip("cohort_size:Q", title="cohort size", format=","),
                 alt.Tooltip("net_revenue_retention:Q", title="net revenue retention", format=".0%")],
    ).properties(height=320)


def clv_histogram(hist: pd.DataFrame) -> alt.Chart | None:
    if hist.empty:
        return None
    return alt.Chart(hist).mark_bar(color="#1f5f9e").encode(
        x=alt.X("bin_start:Q", bin="binned", title="CLV (top 1 % capped)"), x2="bin_end:Q",
        y=alt.Y("customers:Q", title="customers"),
        tooltip=[alt.Tooltip("bin_start:Q", title="from", format=",.0f"), alt.Tooltip("bin_end:Q", title="to",
                                                                                      format=",.0f"),
                 alt.Tooltip("customers:Q", format=",")],
    ).properties(height=240)


def group_bars(frame: pd.DataFrame, measure: str, title: str, fmt: str) -> alt.Chart | None:
    data = frame[["group", measure]].rename(columns={measure: "value"}).dropna()
    if data.empty:
        return None
    groups = ["participants", "non-participants"]
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("group:N", title=None, sort=groups, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=title, axis=alt.Axis(format="%" if "%" in fmt else ",.0f")),
        color=alt.Color("group:N", legend=None, scale=alt.Scale(domain=groups, range=["#1f5f9e", "#c9d3df"])),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("value:Q", title=title, format=fmt)],
    ).properties(height=220)


def referrals(share: pd.DataFrame, grain: str) -> alt.Chart | None:
    if share.empty:
        return None
    base = alt.Chart(share).encode(x=time_x(grain, title=""))
    return alt.layer(
        base.mark_bar(color="#dfe6ee").encode(
            y=alt.Y("new_members:Q", title="new members"),
            tooltip=[_tip_period(grain), alt.Tooltip("new_members:Q", title="new", format=","),
                     alt.Tooltip("referred:Q", format=","), alt.Tooltip("share_referred:Q", format=".1%")]),
        base.mark_line(point=True, color=ORANGE).encode(
            y=alt.Y("share_referred:Q", title="share referred", axis=alt.Axis(format="%")),
            tooltip=[_tip_period(grain), alt.Tooltip("share_referred:Q", format=".1%")]),
    ).resolve_scale(y="independent").properties(height=240)


def referral_depth(chains: pd.DataFrame) -> alt.Chart | None:
    if chains.empty:
        return None
    return alt.Chart(chains).mark_bar(color=ORANGE).encode(
        x=alt.X("depth:O", title="referral depth (0 = not referred)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("members:Q", title="new members (log)", scale=alt.Scale(type="symlog")),
        tooltip=[alt.Tooltip("depth:O"), alt.Tooltip("members:Q", format=",")],
    ).properties(height=200)


# ------------------------------------------------------------------------------------------------
# Listening
# ------------------------------------------------------------------------------------------------
def volume_with_spikes(volume: pd.DataFrame, spikes: pd.DataFrame, grain: str) -> alt.Chart | None:
    """Interactions per period and subject (``subject``: '#tag' or a campaign), with a red rule at
    the start of each of the subjects' spikes (tooltip: what, how large)."""
    if volume is None or volume.empty:
        return None
    # A subject's quiet periods are 0, not a line drawn straight across them (summer to summer).
    grid = pd.MultiIndex.from_product([sorted(volume["period"].unique()), sorted(volume["subject"].unique())],
                                      names=["period", "subject"])
    volume = volume.set_index(["period", "subject"]).reindex(grid).reset_index()
    volume["interactions"] = volume["interactions"].fillna(0)
    tips = [_tip_period(grain), alt.Tooltip("subject:N", title="hashtag / campaign"),
            alt.Tooltip("interactions:Q", format=",.0f"),
            alt.Tooltip("net_sentiment:Q", title="net sentiment", format="+.2f")]
    if "members" in volume:
        tips.insert(3, alt.Tooltip("members:Q", format=",.0f"))
    lines = alt.Chart(volume).mark_line(point=len(volume) < 80).encode(
        x=time_x(grain), y=alt.Y("interactions:Q", title="inbound interactions"),
        color=alt.Color("subject:N", title=None, legend=alt.Legend(orient="bottom", columns=4)), tooltip=tips)
    marks = spikes[spikes["subject"].isin(set(volume["subject"]))] if spikes is not None else spikes
    if marks is None or marks.empty:
        return lines.properties(height=300)
    marks = marks.assign(times=(marks["volume"] / marks["baseline"].where(marks["baseline"] > 0)).round(0))
    rules = alt.Chart(marks).mark_rule(color=RED, strokeDash=[4, 3]).encode(
        x="started_at:T",
        tooltip=[alt.Tooltip("subject:N", title="spike"), alt.Tooltip("started_at:T", title="from", format="%d %b %Y %H:%M"),
                 alt.Tooltip("ended_at:T", title="until", format="%d %b %Y %H:%M"),
                 alt.Tooltip("volume:Q", title="messages", format=",.0f"),
                 alt.Tooltip("times:Q", title="× usual", format=",.0f"),
                 alt.Tooltip("net_sentiment:Q", title="net sentiment", format="+.2f")])
    return alt.layer(lines, rules).properties(height=300)


def sentiment_bars(overall: pd.DataFrame, grain: str) -> alt.Chart | None:
    """Positive / neutral / negative interactions per period, stacked."""
    if overall is None or overall.empty or overall["scored"].sum() == 0:
        return None
    data = long(overall[["period", "net_sentiment", "positive", "neutral", "negative"]],
                {"positive": "positive", "neutral": "neutral", "negative": "negative"}, "interactions",
                keep=("period", "net_sentiment"))
    return alt.Chart(data).mark_bar().encode(
        x=time_x(grain), y=alt.Y("interactions:Q", title="interactions with a sentiment", stack=True),
        color=alt.Color("series:N", title=None, sort=["positive", "neutral", "negative"],
                        scale=alt.Scale(domain=["positive", "neutral", "negative"], range=[GREEN, GREY, RED])),
        order=alt.Order("order:Q"),
        tooltip=[_tip_period(grain), alt.Tooltip("series:N", title="sentiment"),
                 alt.Tooltip("interactions:Q", format=",.0f"),
                 alt.Tooltip("net_sentiment:Q", title="net sentiment", format="+.2f")],
    ).transform_calculate(order="datum.series == 'positive' ? 0 : datum.series == 'neutral' ? 1 : 2").properties(height=260)


def share_lines(frame: pd.DataFrame, y: str, grain: str, color: str, *, y_title: str, fmt: str = ".1%",
                extra: tuple = ()) -> alt.Chart | None:
    """Shares (or net sentiment) over periods, one line per ``color`` value."""
    if frame is None or frame.empty or frame[y].isna().all():
        return None
    return alt.Chart(frame).mark_line(point=len(frame) < 80).encode(
        x=time_x(grain), y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=fmt)),
        color=alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="bottom", columns=4)),
        tooltip=[_tip_period(grain), alt.Tooltip(f"{color}:N"), alt.Tooltip(f"{y}:Q", title=y_title, format=fmt),
                 *extra]).properties(height=260)


def network_rates(rates: pd.DataFrame, grain: str) -> alt.Chart | None:
    """Engagement rate per network over periods (rate by impressions, as a percentage)."""
    if rates is None or rates.empty or rates["value"].isna().all():
        return None
    tips = (alt.Tooltip("engagements:Q", format=",.0f"), alt.Tooltip("impressions:Q", format=",.0f"),
            alt.Tooltip("posts:Q", format=",.0f"), alt.Tooltip("median_rate:Q", title="median per post", format=".2%"),
            alt.Tooltip("source:N"))
    return line(rates, "value", grain, color="network", y_title="engagement rate (impressions)", fmt=".2%",
                y_format="%", extra=tips)


def followers_and_engagement(audience: pd.DataFrame, grain: str) -> alt.Chart | None:
    """Follower growth per network (bars) next to engagements per 1,000 followers (line)."""
    if audience is None or audience.empty or audience["growth"].isna().all():
        return None
    tips = [_tip_period(grain), alt.Tooltip("network:N"), alt.Tooltip("growth:Q", title="net growth", format="+,.0f"),
            alt.Tooltip("growth_rate:Q", title="growth rate", format=".2%"),
            alt.Tooltip("followers_end:Q", title="followers at the end", format=",.0f"),
            alt.Tooltip("new_followers:Q", title="gained", format=",.0f"),
            alt.Tooltip("engagement_per_1000:Q", title="engagements per 1,000 followers", format=",.1f")]
    base = alt.Chart(audience).encode(x=time_x(grain), tooltip=tips)
    bars_ = base.mark_bar(opacity=0.8).encode(y=alt.Y("growth:Q", title="net follower growth"),
                                              color=alt.Color("network:N", title=None), xOffset="network:N")
    return bars_.properties(height=260)


def posting_heatmap(times: pd.DataFrame) -> alt.Chart | None:
    """Median engagement rate per weekday x hour of publishing; the best cell outlined."""
    if times is None or times.empty:
        return None
    data = times.assign(day=times["weekday"].map(lambda d: WEEKDAYS[int(d) - 1]))
    enc = {"x": alt.X("hour:O", title="hour published"), "y": alt.Y("day:N", sort=WEEKDAYS, title=None)}
    tips = ["day:N", "hour:O", alt.Tooltip("posts:Q", title="posts"),
            alt.Tooltip("median_rate:Q", title="median engagement rate", format=".2%")]
    cells = alt.Chart(data).mark_rect().encode(
        **enc, color=alt.Color("median_rate:Q", title="median rate", scale=alt.Scale(scheme="greens"),
                               legend=alt.Legend(format="%")), tooltip=tips)
    best = alt.Chart(data[data["best"]]).mark_rect(fill=None, stroke=RED, strokeWidth=2).encode(**enc, tooltip=tips)
    return (cells + best).properties(height=230)
