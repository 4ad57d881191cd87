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

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

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


READOUTS: tuple[str, ...] = ("planned", "running", "won", "lost", "inconclusive")
POWER = 0.8  # the planner's and the detectable effect's chance to find a real effect


@dataclass
class Comparison:
    """One metric in one design. ``effect`` is the readout the verdict uses: the always-valid
    (``sequential``) test while the trial is read before its planned end, the fixed-horizon test
    (``fixed``) from then on. ``fixed`` and ``unadjusted`` differ only with CUPED: ``unadjusted`` is
    Welch's t-test / the two-proportion z-test on the plain values."""

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
    method: str = "fixed"  # "sequential" | "fixed": which test ``effect`` is
    fixed: Effect | None = None
    sequential: Effect | None = None
    unadjusted: Effect | None = None
    bayes: stats.Bayes | None = None  # on the relative effect when the baseline is not 0
    variance_reduction: float | None = None  # CUPED: the share of the variance the pre-period removed
    theta: float | None = None
    mde: float | None = None  # the relative effect a fixed test at the planned end finds with 80 % power


@dataclass
class TrialAnalysis:
    trial_id: int
    windows: dict  # before_start, before_end, during_start, during_end (dates), days, planned_days (int)
    comparisons: list[Comparison]
    srm: tuple[float, float, bool] | None
    summary: str
    alerts: list[str] = field(default_factory=list)
    caveat: str = ""  # set when a before/after reading could be the season rather than the change
    readout: str = "running"  # see READOUTS
    method: str = "fixed"  # the goal's test: "sequential" before the planned end, else "fixed"


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


def paired(con: duckdb.DuckDBPyConnection, metric: str, scope: dict | None, window: tuple[date, date],
           pre: tuple[date, date]) -> stats.Paired | None:
    """The scope's units in ``window`` with each one's value of the metric in ``pre`` (0 for a unit
    without one there): what CUPED adjusts with. None for units that are not people (messages)."""
    c = Computer(con)
    name = metric_name(metric)
    post = c.unit_values(name, scope_filters(scope, *window))
    if "mk" not in post:
        return None
    before = c.unit_values(name, scope_filters(scope, *pre))
    x = pd.Series(before["v"], index=before["mk"]).reindex(post["mk"]).fillna(0.0).to_numpy()
    y = post["v"]
    return stats.Paired(stats.Summary.of(y), stats.Summary.of(x), math.fsum(y * x))


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------
def _fixed(a: Summary, b: Summary, kind: str) -> Effect | None:
    if kind == "proportion":
        return stats.two_proportions(round(a.sum), a.n, round(b.sum), b.n)
    return stats.welch(a, b)


def _effect(m: stats.Moments, interval: stats.Interval, test: str) -> Effect:
    rel = m.estimate / abs(m.mean_a) if m.mean_a else None
    return Effect(test, m.n_a, m.n_b, m.mean_a, m.mean_b, m.estimate, rel, interval.low, interval.high,
                  interval.p_value, m.df)


def sequential_tuning(n: int, days: int, planned_days: int) -> float:
    """The units the always-valid interval is tuned for: the units so far, projected to the planned
    length (member bases hardly grow, message counts do), at least 100."""
    return max(100.0, n * max(planned_days, days) / max(days, 1))


def readout(a: Summary, b: Summary, kind: str, *, higher_is_better: bool, read_early: bool, days: int,
            planned_days: int, pairs: tuple[stats.Paired, stats.Paired] | None = None) -> dict:
    """Every test of b against a: the fixed-horizon one (with CUPED when ``pairs`` are given),
    the always-valid one, the Bayesian one, the plain one, the detectable effect; ``effect`` is
    the sequential test when ``read_early`` (before the planned end), else the fixed one."""
    unadjusted = _fixed(a, b, kind)
    if pairs is not None:
        m_abs = stats.cuped(*pairs, kind=kind)
        m_rel = stats.cuped(*pairs, kind=kind, relative=True)
        fixed = None if m_abs is None else _effect(m_abs, stats.t_test(m_abs), "cuped")
    else:
        m_abs = stats.moments(a, b, kind=kind)
        m_rel = stats.moments(a, b, kind=kind, relative=True)
        fixed = unadjusted
    out = {"fixed": fixed, "unadjusted": unadjusted, "mde": stats.mde(a, b, kind=kind, power=POWER)}
    if m_abs is None:
        return out | {"effect": None, "method": "sequential" if read_early else "fixed"}
    tuning = sequential_tuning(m_abs.n, days, planned_days)
    seq = _effect(m_abs, stats.sequential(m_abs, tuning=tuning), "sequential")
    bayes = stats.bayesian(m_rel or m_abs, higher_is_better=higher_is_better)
    if m_abs.variance_reduction is not None and out["mde"] is not None:  # CUPED narrows what can be seen
        out["mde"] *= math.sqrt(1 - min(max(m_abs.variance_reduction, 0.0), 1.0))
    return out | {"sequential": seq, "bayes": bayes, "effect": seq if read_early else fixed,
                  "method": "sequential" if read_early else "fixed",
                  "variance_reduction": m_abs.variance_reduction, "theta": m_abs.theta}


def _comparison(con, name: str, role: str, design: str, group_a: tuple, group_b: tuple, two_way: bool,
                w: dict, pre: tuple[date, date] | None = None) -> Comparison:
    """group_x = (scope, start, end); ``pre``: the pre-period for CUPED (treatment vs control)."""
    m = get(name)
    if m.unit_of_analysis == "message" and not two_way:
        return Comparison(m.name, m.label, m.kind, role, design, None, NEEDS_IN_REPLY_TO, "too little data")
    pairs = None
    if pre is not None:
        pa, pb = (paired(con, m.name, g[0], (g[1], g[2]), pre) for g in (group_a, group_b))
        pairs = (pa, pb) if pa is not None and pb is not None else None
    if pairs is not None:
        a, b = pairs[0].post, pairs[1].post
    else:
        a, b = summarise(con, m.name, *group_a), summarise(con, m.name, *group_b)
    better = m.higher_is_better is not False
    r = readout(a, b, m.kind, higher_is_better=better, read_early=w["during_end"] < w["end"],
                days=w["days"], planned_days=w["planned_days"], pairs=pairs)
    effect = r.pop("effect")
    return Comparison(m.name, m.label, m.kind, role, design, effect,
                      stats.reading(effect, m.label, higher_is_better=better, unit="h" if m.unit == "hours" else ""),
                      stats.verdict(effect, higher_is_better=better), a.n, b.n, **r)


def windows(trial: dict, today: date, last_day: date | None) -> dict:
    """before_start, before_end, during_start, during_end (dates), days (0: nothing to measure yet),
    the planned ``end`` and ``planned_days``."""
    start, end = trial["start_date"], trial["end_date"]
    during_end = min(end, today, last_day) if last_day else min(end, today)
    days = max(0, (during_end - start).days + 1)
    planned = (end - start).days + 1
    length = days or planned  # not started: show the planned windows
    return {"before_start": start - timedelta(days=length), "before_end": start - timedelta(days=1),
            "during_start": start, "during_end": start + timedelta(days=length - 1), "days": days,
            "end": end, "planned_days": planned}


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
        early = "planned" if today < trial["start_date"] else ("running" if today <= trial["end_date"] else "inconclusive")
        return TrialAnalysis(trial.get("trial_id", 0), w, [], None, why, [], readout=early)

    two_way = two_way_status(con)["available"]
    before = (treatment, w["before_start"], w["before_end"])
    during = (treatment, w["during_start"], w["during_end"])
    comparisons = [_comparison(con, m, role, "before_after", before, during, two_way, w) for m, role in metrics]
    srm = None
    if control is not None:
        ctrl = (control, w["during_start"], w["during_end"])
        pre = (w["before_start"], w["before_end"])
        tc = [_comparison(con, m, role, "treatment_control", ctrl, during, two_way, w, pre) for m, role in metrics]
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
    early = goal.method == "sequential"
    days = f"{w['days']} of {w['planned_days']} days" if early else f"{w['days']} days"
    test = " (always-valid test: safe to read every day)" if early else ""
    summary = f"{_DESIGN_WORDS[primary].capitalize()}, {days}{test}: {goal.reading}."
    if goal.bayes is not None:
        summary += f" Chance that the {'treatment' if control is not None else 'change'} is better: " \
                   f"{chance_text(goal.bayes.chance_to_win)}."
    guards = [c for c in comparisons if c.role == "guardrail" and c.design == primary]
    if guards:
        hurt = [c.label for c in guards if c.verdict == "worse"]
        summary += (f" Guardrails hurt: {', '.join(hurt)}." if hurt else " No guardrail got worse.")
    caveat = BEFORE_AFTER_CAVEAT if primary == "before_after" and goal.verdict in ("better", "worse") else ""
    result = {"better": "won", "worse": "lost"}.get(goal.verdict, "running" if early else "inconclusive")
    return TrialAnalysis(trial.get("trial_id", 0), w, comparisons, srm, summary, alerts, caveat, result, goal.method)


def chance_text(p: float) -> str:
    """'92 %', '> 99 %', '< 1 %': a chance in words that never claims certainty."""
    return "> 99 %" if p > 0.99 else ("< 1 %" if p < 0.01 else f"{100 * p:.0f} %")


def detectable(result: TrialAnalysis) -> str:
    """The goal's detectable effect in words ("With 412 members in the treatment and 398 in the
    control, a fixed test finds a change of ±12 % in participation rate 80 times out of 100; ..."),
    with CUPED's variance reduction taken into account."""
    primary = "treatment_control" if any(c.design == "treatment_control" for c in result.comparisons) \
        else "before_after"
    goal = next((c for c in result.comparisons if c.role == "goal" and c.design == primary), None)
    if goal is None or goal.mde is None:
        return ""
    units = get(goal.metric).unit_of_analysis + "s"
    groups = (f"{goal.n_b:,} {units} in the treatment and {goal.n_a:,} in the control" if primary == "treatment_control"
              else f"{goal.n_b:,} {units} during and {goal.n_a:,} before")
    return (f"With {groups}, a fixed test finds a change of ±{100 * goal.mde:.0f} % in {goal.label} "
            f"{100 * POWER:.0f} times out of 100; smaller changes may go unseen.")


# --------------------------------------------------------------------------------------------
# Planning: what a trial of this size can detect
# --------------------------------------------------------------------------------------------
PLAN_WEEKS: tuple[int, ...] = (1, 2, 3, 4, 6, 8)


@dataclass(frozen=True)
class Plan:
    table: pd.DataFrame  # days, weeks, n_treatment, n_control, baseline, mde (relative, fraction)
    sentence: str
    design: str


def plan(con: duckdb.DuckDBPyConnection, goal: str, treatment: dict | None, control: dict | None, days: int,
         *, power: float = POWER) -> Plan:
    """What a trial on ``goal`` can detect, from the latest data: for durations of 1–8 weeks and the
    planned ``days``, the units each group would have and their spread in the most recent window
    of that length (with no control: the same length just before it), and the minimum detectable
    relative effect at ``power`` (fixed test at the planned end, 5 % significance)."""
    from plans.targets import data_end

    name = metric_name(goal)
    m = get(name)
    last = data_end(con)
    design = "treatment_control" if control else "before_after"
    cols = ["days", "weeks", "n_treatment", "n_control", "baseline", "mde"]
    if last is None:
        return Plan(pd.DataFrame(columns=cols), "No data yet: load exports on the Data page to plan a trial.", design)
    lengths = sorted({7 * w for w in PLAN_WEEKS} | {max(1, int(days))})
    rows = []
    for d in lengths:
        start = last - timedelta(days=d - 1)
        b = summarise(con, name, treatment, start, last)
        a = summarise(con, name, control, start, last) if control else \
            summarise(con, name, treatment, start - timedelta(days=d), start - timedelta(days=1))
        rows.append({"days": d, "weeks": round(d / 7, 1), "n_treatment": b.n, "n_control": a.n,
                     "baseline": a.mean, "mde": stats.mde(a, b, kind=m.kind, power=power)})
    table = pd.DataFrame(rows, columns=cols)
    row = table[table["days"] == max(1, int(days))].iloc[0]
    units = m.unit_of_analysis + "s"
    if pd.isna(row["mde"]):
        sentence = (f"Too few {units} or no spread in {m.label} in the last {int(row['days'])} days to say what "
                    "a trial this long can detect.")
    else:
        side = (f"{int(row['n_treatment']):,} {units} in the treatment and {int(row['n_control']):,} in the control"
                if control else f"{int(row['n_treatment']):,} {units} (compared with the same days before)")
        sentence = (f"With about {side}, a {int(row['days'])}-day trial can detect a change of "
                    f"±{100 * row['mde']:.0f} % in {m.label} ({100 * power:.0f} % power, 5 % significance).")
    return Plan(table, sentence, design)
