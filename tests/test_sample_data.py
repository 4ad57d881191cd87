"""The sample generator: determinism, sizes, referential integrity, the realism the pages rely on
(power law, response times and the dated change, the hijack burst) and the exact export formats."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datastore.schema import ADDED_V5, field_names
from sample_data import HIJACKED_HASHTAG, RESPONSE_TIME_CHANGE_DATE, SampleData, generate, write_exports
from sample_data.__main__ import main
from sample_data.generator import END, HIJACK_CAMPAIGN, HIJACK_END, HIJACK_START, START

MEMBERS, INTERACTIONS, SEED = 800, 20_000, 7
NOT_ANSWERABLE = {"like", "share", "view", "follow"}
SYNC = {"phone", "chat", "store"}

INTERACTION_COLUMNS = ["occurred_at", "channel", "member_id", "action", "direction", "interaction_id", "in_reply_to",
                       "agent", "text", "hashtags", "campaign", "sentiment", "reach"]
MEMBER_COLUMNS = ["member_id", "name", "email", "joined_at", "churned_at", "segment", "persona", "country",
                  "lifecycle_stage", "followers", "referred_by", "is_employee"]
TRANSACTION_COLUMNS = ["transaction_id", "order_id", "member_id", "occurred_at", "quantity", "unit_price", "amount",
                       "product", "channel", "is_refund"]
MEMBERS_HEADER = "Klantnummer;Naam;E-mail;Lid sinds;Opgezegd op;Segment;Persona;Land;Klantfase;Volgers;Aangebracht door;Medewerker"
TRANSACTIONS_HEADER = "Boekingsnummer;Ordernummer;Klantnummer;Datum;Aantal;Prijs per stuk;Bedrag;Product;Kanaal;Retour"


@pytest.fixture(scope="module")
def data() -> SampleData:
    return generate(MEMBERS, INTERACTIONS, seed=SEED)


@pytest.fixture(scope="module")
def exports(data: SampleData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    files = write_exports(data, tmp_path_factory.mktemp("exports"))
    assert [ds for _, ds in files] == ["members", "interactions", "transactions"]
    return {ds: path for path, ds in files}


@pytest.fixture(scope="module")
def first_replies(data: SampleData) -> pd.DataFrame:
    ix = data.interactions
    replies = ix[(ix.direction == "outbound") & ix.in_reply_to.notna()]
    parents = ix.set_index("interaction_id").loc[replies.in_reply_to]
    frame = pd.DataFrame({
        "parent": replies.in_reply_to.to_numpy(),
        "channel": parents.channel.to_numpy(),
        "asked": parents.occurred_at.to_numpy(),
        "hours": (replies.occurred_at.to_numpy() - parents.occurred_at.to_numpy()) / np.timedelta64(1, "h"),
    })
    return frame.groupby("parent").agg(channel=("channel", "first"), asked=("asked", "first"), hours=("hours", "min"))


# -- shape and determinism -------------------------------------------------------------------

def test_columns_are_canonical(data: SampleData) -> None:
    assert list(data.interactions.columns) == INTERACTION_COLUMNS
    assert list(data.members.columns) == MEMBER_COLUMNS
    assert list(data.transactions.columns) == TRANSACTION_COLUMNS
    for dataset, frame in (("interactions", data.interactions), ("members", data.members),
                           ("transactions", data.transactions)):
        # The fields schema version 5 added (ticket reply times, order status, ...) a community
        # export does not have; the Sample's posts and page statistics are files of their own.
        assert set(frame.columns) == set(field_names(dataset)) - set(ADDED_V5.get(dataset, ()))


def test_deterministic(data: SampleData) -> None:
    again = generate(MEMBERS, INTERACTIONS, seed=SEED)
    pd.testing.assert_frame_equal(again.members, data.members)
    pd.testing.assert_frame_equal(again.interactions, data.interactions)
    pd.testing.assert_frame_equal(again.transactions, data.transactions)
    other = generate(MEMBERS, INTERACTIONS, seed=SEED + 1)
    assert not other.interactions["member_id"].equals(data.interactions["member_id"])


def test_sizes(data: SampleData) -> None:
    assert len(data.members) == MEMBERS
    assert abs(len(data.interactions) / INTERACTIONS - 1) <= 0.05
    assert 7.5 <= len(data.interactions) / len(data.transactions) <= 10.5


def test_ids_unique_and_timestamps_in_window(data: SampleData) -> None:
    assert data.members.member_id.is_unique
    assert data.interactions.interaction_id.is_unique
    assert data.transactions.transaction_id.is_unique
    for ts in (data.interactions.occurred_at, data.transactions.occurred_at):
        assert ts.min() >= pd.Timestamp(START) and ts.max() <= pd.Timestamp(END)
    assert data.interactions.occurred_at.is_monotonic_increasing


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        generate(members=10, interactions=1000)
    with pytest.raises(ValueError):
        generate(members=1000, interactions=500)


# -- interactions ----------------------------------------------------------------------------

def test_in_reply_to_points_back_in_time(data: SampleData) -> None:
    ix = data.interactions
    linked = ix[ix.in_reply_to.notna()]
    assert linked.in_reply_to.isin(set(ix.interaction_id)).all()
    parent_time = ix.set_index("interaction_id").occurred_at.loc[linked.in_reply_to].to_numpy()
    assert (linked.occurred_at.to_numpy() > parent_time).all()


def test_replies_are_outbound_answers_with_an_agent(data: SampleData) -> None:
    ix = data.interactions
    replies = ix[(ix.direction == "outbound") & (ix.action == "reply")]
    assert replies.in_reply_to.notna().all() and replies.agent.notna().all()
    parents = ix.set_index("interaction_id").loc[replies.in_reply_to]
    assert (parents.direction == "inbound").all()
    assert not parents.action.isin(NOT_ANSWERABLE).any()
    same = (parents.member_id.to_numpy() == replies.member_id.to_numpy()) | (parents.member_id.isna().to_numpy() & replies.member_id.isna().to_numpy())
    assert same.all()
    assert (parents.channel.to_numpy() == replies.channel.to_numpy()).all()
    assert ix[ix.direction == "inbound"].agent.isna().all()


def test_response_rate_about_seventy_percent(data: SampleData) -> None:
    ix = data.interactions
    answerable = ix[(ix.direction == "inbound") & ~ix.action.isin(NOT_ANSWERABLE)]
    answered = answerable.interaction_id.isin(set(ix.in_reply_to.dropna()))
    assert 0.6 <= answered.mean() <= 0.8
    by_channel = answered.groupby(answerable.channel).mean()
    assert (by_channel[list(SYNC)] == 1).all()
    assert by_channel.drop(list(SYNC)).max() < 0.95


def test_median_response_time_drops_after_the_change(first_replies: pd.DataFrame) -> None:
    change = pd.Timestamp(RESPONSE_TIME_CHANGE_DATE)
    for frame in (first_replies, first_replies[~first_replies.channel.isin(SYNC)]):
        before = frame[frame.asked < change - pd.Timedelta(days=7)].hours.median()
        after = frame[frame.asked >= change].hours.median()
        assert after < 0.5 * before
    asynchronous = first_replies[~first_replies.channel.isin(SYNC)]
    assert 3 <= asynchronous[asynchronous.asked < change].hours.median() <= 8
    assert 0.8 <= asynchronous[asynchronous.asked >= change].hours.median() <= 2.5


def test_slower_at_night_and_weekends(first_replies: pd.DataFrame) -> None:
    frame = first_replies[~first_replies.channel.isin(SYNC)]
    hour, weekday = frame.asked.dt.hour, frame.asked.dt.day_of_week
    night = (hour >= 22) | (hour < 7)
    assert frame[night].hours.median() > 1.5 * frame[~night & (weekday < 5)].hours.median()
    assert frame[~night & (weekday >= 5)].hours.median() > frame[~night & (weekday < 5)].hours.median()


def test_participation_power_law(data: SampleData) -> None:
    ix, mem = data.interactions, data.members
    inbound = ix[ix.direction == "inbound"]
    per_member = inbound[inbound.member_id.isin(set(mem.member_id))].member_id.value_counts()
    lurkers = 1 - per_member.size / len(mem)
    assert 0.6 <= lurkers <= 0.7
    counts = per_member.sort_values(ascending=False).to_numpy()
    top = counts[: max(1, round(0.1 * counts.size))]
    assert top.sum() / counts.sum() > 0.5


def test_identified_unidentified_and_anonymous_shares(data: SampleData) -> None:
    inbound = data.interactions[data.interactions.direction == "inbound"]
    anonymous = inbound.member_id.isna().mean()
    unidentified = (inbound.member_id.notna() & ~inbound.member_id.isin(set(data.members.member_id))).mean()
    assert 0.02 <= anonymous <= 0.04
    assert 0.035 <= unidentified <= 0.065


def test_channels_and_actions(data: SampleData) -> None:
    ix = data.interactions
    assert set(ix.channel) == {"x", "facebook", "instagram", "linkedin", "forum", "email", "phone", "chat", "store"}
    inbound = ix[ix.direction == "inbound"]
    assert set(inbound[inbound.channel == "instagram"].action) == {"comment", "like"}
    assert set(inbound[inbound.channel == "store"].action) == {"visit"}
    assert set(ix[ix.direction == "outbound"].action) == {"reply", "post"}
    posts = ix[(ix.direction == "outbound") & (ix.action == "post")]
    assert posts.member_id.isna().all() and posts.in_reply_to.isna().all()
    responses = inbound.in_reply_to.isin(set(posts.interaction_id)).sum()
    assert responses / len(posts) > 1
    per_member = inbound[inbound.member_id.isin(set(data.members.member_id))].groupby("member_id").channel.nunique()
    assert per_member.max() <= 3 + 1  # 1-3 preferred channels (+ x for the hijack burst)


def test_seasonality(data: SampleData) -> None:
    inbound = data.interactions[data.interactions.direction == "inbound"]
    hours = inbound.occurred_at.dt.hour.value_counts()
    assert hours.loc[[2, 3, 4]].sum() * 10 < hours.loc[[19, 20, 21]].sum()
    email = inbound[inbound.channel == "email"].occurred_at.dt.day_of_week.value_counts()
    assert email.loc[[5, 6]].mean() < 0.6 * email.loc[[0, 1, 2, 3, 4]].mean()


def test_hijack_burst(data: SampleData) -> None:
    ix = data.interactions
    tagged = ix[(ix.direction == "inbound") & ix.hashtags.str.contains(HIJACKED_HASHTAG, regex=False, na=False)]
    window = tagged[(tagged.occurred_at >= pd.Timestamp(HIJACK_START)) & (tagged.occurred_at < pd.Timestamp(HIJACK_END))]
    burst = window[(window.channel == "x") & (window.action == "mention")]
    assert (tagged.campaign == HIJACK_CAMPAIGN).all()
    assert len(burst) >= 0.6 * len(tagged) and len(burst) >= 0.9 * len(window) and len(burst) > 100
    assert burst.sentiment.mean() < -0.8 and burst.sentiment.eq(-1).mean() > 0.7
    daily = ix[ix.direction == "inbound"].set_index("occurred_at").resample("D").size()
    burst_days = daily.loc[pd.Timestamp(HIJACK_START).normalize():pd.Timestamp(HIJACK_END).normalize()]
    assert burst_days.max() > daily.median() * 2
    before = tagged[tagged.occurred_at < pd.Timestamp(HIJACK_START)]
    assert len(before) > 0 and before.sentiment.mean() > -0.4  # the campaign itself went fine


def test_sentiment_and_reach(data: SampleData) -> None:
    ix = data.interactions
    s = ix.sentiment.dropna()
    assert s.between(-1, 1).all() and s.mean() > 0
    assert 0.3 <= ix.sentiment.isna().mean() <= 0.8
    assert 0.35 <= s.isin([-1.0, 0.0, 1.0]).mean() <= 0.7
    has_reach = ix.reach.notna()
    assert set(ix[has_reach].channel) <= {"x", "facebook", "instagram", "linkedin"}
    assert (ix.reach.dropna() >= 0).all()


# -- members and transactions ----------------------------------------------------------------

def test_members(data: SampleData) -> None:
    mem = data.members
    assert (mem.joined_at < pd.Timestamp(START)).mean() > 0.2
    assert (mem.joined_at >= pd.Timestamp(START)).mean() > 0.5
    assert 0.12 <= mem.churned_at.notna().mean() <= 0.18
    churned = mem[mem.churned_at.notna()]
    assert (churned.churned_at > churned.joined_at).all()
    assert 15 <= mem.is_employee.sum() <= 25
    assert (mem.followers >= 50_000).sum() >= 3
    assert set(mem.lifecycle_stage) <= {"lead", "prospect", "customer", "repeat", "advocate"}
    referred = mem[mem.referred_by.notna()]
    assert 0.07 <= len(referred) / len(mem) <= 0.12
    joined = mem.set_index("member_id").joined_at
    assert (joined.loc[referred.referred_by].to_numpy() < referred.joined_at.to_numpy()).all()
    assert referred.referred_by.isin(set(referred.member_id)).any()  # chains
    assert mem.name.str.contains("€").any()


def test_employees_post(data: SampleData) -> None:
    employees = set(data.members.member_id[data.members.is_employee])
    inbound = data.interactions[data.interactions.direction == "inbound"]
    assert inbound.member_id.isin(employees).sum() > 0


def test_transactions_within_membership(data: SampleData) -> None:
    tx = data.transactions.merge(data.members[["member_id", "joined_at", "churned_at"]], on="member_id", how="left")
    assert tx.joined_at.notna().all()
    assert (tx.occurred_at >= tx.joined_at).all()
    assert ((tx.occurred_at < tx.churned_at) | tx.churned_at.isna()).all()
    assert np.allclose(tx.amount, (tx.quantity * tx.unit_price).round(2))


def test_refunds(data: SampleData) -> None:
    tx = data.transactions
    refunds = tx[tx.is_refund]
    assert 0.015 <= len(refunds) / len(tx) <= 0.045
    assert (refunds.amount < 0).all() and (refunds.quantity < 0).all()
    assert (tx[~tx.is_refund].amount > 0).all()
    bookings = tx[~tx.is_refund]
    matched = refunds.merge(bookings, on=["order_id", "product", "member_id"], suffixes=("", "_orig"))
    matched = matched[matched.occurred_at_orig < matched.occurred_at]
    assert set(matched.transaction_id) == set(refunds.transaction_id)


def test_participants_buy_more(data: SampleData) -> None:
    inbound = data.interactions[data.interactions.direction == "inbound"]
    participants = set(inbound.member_id.dropna()) & set(data.members.member_id)
    spend = data.transactions.groupby("member_id").amount.sum().reindex(data.members.member_id, fill_value=0)
    is_participant = spend.index.isin(participants)
    assert spend[is_participant].mean() > 2 * spend[~is_participant].mean()


# -- export files ----------------------------------------------------------------------------

def test_interactions_export(exports: dict[str, Path], data: SampleData) -> None:
    raw = exports["interactions"].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text.splitlines()[0] == ",".join(INTERACTION_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(data.interactions)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", r["occurred_at"]) for r in rows[:2000])
    sentiments = [r["sentiment"] for r in rows if r["sentiment"]]
    labels = [s for s in sentiments if s in ("positive", "neutral", "negative")]
    assert 0.35 <= len(labels) / len(sentiments) <= 0.7
    assert all(-1 <= float(s) <= 1 for s in sentiments if s not in labels)
    assert len(sentiments) == data.interactions.sentiment.notna().sum()
    first = data.interactions.iloc[0]
    assert rows[0]["interaction_id"] == first.interaction_id
    assert rows[0]["member_id"] == ("" if pd.isna(first.member_id) else first.member_id)


def test_members_export(exports: dict[str, Path], data: SampleData) -> None:
    raw = exports["members"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really Windows-1252, not UTF-8
    text = raw.decode("cp1252")
    assert "€" in text and any(ch in text for ch in "éëüö")
    lines = text.split("\r\n")
    assert lines[0] == MEMBERS_HEADER
    rows = list(csv.reader(lines[1:-1], delimiter=";"))
    assert len(rows) == len(data.members) and all(len(r) == 12 for r in rows)
    mem = data.members
    assert [r[0] for r in rows] == mem.member_id.tolist()
    assert all(re.fullmatch(r"\d{2}-\d{2}-\d{4}", r[3]) for r in rows)
    assert rows[0][3] == mem.joined_at.iloc[0].strftime("%d-%m-%Y")
    assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*", r[9]) for r in rows)
    assert [int(r[9].replace(".", "")) for r in rows] == mem.followers.tolist()
    assert any("." in r[9] for r in rows)
    assert {r[11] for r in rows} == {"ja", "nee"}
    churned = [r[4] for r in rows if r[4]]
    assert len(churned) == mem.churned_at.notna().sum()


def test_transactions_export(exports: dict[str, Path], data: SampleData) -> None:
    text = exports["transactions"].read_bytes().decode("cp1252")
    lines = text.split("\r\n")
    assert lines[0] == TRANSACTIONS_HEADER
    rows = list(csv.reader(lines[1:-1], delimiter=";"))
    tx = data.transactions
    assert len(rows) == len(tx) and all(len(r) == 10 for r in rows)
    assert all(re.fullmatch(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}", r[3]) for r in rows)
    money = re.compile(r"-?\d{1,3}(\.\d{3})*,\d{2}")
    assert all(money.fullmatch(r[5]) and money.fullmatch(r[6]) for r in rows)
    parsed = np.array([float(r[6].replace(".", "").replace(",", ".")) for r in rows])
    assert np.allclose(parsed, tx.amount.to_numpy())
    assert any("." in r[6] for r in rows)  # thousands separator in use
    assert {r[9] for r in rows} == {"ja", "nee"}
    assert all(r[6].startswith("-") for r in rows if r[9] == "ja")
    assert {r[8] for r in rows} <= {"webshop", "app", "balie"}


def test_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--members", "200", "--interactions", "4000", "--seed", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    names = ["crm_leden.csv", "community_interactions.csv", "webshop_boekingen.csv"]
    assert [Path(line.split("\t")[0]).name for line in printed] == names
    assert all((tmp_path / name).stat().st_size > 0 for name in names)
