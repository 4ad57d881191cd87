"""The Listening page's view: what customers say (hashtags, campaigns, sentiment, topics), the
spikes that stand out (a hijacked campaign hashtag) with the messages of one and our webcare
response during it, and our share of voice (METRICS.md, "Listening")."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from derived.sync import topic_rules
from metrics import Filters
from metrics.listening import spike_alerts, spike_key
from metrics.queries import suggest_keywords
from views.common import complete, computer, data_end, period_label, tiles_period
from views.tiles import Headline, fmt_int, fmt_num, fmt_pct, fmt_pp, fmt_signed_int, headline

TOP_HASHTAGS = 8
MESSAGES_KEPT = 5000  # of a spike, most negative first (the page shows 200 of them, filtered)


@dataclass(frozen=True)
class ListeningSettings:
    grain: str = "month"
    spike: str | None = None  # spike_key of the chosen spike (default: the largest in the range)
    competitors: tuple[str, ...] = ()
    own: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpikeDetail:
    key: str
    row: dict
    messages: pd.DataFrame  # the most negative first (MESSAGES_KEPT at most)
    total: int
    answerable: int
    answered: int
    median_reply_hours: float | None
    usual_rate: float | None  # the range's response rate and median first response (all answerable messages)
    usual_median_hours: float | None


@dataclass(frozen=True)
class ListeningView:
    grain: str
    tiles: tuple[Headline, ...]
    period_note: str
    alerts: tuple[str, ...]
    volume: pd.DataFrame  # hashtag_volume of the top hashtags, with subject = '#tag'
    campaigns: pd.DataFrame  # net_sentiment by campaign
    campaign_volume: pd.DataFrame  # per period and campaign (subject): interactions, net_sentiment
    sentiment: pd.DataFrame  # net_sentiment per period and channel
    overall: pd.DataFrame  # per period: interactions, scored, positive, neutral, negative, net_sentiment
    spikes: pd.DataFrame
    detail: SpikeDetail | None
    topics: pd.DataFrame
    rules: dict
    suggestions: pd.DataFrame  # keywords no topic uses yet (metrics.queries.suggest_keywords)
    voice: pd.DataFrame | None
    has_text: bool

    @property
    def empty(self) -> bool:
        return self.overall.empty or self.overall["interactions"].sum() == 0


def compute(con: duckdb.DuckDBPyConnection, filters: Filters, s: ListeningSettings) -> ListeningView:
    g, c = s.grain, computer(con)
    m = lambda name, **o: c.frame(name, filters, **o)  # noqa: E731
    sentiment = m("net_sentiment", grain=g)
    overall = _overall(sentiment)
    volume = m("hashtag_volume", grain=g, top=TOP_HASHTAGS)
    campaigns = m("net_sentiment", grain=g, by_campaign=True)
    spikes = m("spikes")
    end = data_end(con)
    done = complete(overall, g, end, filters)
    label = lambda p: period_label(p, g)  # noqa: E731
    tiles = (
        headline("Inbound interactions", done, "interactions", fmt=fmt_int, delta_fmt=fmt_signed_int, period_label=label,
                 help="Everything customers and others sent us in the period (members, unknown handles and "
                      "anonymous contacts alike)."),
        headline("Net sentiment", done, "net_sentiment", fmt=lambda v: fmt_num(v, 2), delta_fmt=lambda d: f"{d:+.2f}",
                 period_label=label,
                 help="(positive − negative) / (positive + negative) of the period's inbound interactions with a "
                      "sentiment: the export's own value, else the score of the text."),
        headline("Negative share", done, "negative_share", fmt=fmt_pct, delta_fmt=fmt_pp, lower_is_better=True,
                 period_label=label, help="Negative interactions / interactions with a sentiment."),
    )
    detail = _detail(c, filters, spikes, s.spike)
    own = s.own
    voice = m("share_of_voice", grain=g, own=own, competitors=s.competitors) if s.competitors else None
    with con.cursor() as cur:
        rules = topic_rules(cur)
        suggestions = suggest_keywords(cur)
        has_text = bool(cur.execute("SELECT EXISTS (SELECT 1 FROM text_scores)").fetchall()[0][0])
    note = f"Tiles: {tiles_period(done, g, end, filters)} against the {g} before."
    volume = volume.assign(subject="#" + volume["hashtag"])
    return ListeningView(g, tiles, note, tuple(spike_alerts(spikes)), volume, campaigns, _per_campaign(campaigns),
                         sentiment, overall, spikes,
                         detail, m("topics", grain=g), rules, suggestions, voice, has_text)


def _overall(sentiment: pd.DataFrame) -> pd.DataFrame:
    cols = ["interactions", "scored", "positive", "neutral", "negative"]
    if sentiment.empty:
        return pd.DataFrame(columns=["period", *cols, "net_sentiment", "negative_share"])
    out = sentiment.groupby("period", as_index=False)[cols].sum()
    pn = out["positive"] + out["negative"]
    out["net_sentiment"] = ((out["positive"] - out["negative"]) / pn).where(pn > 0)
    out["negative_share"] = (out["negative"] / out["scored"]).where(out["scored"] > 0)
    return out


def _per_campaign(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The by-campaign sentiment rows summed over channels: period, subject, interactions, net_sentiment."""
    if campaigns.empty:
        return pd.DataFrame(columns=["period", "subject", "interactions", "net_sentiment"])
    out = campaigns.groupby(["period", "campaign"], as_index=False)[["interactions", "positive", "negative"]].sum()
    pn = out["positive"] + out["negative"]
    out["net_sentiment"] = ((out["positive"] - out["negative"]) / pn).where(pn > 0)
    return out.rename(columns={"campaign": "subject"})[["period", "subject", "interactions", "net_sentiment"]]


def _detail(c, filters: Filters, spikes: pd.DataFrame, chosen: str | None) -> SpikeDetail | None:
    if spikes.empty:
        return None
    keys = [spike_key(r) for r in spikes.to_dict("records")]
    if chosen not in keys:
        chosen = keys[int(spikes["volume"].to_numpy().argmax())]
    row = spikes.iloc[keys.index(chosen)].to_dict()
    msgs = c.frame("mention_list", filters, subject=row["subject"], start=row["started_at"].isoformat(),
                   end=row["ended_at"].isoformat(), limit=0)
    answerable = msgs[msgs["answerable"]]
    answered = answerable["replied_at"].notna()
    usual = c.frame("first_response_time", filters, by="overall")
    usual_rate = usual_hours = None
    if not usual.empty and "response_rate" in usual:
        usual_rate = usual["response_rate"].iloc[0]
        usual_hours = usual["median_hours"].iloc[0]
    hours = answerable.loc[answered, "reply_hours"]
    return SpikeDetail(chosen, row, msgs.head(MESSAGES_KEPT), len(msgs), len(answerable), int(answered.sum()),
                       float(hours.median()) if len(hours) else None,
                       None if usual_rate is None or pd.isna(usual_rate) else float(usual_rate),
                       None if usual_hours is None or pd.isna(usual_hours) else float(usual_hours))
