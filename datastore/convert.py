"""SQL expressions that turn a raw text cell into a canonical value, and name why one fails.

Each builder takes a SQL reference to the *cleaned* cell (``cleaned()``: trimmed, NULL when
empty or a null marker) and returns
``(value_sql, error_sql)``: the typed value, and a text that is non-NULL exactly when the cell
holds something that cannot be converted (the reject reason). Empty cells and the usual
"nothing here" markers become NULL without error. Only constants from this module and
validated options are put into SQL text; file content only ever flows through the data.
"""

from __future__ import annotations

CHANNEL_SYNONYMS: dict[str, str] = {
    "twitter": "x", "x": "x", "x twitter": "x", "x (twitter)": "x", "tweet": "x", "tw": "x",
    "facebook": "facebook", "fb": "facebook", "meta": "facebook", "messenger": "facebook",
    "facebook messenger": "facebook",
    "instagram": "instagram", "ig": "instagram", "insta": "instagram",
    "linkedin": "linkedin", "li": "linkedin", "linked in": "linkedin",
    "forum": "forum", "community": "forum", "discourse": "forum", "gemeenschap": "forum",
    "email": "email", "e-mail": "email", "mail": "email", "e mail": "email",
    "phone": "phone", "telephone": "phone", "telefoon": "phone", "telefon": "phone",
    "tel": "phone", "call": "phone", "phone call (incoming)": "phone",
    "phone call (outgoing)": "phone", "voice": "phone", "anruf": "phone",
    "chat": "chat", "live chat": "chat", "webchat": "chat", "web chat": "chat",
    "whatsapp": "whatsapp", "wa": "whatsapp",
    "store": "store", "shop": "store", "winkel": "store", "filiaal": "store", "balie": "store",
    "in person": "store", "in-person": "store", "in store": "store", "visit": "store",
    "meeting": "store", "geschaft": "store", "geschäft": "store", "laden": "store",
    "filiale": "store", "desk": "store",
    "web": "web", "web form": "web", "webform": "web", "website": "web", "portal": "web",
    "webshop": "webshop", "web shop": "webshop", "online": "webshop",
    "app": "app", "mobile": "app", "mobile app": "app",
    "youtube": "youtube", "yt": "youtube", "tiktok": "tiktok",
}

ACTION_SYNONYMS: dict[str, str] = {
    "tweet": "post", "post": "post", "bericht": "post", "beitrag": "post", "status": "post",
    "retweet": "share", "repost": "share", "share": "share", "delen": "share", "teilen": "share",
    "gedeeld": "share",
    "like": "like", "likes": "like", "favorite": "like", "favourite": "like",
    "reaction": "like", "vind ik leuk": "like", "gefallt mir": "like",
    "comment": "comment", "reactie": "comment", "kommentar": "comment", "opmerking": "comment",
    "reply": "reply", "antwoord": "reply", "antwort": "reply", "answer": "reply",
    "mention": "mention", "vermelding": "mention", "erwahnung": "mention", "erwähnung": "mention",
    "review": "review", "beoordeling": "review", "recensie": "review", "bewertung": "review",
    "call": "call", "gesprek": "call", "telefoongesprek": "call", "anruf": "call",
    "visit": "visit", "bezoek": "visit", "besuch": "visit",
    "email": "email", "e-mail": "email", "mail": "email",
    "chat": "chat", "message": "message", "dm": "message", "direct message": "message",
    "view": "view", "follow": "follow", "volgen": "follow", "folgen": "follow",
    "question": "question", "vraag": "question", "frage": "question",
    "complaint": "complaint", "klacht": "complaint", "beschwerde": "complaint",
    "ticket": "ticket", "meeting": "meeting", "afspraak": "meeting", "termin": "meeting",
}

DIRECTION_SYNONYMS: dict[str, str] = {
    **{k: "inbound" for k in (
        "inbound", "in", "incoming", "received", "customer", "klant", "kunde", "ontvangen",
        "inkomend", "eingehend", "from customer", "user", "member", "i",
    )},
    **{k: "outbound" for k in (
        "outbound", "out", "outgoing", "sent", "company", "bedrijf", "organisation",
        "organization", "brand", "agent", "verzonden", "uitgaand", "ausgehend", "unternehmen",
        "firma", "we", "us", "o", "staff", "employee",
    )},
}

SENTIMENT_LABELS: dict[str, float] = {
    **{k: 1.0 for k in ("positive", "pos", "positief", "positiv", "+", "good", "goed", "gut")},
    **{k: 0.0 for k in ("neutral", "neu", "neutraal", "0", "mixed", "gemengd", "gemischt")},
    **{k: -1.0 for k in ("negative", "neg", "negatief", "negativ", "-", "bad", "slecht", "schlecht")},
}

BOOLEAN_WORDS: dict[str, bool] = {
    **{k: True for k in ("true", "t", "yes", "y", "1", "ja", "j", "waar", "wahr", "x", "on", "1.0")},
    **{k: False for k in ("false", "f", "no", "n", "0", "nee", "nein", "onwaar", "falsch", "off", "0.0")},
}

NULL_MARKERS = ("", "-", "--", "—", "n/a", "na", "null", "none", "nan", "nat", "#n/a", "(blank)", "(leeg)")


def q(text: str) -> str:
    """A SQL string literal (for constants from this module or validated options)."""
    return "'" + text.replace("'", "''") + "'"


def _in_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(q(v) for v in values) + ")"


def cleaned(raw: str) -> str:
    """Trimmed cell, NULL for empty cells and null markers."""
    return f"CASE WHEN lower(trim({raw})) IN {_in_list(NULL_MARKERS)} THEN NULL ELSE trim({raw}) END"


def _map_case(key: str, table: dict[str, object], literal) -> str:
    whens = " ".join(f"WHEN {q(k)} THEN {literal(v)}" for k, v in table.items())
    return f"CASE {key} {whens} END"


def text_expr(raw: str) -> tuple[str, str]:
    return raw, "NULL"


def id_expr(raw: str) -> tuple[str, str]:
    """Trimmed id; an id exported as a float ('17850.0') is the same as '17850'."""
    c = raw
    return f"regexp_replace({c}, '^([-+]?[0-9]+)\\.0+$', '\\1')", "NULL"


def lookup_expr(raw: str, table: dict[str, str], what: str, keep_unknown: bool) -> tuple[str, str]:
    c = raw
    key = f"lower({c})"
    mapped = _map_case(key, table, q)
    if keep_unknown:
        value = f"coalesce({mapped}, {key})"
        return value, "NULL"
    allowed = ", ".join(sorted(set(table.values())))
    error = (
        f"CASE WHEN {c} IS NOT NULL AND ({mapped}) IS NULL "
        f"THEN 'unknown {what} (expected {allowed})' END"
    )
    return mapped, error


def _number_text(c: str, decimal: str) -> tuple[str, str]:
    """(normalised numeric text, validity condition) for a cleaned cell."""
    stripped = f"regexp_replace({c}, '[€$£[:space:]]|EUR|USD|GBP', '', 'g')"
    if decimal == ",":
        valid = (
            f"regexp_full_match({stripped}, '[-+]?([0-9]{{1,3}}(\\.[0-9]{{3}})+|[0-9]+)(,[0-9]+)?')"
        )
        text = f"replace(replace({stripped}, '.', ''), ',', '.')"
    else:
        valid = (
            f"regexp_full_match({stripped}, '[-+]?([0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]+)(\\.[0-9]+)?([eE][-+]?[0-9]+)?')"
        )
        text = f"replace({stripped}, ',', '')"
    return text, valid


def number_expr(raw: str, decimal: str) -> tuple[str, str]:
    c = raw
    text, valid = _number_text(c, decimal)
    value = f"CASE WHEN {valid} THEN try_cast({text} AS DOUBLE) END"
    sep = "decimal comma" if decimal == "," else "decimal point"
    error = f"CASE WHEN {c} IS NOT NULL AND ({value}) IS NULL THEN 'not a number (file uses a {sep})' END"
    return f"CAST({value} AS DECIMAL(18,4))", error


def integer_expr(raw: str, decimal: str) -> tuple[str, str]:
    c = raw
    text, valid = _number_text(c, decimal)
    dbl = f"CASE WHEN {valid} THEN try_cast({text} AS DOUBLE) END"
    value = f"CASE WHEN {dbl} = round({dbl}) AND abs({dbl}) < 9e18 THEN CAST({dbl} AS BIGINT) END"
    error = f"CASE WHEN {c} IS NOT NULL AND ({value}) IS NULL THEN 'not a whole number' END"
    return value, error


def boolean_expr(raw: str) -> tuple[str, str]:
    c = raw
    mapped = _map_case(f"lower({c})", BOOLEAN_WORDS, lambda v: "TRUE" if v else "FALSE")
    error = f"CASE WHEN {c} IS NOT NULL AND ({mapped}) IS NULL THEN 'not a yes/no value' END"
    return mapped, error


def sentiment_expr(raw: str, decimal: str) -> tuple[str, str]:
    c = raw
    label = _map_case(f"lower({c})", SENTIMENT_LABELS, lambda v: repr(float(v)))
    text, valid = _number_text(c, decimal)
    number = f"CASE WHEN {valid} THEN try_cast({text} AS DOUBLE) END"
    value = f"coalesce({label}, CASE WHEN {number} BETWEEN -1 AND 1 THEN {number} END)"
    error = (
        f"CASE WHEN {c} IS NOT NULL AND ({value}) IS NULL THEN "
        "'not a sentiment (a number from -1 to 1, or positive / neutral / negative)' END"
    )
    return value, error


def timestamp_expr(raw: str, formats: list[str], time_zone: str) -> tuple[str, str]:
    """Wall-clock time in the workspace zone. Formats with a zone (and ISO values with an
    offset) are converted; values without a zone are taken as already in the workspace zone.
    ISO 8601 is always accepted, whatever formats were detected."""
    c = raw
    tz = q(time_zone)
    naive = [f for f in formats if "%z" not in f and "%Z" not in f]
    zoned = [f for f in formats if f not in naive]
    parts = []
    if naive:
        parts.append(f"try_strptime({c}, [{', '.join(q(f) for f in naive)}])")
    if zoned:
        parts.append(f"timezone({tz}, try_strptime({c}, [{', '.join(q(f) for f in zoned)}]))")
    parts.append(
        f"CASE WHEN regexp_matches({c}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
        f"THEN timezone({tz}, try_cast({c} AS TIMESTAMPTZ)) ELSE try_cast({c} AS TIMESTAMP) END"
    )
    value = f"coalesce({', '.join(parts)})"
    shown = " or ".join(example(f) for f in formats[:2]) if formats else "e.g. 2025-12-31 14:05"
    error = f"CASE WHEN {c} IS NOT NULL AND ({value}) IS NULL THEN 'unparseable date (expected {shown})' END"
    return value, error


def example(fmt: str) -> str:
    """A strptime format shown as an example value: '%d-%m-%Y' -> '31-12-2025'."""
    from datetime import datetime, timezone

    return datetime(2025, 12, 31, 14, 5, 0, tzinfo=timezone.utc).strftime(fmt)


def date_expr(raw: str, formats: list[str], time_zone: str) -> tuple[str, str]:
    value, error = timestamp_expr(raw, formats, time_zone)
    return f"CAST({value} AS DATE)", error


def field_expr(kind: str, raw: str, *, decimal: str, formats: list[str], time_zone: str) -> tuple[str, str]:
    """Dispatch on the canonical field kind (see datastore.schema.Field.kind)."""
    if kind == "timestamp":
        return timestamp_expr(raw, formats, time_zone)
    if kind == "date":
        return date_expr(raw, formats, time_zone)
    if kind == "number":
        return number_expr(raw, decimal)
    if kind == "integer":
        return integer_expr(raw, decimal)
    if kind == "boolean":
        return boolean_expr(raw)
    if kind == "sentiment":
        return sentiment_expr(raw, decimal)
    if kind == "id":
        return id_expr(raw)
    if kind == "channel":
        return lookup_expr(raw, CHANNEL_SYNONYMS, "channel", keep_unknown=True)
    if kind == "action":
        return lookup_expr(raw, ACTION_SYNONYMS, "action", keep_unknown=True)
    if kind == "direction":
        return lookup_expr(raw, DIRECTION_SYNONYMS, "direction", keep_unknown=False)
    return text_expr(raw)
