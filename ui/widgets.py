"""Small pieces every page uses: headline tiles, the page header, a computing placeholder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import contextmanager

import streamlit as st

from ui.report import BAD, GOOD, NEUTRAL, sparkline_svg
from views.tiles import Headline

TREND_COLORS = {True: GOOD, False: BAD, None: NEUTRAL}  # good news, bad news, no change


def tile(col, h: Headline, *, trend: bool = False) -> None:
    """One headline tile (``views.tiles.Headline``) in ``col``: value, change, help with the period;
    ``trend``: with the last periods as a sparkline under it, green / red / grey as the change is.

    The sparkline is the report's inline SVG, not st.metric's ``chart_data``: Streamlit draws that
    as a Vega view whose empty hover layer logs two "Infinite extent" warnings per tile, and seven
    Vega views cost the browser more than seven SVG lines."""
    kwargs = dict(delta=h.delta_text, delta_color=h.delta_color, delta_arrow=h.delta_arrow,
                  help=h.help + (f" Period: {h.period}." if h.period else ""))
    spark = sparkline_svg(h.trend, TREND_COLORS[h.good], width=240, height=56, fluid=True,
                          title=f"{h.label}: the last {len(h.trend)} periods") if trend else ""
    if not spark:
        col.metric(h.label, h.text, border=True, **kwargs)
        return
    box = col.container(border=True, gap="small")
    box.metric(h.label, h.text, **kwargs)
    box.markdown(spark, unsafe_allow_html=True)  # numbers only: no user text in it


def tiles(headlines: Sequence[Headline], per_row: int = 4, *, trend: bool = False) -> list:
    """Tiles in rows of ``per_row``; returns the columns (spare ones can take more tiles)."""
    cols: list = []
    for _ in range(0, max(len(headlines), 1), per_row):
        cols += st.columns(per_row)
    for col, h in zip(cols, headlines, strict=False):
        tile(col, h, trend=trend)
    return cols


@contextmanager
def computing(height: int = 420, what: str = "this page's numbers"):
    """A skeleton while a view computes, with a line that says what is happening and for how long
    (both shown only after a short delay, cleared when done): a first visit after an import or a
    new filter computes; later visits read the stored result."""
    with st.spinner(f"Computing {what} from the stored tables (once per filter after an import; later visits "
                    "read the stored result)…", show_time=True), st.skeleton(height=height):
        yield


def header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


_INLINE = re.compile(r"([\\`*_\[\]<>!|~$])")  # emphasis, code, links, images, HTML, tables, strikes, LaTeX
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+(?=[.)]))", re.MULTILINE)  # headings, lists, quotes, rules


def plain(text) -> str:
    """User text for a Markdown element, shown as the text it is (no links, images, emphasis or
    HTML): CommonMark backslash escapes on every character that starts inline markup, and on a
    line's first character where it would start a heading, list, quote or rule. Our own
    punctuation around it (colons, full stops) stays as it is."""
    out = _INLINE.sub(r"\\\1", str(text))
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)),
                           out)
