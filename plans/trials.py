"""Trials (METRICS.md, "Targets and trials"): did a change work? Before/after, treatment vs control.

A trial names a goal metric and guardrail metrics — registry metrics that declare their units
(``metrics.trial_metrics()``: the same definitions as the pages) — a treatment scope (channels,
segments, campaigns; empty = everyone), an optional control scope, a start and an end. For each
metric, window and scope the registry gives the sufficient statistics (n, sum, sum of squares)
of the per-unit values (``Computer.summary``); ``metrics.stats`` compares them.

**Windows.** during = [start, min(end, today, the data's last day)]; before = the same number of
days immediately before the start. (The data's last day caps the window: days after the last
import are not days without activity.)

**Designs.** ``before_after``: the treatment scope before vs during (a = before). ``treatment_control``
(when a control scope exists): during the trial, control vs treatment (a = control). Means are
compared with Welch's t-test, shares with the two-proportion z-test. In a before/after design
the same members appear in both windows; the tests treat the windows as independent samples,
which for positively correlated repeat measurements errs on the cautious side (wider intervals).

**Units.** Member metrics use the scope's community at the window's end (the page's definition:
non-employee CRM members of the scope's segments who joined by then and had not churned; without
members data everyone seen so far). Channel and campaign filters select which activity counts,
not who is in the base. Message metrics use the scope's answerable inbound messages in the
window; purchase metrics the scope's buyers or community (a purchase carries no social channel).

**Verdict.** better / worse (p < 0.05, in the metric's good or bad direction), no clear difference,
too little data. An alert is raised when the goal or a guardrail got worse, or the sample ratio
is off (p < 0.001) where a split was planned; the check uses the goal metric's units per group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from metrics import Computer, Filters, get, stats, trial_metrics
from metrics.participation import NEEDS_IN_REPLY_TO, two_way_status
from metrics.stats import Effect, Summary

# Trials saved before the trial metrics were registry metrics name these.
ALIASES: dict[str, str] = {"active_share": "participation_rate"}
TRIAL_METRICS: tuple[str, ...] = tuple(trial_metrics())


def metric_name(name: str) -> str:
    return ALIASES.get(name, name)


def label(name: str) -> str:
    return get(metric_name(name)).label


DESIGNS: tuple[str, ...] = ("before_after", "treatment_control")
# A before/after difference can be the season, a campaign or growth in the same weeks: on the
# Sample, a placebo "trial" in March (nothing changed) reads as significant now and then.
BEFORE_AFTER_CAVEAT = (
    "Before/after only: a season, a campaign or plain growth in the same weeks moves these numbers too, "
    "so a clear difference is not yet proof that the change caused it. A control scope (a channel or "
    "segment without the change, same weeks) rules that out.")
VERDICTS: tuple[str, ...] = ("better", "worse", "no clear difference", "too little data")
SCOPE_KEYS: tuple[str, ...] = ("channels", "segments", "campaigns")


@dataclass
class Comparison:
    metric: str
    label: str
    kind: str
    role: str  # "goal" | "guardrail"
    design: str  # "before_after" | "treatment_control"
    effect: Effect | None
    reading: str
    verdict: str  # "better" | "worse" | "no clear difference" | "too little data"
    n_a: int = 0  # units in group a (before / control), also when there is too little data
    n_b: int = 0  # units in group b (during / treatment)


@dataclass
class TrialAnalysis:
    trial_id: int
    windows: dict  # before_start, before_end, during_start, during_end (dates), days (int)
    comparisons: list[Comparison]
    srm: tuple[float, float, bool] | None
    summary: str
    alerts: list[str] = field(default_factory=list)
    caveat: str = ""  # set when a before/after reading could be the season rather than the change


# --------------------------------------------------------------------------------------------
# Sufficient statistics from the registry
# --------------------------------------------------------------------------------------------
def scope_filters(scope: dict | None, start: date, end: date) -> Filters:
    """The global filters of a scope over [start, end] (both inclusive)."""
    scope = scope or {}
    return Filters(start=start, end=end, **{k: tuple(scope.get(k) or ()) for k in SCOPE_KEYS})


def summarise(con: duckdb.DuckDBPyConnection, metric: str, scope: dict | None, start: date, end: date) -> Summary:
    """Sufficient statistics (n, sum, sum of squares) of the metric's per-unit values for the
    scope over [start, end]."""
    name = metric_name(metric)
    if name not in TRIAL_METRICS:
        raise ValueError(f"Unknown trial metric {metric!r}; choose one of {', '.join(TRIAL_METRICS)}.")
    return Computer(con).summary(name, scope_filters(scope, start, end))


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------
def _compare(a: Summary, b: Summary, kind: str) -> Effect | None:
    if kind == "proportion":
        return stats.two_proportions(round(a.sum), a.n, round(b.sum), b.n)
    return stats.welch(a, b)


def _comparison(con, name: str, role: str, design: str, group_a: tuple, group_b: tuple,
                two_way: bool) -> Comparison:
    """group_x = (scope, start, end)."""
    m = get(name)
    if m.unit_of_analysis == "message" and not two_way:
        return Comparison(m.name, m.label, m.kind, role, design, None, NEEDS_IN_REPLY_TO, "too little data")
    a, b = summarise(con, m.name, *group_a), summarise(con, m.name, *group_b)
    effect = _compare(a, b, m.kind)
    better = m.higher_is_better is not False
    return Comparison(m.name, m.label, m.kind, role, design, effect,
                      stats.reading(effect, m.label, higher_is_better=better, unit="h" if m.unit == "hours" else ""),
                      stats.verdict(effect, higher_is_better=better), a.n, b.n)


def windows(trial: dict, today: date, last_day: date | None) -> dict:
    """before_start, before_end, during_start, during_end (dates) and days (0: nothing to measure yet)."""
    start, end = trial["start_date"], trial["end_date"]
    during_end = min(end, today, last_day) if last_day else min(end, today)
    days = max(0, (during_end - start).days + 1)
    length = days or (end - start).days + 1  # not started: show the planned windows
    return {"before_start": start - timedelta(days=length), "before_end": start - timedelta(days=1),
            "during_start": start, "during_end": start + timedelta(days=length - 1), "days": days}


_DESIGN_WORDS = {"before_after": "before/after", "treatment_control": "treatment vs control"}


def analyse(con: duckdb.DuckDBPyConnection, trial: dict, *, today: date | None = None) -> TrialAnalysis:
    """Compare the goal and guardrail metrics before/after (treatment scope) and, with a control
    scope, treatment vs control during the trial; SRM check when a split was planned."""
    from plans.targets import data_end

    today = today or date.today()
    last_day = data_end(con)
    w = windows(trial, today, last_day)
    metrics = [(metric_name(trial["goal_metric"]), "goal")]
    metrics += [(metric_name(m), "guardrail") for m in trial.get("guardrail_metrics") or ()]
    for name, _role in metrics:
        if name not in TRIAL_METRICS:
            raise ValueError(f"Unknown trial metric {name!r}; choose one of {', '.join(TRIAL_METRICS)}.")
    treatment, control = trial.get("treatment") or {}, trial.get("control")
    if w["days"] == 0:
        if last_day is None:
            why = "No data in this workspace yet: load exports on the Data page."
        elif today < trial["start_date"]:
            why = f"The trial starts on {trial['start_date']:%Y-%m-%d}: nothing to measure yet."
        else:
            why = f"The data ends on {last_day:%Y-%m-%d}, before the trial started: load newer exports."
        return TrialAnalysis(trial.get("trial_id", 0), w, [], None, why, [])

    two_way = two_way_status(con)["available"]
    before = (treatment, w["before_start"], w["before_end"])
    during = (treatment, w["during_start"], w["during_end"])
    comparisons = [_comparison(con, m, role, "before_after", before, during, two_way) for m, role in metrics]
    srm = None
    if control is not None:
        ctrl = (control, w["during_start"], w["during_end"])
        tc = [_comparison(con, m, role, "treatment_control", ctrl, during, two_way) for m, role in metrics]
        comparisons += tc
        split = trial.get("planned_split")
        goal_tc = tc[0]
        if split is not None and (goal_tc.n_a or goal_tc.n_b):
            srm = stats.sample_ratio(goal_tc.n_a, goal_tc.n_b, float(split))

    alerts = []
    for c in comparisons:
        if c.verdict == "worse":
            kind = "Goal" if c.role == "goal" else "Guardrail"
            alerts.append(f"{kind} '{c.label}' got worse ({_DESIGN_WORDS[c.design]}): {c.reading}")
    if srm is not None and srm[2]:
        alerts.append(f"Sample ratio mismatch: the groups are not split as planned "
                      f"({stats.format_p(srm[1])}); treatment and control may not be comparable.")
    primary = "treatment_control" if control is not None else "before_after"
    goal = next(c for c in comparisons if c.role == "goal" and c.design == primary)
    summary = f"{_DESIGN_WORDS[primary].capitalize()}, {w['days']} days: {goal.reading}."
    guards = [c for c in comparisons if c.role == "guardrail" and c.design == primary]
    if guards:
        hurt = [c.label for c in guards if c.verdict == "worse"]
        summary += (f" Guardrails hurt: {', '.join(hurt)}." if hurt else " No guardrail got worse.")
    caveat = BEFORE_AFTER_CAVEAT if primary == "before_after" and goal.verdict in ("better", "worse") else ""
    return TrialAnalysis(trial.get("trial_id", 0), w, comparisons, srm, summary, alerts, caveat)
