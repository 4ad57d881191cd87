"""Mapping proposals: the real export headers of shared/docs/EXPORT_FORMATS.md, aliases in
English, Dutch and German, and dataset guessing."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from datastore.importer import import_file, inspect_file
from datastore.mapping import norm, propose, propose_mapping
from datastore.schema import DATASETS, FIELDS


def header(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line)))


# Exact headers as the platforms export them (EXPORT_FORMATS.md).
TWEET_ACTIVITY = header(
    '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
    '"retweets","replies","likes","user profile clicks","url clicks","hashtag clicks","detail expands",'
    '"permalink clicks","app opens","app installs","follows","email tweet","dial phone","media views",'
    '"media engagements","promoted impressions","promoted engagements","promoted engagement rate",'
    '"promoted retweets","promoted replies","promoted likes","promoted user profile clicks",'
    '"promoted url clicks","promoted hashtag clicks","promoted detail expands","promoted permalink clicks",'
    '"promoted app opens","promoted app installs","promoted follows","promoted email tweet",'
    '"promoted dial phone","promoted media views","promoted media engagements"'
)
TWEET_ACTIVITY_2015 = [c.replace("likes", "favorites") for c in TWEET_ACTIVITY]
TWEET_DAILY = header("Date,Tweets published,impressions,engagements,engagement rate,retweets,replies,likes")
LINKEDIN_CONTENT = header(
    "Date,Impressions (organic),Impressions (sponsored),Impressions (total),Unique impressions (organic),"
    "Clicks (organic),Clicks (sponsored),Clicks (total),Reactions (organic),Reactions (sponsored),"
    "Reactions (total),Comments (organic),Comments (sponsored),Comments (total),Reposts (organic),"
    "Reposts (sponsored),Reposts (total),Engagement rate (organic),Engagement rate (sponsored),"
    "Engagement rate (total)"
)
LINKEDIN_FOLLOWERS = header("Date,Sponsored followers,Organic followers,Auto-invited followers,Total followers")
META_POSTS = header(
    'Post ID,Page ID,Page name,Title,Description,Duration (sec),Publish time,Caption type,Permalink,'
    'Is crosspost,Is share,Post type,Languages,Custom labels,Funded content status,Data comment,Date,'
    'Impressions,Reach,"Reactions, Comments and Shares",Reactions,Comments,Shares,Total clicks,Other clicks,'
    'Matched Audience Targeting Consumption (Photo Click),Link clicks,Views,Reels_plays:count,'
    'Seconds viewed,Average seconds viewed,Estimated earnings (USD)'
)
INSTAGRAM_POSTS = header(
    "Post ID,Account ID,Account username,Account name,Description,Duration (sec),Publish time,Permalink,"
    "Post type,Data comment,Date,Views,Reach,Likes,Shares,Follows,Comments,Saves"
)
HUBSPOT_CONTACTS = header(
    '"Record ID","First Name","Last Name","Email","Phone Number","Contact owner",'
    '"Primary Associated Company ID","Last Activity Date","Lead Status","Marketing contact status",'
    '"Create Date","Associated Company"'
)
HUBSPOT_ALL_PROPERTIES = header(
    "Record ID,First Name,Last Name,Annual Revenue,Became a Customer Date,Became a Lead Date,Create Date,"
    "Last Activity Date,Last Contacted,Last Engagement Date,Lifecycle Stage,Number of Sales Activities,"
    "Associated Company IDs,Associated Deal IDs,Associated Ticket IDs"
)
SALESFORCE_TASK = header(
    "Id,WhoId,WhatId,Subject,ActivityDate,Status,Priority,Description,Type,IsReminderSet,IsRecurrence,"
    "TaskSubtype,OwnerId"
)
SALESFORCE_EVENT = header(
    "Id,Subject,StartDateTime,EndDateTime,ActivityDate,ReminderDateTime,IsReminderSet,WhatId,WhoId,"
    "Description,IsRecurrence,ActivityDateTime,DurationInMinutes,OwnerId"
)
DISCOURSE_USERS = header(
    "id,name,username,email,title,created_at,last_seen_at,last_posted_at,last_emailed_at,trust_level,"
    "approved,suspended_at,suspended_till,silenced_till,active,admin,moderator,ip_address,staged,"
    "secondary_emails,topics_entered,posts_read_count,time_read,topic_count,post_count,likes_given,"
    "likes_received,location,website,views,external_id,external_email,external_username,external_name,"
    'external_avatar_url,"Favourite airline (custom user field)",group_names'
)
ZENDESK_TICKETS = header(
    "Summation column,Id,Requester,Requester id,Requester external id,Requester email,Requester domain,"
    "Submitter,Assignee,Group,Subject,Tags,Status,Priority,Via,Ticket type,Created at,Updated at,"
    "Assigned at,Organization,Due date,Initially assigned at,Solved at,Resolution time,Satisfaction Score,"
    "Group stations,Assignee stations,Reopens,Replies,First reply time in minutes,"
    "First reply time in minutes within business hours,First resolution time in minutes,"
    "First resolution time in minutes within business hours,Full resolution time in minutes,"
    "Full resolution time in minutes within business hours,Agent wait time in minutes,"
    "Agent wait time in minutes within business hours,Requester wait time in minutes,"
    "Requester wait time in minutes within business hours,On hold time in minutes,"
    "On hold time in minutes within business hours,Flight number [list]"
)
FRESHDESK_TICKETS = header(
    "Ticket ID,Subject,Description,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,"
    "Resolved time,Closed time,Last update time,Initial response time,Time tracked,"
    "First response time (in hrs),Resolution time (in hrs),Agent interactions,Customer interactions,"
    "Resolution status,First response status,Tags,Survey results,Product,Full name,Contact ID,Company Name"
)
FRESHDESK_MINIMAL = FRESHDESK_TICKETS[: FRESHDESK_TICKETS.index("Full name")]
ONLINE_RETAIL = header("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country")


KNOWN = [
    # (id, columns, dataset, signature, mapping that must be proposed, constants)
    ("tweet-activity", TWEET_ACTIVITY, "posts", "X/Twitter Tweet activity",
     {"post_id": "Tweet id", "published_at": "time", "text": "Tweet text", "permalink": "Tweet permalink",
      "impressions": "impressions", "engagements": "engagements", "platform_engagement_rate": "engagement rate",
      "shares": "retweets", "comments": "replies", "reactions": "likes", "clicks": "url clicks",
      "video_views": "media views", "follows": "follows"},
     {"network": "x"}),
    ("tweet-activity-2015", TWEET_ACTIVITY_2015, "posts", "X/Twitter Tweet activity",
     {"post_id": "Tweet id", "published_at": "time", "impressions": "impressions", "reactions": "favorites",
      "engagements": "engagements"},
     {"network": "x"}),
    ("tweet-daily", TWEET_DAILY, "audience", "X/Twitter daily activity",
     {"day": "Date", "posts_published": "Tweets published", "page_impressions": "impressions",
      "page_engagements": "engagements", "platform_engagement_rate": "engagement rate", "reactions": "likes"},
     {"network": "x"}),
    ("linkedin-content", LINKEDIN_CONTENT, "audience", "LinkedIn page content",
     {"day": "Date", "page_impressions": "Impressions (total)", "clicks": "Clicks (total)",
      "reactions": "Reactions (total)", "comments": "Comments (total)", "shares": "Reposts (total)",
      "platform_engagement_rate": "Engagement rate (total)"},
     {"network": "linkedin"}),
    ("linkedin-followers", LINKEDIN_FOLLOWERS, "audience", "LinkedIn followers",
     {"day": "Date", "new_followers": "Total followers"}, {"network": "linkedin"}),
    ("meta-posts", META_POSTS, "posts", "Meta Facebook posts",
     {"post_id": "Post ID", "published_at": "Publish time", "text": "Description", "impressions": "Impressions",
      "reach": "Reach", "reactions": "Reactions", "comments": "Comments", "shares": "Shares",
      "clicks": "Total clicks", "video_views": "Views", "post_type": "Post type"},
     {"network": "facebook"}),
    ("instagram-posts", INSTAGRAM_POSTS, "posts", "Instagram posts",
     {"post_id": "Post ID", "published_at": "Publish time", "text": "Description", "impressions": "Views",
      "reach": "Reach", "reactions": "Likes", "comments": "Comments", "shares": "Shares", "saves": "Saves"},
     {"network": "instagram"}),
    ("hubspot-contacts", HUBSPOT_CONTACTS, "members", "HubSpot contacts",
     {"member_id": "Record ID", "joined_at": "Create Date", "email": "Email", "name": "First Name",
      "last_name": "Last Name"}, {}),
    ("hubspot-all-properties", HUBSPOT_ALL_PROPERTIES, "members", "HubSpot contacts",
     {"member_id": "Record ID", "joined_at": "Create Date", "lifecycle_stage": "Lifecycle Stage"}, {}),
    ("salesforce-task", SALESFORCE_TASK, "interactions", "Salesforce tasks",
     {"interaction_id": "Id", "member_id": "WhoId", "occurred_at": "ActivityDate", "channel": "Type",
      "action": "TaskSubtype", "agent": "OwnerId", "text": "Subject"},
     {"direction": "outbound"}),
    ("salesforce-event", SALESFORCE_EVENT, "interactions", "Salesforce events",
     {"interaction_id": "Id", "member_id": "WhoId", "occurred_at": "StartDateTime", "agent": "OwnerId",
      "text": "Subject"},
     {"direction": "outbound", "channel": "store", "action": "meeting"}),
    ("discourse-users", DISCOURSE_USERS, "members", "Discourse users",
     {"member_id": "id", "name": "name", "email": "email", "joined_at": "created_at",
      "segment": "trust_level", "is_employee": "admin"}, {}),
    ("zendesk-tickets", ZENDESK_TICKETS, "interactions", "Zendesk tickets",
     {"interaction_id": "Id", "member_id": "Requester id", "occurred_at": "Created at", "channel": "Via",
      "agent": "Assignee", "text": "Subject", "hashtags": "Tags",
      "first_reply_minutes": "First reply time in minutes", "solved_at": "Solved at"},
     {"direction": "inbound", "action": "ticket"}),
    ("freshdesk-tickets", FRESHDESK_TICKETS, "interactions", "Freshdesk tickets",
     {"interaction_id": "Ticket ID", "occurred_at": "Created time", "channel": "Source", "agent": "Agent",
      "text": "Subject", "hashtags": "Tags", "member_id": "Contact ID",
      "first_reply_at": "Initial response time", "solved_at": "Resolved time"},
     {"direction": "inbound", "action": "ticket"}),
    ("freshdesk-without-contact", FRESHDESK_MINIMAL, "interactions", "Freshdesk tickets",
     {"interaction_id": "Ticket ID", "occurred_at": "Created time", "channel": "Source", "agent": "Agent",
      "text": "Subject", "hashtags": "Tags"},
     {"direction": "inbound", "action": "ticket"}),
]


@pytest.mark.parametrize("columns, dataset, signature, mapping, constants",
                         [k[1:] for k in KNOWN], ids=[k[0] for k in KNOWN])
def test_real_export_headers_propose_dataset_and_mapping(columns, dataset, signature, mapping, constants):
    proposal = propose(columns)
    assert (proposal.dataset, proposal.signature, proposal.refuse) == (dataset, signature, None)
    for fname, column in mapping.items():
        assert proposal.mapping.get(fname) == column, fname
    assert proposal.constants == constants
    # A constant is never also mapped, every mapped column exists and is used once.
    assert not set(proposal.mapping) & set(proposal.constants)
    assert set(proposal.mapping.values()) <= set(columns)
    assert len(set(proposal.mapping.values())) == len(proposal.mapping)
    # Required fields are covered, so the file can be imported as proposed.
    covered = set(proposal.mapping) | set(proposal.constants)
    assert {f.name for f in FIELDS[dataset] if f.required} <= covered
    # The winning dataset wins clearly.
    others = [s for ds, s in proposal.scores.items() if ds != dataset]
    assert proposal.scores[dataset] > max(others)


@pytest.mark.parametrize("columns, signature", [
    (TWEET_ACTIVITY, "X/Twitter Tweet activity"),
    (META_POSTS, "Meta Facebook posts"),
    (INSTAGRAM_POSTS, "Instagram posts"),
], ids=["tweet-activity", "meta-posts", "instagram-posts"])
def test_post_exports_imported_as_interactions_on_purpose_are_outbound_broadcasts(columns, signature):
    proposal = propose(columns, dataset="interactions")
    assert (proposal.dataset, proposal.signature) == ("interactions", signature)
    assert proposal.constants["direction"] == "outbound" and proposal.constants["action"] == "post"


def test_signature_applies_only_to_its_own_dataset():
    """HubSpot contacts forced into interactions: plain aliases, no HubSpot constants."""
    proposal = propose(HUBSPOT_CONTACTS, dataset="interactions")
    assert (proposal.dataset, proposal.signature, proposal.constants) == ("interactions", None, {})
    assert list(proposal.scores) == ["interactions"]


def test_online_retail_header():
    proposal = propose(ONLINE_RETAIL)
    assert proposal.dataset == "transactions"
    assert proposal.signature is None
    assert proposal.mapping == {
        "member_id": "CustomerID", "occurred_at": "InvoiceDate", "quantity": "Quantity",
        "unit_price": "UnitPrice", "order_id": "InvoiceNo", "product": "Description",
    }


@pytest.mark.parametrize("line, dataset, expected", [
    ("Klantnummer;Naam;E-mailadres;Lid sinds;Segment;Volgers;Aangebracht door;Medewerker", "members",
     {"member_id": "Klantnummer", "name": "Naam", "email": "E-mailadres", "joined_at": "Lid sinds",
      "segment": "Segment", "followers": "Volgers", "referred_by": "Aangebracht door",
      "is_employee": "Medewerker"}),
    ("Kundennummer;Name;E-Mail;Mitglied seit;Gekündigt am;Land;Lebenszyklusphase", "members",
     {"member_id": "Kundennummer", "name": "Name", "email": "E-Mail", "joined_at": "Mitglied seit",
      "churned_at": "Gekündigt am", "country": "Land", "lifecycle_stage": "Lebenszyklusphase"}),
    ("Datum;Kanaal;Klantnummer;Richting;Bericht;Campagne;Stemming;Bereik;Behandelaar", "interactions",
     {"occurred_at": "Datum", "channel": "Kanaal", "member_id": "Klantnummer", "direction": "Richting",
      "text": "Bericht", "campaign": "Campagne", "sentiment": "Stemming", "reach": "Bereik",
      "agent": "Behandelaar"}),
    ("Zeitpunkt;Kanal;Kundennummer;Richtung;Nachricht;Kampagne;Stimmung;Reichweite", "interactions",
     {"occurred_at": "Zeitpunkt", "channel": "Kanal", "member_id": "Kundennummer", "direction": "Richtung",
      "text": "Nachricht", "campaign": "Kampagne", "sentiment": "Stimmung", "reach": "Reichweite"}),
    ("Bestelldatum;Kundennummer;Betrag;Menge;Einzelpreis;Bestellnummer;Artikel;Storno", "transactions",
     {"occurred_at": "Bestelldatum", "member_id": "Kundennummer", "amount": "Betrag", "quantity": "Menge",
      "unit_price": "Einzelpreis", "order_id": "Bestellnummer", "product": "Artikel", "is_refund": "Storno"}),
    ("Factuurdatum;Klant;Totaalbedrag;Aantal;Prijs per stuk;Factuurnummer;Omschrijving;Verkoopkanaal",
     "transactions",
     {"occurred_at": "Factuurdatum", "member_id": "Klant", "amount": "Totaalbedrag", "quantity": "Aantal",
      "unit_price": "Prijs per stuk", "order_id": "Factuurnummer", "product": "Omschrijving",
      "channel": "Verkoopkanaal"}),
    ("customer_id,order_date,amount", "transactions",
     {"member_id": "customer_id", "occurred_at": "order_date", "amount": "amount"}),
    ("member_id,occurred_at,channel,action,direction,interaction_id,in_reply_to", "interactions",
     {f: f for f in ("member_id", "occurred_at", "channel", "action", "direction", "interaction_id",
                     "in_reply_to")}),
    ("Datum,Kanaal,Klantnummer", "interactions",
     {"occurred_at": "Datum", "channel": "Kanaal", "member_id": "Klantnummer"}),
    ("Member ID,Joined,Segment,Persona,Country,Followers", "members",
     {"member_id": "Member ID", "joined_at": "Joined", "segment": "Segment", "persona": "Persona",
      "country": "Country", "followers": "Followers"}),
], ids=["nl-members", "de-members", "nl-interactions", "de-interactions", "de-orders", "nl-invoices",
        "snake-orders", "canonical-interactions", "minimal-interactions", "en-members"])
def test_aliases_and_dataset_guess(line, dataset, expected):
    delimiter = ";" if ";" in line else ","
    columns = next(csv.reader(io.StringIO(line), delimiter=delimiter))
    proposal = propose(columns)
    assert proposal.dataset == dataset, proposal.scores
    assert proposal.mapping == expected


def test_each_column_and_field_used_once():
    # 'Datum' and 'Date' both alias occurred_at: the first alias in the list wins, the other is free.
    mapping = propose_mapping(["Date", "Datum", "Klant", "Customer ID"], "interactions")
    assert mapping == {"occurred_at": "Date", "member_id": "Customer ID"}


def test_norm():
    assert norm("Prijs per stuk ") == "prijs per stuk"
    assert norm("E-Mail") == "e mail"
    assert norm("InvoiceDate") == "invoice date"
    assert norm("Gekündigt am") == "gekundigt am"
    assert norm("First response time (in hrs)") == "first response time in hrs"
    assert norm("\ufeffRecord ID") == "record id"


def test_every_alias_is_normalised_and_every_field_known():
    for dataset in DATASETS:
        names = {f.name for f in FIELDS[dataset]}
        from datastore.mapping import ALIASES, SIGNATURES

        assert set(ALIASES[dataset]) <= names
        for aliases in ALIASES[dataset].values():
            assert all(norm(a) == a for a in aliases)
        for sig in SIGNATURES:
            if sig.dataset == dataset:
                assert set(sig.mapping) | set(sig.constants) <= names
                assert all(norm(n) == n for n in sig.needs)


# --- the proposals import real-looking files ---------------------------------------------------

def test_zendesk_export_imports_as_tickets(workspace, write_file):
    cells = {c: "" for c in ZENDESK_TICKETS}
    rows = []
    for ticket, requester, via, created, subject in [
        ("101", "9001", "Web form", "2025-03-01 09:15:00", "Bagage kwijt"),
        ("102", "9002", "Twitter", "2025-03-01 10:00:00", "Vertraging"),
        ("103", "9001", "Voice", "2025-03-02 08:30:00", "Stoelkeuze"),
    ]:
        rows.append({**cells, "Id": ticket, "Requester id": requester, "Via": via, "Created at": created,
                     "Subject": subject, "Assignee": "Sanne", "Tags": "bagage schiphol", "Status": "solved"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ZENDESK_TICKETS)
    writer.writeheader()
    writer.writerows(rows)
    report = import_file(workspace, write_file("tickets.csv", buffer.getvalue()))
    assert report.status == "loaded", report.message
    assert report.rows_loaded == 3
    stored = workspace.execute(
        "SELECT interaction_id, member_id, occurred_at, channel, direction, action, agent, text, hashtags, "
        "extra->>'Status' FROM interactions ORDER BY interaction_id").fetchall()
    assert stored == [
        ("101", "9001", datetime(2025, 3, 1, 9, 15), "web", "inbound", "ticket", "Sanne", "Bagage kwijt",
         "bagage schiphol", "solved"),
        ("102", "9002", datetime(2025, 3, 1, 10, 0), "x", "inbound", "ticket", "Sanne", "Vertraging",
         "bagage schiphol", "solved"),
        ("103", "9001", datetime(2025, 3, 2, 8, 30), "phone", "inbound", "ticket", "Sanne", "Stoelkeuze",
         "bagage schiphol", "solved"),
    ]


def test_hubspot_contacts_import_as_members(workspace, write_file):
    text = (
        '"Record ID","First Name","Last Name","Email","Phone Number","Contact owner",'
        '"Primary Associated Company ID","Last Activity Date","Lead Status","Marketing contact status",'
        '"Create Date","Associated Company"\n'
        '"51","Anna","de Vries","anna@example.nl","+31 20 123","Sanne","","2025-02-01 10:00","","Marketing",'
        '"2024-11-03 08:12","KLM"\n'
        '"52","Bert","Jansen","bert@example.nl","","","","","","Non-marketing","2025-01-15 17:45",""\n'
    )
    report = import_file(workspace, write_file("hubspot.csv", text))
    assert report.status == "loaded" and report.rows_loaded == 2, report.message
    stored = workspace.execute(
        "SELECT member_id, email, joined_at, name FROM members ORDER BY member_id").fetchall()
    assert stored == [("51", "anna@example.nl", date(2024, 11, 3), "Anna de Vries"),
                      ("52", "bert@example.nl", date(2025, 1, 15), "Bert Jansen")]


def test_discourse_users_import_as_members(workspace, write_file):
    columns = DISCOURSE_USERS
    base = {c: "" for c in columns}
    rows = [
        {**base, "id": "1", "name": "Admin", "username": "admin", "email": "a@x.nl",
         "created_at": "2023-05-01T12:00:00Z", "last_seen_at": "2025-01-01T00:00:00Z", "trust_level": "4",
         "admin": "true"},
        {**base, "id": "2", "name": "Reiziger", "username": "reiziger", "email": "r@x.nl",
         "created_at": "2024-02-29T23:30:00Z", "last_seen_at": "2025-01-02T00:00:00Z", "trust_level": "1",
         "admin": "false"},
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    report = import_file(workspace, write_file("users.csv", buffer.getvalue()))
    assert report.status == "loaded" and report.rows_loaded == 2, report.message
    stored = workspace.execute(
        "SELECT member_id, name, joined_at, segment, is_employee FROM members ORDER BY member_id").fetchall()
    assert stored == [("1", "Admin", date(2023, 5, 1), "4", True), ("2", "Reiziger", date(2024, 2, 29), "1", False)]
    extra = json.loads(workspace.execute("SELECT extra FROM members WHERE member_id = '1'").fetchall()[0][0])
    assert extra["username"] == "admin"
    assert extra["Favourite airline (custom user field)"] is None


def test_inspect_proposes_the_signature_for_a_bom_file(write_file):
    """Meta exports may carry a BOM; the first header still matches the signature."""
    line = ",".join(f'"{c}"' if "," in c else c for c in META_POSTS)
    path = write_file("meta.csv", "\ufeff" + line + "\n" + ",".join(["1"] * len(META_POSTS)) + "\n")
    profile = inspect_file(path)
    assert profile.signature == "Meta Facebook posts"
    assert profile.mapping["post_id"] == "Post ID"
