"""Targets and trials in words: the formats and rows the Overview, the Targets & trials page and the
management report show (plain Python, no Streamlit)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from metrics import get
from plans.targets import TargetReport
from plans.trials import label as trial_label
from views.tiles import TargetLine, TrialLine, fmt_hours, fmt_int, fmt_pct


def unit_of(metric: str) -> str:
    try:
        return get(metric).unit
    except (KeyError, ValueError):
        return ""

def is_share(metric: str) -> bool:
    return unit_of(metric).startswith("share")

def fmt_value(metric: str, value) -> str:
    """A metric value in its unit: shares as %, hours as h / min, counts as integers."""
    if value is None or pd.isna(value):
        return "–"
    unit = unit_of(metric)
    if unit.startswith("share"):
        return fmt_pct(value)
    if unit == "hours":
        return fmt_hours(value)
    if unit in ("members", "agents", "interactions") and float(value).is_integer():
        return fmt_int(value)
    return f"{float(value):,.2f}".replace(",", "\u202f")

def metric_label(metric: str) -> str:
    try:
        return get(metric).label
    except ValueError:
        return metric.replace("_", " ")

def scope_text(channels=(), segments=(), campaigns=()) -> str:
    parts = []
    if channels:
        parts.append("channel " + ", ".join(channels))
    if segments:
        parts.append("segment " + ", ".join(segments))
    if campaigns:
        parts.append("campaign " + ", ".join(campaigns))
    return "; ".join(parts) or "everyone"

def target_title(target: dict) -> str:
    name = (target.get("name") or "").strip()
    return name or f"{metric_label(target['metric'])} ({scope_text(target.get('channels') or (), target.get('segments') or (), target.get('campaigns') or ())})"

def target_goal_text(target: dict) -> str:
    sign = "≥" if target.get("direction", "at_least") == "at_least" else "≤"
    return f"{sign} {fmt_value(target['metric'], target['target_value'])}"

def target_row(target: dict, rep: TargetReport) -> dict:
    """One row of the targets table (plain values; the page formats the columns)."""
    return {
        "target_id": target["target_id"],
        "target": target_title(target),
        "status": rep.status,
        "metric": target["metric"],
        "scope": scope_text(target.get("channels") or (), target.get("segments") or (), target.get("campaigns") or ()),
        "current": fmt_value(target["metric"], rep.current),
        "goal": target_goal_text(target),
        "baseline": fmt_value(target["metric"], rep.baseline),
        "progress": None if rep.progress is None or pd.isna(rep.progress) else float(rep.progress),
        "expected": float(rep.expected_progress),
        "projected": fmt_value(target["metric"], rep.projected_at_due),
        "start": target["start_date"],
        "due": target["due_date"],
        "owner": target.get("owner") or "",
        "note": target.get("note") or "",
    }

def target_line(target: dict, rep: TargetReport) -> TargetLine:
    row = target_row(target, rep)
    return TargetLine(name=row["target"], metric=f"{metric_label(target['metric'])} · {row['scope']}",
                      status=rep.status, current=row["current"], target=row["goal"], progress=row["progress"],
                      expected=row["expected"], due=target["due_date"], owner=row["owner"], note=row["note"],
                      projected=row["projected"])

def trial_window(trial: dict) -> str:
    return f"{trial['start_date']:%d-%m-%Y} – {trial['end_date']:%d-%m-%Y}"

def trial_metric_label(name: str) -> str:
    try:
        return trial_label(name)
    except ValueError:
        return metric_label(name)

def trial_line(trial: dict, status: str, reading: str) -> TrialLine:
    return TrialLine(name=trial["name"], status=status, goal=trial_metric_label(trial["goal_metric"]),
                     window=trial_window(trial), reading=reading, decision=trial.get("decision") or "",
                     note=trial.get("decision_note") or "")

def days_left(due: date, today: date) -> str:
    days = (due - today).days
    return "due today" if days == 0 else (f"{days} days left" if days > 0 else f"{-days} days overdue")
