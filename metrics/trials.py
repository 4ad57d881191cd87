"""Trials (METRICS.md, "Targets and trials"): did a change work? Before/after, treatment vs control.

A trial names a goal metric and guardrail metrics from ``TRIAL_METRICS``, a treatment scope
(channels, segments, campaigns; empty = everyone), an optional control scope, a start and an end.
For each metric SQL returns sufficient statistics (n, sum, sum of squares of the per-unit values:
one query per metric, window and scope); ``metrics.stats`` compares them.

**Windows.** during = [start, min(end, today, the data's last day)]; before = the same number of
days immediately before the start. (The data's last day caps the window: days after the last
import are not days without activity.)

**Designs.** ``before_after``: the treatment scope before vs during (a = before). ``treatment_control``
(when a control scope exists): during the trial, control vs treatment (a = control). Means are
compared with Welch's t-test, shares with the two-proportion z-test. In a before/after design
the same members appear in both windows; the tests treat the windows as independent samples,
which for positively correlated repeat measurements errs on the cautious side (wider intervals).

**Units.** Member metrics use the scope's **member base** for the window: non-employee CRM members
of the scope's segments who belonged to the community at some day of the window (joined_at, else
their first activity, on or before the window's last day; not churned by then). Without members
data: everyone with activity up to the window's last day. Channel and campaign filters select which
activity counts, not who is in the base. Handles not in the CRM are outside the base. Message
metrics (two-way) use the scope's answerable inbound messages in the window; purchases follow the
scope's segments only (a purchase carries no social channel or campaign).

**Verdict.** better / worse (p < 0.05, in the metric's good or bad direction), no clear difference,
too little data. An alert is raised when the goal or a guardrail got worse, or the sample ratio
is off (p < 0.001) where a split was planned; the check uses the goal metric's units per group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from metrics import stats
from metrics.filters import Filters, activity_cte
from metrics.participation import NEEDS_IN_REPLY_TO, NOT_ANSWERABLE, two_way_status
from metrics.stats import Effect, Summary


@dataclass(frozen=True)
class TrialMetric:
    name: str
    label: str
    kind: str  # "mean" | "proportion"
    unit: str
    higher_is_better: bool
    description: str
    unit_of_analysis: str = "member"  # "member" | "message" | "buyer"
    needs_in_reply_to: bool = False


TRIAL_METRICS: dict[str, TrialMetric] = {m.name: m for m in (
    TrialMetric("interactions_per_member", "interactions per member", "mean", "interactions", True,
                "Activity (inbound interactions by known, non-employee members, in the scope's channels and "
                "campaigns) in the window per member of the scope's member base; members without activity count as 0."),
    TrialMetric("active_share", "active members", "proportion", "share", True,
                "Share of the scope's member base with at least one activity in the window (the participation "
                "rate of the window)."),
    TrialMetric("response_within_1h", "replies within 1 h", "proportion", "share", True,
                "Share of the scope's answerable inbound messages (all actions except like, share, view, follow) "
                "in the window whose first outbound reply came within 1 hour; unanswered ones count as not "
                "within. Unit: the message. Needs in_reply_to.",
                unit_of_analysis="message", needs_in_reply_to=True),
    TrialMetric("first_response_hours", "first response time", "mean", "h", False,
                "Mean hours from an answered inbound message in the window to its first outbound reply (a reply "
                "stamped before its message counts as 0). Unit: the answered message. Needs in_reply_to.",
                unit_of_analysis="message", needs_in_reply_to=True),
    TrialMetric("repeat_purchase", "repeat buyers", "proportion", "share", True,
                "Of the scope's members who bought in the window (non-refund purchase days, same-day lines "
                "merged), the share who bought on 2 or more days in it.", unit_of_analysis="buyer"),
    TrialMetric("revenue_per_member", "revenue per member", "mean", "currency", True,
                "Net revenue (refunds included) in the window per member of the scope's member base; members "
                "without purchases count as 0."),
)}

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
# SQL: sufficient statistics per metric, scope and window
# --------------------------------------------------------------------------------------------
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")

_FIRST_ACTIVITY = """(SELECT member_id, min(occurred_at)::DATE AS first_day FROM interactions
                      WHERE direction = 'inbound' AND member_id IS NOT NULL GROUP BY 1)"""

_BASE_CRM = f"""base AS (
    SELECT m.member_id FROM members_current m LEFT JOIN {_FIRST_ACTIVITY} fa USING (member_id)
    WHERE NOT coalesce(m.is_employee, FALSE)
      AND (len($f_segments) = 0 OR list_contains($f_segments, m.segment))
      AND coalesce(m.joined_at::DATE, fa.first_day, DATE '0001-01-01') < $f_end_excl
      AND (m.churned_at IS NULL
           OR m.churned_at::DATE > greatest($f_start, coalesce(m.joined_at::DATE, fa.first_day, $f_start))))"""

_BASE_SEEN = f"""base AS (
    SELECT member_id FROM {_FIRST_ACTIVITY} fa
    WHERE first_day < $f_end_excl AND len($f_segments) = 0)"""

_TX = """tx AS (
    SELECT t.member_id, t.occurred_at::DATE AS day, t.amount::DOUBLE AS amount,
           coalesce(t.is_refund, FALSE) OR coalesce(t.amount, 0) < 0 AS refund
    FROM transactions t
    WHERE t.occurred_at >= $f_start AND t.occurred_at < $f_end_excl
      AND t.member_id IN (SELECT member_id FROM base))"""

_RESP = """ans AS (
    SELECT interaction_id, occurred_at FROM activity
    WHERE interaction_id IS NOT NULL AND NOT list_contains($not_answerable, coalesce(action, 'interaction'))),
fr AS (
    SELECT in_reply_to AS interaction_id, min(occurred_at) AS replied_at FROM interactions
    WHERE direction = 'outbound' AND in_reply_to IN (SELECT interaction_id FROM ans) GROUP BY 1),
resp AS (
    SELECT CASE WHEN f.replied_at IS NOT NULL
                THEN greatest(date_diff('second', a.occurred_at, f.replied_at), 0) END AS seconds
    FROM ans a LEFT JOIN fr f USING (interaction_id))"""

# Per metric: the CTEs it needs after `activity` (and `base`) and the per-unit values `per(v)`.
_PER: dict[str, str] = {
    "interactions_per_member": """per AS (
        SELECT b.member_id, count(a.member_id) AS v FROM base b LEFT JOIN activity a USING (member_id) GROUP BY 1)""",
    "active_share": """per AS (
        SELECT b.member_id, (count(a.member_id) > 0)::INTEGER AS v
        FROM base b LEFT JOIN activity a USING (member_id) GROUP BY 1)""",
    "response_within_1h": f"""{_RESP},
        per AS (SELECT (seconds IS NOT NULL AND seconds <= 3600)::INTEGER AS v FROM resp)""",
    "first_response_hours": f"""{_RESP},
        per AS (SELECT seconds / 3600.0 AS v FROM resp WHERE seconds IS NOT NULL)""",
    "repeat_purchase": f"""{_TX},
        per AS (SELECT member_id, (count(DISTINCT day) >= 2)::INTEGER AS v FROM tx WHERE NOT refund GROUP BY 1)""",
    "revenue_per_member": f"""{_TX},
        per AS (SELECT b.member_id, coalesce(sum(tx.amount), 0) AS v FROM base b LEFT JOIN tx USING (member_id)
                GROUP BY 1)""",
}


def _has_members(cur: duckdb.DuckDBPyConnection) -> bool:
    return bool(cur.execute("SELECT EXISTS (SELECT 1 FROM members)").fetchall()[0][0])


def scope_filters(scope: dict | None, start: date, end: date) -> Filters:
    """The global filters of a scope over [start, end] (both inclusive)."""
    scope = scope or {}
    return Filters(start=start, end=end, **{k: tuple(scope.get(k) or ()) for k in SCOPE_KEYS})


def summarise(con: duckdb.DuckDBPyConnection, metric: str, scope: dict | None, start: date, end: date) -> Summary:
    """Sufficient statistics (n, sum, sum of squares) of the metric's per-unit values for the
    scope over [start, end]. One query."""
    if metric not in TRIAL_METRICS:
        raise ValueError(f"Unknown trial metric {metric!r}; choose one of {', '.join(TRIAL_METRICS)}.")
    cur = con.cursor()
    try:
        base = _BASE_CRM if _has_members(cur) else _BASE_SEEN
        sql = f"""WITH {activity_cte()}, {base}, {_PER[metric]}
                  SELECT count(*), coalesce(sum(v), 0)::DOUBLE, coalesce(sum(v * v), 0)::DOUBLE FROM per"""
        params = {**scope_filters(scope, start, end).params(), "not_answerable": list(NOT_ANSWERABLE)}
        names = set(_PARAM.findall(sql))
        n, s, ss = cur.execute(sql, {k: v for k, v in params.items() if k in names}).fetchall()[0]
    finally:
        cur.close()
    return Summary(int(n), float(s), float(ss))


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------
def _compare(a: Summary, b: Summary, tm: TrialMetric) -> Effect | None:
    if tm.kind == "proportion":
        return stats.two_proportions(round(a.sum), a.n, round(b.sum), b.n)
    return stats.welch(a, b)


def _comparison(con, tm: TrialMetric, role: str, design: str, group_a: tuple, group_b: tuple,
                two_way: bool) -> Comparison:
    """group_x = (scope, start, end)."""
    if tm.needs_in_reply_to and not two_way:
        return Comparison(tm.name, tm.label, tm.kind, role, design, None, NEEDS_IN_REPLY_TO, "too little data")
    a, b = summarise(con, tm.name, *group_a), summarise(con, tm.name, *group_b)
    effect = _compare(a, b, tm)
    return Comparison(tm.name, tm.label, tm.kind, role, design, effect,
                      stats.reading(effect, tm.label, higher_is_better=tm.higher_is_better,
                                    unit="h" if tm.unit == "h" else ""),
                      stats.verdict(effect, higher_is_better=tm.higher_is_better), a.n, b.n)


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
    from metrics.targets import data_end

    today = today or date.today()
    last_day = data_end(con.cursor())
    w = windows(trial, today, last_day)
    metrics = [(trial["goal_metric"], "goal")] + [(m, "guardrail") for m in trial.get("guardrail_metrics") or ()]
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

    two_way = two_way_status(con.cursor())["available"]
    before = (treatment, w["before_start"], w["before_end"])
    during = (treatment, w["during_start"], w["during_end"])
    comparisons = [_comparison(con, TRIAL_METRICS[m], role, "before_after", before, during, two_way)
                   for m, role in metrics]
    srm = None
    if control is not None:
        ctrl = (control, w["during_start"], w["during_end"])
        tc = [_comparison(con, TRIAL_METRICS[m], role, "treatment_control", ctrl, during, two_way)
              for m, role in metrics]
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
