"""The Members page's view: who matches the search, and the chosen member's profile and timeline."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from derived.sync import ensure
from metrics import Filters
from metrics.queries import find_members, member_profile, member_timeline


@dataclass(frozen=True)
class MembersSettings:
    query: str = ""
    member: str | None = None  # one of the hits (default: the first)


@dataclass(frozen=True)
class MembersView:
    hits: pd.DataFrame
    member: str | None
    profile: dict | None
    timeline: pd.DataFrame


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: MembersSettings) -> MembersView:
    ensure(con)
    with con.cursor() as cur:
        hits = find_members(cur, s.query) if s.query.strip() else pd.DataFrame(
            columns=["member_id", "name", "segment", "interactions"])
        member = s.member if s.member in set(hits["member_id"]) else (hits["member_id"].iloc[0] if len(hits) else None)
        profile = member_profile(cur, member) if member else None
        timeline = member_timeline(cur, member) if profile else pd.DataFrame()
    return MembersView(hits, member, profile, timeline)
