"""Short message templates for the sample community (kept tiny: rows pick from these arrays).

``TEXT_TEMPLATES`` is a flat tuple; the template for (kind, polarity, language, variant) sits at
``_text_index(kind, pol, lang, variant)``. Polarity 0 = negative, 1 = neutral, 2 = positive;
language 0 = English, 1 = Dutch. No template contains ``;`` or a line break.
"""

from __future__ import annotations

HIJACKED_HASHTAG = "#SkyLoopLuxury"

# The Sample's topics (the Listening page edits them): keywords in English, Dutch and German;
# a word matches its inflections (lemmas), a phrase matches as written.
SAMPLE_TOPICS: dict[str, list[str]] = {
    "delays": ["delay", "delayed", "vertraging", "verspätung", "te laat", "missed connection", "aansluiting gemist"],
    "baggage": ["bag", "luggage", "suitcase", "baggage", "koffer", "bagage", "gepäck"],
    "refunds & compensation": ["refund", "compensation", "terugbetaling", "compensatie", "erstattung",
                               "entschädigung", "charged me twice", "dubbele afschrijving"],
    "app & website": ["app", "website", "payment", "betaling", "crash", "crasht"],
    "lounge & upgrades": ["lounge", "loungepas", "upgrade"],
    "crew & service": ["crew", "service", "staff", "bemanning", "personeel", "klantenservice"],
    "loyalty": ["gold", "platinum", "points", "punten", "status"],
}

# kind -> (negative, neutral, positive), each (english[3], dutch[3])
_T: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "social": (
        (
            ("Flight delayed again and nobody tells us anything @SkyLoop",
             "Lost my bag on the way back from Barcelona, really disappointed",
             "Two hours in the queue at the desk, this is not OK"),
            ("Weer vertraging en geen enkele uitleg @SkyLoop",
             "Mijn koffer is kwijt na de vlucht uit Barcelona, erg teleurgesteld",
             "Twee uur in de rij bij de balie, dit kan echt niet"),
        ),
        (
            ("Can I change my seat after check-in?",
             "Does the lounge pass include a guest?",
             "What is the baggage allowance to New York?"),
            ("Kan ik mijn stoel nog wijzigen na het inchecken?",
             "Geldt de loungepas ook voor een introducé?",
             "Hoeveel bagage mag ik meenemen naar New York?"),
        ),
        (
            ("Great crew on the flight to Lisbon today \u2708\ufe0f",
             "Smooth boarding and on time, thanks @SkyLoop!",
             "Lovely upgrade, best flight this year"),
            ("Top crew op de vlucht naar Lissabon vandaag \u2708\ufe0f",
             "Soepel ingestapt en precies op tijd, bedankt @SkyLoop!",
             "Wat een fijne upgrade, beste vlucht van het jaar"),
        ),
    ),
    "forum": (
        (
            ("Refund still not received after six weeks",
             "The app keeps crashing when I try to check in",
             "Why was my Gold status downgraded?"),
            ("Na zes weken nog steeds geen terugbetaling ontvangen",
             "De app crasht steeds bij het inchecken",
             "Waarom is mijn Gold-status verlaagd?"),
        ),
        (
            ("Tips for a short layover at Schiphol?",
             "Which seats have the most legroom on the A321?",
             "How do I link my partner's account for points?"),
            ("Tips voor een korte overstap op Schiphol?",
             "Welke stoelen hebben de meeste beenruimte in de A321?",
             "Hoe koppel ik het account van mijn partner voor punten?"),
        ),
        (
            ("Tip: the new lounge at gate D is excellent",
             "Finally reached Platinum, thanks everyone for the tips!",
             "Customer service solved my problem within an hour"),
            ("Tip: de nieuwe lounge bij gate D is uitstekend",
             "Eindelijk Platinum gehaald, bedankt allemaal voor de tips!",
             "De klantenservice had mijn probleem binnen een uur opgelost, ideeën zijn welkom"),
        ),
    ),
    "email": (
        (
            ("Complaint about cancelled flight SL1234",
             "Request for compensation for a five hour delay",
             "Damaged suitcase, claim attached"),
            ("Klacht over geannuleerde vlucht SL1234",
             "Verzoek om compensatie voor vijf uur vertraging",
             "Beschadigde koffer, claim in de bijlage"),
        ),
        (
            ("Question about my booking reference",
             "Please update my invoice address",
             "Request for a receipt of my booking"),
            ("Vraag over mijn boekingsnummer",
             "Graag mijn factuuradres aanpassen",
             "Verzoek om een bevestiging van mijn boeking"),
        ),
        (
            ("Compliments to the crew of flight SL208",
             "Thank you for the quick refund",
             "Thanks for helping my mother at the gate"),
            ("Complimenten voor de crew van vlucht SL208",
             "Bedankt voor de snelle terugbetaling",
             "Dank voor de hulp aan mijn moeder bij de gate"),
        ),
    ),
    "chat": (
        (
            ("My payment failed twice, what now?",
             "Still no answer about my lost bag",
             "The website charged me twice"),
            ("Mijn betaling is twee keer mislukt, wat nu?",
             "Nog steeds geen antwoord over mijn koffer",
             "De website heeft twee keer afgeschreven"),
        ),
        (
            ("How do I add an extra bag?",
             "Can I bring my bike?",
             "When does check-in open?"),
            ("Hoe voeg ik een extra koffer toe?",
             "Mag mijn fiets mee?",
             "Wanneer gaat de incheck open?"),
        ),
        (
            ("Thanks, that was quick!",
             "Perfect, seat changed, thank you",
             "Great help, thanks"),
            ("Dank, dat ging snel!",
             "Top, stoel is gewijzigd, dank je",
             "Super geholpen, bedankt"),
        ),
    ),
    "call": (
        (
            ("Call: complaint about delay compensation",
             "Call: lost luggage, customer upset",
             "Call: double charge on credit card"),
            ("Gesprek: klacht over compensatie vertraging",
             "Gesprek: bagage kwijt, klant boos",
             "Gesprek: dubbele afschrijving creditcard"),
        ),
        (
            ("Call: rebooking request",
             "Call: question about baggage allowance",
             "Call: name change on ticket"),
            ("Gesprek: verzoek tot omboeken",
             "Gesprek: vraag over bagageregels",
             "Gesprek: naamswijziging op ticket"),
        ),
        (
            ("Call: thanked the crew for their help",
             "Call: happy with the rebooking",
             "Call: compliment for the service"),
            ("Gesprek: bedankt de crew voor de hulp",
             "Gesprek: blij met het omboeken",
             "Gesprek: compliment voor de service"),
        ),
    ),
    "visit": (
        (
            ("Desk: missed connection, rebooked",
             "Desk: complaint about overbooking",
             "Desk: damaged bag reported"),
            ("Balie: aansluiting gemist, omgeboekt",
             "Balie: klacht over overboeking",
             "Balie: beschadigde koffer gemeld"),
        ),
        (
            ("Desk: seat change",
             "Desk: extra bag paid",
             "Desk: lounge pass issued"),
            ("Balie: stoelwissel",
             "Balie: extra koffer afgerekend",
             "Balie: loungepas uitgegeven"),
        ),
        (
            ("Desk: upgrade accepted, very happy",
             "Desk: thanked staff for the help",
             "Desk: quick check-in, compliment"),
            ("Balie: upgrade geaccepteerd, erg blij",
             "Balie: medewerkers bedankt voor de hulp",
             "Balie: snelle check-in, compliment"),
        ),
    ),
    "hijack": tuple(
        (
            (f"{HIJACKED_HASHTAG} luxury? 4 hours delay and a broken seat",
             f"So this is {HIJACKED_HASHTAG}: lost bag, no food, no answers",
             f"{HIJACKED_HASHTAG} is a joke, never again"),
            (f"{HIJACKED_HASHTAG} luxe? 4 uur vertraging en een kapotte stoel",
             f"Dus dit is {HIJACKED_HASHTAG}: koffer kwijt, geen eten, geen antwoord",
             f"{HIJACKED_HASHTAG} is een grap, nooit meer"),
        )
        for _ in range(3)
    ),
    "reply_out": (
        (
            ("Sorry to hear this. Could you DM us your booking reference?",
             "We apologise for the inconvenience, a colleague will contact you today.",
             "That is not the experience we want for you. We are looking into it."),
            ("Vervelend om te horen. Wil je je boekingsnummer via DM sturen?",
             "Onze excuses voor het ongemak, een collega neemt vandaag contact op.",
             "Dit is niet de ervaring die we je gunnen. We zoeken het uit."),
        ),
        (
            ("Thanks for your question! You can change this under My Bookings.",
             "Good question: the allowance is 23 kg per bag.",
             "Happy to help, check your e-mail for the details."),
            ("Dank voor je vraag! Je kunt dit aanpassen bij Mijn Boekingen.",
             "Goede vraag: je mag 23 kg per koffer meenemen.",
             "Graag geholpen, de details staan in je e-mail."),
        ),
        (
            ("Thank you, we will pass this on to the crew!",
             "Great to hear, have a nice trip!",
             "Thanks for flying with us!"),
            ("Dank je wel, we geven het door aan de crew!",
             "Fijn om te horen, goede reis!",
             "Bedankt dat je met ons vliegt!"),
        ),
    ),
    "post_out": tuple(
        (
            ("New route: Amsterdam to Lisbon from April \u2708\ufe0f",
             "Summer is coming: book your holiday now",
             "Meet our new lounge at Schiphol, what do you think?"),
            ("Nieuwe route: Amsterdam naar Lissabon vanaf april \u2708\ufe0f",
             "De zomer komt eraan: boek nu je vakantie",
             "Maak kennis met onze nieuwe lounge op Schiphol, wat vind jij?"),
        )
        for _ in range(3)
    ),
}

TEXT_KINDS: tuple[str, ...] = tuple(_T)
KIND = {k: i for i, k in enumerate(TEXT_KINDS)}
N_VARIANTS = 3

TEXT_TEMPLATES: tuple[str, ...] = tuple(
    _T[kind][pol][lang][var]
    for kind in TEXT_KINDS
    for pol in range(3)
    for lang in range(2)
    for var in range(N_VARIANTS)
)


def text_index(kind, pol, lang, variant):
    """Index into TEXT_TEMPLATES; works element-wise on numpy arrays."""
    return ((kind * 3 + pol) * 2 + lang) * N_VARIANTS + variant
