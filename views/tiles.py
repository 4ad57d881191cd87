"""Headline tiles and number formats: plain data the views build and the pages and the report show.

Deltas start with an ASCII sign (st.metric colours by the leading '-'); one precision rule per
unit: counts as whole numbers with a thin-space thousands separator, shares as percent with one
decimal, changes in shares in percentage points, durations in minutes below an hour, else hours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd


def fmt_int(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{int(value):,}".replace(",", "\u202f")


def fmt_pct(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f} %"


def fmt_num(value, digits: int = 2) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{digits}f}".replace(",", "\u202f")


def fmt_hours(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value * 60:.0f} min" if value < 1 else f"{value:.1f} h"


def fmt_signed_int(delta: float) -> str:
    return f"{delta:+,.0f}".replace(",", "\u202f")


def fmt_pp(delta: float) -> str:
    """A change in a share, in percentage points."""
    return f"{100 * delta:+.1f} pp"


def fmt_signed_hours(delta: float) -> str:
    return f"{60 * delta:+.0f} min" if abs(delta) < 1 else f"{delta:+.1f} h"


# ---------------------------------------------------------------------------------------------
# Headline tiles
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """One tile: the latest period's value, its change against the period before and a trend."""

    label: str
    value: float | None
    text: str  # the value, formatted
    delta: float | None = None  # latest - previous
    delta_text: str | None = None
    lower_is_better: bool = False
    trend: tuple[float, ...] = ()  # the last periods, oldest first (missing periods left out)
    help: str = ""
    period: str = ""  # which period the value is about, e.g. "2026-10"

    @property
    def good(self) -> bool | None:
        """Whether the change is good news (None: no change or no comparison)."""
        if self.delta is None or self.delta_text is None or _is_zero(self.delta_text):
            return None
        return (self.delta < 0) if self.lower_is_better else (self.delta > 0)

    @property
    def delta_arrow(self) -> str:
        """st.metric's delta_arrow: none when nothing changed."""
        return "off" if self.delta_text is not None and _is_zero(self.delta_text) else "auto"

    @property
    def delta_color(self) -> str:
        """st.metric's delta_color: grey for no change, inverse where lower is better."""
        if self.good is None:
            return "off"
        return "inverse" if self.lower_is_better else "normal"


def _is_zero(text: str) -> bool:
    digits = [c for c in text if c.isdigit()]
    return bool(digits) and set(digits) == {"0"}


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def headline(label: str, frame: pd.DataFrame | None, column: str, *, fmt: Callable[[float | None], str],
             delta_fmt: Callable[[float], str], lower_is_better: bool = False, help: str = "",
             points: int = 12, period_label: Callable[[object], str] | None = None) -> Headline:
    """The tile for ``frame[column]`` (rows ordered by period): the last row against the one before,
    the same reading as the Participation page's tiles. A missing value gives '–' and no delta."""
    if frame is None or frame.empty or column not in frame:
        return Headline(label, None, fmt(None), lower_is_better=lower_is_better, help=help)
    values = frame[column].tolist()
    last = _num(values[-1])
    prev = _num(values[-2]) if len(values) > 1 else None
    delta = last - prev if last is not None and prev is not None else None
    trend = tuple(float(v) for v in values[-points:] if _num(v) is not None)
    period = ""
    if period_label is not None and "period" in frame:
        period = period_label(frame["period"].iloc[-1])
    delta_text = None if delta is None else delta_fmt(delta)
    if delta_text is not None and _is_zero(delta_text):
        delta_text = delta_text.lstrip("+-")  # "-0.0 pp" is no change: no arrow, no sign
    return Headline(label, last, fmt(last), delta, delta_text, lower_is_better, trend, help, period)




@dataclass(frozen=True)
class TargetLine:
    name: str
    metric: str
    status: str
    current: str  # formatted
    target: str  # formatted, with the direction, e.g. "≥ 12.0 %"
    progress: float | None  # share of the way from baseline to target
    expected: float | None  # share of the time elapsed
    due: date | None
    owner: str = ""
    note: str = ""
    projected: str = "–"  # the projection at the due date, formatted


@dataclass(frozen=True)
class TrialLine:
    name: str
    status: str
    goal: str
    window: str  # e.g. "01-11-2026 – 30-11-2026"
    reading: str  # the plain-language summary of the analysis
    decision: str = ""
    note: str = ""
