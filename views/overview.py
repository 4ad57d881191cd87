"""The Overview's view: the numbers that matter (the same metrics and options as the Participation,
Retention and Development pages, so the numbers agree), every open target with its reading, the
running trials, what needs attention, the active-member trend and what is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics import Filters
from metrics.development import LadderOptions
from metrics.listening import spike_alerts
from metrics.participation import two_way_status
from metrics.retention import RetentionOptions
from plans import store
from plans.alerts import RANK, target_alert, trial_alerts
from plans.targets import TargetReport, target_report
from plans.trials import TrialAnalysis, analyse
from views.common import complete, computer, data_end, period_label, tiles_period
from views.plans_text import days_left, fmt_value, target_title
from views.posts import tiles_for
from views.tiles import (
    Headline,
    fmt_hours,
    fmt_int,
    fmt_pct,
    fmt_pp,
    fmt_signed_hours,
    fmt_signed_int,
    headline,
)

# The Retention and Development pages' default options: the same cached results, the same numbers.
RETENTION_PERIODS = {"day": 14, "week": 12, "month": 12}
OPEN_TRIAL_STATES = ("running", "ended")  # ended = waiting for a decision


@dataclass(frozen=True)
class OverviewSettings:
    grain: str = "month"
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class OverviewView:
    grain: str
    today: date
    data_end: date | None
    tiles: tuple[Headline, ...]
    period_note: str
    targets: tuple[dict, ...]  # open targets, worst status first
    reports: dict  # target_id -> TargetReport
    trials: tuple[tuple[dict, str], ...]  # (trial, status) running or waiting for a decision
    analyses: dict  # trial_id -> TrialAnalysis
    alerts: tuple[str, ...]  # targets and trials
    spikes: tuple[str, ...]  # spikes of a hashtag or campaign in the range (metrics.listening.spike_alerts)
    active: pd.DataFrame  # period, active members, community size, participation rate
    stored: pd.DataFrame  # row_counts

    @property
    def on_track(self) -> int:
        return sum(self.reports[t["target_id"]].status in ("achieved", "on track") for t in self.targets)


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: OverviewSettings) -> OverviewView:
    g, c, today = s.grain, computer(con), s.today
    end = data_end(con)
    label_of = lambda p: period_label(p, g)  # noqa: E731
    rate = c.frame("participation_rate", filters, grain=g)
    two_way = two_way_status(con)["available"]
    frt = c.frame("first_response_time", filters, grain=g, by="period") if two_way else None
    p1 = c.frame("retention_trend", filters, RetentionOptions(grain=g, periods=RETENTION_PERIODS[g]).as_dict()
                 | {"offset": 1})
    p1 = p1[~p1["is_partial"] & (p1["cohort_size"] > 0)].dropna(subset=["value"])
    promoted = complete(c.frame("promotion_rate", filters, LadderOptions()), "month", end, filters)
    value = c.frame("value_over_time", filters, grain=g)
    has_purchases = not value.empty and value["buyers"].fillna(0).sum() > 0
    done = complete(rate, g, end, filters)
    missing = " Needs in_reply_to: map a column to it on the Data page."
    tiles = (
        headline("Active members", done, "active_members", fmt=fmt_int, delta_fmt=fmt_signed_int, period_label=label_of,
                 help="Distinct members with at least one inbound interaction in the period (as on the Participation "
                      "page)."),
        headline("Participation rate", done, "value", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label_of,
                 help="Active community members / community size at the end of the period."),
        headline("Response rate", complete(frt, g, end, filters), "response_rate", fmt=fmt_pct, delta_fmt=fmt_pp,
                 period_label=label_of,
                 help="Answerable inbound messages that got an outbound reply." + ("" if two_way else missing)),
        headline("Median first response", complete(frt, g, end, filters), "median_hours", fmt=fmt_hours,
                 delta_fmt=fmt_signed_hours, lower_is_better=True, period_label=label_of,
                 help="Median time from an inbound message to our first reply (answered messages); lower is better."
                 + ("" if two_way else missing)),
        headline(f"{g.capitalize()}-1 retention", p1, "value", fmt=fmt_pct, delta_fmt=fmt_pp,
                 period_label=lambda p: "cohort " + label_of(p),
                 help=f"Of the members who first took part in the latest cohort whose {g} 1 has ended, the share "
                      f"active again the {g} after (as on the Retention page); compared with the cohort before."),
        headline("Promoted up the ladder", promoted, "value", fmt=fmt_pct, delta_fmt=fmt_pp,
                 period_label=lambda p: period_label(p, "month"),
                 help="Share of the community that moved up at least one engagement level during the last complete "
                      "month (as 'Promoted' on the Development page); compared with the month before."),
        headline("Repeat purchase rate", complete(value, g, end, filters) if has_purchases else None,
                 "repeat_purchase_rate", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label_of,
                 help="Members with two or more purchases ever / members with one or more, at the end of the period."
                 + ("" if has_purchases else " Needs purchases: load a transactions export on the Data page.")),
        # Our own posts and the audience (the Posts & audience page): activity beats size.
        *tiles_for(c.frame("engagement_rate", filters, grain=g), c.frame("audience_growth", filters, grain=g),
                   g, end, filters),
    )
    note = (f"Each tile: {tiles_period(done, g, end, filters)} against the {g} before, with the trend of the last 12; "
            "retention compares the latest complete cohort, the ladder the latest complete month.")
    if end is not None:
        note += f" Data until {end:%d-%m-%Y}."
    targets, reports, trials, analyses, alerts = _plans(con, today, label_of)
    spikes = tuple(spike_alerts(c.frame("spikes", filters)))  # what customers shout (the Listening page)
    active = rate[["period", "active_members", "community_size", "value"]].rename(
        columns={"active_members": "active members", "value": "participation rate"})
    return OverviewView(g, today, end, tiles, note, targets, reports, trials, analyses, tuple(alerts), spikes, active,
                        c.frame("row_counts"))


def _plans(con, today: date, label_of) -> tuple:
    """Open targets with their readings (now and a week ago), open trials with their analyses, and
    the alerts they raise."""
    with con.cursor() as cur:
        listing = store.list_targets(cur)
        targets = [store.get_target(cur, int(t)) for t in listing["target_id"]] if len(listing) else []
        trial_list = store.list_trials(cur, today=today)
        open_trials = trial_list[trial_list["status"].isin(OPEN_TRIAL_STATES)] if len(trial_list) else trial_list
        trials = [(store.get_trial(cur, int(t), today=today), s)
                  for t, s in zip(open_trials["trial_id"], open_trials["status"], strict=True)] if len(open_trials) else []
    reports: dict[int, TargetReport] = {t["target_id"]: target_report(con, t, today=today) for t in targets}
    week_ago = {t["target_id"]: target_report(con, t, today=today - timedelta(days=7)) for t in targets
                if t["start_date"] <= today - timedelta(days=7)}
    analyses: dict[int, TrialAnalysis] = {tr["trial_id"]: analyse(con, tr, today=today) for tr, _ in trials}
    alerts: list[str] = []
    for t in targets:
        rep = reports[t["target_id"]]
        text = target_alert(target_title(t), rep, week_ago.get(t["target_id"]),
                            current=fmt_value(t["metric"], rep.current), baseline=fmt_value(t["metric"], rep.baseline),
                            due_in=days_left(t["due_date"], today))
        if text:
            alerts.append(text)
    for tr, status in trials:
        alerts += trial_alerts(tr["name"], status, analyses[tr["trial_id"]].alerts, tr["end_date"])
    ranked = sorted(targets, key=lambda t: (-RANK.get(reports[t["target_id"]].status, 0), t["due_date"]))
    return tuple(ranked), reports, tuple(trials), analyses, alerts

