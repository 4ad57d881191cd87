"""What needs attention: the alert rules of the Overview (and the report), on targets and trials.

* a target **at risk** or **off track**, and whether it slipped there since a week ago;
* a trial whose goal or a guardrail got worse, or whose groups are not split as planned (the
  trial analysis raises those, ``plans.trials``);
* a trial that ended and waits for a decision (keep, iterate or stop).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from plans.targets import TargetReport

BAD_STATES = ("off track", "at risk")
RANK = {"achieved": 0, "on track": 1, "no data": 2, "at risk": 3, "off track": 4}


def target_alert(title: str, rep: TargetReport, before: TargetReport | None, *, current: str, baseline: str,
                 due_in: str) -> str | None:
    """The alert for a target (None when it is fine). ``before``: its report as of a week ago."""
    if rep.status not in BAD_STATES:
        return None
    slipped = before is not None and RANK.get(before.status, 0) < RANK[rep.status]
    how = f"slipped from {before.status} to {rep.status}" if slipped else f"is {rep.status}"
    if rep.progress is None or pd.isna(rep.progress):  # the baseline met the target, now it is missed
        where = f"now {current} misses the target the baseline ({baseline}) already met"
    else:
        where = f"{100 * rep.progress:.0f} % of the way with {100 * rep.expected_progress:.0f} % of the time gone"
    return f"Target '{title}' {how}: {where} ({due_in})."


def trial_alerts(name: str, status: str, analysis_alerts: list[str], end: date) -> list[str]:
    out = [f"Trial '{name}': {text}" for text in analysis_alerts]
    if status == "ended":
        out.append(f"Trial '{name}' ended on {end:%d-%m-%Y} and waits for a decision (keep, iterate or stop).")
    return out
