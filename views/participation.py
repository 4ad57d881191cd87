"""The Participation page's view: activity next to size, inequality, two-way interaction, timing,
channels, known customers and influentials (METRICS.md, "Participation and activity")."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics import Filters
from metrics.participation import two_way_status
from views.common import GrainSettings, complete, computer, data_end, period_label, tiles_period
from views.tiles import (
    Headline,
    fmt_hours,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pp,
    fmt_signed_hours,
    fmt_signed_int,
    headline,
)

TIERS = ("core", "regular", "casual", "lurkers")
TIER_MEANING = ("smallest top group producing 80 % of activity", "next 15 % of activity", "last 5 % of activity",
                "community members without activity")


@dataclass(frozen=True)
class ParticipationView:
    grain: str
    two_way: dict
    tiles: tuple[Headline, ...]
    period_note: str
    rate: pd.DataFrame
    dwm: pd.DataFrame
    stickiness: Headline
    distribution: pd.DataFrame
    inequality: pd.DataFrame
    tiers: pd.DataFrame
    lorenz: pd.DataFrame
    frt: pd.DataFrame | None
    response_buckets: pd.DataFrame | None
    posts: pd.DataFrame | None
    heat_activity: pd.DataFrame
    heat_response: pd.DataFrame | None
    presence: pd.DataFrame
    mix: pd.DataFrame
    phase_tiles: tuple[Headline, Headline]
    influentials: pd.DataFrame

    @property
    def active(self) -> bool:
        return not self.rate.empty and self.rate["active_members"].sum() > 0


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, settings: GrainSettings) -> ParticipationView:
    g = settings.grain
    c = computer(con)
    two_way = two_way_status(con)
    m = lambda name, **o: c.frame(name, filters, **o)  # noqa: E731
    rate = m("participation_rate", grain=g)
    per_member = m("activity_per_active_member", grain=g)
    frt = m("first_response_time", grain=g, by="period") if two_way["available"] else None
    posts = m("customer_responses_per_post", grain=g) if two_way["available"] else None
    end = data_end(con)
    done = {k: complete(f, g, end, filters) for k, f in
            {"rate": rate, "per": per_member, "frt": frt, "posts": posts}.items()}
    label = lambda p: period_label(p, g)  # noqa: E731
    missing = " Needs in_reply_to: map a column to it on the Data page."
    tiles = (
        headline("Active members", done["rate"], "active_members", fmt=fmt_int, delta_fmt=fmt_signed_int,
                 period_label=label, help="Distinct members with at least one inbound interaction in the period."),
        headline("Participation rate", done["rate"], "value", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label,
                 help="Active community members / community size at the end of the period (joined, not churned)."),
        headline("Activity per active member", done["per"], "value", fmt=lambda v: fmt_num(v, 1),
                 delta_fmt=lambda d: f"{d:+.1f}", period_label=label,
                 help="Inbound interactions per active member in the period (mean)."),
        headline("Response rate", done["frt"], "response_rate", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label,
                 help="Answerable inbound messages that got an outbound reply." + ("" if frt is not None else missing)),
        headline("Median first response", done["frt"], "median_hours", fmt=fmt_hours, delta_fmt=fmt_signed_hours,
                 lower_is_better=True, period_label=label,
                 help="Median time from an inbound message to our first reply (answered messages)."
                 + ("" if frt is not None else missing)),
        headline("Customer responses per post", done["posts"], "value", fmt=lambda v: fmt_num(v, 2),
                 delta_fmt=lambda d: f"{d:+.2f}", period_label=label,
                 help="Customer replies to our broadcast posts of the period, per post."
                 + ("" if posts is not None else missing)),
    )
    note = f"Tiles: {tiles_period(done['rate'], g, end, filters)} against the {g} before."
    dwm = m("dau_wau_mau", grain=g)
    ineq = m("participation_inequality")
    ident = complete(m("identified_share", grain=g), g, end, filters)
    engaged = complete(m("influentials_engaged", grain=g), g, end, filters)
    heat_response = None
    if two_way["available"]:
        heat_response = m("first_response_time", by="hour_of_week")
    return ParticipationView(
        grain=g, two_way=two_way, tiles=tiles, period_note=note, rate=rate,
        dwm=dwm, stickiness=headline("Stickiness (DAU / MAU)", complete(dwm, g, end, filters), "stickiness",
                                     fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label,
                                     help=f"Mean DAU / mean MAU over the last complete {g}."),
        distribution=m("stickiness_distribution", grain=g),
        inequality=ineq, tiers=_tiers(ineq), lorenz=m("participation_lorenz"),
        frt=frt, response_buckets=m("response_time_distribution") if two_way["available"] else None, posts=posts,
        heat_activity=m("activity_heatmap"), heat_response=heat_response,
        presence=m("channel_presence"), mix=m("channel_mix", grain=g),
        phase_tiles=(
            headline("Identified share", ident, "value", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label,
                     help="Inbound interactions whose member_id is in the CRM / all inbound interactions "
                          "(anonymous included)."),
            headline("Influentials engaged", engaged, "value", fmt=fmt_pct, delta_fmt=fmt_pp, period_label=label,
                     help="Influentials (top 1 % by reach among the period's active members) who got an "
                          "outbound message from us in the period."),
        ),
        influentials=m("influentials", limit=50),
    )


def _tiers(ineq: pd.DataFrame) -> pd.DataFrame:
    """The onion: members per tier and their share of the community."""
    if ineq.empty:
        return pd.DataFrame({"tier": [], "members": [], "share": [], "meaning": []})
    row = ineq.iloc[0]
    members = [int(row[t]) for t in TIERS]
    return pd.DataFrame({"tier": list(TIERS), "members": members,
                         "share": [n / max(1, int(row["community"])) for n in members], "meaning": list(TIER_MEANING)})
