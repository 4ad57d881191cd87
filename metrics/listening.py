"""Listening metrics (METRICS.md, "Listening"): hashtags, sentiment, spikes, topics, share of voice.

They read ``mentions`` (``metrics.source``): the inbound interactions by anyone, with the hashtags,
sentiment and language of ``derived.definitions`` / ``derived.text``. Refinements of METRICS.md,
also in the README's "Listening" section:

* a mention is an inbound interaction (our own posts and replies are not what is said about us);
* spikes: the history counts from the first stored mention (under the filters), so a subject that
  is new has a zero baseline; with fewer than 4 earlier weeks the baseline is the median of the
  same hour in the weeks there are (from the second week on: a weekly rhythm then never spikes,
  which the previous 7 days' hourly median would not give); ``ended_at`` is the end of the last
  spike hour; a hashtag subject is written ``#tag``, a campaign by its name;
* share of voice counts an interaction once per term it names (a word or phrase of the lower-cased
  text, on word boundaries: 'ns' does not count 'mens').
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from derived import definitions as d
from metrics.options import Grain, GrainOptions, Options, opt
from metrics.periods import trunc
from metrics.registry import measure
from metrics.source import Source

SECTION = "listening"
WEEK = 168  # hours
NET = d.net_sentiment("count(*) FILTER (WHERE label = 'positive')", "count(*) FILTER (WHERE label = 'negative')")
NET_N = d.net_sentiment("coalesce(sum(n) FILTER (WHERE label = 'positive'), 0)",
                        "coalesce(sum(n) FILTER (WHERE label = 'negative'), 0)")
LABELS_N = """coalesce(sum(n) FILTER (WHERE label = 'positive'), 0)::BIGINT AS positive,
              coalesce(sum(n) FILTER (WHERE label = 'neutral'), 0)::BIGINT AS neutral,
              coalesce(sum(n) FILTER (WHERE label = 'negative'), 0)::BIGINT AS negative"""
LABELS = """count(*) FILTER (WHERE label = 'positive') AS positive,
            count(*) FILTER (WHERE label = 'neutral') AS neutral,
            count(*) FILTER (WHERE label = 'negative') AS negative"""


@dataclass(frozen=True)
class HashtagOptions(Options):
    grain: Grain = opt("week", "period length")
    top: int = opt(0, "keep the hashtags with the most interactions over the range (0 = all)", lo=0, hi=100_000)


@dataclass(frozen=True)
class SentimentOptions(Options):
    grain: Grain = opt("week", "period length")
    by_campaign: bool = opt(False, "one row per campaign too (also when campaigns are filtered)")


@dataclass(frozen=True)
class SpikeOptions(Options):
    k: float = opt(4.0, "z threshold of a spike hour", lo=0.5, hi=100)
    min_volume: int = opt(10, "least interactions in a spike hour", lo=1, hi=1_000_000)
    subject: Literal["all", "hashtag", "campaign"] = opt("all", "what can spike")


@dataclass(frozen=True)
class MentionOptions(Options):
    subject: str = opt("", "a hashtag '#tag' or a campaign name ('' = every mention)")
    not_answerable: tuple[str, ...] = opt(d.NOT_ANSWERABLE, "actions a reply does not answer")
    start: str = opt("", "from this time (ISO, e.g. 2026-02-03T09:00)")
    end: str = opt("", "before this time (ISO)")
    limit: int = opt(500, "rows, most negative first (0 = all)", lo=0, hi=10_000_000)

    def check(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value:
                try:
                    datetime.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name} must be a time like 2026-02-03T09:00 (got {value!r})") from None


@dataclass(frozen=True)
class VoiceOptions(Options):
    grain: Grain = opt("month", "period length")
    own: tuple[str, ...] = opt((), "our own terms (empty: every texted mention is ours)")
    competitors: tuple[str, ...] = opt((), "competitor terms, comma-separated")


@measure("hashtag_volume",
         "Inbound interactions and distinct members per period and hashtag, with their sentiment "
         "(positive / neutral / negative) and net sentiment (pos − neg) / (pos + neg)", "interactions",
         SECTION, options=HashtagOptions, reads=("mentions",), higher_is_better=None)
def hashtag_volume(src: Source, o: HashtagOptions) -> pd.DataFrame:
    """Columns: period, hashtag, interactions, members, positive, neutral, negative, net_sentiment;
    by period, then interactions (most first), then hashtag."""
    top = ""
    if o.top:
        top = f"""AND hashtag IN (SELECT hashtag FROM tagged GROUP BY 1 ORDER BY count(*) DESC, hashtag LIMIT {int(o.top)})"""
    sql = f"""
        WITH {src.mentions()},
        tagged AS (SELECT {trunc(o.grain, 'day')} AS period, unnest(tags) AS hashtag, mk, label
                   FROM mentions WHERE len(tags) > 0)
        SELECT period, hashtag, count(*) AS interactions, count(DISTINCT mk) AS members, {LABELS},
               {NET} AS net_sentiment
        FROM tagged WHERE TRUE {top} GROUP BY 1, 2 ORDER BY period, interactions DESC, hashtag"""
    return src.run(sql)


@measure("net_sentiment",
         "Net sentiment (pos − neg) / (pos + neg) of inbound interactions per period and channel "
         "(and campaign with --campaign or by_campaign); the export's own sentiment, else the text's",
         "net sentiment", SECTION, options=SentimentOptions, reads=("mention_hours",))
def net_sentiment(src: Source, o: SentimentOptions) -> pd.DataFrame:
    """Columns: period, channel, [campaign,] interactions, scored (with a sentiment), positive,
    neutral, negative, net_sentiment."""
    by_campaign = o.by_campaign or bool(src.f.campaigns)
    keys = "period, channel" + (", campaign" if by_campaign else "")
    sql = f"""
        WITH {src.mention_hours()}
        SELECT {trunc(o.grain, 'day')} AS period, channel{', campaign' if by_campaign else ''},
               sum(n)::BIGINT AS interactions, coalesce(sum(n) FILTER (WHERE label IS NOT NULL), 0)::BIGINT AS scored,
               {LABELS_N}, {NET_N} AS net_sentiment
        FROM mh {'WHERE campaign IS NOT NULL' if by_campaign else ''}
        GROUP BY ALL ORDER BY {keys}"""
    return src.run(sql)


SPIKE_COLUMNS = ["started_at", "ended_at", "subject", "volume", "baseline", "z", "net_sentiment"]


def hourly_baseline(v: np.ndarray, *, weeks: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, spread) of each hour of an hourly series ``v``: the median of the same hour in
    the previous ``weeks`` weeks (those there are), spread max(1.4826 · MAD, √b, 1); NaN in the
    first week (no history)."""
    n = v.size
    past = np.full((weeks, n), np.nan)
    for j in range(1, weeks + 1):
        if n > WEEK * j:
            past[j - 1, WEEK * j:] = v[: n - WEEK * j]
    b = np.full(n, np.nan)
    s = np.full(n, np.nan)
    ok = np.any(~np.isnan(past), axis=0)  # an hour with at least one earlier week
    if ok.any():
        sub = past[:, ok]
        med = np.nanmedian(sub, axis=0)
        mad = np.nanmedian(np.abs(sub - med), axis=0)
        b[ok] = med
        s[ok] = np.maximum.reduce([1.4826 * mad, np.sqrt(med), np.ones_like(med)])
    return b, s


def find_spikes(v: np.ndarray, k: float = 4.0, min_volume: int = 10) -> list[tuple[int, int, float, float, float]]:
    """Spikes of an hourly series: (first hour, last hour, volume, baseline, max z) of each run of
    consecutive hours with z >= k and v >= min_volume (METRICS.md, "spike")."""
    b, s = hourly_baseline(v.astype(float))
    with np.errstate(invalid="ignore"):
        z = (v - b) / s
        hot = (z >= k) & (v >= min_volume)
    out, i, n = [], 0, v.size
    while i < n:
        if hot[i]:
            j = i
            while j + 1 < n and hot[j + 1]:
                j += 1
            out.append((i, j, float(v[i:j + 1].sum()), float(b[i:j + 1].sum()), float(np.max(z[i:j + 1]))))
            i = j + 1
        else:
            i += 1
    return out


@measure("spikes",
         "Hours whose volume of a hashtag or campaign stands out against the same hour of the week "
         "over the previous 4 weeks (z = (v − median) / max(1.4826 · MAD, √median, 1) ≥ k, at least "
         "min_volume interactions); consecutive hours form one spike, with its net sentiment", "z",
         SECTION, options=SpikeOptions, reads=("mention_hours",), higher_is_better=None)
def spikes(src: Source, o: SpikeOptions) -> pd.DataFrame:
    """Columns: started_at, ended_at (end of the last spike hour), subject ('#tag' or a campaign),
    volume, baseline (sums over the spike hours), z (the largest), net_sentiment; the spikes that
    start in the range, latest first."""
    parts = []
    if o.subject in ("all", "hashtag"):
        parts.append("SELECT hr, '#' || unnest(tags) AS subject, label, n FROM mh WHERE len(tags) > 0")
    if o.subject in ("all", "campaign"):
        parts.append("SELECT hr, campaign AS subject, label, n FROM mh WHERE campaign IS NOT NULL")
    sql = f"""
        WITH {src.mention_hours(use_start=False)},
        subj AS ({' UNION ALL '.join(parts)}),
        hours AS (SELECT subject, hr, sum(n) AS n, coalesce(sum(n) FILTER (WHERE label = 'positive'), 0) AS pos,
                         coalesce(sum(n) FILTER (WHERE label = 'negative'), 0) AS neg FROM subj GROUP BY 1, 2),
        cand AS (SELECT DISTINCT subject FROM hours WHERE n >= $min_volume)
        SELECT h.subject, h.hr, h.n, h.pos, h.neg FROM hours h WHERE h.subject IN (SELECT subject FROM cand)
        ORDER BY 1, 2"""
    rows = src.run(sql, min_volume=o.min_volume)
    first = src.rows(f"WITH {src.mention_hours(use_start=False)} SELECT min(hr) FROM mh")[0][0]
    if rows.empty or first is None:
        return spikes_empty()
    last = rows["hr"].max()
    if src.f.end is not None:
        last = max(last, pd.Timestamp(src.f.end) + pd.Timedelta(hours=23))
    hours = int((last - pd.Timestamp(first)) / pd.Timedelta(hours=1)) + 1
    start = pd.Timestamp(src.f.start) if src.f.start is not None else None
    out = []
    for subject, g in rows.groupby("subject", sort=True):
        idx = ((g["hr"] - pd.Timestamp(first)) / pd.Timedelta(hours=1)).astype(int).to_numpy()
        v, pos, neg = (np.zeros(hours) for _ in range(3))
        v[idx], pos[idx], neg[idx] = g["n"].to_numpy(), g["pos"].to_numpy(), g["neg"].to_numpy()
        for i, j, volume, baseline, z in find_spikes(v, o.k, o.min_volume):
            began = pd.Timestamp(first) + pd.Timedelta(hours=i)
            if start is not None and began < start:
                continue
            p, n = pos[i:j + 1].sum(), neg[i:j + 1].sum()
            out.append({"started_at": began, "ended_at": pd.Timestamp(first) + pd.Timedelta(hours=j + 1),
                        "subject": subject, "volume": volume, "baseline": baseline, "z": round(z, 4),
                        "net_sentiment": (p - n) / (p + n) if p + n else np.nan})
    frame = pd.DataFrame(out, columns=SPIKE_COLUMNS)
    if frame.empty:
        return spikes_empty()
    for c in ("started_at", "ended_at"):
        frame[c] = frame[c].astype("datetime64[us]")
    return frame.sort_values(["started_at", "subject"], ascending=[False, True], ignore_index=True)


def spikes_empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c.endswith("_at") else
                                      ("object" if c == "subject" else "float64")) for c in SPIKE_COLUMNS})


@measure("mention_list",
         "The inbound interactions of a hashtag or campaign in a time window, most negative first: "
         "what they are saying, with the first reply's delay", "interactions", SECTION,
         options=MentionOptions, reads=("mentions",), higher_is_better=None)
def mention_list(src: Source, o: MentionOptions) -> pd.DataFrame:
    """Columns: occurred_at, channel, member_id, text, lang, sentiment, label, hashtags, campaign,
    answerable (as for the response rate: activity by a member, with an id, an action that asks for
    an answer), replied_at, reply_hours."""
    conds = ["TRUE"]
    params: dict = {}
    if o.subject.startswith("#"):
        conds.append("list_contains(m.tags, $subject)")
        params["subject"] = o.subject[1:].lower()
    elif o.subject:
        conds.append("m.campaign = $subject")
        params["subject"] = o.subject
    if o.start:
        conds.append("m.ts >= $t0")
        params["t0"] = datetime.fromisoformat(o.start)
    if o.end:
        conds.append("m.ts < $t1")
        params["t1"] = datetime.fromisoformat(o.end)
    limit = f"LIMIT {int(o.limit)}" if o.limit else ""
    sql = f"""
        WITH {src.mentions()}
        SELECT m.ts AS occurred_at, m.channel, i.member_id, t.text, m.lang, m.sentiment, m.label,
               array_to_string(list_transform(m.tags, lambda x: '#' || x), ' ') AS hashtags, m.campaign,
               (m.activity AND m.id IS NOT NULL AND {d.answerable('m.action')}) AS answerable, m.replied_at,
               round({d.reply_seconds('m.ts', 'm.replied_at')} / 3600.0, 2) AS reply_hours
        FROM mentions m LEFT JOIN {src.texts()} t USING (text_key) LEFT JOIN {src.dim} i USING (mk)
        WHERE {' AND '.join(conds)}
        ORDER BY m.sentiment ASC NULLS LAST, m.ts, t.text {limit}"""
    return src.run(sql, not_answerable=list(o.not_answerable), **params)


@measure("topics",
         "Inbound interactions per period and topic (an interaction belongs to every topic one of whose "
         "keywords its text holds), their share of all texted inbound interactions, net sentiment",
         "interactions", SECTION, options=GrainOptions, reads=("mentions", "text_topics"), higher_is_better=None)
def topics(src: Source, o: GrainOptions) -> pd.DataFrame:
    """Columns: period, topic, interactions, share, net_sentiment (topics from the workspace's rules,
    edited on the Listening page)."""
    sql = f"""
        WITH {src.mentions()},
        texted AS (SELECT {trunc(o.grain, 'day')} AS period, text_key, label FROM mentions WHERE text_key IS NOT NULL),
        tot AS (SELECT period, count(*) AS n FROM texted GROUP BY 1)
        SELECT t.period, tt.topic, count(*) AS interactions, count(*) / any_value(tot.n) AS share,
               {NET} AS net_sentiment
        FROM texted t JOIN {src.text_topics()} tt USING (text_key) JOIN tot USING (period)
        GROUP BY 1, 2 ORDER BY 1, interactions DESC, 2"""
    return src.run(sql)


@measure("share_of_voice",
         "Our terms' share of the inbound interactions that name us or a competitor, per period: "
         "own / (own + competitors)", "share", SECTION, options=VoiceOptions, reads=("mentions",),
         higher_is_better=True)
def share_of_voice(src: Source, o: VoiceOptions) -> pd.DataFrame:
    """Columns: period, term ('(all ours)' when no own terms are given), own, interactions,
    share_of_voice (of the period's own + competitor interactions)."""
    terms = [(t, True) for t in o.own] + [(t, False) for t in o.competitors if t not in o.own]
    texted = f"""WITH {src.mentions()}
        SELECT {trunc(o.grain, 'day')} AS period, lower(t.text) AS text
        FROM mentions m JOIN {src.texts()} t USING (text_key)"""
    # One query per term: a constant pattern is compiled once (a pattern per row would be compiled
    # for every row). The contains() test skips the regex for texts without the term at all.
    parts = [src.run(f"""WITH x AS ({texted}) SELECT period, $term AS term, $own AS own, count(*) AS interactions
                         FROM x WHERE contains(text, $term) AND regexp_matches(text, $pattern) GROUP BY 1""",
                     term=term, own=own, pattern=_word(term)) for term, own in terms]
    if not o.own:
        parts.append(src.run(f"""WITH x AS ({texted}) SELECT period, '(all ours)' AS term, TRUE AS own,
                                 count(*) AS interactions FROM x GROUP BY 1"""))
    frame = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True) if parts else \
        pd.DataFrame(columns=["period", "term", "own", "interactions"])
    frame["interactions"] = frame["interactions"].astype("int64")
    frame["share_of_voice"] = frame["interactions"] / frame.groupby("period")["interactions"].transform("sum")
    frame["own_rank"] = ~frame["own"].astype(bool)
    return frame.sort_values(["period", "own_rank", "interactions", "term"], ascending=[True, True, False, True],
                             ignore_index=True).drop(columns="own_rank")


def _word(term: str) -> str:
    """A regex (RE2) for ``term`` on word boundaries; the term's own characters are escaped."""
    escaped = "".join(c if c.isalnum() or c == " " else "\\" + c for c in term)
    return f"(?:^|[^\\pL\\pN_]){escaped}(?:$|[^\\pL\\pN_])"


# ------------------------------------------------------------------------------------------------
# Alert rules: a spike is news (the Overview, the Listening page and the report say it alike)
# ------------------------------------------------------------------------------------------------
def spike_key(row: dict) -> str:
    """A spike's identity: its subject and first hour."""
    return f"{row['subject']}|{pd.Timestamp(row['started_at']):%Y-%m-%dT%H:%M}"


def times_usual(volume: float, baseline: float) -> str:
    if baseline <= 0:
        return f"{volume:,.0f} messages where there are usually none"
    return f"{volume / baseline:,.0f}× its usual volume"


def _window(started: pd.Timestamp, ended: pd.Timestamp) -> str:
    last = ended - pd.Timedelta(minutes=1)
    if last.date() == started.date():
        until = "24:00" if ended.date() != started.date() else f"{ended:%H:%M}"
        return f"on {started:%d %b %Y} {started:%H:%M}–{until}"
    return f"from {started:%d %b %Y %H:%M} to {ended:%d %b %H:%M}"


EPISODE_GAP = pd.Timedelta(hours=12)  # spikes closer than this are one burst of news


def spike_alerts(spikes: pd.DataFrame, limit: int = 3) -> list[str]:
    """One sentence per burst, the largest bursts first: spikes (of any subject) less than 12 h
    apart are one burst, named after its largest spike (a hashtag before a campaign of the same
    size), with the other subjects that spiked in it."""
    if spikes is None or spikes.empty:
        return []
    rows = spikes.sort_values("started_at").to_dict("records")
    bursts: list[list[dict]] = []
    for row in rows:
        if bursts and row["started_at"] - max(r["ended_at"] for r in bursts[-1]) < EPISODE_GAP:
            bursts[-1].append(row)
        else:
            bursts.append([row])
    rank = lambda r: (r["volume"], r["z"], r["subject"].startswith("#"))  # noqa: E731 - a hashtag names a tie
    leads = sorted(((max(b, key=rank), b) for b in bursts),
                   key=lambda x: (x[0]["volume"], x[0]["z"]), reverse=True)[:limit]
    out = []
    for lead, burst in leads:
        others = sorted({r["subject"] for r in burst} - {lead["subject"]})
        also = f" (also {', '.join(others)})" if others else ""
        net = lead["net_sentiment"]
        mood = "" if pd.isna(net) else f", net sentiment {net:+.2f}".replace("-", "−")
        out.append(f"{lead['subject']}{also}: {times_usual(lead['volume'], lead['baseline'])} "
                   f"{_window(pd.Timestamp(lead['started_at']), pd.Timestamp(lead['ended_at']))} "
                   f"({lead['volume']:,.0f} messages{mood}).")
    return out
