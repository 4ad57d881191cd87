"""Chart and number helpers shared by the pages: one look, tooltips everywhere."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st


def explain(text: str) -> None:
    """The one-line 'what this shows and why it matters' under a chart title."""
    st.caption(text)


def fmt_int(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{int(value):,}".replace(",", "\u202f")


def fmt_pct(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f} %"


def line(frame: pd.DataFrame, x: str, y: str, *, color: str | None = None, y_title: str = "",
         x_title: str = "", fmt: str = ",.0f", height: int = 260) -> alt.Chart:
    enc = {
        "x": alt.X(f"{x}:T", title=x_title),
        "y": alt.Y(f"{y}:Q", title=y_title),
        "tooltip": [alt.Tooltip(f"{x}:T", title=x_title or x), alt.Tooltip(f"{y}:Q", title=y_title or y, format=fmt)],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None)
        enc["tooltip"].append(alt.Tooltip(f"{color}:N"))
    return alt.Chart(frame).mark_line(point=len(frame) < 60).encode(**enc).properties(height=height)


def show(chart: alt.Chart) -> None:
    st.altair_chart(chart, width="stretch")
