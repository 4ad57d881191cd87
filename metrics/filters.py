"""Global filters (date range, channel, segment, campaign): applied to the rows before a metric is
computed (METRICS.md, "Conventions"). Every value reaches SQL as a bound parameter, never as SQL
text; ``metrics.source`` turns them into conditions on the derived tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from metrics.options import GRAINS


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

    @property
    def members_only(self) -> bool:
        """No channel or campaign filter: per-member tables over all channels answer."""
        return not self.channels and not self.campaigns


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)} (got {grain!r})")
    return grain
