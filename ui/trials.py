"""Trials on the Targets & trials page: the overview of every trial, the table of one trial's
comparisons, what its numbers mean in plain words, and the planner's answer. The numbers come from
``plans.trials`` (``analyse``, ``plan``); this module only lays them out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import get
from plans.trials import READOUTS, Plan, TrialAnalysis
from ui.plans_forms import scope_text, trial_metric_label, trial_window

DESIGN_WORDS = {"before_after": "before / after", "treatment_control": "treatment vs control"}
TEST_WORDS = {"sequential": "always-valid", "welch": "fixed (Welch)", "two_proportions": "fixed (z-test)",
              "cuped": "fixed, CUPED"}
READOUT_HELP = ("won / lost: the goal got clearly better / worse (for a running trial by the always-valid test, so "
                "stopping early is safe); running: not clear yet and some planned days are still to come (or not "
                "yet in the data); inconclusive: ended without a clear difference; planned: not started.")


def _pct(value, decimals: int = 1, signed: bool = True) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * value:{'+' if signed else ''}.{decimals}f} %"


def _goal(result: TrialAnalysis | None):
    if result is None or not result.comparisons:
        return None
    primary = "treatment_control" if any(c.design == "treatment_control" for c in result.comparisons) \
        else "before_after"
    return next(c for c in result.comparisons if c.role == "goal" and c.design == primary)


def overview_frame(trials: dict, status: dict, analyses: dict) -> pd.DataFrame:
    """One row per trial: status, readout, goal and its reading, the chance that the change is
    better, guardrails, decision, window, scopes and owner."""
    rows = []
    for i, tr in trials.items():
        result = analyses.get(i)
        goal = _goal(result)
        guards = [c for c in (result.comparisons if result else []) if c.role == "guardrail"
                  and c.design == (goal.design if goal else "")]
        hurt = [c.label for c in guards if c.verdict == "worse"]
        rows.append({
            "trial": tr["name"], "status": status[i],
            "readout": "planned" if result is None else result.readout,
            "goal": trial_metric_label(tr["goal_metric"]),
            "effect": "–" if goal is None or goal.effect is None or goal.effect.rel_effect is None
            else _pct(goal.effect.rel_effect, 0),
            "chance better": None if goal is None or goal.bayes is None else 100 * goal.bayes.chance_to_win,
            "guardrails": ("–" if not tr.get("guardrail_metrics") else
                           ("hurt: " + ", ".join(hurt) if hurt else ("fine" if guards else "not read yet"))),
            "decision": tr.get("decision") or "", "window": trial_window(tr),
            "treatment": scope_text(*((tr.get("treatment") or {}).get(k) for k in ("channels", "segments", "campaigns"))),
            "control": scope_text(*(tr["control"].get(k) for k in ("channels", "segments", "campaigns")))
            if tr.get("control") else "– (before / after)",
            "owner": tr.get("owner") or "",
        })
    return pd.DataFrame(rows, columns=["trial", "status", "readout", "goal", "effect", "chance better", "guardrails",
                                       "decision", "window", "treatment", "control", "owner"])


OVERVIEW_COLUMNS = {
    "trial": st.column_config.TextColumn("trial", width="large"),
    "readout": st.column_config.TextColumn("readout", help=READOUT_HELP),
    "effect": st.column_config.TextColumn("effect", help="The goal's change relative to the before window or the "
                                                         "control group."),
    "chance better": st.column_config.ProgressColumn(
        "chance better", min_value=0.0, max_value=100.0, format="%.0f %%",
        help="Bayesian: the chance that the change made the goal better (given the data, with no prior belief)."),
}


def filter_overview(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Status, readout and goal pickers above the overview; the rows they keep."""
    c1, c2, c3 = st.columns(3)
    statuses = c1.multiselect("Status", sorted(frame["status"].unique()), key=f"{key}_status", placeholder="All")
    readouts = c2.multiselect("Readout", [r for r in READOUTS if r in set(frame["readout"])], key=f"{key}_readout",
                              placeholder="All", help=READOUT_HELP)
    goals = c3.multiselect("Goal", sorted(frame["goal"].unique()), key=f"{key}_goal", placeholder="All")
    keep = pd.Series(True, index=frame.index)
    for col, picked in (("status", statuses), ("readout", readouts), ("goal", goals)):
        if picked:
            keep &= frame[col].isin(picked)
    return frame[keep]


def _fmt(kind: str, unit: str, value) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind == "proportion":
        return f"{100 * value:.1f} %"
    return f"{value:,.2f}{(' ' + unit) if unit else ''}"


def comparisons_table(result: TrialAnalysis) -> pd.DataFrame:
    """Every metric in every design: the readout's effect, interval and p-value, the Bayesian
    chance and risk, CUPED's variance reduction, the groups and the detectable effect."""
    rows = []
    for c in result.comparisons:
        unit = "h" if get(c.metric).unit == "hours" else ""
        e, b = c.effect, c.bayes
        pp = c.kind == "proportion"
        rows.append({
            "metric": c.label, "role": c.role, "design": DESIGN_WORDS.get(c.design, c.design),
            "verdict": c.verdict, "test": "–" if e is None else TEST_WORDS.get(e.test, e.test),
            "effect": "–" if e is None else (f"{100 * e.abs_effect:+.1f} pp" if pp
                                            else f"{e.abs_effect:+,.2f}{unit and ' ' + unit}"),
            "relative": "–" if e is None else _pct(e.rel_effect),
            "95 % CI": "–" if e is None else (f"[{100 * e.ci_low:+.1f}, {100 * e.ci_high:+.1f}] pp" if pp
                                               else f"[{e.ci_low:+,.2f}, {e.ci_high:+,.2f}]"),
            "p": "–" if e is None or e.p_value is None else ("< 0.001" if e.p_value < 0.001 else f"{e.p_value:.3f}"),
            "chance better": None if b is None else 100 * b.chance_to_win,
            "risk": "–" if b is None else _pct(b.risk, 2, signed=False),
            "credible interval": "–" if b is None else
            (f"[{100 * b.ci_low:+.1f}, {100 * b.ci_high:+.1f}] %" if b.relative else f"[{b.ci_low:+,.2f}, {b.ci_high:+,.2f}]"),
            "variance reduction": _pct(c.variance_reduction, 0, signed=False),
            "before / control": _fmt(c.kind, unit, None if e is None else e.mean_a),
            "during / treatment": _fmt(c.kind, unit, None if e is None else e.mean_b),
            "n before / control": c.n_a, "n during / treatment": c.n_b,
            "detectable": "–" if c.mde is None else f"±{100 * c.mde:.0f} %",
            "fixed-horizon p": "–" if c.fixed is None or c.fixed.p_value is None else f"{c.fixed.p_value:.4f}",
            "p without CUPED": "–" if c.unadjusted is None or c.unadjusted.p_value is None
            else f"{c.unadjusted.p_value:.4f}",
            "reading": c.reading,
        })
    order = ["metric", "role", "design", "verdict", "test", "effect", "relative", "95 % CI", "p", "chance better",
             "risk", "credible interval", "variance reduction", "before / control", "during / treatment",
             "n before / control", "n during / treatment", "detectable", "fixed-horizon p", "p without CUPED",
             "reading"]
    return pd.DataFrame(rows, columns=order)


COMPARISON_COLUMNS = {
    "reading": None, "fixed-horizon p": None, "p without CUPED": None,  # in the download
    "test": st.column_config.TextColumn(
        "test", help="always-valid: the trial is read before its planned end, so the interval and p-value stay "
                     "valid however often you look. fixed: the usual test, valid once at the end (Welch's t-test on "
                     "per-member values, the z-test for rates). CUPED: each member's value is corrected for their "
                     "own value before the start."),
    "n before / control": st.column_config.NumberColumn("n before / control", format="localized",
                                                        help="Members (or messages, for rates) in the before window or "
                                                             "the control group."),
    "n during / treatment": st.column_config.NumberColumn("n during / treatment", format="localized"),
    "effect": st.column_config.TextColumn("effect", help="During / treatment minus before / control (with CUPED: "
                                                         "of the corrected values)."),
    "relative": st.column_config.TextColumn("relative", help="The effect as a share of the before / control mean."),
    "95 % CI": st.column_config.TextColumn("95 % CI", help="95 % confidence interval of the effect: the values "
                                                           "the data cannot rule out."),
    "p": st.column_config.TextColumn("p-value", help="How surprising the difference would be if the change did "
                                                     "nothing. Below 0.05: likely real."),
    "chance better": st.column_config.ProgressColumn(
        "chance better", min_value=0.0, max_value=100.0, format="%.0f %%",
        help="Bayesian: the chance that the change made this number better (no prior belief)."),
    "risk": st.column_config.TextColumn("risk", help="Bayesian expected loss: if you keep the change and it is in "
                                                     "fact worse, how much worse on average (relative to the "
                                                     "baseline). Small risk = a safe choice."),
    "credible interval": st.column_config.TextColumn("credible interval",
                                                     help="Bayesian 95 % interval of the relative effect: it lies "
                                                          "in here with 95 % probability."),
    "variance reduction": st.column_config.TextColumn(
        "variance reduction", help="CUPED: how much of the noise the members' own values before the start "
                                   "removed. 30 % less variance reads like 43 % more members."),
    "detectable": st.column_config.TextColumn(
        "detectable", help="The smallest relative change a fixed test at the end finds 80 times out of 100 with "
                           "these group sizes: smaller real changes can go unseen."),
}

HOW_TO_READ = """
* **Verdict** uses the **p-value**: below 0.05 the difference is unlikely to be chance. While a trial runs
  (before its planned end) the page uses an **always-valid** test: you may look every day and stop as soon as it
  says *better* or *worse*, and still be wrong at most 5 % of the time. The usual (fixed) test read daily would be
  wrong far more often (26 % of no-effect trials read daily for 4 weeks in our simulation). After the end, the
  fixed test applies: narrower, read once.
* **Chance better** is the Bayesian answer to "how likely is it that the change helped?", on the same data. **Risk**
  is what you stand to lose by keeping the change if it in fact hurt: keep a change when the chance is high *and*
  the risk small.
* **CUPED** (treatment vs control, member metrics): each member's own value in the same number of days before the
  start explains part of their value during the trial; taking it out leaves less noise. The effect means the same,
  the interval is narrower; **variance reduction** says by how much.
* **Detectable**: with these group sizes, changes smaller than this easily go unseen. If it is larger than the
  change you hope for, run longer or include more members.
"""


def how_to_read() -> None:
    with st.expander("What these numbers mean"):
        st.markdown(HOW_TO_READ)


def cuped_caption(result: TrialAnalysis) -> str:
    goal = _goal(result)
    if goal is None or goal.variance_reduction is None:
        return ""
    w = result.windows
    return (f"CUPED: each member's {goal.label} in the {w['days']} days before the start "
            f"({w['before_start']:%d-%m-%Y} – {w['before_end']:%d-%m-%Y}) removed "
            f"{100 * max(goal.variance_reduction, 0):.0f} % of the variance of the goal's effect.")


def show_plan(p: Plan) -> None:
    """The planner's sentence and its table of durations."""
    st.markdown(f"**What can it detect?** {p.sentence}")
    if p.table.empty:
        return
    shown = p.table.assign(detectable=p.table["mde"].map(lambda v: "–" if pd.isna(v) else f"±{100 * v:.0f} %"))
    st.dataframe(shown[["weeks", "days", "n_treatment", "n_control", "detectable"]], hide_index=True,
                 width="content", column_config={
                     "weeks": st.column_config.NumberColumn("weeks", format="%.1f"),
                     "n_treatment": st.column_config.NumberColumn("treatment", format="localized",
                                                                  help="Units in the latest window this long."),
                     "n_control": st.column_config.NumberColumn(
                         "control" if p.design == "treatment_control" else "before", format="localized",
                         help="The control group in the same window, or with no control the window before it."),
                     "detectable": st.column_config.TextColumn(
                         "detectable change", help="The smallest relative change a fixed test at the end finds 80 "
                                                   "times out of 100 (5 % significance)."),
                 })
