"""The Listening page's editors: topic rules (stored in the workspace) and scoring the texts again."""

from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from derived import sync as derived
from derived.text import SCORER
from ui import db
from ui.widgets import plain


def _rules_frame(rules: dict) -> pd.DataFrame:
    return pd.DataFrame({"topic": list(rules), "keywords": [", ".join(k) for k in rules.values()]},
                        columns=["topic", "keywords"])


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
                except duckdb.Error as exc:
                    status.update(label=f"Not done: {plain(exc)}", state="error")
                    return
                status.update(label="Every text scored again", state="complete", expanded=False)
            st.rerun()
