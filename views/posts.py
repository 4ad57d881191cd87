"""The Posts & audience page's view: our own posts' engagement per network and period, the best
and weakest posts, the best time to post, and the audience next to it (METRICS.md, "Posts and
audience": activity beats size)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics import Filters
from views.common import complete, computer, data_end, period_label, tiles_period
from views.tiles import Headline, fmt_int, fmt_num, fmt_pct, fmt_pp, fmt_signed_int, headline

RANKINGS = {"engagement_rate_impressions": "engagement rate (impressions)",
            "engagement_rate_reach": "engagement rate (reach)", "engagements": "engagements"}


@dataclass(frozen=True)
class PostsSettings:
    grain: str = "month"
    rank_by: str = "engagement_rate_impressions"


@dataclass(frozen=True)
class PostsView:
    grain: str
    tiles: tuple[Headline, ...]
    period_note: str
    rates: pd.DataFrame  # engagement_rate: period x network
    audience: pd.DataFrame  # audience_growth: period x network
    posts: pd.DataFrame  # post_figures
    top: pd.DataFrame
    bottom: pd.DataFrame
    times: pd.DataFrame  # posting_times
    bases: dict  # network -> what its engagements were counted from

    @property
    def has_posts(self) -> bool:
        return not self.rates.empty

    @property
    def has_audience(self) -> bool:
        return not self.audience.empty


def totals(rates: pd.DataFrame | None, audience: pd.DataFrame | None) -> pd.DataFrame:
    """Per period over all networks: posts, engagements, impressions, engagement rate (sum / sum),
    follower growth and engagements per 1,000 followers (networks with a follower total)."""
    cols = ["period", "posts", "engagements", "impressions", "engagement_rate", "growth", "followers",
            "engagement_per_1000"]
    parts = []
    if rates is not None and not rates.empty:
        r = rates.assign(pair_e=rates["engagements"].where(rates["impressions"].notna()),
                         pair_i=rates["impressions"].where(rates["engagements"].notna()))
        parts.append(r.groupby("period")[["posts", "engagements", "impressions", "pair_e", "pair_i"]].sum(min_count=1))
    if audience is not None and not audience.empty:
        a = audience.assign(eng_f=audience["engagements"].where(audience["followers_end"].notna()))
        parts.append(a.groupby("period").agg(growth=("growth", lambda s: s.sum(min_count=1)),
                                             followers=("followers_end", lambda s: s.sum(min_count=1)),
                                             eng_f=("eng_f", lambda s: s.sum(min_count=1))))
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, axis=1).sort_index().reset_index().rename(columns={"index": "period"})
    for c in ("posts", "engagements", "impressions", "pair_e", "pair_i", "growth", "followers", "eng_f"):
        if c not in out:
            out[c] = float("nan")
    out["engagement_rate"] = out["pair_e"] / out["pair_i"].where(out["pair_i"] > 0)
    out["engagement_per_1000"] = 1000 * out["eng_f"] / out["followers"].where(out["followers"] > 0)
    return out[cols]


def tiles_for(rates: pd.DataFrame, audience: pd.DataFrame, grain: str, end, filters: Filters,
              t: pd.DataFrame | None = None) -> tuple[Headline, ...]:
    """Engagement rate and follower growth: the Overview shows these two as well (``t``: the
    complete periods' totals, when the caller has them)."""
    if t is None:
        t = complete(totals(rates, audience), grain, end, filters)
    label_of = lambda p: period_label(p, grain)  # noqa: E731
    no_posts = "" if rates is not None and not rates.empty else " Needs posts: load a post export (X, Facebook, " \
        "Instagram) or LinkedIn page statistics on the Data page."
    no_audience = "" if audience is not None and not audience.empty else " Needs audience figures: load a followers " \
        "export (LinkedIn followers, X daily summary) on the Data page."
    return (
        headline("Engagement rate", t, "engagement_rate", fmt=lambda v: fmt_pct(v, 2), delta_fmt=fmt_pp,
                 period_label=label_of,
                 help="Engagements / impressions of our posts published in the period, all networks (a sum over "
                      "the posts, not a mean of rates)." + no_posts),
        headline("Follower growth", t, "growth", fmt=fmt_signed_int_or_dash, delta_fmt=fmt_signed_int,
                 period_label=label_of,
                 help="Followers at the end of the period minus at its start (else followers gained minus lost), "
                      "all networks." + no_audience),
    )


def fmt_signed_int_or_dash(value) -> str:
    return "–" if value is None or pd.isna(value) else fmt_signed_int(value)


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: PostsSettings) -> PostsView:
    g, c = s.grain, computer(con)
    end = data_end(con)
    rates = c.frame("engagement_rate", filters, grain=g)
    audience = c.frame("audience_growth", filters, grain=g)
    posts = c.frame("post_figures", filters)
    top = c.frame("top_posts", filters, by=s.rank_by, n=10, end="top")
    bottom = c.frame("top_posts", filters, by=s.rank_by, n=10, end="bottom")
    times = c.frame("posting_times", filters)
    t = complete(totals(rates, audience), g, end, filters)
    label_of = lambda p: period_label(p, g)  # noqa: E731
    eng_rate, growth = tiles_for(rates, audience, g, end, filters, t)
    tiles = (
        headline("Posts published", t, "posts", fmt=fmt_int, delta_fmt=fmt_signed_int, period_label=label_of,
                 help="Our posts published in the period (page statistics: the posts they count)."),
        headline("Engagements", t, "engagements", fmt=fmt_int, delta_fmt=fmt_signed_int, period_label=label_of,
                 help="Reactions, comments, shares, saves and clicks on our posts of the period (the export's own "
                      "count where it has one)."),
        eng_rate,
        growth,
        headline("Engagements per 1,000 followers", t, "engagement_per_1000", fmt=lambda v: fmt_num(v, 1),
                 delta_fmt=lambda x: f"{x:+.1f}", period_label=label_of,
                 help="Activity next to size: engagements of the period per 1,000 followers at its end (networks "
                      "with a follower total)."),
    )
    bases = {}
    if not posts.empty:
        for network, basis in posts.dropna(subset=["basis"]).groupby("network")["basis"]:
            bases[network] = ", ".join(sorted(set(basis)))
    if not rates.empty:
        for network in rates.loc[rates["source"] == "page statistics", "network"].unique():
            bases[network] = "page statistics: the day's engagements, else clicks + reactions + comments + shares"
    note = (f"Tiles: {tiles_period(t, g, end, filters)} against the {g} before. "
            "Posts follow the date range and the channel filter (as networks), not the segment or campaign filter.")
    return PostsView(g, tiles, note, rates, audience, posts, top, bottom, times, bases)
