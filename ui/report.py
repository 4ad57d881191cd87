"""The Overview's headline numbers and its one-page report for management.

Plain data in, plain data out: no Streamlit session is needed, so everything here is tested
directly (tests/test_report.py). The Overview page builds ``Headline`` tiles from metric frames
with ``headline()``; ``build_report()`` turns the same tiles, the target and trial rows, the
alerts and chart images into one self-contained HTML file (inline CSS, images as data URIs, no
scripts, nothing fetched). Every piece of user text is HTML-escaped.

Chart images are rendered offline by vl-convert (``chart_png``); the headline trend lines are
small SVGs drawn here (``sparkline_svg``), so the report has pictures even without vl-convert.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import altair as alt
import pandas as pd

from views.tiles import (  # noqa: F401  (re-exported: the report's inputs are the views' tiles)
    Headline,
    TargetLine,
    TrialLine,
    fmt_hours,
    fmt_int,
    fmt_pct,
    fmt_pp,
    fmt_signed_hours,
    fmt_signed_int,
    headline,
)

GOOD, BAD, NEUTRAL = "#2e9e5b", "#d1495b", "#6b7280"
STATUS_COLORS = {
    "achieved": "#1b7f3b", "on track": "#2e9e5b", "at risk": "#d98e04", "off track": "#d1495b",
    "no data": "#6b7280", "planned": "#6b7280", "running": "#3b75af", "ended": "#d98e04", "decided": "#1b7f3b",
    "better": "#2e9e5b", "worse": "#d1495b", "no clear difference": "#6b7280", "too little data": "#6b7280",
    "won": "#1b7f3b", "lost": "#d1495b", "inconclusive": "#6b7280",
}


# ---------------------------------------------------------------------------------------------
# Pictures: a hand-drawn SVG sparkline and vl-convert chart images
# ---------------------------------------------------------------------------------------------
def sparkline_svg(values: Sequence[float], color: str = "#3b75af", width: int = 140, height: int = 36, *,
                  title: str = "trend", fluid: bool = False) -> str:
    """A tiny line chart of ``values`` as inline SVG (empty string for fewer than two values);
    ``fluid``: as wide as its container, the proportions kept; ``title``: its hover text."""
    vals = [float(v) for v in values if v is not None and not pd.isna(v)]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    pad = 3
    step = (width - 2 * pad) / (len(vals) - 1)
    points = [(pad + i * step, height - pad - (v - lo) / span * (height - 2 * pad)) for i, v in enumerate(vals)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    x_end, y_end = points[-1]
    size = 'width="100%" style="height:auto;display:block"' if fluid else f'width="{width}" height="{height}"'
    return (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" {size} '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}"><title>{_e(title)}</title>'
            f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{path}"/>'
            f'<circle cx="{x_end:.1f}" cy="{y_end:.1f}" r="2.5" fill="{color}"/></svg>')


def chart_png(chart: alt.TopLevelMixin, scale: float = 1.5) -> str | None:
    """The chart as a PNG data URI, rendered offline by vl-convert; None when it cannot be drawn."""
    try:
        buf = io.BytesIO()
        chart.save(buf, format="png", scale_factor=scale)
    except Exception:  # vl-convert missing or a spec it cannot render: the report says so instead
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    workspace: str
    scope: str  # the filters and grain in words
    headlines: Sequence[Headline]
    targets: Sequence[TargetLine] = ()
    trials: Sequence[TrialLine] = ()
    alerts: Sequence[str] = ()
    charts: Sequence[tuple[str, str | None]] = field(default_factory=tuple)  # (title, PNG data URI)
    period_note: str = ""
    generated_at: datetime | None = None
    title: str = "Social CRM overview"


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:.0f} %"


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, NEUTRAL)
    return f'<span class="badge" style="background:{color}">{_e(status)}</span>'


def _img(uri: str | None, alt_text: str) -> str:
    if not uri or not uri.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")):
        return '<p class="muted">(chart image not available: install vl-convert-python to include charts)</p>'
    return f'<img src="{uri}" alt="{_e(alt_text)}">'


def _progress_bar(progress: float | None, expected: float | None) -> str:
    if progress is None or pd.isna(progress):
        return '<span class="muted">–</span>'
    width = max(0.0, min(1.0, float(progress))) * 100
    marker = "" if expected is None or pd.isna(expected) else (
        f'<span class="expected" style="left:{max(0.0, min(1.0, float(expected))) * 100:.0f}%"></span>')
    return (f'<span class="bar"><span class="fill" style="width:{width:.0f}%"></span>{marker}</span> '
            f'{_pct(progress)} <span class="muted">of {_pct(expected)} expected</span>')


def _headline_card(h: Headline) -> str:
    color = NEUTRAL if h.good is None else (GOOD if h.good else BAD)
    delta = f'<div class="delta" style="color:{color}">{_e(h.delta_text)}</div>' if h.delta_text else ""
    period = f'<div class="muted">{_e(h.period)}</div>' if h.period else ""
    return (f'<div class="card"><div class="label">{_e(h.label)}</div><div class="value">{_e(h.text)}</div>'
            f'{delta}{sparkline_svg(h.trend, color if h.good is not None else "#3b75af")}{period}</div>')


def _targets_table(targets: Sequence[TargetLine]) -> str:
    if not targets:
        return '<p class="muted">No open targets.</p>'
    rows = "".join(
        f"<tr><td><b>{_e(t.name)}</b><div class='muted'>{_e(t.metric)}</div>"
        + (f"<div class='note'>{_e(t.note)}</div>" if t.note else "")
        + f"</td><td>{_badge(t.status)}</td><td class='num'>{_e(t.current)}</td><td class='num'>{_e(t.target)}</td>"
        f"<td class='progress'>{_progress_bar(t.progress, t.expected)}</td><td class='num'>{_e(t.projected)}</td>"
        f"<td>{_e(t.due.strftime('%d-%m-%Y') if t.due else '–')}</td><td>{_e(t.owner)}</td></tr>"
        for t in targets)
    return ("<table><thead><tr><th>target</th><th>status</th><th>now</th><th>target</th><th>progress</th>"
            f"<th>projected at due date</th><th>due</th><th>owner</th></tr></thead><tbody>{rows}</tbody></table>")


def _trials_table(trials: Sequence[TrialLine]) -> str:
    if not trials:
        return '<p class="muted">No trials running or waiting for a decision.</p>'
    rows = "".join(
        f"<tr><td><b>{_e(t.name)}</b><div class='muted'>goal: {_e(t.goal)}</div></td><td>{_badge(t.status)}</td>"
        f"<td>{_e(t.window)}</td><td>{_e(t.reading)}</td>"
        f"<td>{_e(t.decision)}" + (f"<div class='note'>{_e(t.note)}</div>" if t.note else "") + "</td></tr>"
        for t in trials)
    return ("<table><thead><tr><th>trial</th><th>status</th><th>window</th><th>reading</th><th>decision</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 1000px; margin: 0 auto; padding: 16px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 2px; } h2 { font-size: 16px; margin: 18px 0 6px; border-bottom: 1px solid #ddd; }
.muted { color: #6b7280; font-size: 11px; } .note { color: #444; font-style: italic; font-size: 11px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 8px 10px; }
.label { font-size: 12px; color: #444; } .value { font-size: 22px; font-weight: 600; } .delta { font-size: 12px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 6px; vertical-align: top;
  border-bottom: 1px solid #eee; } th { font-size: 11px; color: #555; } td.num { text-align: right; white-space: nowrap; }
td.progress { white-space: nowrap; }
.badge { color: white; border-radius: 10px; padding: 1px 8px; font-size: 11px; white-space: nowrap; }
.bar { display: inline-block; position: relative; width: 90px; height: 8px; background: #eee; border-radius: 4px;
       vertical-align: middle; } .fill { position: absolute; left: 0; top: 0; bottom: 0; background: #3b75af;
       border-radius: 4px; } .expected { position: absolute; top: -3px; width: 2px; height: 14px; background: #111; }
ul.alerts li { margin: 2px 0; } .charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 10px; }
.charts figure { margin: 0; } .charts img { width: 100%; } figcaption { font-size: 12px; font-weight: 600; }
"""


def build_report(report: Report) -> str:
    """The one-page HTML report: self-contained (inline CSS, images as data URIs, no scripts)."""
    when = (report.generated_at or datetime.now()).strftime("%d-%m-%Y %H:%M")
    alerts = ("<ul class='alerts'>" + "".join(f"<li>{_e(a)}</li>" for a in report.alerts) + "</ul>"
              if report.alerts else '<p class="muted">Nothing needs attention.</p>')
    charts = "".join(f"<figure><figcaption>{_e(title)}</figcaption>{_img(uri, title)}</figure>"
                     for title, uri in report.charts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(report.title)} – {_e(report.workspace)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>{_e(report.title)}: {_e(report.workspace)}</h1>
<div class="muted">{_e(report.scope)} · made {_e(when)}</div>
<h2>The numbers that matter</h2>
{f'<p class="muted">{_e(report.period_note)}</p>' if report.period_note else ''}
<div class="cards">{''.join(_headline_card(h) for h in report.headlines)}</div>
<h2>Needs attention</h2>
{alerts}
<h2>Targets</h2>
{_targets_table(report.targets)}
<h2>Trials</h2>
{_trials_table(report.trials)}
{f'<h2>Charts</h2><div class="charts">{charts}</div>' if charts else ''}
</body></html>
"""


def report_file_name(workspace: str, today: date) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in workspace).strip("-") or "workspace"
    return f"overview-{safe}-{today.isoformat()}.html"


__all__ = ["Headline", "Report", "TargetLine", "TrialLine", "build_report", "chart_png", "fmt_hours", "fmt_int",
           "fmt_pct", "fmt_pp", "fmt_signed_hours", "fmt_signed_int", "headline", "report_file_name",
           "sparkline_svg"]
