"""The Targets & trials page's view: every target with its reading, every trial with its analysis, the
decided trials (the team's memory) and the filter options the forms offer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from metrics import Filters
from metrics.queries import filter_options
from plans import store
from plans.targets import TargetReport, target_report
from plans.trials import TrialAnalysis, analyse


@dataclass(frozen=True)
class PlansSettings:
    include_archived: bool = False
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class PlansView:
    listing: pd.DataFrame  # the stored targets
    targets: tuple[dict, ...]
    reports: dict  # target_id -> TargetReport
    trial_list: pd.DataFrame
    trials: dict  # trial_id -> trial
    status: dict  # trial_id -> planned | running | ended | decided
    analyses: dict  # trial_id -> TrialAnalysis (not for planned trials)
    options: dict  # channels, segments, campaigns, span


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: PlansSettings) -> PlansView:
    with con.cursor() as cur:
        listing = store.list_targets(cur, include_archived=s.include_archived)
        targets = tuple(store.get_target(cur, int(t)) for t in listing["target_id"]) if len(listing) else ()
        trial_list = store.list_trials(cur, today=s.today)
        trials = {int(i): store.get_trial(cur, int(i), today=s.today) for i in trial_list["trial_id"]} \
            if len(trial_list) else {}
        options = filter_options(cur)
    status = dict(zip(trial_list["trial_id"].astype(int), trial_list["status"], strict=True)) if len(trial_list) else {}
    reports: dict[int, TargetReport] = {t["target_id"]: target_report(con, t, today=s.today) for t in targets}
    analyses: dict[int, TrialAnalysis] = {i: analyse(con, tr, today=s.today) for i, tr in trials.items()
                                          if status.get(i) != "planned"}
    return PlansView(listing, targets, reports, trial_list, trials, status, analyses, options)
