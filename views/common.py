"""What every view needs: its settings type, the computer, complete periods, period labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics import Computer, Filters
from metrics.queries import filter_options


@dataclass(frozen=True)
class GrainSettings:
    grain: str = "month"


def computer(con: duckdb.DuckDBPyConnection) -> Computer:
    return Computer(con)


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with any interaction or transaction."""
    with con.cursor() as cur:
        span = filter_options(cur)["span"]
    return span[1] if span else None


def period_end(period, grain: str) -> date:
    p = pd.Timestamp(period).date()
    if grain == "day":
        return p
    if grain == "week":
        return p + timedelta(days=6)
    nxt = (p.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def complete(frame: pd.DataFrame | None, grain: str, end: date | None, filters: Filters) -> pd.DataFrame | None:
    """The rows of a per-period frame whose period is over by the data's last day (and within the
    range's end): headline tiles compare complete periods only, like with like. When no period is
    complete yet, the last one alone (nothing to compare it with)."""
    if frame is None or frame.empty or "period" not in frame:
        return frame
    last = min(d for d in (end, filters.end) if d is not None) if (end or filters.end) else None
    if last is None:
        return frame
    done = [period_end(p, grain) <= last for p in frame["period"]]
    if "is_partial" in frame:
        done = [d and not bool(p) for d, p in zip(done, frame["is_partial"].fillna(False), strict=True)]
    return frame[done] if any(done) else frame.tail(1)


def period_label(ts, grain: str) -> str:
    ts = pd.Timestamp(ts)
    if grain == "month":
        return ts.strftime("%Y-%m")
    if grain == "week":
        return f"{ts.isocalendar().year}-W{ts.isocalendar().week:02d}"
    return ts.strftime("%d-%m-%Y")


def tiles_period(done: pd.DataFrame | None, grain: str, end: date | None, filters: Filters) -> str:
    """Which period the tiles show, in words (from ``complete``'s rows)."""
    if done is None or done.empty:
        return f"no {grain} with data in the range"
    last = done["period"].iloc[-1]
    limit = min(d for d in (end, filters.end) if d is not None) if (end or filters.end) else None
    if limit is not None and period_end(last, grain) > limit:
        return f"the {grain} so far ({period_label(last, grain)}, not complete yet)"
    return f"the last complete {grain} ({period_label(last, grain)})"
