"""Seeded generator of a realistic social-CRM community: "SkyLoop Airways" and its frequent flyers.

Two years of data, wall-clock local time, naive timestamps: 2024-11-01 00:00 up to 2026-10-31
23:59:59. Everything is vectorised with numpy; the same arguments give identical frames (one
``numpy.random.Generator`` seeded with ``seed``, drawn in a fixed order; no wall clock, no network).

What is in the data (so that every page of the dashboard has something to find):

* **members** — a base of members who joined before the window plus joins spread over it (more
  during the "refer-a-friend" campaign); ~15 % ``churned_at`` (contractual churn); personas,
  segments, countries (mostly NL, DE, BE, GB, FR); heavy-tailed ``followers`` with a handful of
  influentials (50k+); ~10 % ``referred_by`` an earlier-joined member, with chains; ~20 employees
  (``is_employee``), among them the 12 agents; a few corporate accounts (names with "€").
  ``lifecycle_stage`` is the CRM's view: derived from the member's bookings and activity, with a
  little noise (a CRM is never quite up to date). ``joined_at``/``churned_at`` are
  ``datetime64`` at midnight (NaT = not churned).
* **interactions** — inbound activity follows a power law: ~35 % of members are ever active
  (Zipf-Mandelbrot weights: the top 10 % of active members produce about two thirds of it); each active member has 1–4
  *active spells* (activity churn and resurrection). Weekly, yearly (summer peak, Christmas) and
  daily seasonality per channel. Each member uses 1–3 channels, persona-dependent. ~3 % of inbound
  rows are anonymous (``member_id`` None), ~5 % come from unidentified handles not in the members
  table ("X12345", "FB123456", ...). Employees post inbound too (metrics must exclude them).
* **two-way interaction** — answerable inbound rows (everything except like/share) get an
  outbound ``reply`` (``in_reply_to`` = the inbound id, ``member_id`` = the customer, ``agent``
  set) with a channel-dependent probability: ~70 % overall. Choice for the synchronous channels:
  **phone, chat and store contacts are always answered, within minutes** (the agent picking up,
  the chat agent, the desk) so they count as answered with a short first-response time. Social,
  forum and e-mail replies are lognormal, slower at night (22–07: waits for the morning shift)
  and at weekends; from ``RESPONSE_TIME_CHANGE_DATE`` (the webcare team was extended from 4 to
  7 agents) the median drops from ~5 h to ~1.5 h. The organisation broadcasts outbound ``post``
  rows on x/facebook/instagram/linkedin; customer comments (and x replies) point at them via
  ``in_reply_to``; forum replies point at earlier forum posts.
* **campaigns** — hashtags and a ``campaign`` tag during campaign weeks. The "luxury-class"
  campaign (``HIJACKED_HASHTAG``) is hijacked: for 3 days from ``HIJACK_START`` a burst of
  inbound x mentions with sentiment -1.
* **sentiment** — in [-1, 1] or None; half of the scored rows carry a label value (exactly -1, 0
  or 1, written as negative/neutral/positive in the export), the others a number with two
  decimals (never exactly -1, 0 or 1). **reach** — x/facebook/instagram/linkedin posts, mentions,
  shares and reviews, correlated with followers; None elsewhere.
* **transactions** — bookings (flights plus extras, order lines sharing an ``order_id``), about 1
  line per 9 interactions; active participants and higher segments buy more, spend grows with
  tenure; ~3 % refund lines (negative quantity and amount, same order and product as an earlier
  line). Only for members, within [joined_at, churned_at). Times are whole minutes.
"""

from __future__ import annotations

import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .texts import HIJACKED_HASHTAG, KIND, TEXT_TEMPLATES, text_index

__all__ = [
    "SampleData",
    "generate",
    "write_exports",
    "RESPONSE_TIME_CHANGE_DATE",
    "HIJACKED_HASHTAG",
    "HIJACK_CAMPAIGN",
    "HIJACK_START",
    "HIJACK_END",
    "START",
    "END",
    "CHANNELS",
    "AGENTS",
    "CAMPAIGNS",
    "EXPORT_FILES",
]

START = datetime(2024, 11, 1)
END = datetime(2026, 10, 31, 23, 59, 59)
N_DAYS = 730
_DAY = 86_400
_T_END = N_DAYS * _DAY  # exclusive, seconds since START
_EPOCH = np.datetime64("2024-11-01T00:00:00", "s")

RESPONSE_TIME_CHANGE_DATE = date(2025, 9, 1)
HIJACK_CAMPAIGN = "luxury-class"
HIJACK_START = datetime(2026, 2, 3, 9, 0)
HIJACK_END = datetime(2026, 2, 6, 9, 0)

CHANNELS: tuple[str, ...] = ("x", "facebook", "instagram", "linkedin", "forum", "email", "phone", "chat", "store")
_CH = {c: i for i, c in enumerate(CHANNELS)}
_SOCIAL = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
_SYNC = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1], dtype=bool)

ACTIONS: tuple[str, ...] = ("post", "reply", "mention", "like", "share", "comment", "review", "email", "call", "chat", "visit")
_A = {a: i for i, a in enumerate(ACTIONS)}
_NOT_ANSWERABLE = np.isin(np.arange(len(ACTIONS)), [_A["like"], _A["share"]])

CHANNEL_ACTIONS: dict[str, dict[str, float]] = {
    "x": {"post": 0.22, "reply": 0.18, "mention": 0.25, "like": 0.25, "share": 0.10},
    "facebook": {"comment": 0.40, "like": 0.35, "share": 0.10, "review": 0.15},
    "instagram": {"comment": 0.35, "like": 0.65},
    "linkedin": {"comment": 0.30, "like": 0.55, "share": 0.15},
    "forum": {"post": 0.30, "reply": 0.45, "like": 0.25},
    "email": {"email": 1.0},
    "phone": {"call": 1.0},
    "chat": {"chat": 1.0},
    "store": {"visit": 1.0},
}
# Share of answerable inbound messages that get a reply (phone/chat/store: always, see docstring).
RESPONSE_RATE = np.array([0.70, 0.64, 0.50, 0.55, 0.45, 0.86, 1.0, 1.0, 1.0])

AGENTS: tuple[str, ...] = tuple(
    f"agent.{n}" for n in ("anna", "bram", "chantal", "daan", "eva", "finn", "gijs", "hanna", "ilse", "joost", "karim", "lotte")
)
_WEBCARE_BEFORE = np.array([0, 1, 2, 3])
_WEBCARE_AFTER = np.array([0, 1, 2, 3, 9, 10, 11])
_CALLCENTRE = np.array([4, 5, 8])
_DESK = np.array([6, 7])

PERSONAS: tuple[str, ...] = ("Business traveller", "Holiday family", "Student backpacker", "Frequent commuter")
SEGMENTS: tuple[str, ...] = ("Platinum", "Gold", "Silver", "Blue")
COUNTRIES: tuple[str, ...] = ("NL", "DE", "BE", "GB", "FR", "ES", "IT", "US")
STAGES: tuple[str, ...] = ("lead", "prospect", "customer", "repeat", "advocate")
SALES_CHANNELS: tuple[str, ...] = ("webshop", "app", "balie")

CAMPAIGNS: tuple[tuple[str, str, date, date], ...] = (  # name, hashtag, first day, last day
    ("winter-sun", "#SkyLoopWinterSun", date(2024, 12, 2), date(2025, 1, 12)),
    ("refer-a-friend", "#FlyTogether", date(2025, 3, 3), date(2025, 4, 13)),
    ("summer-2025", "#SkyLoopSummer", date(2025, 5, 19), date(2025, 7, 13)),
    ("black-friday", "#SkyLoopDeals", date(2025, 11, 24), date(2025, 12, 1)),
    (HIJACK_CAMPAIGN, HIJACKED_HASHTAG, date(2026, 1, 19), date(2026, 2, 22)),
    ("summer-2026", "#SkyLoopSummer", date(2026, 5, 18), date(2026, 7, 12)),
)
_CAMPAIGN_NAMES = tuple(c[0] for c in CAMPAIGNS)
_HIJACK_IDX = _CAMPAIGN_NAMES.index(HIJACK_CAMPAIGN)
_GENERIC_TAGS = ("#SkyLoop", "#SkyLoop #travel", "#vliegen #SkyLoop", "#Schiphol", "#delay #SkyLoop", "#reizen", "#holiday #SkyLoop")
_N_GEN = len(_GENERIC_TAGS)
HASHTAGS: tuple[str, ...] = (
    _GENERIC_TAGS
    + tuple(t for c in CAMPAIGNS for t in (c[1], f"{c[1]} #SkyLoop"))
    + (f"{HIJACKED_HASHTAG} #fail", f"{HIJACKED_HASHTAG} #neveragain", f"#SkyLoop {HIJACKED_HASHTAG}")
)
_BURST_TAG0 = _N_GEN + 2 * len(CAMPAIGNS)

EXPORT_FILES: dict[str, str] = {
    "members": "crm_leden.csv",
    "interactions": "community_interactions.csv",
    "transactions": "webshop_boekingen.csv",
}
MEMBERS_HEADER = "Klantnummer;Naam;E-mail;Lid sinds;Opgezegd op;Segment;Persona;Land;Klantfase;Volgers;Aangebracht door;Medewerker"
TRANSACTIONS_HEADER = "Boekingsnummer;Ordernummer;Klantnummer;Datum;Aantal;Prijs per stuk;Bedrag;Product;Kanaal;Retour"

INTERACTION_COLUMNS = ("occurred_at", "channel", "member_id", "action", "direction", "interaction_id", "in_reply_to",
                       "agent", "text", "hashtags", "campaign", "sentiment", "reach")
MEMBER_COLUMNS = ("member_id", "name", "email", "joined_at", "churned_at", "segment", "persona", "country",
                  "lifecycle_stage", "followers", "referred_by", "is_employee")
TRANSACTION_COLUMNS = ("transaction_id", "order_id", "member_id", "occurred_at", "quantity", "unit_price", "amount",
                       "product", "channel", "is_refund")


@dataclass(frozen=True)
class SampleData:
    """The three canonical datasets (column names and order as in ``datastore.schema.FIELDS``)."""

    members: pd.DataFrame
    interactions: pd.DataFrame
    transactions: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Calendar: per-channel day weights (yearly x weekly) and hour profiles
# --------------------------------------------------------------------------------------------

_H_CUSTOMER = [.25, .12, .06, .04, .04, .08, .35, .9, 1.4, 1.5, 1.45, 1.4, 1.6, 1.5, 1.35, 1.3, 1.35, 1.45, 1.6, 1.85, 2.0, 1.9, 1.5, .8]
_H_BUSINESS = [.05, .02, .02, .02, .03, .1, .4, 1.2, 2.0, 2.0, 1.8, 1.6, 1.7, 1.7, 1.6, 1.5, 1.4, 1.2, .8, .7, .7, .6, .4, .15]
_H_PHONE = [0] * 8 + [1.4, 1.8, 1.7, 1.6, 1.3, 1.4, 1.5, 1.4, 1.3, 1.1, 1.0, .9, .7] + [0] * 3
_H_CHAT = [.1, .05, .02, .02, .02, .05, .3, .8, 1.2, 1.4, 1.4, 1.3, 1.4, 1.4, 1.3, 1.3, 1.3, 1.3, 1.4, 1.6, 1.7, 1.6, 1.2, .5]
_H_STORE = [0] * 5 + [.8, 1.8, 2, 1.7, 1.3, 1.1, 1.0, 1.0, 1.1, 1.3, 1.6, 1.7, 1.5, 1.1, .8, .6, .4] + [0] * 2
_H_POST = [0] * 7 + [.4, 1.2, 2.0, 1.4, 1.2, 1.8, 1.2, 1.0, 1.0, 1.3, 1.8, 1.0, .8, .6, .3] + [0] * 2
_HOURS = np.array([_H_CUSTOMER, _H_CUSTOMER, _H_CUSTOMER, _H_BUSINESS, _H_CUSTOMER, _H_BUSINESS, _H_PHONE, _H_CHAT, _H_STORE], dtype=float)
_HOURS /= _HOURS.sum(axis=1, keepdims=True)
_H_POST_P = np.array(_H_POST) / sum(_H_POST)
_H_SHOP_P = np.array(_H_CUSTOMER) / sum(_H_CUSTOMER)
_H_DESK_P = np.array(_H_STORE) / sum(_H_STORE)

_WEEKLY = np.array([  # Monday .. Sunday
    [1, 1, 1, 1, 1, .85, .85],            # x
    [.95, .95, .95, .95, 1, 1.15, 1.2],   # facebook
    [.95, .95, .95, .95, 1, 1.15, 1.2],   # instagram
    [1.1, 1.1, 1.05, 1.05, 1, .4, .3],    # linkedin
    [1, 1, 1, 1, 1, .85, .85],            # forum
    [1.1, 1.1, 1.05, 1.05, 1, .45, .35],  # email
    [1.1, 1.1, 1.05, 1.05, 1, .5, .35],   # phone
    [1, 1, 1, 1, 1, .8, .75],             # chat
    [1, .9, .9, 1, 1.15, 1.1, 1.05],      # store
])


@dataclass(frozen=True)
class _Calendar:
    dow: np.ndarray        # (N_DAYS,) 0 = Monday
    yearly: np.ndarray     # (N_DAYS,) seasonal factor
    campaign: np.ndarray   # (N_DAYS,) campaign index or -1
    cum: np.ndarray        # (9, N_DAYS + 1) cumulative day weights per channel
    cum_flat: np.ndarray   # (N_DAYS + 1,) plain yearly curve (bookings)
    cum_join: np.ndarray   # (N_DAYS + 1,) join intensity
    cum_post: np.ndarray   # (N_DAYS + 1,) organisation posts


def _cumulative(w: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(w)])


def _calendar() -> _Calendar:
    days = np.arange(N_DAYS)
    dates = np.datetime64("2024-11-01") + days
    doy = (dates - dates.astype("M8[Y]")).astype(int)
    dow = (days + 4) % 7  # 2024-11-01 was a Friday
    g = lambda centre, width: np.exp(-(((doy - centre) / width) ** 2))  # noqa: E731
    yearly = 1 + 0.45 * g(205, 32) + 0.2 * g(357, 8) + 0.12 * g(118, 9) - 0.15 * g(40, 25)
    campaign = np.full(N_DAYS, -1, dtype=np.int8)
    for i, (_, _, first, last) in enumerate(CAMPAIGNS):
        campaign[(first - START.date()).days:(last - START.date()).days + 1] = i
    cum = np.stack([_cumulative(yearly * _WEEKLY[c, dow]) for c in range(len(CHANNELS))])
    boost = np.ones(N_DAYS)
    boost[campaign >= 0] = 1.3
    boost[campaign == _CAMPAIGN_NAMES.index("refer-a-friend")] = 2.4
    join = (1 + 0.8 * days / N_DAYS) * (0.8 + 0.2 * yearly) * boost * _WEEKLY[8, dow]
    post = np.where(dow >= 5, 0.35, 1.0) * np.where(campaign >= 0, 2.5, 1.0)
    return _Calendar(dow, yearly, campaign, cum, _cumulative(yearly), _cumulative(join), _cumulative(post))


def _sample_days(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Day index in [floor(lo), ceil(hi) - 1] drawn from the day weights whose cumulative is ``cum``."""
    grid = np.arange(cum.size, dtype=float)
    clo = np.interp(lo, grid, cum)
    chi = np.interp(hi, grid, cum)
    x = np.interp(clo + u * (chi - clo), cum, grid)
    day = np.floor(x)
    day = np.minimum(day, np.ceil(hi) - 1)
    day = np.maximum(day, np.floor(lo))
    return np.clip(day, 0, N_DAYS - 1).astype(np.int64)


def _categorical(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One category per element of ``rows`` from the probability row ``table[rows]``."""
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(rows.size)
    return (u[:, None] > cum[rows]).sum(axis=1)


def _gumbel_top(rng: np.random.Generator, logw: np.ndarray, k: int) -> np.ndarray:
    """Indices of a weighted sample without replacement (Gumbel top-k), per row."""
    keys = logw + rng.gumbel(size=logw.shape)
    return np.argsort(-keys, axis=-1, kind="stable")[..., :k]


_DIGITS4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), dtype=np.uint8).reshape(10_000, 4)


def _zero_pad_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as a large_string array, built straight from bytes."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if numbers.size and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"ids do not fit in {width} digits")
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    w = head.size + width
    buf = np.empty((numbers.size, w), dtype=np.uint8)
    buf[:, :head.size] = head
    x = numbers.copy()
    j = w
    while j > head.size:  # four digits at a time from a lookup table
        k = min(4, j - head.size)
        buf[:, j - k:j] = _DIGITS4[x % 10_000][:, 4 - k:]
        x //= 10_000
        j -= k
    offsets = np.arange(0, (numbers.size + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(numbers.size, pa.py_buffer(offsets), pa.py_buffer(buf))


# --------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------

_NAMES = {  # country group -> (first names, last names); all encodable in Windows-1252
    "NL": (
        ("Jan", "Sanne", "Daan", "Emma", "Lotte", "Thijs", "Sem", "Julia", "Noah", "Zoë", "Daniëlle", "Noël", "Anouk",
         "Bram", "Joris", "Femke", "Wouter", "Eline", "Fleur", "Pieter", "Kees", "Ruud", "Marieke", "Yara", "Mila",
         "Ayoub", "Fatima", "Mohammed", "Inge", "Floor", "Chloë", "René"),
        ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
         "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "van Leeuwen", "Kuipers", "El Amrani",
         "Öztürk", "van der Heijden", "Verhoeven", "Kroës", "Hoëvenaars", "Janssen"),
    ),
    "BE": (
        ("Lien", "Wout", "Jef", "Elise", "Margaux", "Louis", "Chloé", "Amélie", "Rémi", "Stijn", "Noor", "Arne",
         "Lotte", "Zoë", "Mathéo"),
        ("Peeters", "Maes", "Claes", "Goossens", "Willems", "Wouters", "Dubois", "Lambert", "Janssens", "Mertens",
         "De Smet", "Vermeulen", "Geërts"),
    ),
    "DE": (
        ("Jürgen", "Björn", "Günther", "Jörg", "Uwe", "Katrin", "Lena", "Lukas", "Sophie", "Jonas", "Leonie", "Felix",
         "Anja", "Maximilian", "Hannah", "Sören"),
        ("Müller", "Schröder", "Schäfer", "Köhler", "Wagner", "Becker", "Schmidt", "Fischer", "Weber", "Hoffmann",
         "Krüger", "Möller", "Groß", "Vogel"),
    ),
    "GB": (
        ("Oliver", "Harry", "Charlotte", "George", "Amelia", "Jack", "Isla", "Thomas", "Emily", "James", "Chloë", "Zoë"),
        ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Davies", "Clarke", "O'Brien", "Hughes"),
    ),
    "FR": (
        ("Léa", "Hélène", "François", "Amélie", "Maël", "Chloé", "Étienne", "Noémie", "Jérôme", "Camille", "Benoît", "Inès"),
        ("Dubois", "Lefèvre", "Moreau", "Girard", "Mercier", "Bernard", "Martin", "Durand", "Fournier", "Rousseau", "Lemaître"),
    ),
    "XX": (
        ("Lucía", "José", "Martín", "Giulia", "Marco", "Emily", "Michael", "Sofía", "Ana", "Luca"),
        ("García", "Fernández", "Rossi", "Bianchi", "Johnson", "Miller", "Núñez", "Romano"),
    ),
}
_NAME_GROUP = {"NL": "NL", "BE": "BE", "DE": "DE", "GB": "GB", "FR": "FR", "ES": "XX", "IT": "XX", "US": "XX"}
_DOMAIN = {"NL": "example.nl", "BE": "example.be", "DE": "example.de", "GB": "example.co.uk", "FR": "example.fr",
           "ES": "example.es", "IT": "example.it", "US": "example.com"}
_EMPLOYEE_FIRST = ("Anna", "Bram", "Chantal", "Daan", "Eva", "Finn", "Gijs", "Hanna", "Ilse", "Joost", "Karim", "Lotte",
                   "Marloes", "Niels", "Olga", "Paul", "Quinten", "Roos", "Stefan", "Tessa")
_CORPORATE = ("€uroTravel B.V.", "Zakenreizen €xpress B.V.", "Budget€ Reizen", "€co Flyers GmbH", "Reisbureau Zon & Zee (€)")

_COUNTRY_P = np.array([.46, .17, .14, .12, .08, .015, .01, .005])
_PERSONA_P = np.array([.27, .33, .20, .20])
_SEGMENT_GIVEN_PERSONA = np.array([
    [.15, .35, .30, .20],
    [.02, .10, .28, .60],
    [.005, .03, .125, .84],
    [.08, .30, .37, .25],
])
_PERSONA_CHANNELS = np.array([  # x, facebook, instagram, linkedin, forum, email, phone, chat, store
    [3, .5, .5, 3, 1, 3, 1.2, 1.2, .5],
    [1, 4, 2, .2, 1, 3, 1.2, 1.2, .8],
    [3, 1, 5, .3, 2, .5, .15, 1.2, .3],
    [3, 1, 1, 1, 2, 2, .6, 1.5, 1.0],
])
_EMPLOYEE_CHANNELS = np.array([3, .3, .5, 5, 2, .01, .01, .01, .01])
_PERSONA_ACTIVE = np.array([1.2, 0.8, 1.3, 1.4])
_SEGMENT_ACTIVE = np.array([1.5, 1.3, 1.0, 0.85])
_PERSONA_FOLLOWERS_MU = np.array([4.6, 4.0, 4.9, 4.3])


def _slug(s: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_.lower() if ch.isalnum())


@dataclass
class _Members:
    n: int
    join: np.ndarray      # day index relative to START (negative = before the window)
    churn: np.ndarray     # day index of churned_at, or -1
    a: np.ndarray         # first day of the membership inside the window (float)
    b: np.ndarray         # exclusive end (float)
    persona: np.ndarray
    segment: np.ndarray
    country: np.ndarray
    followers: np.ndarray
    employee: np.ndarray
    corporate: np.ndarray
    names: np.ndarray
    emails: np.ndarray
    ids: pa.Array


def _make_members(rng: np.random.Generator, n: int, cal: _Calendar) -> _Members:
    n_base = int(round(0.35 * n))
    base = -(1 + np.floor(3000 * rng.random(n_base) ** 1.5)).astype(np.int64)
    new = _sample_days(cal.cum_join, np.zeros(n - n_base), np.full(n - n_base, float(N_DAYS)), rng.random(n - n_base))
    join = np.sort(np.concatenate([base, new]))

    persona = rng.choice(len(PERSONAS), size=n, p=_PERSONA_P)
    segment = _categorical(rng, _SEGMENT_GIVEN_PERSONA, persona)
    country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)

    n_emp = min(20, max(1, n // 40))
    early = np.flatnonzero(join < 0) if n_base >= n_emp else np.arange(n)
    employee_idx = np.sort(rng.choice(early, size=n_emp, replace=False))
    employee = np.zeros(n, dtype=bool)
    employee[employee_idx] = True
    country[employee_idx] = 0
    n_corp = max(1, round(0.002 * n))
    corporate_idx = np.sort(rng.choice(np.flatnonzero(~employee), size=n_corp, replace=False))
    corporate = np.zeros(n, dtype=bool)
    corporate[corporate_idx] = True
    persona[corporate_idx] = 0
    segment[corporate_idx] = rng.choice([0, 1], size=n_corp)

    followers = np.where(
        rng.random(n) < 0.12, 0,
        np.floor(np.exp(rng.normal(_PERSONA_FOLLOWERS_MU[persona], 1.7))),
    ).astype(np.int64)
    n_inf = max(3, round(n / 1000))
    inf_idx = rng.choice(np.flatnonzero(~employee & ~corporate), size=n_inf, replace=False)
    followers[inf_idx] = np.floor(np.exp(rng.uniform(np.log(5e4), np.log(6e5), size=n_inf))).astype(np.int64)

    # Names and e-mail addresses per country group (object arrays: one Python op per member).
    names = np.empty(n, dtype=object)
    emails = np.empty(n, dtype=object)
    group = np.array([_NAME_GROUP[c] for c in COUNTRIES])[country]
    suffix_pool = np.array([""] + [str(i) for i in range(10, 100)], dtype=object)
    suffix = np.where(rng.random(n) < 0.4, suffix_pool[rng.integers(1, 91, size=n)], "")
    domain = np.array([_DOMAIN[c] for c in COUNTRIES], dtype=object)[country]
    for g, (firsts, lasts) in _NAMES.items():
        idx = np.flatnonzero(group == g)
        fi = rng.integers(len(firsts), size=idx.size)
        li = rng.integers(len(lasts), size=idx.size)
        f_arr, l_arr = np.array(firsts, dtype=object), np.array(lasts, dtype=object)
        fs = np.array([_slug(x) for x in firsts], dtype=object)
        ls = np.array([_slug(x) for x in lasts], dtype=object)
        names[idx] = f_arr[fi] + " " + l_arr[li]
        emails[idx] = fs[fi] + "." + ls[li] + suffix[idx] + "@" + domain[idx]
    nl_last = _NAMES["NL"][1]
    for j, i in enumerate(employee_idx):
        first = _EMPLOYEE_FIRST[j % len(_EMPLOYEE_FIRST)]
        last = nl_last[(7 * j) % len(nl_last)]
        names[i] = f"{first} {last}"
        emails[i] = f"{_slug(first)}.{_slug(last)}@skyloop.example"
    for j, i in enumerate(corporate_idx):
        name = _CORPORATE[j % len(_CORPORATE)]
        names[i] = name if j < len(_CORPORATE) else f"{name} {j // len(_CORPORATE) + 1}"
        emails[i] = f"boekingen@{_slug(name.replace('€', 'e'))}.example"

    # Contractual churn: ~15 %, at least 14 days after joining and inside the window.
    eligible = np.flatnonzero(~employee & (join <= N_DAYS - 15))
    n_churn = min(eligible.size, int(round(0.15 * n)))
    churned = rng.choice(eligible, size=n_churn, replace=False)
    churn = np.full(n, -1, dtype=np.int64)
    lo = np.maximum(join[churned] + 14, 30)
    churn[churned] = lo + np.floor((N_DAYS - lo) * rng.random(n_churn)).astype(np.int64)
    a = np.maximum(join, 0).astype(float)
    b = np.where(churn >= 0, churn, N_DAYS).astype(float)

    width = max(6, len(str(n)))
    ids = _zero_pad_ids("M", np.arange(1, n + 1), width)
    return _Members(n, join, churn, a, b, persona, segment, country, followers, employee, corporate, names, emails, ids)


# --------------------------------------------------------------------------------------------
# Inbound activity
# --------------------------------------------------------------------------------------------

_ACTION_P = np.zeros((len(CHANNELS), len(ACTIONS)))
for _c, _acts in CHANNEL_ACTIONS.items():
    for _a, _p in _acts.items():
        _ACTION_P[_CH[_c], _A[_a]] = _p
_ANSWERED_P = RESPONSE_RATE * (_ACTION_P * ~_NOT_ANSWERABLE).sum(axis=1)  # per channel: P(row gets a reply)

_UNID_CHANNELS = np.array([_CH["x"], _CH["facebook"], _CH["instagram"], _CH["linkedin"], _CH["forum"]])
_UNID_P = np.array([.40, .20, .20, .05, .15])
_UNID_PREFIX = ("X", "FB", "IG", "LI", "F")
_ANON_CHANNELS = np.array([_CH["store"], _CH["phone"], _CH["chat"], _CH["forum"]])
_ANON_P = np.array([.35, .30, .25, .10])
_BURST_ANSWERED = 0.25
_BURST_SHARE = 0.012     # of inbound rows
_ANON_SHARE = 0.03
_UNID_SHARE = 0.05
_POST_SHARE = 0.015      # of all rows
_ACTIVE_SHARE = 0.35


@dataclass
class _Rows:
    """Interaction rows as parallel code arrays (strings are attached only at the end)."""

    t: np.ndarray          # int64 seconds since START
    ch: np.ndarray         # int8 channel code
    action: np.ndarray     # int8 action code
    actor: np.ndarray      # int64: -1 anonymous, [0, n) member, >= n unidentified handle
    outbound: np.ndarray   # bool
    parent: np.ndarray     # int64 row index answered, or -1
    agent: np.ndarray      # int8, -1 none
    text: np.ndarray       # int16 into TEXT_TEMPLATES, -1 none
    tags: np.ndarray       # int16 into HASHTAGS, -1 none
    campaign: np.ndarray   # int8 into CAMPAIGNS, -1 none
    sentiment: np.ndarray  # float64, NaN none
    reach: np.ndarray      # int64, -1 none


def _stamp_rows(rng, cal, ch, lo, hi, action=None):
    """Timestamps (and, when ``action`` is given, actions) per channel group."""
    t = np.empty(ch.size, dtype=np.int64)
    for c in range(len(CHANNELS)):
        sel = np.flatnonzero(ch == c)
        if sel.size == 0:
            continue
        days = _sample_days(cal.cum[c], lo[sel] if lo.ndim else np.full(sel.size, float(lo)),
                            hi[sel] if hi.ndim else np.full(sel.size, float(hi)), rng.random(sel.size))
        hours = rng.choice(24, size=sel.size, p=_HOURS[c])
        t[sel] = days * _DAY + hours * 3600 + rng.integers(0, 3600, size=sel.size)
        if action is not None:
            acts = np.flatnonzero(_ACTION_P[c])
            action[sel] = acts[rng.choice(acts.size, size=sel.size, p=_ACTION_P[c, acts])]
    return t


def _activity_model(rng, m: _Members):
    """Active members, their activity weights, active spells and channel preferences."""
    n = m.n
    exposure = (m.b - m.a) / N_DAYS
    prop = _PERSONA_ACTIVE[m.persona] * _SEGMENT_ACTIVE[m.segment] * np.where(m.followers > 0, 1.3, 1.0) * np.sqrt(exposure)
    keys = np.log(prop) + rng.gumbel(size=n)
    keys[m.employee] = np.inf
    n_active = max(int(m.employee.sum()), int(round(_ACTIVE_SHARE * n)))
    active = np.sort(np.argsort(-keys, kind="stable")[:n_active])

    # Zipf-Mandelbrot over a random ranking: the top 10 % produce ~2/3 of the activity at any size,
    # without one member taking a large slice of a big community.
    rank = rng.permutation(n_active) + 1.0
    w = (rank + 1 + 0.005 * n_active) ** -1.2 * _SEGMENT_ACTIVE[m.segment[active]] * exposure[active] ** 0.7
    w *= n_active / w.sum()
    w[m.employee[active]] = 1.5 * exposure[active][m.employee[active]]
    q = np.argsort(np.argsort(w, kind="stable"), kind="stable") / max(1, n_active - 1)

    # Active spells: up to 4 per member; heavy users have long spells and come back more often.
    K = 4
    a, b = m.a[active], m.b[active]
    is_base = m.join[active] < 0
    start0 = np.where(is_base, np.maximum(0.0, rng.uniform(-300, 450, n_active)), a + rng.exponential(12, n_active))
    length = rng.exponential(45 + 330 * q**2, (K, n_active)) + 3
    gap = 25 + rng.exponential(110, (K, n_active))
    cont = np.cumprod(rng.random((K, n_active)) < 0.3 + 0.45 * q, axis=0)
    starts = np.empty((K, n_active))
    ends = np.empty((K, n_active))
    starts[0] = start0
    ends[0] = start0 + length[0]
    for k in range(1, K):
        starts[k] = ends[k - 1] + gap[k]
        ends[k] = starts[k] + length[k]
    late = starts[0] >= b
    starts[0, late] = a[late] + (b[late] - a[late]) * 0.8 * rng.random(late.sum())
    ends = np.minimum(ends, b)
    valid = np.vstack([np.ones((1, n_active), dtype=bool), cont[:K - 1].astype(bool)]) & (starts < b)
    valid[0] = True
    span = np.where(valid, ends - starts, 0.0)
    cumfrac = np.cumsum(span, axis=0) / span.sum(axis=0)
    cumfrac[-1] = 1.0
    emp = m.employee[active]
    if emp.any():  # employees post throughout the two years
        starts[:, emp], ends[:, emp], cumfrac[:, emp] = a[emp], b[emp], 1.0

    # Channel preference: 1-3 channels, persona-dependent, Gumbel top-3 without replacement.
    pref_w = _PERSONA_CHANNELS[m.persona[active]].copy()
    pref_w[emp] = _EMPLOYEE_CHANNELS
    heavy_damp = 0.25 + 0.75 * (1 - q) ** 2
    pref_w[:, _SYNC] *= heavy_damp[:, None]
    top = _gumbel_top(rng, np.log(pref_w), 3)
    k_ch = rng.choice([1, 2, 3], size=n_active, p=[.45, .35, .20])
    share = rng.gamma(np.array([2.0, 1.0, 0.6]), size=(n_active, 3))
    share[np.arange(3)[None, :] >= k_ch[:, None]] = 0
    # Nobody calls or visits the desk hundreds of times: heavy users live on social and the forum.
    share *= np.where(_SYNC[top], heavy_damp[:, None], 1.0)
    share /= share.sum(axis=1, keepdims=True)
    return active, w, starts, ends, cumfrac, top, np.cumsum(share, axis=1)


def _expected_reply_ratio(w, top, cumshare) -> float:
    """Expected replies per inbound row, from the channel mix (sizes the inbound volume)."""
    share = np.diff(np.concatenate([np.zeros((cumshare.shape[0], 1)), cumshare], axis=1), axis=1)
    mix = np.zeros(len(CHANNELS))
    np.add.at(mix, top.ravel(), (share * w[:, None]).ravel())
    known = float((mix / mix.sum()) @ _ANSWERED_P)
    unid = float(_UNID_P @ _ANSWERED_P[_UNID_CHANNELS])
    anon = float(_ANON_P @ _ANSWERED_P[_ANON_CHANNELS])
    return (1 - _ANON_SHARE - _UNID_SHARE - _BURST_SHARE) * known + _UNID_SHARE * unid + _ANON_SHARE * anon + _BURST_SHARE * _BURST_ANSWERED


def _unique_numbers(rng, size: int, min_digits: int) -> tuple[np.ndarray, int]:
    digits = max(min_digits, len(str(10 * size)))
    lo = 10 ** (digits - 1)
    return lo + rng.choice(9 * lo, size=size, replace=False), digits


def _inbound(rng, m: _Members, cal: _Calendar, n_inbound: int, model):
    """Inbound rows: known members (in their spells), unidentified handles, anonymous contacts, the hijack."""
    active, w, starts, ends, cumfrac, top, cumshare = model
    n = m.n
    n_burst = int(round(_BURST_SHARE * n_inbound))
    n_anon = int(round(_ANON_SHARE * n_inbound))
    n_burst_known = int(round(0.35 * n_burst))
    burst_eligible = np.flatnonzero(
        (m.join[active] <= (HIJACK_START - START).days) & (m.b[active] > (HIJACK_END - START).days + 1) & ~m.employee[active]
    )
    if burst_eligible.size == 0:
        n_burst_known = 0
    n_burst_unid = n_burst - n_burst_known
    n_unid = max(0, int(round(_UNID_SHARE * n_inbound)) - n_burst_unid)
    n_known = n_inbound - n_burst - n_anon - n_unid
    n_active = active.size
    if n_known < n_active:
        raise ValueError(f"interactions too small for {m.n} members: raise interactions or lower members")

    # Known members: counts per member (at least one each: they are the active ones).
    counts = 1 + rng.multinomial(n_known - n_active, w / w.sum())
    pos = np.repeat(np.arange(n_active, dtype=np.int32), counts)
    u = rng.random(pos.size)
    spell = np.zeros(pos.size, dtype=np.int64)
    for k in range(cumfrac.shape[0] - 1):
        spell += u > cumfrac[k][pos]
    lo, hi = starts[spell, pos], ends[spell, pos]
    del spell
    u = rng.random(pos.size)
    c1, c2 = cumshare[:, 0][pos], cumshare[:, 1][pos]
    ch_known = np.where(u < c1, top[pos, 0], np.where(u < c2, top[pos, 1], top[pos, 2])).astype(np.int8)
    del u, c1, c2
    act_known = np.empty(pos.size, dtype=np.int8)
    t_known = _stamp_rows(rng, cal, ch_known, lo, hi, act_known)
    del lo, hi
    actor_known = active[pos].astype(np.int64)
    del pos

    # Unidentified handles (not in the members table), per channel pools with Zipf weights.
    unid_ch_idx = rng.choice(len(_UNID_CHANNELS), size=n_unid, p=_UNID_P)
    pool_sizes = np.maximum(10, np.round(0.5 * n * _UNID_P)).astype(int)
    burst_pool = max(10, int(round(0.55 * n_burst_unid)))
    unid_ids: list[pa.Array] = []
    actor_unid = np.empty(n_unid, dtype=np.int64)
    offset = n
    burst_offset = 0
    for j, prefix in enumerate(_UNID_PREFIX):
        size = pool_sizes[j] + (burst_pool if prefix == "X" else 0)
        numbers, digits = _unique_numbers(rng, size, 5 if prefix == "X" else 6)
        unid_ids.append(_zero_pad_ids(prefix, numbers, digits))
        sel = np.flatnonzero(unid_ch_idx == j)
        zipf = 1.0 / np.arange(1, pool_sizes[j] + 1) ** 0.9
        actor_unid[sel] = offset + rng.choice(pool_sizes[j], size=sel.size, p=zipf / zipf.sum())
        if prefix == "X":
            burst_offset = offset + pool_sizes[j]
        offset += size
    n_unid_total = offset - n
    unid_followers = np.floor(np.exp(rng.normal(4.6, 1.8, n_unid_total))).astype(np.int64)
    ch_unid = _UNID_CHANNELS[unid_ch_idx].astype(np.int8)
    act_unid = np.empty(n_unid, dtype=np.int8)
    t_unid = _stamp_rows(rng, cal, ch_unid, np.float64(0), np.float64(N_DAYS), act_unid)

    # Anonymous contacts (desk visits, calls, chats, forum guests).
    ch_anon = _ANON_CHANNELS[rng.choice(len(_ANON_CHANNELS), size=n_anon, p=_ANON_P)].astype(np.int8)
    act_anon = np.empty(n_anon, dtype=np.int8)
    t_anon = _stamp_rows(rng, cal, ch_anon, np.float64(0), np.float64(N_DAYS), act_anon)

    # The hijack: x mentions with the campaign hashtag, two waves within 72 hours.
    h0 = int((HIJACK_START - START).total_seconds())
    span = int((HIJACK_END - HIJACK_START).total_seconds())
    wave2 = rng.random(n_burst) < 0.3
    off = rng.gamma(1.6, 9 * 3600, n_burst) + np.where(wave2, 26 * 3600, 0)
    off = np.where(off < span, off, rng.uniform(0, span, n_burst))
    t_burst = h0 + off.astype(np.int64)
    fw = np.sqrt(m.followers[active[burst_eligible]] + 1.0) if burst_eligible.size else np.ones(1)
    actor_burst = np.concatenate([
        active[burst_eligible[rng.choice(burst_eligible.size, size=n_burst_known, p=fw / fw.sum())]] if n_burst_known else np.empty(0, np.int64),
        burst_offset + rng.integers(0, burst_pool, size=n_burst_unid),
    ]).astype(np.int64)
    rng.shuffle(actor_burst)

    t = np.concatenate([t_known, t_unid, t_anon, t_burst])
    ch = np.concatenate([ch_known, ch_unid, ch_anon, np.full(n_burst, _CH["x"], np.int8)])
    action = np.concatenate([act_known, act_unid, act_anon, np.full(n_burst, _A["mention"], np.int8)])
    actor = np.concatenate([actor_known, actor_unid, np.full(n_anon, -1, np.int64), actor_burst])
    burst = np.zeros(t.size, dtype=bool)
    burst[t.size - n_burst:] = True
    actor_dict = pa.concat_arrays([m.ids] + unid_ids)
    followers_all = np.concatenate([m.followers, unid_followers])
    return t, ch, action, actor, burst, actor_dict, followers_all


def _content(rng, m: _Members, cal: _Calendar, t, ch, action, actor, burst, followers_all):
    """Text, language, sentiment, hashtags, campaign and reach of inbound rows."""
    size = t.size
    known = (actor >= 0) & (actor < m.n)
    nl_country = np.isin(np.arange(len(COUNTRIES)), [0, 2])
    p_nl = np.full(size, 0.4)
    p_nl[known] = np.where(nl_country[m.country[actor[known]]], 0.65, 0.04)
    p_nl[burst] = 0.35
    lang = (rng.random(size) < p_nl).astype(np.int64)

    kind_of_channel = np.array([KIND["social"]] * 4 + [KIND["forum"], KIND["email"], KIND["call"], KIND["chat"], KIND["visit"]])
    kind = kind_of_channel[ch]
    kind[burst] = KIND["hijack"]
    has_text = ~_NOT_ANSWERABLE[action]
    mean = np.array([0.35, 0.35, 0.4, 0.35, 0.25, 0.0, 0.0, 0.2, 0.35])[ch]
    sd = np.where(action == _A["review"], 1.0, 0.65)
    s = np.tanh(rng.normal(mean, sd))  # mild positive, no pile-up at the ends
    s[burst] = -1.0
    pol = np.where(s < -0.25, 0, np.where(s > 0.25, 2, 1))
    text = np.where(has_text, text_index(kind, pol, lang, rng.integers(0, 3, size)), -1).astype(np.int16)

    scored = has_text & (rng.random(size) < 0.8)
    labelled = rng.random(size) < 0.5
    numeric = np.round(np.clip(s, -0.99, 0.99), 2)
    numeric = np.where(numeric == 0, np.where(s < 0, -0.01, 0.01), numeric)
    sentiment = np.where(labelled, pol - 1.0, numeric)
    sentiment[~scored] = np.nan
    sentiment[burst] = np.where(rng.random(burst.sum()) < 0.85, -1.0, np.nan)

    day = t // _DAY
    camp = cal.campaign[day]
    taggable = _SOCIAL[ch] & has_text & ~burst
    r = rng.random(size)
    campaign_tag = taggable & (camp >= 0) & (r < 0.35)
    generic_tag = taggable & ~campaign_tag & (r > 0.82)
    tags = np.full(size, -1, dtype=np.int16)
    tags[generic_tag] = rng.integers(0, _N_GEN, generic_tag.sum())
    tags[campaign_tag] = _N_GEN + 2 * camp[campaign_tag] + rng.integers(0, 2, campaign_tag.sum())
    tags[burst] = _BURST_TAG0 + rng.integers(0, 3, burst.sum())
    campaign = np.where(campaign_tag, camp, -1).astype(np.int8)
    campaign[burst] = _HIJACK_IDX

    reach = np.full(size, -1, dtype=np.int64)
    with_reach = _SOCIAL[ch] & np.isin(action, [_A["post"], _A["mention"], _A["share"], _A["review"]]) & (actor >= 0)
    f = followers_all[actor[with_reach]]
    reach[with_reach] = np.floor(f * np.exp(rng.normal(np.log(0.25), 0.9, f.size))).astype(np.int64) + rng.integers(0, 25, f.size)
    return text, sentiment, tags, campaign, reach, pol, lang


def _replies(rng, cal: _Calendar, t, ch, action, burst, pol, lang):
    """Outbound replies to answered inbound rows: (parent, t, agent, text)."""
    answerable = ~_NOT_ANSWERABLE[action]
    rate = np.where(burst, _BURST_ANSWERED, RESPONSE_RATE[ch])
    parent = np.flatnonzero(answerable & (rng.random(t.size) < rate))
    tp, cp = t[parent], ch[parent]
    sync = _SYNC[cp]
    change = (RESPONSE_TIME_CHANGE_DATE - START.date()).days * _DAY
    after = tp >= change
    sod = tp % _DAY
    hour = sod // 3600
    weekend = cal.dow[tp // _DAY] >= 5

    median = np.where(after, 70.0, 240.0) * 60
    base = np.exp(rng.normal(np.log(median), 1.0))
    base *= np.where(weekend, np.where(after, 1.5, 2.0), 1.0)
    night_wait = np.where(hour >= 22, 31 * 3600 - sod, np.where(hour < 7, 7 * 3600 - sod, 0))
    delay = np.where(night_wait > 0, night_wait + 0.5 * base, base)
    sync_median = np.array([0, 0, 0, 0, 0, 0, 180, 90, 60], dtype=float)[cp]
    sync_sigma = np.array([1, 1, 1, 1, 1, 1, 0.8, 0.7, 0.5])[cp]
    sync_delay = 20 + np.exp(rng.normal(np.log(np.maximum(sync_median, 1)), sync_sigma))
    delay = np.where(sync, sync_delay, delay)
    tr = tp + np.maximum(30, delay).astype(np.int64)
    keep = tr < _T_END
    parent, tr, cp, after_r = parent[keep], tr[keep], cp[keep], tr[keep] >= change

    agent = np.empty(parent.size, dtype=np.int8)
    pools = [
        (_SYNC[cp] & (cp != _CH["store"]), _CALLCENTRE, _CALLCENTRE),
        (cp == _CH["store"], _DESK, _DESK),
        (~_SYNC[cp], _WEBCARE_BEFORE, _WEBCARE_AFTER),
    ]
    for mask, before_pool, after_pool in pools:
        for pool, sel in ((before_pool, mask & ~after_r), (after_pool, mask & after_r)):
            idx = np.flatnonzero(sel)
            agent[idx] = pool[rng.integers(0, pool.size, idx.size)]
    text = text_index(KIND["reply_out"], pol[parent], lang[parent], rng.integers(0, 3, parent.size)).astype(np.int16)
    return parent, tr, cp, agent, text


_POST_CHANNELS = np.array([_CH["x"], _CH["facebook"], _CH["instagram"], _CH["linkedin"]])
_POST_P = np.array([.35, .25, .25, .15])
_ORG_FOLLOWERS = np.array([42_000, 95_000, 60_000, 25_000, 0, 0, 0, 0, 0])


def _posts(rng, cal: _Calendar, n_posts: int):
    ch = _POST_CHANNELS[rng.choice(_POST_CHANNELS.size, size=n_posts, p=_POST_P)].astype(np.int8)
    day = _sample_days(cal.cum_post, np.zeros(n_posts), np.full(n_posts, float(N_DAYS)), rng.random(n_posts))
    t = day * _DAY + rng.choice(24, size=n_posts, p=_H_POST_P) * 3600 + rng.integers(0, 3600, n_posts)
    camp = cal.campaign[day]
    r = rng.random(n_posts)
    campaign = np.where((camp >= 0) & (r < 0.7), camp, -1).astype(np.int8)
    tags = np.where(campaign >= 0, _N_GEN + 2 * campaign + 1, np.where(r > 0.6, 0, -1)).astype(np.int16)
    after = day >= (RESPONSE_TIME_CHANGE_DATE - START.date()).days
    agent = np.where(after & (rng.random(n_posts) < 0.5), 11, 0).astype(np.int8)
    text = text_index(KIND["post_out"], 2, (rng.random(n_posts) < 0.6).astype(np.int64), rng.integers(0, 3, n_posts)).astype(np.int16)
    reach = np.floor(_ORG_FOLLOWERS[ch] * (1 + 0.35 * day / N_DAYS) * np.exp(rng.normal(np.log(0.12), 0.7, n_posts))).astype(np.int64)
    return t, ch, agent, text, tags, campaign, reach


def _link_to_earlier(rng, t_child, t_parent_sorted, p_geom: float) -> np.ndarray:
    """Position in ``t_parent_sorted`` of a recent parent strictly before each child (-1: none)."""
    j = np.searchsorted(t_parent_sorted, t_child, side="left") - rng.geometric(p_geom, t_child.size)
    return np.where(j >= 0, j, -1)


def _interactions(rng, m: _Members, cal: _Calendar, total: int):
    model = _activity_model(rng, m)
    rho = _expected_reply_ratio(model[1], model[5], model[6])
    n_posts_target = int(round(_POST_SHARE * total))
    n_inbound = int(round((total - n_posts_target) / (1 + rho)))
    t, ch, action, actor, burst, actor_dict, followers_all = _inbound(rng, m, cal, n_inbound, model)
    text, sentiment, tags, campaign, reach, pol, lang = _content(rng, m, cal, t, ch, action, actor, burst, followers_all)
    r_parent, r_t, r_ch, r_agent, r_text = _replies(rng, cal, t, ch, action, burst, pol, lang)
    del pol, lang
    n_in, n_rep = t.size, r_parent.size
    n_posts = max(int(round(0.004 * total)), total - n_in - n_rep)
    p_t, p_ch, p_agent, p_text, p_tags, p_campaign, p_reach = _posts(rng, cal, n_posts)

    # Threads: customer comments answer organisation posts; forum replies answer forum posts.
    parent_in = np.full(n_in, -1, dtype=np.int64)
    commenting = ~burst & (((action == _A["comment"]) & _SOCIAL[ch]) | ((action == _A["reply"]) & (ch == _CH["x"])))
    commenting &= rng.random(n_in) < 0.6
    post_base = n_in + n_rep
    for c in _POST_CHANNELS:
        kids = np.flatnonzero(commenting & (ch == c))
        own = np.flatnonzero(p_ch == c)
        order = own[np.argsort(p_t[own], kind="stable")]
        j = _link_to_earlier(rng, t[kids], p_t[order], 0.35)
        parent_in[kids[j >= 0]] = post_base + order[j[j >= 0]]
    forum_posts = np.flatnonzero((ch == _CH["forum"]) & (action == _A["post"]))
    forum_posts = forum_posts[np.argsort(t[forum_posts], kind="stable")]
    kids = np.flatnonzero((ch == _CH["forum"]) & (action == _A["reply"]) & (rng.random(n_in) < 0.85))
    j = _link_to_earlier(rng, t[kids], t[forum_posts], 0.05)
    parent_in[kids[j >= 0]] = forum_posts[j[j >= 0]]

    rows = _Rows(
        t=np.concatenate([t, r_t, p_t]),
        ch=np.concatenate([ch, r_ch, p_ch]),
        action=np.concatenate([action, np.full(n_rep, _A["reply"], np.int8), np.full(n_posts, _A["post"], np.int8)]),
        actor=np.concatenate([actor, actor[r_parent], np.full(n_posts, -1, np.int64)]),
        outbound=np.concatenate([np.zeros(n_in, bool), np.ones(n_rep + n_posts, bool)]),
        parent=np.concatenate([parent_in, r_parent, np.full(n_posts, -1, np.int64)]),
        agent=np.concatenate([np.full(n_in, -1, np.int8), r_agent, p_agent]),
        text=np.concatenate([text, r_text, p_text]),
        tags=np.concatenate([tags, np.full(n_rep, -1, np.int16), p_tags]),
        campaign=np.concatenate([campaign, np.full(n_rep, -1, np.int8), p_campaign]),
        sentiment=np.concatenate([sentiment, np.full(n_rep + n_posts, np.nan)]),
        reach=np.concatenate([reach, np.full(n_rep, -1, np.int64), p_reach]),
    )
    return rows, actor_dict


def _take(values, codes: np.ndarray) -> pa.Array:
    """Strings for codes (-1 = null) as large_string, which pandas' ``str`` dtype wraps without a copy."""
    if isinstance(values, pa.Array):
        dictionary = values if values.type == pa.large_string() else values.cast(pa.large_string())
    else:
        dictionary = pa.array(list(values), type=pa.large_string())
    return pc.take(dictionary, pa.array(codes, mask=codes < 0))


def _interactions_frame(rows: _Rows, actor_dict: pa.Array) -> pd.DataFrame:
    n = rows.t.size
    # Unique sort keys (time, then row number): the order does not depend on the sort algorithm.
    order = np.sort((rows.t << 34) | np.arange(n, dtype=np.int64)) & ((1 << 34) - 1)
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    parent = rows.parent[order]
    rows.parent = None
    parent = np.where(parent >= 0, inv[np.maximum(parent, 0)], -1)
    del inv
    ids = _zero_pad_ids("I", np.arange(1, n + 1), max(8, len(str(n))))
    cols: dict[str, pa.Array] = {}

    def take(name: str, dictionary, field: str, order: np.ndarray = order) -> None:
        codes = getattr(rows, field)[order]
        setattr(rows, field, None)  # free the source as we go: keeps the peak near the final frame
        cols[name] = _take(dictionary, codes)

    cols["occurred_at"] = pa.array((_EPOCH + rows.t[order].astype("timedelta64[s]")).astype("datetime64[us]"))
    rows.t = None
    take("channel", CHANNELS, "ch")
    take("member_id", actor_dict, "actor")
    take("action", ACTIONS, "action")
    cols["direction"] = _take(("inbound", "outbound"), rows.outbound[order].astype(np.int8))
    rows.outbound = None
    cols["interaction_id"] = ids
    cols["in_reply_to"] = _take(ids, parent)
    del parent
    take("agent", AGENTS, "agent")
    take("text", TEXT_TEMPLATES, "text")
    take("hashtags", HASHTAGS, "tags")
    take("campaign", _CAMPAIGN_NAMES, "campaign")
    cols["sentiment"] = pa.array(rows.sentiment[order], from_pandas=True)
    reach = rows.reach[order]
    cols["reach"] = pa.array(reach, mask=reach < 0)
    del reach, order
    table = pa.table(cols)
    cols.clear()
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    del table
    pa.default_memory_pool().release_unused()  # hand freed intermediates back to the OS
    return frame


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------

FLIGHTS: tuple[tuple[str, float, float], ...] = (  # product, base fare, weight
    ("Flight AMS-LHR", 119, 5), ("Flight AMS-CDG", 109, 4), ("Flight AMS-BCN", 139, 4), ("Flight AMS-FCO", 149, 3),
    ("Flight AMS-LIS", 159, 3), ("Flight AMS-BER", 99, 3), ("Flight AMS-DUB", 115, 2), ("Flight AMS-MAD", 135, 2),
    ("Flight AMS-JFK", 549, 1), ("Flight AMS-DXB", 489, 1),
)
EXTRAS: tuple[tuple[str, float, float], ...] = (
    ("Seat upgrade", 35, 4), ("Extra bag", 45, 5), ("Lounge pass", 39, 2), ("Priority boarding", 12, 2),
    ("Luxury Class upgrade", 349, 0.6),
)
PRODUCTS = tuple(p[0] for p in FLIGHTS + EXTRAS)
_BASE_PRICE = np.array([p[1] for p in FLIGHTS + EXTRAS], dtype=float)
_NF = len(FLIGHTS)
_LUXURY = _NF + 4
_SEGMENT_BUY = np.array([3.0, 2.0, 1.3, 1.0])
_PERSONA_BUY = np.array([1.6, 1.0, 0.7, 1.4])
_SEGMENT_FARE = np.array([1.6, 1.25, 1.05, 1.0])
_SALES_P = np.array([[.65, .30, .05], [.60, .30, .10], [.30, .65, .05], [.45, .45, .10]])
_REFUND_SHARE = 0.03
_LINES_PER_INTERACTION = 1 / 9


def _transactions(rng, m: _Members, cal: _Calendar, n_lines: int, activity: np.ndarray):
    n_orders = max(1, int(round(n_lines * (1 - _REFUND_SHARE) / 1.45)))
    exposure = (m.b - m.a) / N_DAYS
    w = (_SEGMENT_BUY[m.segment] * _PERSONA_BUY[m.persona] * exposure * (1 + 0.6 * np.log1p(activity))
         * np.where(m.corporate, 6.0, 1.0) * np.where(m.employee, 0.3, 1.0))
    per_member = rng.multinomial(n_orders, w / w.sum())
    om = np.repeat(np.arange(m.n), per_member)
    # Later in the membership is likelier (spend grows with tenure), with the yearly season.
    day = _sample_days(cal.cum_flat, m.a[om], m.b[om], rng.random(n_orders) ** (1 / 1.6))
    sales = _categorical(rng, _SALES_P, m.persona[om]).astype(np.int8)
    hour = np.where(sales == 2, rng.choice(24, n_orders, p=_H_DESK_P), rng.choice(24, n_orders, p=_H_SHOP_P))
    t = day * _DAY + hour * 3600 + rng.integers(0, 60, n_orders) * 60
    o = np.argsort(t, kind="stable")
    om, day, sales, t = om[o], day[o], sales[o], t[o]

    # Order lines: a flight (80 % of orders) plus distinct extras.
    persona = m.persona[om]
    has_flight = rng.random(n_orders) < 0.8
    n_extra = np.where(has_flight, np.minimum(rng.poisson(0.55, n_orders), 3), 1)
    pax = np.where(persona == 1, 1 + rng.binomial(4, 0.45, n_orders),
                   np.where(persona == 0, 1 + (rng.random(n_orders) < 0.1), 1 + (rng.random(n_orders) < 0.2)))
    flight = rng.choice(_NF, size=n_orders, p=np.array([f[2] for f in FLIGHTS]) / sum(f[2] for f in FLIGHTS))
    extra_rank = _gumbel_top(rng, np.log(np.broadcast_to([e[2] for e in EXTRAS], (n_orders, len(EXTRAS)))), 3)
    n_line = has_flight.astype(np.int64) + n_extra
    lo_idx = np.repeat(np.arange(n_orders), n_line)
    line_pos = np.arange(lo_idx.size) - np.repeat(np.cumsum(n_line) - n_line, n_line)
    is_flight = has_flight[lo_idx] & (line_pos == 0)
    extra_j = np.clip(line_pos - has_flight[lo_idx], 0, 2)
    product = np.where(is_flight, flight[lo_idx], _NF + extra_rank[lo_idx, extra_j])
    luxury_start = (CAMPAIGNS[_HIJACK_IDX][2] - START.date()).days
    product = np.where((product == _LUXURY) & (day[lo_idx] < luxury_start), _NF, product)
    p = pax[lo_idx]
    quantity = np.where(is_flight, p, 1 + rng.binomial(np.maximum(p - 1, 0), 0.6))
    quantity = np.where(product == _LUXURY, np.minimum(quantity, 2), quantity)

    member = om[lo_idx]
    tenure_years = np.clip((day[lo_idx] - m.join[member]) / 365.0, 0, 8)
    season = 0.85 + 0.3 * (cal.yearly[day[lo_idx]] - 0.85)
    fare = _BASE_PRICE[product] * np.exp(rng.normal(0, 0.18, product.size)) * _SEGMENT_FARE[m.segment[member]] * season
    fare *= 1 + 0.06 * tenure_years
    extra_price = _BASE_PRICE[product] * np.where(rng.random(product.size) < 0.25, 1.2, 1.0)
    unit_price = np.where(is_flight, np.floor(fare) + 0.99, np.round(extra_price, 2))
    line_t = t[lo_idx]
    order_no = lo_idx

    # Refunds: a later line with the same order and product, negative quantity and amount.
    n_ref = int(round(_REFUND_SHARE * lo_idx.size / (1 - _REFUND_SHARE)))
    rw = np.where(is_flight, 2.0, 1.0)
    src = np.sort(rng.choice(lo_idx.size, size=min(n_ref, lo_idx.size), replace=False, p=rw / rw.sum()))
    rt = line_t[src] + 3600 + (rng.exponential(9, src.size) * _DAY).astype(np.int64)
    rt -= rt % 60
    ok = rt < m.b[member[src]] * _DAY
    src, rt = src[ok], rt[ok]
    rq = np.where((quantity[src] > 1) & (rng.random(src.size) < 0.2), -1, -quantity[src])

    t_all = np.concatenate([line_t, rt])
    o = np.argsort(t_all, kind="stable")
    member_all = np.concatenate([member, member[src]])[o]
    qty_all = np.concatenate([quantity, rq])[o].astype(np.int64)
    price_all = np.concatenate([unit_price, unit_price[src]])[o]
    n_all = o.size
    frame = pd.DataFrame({
        "transaction_id": pd.array(_zero_pad_ids("BK", np.arange(1, n_all + 1), max(8, len(str(n_all)))), dtype="str"),
        "order_id": pd.array(_take(_zero_pad_ids("SO", np.arange(1, n_orders + 1), max(7, len(str(n_orders)))), np.concatenate([order_no, order_no[src]])[o]), dtype="str"),
        "member_id": pd.array(_take(m.ids, member_all), dtype="str"),
        "occurred_at": (_EPOCH + t_all[o].astype("timedelta64[s]")).astype("datetime64[us]"),
        "quantity": qty_all,
        "unit_price": price_all,
        "amount": np.round(qty_all * price_all, 2),
        "product": pd.array(_take(PRODUCTS, np.concatenate([product, product[src]])[o]), dtype="str"),
        "channel": pd.array(_take(SALES_CHANNELS, np.concatenate([sales[lo_idx], sales[lo_idx][src]])[o]), dtype="str"),
        "is_refund": np.concatenate([np.zeros(lo_idx.size, bool), np.ones(src.size, bool)])[o],
    })
    return frame, per_member


# --------------------------------------------------------------------------------------------
# Referrals and lifecycle stage, then the members frame
# --------------------------------------------------------------------------------------------

def _referrals(rng, m: _Members, activity: np.ndarray) -> np.ndarray:
    """referrer index per member (-1: none); the referrer always joined on an earlier day."""
    n = m.n
    earlier = np.searchsorted(m.join, m.join, side="left")  # members with a strictly earlier join day
    raf = (CAMPAIGNS[1][2] - START.date()).days, (CAMPAIGNS[1][3] - START.date()).days
    cand_w = np.where((earlier > 0) & ~m.employee, 1.0, 0.0) * np.where(m.join >= 0, 1.5, 1.0)
    cand_w *= np.where((m.join >= raf[0]) & (m.join <= raf[1]), 3.0, 1.0)
    n_ref = min(int(round(0.10 * n)), int((cand_w > 0).sum()))
    referred = np.sort(_gumbel_top(rng, np.log(np.maximum(cand_w, 1e-300)) + np.where(cand_w > 0, 0, -np.inf), n_ref))
    is_referred = np.zeros(n, bool)
    is_referred[referred] = True
    ref_w = (0.3 + activity / max(1.0, activity.mean())) * np.where(is_referred, 3.0, 1.0) * ~m.employee
    cw = np.cumsum(ref_w)
    k = earlier[referred]
    target = rng.random(referred.size) * cw[k - 1]
    who = np.searchsorted(cw, target, side="right")
    out = np.full(n, -1, dtype=np.int64)
    ok = who < k
    out[referred[ok]] = who[ok]
    return out


def _members_frame(rng, m: _Members, activity, orders, referrer) -> pd.DataFrame:
    referred_someone = np.zeros(m.n, bool)
    referred_someone[referrer[referrer >= 0]] = True
    active = activity > 0
    top_activity = activity >= (np.quantile(activity[active], 0.9) if active.any() else 1)
    stage = np.where(orders == 0, np.where(active, 1, 0), np.where(orders == 1, 2, 3))
    stage = np.where((m.join < 0) & (orders == 0) & (rng.random(m.n) < 0.5), 2, stage)
    stage = np.where((orders >= 2) & (referred_someone | (top_activity & active)), 4, stage)
    noise = rng.random(m.n) < 0.06
    stage = np.where(noise, np.clip(stage + rng.choice([-1, 1], m.n), 0, 4), stage)
    join_dates = (np.datetime64("2024-11-01", "D") + m.join).astype("datetime64[us]")
    churn_dates = np.where(m.churn >= 0, np.datetime64("2024-11-01", "D") + np.maximum(m.churn, 0), np.datetime64("NaT"))
    return pd.DataFrame({
        "member_id": pd.array(m.ids, dtype="str"),
        "name": pd.array(m.names, dtype="str"),
        "email": pd.array(m.emails, dtype="str"),
        "joined_at": join_dates,
        "churned_at": churn_dates.astype("datetime64[us]"),
        "segment": pd.array(np.array(SEGMENTS, dtype=object)[m.segment], dtype="str"),
        "persona": pd.array(np.array(PERSONAS, dtype=object)[m.persona], dtype="str"),
        "country": pd.array(np.array(COUNTRIES, dtype=object)[m.country], dtype="str"),
        "lifecycle_stage": pd.array(np.array(STAGES, dtype=object)[stage], dtype="str"),
        "followers": m.followers.astype(np.int64),
        "referred_by": pd.array(_take(m.ids, referrer), dtype="str"),
        "is_employee": m.employee.copy(),
    })


def generate(members: int = 5000, interactions: int = 200_000, seed: int = 42) -> SampleData:
    """Generate the SkyLoop Airways community: ``members`` members, about ``interactions``
    interaction rows (inbound + outbound, within a few per cent) and about one transaction line per
    nine interactions. Deterministic in (members, interactions, seed)."""
    if members < 50:
        raise ValueError("members must be at least 50")
    if interactions < members:
        raise ValueError("interactions must be at least the number of members")
    rng = np.random.default_rng(seed)
    cal = _calendar()
    m = _make_members(rng, int(members), cal)
    rows, actor_dict = _interactions(rng, m, cal, int(interactions))
    inbound_member = ~rows.outbound & (rows.actor >= 0) & (rows.actor < m.n)
    activity = np.bincount(rows.actor[inbound_member], minlength=m.n).astype(float)
    referrer = _referrals(rng, m, activity)
    transactions, orders = _transactions(rng, m, cal, int(round(interactions * _LINES_PER_INTERACTION)), activity)
    members_df = _members_frame(rng, m, activity, orders, referrer)
    interactions_df = _interactions_frame(rows, actor_dict)
    return SampleData(
        members=members_df[list(MEMBER_COLUMNS)],
        interactions=interactions_df[list(INTERACTION_COLUMNS)],
        transactions=transactions[list(TRANSACTION_COLUMNS)],
    )


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------

def _csv_quote(values: pd.Series, sep: str) -> pd.Series:
    """Quote fields that need it (contain the separator, a quote or a line break)."""
    s = values.fillna("").astype(str)
    needs = s.str.contains(f'[{sep}"\r\n]', regex=True)
    if needs.any():
        s = s.where(~needs, '"' + s.str.replace('"', '""', regex=False) + '"')
    return s


def _nl_number(values: np.ndarray, decimals: int) -> np.ndarray:
    """Dutch notation: ``1.234,56`` (decimals=2) or ``12.400`` (decimals=0); formats unique values only."""
    uniq, inverse = np.unique(values, return_inverse=True)
    fmt = f"{{:,.{decimals}f}}"
    table = np.array([fmt.format(v).replace(",", "_").replace(".", ",").replace("_", ".") for v in uniq], dtype=object)
    return table[inverse]


def _nl_dates(values: pd.Series, fmt: str) -> np.ndarray:
    arr = pa.array(values.to_numpy(dtype="datetime64[us]"), type=pa.timestamp("us"), from_pandas=True)
    return np.array(pc.fill_null(pc.strftime(arr, format=fmt), "").to_numpy(zero_copy_only=False), dtype=object)


def _write_cp1252(path: Path, header: str, columns: list, sep: str = ";") -> None:
    arrays = [pa.array(np.asarray(c, dtype=object), type=pa.string()) for c in columns]
    lines = pc.binary_join_element_wise(*arrays, sep, null_handling="replace", null_replacement="")
    body = "\r\n".join([header, *lines.to_pylist()]) + "\r\n"
    path.write_bytes(body.encode("cp1252"))


def write_exports(data: SampleData, out_dir: str | Path) -> list[tuple[Path, str]]:
    """Write the three export files the importer reads; returns ``[(path, dataset), ...]`` for
    members, interactions, transactions.

    * ``crm_leden.csv`` (members): Dutch CRM export, Windows-1252, ``;``, CRLF, dates ``31-12-2025``,
      followers with a ``.`` thousands separator, Medewerker ``ja``/``nee``.
    * ``community_interactions.csv`` (interactions): UTF-8 without BOM, ``,``, canonical header,
      ``YYYY-MM-DD HH:MM:SS``; sentiment -1/0/1 written as negative/neutral/positive, other values
      as numbers; None as an empty cell. Written by DuckDB ``COPY`` (fast at 10 M rows).
    * ``webshop_boekingen.csv`` (transactions): Dutch webshop export, Windows-1252, ``;``, CRLF,
      ``31-12-2025 14:05``, decimal commas with ``.`` thousands, Retour ``ja``/``nee``.
    """
    import duckdb

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    mem = data.members
    members_path = out / EXPORT_FILES["members"]
    _write_cp1252(members_path, MEMBERS_HEADER, [
        _csv_quote(mem["member_id"], ";"),
        _csv_quote(mem["name"], ";"),
        _csv_quote(mem["email"], ";"),
        _nl_dates(mem["joined_at"], "%d-%m-%Y"),
        _nl_dates(mem["churned_at"], "%d-%m-%Y"),
        _csv_quote(mem["segment"], ";"),
        _csv_quote(mem["persona"], ";"),
        _csv_quote(mem["country"], ";"),
        _csv_quote(mem["lifecycle_stage"], ";"),
        _nl_number(mem["followers"].to_numpy(dtype=np.int64), 0),
        _csv_quote(mem["referred_by"], ";"),
        np.where(mem["is_employee"].to_numpy(dtype=bool), "ja", "nee"),
    ])

    interactions_path = out / EXPORT_FILES["interactions"]
    table = pa.Table.from_pandas(data.interactions[list(INTERACTION_COLUMNS)], preserve_index=False)
    table = pa.Table.from_batches(table.to_batches(max_chunksize=122_880))  # lets DuckDB scan in parallel
    # A memory cap keeps the order-preserving writer from buffering ~1 GB at 10 M rows; should it
    # ever need to spill, it spills into a temporary folder that is removed afterwards.
    spill = tempfile.TemporaryDirectory(prefix="sample-data-")
    con = duckdb.connect(config={"memory_limit": "512MB", "temp_directory": spill.name})
    try:
        con.register("ix", table)
        target = str(interactions_path).replace("'", "''")
        con.execute(f"""
            COPY (
              SELECT CAST(occurred_at AS TIMESTAMP_S) AS occurred_at, channel, member_id, action,
                     direction, interaction_id, in_reply_to, agent, text, hashtags, campaign,
                     CASE WHEN sentiment = 1 THEN 'positive' WHEN sentiment = 0 THEN 'neutral'
                          WHEN sentiment = -1 THEN 'negative' ELSE CAST(sentiment AS VARCHAR) END AS sentiment,
                     reach
              FROM ix
            ) TO '{target}' (FORMAT csv, HEADER true, DELIMITER ',')""")
    finally:
        con.close()
        spill.cleanup()

    tx = data.transactions
    transactions_path = out / EXPORT_FILES["transactions"]
    _write_cp1252(transactions_path, TRANSACTIONS_HEADER, [
        _csv_quote(tx["transaction_id"], ";"),
        _csv_quote(tx["order_id"], ";"),
        _csv_quote(tx["member_id"], ";"),
        _nl_dates(tx["occurred_at"], "%d-%m-%Y %H:%M"),
        tx["quantity"].astype(np.int64).astype(str).to_numpy(dtype=object),
        _nl_number(tx["unit_price"].to_numpy(dtype=float), 2),
        _nl_number(tx["amount"].to_numpy(dtype=float), 2),
        _csv_quote(tx["product"], ";"),
        _csv_quote(tx["channel"], ";"),
        np.where(tx["is_refund"].to_numpy(dtype=bool), "ja", "nee"),
    ])
    return [(members_path, "members"), (interactions_path, "interactions"), (transactions_path, "transactions")]
