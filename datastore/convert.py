"""SQL expressions that turn a raw text cell into a canonical value, and name why one fails.

``value_expr`` turns a SQL reference to the raw cell into the canonical value, NULL when it
cannot be converted; ``reason`` is the constant text that explains such a failure. The importer
evaluates each conversion once and flags a cell as bad when the raw cell holds something
(``has_value``: not empty and not a "nothing here" marker such as ``-`` or ``N/A``) but the
value is NULL. Checking markers only on that rare path keeps the common path fast. Only constants from this module and
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
    # Service-desk ticket sources (Zendesk "Via", Freshdesk "Source"); the raw value is kept too.
    "facebook post": "facebook", "facebook private message": "facebook", "facebook message": "facebook",
    "twitter dm": "x", "twitter direct message": "x", "twitter tweet": "x", "x corp": "x",
    "instagram dm": "instagram", "instagram direct": "instagram", "instagram direct message": "instagram",
    "web widget": "chat", "messaging": "chat", "sunshine conversations": "chat", "native messaging": "chat",
    "voicemail": "phone", "phone call (outbound)": "phone", "phone call": "phone", "sms": "sms", "text": "sms",
    "api": "api", "web service": "api", "web service (api)": "api", "closed ticket": "email",
    "outbound email": "email", "mobile sdk": "app", "mobihelp": "app", "feedback widget": "web",
    "help center": "web", "ecommerce": "webshop",
}

# Order statuses that are no sale: a cancelled order, and an order refunded as a whole (a refund
# line with a negative amount stays a refund line).
ORDER_STATUS: dict[str, str] = {
    **{k: "cancelled" for k in (
        "cancelled", "canceled", "geannuleerd", "storniert", "storno", "annulliert", "abgebrochen",
        "void", "voided", "annulé", "annule", "cancelled by customer", "order cancelled")},
    **{k: "refunded" for k in (
        "refunded", "refund", "retour", "returned", "retourniert", "terugbetaald", "gerestitueerd",
        "erstattet", "zurückerstattet", "ruckerstattet", "rückerstattet", "geretourneerd")},
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


def _map(table: dict, literal) -> str:
    """A MAP literal: one hash lookup per row instead of a CASE with a branch per synonym."""
    return "MAP {" + ", ".join(f"{q(k)}: {literal(v)}" for k, v in table.items()) + "}"


def is_marker(ref: str) -> str:
    """True when the raw cell is empty or a null marker. (A MAP lookup, not IN or
    list_contains: DuckDB plans a constant list as a hash join over every row, which made
    imports several times slower.)"""
    # The length test skips the list for ordinary cells; it must admit the longest marker.
    return f"(length({ref}) <= {_MARKER_LEN} AND map_contains({_MARKER_MAP}, lower(trim({ref}))))"


_MARKER_LEN = max(len(m) for m in NULL_MARKERS) + 2  # '(blank)' with a space either side
_MARKER_MAP = _map({m: True for m in NULL_MARKERS}, lambda v: "TRUE")


def has_value(ref: str) -> str:
    return f"({ref} IS NOT NULL AND NOT {is_marker(ref)})"


def _lookup(key: str, table: dict, literal=None) -> str:
    return f"map_extract_value({_map(table, literal or q)}, {key})"


def number_parse(t: str, decimal: str) -> str:
    """DOUBLE from a trimmed cell in the file's number style, NULL when it is not one.

    Plain numbers take a fast cast; only cells with a thousands separator, a currency sign or
    a decimal comma go through the stricter pattern (so '1.234' in a decimal-comma file is
    1234, never 1.234). Infinite and NaN values are left for the caller to refuse."""
    stripped = f"regexp_replace({t}, '[€$£[:space:]]|EUR|USD|GBP', '', 'g')"
    if decimal == ",":
        pattern = "[-+]?([0-9]{1,3}(\\.[0-9]{3})+|[0-9]+)(,[0-9]+)?"
        slow = (f"CASE WHEN regexp_full_match({stripped}, '{pattern}') "
                f"THEN try_cast(replace(replace({stripped}, '.', ''), ',', '.') AS DOUBLE) END")
        fast_ok = f"NOT contains({t}, '.') AND NOT contains({t}, ',')"
    else:
        pattern = "[-+]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\\.[0-9]+)?([eE][-+]?[0-9]+)?"
        slow = (f"CASE WHEN regexp_full_match({stripped}, '{pattern}') "
                f"THEN try_cast(replace({stripped}, ',', '') AS DOUBLE) END")
        fast_ok = f"NOT contains({t}, ',')"
    return f"coalesce(CASE WHEN {fast_ok} THEN try_cast({t} AS DOUBLE) END, {slow})"


def timestamp_value(t: str, formats: list[str], time_zone: str) -> str:
    """Wall-clock time in the workspace zone from a trimmed cell. Formats with a zone (and ISO
    values with an offset) are converted; values without a zone are taken as already in the
    workspace zone. ISO 8601 is always accepted, whatever formats were detected."""
    tz = q(time_zone)
    naive = [f for f in formats if "%z" not in f and "%Z" not in f]
    zoned = [f for f in formats if f not in naive]
    parts = []
    if naive:
        parts.append(f"try_strptime({t}, [{', '.join(q(f) for f in naive)}])")
    if zoned:
        parts.append(f"timezone({tz}, try_strptime({t}, [{', '.join(q(f) for f in zoned)}]))")
    parts.append(
        f"CASE WHEN regexp_matches({t}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
        f"THEN timezone({tz}, try_cast({t} AS TIMESTAMPTZ)) ELSE try_cast({t} AS TIMESTAMP) END"
    )
    return f"coalesce({', '.join(parts)})"


def example(fmt: str) -> str:
    """A strptime format shown as an example value: '%d-%m-%Y' -> '31-12-2025'."""
    from datetime import datetime, timezone

    return datetime(2025, 12, 31, 14, 5, 0, tzinfo=timezone.utc).strftime(fmt)


NUMERIC_KINDS = ("number", "integer", "ratio", "sentiment")


def order_status(status: str) -> str:
    """SQL: 'cancelled' / 'refunded' for an order status that is no sale, else NULL."""
    return _lookup(f"lower(trim({status}))", ORDER_STATUS)


def value_expr(kind: str, t: str, n: str, *, formats: list[str], time_zone: str) -> str:
    """SQL for the canonical value of a field of this kind, from ``t`` (the trimmed cell) and,
    for numeric kinds, ``n`` (the cell parsed by ``number_parse``)."""
    key = f"lower({t})"
    if kind == "timestamp":
        return timestamp_value(t, formats, time_zone)
    if kind == "date":
        return f"CAST({timestamp_value(t, formats, time_zone)} AS DATE)"
    if kind == "number":
        return f"CASE WHEN isfinite({n}) AND abs({n}) < 1e14 THEN CAST({n} AS DECIMAL(18,4)) END"
    if kind == "integer":
        return f"CASE WHEN isfinite({n}) AND {n} = round({n}) AND abs({n}) < 9e18 THEN CAST({n} AS BIGINT) END"
    if kind == "ratio":  # a fraction, or a percentage written with '%' ('1.9%' = 0.019)
        return f"CASE WHEN isfinite({n}) THEN CASE WHEN contains({t}, '%') THEN {n} / 100 ELSE {n} END END"
    if kind == "boolean":
        return _lookup(key, BOOLEAN_WORDS, lambda v: "TRUE" if v else "FALSE")
    if kind == "sentiment":
        label = _lookup(key, SENTIMENT_LABELS, lambda v: f"{float(v)}::DOUBLE")
        return f"coalesce({label}, CASE WHEN {n} BETWEEN -1 AND 1 THEN {n} END)"
    if kind == "id":
        # An id exported as a float ('17850.0') is the same id as '17850'.
        return (f"CASE WHEN {is_marker(t)} THEN NULL WHEN contains({t}, '.') "
                f"THEN regexp_replace({t}, '^([-+]?[0-9]+)\\.0+$', '\\1') ELSE nullif({t}, '') END")
    if kind in ("channel", "action"):
        table = CHANNEL_SYNONYMS if kind == "channel" else ACTION_SYNONYMS
        return f"CASE WHEN {is_marker(t)} THEN NULL ELSE coalesce({_lookup(key, table)}, {key}) END"
    if kind == "direction":
        return _lookup(key, DIRECTION_SYNONYMS)
    # Text is kept as written, but a "nothing here" marker ('N/A', '--') is no segment or name.
    return f"CASE WHEN {is_marker(t)} THEN NULL ELSE nullif({t}, '') END"


def reason(kind: str, *, decimal: str, formats: list[str]) -> str:
    """Why a cell of this kind could not be converted (a plain sentence for the user)."""
    if kind in ("timestamp", "date"):
        shown = " or ".join(example(f) for f in formats[:2]) if formats else "e.g. 2025-12-31 14:05"
        return f"unparseable date (expected {shown})"
    if kind == "number":
        return f"not a number (this file uses a decimal {'comma' if decimal == ',' else 'point'})"
    if kind == "integer":
        return "not a whole number"
    if kind == "ratio":
        return f"not a rate (a fraction or a percentage, decimal {'comma' if decimal == ',' else 'point'})"
    if kind == "boolean":
        return "not a yes/no value"
    if kind == "sentiment":
        return "not a sentiment (a number from -1 to 1, or positive / neutral / negative)"
    if kind == "direction":
        return "unknown direction (expected inbound / outbound, klant / bedrijf, in / out)"
    return "could not be read"


def can_fail(kind: str) -> bool:
    return kind in ("timestamp", "date", "number", "integer", "ratio", "boolean", "sentiment", "direction")
