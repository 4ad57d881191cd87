"""The Development page's views (METRICS.md, "Customer development"): the engagement ladder and
customer stages with their moves, value per member, participation and value, referrals; and, apart
(it is a model fit with its own settings, shown in a fragment), customer lifetime value."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from metrics import Filters
from metrics.development import ClvOptions, LadderOptions
from views.common import computer

MAX_COHORTS = 12
TOP_N = 20
CLV_BINS = 40


@dataclass(frozen=True)
class DevelopmentSettings:
    ladder: LadderOptions = LadderOptions()
    grain: str = "month"


@dataclass(frozen=True)
class DevelopmentView:
    settings: DevelopmentSettings
    level_sizes: pd.DataFrame
    level_migration: pd.DataFrame
    level_rates: pd.DataFrame
    stage_sizes: pd.DataFrame
    stage_movement: pd.DataFrame
    crm_stages: pd.DataFrame
    last_month: object  # the last complete month (else the last month)
    has_transactions: bool
    summary: pd.DataFrame | None
    curves: pd.DataFrame | None
    value: pd.DataFrame | None
    participation_value: pd.DataFrame
    referral: pd.Series
    referral_share: pd.DataFrame
    referral_chains: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.level_sizes.empty

    @property
    def months(self) -> list:
        return sorted(self.level_migration["period"].unique())


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: DevelopmentSettings) -> DevelopmentView:
    c, lo = computer(con), s.ladder
    m = lambda name, **o: c.frame(name, filters, **o)  # noqa: E731
    sizes = c.frame("ladder_sizes", filters, lo)
    done = sizes.loc[~sizes["is_partial"].astype(bool), "period"]
    has_tx = int(c.frame("value_summary", Filters())["customers"].iloc[0]) > 0
    curves = m("value_curves") if has_tx else None
    if curves is not None and not curves.empty:
        keep = sorted(curves["cohort"].unique())[-MAX_COHORTS:]
        curves = curves[curves["cohort"].isin(keep)]
    return DevelopmentView(
        settings=s, level_sizes=sizes, level_migration=c.frame("ladder_migration", filters, lo),
        level_rates=c.frame("ladder_rates", filters, lo), stage_sizes=c.frame("stage_sizes", filters, lo),
        stage_movement=c.frame("stage_movement", filters, lo), crm_stages=m("lifecycle_stage_distribution"),
        last_month=done.max() if len(done) else (sizes["period"].max() if len(sizes) else None),
        has_transactions=has_tx, summary=m("value_summary") if has_tx else None, curves=curves,
        value=m("value_over_time", grain=s.grain) if has_tx else None,
        participation_value=m("participation_value"), referral=m("referral_summary").iloc[0],
        referral_share=m("referral_share", grain=s.grain), referral_chains=m("referral_chains"))


@dataclass(frozen=True)
class ClvView:
    options: ClvOptions
    error: str | None
    customers: pd.DataFrame
    parameters: pd.DataFrame
    histogram: pd.DataFrame  # CLV binned (the top 1 % capped): bin_start, bin_end, customers
    top: pd.DataFrame  # worth keeping: the highest CLV
    slipping: pd.DataFrame  # valuable repeat buyers with P(alive) < 50 %
    slipping_count: int


def compute_clv(con: duckdb.DuckDBPyConnection, filters: Filters, o: ClvOptions) -> ClvView:
    c = computer(con)
    cust = c.frame("customer_lifetime_value", filters, o)
    params = c.frame("clv_parameters", filters, o)
    error = cust.attrs.get("error")
    if error or cust.empty:
        empty = cust.head(0)
        return ClvView(o, error or "no customers", cust, params, pd.DataFrame(), empty, empty, 0)
    cap = float(cust["clv"].quantile(0.99)) if len(cust) > 20 else float(cust["clv"].max())
    counts, edges = np.histogram(cust["clv"].clip(upper=cap), bins=CLV_BINS)
    hist = pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "customers": counts})
    slipping = cust[(cust["frequency"] > 0) & (cust["p_alive"] < 0.5)].assign(
        past=lambda f: f["frequency"] * f["monetary_value"]).sort_values("past", ascending=False)
    return ClvView(o, None, cust, params, hist, cust.head(TOP_N), slipping.head(TOP_N), len(slipping))
