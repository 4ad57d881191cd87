"""Small pieces every page uses: headline tiles, the page header, a computing placeholder."""

from __future__ import annotations

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


_MARKDOWN = set("\\`*_{}[]()<>#+-.!|~$:")


def plain(text) -> str:
    """User text for a Markdown element, shown as the text it is (no links, images or emphasis)."""
    return "".join("\\" + ch if ch in _MARKDOWN else ch for ch in str(text))
