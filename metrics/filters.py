"""Global filters (date range, channel, segment, campaign) and the SQL they imply.

Filters apply to the rows before a metric is computed (METRICS.md, Conventions). Every value
from a filter reaches SQL as a bound parameter, never as SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

GRAINS = ("day", "week", "month")


@dataclass(frozen=True)
class Filters:
    start: date | None = None  # inclusive
    end: date | None = None  # inclusive
    channels: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()

    def params(self) -> dict:
        return {
            "f_start": self.start,
            "f_end_excl": (self.end + timedelta(days=1)) if self.end else None,
            "f_channels": list(self.channels),
            "f_segments": list(self.segments),
            "f_campaigns": list(self.campaigns),
        }


@dataclass(frozen=True)
class Query:
    """SQL text plus the parameters it binds."""

    sql: str
    params: dict = field(default_factory=dict)


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)} (got {grain!r})")
    return grain


def interaction_where(alias: str = "i", *, use_dates: bool = True) -> str:
    """WHERE conditions for interactions under the global filters (parameters from Filters.params)."""
    conds = []
    if use_dates:
        conds += [
            f"($f_start IS NULL OR {alias}.occurred_at >= $f_start)",
            f"($f_end_excl IS NULL OR {alias}.occurred_at < $f_end_excl)",
        ]
    conds += [
        f"(len($f_channels) = 0 OR list_contains($f_channels, {alias}.channel))",
        f"(len($f_campaigns) = 0 OR list_contains($f_campaigns, {alias}.campaign))",
        f"(len($f_segments) = 0 OR {alias}.member_id IN "
        "(SELECT member_id FROM members_current WHERE list_contains($f_segments, segment)))",
    ]
    return " AND ".join(conds)


def activity_cte(*, use_dates: bool = True) -> str:
    """`activity`: inbound interactions by a known, non-employee member, filtered.

    Columns: member_id, occurred_at, channel, action, campaign, interaction_id.
    """
    return f"""activity AS (
        SELECT i.member_id, i.occurred_at, i.channel, i.action, i.campaign, i.interaction_id
        FROM interactions i
        WHERE i.direction = 'inbound' AND i.member_id IS NOT NULL
          AND i.member_id NOT IN (SELECT member_id FROM members_current WHERE is_employee)
          AND {interaction_where('i', use_dates=use_dates)})"""
