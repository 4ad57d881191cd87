"""Targets: progress, expected progress, status and projection on hand-checkable series (direction
at least and at most, achieved early, no data yet, the status boundaries), and target_report on a
small inserted dataset computed through the registry. Expected values are annotated."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from metrics import REGISTRY
from metrics.participation import NEEDS_IN_REPLY_TO
from plans.targets import (
    TARGET_METRICS,
    add_periods,
    evaluate,
    is_financial,
    limits,
    period_end,
    period_index,
    period_start,
    target_report,
)
from tests.metric_support import insert_rows


def months(values: dict[str, float | None], partial: tuple[str, ...] = ()) -> pd.DataFrame:
    """A monthly series from {'2026-01': value, ...}."""
    periods = [date.fromisoformat(k + "-01") for k in values]
    frame = pd.DataFrame({"period": pd.to_datetime(periods), "value": list(values.values())})
    if partial:
        frame["is_partial"] = [k in partial for k in values]
    return frame


def days(values: list[float | None], first: date = date(2026, 1, 1)) -> pd.DataFrame:
    return pd.DataFrame({"period": [add_periods(first, k, "day") for k in range(len(values))], "value": values})


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------
def test_period_helpers():
    assert period_start(date(2026, 1, 15), "month") == date(2026, 1, 1)
    assert period_start(date(2026, 1, 15), "week") == date(2026, 1, 12)  # Thursday -> Monday 12 Jan
    assert period_end(date(2026, 2, 1), "month") == date(2026, 2, 28)
    assert period_end(date(2026, 1, 12), "week") == date(2026, 1, 18)
    assert add_periods(date(2025, 11, 1), 3, "month") == date(2026, 2, 1)
    assert period_index(date(2026, 3, 31), date(2025, 12, 5), "month") == 3
    assert period_index(date(2026, 1, 19), date(2026, 1, 12), "week") == 1


# --------------------------------------------------------------------------------------------
# evaluate: the worked example
# --------------------------------------------------------------------------------------------
def test_worked_example_at_least():
    # Dec 100 (before the start: the baseline), Jan 110, Feb 120, Mar 130, Apr 500 (still running)
    series = months({"2025-12": 100, "2026-01": 110, "2026-02": 120, "2026-03": 130, "2026-04": 500})
    r = evaluate(series, direction="at_least", baseline=None, target_value=160, start=date(2026, 1, 1),
                 due=date(2026, 7, 1), today=date(2026, 4, 15))
    assert r.baseline == 100  # the last complete period that ended before 1 Jan
    assert r.current == 130 and r.current_period == date(2026, 3, 1)  # April is not over: not judged
    assert r.progress == pytest.approx(0.5)  # (130 - 100) / (160 - 100)
    assert r.expected_progress == pytest.approx(104 / 181)  # 1 Jan .. 15 Apr = 104 of 181 days
    assert r.status == "at risk"  # 0.5 is 0.075 below 0.575: within 0.10
    # Least squares through Jan 110, Feb 120, Mar 130 (x = 0, 1, 2): 110 + 10x, drawn Jan .. Jul
    assert r.projection["period"].tolist() == [date(2026, m, 1) for m in range(1, 8)]
    assert r.projection["value"].tolist() == pytest.approx([110, 120, 130, 140, 150, 160, 170])
    assert r.projected_at_due == pytest.approx(170)
    assert r.series["value"].tolist() == [100, 110, 120, 130, 500]
    assert r.series["is_partial"].tolist() == [False, False, False, False, True]
    assert r.financial is False


def test_projection_least_squares_by_hand():
    # Jan 1, Feb 3, Mar 2, Apr 6 at x = 0..3: mean x 1.5, mean y 3; Sxy = (-1.5*-2)+(-0.5*0)+(0.5*-1)+(1.5*3) = 7,
    # Sxx = 5 -> slope 1.4, intercept 3 - 1.4*1.5 = 0.9; due in June (x = 5): 0.9 + 7 = 7.9
    series = months({"2026-01": 1, "2026-02": 3, "2026-03": 2, "2026-04": 6})
    r = evaluate(series, direction="at_least", baseline=0, target_value=10, start=date(2026, 1, 1),
                 due=date(2026, 6, 30), today=date(2026, 5, 2))
    assert r.projection["value"].tolist() == pytest.approx([0.9, 2.3, 3.7, 5.1, 6.5, 7.9])
    assert r.projected_at_due == pytest.approx(7.9)


def test_projection_with_one_point_is_flat_and_skips_gaps():
    series = months({"2025-12": 5, "2026-01": None, "2026-02": 8, "2026-03": 9}, partial=("2026-03",))
    r = evaluate(series, direction="at_least", baseline=None, target_value=10, start=date(2026, 1, 1),
                 due=date(2026, 4, 30), today=date(2026, 3, 10))
    assert r.current == 8 and r.baseline == 5  # March flagged partial; January has no value
    assert r.series["is_partial"].tolist() == [False, False, False, True]  # a gap is not partial
    assert r.projection["value"].tolist() == [8.0, 8.0, 8.0, 8.0]  # one point since the start (Feb)
    assert r.projected_at_due == 8.0
    assert r.progress == pytest.approx(0.6)  # (8 - 5) / (10 - 5)


def test_projection_is_clipped_to_what_the_metric_can_take():
    # A share falling 0.30 a month: 0.9, 0.6, 0.3 in Jan-Mar -> the line reaches 0.0 in April and
    # -0.3 in May; clipped to 0 (a share cannot go below 0). Rising 0.4 a month from 0.5 passes 1.
    falling = months({"2026-01": 0.9, "2026-02": 0.6, "2026-03": 0.3})
    args = dict(direction="at_least", baseline=None, target_value=0.95, start=date(2026, 1, 1),
                due=date(2026, 5, 31), today=date(2026, 4, 2))
    assert evaluate(falling, **args).projection["value"].tolist() == pytest.approx([0.9, 0.6, 0.3, 0.0, -0.3])
    clipped = evaluate(falling, **args, bounds=limits("response_rate"))
    assert clipped.projection["value"].tolist() == pytest.approx([0.9, 0.6, 0.3, 0.0, 0.0])
    assert clipped.projected_at_due == 0.0
    rising = months({"2026-01": 0.5, "2026-02": 0.9})
    top = evaluate(rising, **{**args, "due": date(2026, 3, 31), "today": date(2026, 3, 2)}, bounds=limits("stickiness"))
    assert top.projection["value"].tolist() == pytest.approx([0.5, 0.9, 1.0])
    assert limits("retention_trend") == (0.0, 1.0) and limits("active_members") == (0.0, None)
    assert limits("quick_ratio") == (0.0, None)

# --------------------------------------------------------------------------------------------
# Status boundaries: day grain, start 1 Jan, due 11 Jan (10 days), today 6 Jan -> expected 0.5.
# The current value is 5 Jan's (6 Jan is still running).
# --------------------------------------------------------------------------------------------
def _status(current: float, direction: str, baseline: float, target: float) -> tuple[str, float | None]:
    r = evaluate(days([None] * 4 + [current, 999]), direction=direction, baseline=baseline, target_value=target,
                 start=date(2026, 1, 1), due=date(2026, 1, 11), today=date(2026, 1, 6), grain="day")
    assert r.expected_progress == 0.5 and r.current == current
    return r.status, r.progress


@pytest.mark.parametrize(("current", "status", "progress"), [
    (12.0, "achieved", 1.2),   # past the target
    (10.0, "achieved", 1.0),   # exactly on the target
    (6.0, "on track", 0.6),
    (5.0, "on track", 0.5),    # progress = expected
    (4.0, "at risk", 0.4),     # exactly 0.10 below expected
    (3.9, "off track", 0.39),  # more than 0.10 below
    (-1.0, "off track", -0.1),  # moving the wrong way
])
def test_status_at_least(current, status, progress):
    got_status, got_progress = _status(current, "at_least", 0.0, 10.0)
    assert got_status == status
    assert got_progress == pytest.approx(progress)


@pytest.mark.parametrize(("current", "status", "progress"), [
    # first response time from 10 h (baseline) to at most 4 h: progress = (current - 10) / (4 - 10)
    (3.0, "achieved", 7 / 6),
    (4.0, "achieved", 1.0),
    (7.0, "on track", 0.5),
    (7.6, "at risk", 0.4),
    (8.0, "off track", 1 / 3),
    (11.0, "off track", -1 / 6),
])
def test_status_at_most(current, status, progress):
    got_status, got_progress = _status(current, "at_most", 10.0, 4.0)
    assert got_status == status
    assert got_progress == pytest.approx(progress)


def test_achieved_early():
    # Target 150 reached in February, long before the due date (expected progress only 0.17)
    series = months({"2025-12": 100, "2026-01": 120, "2026-02": 155})
    r = evaluate(series, direction="at_least", baseline=None, target_value=150, start=date(2026, 1, 1),
                 due=date(2026, 12, 31), today=date(2026, 3, 3))
    assert r.status == "achieved"
    assert r.progress == pytest.approx(1.1)  # (155 - 100) / 50
    assert r.expected_progress == pytest.approx(61 / 364)


def test_no_data_yet():
    for series in (None, months({}), months({"2026-01": None, "2026-02": None}), months({"2026-03": 4})):
        r = evaluate(series, direction="at_least", baseline=None, target_value=10, start=date(2026, 1, 1),
                     due=date(2026, 6, 30), today=date(2026, 3, 15))  # (March is still running)
        assert (r.status, r.current, r.progress, r.projected_at_due) == ("no data", None, None, None)
        assert r.projection.empty
        assert r.expected_progress == pytest.approx(73 / 180)


def test_expected_progress_is_clamped():
    series = months({"2025-12": 1, "2026-01": 2})
    before = evaluate(series, direction="at_least", baseline=None, target_value=5, start=date(2026, 3, 1),
                      due=date(2026, 6, 1), today=date(2026, 2, 10))
    assert before.expected_progress == 0.0
    assert before.baseline == 2 and before.progress == 0.0 and before.status == "on track"
    after = evaluate(series, direction="at_least", baseline=1, target_value=5, start=date(2025, 6, 1),
                     due=date(2025, 12, 1), today=date(2026, 2, 10))
    assert after.expected_progress == 1.0
    assert after.progress == pytest.approx(0.25) and after.status == "off track"


def test_baseline_falls_back_to_the_first_period_after_the_start():
    series = months({"2026-01": 7, "2026-02": 9, "2026-03": 11})  # no history before the start
    r = evaluate(series, direction="at_least", baseline=None, target_value=15, start=date(2025, 12, 15),
                 due=date(2026, 6, 30), today=date(2026, 4, 1))
    assert r.baseline == 7 and r.current == 11
    assert r.progress == pytest.approx(0.5)  # (11 - 7) / (15 - 7)


def test_baseline_already_meeting_the_target():
    series = months({"2025-12": 120, "2026-01": 110, "2026-02": 90})
    kw = dict(direction="at_least", baseline=None, target_value=100, start=date(2026, 1, 1), due=date(2026, 6, 30))
    assert evaluate(series, today=date(2026, 2, 1), **kw).status == "achieved"  # January 110 >= 100
    r = evaluate(series, today=date(2026, 3, 1), **kw)  # February 90: slipped below
    assert (r.status, r.progress, r.baseline) == ("off track", None, 120)


def test_invalid_evaluate_input():
    with pytest.raises(ValueError, match="direction"):
        evaluate(months({}), direction="up", baseline=0, target_value=1, start=date(2026, 1, 1),
                 due=date(2026, 2, 1), today=date(2026, 1, 5))
    with pytest.raises(ValueError, match="due date"):
        evaluate(months({}), direction="at_most", baseline=0, target_value=1, start=date(2026, 1, 1),
                 due=date(2026, 1, 1), today=date(2026, 1, 5))


# --------------------------------------------------------------------------------------------
# Which metrics can be targets
# --------------------------------------------------------------------------------------------
def test_target_metrics_and_financial():
    assert {"active_members", "participation_rate", "response_rate", "retention_trend", "activity_churn"} <= set(
        TARGET_METRICS)
    assert all(REGISTRY[m].per_period for m in TARGET_METRICS)
    assert "participation_lorenz" not in TARGET_METRICS and "first_response_time" not in TARGET_METRICS
    assert not any(is_financial(m) for m in ("participation_rate", "active_members", "retention_trend"))
    assert all(is_financial(m) for m in ("customer_lifetime_value", "value_curves", "revenue_per_member",
                                         "average_order_value"))


def test_every_target_metric_gives_one_number_per_period(small_sample):
    con = duckdb.connect(small_sample, read_only=True)
    try:
        for name in TARGET_METRICS:
            target = dict(metric=name, direction="at_least", target_value=1e9, start_date=date(2026, 1, 1),
                          due_date=date(2026, 12, 31), options={"grain": "month"})
            r = target_report(con, target, today=date(2026, 11, 23))
            assert list(r.series.columns) == ["period", "value", "is_partial"], name
            assert r.series["period"].is_unique and len(r.series) >= 20, name
            assert r.status in ("on track", "at risk", "off track"), name  # 1e9 is never reached
            assert r.current_period == date(2026, 10, 1) or name == "retention_trend", name
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# target_report on an inserted dataset
# --------------------------------------------------------------------------------------------
ACTIVITY = [  # member, when, channel. A only on x; B, C, D on the forum.
    ("A", "2025-12-10 10:00", "x"),
    ("A", "2026-01-05 10:00", "x"), ("B", "2026-01-20 10:00", "forum"),
    ("A", "2026-02-02 10:00", "x"), ("B", "2026-02-03 10:00", "forum"), ("C", "2026-02-14 10:00", "forum"),
    ("A", "2026-03-02 10:00", "x"), ("B", "2026-03-05 10:00", "forum"), ("C", "2026-03-06 10:00", "forum"),
    ("D", "2026-03-20 10:00", "forum"),  # the data's last day: March is partial
]


@pytest.fixture
def community(workspace):
    frame = pd.DataFrame(ACTIVITY, columns=["member_id", "occurred_at", "channel"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    frame["direction"] = "inbound"
    frame["action"] = "post"
    insert_rows(workspace, "interactions", frame)
    return workspace


TARGET = dict(metric="active_members", direction="at_least", target_value=5, baseline=None,
              start_date=date(2026, 1, 1), due_date=date(2026, 4, 30), options={"grain": "month"},
              channels=[], segments=[], campaigns=[])


def test_target_report_through_the_registry(community):
    r = target_report(community, TARGET, today=date(2026, 3, 25))
    # active members: Dec 1 (A), Jan 2 (A, B), Feb 3 (A, B, C), Mar 4 (partial: the data ends 20 Mar)
    assert r.series["value"].tolist() == [1, 2, 3, 4]
    assert r.series["is_partial"].tolist() == [False, False, False, True]
    assert (r.baseline, r.current, r.current_period) == (1, 3, date(2026, 2, 1))
    assert r.progress == pytest.approx(0.5)  # (3 - 1) / (5 - 1)
    assert r.expected_progress == pytest.approx(83 / 119)  # 1 Jan .. 25 Mar of 1 Jan .. 30 Apr
    assert r.status == "off track"  # 0.5 < 0.697 - 0.10
    assert r.projection["value"].tolist() == pytest.approx([2, 3, 4, 5])  # Jan 2, Feb 3: +1 a month, to April
    assert r.projected_at_due == pytest.approx(5)
    assert r.financial is False and r.message == ""


def test_target_report_applies_filters_and_today(community):
    forum = dict(TARGET, channels=["forum"], target_value=4)
    r = target_report(community, forum, today=date(2026, 3, 25))
    # on the forum: Dec 0, Jan 1 (B), Feb 2 (B, C), Mar 3 (partial)
    assert r.series["value"].tolist() == [0, 1, 2, 3]
    assert (r.baseline, r.current, r.progress) == (0, 2, 0.5)
    # Seen from 10 Feb, February is still running: January is current
    r = target_report(community, TARGET, today=date(2026, 2, 10))
    assert r.series["value"].tolist() == [1, 2, 2]  # the range ends on 10 Feb (A, B by then)
    assert (r.current, r.current_period, r.series["is_partial"].tolist()) == (2, date(2026, 1, 1),
                                                                              [False, False, True])
    # A weekly target reads weeks
    weekly = dict(TARGET, options={"grain": "week"}, target_value=3)
    r = target_report(community, weekly, today=date(2026, 3, 25))
    assert all(p.weekday() == 0 for p in r.series["period"])


def test_target_report_without_data_or_two_way_columns(make_workspace, community):
    empty = target_report(make_workspace(name="empty"), TARGET, today=date(2026, 3, 1))
    assert empty.status == "no data" and "No data in this workspace yet" in empty.message
    r = target_report(community, dict(TARGET, metric="response_rate", target_value=0.9), today=date(2026, 3, 25))
    assert r.status == "no data" and r.message == NEEDS_IN_REPLY_TO and r.series.empty
