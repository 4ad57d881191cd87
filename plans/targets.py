"""Targets (METRICS.md, "Targets and trials"): where a metric stands against a goal set for it.

A target names a registry metric that yields one number per period, its filters and options,
a direction (``at_least`` / ``at_most``), a target value, a start and a due date, and optionally
a baseline. ``evaluate`` is the pure arithmetic on a series of period values; ``target_report``
computes the series through the registry and evaluates it.

Definitions, all checkable by hand:

* A period counts once it is **complete**: it ended before ``today`` and was not flagged partial
  (``target_report`` flags a period that had not ended at the data's last date, and metrics that
  flag their own, e.g. retention cohorts too young for offset N). A period still running is
  shown in the series but never judged: its value would be unfairly low for counts.
* **current** = the value of the latest complete period (any period, also one before the start).
* **baseline**, when not given = the value of the latest complete period that ended before the
  start date (the state of things when the target was set); when there is none, the value of the
  first complete period containing or after the start date.
* **progress** = (current − baseline) / (target − baseline) (1 = target reached, also for
  ``at_most`` where target < baseline); **expected progress** = elapsed / total days between start
  and due date, clamped to 0..1.
* **status**: ``achieved`` when current ≥ target (``at_least``) or ≤ target (``at_most``), at any
  time (achieved early counts); else ``on track`` when progress ≥ expected, ``at risk`` when at
  most 0.10 below expected, ``off track`` below that; ``no data`` without a current value.
  A baseline that already met the target leaves progress undefined (None): the target is then
  ``achieved`` while the current value still meets it and ``off track`` once it does not.
* **projection**: the least-squares line (numpy.polyfit, degree 1) through the complete period
  values from the period containing the start date on, x = periods since that period; drawn
  at every period start up to the period containing the due date. One point gives a flat line.
  ``projected_at_due`` is its value at the due date's period. The line is clipped to what the
  metric can take (``limits``): 0..1 for shares, at least 0 for every other target metric (all
  are counts, means or ratios of counts), so a steep line never projects "-105 %".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from metrics import REGISTRY, Computer
from metrics.filters import Filters, check_grain
from metrics.registry import get

DIRECTIONS: tuple[str, ...] = ("at_least", "at_most")
STATUSES: tuple[str, ...] = ("achieved", "on track", "at risk", "off track", "no data")
AT_RISK_BAND = 0.10
_EPS = 1e-9

# Every per_period metric in the registry yields one number per period (tests/test_targets.py
# computes each and asserts one row per period with a `value` column). Financial metrics can be
# targets too; the page warns that customer goals, not money alone, decide success.
TARGET_METRICS: list[str] = [n for n, m in REGISTRY.items() if m.per_period]


_MONEY_WORDS = ("revenue", "order_value", "clv", "lifetime_value", "spend", "amount", "purchase_value",
                "price", "margin", "sales", "money")


def is_financial(metric: str) -> bool:
    """Is the metric about money (revenue, order value, CLV ...)? Declared with a registry metric;
    for any other name, judged by its words."""
    m = REGISTRY.get(metric)
    if m is not None:
        return m.financial
    return any(w in metric.lower() for w in _MONEY_WORDS)


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------
def period_start(d: date, grain: str) -> date:
    g = check_grain(grain)
    if g == "day":
        return d
    if g == "week":
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


def add_periods(p: date, k: int, grain: str) -> date:
    g = check_grain(grain)
    if g == "day":
        return p + timedelta(days=k)
    if g == "week":
        return p + timedelta(days=7 * k)
    months = p.year * 12 + p.month - 1 + k
    return date(months // 12, months % 12 + 1, 1)


def period_end(p: date, grain: str) -> date:
    """Last day of the period starting on ``p``."""
    return add_periods(period_start(p, grain), 1, grain) - timedelta(days=1)


def period_index(p: date, origin: date, grain: str) -> int:
    """Whole periods from the period of ``origin`` to the period of ``p``."""
    g = check_grain(grain)
    a, b = period_start(origin, g), period_start(p, g)
    if g == "month":
        return (b.year * 12 + b.month) - (a.year * 12 + a.month)
    return (b - a).days // (7 if g == "week" else 1)


def _as_date(value) -> date:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
@dataclass
class TargetReport:
    series: pd.DataFrame  # period, value, is_partial (True: not complete, shown but not judged)
    baseline: float | None
    current: float | None
    progress: float | None
    expected_progress: float
    status: str
    projection: pd.DataFrame  # period, value: the least-squares line from start to due
    projected_at_due: float | None
    financial: bool
    current_period: date | None = None  # the period `current` was read from
    message: str = ""  # why there is no data, when the metric says (e.g. "map in_reply_to")


def _series(series: pd.DataFrame, grain: str, today: date) -> pd.DataFrame:
    """period (date), value (float, NaN = none), is_partial (flagged, or not ended before today),
    complete (not partial and a value); ordered by period."""
    if series is None or len(series) == 0:
        return pd.DataFrame({"period": pd.Series(dtype=object), "value": pd.Series(dtype="float64"),
                             "is_partial": pd.Series(dtype=bool), "complete": pd.Series(dtype=bool)})
    out = pd.DataFrame({
        "period": [_as_date(p) for p in series["period"]],
        "value": pd.to_numeric(series["value"], errors="coerce").astype("float64"),
        "is_partial": (series["is_partial"].fillna(False).astype(bool).to_numpy()
                       if "is_partial" in series else False),
    })
    out = out.sort_values("period", kind="stable").reset_index(drop=True)
    running = np.array([period_end(p, grain) >= today for p in out["period"]], dtype=bool)
    out["is_partial"] = out["is_partial"].to_numpy(dtype=bool) | running
    out["complete"] = ~out["is_partial"] & out["value"].notna()
    return out


def _baseline(s: pd.DataFrame, start: date, grain: str) -> float | None:
    done = s[s["complete"]]
    before = done[np.array([period_end(p, grain) < start for p in done["period"]], dtype=bool)]
    if len(before):
        return float(before["value"].iloc[-1])
    after = done[np.array([period_end(p, grain) >= start for p in done["period"]], dtype=bool)]
    return float(after["value"].iloc[0]) if len(after) else None


def _met(current: float, target: float, direction: str) -> bool:
    tol = _EPS * max(1.0, abs(target))
    return current >= target - tol if direction == "at_least" else current <= target + tol


def limits(metric: str) -> tuple[float | None, float | None]:
    """The range a target metric's values can take: (0, 1) for shares, (0, None) otherwise."""
    unit = REGISTRY[metric].unit.lower() if metric in REGISTRY else ""
    return (0.0, 1.0) if unit.startswith("share") else (0.0, None)


def _projection(s: pd.DataFrame, start: date, due: date, grain: str,
                bounds: tuple[float | None, float | None] = (None, None)) -> tuple[pd.DataFrame, float | None]:
    first, last = period_start(start, grain), period_start(due, grain)
    pts = s[s["complete"].to_numpy() & np.array([period_end(p, grain) >= start for p in s["period"]], dtype=bool)]
    n_periods = period_index(last, first, grain) + 1
    periods = [add_periods(first, k, grain) for k in range(n_periods)]
    if len(pts) == 0:
        return pd.DataFrame({"period": pd.Series(dtype=object), "value": pd.Series(dtype="float64")}), None
    x = np.array([period_index(p, first, grain) for p in pts["period"]], dtype=float)
    y = pts["value"].to_numpy(dtype=float)
    if len(pts) == 1:
        slope, intercept = 0.0, float(y[0])
    else:
        slope, intercept = (float(c) for c in np.polyfit(x, y, 1))
    values = np.array([intercept + slope * k for k in range(n_periods)], dtype=float)
    if bounds != (None, None):
        values = np.clip(values, bounds[0], bounds[1])
    return pd.DataFrame({"period": periods, "value": values}), float(values[-1])


def evaluate(series: pd.DataFrame, *, direction: str, baseline: float | None, target_value: float,
             start: date, due: date, today: date, grain: str = "month",
             bounds: tuple[float | None, float | None] = (None, None)) -> TargetReport:
    """Judge a series of period values (columns period, value; optional is_partial) against a
    target. Pure: the same input always gives the same report (definitions: module docstring)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)} (got {direction!r})")
    if due <= start:
        raise ValueError("The due date must be after the start date.")
    s = _series(series, grain, today)
    done = s[s["complete"]]
    current = float(done["value"].iloc[-1]) if len(done) else None
    current_period = done["period"].iloc[-1] if len(done) else None
    if baseline is None:
        baseline = _baseline(s, start, grain)
    expected = min(1.0, max(0.0, (today - start).days / (due - start).days))
    progress = None
    if current is not None and baseline is not None and not _met(baseline, target_value, direction):
        progress = (current - baseline) / (target_value - baseline)
    if current is None:
        status = "no data"
    elif _met(current, target_value, direction):
        status = "achieved"
    elif progress is None:  # the baseline met the target, the current value no longer does
        status = "off track"
    elif progress >= expected - _EPS:
        status = "on track"
    elif progress >= expected - AT_RISK_BAND - _EPS:
        status = "at risk"
    else:
        status = "off track"
    projection, at_due = _projection(s, start, due, grain, bounds)
    return TargetReport(
        series=s[["period", "value", "is_partial"]],
        baseline=baseline, current=current, progress=progress, expected_progress=expected, status=status,
        projection=projection, projected_at_due=at_due, financial=False, current_period=current_period,
    )


# --------------------------------------------------------------------------------------------
# From the workspace
# --------------------------------------------------------------------------------------------
def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """The first and the last day with any interaction or transaction ((None, None): no data)."""
    from derived.sync import ensure

    ensure(con)
    with con.cursor() as cur:
        row = cur.execute("""
            SELECT least((SELECT min(day) FROM hourly), (SELECT min(day) FROM purchase_day)),
                   greatest((SELECT max(day) FROM hourly), (SELECT max(day) FROM purchase_day))""").fetchall()[0]
    return row[0], row[1]


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with any interaction or transaction (None: an empty workspace)."""
    return data_span(con)[1]


def target_filters(target: dict, start: date | None = None, end: date | None = None) -> Filters:
    return Filters(start=start, end=end, channels=tuple(target.get("channels") or ()),
                   segments=tuple(target.get("segments") or ()), campaigns=tuple(target.get("campaigns") or ()))


def target_report(con: duckdb.DuckDBPyConnection, target: dict, *, today: date | None = None) -> TargetReport:
    """Compute the target's metric (its filters and options, from the data's first day up to today
    or the data's last day, whichever is earlier) and evaluate it. A period not ended at the data's
    last day is partial (not judged). Periods without activity under the filters show 0."""
    today = today or date.today()
    metric = get(target["metric"])
    options = dict(target.get("options") or {})
    grain = check_grain(options.get("grain", "month"))
    first, last = data_span(con)
    args = dict(direction=target["direction"], baseline=target.get("baseline"),
                target_value=float(target["target_value"]), start=target["start_date"], due=target["due_date"],
                today=today, grain=grain, bounds=limits(target["metric"]))
    message = ""
    if last is None:
        frame, message = None, "No data in this workspace yet: load exports on the Data page."
    else:
        frame = Computer(con).frame(metric.name, target_filters(target, min(first, today), min(today, last)), options)
        message = frame.attrs.get("message", "")
        if len(frame):
            partial = np.array([period_end(_as_date(p), grain) > last for p in frame["period"]])
            if "is_partial" in frame:
                partial |= frame["is_partial"].fillna(False).astype(bool).to_numpy()
            frame = frame.assign(is_partial=partial)
    report = evaluate(frame, **args)
    report.financial = is_financial(target["metric"])
    report.message = message
    return report
