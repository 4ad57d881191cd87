"""Proposing a column mapping (file column -> canonical field) and guessing the dataset.

Aliases cover English, Dutch and German headers; signatures recognise the real exports listed in
shared/docs/EXPORT_FORMATS.md and add the constants such a file implies (a Tweet activity export
is the organisation's own posts on x). The caller can override every choice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from datastore.schema import DATASETS, FIELDS


def norm(header: str) -> str:
    """'Prijs per stuk ' -> 'prijs per stuk'; 'E-Mail' -> 'e mail'; accents removed."""
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)  # InvoiceDate -> Invoice Date
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Field -> aliases, most specific first. Matching is on norm() of both sides.
ALIASES: dict[str, dict[str, list[str]]] = {
    "interactions": {
        "occurred_at": [
            "occurred at", "timestamp", "datetime", "date time", "created at", "created time",
            "publish time", "posted at", "sent at", "time", "date", "datum tijd", "tijdstip",
            "datum", "tijd", "zeitpunkt", "datum uhrzeit", "erstellt am", "activity date time",
            "start date time", "activity date", "created",
        ],
        "channel": ["channel", "kanaal", "kanal", "platform", "network", "netwerk", "via", "source", "medium"],
        "member_id": [
            "member id", "member", "customer id", "customerid", "user id", "contact id",
            "requester id", "who id", "author id", "klantnummer", "klant id", "klantid",
            "lidnummer", "relatienummer", "kundennummer", "kunden id", "kunde", "klant",
        ],
        "action": [
            "action", "actie", "aktion", "activity type", "event type", "task subtype",
            "post type", "soort", "art", "type",
        ],
        "direction": ["direction", "richting", "richtung", "in out", "inbound outbound"],
        "interaction_id": [
            "interaction id", "message id", "post id", "tweet id", "ticket id", "bericht id",
            "nachricht id", "id",
        ],
        "in_reply_to": [
            "in reply to", "reply to", "replied to", "parent id", "in antwoord op",
            "antwoord op", "antwort auf",
        ],
        "agent": [
            "agent", "assignee", "owner id", "owner", "behandelaar", "medewerker",
            "bearbeiter", "sachbearbeiter", "mitarbeiter",
        ],
        "text": [
            "text", "message", "body", "content", "tweet text", "description", "subject",
            "bericht", "tekst", "inhoud", "inhalt", "nachricht", "betreff", "onderwerp",
        ],
        "hashtags": ["hashtags", "hashtag", "tags"],
        "campaign": ["campaign", "campagne", "kampagne", "utm campaign"],
        "sentiment": ["sentiment", "stemming", "tone", "tonality", "stimmung", "tonalitat"],
        "reach": ["reach", "impressions", "bereik", "reichweite", "views", "weergaven"],
        "first_reply_at": ["first reply at", "initial response time", "first response at", "eerste antwoord op"],
        "first_reply_minutes": ["first reply time in minutes", "first reply minutes", "first response minutes"],
        "solved_at": ["solved at", "resolved at", "resolved time", "opgelost op", "gelost am"],
    },
    "members": {
        "member_id": [
            "member id", "record id", "customer id", "customerid", "contact id", "user id",
            "klantnummer", "klant id", "klantid", "lidnummer", "relatienummer",
            "kundennummer", "kunden id", "id",
        ],
        "name": ["name", "full name", "naam", "volledige naam", "klantnaam", "vollstandiger name",
                 "first name", "voornaam", "vorname"],
        "last_name": ["last name", "surname", "achternaam", "nachname"],
        "email": ["email", "e mail", "e mailadres", "emailadres", "email address", "mail", "e mail adresse"],
        "joined_at": [
            "joined at", "joined", "member since", "signup date", "sign up date",
            "registration date", "registered", "became a customer date", "create date",
            "created at", "created", "lid sinds", "klant sinds", "aangemeld op",
            "inschrijfdatum", "mitglied seit", "kunde seit", "registriert am", "anmeldedatum",
        ],
        "churned_at": [
            "churned at", "churned", "cancelled at", "canceled at", "cancellation date",
            "opgezegd op", "opzegdatum", "uitgeschreven op", "gekundigt am", "kundigungsdatum",
            "left at",
        ],
        "segment": ["segment", "tier", "klantsegment", "kundensegment", "trust level"],
        "persona": ["persona"],
        "country": ["country", "land", "country region"],
        "lifecycle_stage": [
            "lifecycle stage", "lifecyclestage", "klantfase", "levensfase", "fase", "stage",
            "lead status", "lebenszyklusphase", "phase",
        ],
        "followers": ["followers", "volgers", "follower", "total followers", "anhanger"],
        "referred_by": [
            "referred by", "referrer", "referral", "invited by", "aangebracht door",
            "geworben von", "empfohlen von",
        ],
        "is_employee": ["is employee", "employee", "staff", "medewerker", "mitarbeiter", "admin"],
    },
    "transactions": {
        "member_id": [
            "member id", "customer id", "customerid", "contact id", "user id", "klantnummer",
            "klant id", "kundennummer", "kunden id", "customer", "klant", "kunde", "buyer",
        ],
        "occurred_at": [
            "occurred at", "invoice date", "order date", "transaction date", "purchase date",
            "booking date", "boekingsdatum", "besteldatum", "orderdatum", "factuurdatum",
            "bestelldatum", "kaufdatum", "rechnungsdatum", "close date", "created at", "datum",
            "date", "timestamp",
        ],
        "amount": [
            "amount", "total", "line total", "revenue", "value", "bedrag", "totaal",
            "totaalbedrag", "omzet", "betrag", "gesamtbetrag", "summe", "umsatz", "sales",
        ],
        "quantity": ["quantity", "qty", "aantal", "stuks", "anzahl", "menge"],
        "unit_price": [
            "unit price", "price per unit", "prijs per stuk", "stuksprijs", "prijs",
            "einzelpreis", "stuckpreis", "preis", "price",
        ],
        "transaction_id": [
            "transaction id", "line id", "order line id", "boekingsnummer",
            "transactienummer", "buchungsnummer", "id",
        ],
        "order_id": [
            "order id", "order number", "invoice no", "invoice number", "invoice",
            "ordernummer", "factuurnummer", "bestellnummer", "rechnungsnummer", "deal id",
        ],
        "product": ["product", "description", "item", "artikel", "omschrijving", "produkt", "sku"],
        "channel": ["channel", "sales channel", "kanaal", "verkoopkanaal", "kanal", "vertriebskanal"],
        "is_refund": ["is refund", "refund", "retour", "return", "cancelled", "storno", "creditnota", "erstattung"],
        "status": ["order status", "status", "orderstatus", "bestelstatus", "bestellstatus", "status bestelling"],
        "customer_name": ["customer name", "klantnaam", "naam klant", "kundenname", "name des kunden", "buyer name",
                          "billing name"],
    },
    "posts": {
        "post_id": ["post id", "tweet id", "update id", "media id", "bericht id", "beitrags id"],
        "network": ["network", "netwerk", "netzwerk", "platform", "plattform", "channel", "kanaal", "kanal"],
        "published_at": ["published at", "publish time", "published", "posted at", "time", "created at",
                         "publicatiedatum", "gepubliceerd op", "veroffentlicht am", "date", "datum"],
        "text": ["tweet text", "text", "description", "message", "caption", "post text", "tekst", "inhalt"],
        "post_type": ["post type", "type", "media type", "berichttype", "beitragstyp"],
        "permalink": ["permalink", "tweet permalink", "post link", "url", "link"],
        "impressions": ["impressions", "impressies", "impressionen", "views", "weergaven"],
        "reach": ["reach", "bereik", "reichweite"],
        "engagements": ["engagements", "interacties", "interaktionen"],
        "reactions": ["reactions", "likes", "favorites", "vind ik leuks", "reaktionen"],
        "comments": ["comments", "replies", "opmerkingen", "reacties", "kommentare"],
        "shares": ["shares", "retweets", "reposts", "gedeeld", "geteilt"],
        "saves": ["saves", "opgeslagen", "gespeichert"],
        "clicks": ["total clicks", "clicks", "url clicks", "link clicks", "klikken", "klicks"],
        "video_views": ["video views", "media views", "plays", "videoweergaven"],
        "follows": ["follows", "new follows"],
        "platform_engagement_rate": ["engagement rate", "engagement rate total", "engagementpercentage",
                                     "interactiepercentage", "interaktionsrate"],
    },
    "audience": {
        "day": ["day", "date", "datum", "dag", "tag"],
        "network": ["network", "netwerk", "netzwerk", "platform", "plattform", "channel", "kanaal", "kanal"],
        "followers": ["followers", "total followers", "follower count", "volgers", "follower"],
        "followers_organic": ["organic followers", "followers organic"],
        "followers_paid": ["paid followers", "sponsored followers", "followers paid"],
        "new_followers": ["new followers", "follows", "followers gained", "nieuwe volgers", "neue follower"],
        "unfollows": ["unfollows", "lost followers", "followers lost", "ontvolgd"],
        "page_impressions": ["page impressions", "impressions", "impressions total", "impressies"],
        "page_engagements": ["page engagements", "engagements", "interacties"],
        "clicks": ["clicks", "clicks total", "url clicks"],
        "reactions": ["reactions", "reactions total", "likes"],
        "comments": ["comments", "comments total", "replies"],
        "shares": ["shares", "reposts", "reposts total", "retweets"],
        "posts_published": ["posts published", "tweets published", "posts", "updates"],
        "platform_engagement_rate": ["engagement rate", "engagement rate total"],
    },
}


@dataclass(frozen=True)
class Signature:
    """A known export: recognised by header names, with mapping overrides and constants."""

    name: str
    dataset: str
    needs: tuple[str, ...]  # normalised headers that must all be present
    mapping: dict[str, str] = field(default_factory=dict)  # field -> normalised header
    constants: dict[str, str] = field(default_factory=dict)
    refuse: str = ""  # a message when the format is known but not importable yet


SIGNATURES: tuple[Signature, ...] = (
    # Post and page exports are posts / audience; the interactions signatures after them are used
    # when a user imports such a file as interactions on purpose (outbound broadcasts).
    Signature(
        "X/Twitter Tweet activity", "posts",
        ("tweet id", "tweet permalink", "impressions"),
        {"post_id": "tweet id", "published_at": "time", "text": "tweet text", "permalink": "tweet permalink",
         "impressions": "impressions", "engagements": "engagements", "platform_engagement_rate": "engagement rate",
         "shares": "retweets", "comments": "replies", "clicks": "url clicks", "video_views": "media views",
         "follows": "follows"},
        {"network": "x"},
    ),
    Signature(
        "X/Twitter daily activity", "audience", ("date", "tweets published", "impressions"),
        {"day": "date", "posts_published": "tweets published", "page_impressions": "impressions",
         "page_engagements": "engagements", "platform_engagement_rate": "engagement rate",
         "shares": "retweets", "comments": "replies", "clicks": "url clicks", "new_followers": "follows"},
        {"network": "x"},
    ),
    Signature(
        "LinkedIn page content", "audience", ("date", "impressions organic"),
        {"day": "date", "page_impressions": "impressions total", "clicks": "clicks total",
         "reactions": "reactions total", "comments": "comments total", "shares": "reposts total",
         "platform_engagement_rate": "engagement rate total"},
        {"network": "linkedin"},
    ),
    # LinkedIn's followers export lists the followers gained each day (sponsored, organic,
    # auto-invited and their total), not the audience size.
    Signature(
        "LinkedIn followers", "audience", ("date", "organic followers"),
        {"day": "date", "new_followers": "total followers"},
        {"network": "linkedin"},
    ),
    Signature(
        "Meta Facebook posts", "posts", ("post id", "page id", "publish time"),
        {"post_id": "post id", "published_at": "publish time", "text": "description", "post_type": "post type",
         "permalink": "permalink", "impressions": "impressions", "reach": "reach", "reactions": "reactions",
         "comments": "comments", "shares": "shares", "clicks": "total clicks", "video_views": "views"},
        {"network": "facebook"},
    ),
    Signature(
        "Instagram posts", "posts", ("post id", "account id", "publish time"),
        {"post_id": "post id", "published_at": "publish time", "text": "description", "post_type": "post type",
         "permalink": "permalink", "impressions": "views", "reach": "reach", "reactions": "likes",
         "comments": "comments", "shares": "shares", "saves": "saves", "follows": "follows"},
        {"network": "instagram"},
    ),
    Signature(
        "X/Twitter Tweet activity", "interactions",
        ("tweet id", "tweet permalink", "impressions"),
        {"interaction_id": "tweet id", "occurred_at": "time", "text": "tweet text", "reach": "impressions"},
        {"channel": "x", "direction": "outbound", "action": "post"},
    ),
    Signature(
        "Meta Facebook posts", "interactions", ("post id", "page id", "publish time"),
        {"interaction_id": "post id", "occurred_at": "publish time", "text": "description", "reach": "reach"},
        {"channel": "facebook", "direction": "outbound", "action": "post"},
    ),
    Signature(
        "Instagram posts", "interactions", ("post id", "account id", "publish time"),
        {"interaction_id": "post id", "occurred_at": "publish time", "text": "description", "reach": "reach"},
        {"channel": "instagram", "direction": "outbound", "action": "post"},
    ),
    Signature(
        "HubSpot contacts", "members", ("record id", "create date"),
        {"member_id": "record id", "joined_at": "create date", "email": "email", "name": "first name",
         "last_name": "last name"},
    ),
    # Events before tasks: an Event export also has ActivityDate, WhoId and OwnerId.
    Signature(
        "Salesforce events", "interactions", ("who id", "start date time", "owner id"),
        {"interaction_id": "id", "member_id": "who id", "occurred_at": "start date time",
         "agent": "owner id", "text": "subject"},
        {"direction": "outbound", "channel": "store", "action": "meeting"},
    ),
    Signature(
        "Salesforce tasks", "interactions", ("who id", "activity date", "owner id"),
        {"interaction_id": "id", "member_id": "who id", "occurred_at": "activity date",
         "channel": "type", "action": "task subtype", "agent": "owner id", "text": "subject"},
        {"direction": "outbound"},
    ),
    Signature(
        "Discourse users", "members", ("username", "trust level", "last seen at"),
        {"member_id": "id", "name": "name", "email": "email", "joined_at": "created at",
         "segment": "trust level", "is_employee": "admin"},
    ),
    Signature(
        "Zendesk tickets", "interactions", ("requester id", "via", "created at"),
        {"interaction_id": "id", "member_id": "requester id", "occurred_at": "created at",
         "channel": "via", "agent": "assignee", "text": "subject", "hashtags": "tags",
         "first_reply_minutes": "first reply time in minutes", "solved_at": "solved at"},
        {"direction": "inbound", "action": "ticket"},
    ),
    Signature(
        "Freshdesk tickets", "interactions", ("ticket id", "source", "created time"),
        {"interaction_id": "ticket id", "occurred_at": "created time", "channel": "source",
         "agent": "agent", "text": "subject", "hashtags": "tags", "member_id": "contact id",
         "first_reply_at": "initial response time", "solved_at": "resolved time"},
        {"direction": "inbound", "action": "ticket"},
    ),
)


@dataclass(frozen=True)
class Proposal:
    dataset: str
    mapping: dict[str, str]  # canonical field -> file column
    constants: dict[str, str]  # canonical field -> fixed value for every row
    signature: str | None
    refuse: str | None
    scores: dict[str, float]


def match_signature(columns: list[str], dataset: str | None = None) -> Signature | None:
    """The first known export these columns are (of ``dataset``, when given)."""
    normed = {norm(c) for c in columns}
    for sig in SIGNATURES:
        if (dataset is None or sig.dataset == dataset) and all(n in normed for n in sig.needs):
            return sig
    return None


def propose_mapping(columns: list[str], dataset: str) -> dict[str, str]:
    """Canonical field -> file column, from aliases; each column and field used once."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    # Fields in catalogue order; for each, the first alias present wins.
    for f in FIELDS[dataset]:
        for alias in ALIASES[dataset].get(f.name, []):
            col = by_norm.get(alias)
            if col is not None and col not in used:
                mapping[f.name] = col
                used.add(col)
                break
    return mapping


def _score(dataset: str, mapping: dict[str, str], constants: dict[str, str]) -> float:
    fields = {f.name: f for f in FIELDS[dataset]}
    present = set(mapping) | set(constants)
    score = 0.0
    for name in present:
        score += 2.0 if fields[name].required else 1.0
    missing_required = [f for f in FIELDS[dataset] if f.required and f.name not in present]
    if dataset == "transactions" and "amount" not in present and {"quantity", "unit_price"} <= present:
        missing_required = [f for f in missing_required if f.name != "amount"]
    score -= 3.0 * len(missing_required)
    # Fields shared by several datasets (member_id, occurred_at, channel) say little on their own.
    distinctive = present - {"member_id", "occurred_at", "channel"}
    return score + (0.5 * len(distinctive))


def propose(columns: list[str], dataset: str | None = None) -> Proposal:
    """The dataset (unless given) and the mapping for a file with these columns."""
    sig = match_signature(columns)
    scores: dict[str, float] = {}
    candidates = [dataset] if dataset else list(DATASETS)
    best: Proposal | None = None
    for ds in candidates:
        mapping = propose_mapping(columns, ds)
        constants: dict[str, str] = {}
        use_sig = match_signature(columns, ds) if dataset else (sig if sig and sig.dataset == ds else None)
        if use_sig:
            by_norm = {norm(c): c for c in columns}
            for fname, header in use_sig.mapping.items():
                col = by_norm.get(header)
                if col is None:
                    continue
                # Take the column away from any other field first.
                for k in [k for k, v in mapping.items() if v == col]:
                    del mapping[k]
                mapping[fname] = col
            for fname in use_sig.constants:
                mapping.pop(fname, None)
            constants = dict(use_sig.constants)
        scores[ds] = _score(ds, mapping, constants) + (10.0 if use_sig else 0.0)
        if best is None or scores[ds] > scores[best.dataset]:
            best = Proposal(
                ds, mapping, constants,
                use_sig.name if use_sig else None,
                use_sig.refuse or None if use_sig else None,
                scores,
            )
    assert best is not None
    return Proposal(best.dataset, best.mapping, best.constants, best.signature, best.refuse, scores)
