"""Listening: what customers say — hashtags, campaigns, sentiment, topics — and the spikes that stand out.

Widgets -> one view (views.listening, cached on the data) -> charts (ui.charts); topic rules are
edited here (derived.sync.set_topics)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.listening import spike_key, times_usual
from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.listening import rescore_button, topic_editor
from ui.widgets import computing, header, plain, tiles
from views.listening import ListeningSettings

ctx = sidebar()
header("Listening", "Paying attention: what customers say about you, in their own words. Campaign hashtags get "
       "hijacked — a spike of negative messages is news for the webcare team within the hour.")
if empty_state(ctx):
    st.stop()


def _terms(key: str) -> tuple[str, ...]:
    return tuple(sorted({t.strip().lower() for t in (st.session_state.get(key) or "").split(",") if t.strip()}))


settings = ListeningSettings(ctx.grain, st.session_state.get("listen-spike"), _terms("listen-rivals"), _terms("listen-own"))
with computing(what="listening"):
    v = db.view("listening", ctx.workspace, ctx.filters, settings)

if v.empty:
    st.info("No inbound interactions in the chosen filters. Widen the date range or clear the channel, segment or "
            "campaign filter in the sidebar.", icon=":material/filter_alt_off:")
    st.stop()
for text in v.alerts:
    st.error(plain(text), icon=":material/campaign:")
st.caption(v.period_note)
tiles(v.tiles, per_row=3)

st.subheader("Hashtags and spikes")
ch.explain(f"Inbound interactions per {ctx.grain} for the {len(v.volume['hashtag'].unique()) if len(v.volume) else 0} "
           "most used hashtags; red lines mark spikes: hours with far more messages about a hashtag or campaign "
           "than the same hour of the week usually has.")
if v.volume.empty:
    st.info("No hashtags in these interactions: map a text or hashtags column on the Data page.", icon=":material/tag:")
else:
    ch.show(ch.volume_with_spikes(v.volume, v.spikes, ctx.grain))
    download(v.volume, f"hashtag-volume-{ctx.grain}", key="listen-volume")

if v.spikes.empty:
    st.success("No spikes in the range: no hashtag or campaign had an hour far above its usual volume.",
               icon=":material/check_circle:")
else:
    shown = v.spikes.assign(times=(v.spikes["volume"] / v.spikes["baseline"].where(v.spikes["baseline"] > 0)))
    st.dataframe(shown, hide_index=True, placeholder="–", height=min(36 * (len(shown) + 1) + 2, 320),
                 column_config={
                     "started_at": st.column_config.DatetimeColumn("from", format="DD-MM-YYYY HH:mm"),
                     "ended_at": st.column_config.DatetimeColumn("until", format="DD-MM-YYYY HH:mm"),
                     "subject": st.column_config.TextColumn("hashtag / campaign"),
                     "volume": st.column_config.NumberColumn("messages", format="localized"),
                     "baseline": st.column_config.NumberColumn("usual", format="%.0f",
                                                               help="Sum of the usual volume of those hours (median of "
                                                                    "the same hour in the previous 4 weeks)."),
                     "times": st.column_config.NumberColumn("× usual", format="%.0f×"),
                     "z": st.column_config.NumberColumn("z", format="%.1f", help="The largest hour's (volume − usual) "
                                                        "/ spread; a spike hour has z ≥ 4 and at least 10 messages."),
                     "net_sentiment": st.column_config.NumberColumn("net sentiment", format="%+.2f")})
    download(v.spikes, "spikes", key="listen-spikes")

    d = v.detail
    keys = [spike_key(r) for r in v.spikes.to_dict("records")]
    labels = {spike_key(r): f"{r['subject']} · {pd.Timestamp(r['started_at']):%d-%m-%Y %H:%M} · {r['volume']:,.0f} messages"
              for r in v.spikes.to_dict("records")}
    st.markdown("**What are they saying?**")
    st.selectbox("Spike", keys, index=keys.index(d.key), format_func=labels.get, key="listen-spike",
                 help="The messages of one spike, most negative first.")
    r = d.row
    cols = st.columns(4)
    cols[0].metric("Messages", ch.fmt_int(d.total), border=True, help=times_usual(r["volume"], r["baseline"]) + ".")
    cols[1].metric("Net sentiment", "–" if pd.isna(r["net_sentiment"]) else f"{r['net_sentiment']:+.2f}", border=True)
    rate = d.answered / d.answerable if d.answerable else None
    cols[2].metric("Answered during the spike", ch.fmt_pct(rate), border=True,
                   delta=None if rate is None or d.usual_rate is None else f"{(rate - d.usual_rate) * 100:+.0f} pp vs usual",
                   help=f"{d.answered:,} of the {d.answerable:,} messages that can be answered got a reply from us; "
                        f"usually (the whole range) {ch.fmt_pct(d.usual_rate)}.")
    cols[3].metric("Median first reply", "–" if d.median_reply_hours is None else f"{d.median_reply_hours:.1f} h",
                   border=True, delta_color="inverse",
                   delta=None if d.median_reply_hours is None or d.usual_median_hours is None
                   else f"{d.median_reply_hours - d.usual_median_hours:+.1f} h vs usual",
                   help="Median time to our first reply to the answered messages of the spike; usually "
                        + ("–" if d.usual_median_hours is None else f"{d.usual_median_hours:.1f} h") + ".")
    st.dataframe(d.messages.drop(columns=["answerable"]), hide_index=True, placeholder="–", height=320,
                 column_config={
                     "occurred_at": st.column_config.DatetimeColumn("when", format="DD-MM-YYYY HH:mm"),
                     "text": st.column_config.TextColumn("text", width="large"),
                     "sentiment": st.column_config.NumberColumn("sentiment", format="%+.2f"),
                     "label": st.column_config.TextColumn("tone"),
                     "lang": st.column_config.TextColumn("language"),
                     "replied_at": st.column_config.DatetimeColumn("our first reply", format="DD-MM-YYYY HH:mm"),
                     "reply_hours": st.column_config.NumberColumn("reply after (h)", format="%.1f")})
    st.caption(f"The {min(d.total, len(d.messages)):,} most negative of {d.total:,} messages.")
    download(d.messages, f"spike-messages-{r['subject'].lstrip('#')}", key="listen-msgs")

st.subheader("Sentiment")
ch.explain("Inbound interactions by tone: the export's own sentiment where it has one, else the score of the text "
           "(positive above 0.05, negative below −0.05). Net sentiment = (positive − negative) / (positive + negative).")
a, b = st.columns(2)
with a:
    ch.show(ch.sentiment_bars(v.overall, ctx.grain))
    download(v.overall, f"sentiment-{ctx.grain}", key="listen-overall")
with b:
    ch.show(ch.share_lines(v.sentiment, "net_sentiment", ctx.grain, "channel", y_title="net sentiment", fmt="+.2f",
                           extra=(ch.alt.Tooltip("scored:Q", title="with a sentiment", format=",.0f"),)))
    download(v.sentiment, f"net-sentiment-by-channel-{ctx.grain}", key="listen-channel")
if not v.campaigns.empty:
    st.markdown("**Campaigns**")
    camp = v.campaigns.groupby("campaign", as_index=False)[["interactions", "positive", "neutral", "negative"]].sum()
    pn = camp["positive"] + camp["negative"]
    camp["net_sentiment"] = ((camp["positive"] - camp["negative"]) / pn).where(pn > 0)
    st.dataframe(camp.sort_values("interactions", ascending=False), hide_index=True, placeholder="–",
                 column_config={"net_sentiment": st.column_config.NumberColumn("net sentiment", format="%+.2f")})
    download(v.campaigns, f"net-sentiment-by-campaign-{ctx.grain}", key="listen-camp")

st.subheader("Topics")
ch.explain("What the messages are about: an interaction belongs to every topic one of whose keywords its text holds "
           "(a word also matches its other forms: vertraging, vertragingen). Share = of all inbound interactions with a text.")
if not v.rules:
    st.info("No topics yet: add some below (suggested keywords come from your texts).", icon=":material/topic:")
elif v.topics.empty:
    st.info("No text in the range matches a topic's keywords.", icon=":material/topic:")
else:
    ch.show(ch.share_lines(v.topics, "share", ctx.grain, "topic", y_title="share of texted interactions",
                           extra=(ch.alt.Tooltip("interactions:Q", format=",.0f"),
                                  ch.alt.Tooltip("net_sentiment:Q", title="net sentiment", format="+.2f"))))
    download(v.topics, f"topics-{ctx.grain}", key="listen-topics")
topic_editor(ctx.workspace, v.rules, v.suggestions)

st.subheader("Share of voice")
ch.explain("Name your competitors: their share of the messages that mention you or them (own terms empty = every "
           "message in your data counts as about you).")
a, b = st.columns(2)
a.text_input("Competitor terms", key="listen-rivals", placeholder="e.g. klm, transavia", help="Comma-separated.")
b.text_input("Own terms (optional)", key="listen-own", placeholder="e.g. skyloop", help="Comma-separated.")
if v.voice is None:
    st.caption("Enter competitor terms to compare.")
elif v.voice.empty:
    st.info("No message in the range names these terms.")
else:
    ch.show(ch.share_lines(v.voice, "share_of_voice", ctx.grain, "term", y_title="share of voice",
                           extra=(ch.alt.Tooltip("interactions:Q", format=",.0f"),)))
    download(v.voice, f"share-of-voice-{ctx.grain}", key="listen-voice")

rescore_button(ctx.workspace, v.has_text)
