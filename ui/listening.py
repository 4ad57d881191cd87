"""The Listening page's editors: topic rules (stored in the workspace) and scoring the texts again."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from derived import sync as derived
from derived.text import SCORER
from metrics.listening import spike_key, times_usual
from ui import charts as ch
from ui import db
from ui.downloads import download
from ui.widgets import plain


def _rules_frame(rules: dict) -> pd.DataFrame:
    # Text columns even when there are no rules yet (an empty frame would be float: not editable as text).
    return pd.DataFrame({"topic": pd.Series(list(rules), dtype="string"),
                         "keywords": pd.Series([", ".join(k) for k in rules.values()], dtype="string")})


def _from_frame(frame: pd.DataFrame) -> dict[str, list[str]]:
    rules: dict[str, list[str]] = {}
    for i, row in enumerate(frame.fillna("").to_dict("records"), start=1):
        topic, words = str(row["topic"]).strip(), str(row["keywords"])
        if not topic and not words.strip():
            continue
        if not topic:
            raise ValueError(f"row {i} has keywords but no topic name")
        if topic in rules:
            raise ValueError(f"topic {topic!r} is listed twice (row {i})")
        rules[topic] = [w for w in words.split(",") if w.strip()]
    return rules


def topic_editor(workspace: str, rules: dict, suggestions: pd.DataFrame) -> None:
    """An editable table of topics and keywords with suggested keywords beside it; saving matches
    every stored text with the new rules (the page's numbers follow at once)."""
    with st.expander("Edit topics", icon=":material/edit:", expanded=not rules):
        left, right = st.columns([3, 2])
        with left, st.form("topic-form", border=False):
            edited = st.data_editor(
                _rules_frame(rules), num_rows="dynamic", hide_index=True, width="stretch", key="topic-rules",
                column_config={
                    "topic": st.column_config.TextColumn("topic", required=True, help="A short name: delays, refunds …"),
                    "keywords": st.column_config.TextColumn(
                        "keywords (comma-separated)", width="large",
                        help="Words match every form of the word (vertraging also finds vertragingen); a phrase with "
                             "a space matches as written. Write each in every language your customers use.")})
            saved = st.form_submit_button("Save topics", icon=":material/save:", type="primary")
        with right:
            st.markdown("**Suggested keywords**")
            st.caption("Words many messages use that no topic has yet (common words left out).")
            if suggestions.empty:
                st.caption("No texts to suggest from.")
            else:
                st.dataframe(suggestions, hide_index=True, height=260, column_config={
                    "interactions": st.column_config.NumberColumn("messages", format="localized"),
                    "net_sentiment": st.column_config.NumberColumn("net sentiment", format="%+.2f")})
        if saved:
            try:
                new = _from_frame(edited)
                with st.spinner("Matching every text with the topics…"):
                    derived.set_topics(db.root(workspace), new)
            except (ValueError, duckdb.Error) as exc:
                st.error(f"Topics not saved: {plain(exc)}", icon=":material/error:")
            else:
                st.toast(f"Saved {len(new)} topic{'s' if len(new) != 1 else ''}.", icon=":material/check:")
                st.rerun()


def rescore_button(workspace: str, has_text: bool) -> None:
    with st.expander("How texts are read", icon=":material/translate:"):
        st.markdown(
            "Each text gets a **language** (English, Dutch or German, by lingua), a **sentiment** from −1 to 1 by a "
            "lexicon for its language (VADER for English, the Pattern lexicons for Dutch and German) and its "
            "**hashtags**; the export's own sentiment column wins where it has one. Everything runs on this machine; "
            f"nothing is sent anywhere. Scorers: `{SCORER}`.")
        if not has_text:
            st.caption("This workspace holds no texts yet.")
            return
        if st.button("Score every text again", icon=":material/refresh:",
                     help="After an update of the scorers; the tables the pages read are rebuilt too."):
            with st.status("Scoring every text again…", expanded=True) as status:
                bar = st.progress(0.0, text="Starting…")
                try:
                    derived.rescore(db.root(workspace), lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
                except Exception as exc:  # noqa: BLE001 - a scorer's own error too: said, never a traceback
                    status.update(label=f"Not done (the old scores stay): {plain(exc)}", state="error")
                    return
                status.update(label="Every text scored again", state="complete", expanded=False)
            st.rerun()


SHOWN = 200  # messages in the table (the download holds every one the view kept)


def spike_table(spikes: pd.DataFrame) -> None:
    """The spikes of the range with their size against the usual volume, and a download."""
    shown = spikes.assign(times=(spikes["volume"] / spikes["baseline"].where(spikes["baseline"] > 0)))
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
    download(spikes, "spikes", key="listen-spikes")


def spike_detail(spikes: pd.DataFrame, d) -> None:
    """One spike (chosen in a select box): its size, tone and our webcare during it next to the
    usual, and its messages, most negative first (filter by language and tone; download)."""
    keys = [spike_key(r) for r in spikes.to_dict("records")]
    labels = {spike_key(r): f"{r['subject']} · {pd.Timestamp(r['started_at']):%d-%m-%Y %H:%M} · {r['volume']:,.0f} messages"
              for r in spikes.to_dict("records")}
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
    f1, f2 = st.columns(2)
    langs = f1.multiselect("Language", sorted(d.messages["lang"].dropna().unique()), placeholder="All languages",
                           key="listen-lang")
    tones = f2.multiselect("Tone", ["negative", "neutral", "positive"], placeholder="Every tone", key="listen-tone")
    msgs = d.messages
    if langs:
        msgs = msgs[msgs["lang"].isin(langs)]
    if tones:
        msgs = msgs[msgs["label"].isin(tones)]
    st.dataframe(msgs.head(SHOWN).drop(columns=["answerable"]), hide_index=True, placeholder="–", height=320,
                 column_config={
                     "occurred_at": st.column_config.DatetimeColumn("when", format="DD-MM-YYYY HH:mm"),
                     "text": st.column_config.TextColumn("text", width="large"),
                     "sentiment": st.column_config.NumberColumn("sentiment", format="%+.2f"),
                     "label": st.column_config.TextColumn("tone"),
                     "lang": st.column_config.TextColumn("language"),
                     "replied_at": st.column_config.DatetimeColumn("our first reply", format="DD-MM-YYYY HH:mm"),
                     "reply_hours": st.column_config.NumberColumn("reply after (h)", format="%.1f")})
    st.caption(f"The most negative {min(SHOWN, len(msgs)):,} of {len(msgs):,} messages"
               + (" in this language and tone" if langs or tones else "")
               + (f" (the spike has {d.total:,}; the download holds the {len(msgs):,})." if len(msgs) > SHOWN else "."))
    download(msgs, f"spike-messages-{r['subject'].lstrip('#')}", key="listen-msgs")
