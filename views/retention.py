"""The Retention page's view: cohorts, curves, the period-N trend, churn, lifecycle and growth
accounting, the breakdown by channel or segment, and who to win back (METRICS.md, "Retention")."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics import Filters
from metrics.retention import RetentionOptions, retention_inputs
from views.common import complete, computer, data_end, period_label
from views.tiles import Headline, fmt_num, fmt_pct, fmt_pp, headline

MAX_HEATMAP_ROWS = 36
CALL_LIST_ROWS = 1000  # shown on the page; the download has everyone


@dataclass(frozen=True)
class RetentionSettings:
    options: RetentionOptions = RetentionOptions()
    n: int = 1  # the offset the trend follows
    by: str = "channel"  # breakdown
    drifting_days: int = 90
    inactive_days: int = 180


@dataclass(frozen=True)
class RetentionView:
    settings: RetentionSettings
    inputs: dict
    table: pd.DataFrame  # the cohort table
    curve: pd.DataFrame
    trend: pd.DataFrame
    growth: pd.DataFrame
    contract: pd.DataFrame | None
    breakdown: pd.DataFrame
    people: pd.DataFrame  # the drifting and inactive members: the win-back call list
    call_counts: dict  # drifting, inactive
    as_of: object  # the date the call list counts back from
    tiles: tuple[Headline, ...]

    @property
    def empty(self) -> bool:
        return self.table.empty or not (self.table["cohort_size"] > 0).any()


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: RetentionSettings) -> RetentionView:
    o, c = s.options, computer(con)
    g = o.grain
    table = c.frame("retention", filters, o)
    curve = c.frame("retention_curve", filters, o)
    trend = c.frame("retention_trend", filters, {**o.as_dict(), "offset": min(s.n, o.periods)})
    growth = c.frame("growth_accounting", filters, grain=g, activity=o.activity)
    inputs = retention_inputs(con)
    contract = c.frame("contractual_churn", filters, grain=g) if inputs["churned_at"] else None
    people = c.frame("drifting_members", filters, drifting_days=s.drifting_days, inactive_days=s.inactive_days,
                     activity=o.activity)
    counts = people["status"].value_counts()
    as_of = (people["last_activity"].iloc[0] + pd.Timedelta(days=int(people["days_since"].iloc[0]))
             if len(people) else pd.Timestamp(filters.end or data_end(con) or pd.Timestamp.today()))
    done_growth = complete(growth, g, data_end(con), filters)
    p1 = table[~table["is_partial"] & (table["cohort_size"] > 0) & (table["period_offset"] == 1)]
    mean1 = curve.loc[curve["period_offset"] == 1, "retention_rate"]
    label = lambda p: period_label(p, g)  # noqa: E731
    latest = p1.rename(columns={"cohort": "period", "retention_rate": "value"})
    tiles = (
        Headline(f"Mean {g}-1 retention", None if mean1.empty else mean1.iloc[0],
                 fmt_pct(None if mean1.empty else mean1.iloc[0]),
                 help=f"Cohort-size-weighted mean over the cohorts whose {g} 1 has ended."),
        headline(f"{g.capitalize()}-1, latest cohort", latest, "value", fmt=fmt_pct, delta_fmt=fmt_pp,
                 period_label=lambda p: "cohort " + label(p),
                 help=f"The most recent cohort whose {g} 1 has ended, against the cohort before."),
        headline("Quick ratio", done_growth, "quick_ratio", fmt=lambda v: fmt_num(v, 2), delta_fmt=lambda d: f"{d:+.2f}",
                 period_label=label,
                 help="(new + resurrecting) / dormant in the last complete period; above 1 the active base grows."),
        headline(f"Activity churn, {g}", done_growth, "activity_churn", fmt=fmt_pct, delta_fmt=fmt_pp,
                 lower_is_better=True, period_label=label,
                 help=f"Active the {g} before and not in the last complete {g}, as a share of those active the {g} "
                      "before."),
    )
    return RetentionView(
        settings=s, inputs=inputs, table=table, curve=curve, trend=trend, growth=growth, contract=contract,
        breakdown=c.frame("retention_breakdown", filters, {**o.as_dict(), "by": s.by}),
        people=people, call_counts={"drifting": int(counts.get("drifting", 0)),
                                    "inactive": int(counts.get("inactive", 0))},
        as_of=as_of, tiles=tiles)


def churn(v: RetentionView) -> pd.DataFrame:
    """Activity and contractual churn per period, long (for one chart)."""
    out = v.growth[["period", "activity_churn", "is_partial"]].rename(columns={"activity_churn": "value"}).assign(
        kind="activity churn")
    if v.contract is not None:
        out = pd.concat([out, v.contract[["period", "value", "is_partial"]].assign(kind="contractual churn")],
                        ignore_index=True)
    return out.dropna(subset=["value"])


def churn_download(v: RetentionView) -> pd.DataFrame:
    out = v.growth[["period", "active_previous", "dormant", "activity_churn", "is_partial"]]
    if v.contract is not None:
        out = out.merge(v.contract.rename(columns={"value": "contractual_churn"}).drop(columns="is_partial"),
                        on="period", how="left")
    return out

