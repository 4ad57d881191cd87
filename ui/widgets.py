"""Small pieces every page uses: headline tiles, the page header, a computing placeholder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import contextmanager

import streamlit as st

from views.tiles import Headline


def tile(col, h: Headline, *, trend: bool = False) -> None:
    """One headline tile (``views.tiles.Headline``) in ``col``: value, change, help with the period."""
    col.metric(h.label, h.text, delta=h.delta_text, delta_color=h.delta_color, delta_arrow=h.delta_arrow, border=True,
               help=h.help + (f" Period: {h.period}." if h.period else ""),
               chart_data=list(h.trend) if trend and len(h.trend) > 1 else None, chart_type="line")


def tiles(headlines: Sequence[Headline], per_row: int = 4, *, trend: bool = False) -> list:
    """Tiles in rows of ``per_row``; returns the columns (spare ones can take more tiles)."""
    cols: list = []
    for _ in range(0, max(len(headlines), 1), per_row):
        cols += st.columns(per_row)
    for col, h in zip(cols, headlines, strict=False):
        tile(col, h, trend=trend)
    return cols


@contextmanager
def computing(height: int = 420):
    """A skeleton while a view computes (shown after a short delay, cleared when done)."""
    with st.skeleton(height=height):
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
