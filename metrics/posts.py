"""Posts and audience: the organisation's own posts and its pages' statistics (METRICS.md, "Posts
and audience"). Activity beats size: engagement is shown next to the audience, never instead of it.

* **post_figures** (the parent): every post of the range with its counts, ``engagements``
  (``derived.definitions.post_engagements``: the export's own count, else the sum of its counts,
  with ``basis`` saying which), and the two rates: ``engagement_rate_impressions`` = engagements /
  impressions and ``engagement_rate_reach`` = engagements / reach (fractions, 0.05 = 5 %; empty when
  the denominator is 0 or missing). Where the export has its own rate (``platform_engagement_rate``)
  the computed one equals it.
* **post_engagement**: the contract columns of the parent (the CLI's and API's post list).
* **top_posts** / **posting_times**: the parent sorted, and its median rate per weekday x hour
  (cells with at least ``MIN_POSTS`` posts can be the best one).
* **engagement_rate** per period and network: posts, sum of engagements / sum of impressions (not
  a mean of rates) and the median rate per post. A network without post rows (LinkedIn's page
  content export, X's daily summary) is read from its daily page statistics instead (``source``).
* **audience_growth** per period and network: followers at the period's end (the last day with a
  total), net growth = end - start (start = the last total before the period), growth rate =
  growth / start; without totals (LinkedIn's followers export lists followers gained per day) the
  growth is new followers - unfollows and the rate stays empty. Engagements per 1,000 followers
  beside it.

The date range and the channel filter (on the network) apply; segment and campaign filters do not
(a post has no member and no campaign column).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from derived import definitions as d
from metrics.options import GrainOptions, Options, opt
from metrics.periods import trunc
from metrics.registry import measure, projection
from metrics.source import Source

SECTION = "posts"
MIN_POSTS = 3
POST_ENGAGEMENT_COLUMNS = ["network", "post_id", "published_at", "impressions", "reach", "engagements",
                           "engagement_rate_impressions", "engagement_rate_reach"]


@measure("post_figures",
         "Every organisation post in the range with its counts, engagements (and what they were counted "
         "from) and engagement rates by impressions and by reach", "posts", SECTION,
         reads=("post_rows",), higher_is_better=None, label="post figures")
def post_figures(src: Source, o: Options) -> pd.DataFrame:
    """Columns: POST_ENGAGEMENT_COLUMNS, then basis, platform_engagement_rate, post_type, text,
    permalink, reactions, comments, shares, saves, clicks, video_views, follows."""
    sql = f"""
        WITH {src.post_rows()}
        SELECT network, post_id, published_at, impressions, reach, eng AS engagements,
               {d.rate('eng', 'impressions')} AS engagement_rate_impressions,
               {d.rate('eng', 'reach')} AS engagement_rate_reach,
               basis, platform_engagement_rate, post_type, text, permalink,
               reactions, comments, shares, saves, clicks, video_views, follows
        FROM post_rows ORDER BY published_at, network, post_id"""
    return src.run(sql)


@projection("post_engagement",
            "Engagements per organisation post and its engagement rate by impressions and by reach "
            "(fractions)", "fraction", SECTION, parent="post_figures", higher_is_better=True)
def post_engagement(frame: pd.DataFrame, o: Options) -> pd.DataFrame:
    """Columns exactly: network, post_id, published_at, impressions, reach, engagements,
    engagement_rate_impressions, engagement_rate_reach."""
    return frame[POST_ENGAGEMENT_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class TopOptions(Options):
    by: Literal["engagement_rate_impressions", "engagement_rate_reach", "engagements"] = opt(
        "engagement_rate_impressions", "what the posts are ranked by")
    n: int = opt(10, "how many posts", lo=1, hi=1000)
    end: Literal["top", "bottom"] = opt("top", "the best or the weakest posts")


@projection("top_posts", "The best (or weakest) posts of the range by engagement rate or engagements",
            "posts", SECTION, parent="post_figures", options=TopOptions, higher_is_better=None,
            parent_options=lambda o: {})
def top_posts(frame: pd.DataFrame, o: TopOptions) -> pd.DataFrame:
    """post_figures' columns, the ``n`` posts with the highest (top) or lowest (bottom) ``by``;
    posts without a value are left out; ties go to the later post."""
    ranked = frame[frame[o.by].notna()].sort_values(
        [o.by, "published_at"], ascending=[o.end == "bottom", False], kind="stable")
    return ranked.head(o.n).reset_index(drop=True)


@projection("posting_times",
            f"Median engagement rate (by impressions) per weekday and hour of publishing; the best cell "
            f"among those with at least {MIN_POSTS} posts is marked", "fraction", SECTION,
            parent="post_figures", higher_is_better=True, label="best time to post")
def posting_times(frame: pd.DataFrame, o: Options) -> pd.DataFrame:
    """Columns: weekday (1 = Monday), hour, posts, median_rate, best (one cell at most)."""
    rated = frame[frame["engagement_rate_impressions"].notna()]
    cols = ["weekday", "hour", "posts", "median_rate", "best"]
    if rated.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "median_rate" else "int64") for c in cols[:-1]}
                            | {"best": pd.Series(dtype=bool)})
    ts = pd.to_datetime(rated["published_at"])
    cells = (rated.assign(weekday=ts.dt.day_of_week + 1, hour=ts.dt.hour)
             .groupby(["weekday", "hour"])["engagement_rate_impressions"]
             .agg(posts="count", median_rate="median").reset_index())
    cells["best"] = False
    eligible = cells[cells["posts"] >= MIN_POSTS]
    if not eligible.empty:
        # The highest median; a tie goes to the cell with more posts, then the earliest in the week.
        best = eligible.sort_values(["median_rate", "posts", "weekday", "hour"],
                                    ascending=[False, False, True, True]).index[0]
        cells.loc[best, "best"] = True
    return cells[cols]


def _engagement_periods(src: Source, grain: str) -> str:
    """CTEs up to ``eng_periods(period, network, source, posts, engagements, impressions, reach,
    value, engagement_rate_reach, median_rate)``: per period and network, from the posts, or from
    the daily page statistics for a network without post rows."""
    return f"""{src.post_rows()}, {src.page_days()},
        rated AS (SELECT *, {d.rate('eng', 'impressions')} AS r FROM post_rows),
        from_posts AS (
            SELECT {trunc(grain, 'published_at')} AS period, network, 'posts' AS source, count(*) AS posts,
                   sum(eng) AS engagements, sum(impressions) AS impressions, sum(reach) AS reach,
                   {d.rate('sum(eng) FILTER (WHERE impressions IS NOT NULL)',
                           'sum(impressions) FILTER (WHERE eng IS NOT NULL)')} AS value,
                   {d.rate('sum(eng) FILTER (WHERE reach IS NOT NULL)',
                           'sum(reach) FILTER (WHERE eng IS NOT NULL)')} AS engagement_rate_reach,
                   median(r) AS median_rate
            FROM rated GROUP BY 1, 2),
        from_pages AS (
            SELECT {trunc(grain, 'day')} AS period, network, 'page statistics' AS source,
                   sum(posts_published) AS posts, sum(eng) AS engagements, sum(page_impressions) AS impressions,
                   NULL::BIGINT AS reach,
                   {d.rate('sum(eng) FILTER (WHERE page_impressions IS NOT NULL)',
                           'sum(page_impressions) FILTER (WHERE eng IS NOT NULL)')} AS value,
                   NULL::DOUBLE AS engagement_rate_reach,
                   median({d.rate('eng', 'page_impressions')}) AS median_rate
            FROM page_days
            WHERE network NOT IN (SELECT network FROM posts_current) AND (eng IS NOT NULL OR page_impressions IS NOT NULL)
            GROUP BY 1, 2),
        eng_periods AS (SELECT * FROM from_posts UNION ALL BY NAME SELECT * FROM from_pages)"""


@measure("engagement_rate",
         "Engagement rate per period and network: sum of engagements / sum of impressions of the posts "
         "published in it (from daily page statistics for a network without post rows), with the median "
         "rate per post", "fraction", SECTION, options=GrainOptions, reads=("post_rows", "page_days"))
def engagement_rate(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, network, source, posts, engagements, impressions, reach, value (the rate by
    impressions), engagement_rate_reach, median_rate."""
    sql = f"""WITH {_engagement_periods(src, o.grain)}
        SELECT period, network, source, posts::BIGINT AS posts, engagements::BIGINT AS engagements,
               impressions::BIGINT AS impressions, reach::BIGINT AS reach, value, engagement_rate_reach, median_rate
        FROM eng_periods ORDER BY period, network"""
    return src.run(sql)


@measure("audience_growth",
         "Followers per period and network: at the end, net growth (end - start, else new followers - "
         "unfollows), growth rate, and engagements per 1,000 followers", "followers", SECTION,
         options=GrainOptions, reads=("page_days", "post_rows"))
def audience_growth(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, network, followers_start, followers_end, growth, growth_rate,
    new_followers, unfollows, engagements, engagement_per_1000."""
    g = o.grain
    sql = f"""WITH {_engagement_periods(src, g)}, {src.page_days('all_days', use_start=False)},
        per AS (
            SELECT {trunc(g, 'day')} AS period, network,
                   arg_max(followers, day) FILTER (WHERE followers IS NOT NULL) AS followers_end,
                   sum(new_followers) AS new_followers, sum(unfollows) AS unfollows,
                   count(followers) AS totals, count(new_followers) AS gains
            FROM all_days GROUP BY 1, 2),
        chained AS (
            SELECT *, last_value(followers_end IGNORE NULLS) OVER (
                       PARTITION BY network ORDER BY period ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     AS followers_start
            FROM per)
        SELECT c.period, c.network, c.followers_start::BIGINT AS followers_start,
               c.followers_end::BIGINT AS followers_end,
               (CASE WHEN c.followers_end IS NOT NULL AND c.followers_start IS NOT NULL
                     THEN c.followers_end - c.followers_start
                     WHEN c.gains > 0 THEN c.new_followers - coalesce(c.unfollows, 0) END)::BIGINT AS growth,
               CASE WHEN c.followers_end IS NOT NULL AND c.followers_start IS NOT NULL
                    THEN {d.rate('c.followers_end - c.followers_start', 'c.followers_start')} END AS growth_rate,
               c.new_followers::BIGINT AS new_followers, c.unfollows::BIGINT AS unfollows,
               e.engagements::BIGINT AS engagements,
               1000 * {d.rate('e.engagements', 'c.followers_end')} AS engagement_per_1000
        FROM chained c LEFT JOIN eng_periods e USING (period, network)
        WHERE (c.totals > 0 OR c.gains > 0) AND {'c.period >= ' + trunc(g, '$f_start') if src.f.start else 'TRUE'}
        ORDER BY c.period, c.network"""
    return src.run(sql)
