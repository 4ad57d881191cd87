"""Listening: what customers say — hashtags, campaigns, sentiment, topics — and the spikes that stand out.

Widgets -> one view (views.listening, cached on the data) -> charts (ui.charts); topic rules are
edited here (derived.sync.set_topics)."""

from __future__ import annotations

import streamlit as st

from ui import charts as ch
from ui import db
from ui.context import empty_state, sidebar
from ui.downloads import download
from ui.listening import rescore_button, spike_detail, spike_table, topic_editor
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

st.subheader("Hashtags, campaigns and spikes")
kind = st.segmented_control("Show", ["Hashtags", "Campaigns"], default="Hashtags", key="listen-kind") or "Hashtags"
volume = v.volume if kind == "Hashtags" else v.campaign_volume
ch.explain(f"Inbound interactions per {ctx.grain} "
           + (f"for the {volume['subject'].nunique()} most used hashtags" if kind == "Hashtags" else "per campaign tag")
           + "; red lines mark spikes: hours with far more messages about a hashtag or campaign than the same hour of "
             "the week usually has.")
if volume.empty:
    st.info(f"No {kind.lower()} in these interactions: map a text, hashtags or campaign column on the Data page.",
            icon=":material/tag:")
else:
    ch.show(ch.volume_with_spikes(volume, v.spikes, ctx.grain))
    download(volume, f"{kind.lower()}-volume-{ctx.grain}", key="listen-volume")

if v.spikes.empty:
    st.success("No spikes in the range: no hashtag or campaign had an hour far above its usual volume.",
               icon=":material/check_circle:")
else:
    spike_table(v.spikes)
    spike_detail(v.spikes, v.detail)

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
    ch.show(ch.share_lines(v.topics, "share", ctx.grain, "topic", y_title="share of texts",
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
