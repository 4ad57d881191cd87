"""The Sample's post and page exports, in the platforms' own layouts (shared/docs/EXPORT_FORMATS.md).

The organisation's posts are the generator's broadcasts (outbound interactions that answer
nothing); each gets the figures a platform would report: impressions from its reach, comments =
the customer replies it really got in the interactions, and reactions, shares, saves and clicks at
a network's typical rate, higher in the evening and midweek (so the best time to post shows). The
files go through the importer like a user's:

* ``x_tweet_activity.csv``: X "Tweet activity" (every field quoted, ``"2633.0"``, promoted ``-``,
  times in UTC ``2026-01-31 23:32 +0000``), with X's own engagements and engagement rate;
* ``facebook_posts.csv``: Meta Business Suite (UTF-8 BOM, ``MM/DD/YYYY HH:MM``, Date ``Lifetime``);
* ``instagram_posts.csv``: Instagram (``"12,400"``-style numbers);
* ``linkedin_content.csv`` / ``linkedin_followers.csv``: LinkedIn's daily page statistics and the
  followers gained per day;
* ``audience.csv``: a social suite's daily followers per network (total, gained, lost).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from sample_data.generator import START, SampleData

X_HEADER = (
    "Tweet id", "Tweet permalink", "Tweet text", "time", "impressions", "engagements", "engagement rate", "retweets",
    "replies", "likes", "user profile clicks", "url clicks", "hashtag clicks", "detail expands", "permalink clicks",
    "app opens", "app installs", "follows", "email tweet", "dial phone", "media views", "media engagements",
    "promoted impressions", "promoted engagements", "promoted engagement rate", "promoted retweets",
    "promoted replies", "promoted likes", "promoted user profile clicks", "promoted url clicks",
    "promoted hashtag clicks", "promoted detail expands", "promoted permalink clicks", "promoted app opens",
    "promoted app installs", "promoted follows", "promoted email tweet", "promoted dial phone",
    "promoted media views", "promoted media engagements",
)
FB_HEADER = (
    "Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time", "Caption type",
    "Permalink", "Is crosspost", "Is share", "Post type", "Languages", "Custom labels", "Funded content status",
    "Data comment", "Date", "Impressions", "Reach", "Reactions, Comments and Shares", "Reactions", "Comments",
    "Shares", "Total clicks", "Other clicks", "Matched Audience Targeting Consumption (Photo Click)", "Link clicks",
    "Views", "Reels_plays:count", "Seconds viewed", "Average seconds viewed", "Estimated earnings (USD)",
)
IG_HEADER = ("Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)",
             "Publish time", "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes", "Shares",
             "Follows", "Comments", "Saves")
LI_CONTENT_HEADER = (
    "Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)", "Unique impressions (organic)",
    "Clicks (organic)", "Clicks (sponsored)", "Clicks (total)", "Reactions (organic)", "Reactions (sponsored)",
    "Reactions (total)", "Comments (organic)", "Comments (sponsored)", "Comments (total)", "Reposts (organic)",
    "Reposts (sponsored)", "Reposts (total)", "Engagement rate (organic)", "Engagement rate (sponsored)",
    "Engagement rate (total)",
)
LI_FOLLOWERS_HEADER = ("Date", "Sponsored followers", "Organic followers", "Auto-invited followers", "Total followers")

# Engagements per impression by network (reactions, shares, saves, clicks; comments are the real
# replies), and the lift by hour and weekday.
_RATE = {"x": 0.012, "facebook": 0.028, "instagram": 0.045, "linkedin": 0.035}
_FOLLOWERS = {"x": 42_000, "facebook": 95_000, "instagram": 60_000, "linkedin": 25_000}
_HOUR_LIFT = np.array([.6] * 7 + [.8, .9, 1, 1, 1.05, 1.1, 1, .95, .95, 1, 1.1, 1.3, 1.45, 1.4, 1.2, .9, .7])
_DAY_LIFT = np.array([.95, 1.1, 1.15, 1.1, .95, .85, .8])  # Monday first


def _organisation_posts(data: SampleData, rng: np.random.Generator) -> pd.DataFrame:
    ix = data.interactions
    posts = ix[(ix["direction"] == "outbound") & ix["in_reply_to"].isna() & ix["interaction_id"].notna()
               & ix["channel"].isin(list(_RATE))][["interaction_id", "channel", "occurred_at", "text", "reach"]].copy()
    replies = ix.loc[(ix["direction"] == "inbound") & ix["in_reply_to"].notna(), "in_reply_to"].value_counts()
    posts["comments"] = posts["interaction_id"].map(replies).fillna(0).astype(np.int64)
    t = pd.to_datetime(posts["occurred_at"])
    lift = _HOUR_LIFT[t.dt.hour.to_numpy()] * _DAY_LIFT[t.dt.day_of_week.to_numpy()]
    reach = posts["reach"].fillna(0).to_numpy(dtype=np.int64)
    impressions = np.floor(reach * rng.uniform(1.3, 1.9, len(posts))).astype(np.int64)
    rate = np.array([_RATE[c] for c in posts["channel"]]) * lift * rng.lognormal(0, 0.35, len(posts))
    total = rng.poisson(impressions * rate)
    split = rng.dirichlet([6, 1.5, 1, 2], len(posts))  # reactions, shares, saves, clicks
    parts = np.floor(total[:, None] * split).astype(np.int64)
    posts = posts.assign(published=t, impressions=impressions, reach=reach, reactions=parts[:, 0],
                         shares=parts[:, 1], saves=parts[:, 2], clicks=parts[:, 3])
    return posts.sort_values("published").reset_index(drop=True)


def _write(path: Path, header, rows, *, quote_all: bool = False, bom: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def write_post_exports(data: SampleData, out_dir: str | Path, seed: int = 42,
                       time_zone: str = "Europe/Amsterdam") -> list[tuple[Path, str]]:
    """Write the post and page exports (see the module text); returns ``[(path, dataset), ...]``."""
    rng = np.random.default_rng(seed + 17)
    out = Path(out_dir)
    posts = _organisation_posts(data, rng)
    files: list[tuple[Path, str]] = []

    x = posts[posts["channel"] == "x"]
    utc = x["published"].dt.tz_localize(time_zone, ambiguous=np.zeros(len(x), dtype=bool),
                                        nonexistent="shift_forward").dt.tz_convert("UTC")
    rows = []
    for p, ts in zip(x.itertuples(), utc, strict=True):
        engagements = p.reactions + p.shares + p.comments + p.clicks + p.saves  # X counts expands as well
        rate = engagements / p.impressions if p.impressions else 0.0
        # retweets, replies, likes, profile clicks, url clicks, hashtag clicks, detail expands, ... (15)
        counts = [p.shares, p.comments, p.reactions, 0, p.clicks, 0, p.saves, 0, 0, 0, 0, 0, 0, 0, 0]
        rows.append([p.interaction_id, f"https://x.com/skyloop/status/{p.interaction_id}", p.text or "",
                     ts.strftime("%Y-%m-%d %H:%M +0000"), f"{p.impressions}.0", f"{engagements}.0", repr(rate)]
                    + [f"{c}.0" for c in counts] + ["-"] * 18)
    files.append((out / "x_tweet_activity.csv", "posts"))
    _write(files[-1][0], X_HEADER, rows, quote_all=True)

    fb = posts[posts["channel"] == "facebook"]
    rows = [[p.interaction_id, "100000000000001", "SkyLoop Airways", "", p.text or "", "",
             p.published.strftime("%m/%d/%Y %H:%M"), "", f"https://www.facebook.com/{p.interaction_id}", "No", "No",
             "Photos", "", "", "", "", "Lifetime", p.impressions, p.reach, p.reactions + p.comments + p.shares,
             p.reactions, p.comments, p.shares, p.clicks, p.clicks // 3, "", p.clicks - p.clicks // 3, "", "", "", "", ""]
            for p in fb.itertuples()]
    files.append((out / "facebook_posts.csv", "posts"))
    _write(files[-1][0], FB_HEADER, rows, bom=True)

    ig = posts[posts["channel"] == "instagram"]
    rows = [[p.interaction_id, "17841400000000000", "skyloop", "SkyLoop Airways", p.text or "", "",
             p.published.strftime("%m/%d/%Y %H:%M"), f"https://www.instagram.com/p/{p.interaction_id}/",
             "IG reel" if i % 3 == 0 else "IG image", "", "Lifetime", f"{p.impressions:,}", f"{p.reach:,}",
             p.reactions, p.shares, p.clicks // 4, p.comments, p.saves] for i, p in enumerate(ig.itertuples())]
    files.append((out / "instagram_posts.csv", "posts"))
    _write(files[-1][0], IG_HEADER, rows)

    li = posts[posts["channel"] == "linkedin"].assign(day=lambda f: f["published"].dt.normalize())
    days = pd.date_range(START, data.interactions["occurred_at"].max(), freq="D").normalize()
    per_day = li.groupby("day")[["impressions", "clicks", "reactions", "comments", "shares"]].sum().reindex(days, fill_value=0)
    rows = []
    for day, r in per_day.iterrows():
        values = [int(r.impressions), int(r.clicks), int(r.reactions), int(r.comments), int(r.shares)]
        sponsored = [int(v * 0.15) for v in values]
        organic = [v - s_ for v, s_ in zip(values, sponsored, strict=True)]
        cells = []
        for o, s_, v in zip(organic[1:], sponsored[1:], values[1:], strict=True):
            cells += [o, s_, v]
        # LinkedIn: (clicks + reactions + comments + reposts) / impressions
        rates = [sum(part[1:]) / part[0] if part[0] else 0 for part in (organic, sponsored, values)]
        rows.append([day.strftime("%m/%d/%Y"), organic[0], sponsored[0], values[0], int(organic[0] * 0.7), *cells]
                    + [f"{x:.12f}" for x in rates])
    files.append((out / "linkedin_content.csv", "audience"))
    _write(files[-1][0], LI_CONTENT_HEADER, rows)

    # Followers: each network grows ~35 % over the two years, with the odd unfollow wave.
    n = len(days)
    rows_li, rows_suite = [], []
    for network, start in _FOLLOWERS.items():
        gained = rng.poisson(start * 0.35 / n * 1.25, n)
        lost = rng.poisson(start * 0.35 / n * 0.25, n)
        lost[rng.random(n) < 0.01] += int(start * 0.002)
        total = start + np.cumsum(gained - lost)
        if network == "linkedin":
            sponsored = rng.binomial(gained, 0.2)
            rows_li = [[d.strftime("%m/%d/%Y"), s, g - s, 0, g] for d, s, g in zip(days, sponsored, gained, strict=True)]
        else:
            rows_suite += [[d.strftime("%Y-%m-%d"), network, t, g, lo]
                           for d, t, g, lo in zip(days, total, gained, lost, strict=True)]
    files.append((out / "linkedin_followers.csv", "audience"))
    _write(files[-1][0], LI_FOLLOWERS_HEADER, rows_li)
    files.append((out / "audience.csv", "audience"))
    _write(files[-1][0], ("Date", "Network", "Followers", "New followers", "Unfollows"), rows_suite)
    return files
