"""The importer against nasty real-world inputs.

Every test states what is stored (row counts and values), what is rejected (spreadsheet row
number: header = row 1, column, raw value, reason) and what the report says. Files are written
byte for byte, so encodings, BOMs and line endings are exactly what a user's export holds.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

import datastore.importer as importer
from datastore.importer import (
    ImportOptions,
    ImportReport,
    import_file,
    inspect_file,
    list_imports,
    preview,
    rejects_for,
    undo_import,
)
from datastore.workspace import data_version
from tests.shared_data import ONLINE_RETAIL, WHERE

UNPARSEABLE_ISO = "unparseable date (expected 2025-12-31)"
SENTIMENT_REASON = "not a sentiment (a number from -1 to 1, or positive / neutral / negative)"
DIRECTION_REASON = "unknown direction (expected inbound / outbound, klant / bedrijf, in / out)"
MORE_CELLS = "the row has more cells than the header"
FEWER_CELLS = "the row has fewer cells than the header"


# --- helpers -----------------------------------------------------------------------------------

def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return rows(con, f"SELECT count(*) FROM {table}")[0][0]


def rejects(con: duckdb.DuckDBPyConnection, report: ImportReport) -> list[tuple]:
    """(row, column, raw value, reason) of an import, in row order."""
    assert report.import_id is not None, report.message
    return rows(
        con,
        "SELECT row_number, column_name, raw_value, reason FROM rejects WHERE import_id = ? "
        "ORDER BY row_number, column_name",
        [report.import_id],
    )


def assert_nothing_stored(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("interactions", "members", "transactions", "imports", "rejects"):
        assert count(con, table) == 0, table


def loaded(report: ImportReport, n: int, *, rejected: int = 0, duplicate: int = 0) -> None:
    assert report.status == "loaded", report.message
    assert (report.rows_loaded, report.rows_rejected, report.rows_duplicate) == (n, rejected, duplicate), report
    assert report.rows_read == n + rejected + duplicate


def dt(*args: int) -> datetime:
    return datetime(*args)


# --- encodings ---------------------------------------------------------------------------------

def test_utf8_bom_is_not_part_of_the_first_column(workspace, write_file):
    path = write_file("bom.csv", "\ufeffoccurred_at,channel,text\n2025-03-01 10:00,x,héllo wörld\n")
    profile = inspect_file(path)
    assert profile.encoding == "utf-8-sig"
    assert profile.columns == ["occurred_at", "channel", "text"]
    report = import_file(workspace, path)
    loaded(report, 1)
    assert rows(workspace, "SELECT occurred_at, channel, text FROM interactions") == [
        (dt(2025, 3, 1, 10, 0), "x", "héllo wörld")
    ]


def test_windows_1252_with_euro_and_diaeresis(workspace, write_file):
    text = (
        "Datum;Klantnummer;Bedrag;Omschrijving\r\n"
        "31-12-2025;1001;€ 1.234,56;Ëen ëxtra café-bon\r\n"
        "01-12-2025;1002;€ 0,99;Crème brûlée\r\n"
    )
    path = write_file("orders_nl.csv", text, encoding="cp1252")
    assert b"\x80" in path.read_bytes()  # the euro sign as Windows-1252 writes it
    profile = inspect_file(path)
    assert (profile.encoding, profile.delimiter, profile.decimal, profile.dataset) == (
        "cp1252", ";", ",", "transactions")
    report = import_file(workspace, path)
    loaded(report, 2)
    assert rows(workspace, "SELECT member_id, occurred_at, amount, product FROM transactions ORDER BY member_id") == [
        ("1001", dt(2025, 12, 31), Decimal("1234.56"), "Ëen ëxtra café-bon"),
        ("1002", dt(2025, 12, 1), Decimal("0.99"), "Crème brûlée"),
    ]


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-16", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")],
    ids=["utf16-native-bom", "utf16le-bom", "utf16be-bom", "utf16le-no-bom"],
)
def test_utf16(workspace, write_file, encoding, prefix):
    text = "occurred_at\tchannel\ttext\r\n2025-01-05 09:30\tfacebook\tGroß € ë\r\n2025-01-06 11:00\tx\tok\r\n"
    path = write_file("tweets.csv", prefix + text.encode(encoding))
    report = import_file(workspace, path)
    loaded(report, 2)
    assert rows(workspace, "SELECT occurred_at, channel, text FROM interactions ORDER BY occurred_at") == [
        (dt(2025, 1, 5, 9, 30), "facebook", "Groß € ë"),
        (dt(2025, 1, 6, 11, 0), "x", "ok"),
    ]


def test_multibyte_character_split_at_the_detection_boundary(workspace, write_file):
    """The first MiB ends in the middle of a UTF-8 character: still UTF-8, every row loads."""
    header = b"occurred_at,channel,text\n"
    line = "2025-01-01,x,ë\n".encode()
    first_e = len(header) + line.index(b"\xc3")
    pad = ((1 << 20) - 1 - first_e) % len(line)  # extra bytes so that an ë starts at byte 2**20 - 1
    n = (1 << 20) // len(line) + 10
    data = header + b"2025-01-01,x," + b"p" * pad + "ë\n".encode() + line * (n - 1)
    assert data[(1 << 20) - 1 : (1 << 20) + 1] == "ë".encode()
    path = write_file("big.csv", data)
    assert inspect_file(path).encoding == "utf-8"
    report = import_file(workspace, path)
    loaded(report, n)
    assert rows(workspace, "SELECT count(*), count(*) FILTER (text = 'ë') FROM interactions") == [(n, n - 1)]


def test_windows_1252_line_after_a_utf8_head_is_decoded_on_its_own(workspace, write_file):
    """UTF-8 in the first MiB, a Windows-1252 line later: that line is decoded as Windows-1252
    (not rejected, not mangled), the report says so, every other row loads as it is."""
    good = b"2025-01-01,x,plain\n" * 60_000
    data = b"occurred_at,channel,text\n" + good + b"2025-01-02,x,caf\xe9\n" + b"2025-01-03,x,after\n"
    path = write_file("late_cp1252.csv", data)
    report = import_file(workspace, path)
    loaded(report, 60_002)
    assert any("not UTF-8" in w and "line 60002" in w for w in report.warnings), report.warnings
    assert rows(workspace, "SELECT text FROM interactions WHERE occurred_at = '2025-01-02'") == [("café",)]
    assert rows(workspace, "SELECT text FROM interactions WHERE occurred_at = '2025-01-03'") == [("after",)]


# --- numbers -----------------------------------------------------------------------------------

def test_semicolon_decimal_comma_and_thousands_dot(workspace, write_file):
    path = write_file("bestellingen.csv", (
        "Klantnummer;Besteldatum;Bedrag;Aantal\n"
        "1;31-12-2025;1.234,56;1\n"
        "2;30-12-2025;-12,50;2\n"
        "3;29-12-2025;1.000.000;1.200\n"
        "4;28-12-2025;0,5;3\n"
        "5;27-12-2025;EUR 7,00;1\n"
        "6;26-12-2025;12.34;1\n"
    ))
    profile = inspect_file(path)
    assert (profile.delimiter, profile.decimal) == (";", ",")
    report = import_file(workspace, path)
    loaded(report, 5, rejected=1)
    assert rows(workspace, "SELECT member_id, amount, quantity FROM transactions ORDER BY member_id") == [
        ("1", Decimal("1234.56"), Decimal("1")),
        ("2", Decimal("-12.50"), Decimal("2")),
        ("3", Decimal("1000000"), Decimal("1200")),
        ("4", Decimal("0.5"), Decimal("3")),
        ("5", Decimal("7"), Decimal("1")),
    ]
    # "12.34" in a decimal-comma file is not a number: rejected, not read as 1234.
    assert rejects(workspace, report) == [(7, "Bedrag", "12.34", "not a number (this file uses a decimal comma)")]


def test_ambiguous_thousands_in_semicolon_file_read_as_thousands(workspace, write_file):
    """'1.200' followers in a ';' file is twelve hundred, not 1.2 (which is not a whole number)."""
    path = write_file("leden.csv", "klantnummer;naam;volgers\n1;Anna;1.200\n2;Bert;5\n3;Cees;12.500\n")
    assert inspect_file(path).decimal == ","
    report = import_file(workspace, path)
    loaded(report, 3)
    assert rows(workspace, "SELECT member_id, followers FROM members ORDER BY member_id") == [
        ("1", 1200), ("2", 5), ("3", 12500)]


def test_comma_file_with_thousands_commas_and_currency(workspace, write_file):
    path = write_file("orders.csv", (
        'customer_id,order_date,amount\n'
        '1,2025-01-01,"$1,234.56"\n'
        '2,2025-01-02,"2,000.5"\n'
        '3,2025-01-03,99.9\n'
        '4,2025-01-04,12,5\n'
    ))
    report = import_file(workspace, path)
    # "12,5" unquoted is two cells in a comma file: the row has too many cells.
    loaded(report, 3, rejected=1)
    assert rows(workspace, "SELECT member_id, amount FROM transactions ORDER BY member_id") == [
        ("1", Decimal("1234.56")), ("2", Decimal("2000.5")), ("3", Decimal("99.9"))]
    assert rejects(workspace, report) == [(5, None, "4,2025-01-04,12,5", MORE_CELLS)]


# --- dates -------------------------------------------------------------------------------------

def test_day_first_dates_with_dashes(workspace, write_file):
    path = write_file("d.csv", "datum,kanaal,klantnummer\n31-12-2025,x,1\n01-02-2025,x,2\n05-03-2025,x,3\n")
    assert inspect_file(path).date_formats == {"occurred_at": ["%d-%m-%Y"]}
    loaded(import_file(workspace, path), 3)
    assert rows(workspace, "SELECT member_id, occurred_at FROM interactions ORDER BY member_id") == [
        ("1", dt(2025, 12, 31)), ("2", dt(2025, 2, 1)), ("3", dt(2025, 3, 5))]


def test_day_first_dotted_dates_with_time(workspace, write_file):
    path = write_file("d.csv", "Zeitpunkt;Kanal;Kundennummer\n31.12.2025 14:05;Telefon;7\n01.02.2025 08:00;E-Mail;8\n")
    profile = inspect_file(path)
    assert profile.date_formats == {"occurred_at": ["%d.%m.%Y %H:%M"]}
    loaded(import_file(workspace, path), 2)
    assert rows(workspace, "SELECT member_id, occurred_at, channel FROM interactions ORDER BY member_id") == [
        ("7", dt(2025, 12, 31, 14, 5), "phone"), ("8", dt(2025, 2, 1, 8, 0), "email")]


def test_month_first_dates_when_values_prove_it(workspace, write_file):
    path = write_file("us.csv", "date,channel,member id\n12/31/2025,x,1\n02/01/2025,x,2\n")
    loaded(import_file(workspace, path), 2)
    assert rows(workspace, "SELECT member_id, occurred_at FROM interactions ORDER BY member_id") == [
        ("1", dt(2025, 12, 31)), ("2", dt(2025, 2, 1))]


def test_zoned_tweet_times_become_workspace_wall_clock(make_workspace, write_file):
    con = make_workspace("Europe/Amsterdam")
    path = write_file("tweet_activity.csv", (
        '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements"\n'
        '"1090000000000000001","https://x.com/a/status/1","Winter","2019-01-31 23:32 +0000","2633.0","-"\n'
        '"1090000000000000002","https://x.com/a/status/2","Summer","2019-07-31 23:32 +0000","12.0","5.0"\n'
        '"1090000000000000003","https://x.com/a/status/3","NYC","2019-07-31 20:00 -0400","0.0","0"\n'
    ))
    report = import_file(con, path)
    loaded(report, 3)
    assert rows(con, "SELECT post_id, published_at, impressions, engagements, network FROM posts ORDER BY 1") == [
        ("1090000000000000001", dt(2019, 2, 1, 0, 32), 2633, None, "x"),
        ("1090000000000000002", dt(2019, 8, 1, 1, 32), 12, 5, "x"),
        ("1090000000000000003", dt(2019, 8, 1, 2, 0), 0, 0, "x"),
    ]


def test_iso_with_z_and_offsets_converted_naive_kept(make_workspace, write_file):
    con = make_workspace("Europe/Amsterdam")
    path = write_file("iso.csv", (
        "occurred_at,channel,interaction_id\n"
        "2025-06-30T22:00:00Z,x,z-summer\n"
        "2025-01-01T12:00:00Z,x,z-winter\n"
        "2025-01-01T12:00:00+01:00,x,plus-one\n"
        "2025-01-01T12:00:00+05:30,x,plus-530\n"
        "2025-01-01 12:00:00.250,x,naive\n"
    ))
    loaded(import_file(con, path), 5)
    assert dict(rows(con, "SELECT interaction_id, occurred_at FROM interactions")) == {
        "z-summer": dt(2025, 7, 1, 0, 0),
        "z-winter": dt(2025, 1, 1, 13, 0),
        "plus-one": dt(2025, 1, 1, 12, 0),
        "plus-530": dt(2025, 1, 1, 7, 30),
        "naive": dt(2025, 1, 1, 12, 0, 0, 250000),  # no zone: already workspace wall clock
    }


def test_iso_z_in_utc_workspace_unchanged(workspace, write_file):
    path = write_file("iso.csv", "occurred_at,channel\n2025-06-30T22:00:00Z,x\n")
    loaded(import_file(workspace, path), 1)
    assert rows(workspace, "SELECT occurred_at FROM interactions") == [(dt(2025, 6, 30, 22, 0),)]


def test_mixed_date_formats_in_one_column(workspace, write_file):
    path = write_file("mixed.csv", (
        "occurred_at;channel;interaction_id\n"
        "2025-12-31;x;iso-date\n"
        "30-12-2025;x;dash\n"
        "29.12.2025 14:05;x;dotted\n"
        "2025-12-28T10:15:00;x;iso-t\n"
        "27/12/2025;x;slash\n"
        "13.13.2025;x;bad\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 5, rejected=1)
    assert dict(rows(workspace, "SELECT interaction_id, occurred_at FROM interactions")) == {
        "iso-date": dt(2025, 12, 31),
        "dash": dt(2025, 12, 30),
        "dotted": dt(2025, 12, 29, 14, 5),
        "iso-t": dt(2025, 12, 28, 10, 15),
        "slash": dt(2025, 12, 27),
    }
    [(row, column, value, reason)] = rejects(workspace, report)
    assert (row, column, value) == (7, "occurred_at", "13.13.2025")
    assert reason.startswith("unparseable date (expected ")


def test_date_format_prefilter_keeps_every_format_duckdb_accepts():
    """Detection only asks DuckDB about formats whose loose pattern fits a value: that filter
    must never drop a format DuckDB's strptime would accept."""
    from datastore import sniff

    formats = sniff.candidate_formats()
    moment = datetime(2025, 1, 2, 3, 4, 5, 120000)
    values = sorted({moment.strftime(f.replace("%Z", "UTC").replace("%z", "+0530")) for f in formats}
                    | {"2025-1-2 3:04", "2.1.2025", "31-12-25 14:05", "2025-01-02T03:04:05Z"})
    con = duckdb.connect()
    try:
        row = con.execute(
            "SELECT list(v), " + ", ".join(f"list(try_strptime(v, '{f}') IS NOT NULL)" for f in formats)
            + " FROM unnest($v) t(v)", {"v": values}).fetchall()[0]
    finally:
        con.close()
    order, hits = row[0], row[1:]
    checked = 0
    for j, value in enumerate(order):
        accepted = {f for f, col in zip(formats, hits, strict=False) if col[j]}
        checked += len(accepted)
        assert accepted <= set(sniff._plausible_formats([value])), value
    assert checked > len(values)  # the check has teeth


def test_members_dates_from_zoned_timestamps(make_workspace, write_file):
    con = make_workspace("Europe/Amsterdam")
    path = write_file("users.csv", "member_id,joined_at\n1,2025-01-01T23:30:00Z\n2,2025-01-01\n")
    loaded(import_file(con, path), 2)
    assert rows(con, "SELECT member_id, joined_at FROM members ORDER BY 1") == [
        ("1", date(2025, 1, 2)), ("2", date(2025, 1, 1))]


# --- file structure ----------------------------------------------------------------------------

def test_quoted_newlines_inside_a_field(workspace, write_file):
    path = write_file("q.csv", (
        'occurred_at,channel,text\n'
        '2025-01-01,x,"line one\nline two\n\nline four"\n'
        '2025-01-02,x,"said ""hi"", then left"\n'
        'not a date,x,third\n'
        '2025-01-04,x,"a, b"\n'
    ))
    report = import_file(workspace, path)
    loaded(report, 3, rejected=1)
    assert rows(workspace, "SELECT text FROM interactions ORDER BY occurred_at") == [
        ("line one\nline two\n\nline four",), ('said "hi", then left',), ("a, b",)]
    # Spreadsheet numbering counts records, not physical lines.
    assert rejects(workspace, report) == [(4, "occurred_at", "not a date", UNPARSEABLE_ISO)]


def test_crlf_line_endings(workspace, write_file):
    path = write_file("crlf.csv", (
        b"occurred_at,channel,member_id,text\r\n"
        b"2025-01-01,x,1,\"multi\r\nline\"\r\n"
        b"2025-01-02,facebook,2,plain\r\n"
        b"bad,x,3,x\r\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 2, rejected=1)
    # No stray carriage return at the end of the last column.
    assert rows(workspace, "SELECT member_id, channel, text FROM interactions ORDER BY member_id") == [
        ("1", "x", "multi\r\nline"), ("2", "facebook", "plain")]
    assert rejects(workspace, report) == [(4, "occurred_at", "bad", UNPARSEABLE_ISO)]


def test_mixed_line_endings(workspace, write_file):
    """LF and CRLF in one file (files glued together, or edited on two systems)."""
    path = write_file("mixed.csv", (
        b"occurred_at,channel,text\n"
        b"2025-01-01,x,a\r\n"
        b"2025-01-02,x,\"q\r\nr\"\n"
        b"2025-01-03,x,c,EXTRA\n"
        b"bad,x,d\r\n"
        b"2025-01-05,fb,e\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 3, rejected=2)
    assert rows(workspace, "SELECT channel, text FROM interactions ORDER BY occurred_at") == [
        ("x", "a"), ("x", "q\nr"), ("facebook", "e")]
    assert rejects(workspace, report) == [
        (4, None, "2025-01-03,x,c,EXTRA", MORE_CELLS), (5, "occurred_at", "bad", UNPARSEABLE_ISO)]


def test_a_quote_never_closed_rejects_its_row_and_the_rest_is_read(workspace, write_file):
    """Issue 14.2: an unclosed quote used to swallow every row after it, uncounted."""
    body = "".join(f"2025-02-03,x,row {d}\n" for d in range(3, 50))
    path = write_file("q.csv", 'occurred_at,channel,text\n2025-01-01,x,a\n2025-01-02,x,"unclosed\n' + body)
    report = import_file(workspace, path)
    loaded(report, 48, rejected=1)
    assert report.rows_read == 49 == report.rows_loaded + report.rows_rejected + report.rows_duplicate
    assert rows(workspace, "SELECT count(*), max(text) FROM interactions WHERE text LIKE 'row %'") == [(47, "row 9")]
    [(row, column, value, reason)] = rejects(workspace, report)
    assert (row, column, value) == (3, None, '2025-01-02,x,"unclosed')
    assert reason.startswith("a quote opened in this row is never closed")


def test_two_unclosed_quotes_and_a_row_number_after_them(workspace, write_file):
    path = write_file("q2.csv", 'occurred_at,channel,text\n2025-01-01,x,"open\n2025-01-02,x,b\n'
                                '2025-01-03,x,"open again\n2025-01-04,x,d\nnot a date,x,e\n')
    report = import_file(workspace, path)
    loaded(report, 2, rejected=3)
    assert sorted(r[0] for r in rejects(workspace, report)) == [2, 4, 6]


def test_empty_header_cells_get_a_name(workspace, write_file):
    path = write_file("t.csv", "occurred_at,channel,,\n2025-01-01,x,,7\n")
    profile = inspect_file(path)
    assert profile.columns == ["occurred_at", "channel", "column 3", "column 4"]
    loaded(import_file(workspace, path), 1)
    assert json.loads(rows(workspace, "SELECT extra FROM interactions")[0][0]) == {"column 3": None, "column 4": "7"}


def test_month_first_times_with_am_pm(workspace, write_file):
    path = write_file("ig.csv", (
        "Post ID,Account ID,Account username,Publish time,Description,Reach\n"
        '1,9,klm,03/27/2026 06:08,lente,"12,400"\n'
        "2,9,klm,12/31/2025 11:59 PM,oud en nieuw,5\n"
        "3,9,klm,01/02/2026 02:05 PM,nieuwjaar,0\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 3)
    assert rows(workspace, "SELECT post_id, published_at, reach, network FROM posts ORDER BY 1") == [
        ("1", dt(2026, 3, 27, 6, 8), 12400, "instagram"),
        ("2", dt(2025, 12, 31, 23, 59), 5, "instagram"),
        ("3", dt(2026, 1, 2, 14, 5), 0, "instagram"),
    ]


def test_trailing_blank_lines_are_not_rows(workspace, write_file):
    path = write_file("t.csv", "occurred_at,channel\n2025-01-01,x\n2025-01-02,x\n\n\n\r\n")
    loaded(import_file(workspace, path), 2)
    assert count(workspace, "interactions") == 2


@pytest.mark.parametrize("content", [b"", b"\n\n   \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"],
                         ids=["zero-bytes", "whitespace", "bom-only", "bom-newline"])
def test_empty_file_refused(workspace, write_file, content):
    before = data_version(workspace)
    report = import_file(workspace, write_file("empty.csv", content))
    assert report.status == "refused"
    assert report.message == "empty.csv is empty: there is nothing to import."
    assert (report.import_id, report.rows_read, report.rows_loaded) == (None, 0, 0)
    assert_nothing_stored(workspace)
    assert data_version(workspace) == before


@pytest.mark.parametrize("content", [
    b"occurred_at,channel,text\n", b"occurred_at,channel,text", b"occurred_at;channel\r\n\r\n",
    b"\xef\xbb\xbfoccurred_at,channel\n\n",
])
def test_header_only_refused(workspace, write_file, content):
    report = import_file(workspace, write_file("header.csv", content))
    assert report.status == "refused"
    assert report.message == "header.csv has only a header row and no data to import."
    assert_nothing_stored(workspace)


NOT_TEXT = "export.csv is not a text file (it contains binary data)"
NOT_DECODABLE = "export.csv could not be decoded as text. Save it as CSV in UTF-8 and try again."


def _binary_payloads() -> dict[str, tuple[bytes, str]]:
    rng = random.Random(20251231)
    return {
        "random": (rng.randbytes(4096), NOT_TEXT),
        "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(2000), NOT_TEXT),
        "zip-xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + rng.randbytes(2000), NOT_TEXT),
        "no-nul-control-bytes": (bytes(range(1, 256)) * 20, NOT_DECODABLE),
    }


@pytest.mark.parametrize("kind", list(_binary_payloads()))
def test_binary_file_named_csv_refused(workspace, write_file, kind):
    content, message = _binary_payloads()[kind]
    report = import_file(workspace, write_file("export.csv", content))
    assert report.status == "refused"
    assert report.message.startswith(message)
    assert_nothing_stored(workspace)


def test_duplicated_header_names(workspace, write_file):
    path = write_file("dup.csv", "occurred_at,channel,Naam,Naam,channel\n2025-01-01,fb,Anna,Anne,twitter\n")
    profile = inspect_file(path)
    assert profile.columns == ["occurred_at", "channel", "Naam", "Naam (2)", "channel (2)"]
    assert profile.header == ["occurred_at", "channel", "Naam", "Naam", "channel"]
    report = import_file(workspace, path)
    loaded(report, 1)
    assert report.mapping["channel"] == "channel"
    assert "The header has 'Naam' twice; the second one is called 'Naam (2)'." in report.warnings
    [(channel, extra)] = rows(workspace, "SELECT channel, extra FROM interactions")
    assert channel == "facebook"
    assert json.loads(extra) == {"Naam": "Anna", "Naam (2)": "Anne", "channel (2)": "twitter"}


def test_missing_required_column_refused_with_the_field_named(workspace, write_file):
    path = write_file("no_date.csv", "channel,member_id,text\nx,1,hi\n")
    report = import_file(workspace, path, dataset="interactions")
    assert report.status == "refused"
    assert "required field(s) occurred_at (when it happened)" in report.message
    assert_nothing_stored(workspace)


def test_transactions_without_amount_or_price_refused(workspace, write_file):
    path = write_file("t.csv", "customer id,order date,quantity\n1,2025-01-01,2\n")
    report = import_file(workspace, path, dataset="transactions")
    assert report.status == "refused"
    assert "required field(s) amount" in report.message
    assert_nothing_stored(workspace)


def test_mapping_to_a_column_the_file_lacks_refused(workspace, write_file):
    path = write_file("m.csv", "when,where\n2025-01-01,x\n")
    report = import_file(workspace, path, dataset="interactions",
                         mapping={"occurred_at": "when", "channel": "Kanaal"})
    assert report.status == "refused"
    assert "column 'Kanaal' that the file does not have" in report.message
    assert_nothing_stored(workspace)


def test_extra_unknown_columns_kept_in_extra_json(workspace, write_file):
    path = write_file("x.csv", (
        "occurred_at,channel,Lievelingskleur,Score,Leeg\n"
        "2025-01-01,x,blauw,7,\n"
        "2025-01-02,x,\"rood, of groen\",n/a,\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 2)
    extras = [json.loads(e) for (e,) in rows(workspace, "SELECT extra FROM interactions ORDER BY occurred_at")]
    assert extras == [
        {"Lievelingskleur": "blauw", "Score": "7", "Leeg": None},
        {"Lievelingskleur": "rood, of groen", "Score": "n/a", "Leeg": None},  # kept as written
    ]


def test_one_bad_row_among_good_ones(workspace, write_file):
    path = write_file("orders.csv", (
        "customer id,order date,amount,product\n"
        "1,2025-01-01,10.00,A\n"
        "2,2025-01-02,20.00,B\n"
        "3,2025-02-30,30.00,C\n"
        "4,2025-01-04,12 euro,D\n"
        ",2025-01-05,50.00,E\n"
        "6,2025-01-06,60.00,F\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 3, rejected=3)
    assert report.message == "orders.csv: 3 of 6 rows loaded into transactions, 3 rejected."
    assert rows(workspace, "SELECT member_id, occurred_at, amount, product FROM transactions ORDER BY member_id") == [
        ("1", dt(2025, 1, 1), Decimal("10.00"), "A"),
        ("2", dt(2025, 1, 2), Decimal("20.00"), "B"),
        ("6", dt(2025, 1, 6), Decimal("60.00"), "F"),
    ]
    assert rejects(workspace, report) == [
        (4, "order date", "2025-02-30", UNPARSEABLE_ISO),
        (5, "amount", "12 euro", "not a number (this file uses a decimal point)"),
        (6, "customer id", None, "missing required value (member_id)"),
    ]
    frame = rejects_for(workspace, report.import_id)
    assert list(frame.columns) == ["row", "column", "value", "reason"]
    assert frame["row"].tolist() == [4, 5, 6]


def test_a_row_with_several_bad_cells_reports_each(workspace, write_file):
    path = write_file("i.csv", "occurred_at,channel,direction,sentiment\n2025-01-01,x,in,1\nsoon,x,sideways,9\n")
    report = import_file(workspace, path)
    loaded(report, 1, rejected=1)
    assert rejects(workspace, report) == [
        (3, "direction", "sideways", DIRECTION_REASON),
        (3, "occurred_at", "soon", UNPARSEABLE_ISO),
        (3, "sentiment", "9", SENTIMENT_REASON),
    ]


def test_all_rows_bad_is_refused_but_rejects_are_kept(workspace, write_file):
    before = data_version(workspace)
    path = write_file("bad.csv", "occurred_at,channel\nyesterday,x\ntomorrow,x\n")
    report = import_file(workspace, path)
    assert report.status == "refused"
    assert report.message.startswith("bad.csv: none of the 2 rows could be imported. The most common reason "
                                     "(2 rows): column occurred_at: unparseable date (expected e.g. 2025-12-31 14:05).")
    assert count(workspace, "interactions") == 0
    no_format = "unparseable date (expected e.g. 2025-12-31 14:05)"  # no value showed a format
    assert rejects(workspace, report) == [
        (2, "occurred_at", "yesterday", no_format), (3, "occurred_at", "tomorrow", no_format)]
    assert rows(workspace, "SELECT status, rows_loaded FROM imports") == [("refused", 0)]
    assert data_version(workspace) == before


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","], ids=["tab", "pipe", "semicolon", "comma"])
def test_delimiters(workspace, write_file, delimiter):
    other = {"\t": "a,b;c|d", "|": "a,b;c\td", ";": "a,b|c\td", ",": "a;b|c\td"}[delimiter]
    quoted = f'"{other}"' if delimiter in other else other
    lines = ["occurred_at", "channel", "text"], ["2025-01-01 10:00", "x", quoted], ["2025-01-02 11:00", "fb", "plain"]
    path = write_file("d.csv", "".join(delimiter.join(line) + "\n" for line in lines))
    assert inspect_file(path).delimiter == delimiter
    loaded(import_file(workspace, path), 2)
    assert rows(workspace, "SELECT occurred_at, channel, text FROM interactions ORDER BY occurred_at") == [
        (dt(2025, 1, 1, 10, 0), "x", other), (dt(2025, 1, 2, 11, 0), "facebook", "plain")]


def test_rows_with_too_many_or_too_few_cells_are_reported(workspace, write_file):
    path = write_file("ragged.csv", (
        "occurred_at,channel,text\n"
        "2025-01-01,x,a\n"
        "2025-01-02,x,b,EXTRA\n"
        "bad,x,c\n"
        "2025-01-04,x\n"
        '2025-01-05,x,"multi\nline"\n'
        "also bad,x,z\n"
        "2025-01-07,x,g\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 3, rejected=4)
    assert rows(workspace, "SELECT text FROM interactions ORDER BY occurred_at") == [("a",), ("multi\nline",), ("g",)]
    assert rejects(workspace, report) == [
        (3, None, "2025-01-02,x,b,EXTRA", MORE_CELLS),
        (4, "occurred_at", "bad", UNPARSEABLE_ISO),
        (5, None, "2025-01-04,x", FEWER_CELLS),
        (7, "occurred_at", "also bad", UNPARSEABLE_ISO),
    ]


def test_null_markers_are_empty(workspace, write_file):
    path = write_file("n.csv", (
        "occurred_at,channel,member_id,campaign,reach,sentiment,text\n"
        "2025-01-01,x,--,N/A,-,n/a,NULL\n"
        "2025-01-02,x,#N/A,(blank), ,none,  --  \n"
        "2025-01-03,x,7,summer,10,positive,hi\n"
        "N/A,x,8,,,,\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 3, rejected=1)
    assert rows(workspace, "SELECT member_id, campaign, reach, sentiment, text FROM interactions ORDER BY occurred_at") == [
        (None, None, None, None, None),
        (None, None, None, None, None),
        ("7", "summer", 10, 1.0, "hi"),
    ]
    assert rejects(workspace, report) == [(5, "occurred_at", None, "missing required value (occurred_at)")]


def test_very_long_field(workspace, write_file):
    long_text = "lorem ipsum, " * 8000  # 104 kB with commas inside quotes
    path = write_file("long.csv", f'occurred_at,channel,text\n2025-01-01,x,"{long_text}"\n2025-01-02,x,short\n')
    loaded(import_file(workspace, path), 2)
    assert rows(workspace, "SELECT length(text), text = ? FROM interactions ORDER BY occurred_at",
                [long_text]) == [(len(long_text), True), (5, False)]


def test_formula_like_cells_stored_literally(workspace, write_file):
    path = write_file("f.csv", (
        "occurred_at,channel,member_id,text,campaign,Notitie\n"
        '2025-01-01,x,=1+1,=SUM(A1:A9),+31 6 1234 5678,"=HYPERLINK(""http://x"")"\n'
        "2025-01-02,x,@joe,-5 sterren,@cmd|' /C calc'!A0,-\n"
        "2025-01-03,x,-42,+,=,@\n"
    ))
    loaded(import_file(workspace, path), 3)
    assert rows(workspace, "SELECT member_id, text, campaign, extra->>'Notitie' FROM interactions ORDER BY occurred_at") == [
        ("=1+1", "=SUM(A1:A9)", "+31 6 1234 5678", '=HYPERLINK("http://x")'),
        ("@joe", "-5 sterren", "@cmd|' /C calc'!A0", "-"),  # unknown columns are kept as written
        ("-42", "+", "=", "@"),
    ]


def test_quotes_and_sql_in_names_and_values_are_data(workspace, write_file):
    path = write_file("o'brien; --.csv", (
        'occurred_at,channel,"x\'); DROP TABLE members; --","a""b"\n'
        "2025-01-01,x,\"'; DELETE FROM interactions; --\",q\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 1)
    assert report.file_name == "o'brien; --.csv"
    assert json.loads(rows(workspace, "SELECT extra FROM interactions")[0][0]) == {
        "x'); DROP TABLE members; --": "'; DELETE FROM interactions; --", 'a"b': "q"}
    assert count(workspace, "members") == 0 and count(workspace, "interactions") == 1


def test_wide_file_keeps_every_unknown_column(workspace, write_file):
    columns = ["occurred_at", "channel"] + [f"veld {i}" for i in range(400)]
    line = ["2025-01-01", "x"] + [str(i) for i in range(400)]
    path = write_file("wide.csv", ",".join(columns) + "\n" + (",".join(line) + "\n") * 50)
    loaded(import_file(workspace, path, options=ImportOptions(dedupe=False)), 50)
    extra = json.loads(rows(workspace, "SELECT extra FROM interactions LIMIT 1")[0][0])
    assert extra == {f"veld {i}": str(i) for i in range(400)}


# --- normalisation -----------------------------------------------------------------------------

def test_ids_exported_as_floats_are_the_same_id(workspace, write_file):
    path = write_file("ids.csv", (
        "occurred_at,channel,member_id,interaction_id,in_reply_to\n"
        "2025-01-01,x,17850.0,100.0,\n"
        "2025-01-02,x,17850,101,100\n"
        "2025-01-03,x, 17850.00 ,102,100.0\n"
        "2025-01-04,x,007,103,\n"
        "2025-01-05,x,12.5,104,\n"
        "2025-01-06,x,1e5,105,\n"
    ))
    loaded(import_file(workspace, path), 6)
    assert rows(workspace, "SELECT interaction_id, member_id, in_reply_to FROM interactions ORDER BY occurred_at") == [
        ("100", "17850", None), ("101", "17850", "100"), ("102", "17850", "100"),
        ("103", "007", None), ("104", "12.5", None), ("105", "1e5", None)]
    # The float-exported key matches the plain one on re-import.
    again = write_file("ids2.csv", "occurred_at,channel,member_id,interaction_id\n2025-01-01,x,17850,100\n")
    loaded(import_file(workspace, again), 0, duplicate=1)


CHANNELS = [
    ("Twitter", "x"), ("X", "x"), ("x (twitter)", "x"), ("FB", "facebook"), ("Facebook Messenger", "facebook"),
    ("IG", "instagram"), ("LinkedIn", "linkedin"), ("E-mail", "email"), ("Telefoon", "phone"),
    ("Phone Call (Incoming)", "phone"), ("Webchat", "chat"), ("WhatsApp", "whatsapp"),
    ("Winkel", "store"), ("In person", "store"), ("Discourse", "forum"), ("Mastodon", "mastodon"),
]


def test_channel_synonyms(workspace, write_file):
    body = "".join(f"2025-01-{i + 1:02d},{raw},m{i}\n" for i, (raw, _) in enumerate(CHANNELS))
    path = write_file("c.csv", "occurred_at,channel,member_id\n" + body)
    loaded(import_file(workspace, path), len(CHANNELS))
    stored = rows(workspace, "SELECT channel FROM interactions ORDER BY occurred_at")
    assert [c for (c,) in stored] == [want for _, want in CHANNELS]  # unknown ones kept, lower case


def test_direction_synonyms(workspace, write_file):
    cases = [("klant", "inbound"), ("bedrijf", "outbound"), ("in", "inbound"), ("out", "outbound"),
             ("Customer", "inbound"), ("company", "outbound"), ("Eingehend", "inbound"),
             ("UITGAAND", "outbound"), ("", "inbound"), ("N/A", "inbound")]
    body = "".join(f"2025-01-{i + 1:02d},x,{raw}\n" for i, (raw, _) in enumerate(cases))
    path = write_file("d.csv", "occurred_at,channel,richting\n" + body + "2025-02-01,x,sideways\n")
    report = import_file(workspace, path)
    loaded(report, len(cases), rejected=1)
    assert [d for (d,) in rows(workspace, "SELECT direction FROM interactions ORDER BY occurred_at")] == [
        want for _, want in cases]
    assert rejects(workspace, report) == [(len(cases) + 2, "richting", "sideways", DIRECTION_REASON)]


def test_sentiment_labels_and_range(workspace, write_file):
    path = write_file("s.csv", (
        "occurred_at;channel;sentiment\n"
        "01-01-2025;x;positive\n"
        "02-01-2025;x;Neutraal\n"
        "03-01-2025;x;negatief\n"
        "04-01-2025;x;-0,5\n"
        "05-01-2025;x;1\n"
        "06-01-2025;x;-1\n"
        "07-01-2025;x;1,5\n"
        "08-01-2025;x;-2\n"
        "09-01-2025;x;angry\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 6, rejected=3)
    assert [s for (s,) in rows(workspace, "SELECT sentiment FROM interactions ORDER BY occurred_at")] == [
        1.0, 0.0, -1.0, -0.5, 1.0, -1.0]
    assert rejects(workspace, report) == [
        (8, "sentiment", "1,5", SENTIMENT_REASON),
        (9, "sentiment", "-2", SENTIMENT_REASON),
        (10, "sentiment", "angry", SENTIMENT_REASON),
    ]


def test_booleans_ja_nee(workspace, write_file):
    path = write_file("m.csv", (
        "klantnummer;medewerker\n1;ja\n2;nee\n3;Ja\n4;NEE\n5;\n6;waar\n7;0\n8;misschien\n"
    ))
    report = import_file(workspace, path)
    loaded(report, 7, rejected=1)
    assert rows(workspace, "SELECT member_id, is_employee FROM members ORDER BY member_id") == [
        ("1", True), ("2", False), ("3", True), ("4", False), ("5", False), ("6", True), ("7", False)]
    assert rejects(workspace, report) == [(9, "medewerker", "misschien", "not a yes/no value")]


def test_actions_and_defaults(workspace, write_file):
    path = write_file("a.csv", "occurred_at,channel,action\n2025-01-01,x,Retweet\n2025-01-02,x,\n2025-01-03,x,Klacht\n2025-01-04,x,poke\n")
    loaded(import_file(workspace, path), 4)
    assert rows(workspace, "SELECT action, direction FROM interactions ORDER BY occurred_at") == [
        ("share", "inbound"), ("interaction", "inbound"), ("complaint", "inbound"), ("poke", "inbound")]


# --- transactions: order lines and refunds -----------------------------------------------------

def test_order_lines_amount_is_quantity_times_unit_price(workspace, write_file):
    path = write_file("lines.csv", (
        "Ordernummer;Klant;Besteldatum;Aantal;Prijs per stuk;Artikel\n"
        "A1;1;31-12-2025;3;2,55;Mok\n"
        "A1;1;31-12-2025;1;10,00;Pot\n"
        "A2;2;30-12-2025;2;0,3333;Sticker\n"
        "A3;3;29-12-2025;;4,00;Los\n"
    ))
    profile = inspect_file(path)
    assert profile.dataset == "transactions"
    assert "amount" not in profile.mapping
    assert (profile.mapping["quantity"], profile.mapping["unit_price"], profile.mapping["order_id"]) == (
        "Aantal", "Prijs per stuk", "Ordernummer")
    report = import_file(workspace, path)
    loaded(report, 3, rejected=1)
    assert rows(workspace, "SELECT order_id, amount, quantity, unit_price, is_refund FROM transactions ORDER BY order_id, amount") == [
        ("A1", Decimal("7.65"), Decimal("3"), Decimal("2.55"), False),
        ("A1", Decimal("10.00"), Decimal("1"), Decimal("10.00"), False),
        ("A2", Decimal("0.6666"), Decimal("2"), Decimal("0.3333"), False),
    ]
    assert rejects(workspace, report) == [(5, "amount", None, "missing required value (amount)")]


def test_cancellation_lines_are_kept_and_flagged(workspace, write_file):
    path = write_file("c.csv", (
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "536365,17850.0,2010-12-01 08:26:00,6,2.55\n"
        "C536379,17850.0,2010-12-01 09:41:00,-6,2.55\n"
        "536380,12345.0,2010-12-01 10:00:00,1,-5.00\n"
    ))
    loaded(import_file(workspace, path), 3)
    assert rows(workspace, "SELECT order_id, member_id, amount, is_refund FROM transactions ORDER BY occurred_at") == [
        ("536365", "17850", Decimal("15.30"), False),
        ("C536379", "17850", Decimal("-15.30"), True),
        ("536380", "12345", Decimal("-5.00"), True),
    ]


def test_explicit_refund_column_wins(workspace, write_file):
    path = write_file("r.csv", "klant;datum;bedrag;retour\n1;01-01-2025;10,00;ja\n2;02-01-2025;-3,00;nee\n3;03-01-2025;-4,00;\n")
    loaded(import_file(workspace, path), 3)
    assert rows(workspace, "SELECT member_id, amount, is_refund FROM transactions ORDER BY member_id") == [
        ("1", Decimal("10.00"), True), ("2", Decimal("-3.00"), False), ("3", Decimal("-4.00"), True)]


def test_invoice_number_mapped_as_transaction_id_is_demoted_to_order_id(workspace, write_file):
    content = (
        "Factuurnummer;Klant;Datum;Aantal;Prijs\n"
        "F1;1;31-12-2025;2;1,50\n"
        "F1;1;31-12-2025;2;1,50\n"
        "F1;1;31-12-2025;1;3,00\n"
        "F2;2;01-01-2026;-1;2,00\n"
        "F3;3;32-01-2026;1;1,00\n"
    )
    path = write_file("invoices.csv", content)
    as_line_id = {"transaction_id": "Factuurnummer", "member_id": "Klant", "occurred_at": "Datum",
                  "quantity": "Aantal", "unit_price": "Prijs"}
    report = import_file(workspace, path, dataset="transactions", mapping=as_line_id)
    loaded(report, 4, rejected=1)  # no row dropped because of the repeating number
    assert rejects(workspace, report) == [(6, "Datum", "32-01-2026", "unparseable date (expected 31-12-2025)")]
    assert report.mapping["order_id"] == "Factuurnummer" and "transaction_id" not in report.mapping
    assert any("stored as order_id and no row is dropped" in w for w in report.warnings)
    assert rows(workspace, "SELECT transaction_id, order_id, amount, is_refund FROM transactions ORDER BY order_id, amount") == [
        (None, "F1", Decimal("3.00"), False), (None, "F1", Decimal("3.00"), False),
        (None, "F1", Decimal("3.00"), False), (None, "F2", Decimal("-2.00"), True)]
    logged = json.loads(rows(workspace, "SELECT mapping FROM imports")[0][0])
    assert logged["columns"]["order_id"] == "Factuurnummer"
    # The same lines mapped straight to order_id are the same rows: nothing is added.
    as_order = {**{k: v for k, v in as_line_id.items() if k != "transaction_id"}, "order_id": "Factuurnummer"}
    loaded(import_file(workspace, write_file("same.csv", content), dataset="transactions", mapping=as_order),
           0, rejected=1, duplicate=4)
    assert count(workspace, "transactions") == 4


def test_unique_transaction_ids_are_a_key(workspace, write_file):
    first = write_file("a.csv", "transaction id,customer id,date,amount\nT1,1,2025-01-01,5\nT2,1,2025-01-02,6\n")
    second = write_file("b.csv", "transaction id,customer id,date,amount\nT2,1,2025-01-02,6.5\nT3,2,2025-01-03,7\n")
    loaded(import_file(workspace, first), 2)
    report = import_file(workspace, second)
    loaded(report, 1, duplicate=1)  # T2 is stored already (even with another amount)
    assert rows(workspace, "SELECT transaction_id, amount, import_id FROM transactions ORDER BY 1") == [
        ("T1", Decimal("5"), 1), ("T2", Decimal("6"), 1), ("T3", Decimal("7"), 2)]


# --- idempotence -------------------------------------------------------------------------------

def test_same_file_twice_adds_nothing(workspace, write_file):
    path = write_file("tickets.csv", (
        "occurred_at,channel,member_id,interaction_id,text\n"
        "2025-01-01 09:00,email,1,T-1,Waar blijft mijn pakket?\n"
        "2025-01-01 09:05,email,1,T-2,Nog steeds niets\n"
        "2025-01-01 10:00,chat,2,,zonder id\n"
        "2025-01-01 10:00,chat,2,,zonder id\n"
    ))
    first = import_file(workspace, path)
    loaded(first, 4)
    version = data_version(workspace)
    second = import_file(workspace, path)
    loaded(second, 0, duplicate=4)
    assert second.message == "tickets.csv: 0 of 4 rows loaded into interactions, 4 already stored (skipped)."
    assert "This exact file was imported before (import #1); its rows were not added again." in second.warnings
    assert count(workspace, "interactions") == 4
    assert rows(workspace, "SELECT import_id, rows_loaded, rows_duplicate FROM imports ORDER BY 1") == [(1, 4, 0), (2, 0, 4)]
    assert data_version(workspace) == version + 1  # a logged import still counts as a change


def test_overlapping_keyed_exports_load_only_new_ones(workspace, write_file):
    week1 = write_file("week1.csv", (
        "occurred_at,channel,interaction_id,text\n"
        "2025-01-01,x,1,a\n2025-01-02,x,2,b\n2025-01-03,x,3,c\n"
    ))
    week2 = write_file("week2.csv", (
        "occurred_at,channel,interaction_id,text\n"
        "2025-01-02,x,2,b (edited)\n2025-01-03,x,3.0,c\n2025-01-04,x,4,d\n2025-01-05,x,5,e\n"
    ))
    loaded(import_file(workspace, week1), 3)
    report = import_file(workspace, week2)
    loaded(report, 2, duplicate=2)
    assert rows(workspace, "SELECT interaction_id, text, import_id FROM interactions ORDER BY 1") == [
        ("1", "a", 1), ("2", "b", 1), ("3", "c", 1), ("4", "d", 2), ("5", "e", 2)]


def test_identical_keyless_lines_in_one_file_are_all_kept(workspace, write_file):
    path = write_file("buys.csv", (
        "customer id,date,amount,product\n"
        "1,2025-01-01,2.50,koffie\n1,2025-01-01,2.50,koffie\n1,2025-01-01,2.50,koffie\n2,2025-01-01,2.50,koffie\n"
    ))
    loaded(import_file(workspace, path), 4)
    assert rows(workspace, "SELECT member_id, count(*) FROM transactions GROUP BY 1 ORDER BY 1") == [("1", 3), ("2", 1)]


def test_keyless_overlap_is_a_multiset(workspace, write_file):
    line = "1,2025-01-01,2.50,koffie\n"
    header = "customer id,date,amount,product\n"
    loaded(import_file(workspace, write_file("a.csv", header + line * 2)), 2)
    # Stored twice before, present twice now (plus one new line): only the new line is added.
    loaded(import_file(workspace, write_file("b.csv", header + line * 2 + "2,2025-01-02,1.00,thee\n")), 1, duplicate=2)
    # Present three times now: one more is added.
    loaded(import_file(workspace, write_file("c.csv", header + line * 3)), 1, duplicate=2)
    assert rows(workspace, "SELECT member_id, import_id, count(*) FROM transactions GROUP BY ALL ORDER BY ALL") == [
        ("1", 1, 2), ("1", 3, 1), ("2", 2, 1)]
    # The caller can turn deduplication off: everything is loaded.
    report = import_file(workspace, write_file("d.csv", header + line), options=ImportOptions(dedupe=False))
    loaded(report, 1)
    assert rows(workspace, "SELECT count(*) FROM transactions WHERE member_id = '1'") == [(4,)]


def test_interaction_id_repeating_in_one_file_is_not_a_key(workspace, write_file):
    path = write_file("r.csv", "occurred_at,channel,interaction_id,text\n2025-01-01,x,1,a\n2025-01-02,x,1,b\n")
    report = import_file(workspace, path)
    loaded(report, 2)
    assert any("not used as a unique key" in w for w in report.warnings)
    assert count(workspace, "interactions") == 2


# --- atomicity and undo ------------------------------------------------------------------------

@pytest.mark.parametrize("error", [duckdb.IOException("disk full (simulated)"), RuntimeError("crash (simulated)")],
                         ids=["duckdb-error", "python-error"])
def test_failure_mid_import_stores_nothing(workspace, write_file, monkeypatch, error):
    path = write_file("i.csv", "occurred_at,channel,member_id\n2025-01-01,x,1\nbad,x,2\n2025-01-03,x,3\n")
    before = data_version(workspace)

    def fail(_cur):  # called after the rows, rejects and the log entry were written
        # A fresh exception: the parameter lives for the whole session, and once raised its traceback
        # would keep this test's frames and their DuckDB connections alive until the interpreter
        # exits (nanobind then prints "leaked instances" after a green run, issue 15.11).
        raise type(error)(*error.args)

    monkeypatch.setattr(importer, "bump_data_version", fail)
    if isinstance(error, duckdb.Error):
        report = import_file(workspace, path)
        assert report.status == "failed"
        assert report.message == "i.csv could not be imported: disk full (simulated)"
    else:
        with pytest.raises(RuntimeError, match="crash"):
            import_file(workspace, path)
    assert_nothing_stored(workspace)
    assert data_version(workspace) == before
    monkeypatch.undo()
    # The workspace is usable afterwards and the import id was not used up.
    report = import_file(workspace, path)
    loaded(report, 2, rejected=1)
    assert report.import_id == 1


def test_undo_deletes_exactly_that_imports_rows(workspace, write_file):
    header = "occurred_at,channel,member_id\n"
    a = import_file(workspace, write_file("a.csv", header + "2025-01-01,x,1\n2025-01-02,x,2\n2025-01-03,x,3\n"))
    b = import_file(workspace, write_file("b.csv", header + "2025-01-01,x,1\n2025-01-04,x,4\nbad,x,5\n"))
    loaded(a, 3)
    loaded(b, 1, rejected=1, duplicate=1)
    version = data_version(workspace)
    assert undo_import(workspace, a.import_id) == 3
    assert data_version(workspace) == version + 1
    assert rows(workspace, "SELECT member_id, import_id FROM interactions") == [("4", 2)]
    assert rows(workspace, "SELECT import_id, status FROM imports ORDER BY 1") == [(1, "undone"), (2, "loaded")]
    with pytest.raises(ValueError, match="is undone; there is nothing to undo"):
        undo_import(workspace, a.import_id)
    with pytest.raises(ValueError, match="There is no import #99"):
        undo_import(workspace, 99)
    # After an undo the same file loads again in full.
    again = import_file(workspace, write_file("a.csv", header + "2025-01-01,x,1\n2025-01-02,x,2\n2025-01-03,x,3\n"))
    loaded(again, 3)
    assert not any("imported before" in w for w in again.warnings)
    assert undo_import(workspace, b.import_id) == 1
    assert rows(workspace, "SELECT member_id FROM interactions ORDER BY 1") == [("1",), ("2",), ("3",)]
    history = list_imports(workspace)
    assert history["status"].tolist() == ["loaded", "undone", "undone"]


def test_refused_import_cannot_be_undone(workspace, write_file):
    report = import_file(workspace, write_file("bad.csv", "occurred_at,channel\nnever,x\n"))
    assert report.status == "refused"
    with pytest.raises(ValueError, match="is refused"):
        undo_import(workspace, report.import_id)


def test_members_reimport_creates_versions_and_undo_restores(workspace, write_file):
    header = "klantnummer;naam;segment;lid sinds;volgers\n"
    v1 = write_file("leden_jan.csv", header + "1;Anna;gold;31-12-2024;10\n2;Bert;silver;01-01-2025;5\n")
    v2 = write_file("leden_feb.csv", header + "1;Anna;platinum;31-12-2024;12\n2;Bert;silver;01-01-2025;5\n3;Cees;gold;02-01-2025;\n")
    loaded(import_file(workspace, v1), 2)
    report = import_file(workspace, v2)
    loaded(report, 2, duplicate=1)
    assert report.rows_updated == 1
    assert report.message.endswith("(1 members updated).")
    current = "SELECT member_id, name, segment, joined_at, followers, import_id FROM members_current ORDER BY 1"
    assert rows(workspace, current) == [
        ("1", "Anna", "platinum", date(2024, 12, 31), 12, 2),
        ("2", "Bert", "silver", date(2025, 1, 1), 5, 1),
        ("3", "Cees", "gold", date(2025, 1, 2), None, 2),
    ]
    assert count(workspace, "members") == 4  # the old version of member 1 is kept
    assert undo_import(workspace, report.import_id) == 2
    assert rows(workspace, current) == [
        ("1", "Anna", "gold", date(2024, 12, 31), 10, 1),
        ("2", "Bert", "silver", date(2025, 1, 1), 5, 1),
    ]


def test_member_changed_back_to_earlier_values_is_a_new_version(workspace, write_file):
    header = "member_id,segment\n"
    loaded(import_file(workspace, write_file("a.csv", header + "1,gold\n")), 1)
    loaded(import_file(workspace, write_file("b.csv", header + "1,silver\n")), 1)
    report = import_file(workspace, write_file("c.csv", header + "1,gold\n"))
    loaded(report, 1)
    assert rows(workspace, "SELECT segment, import_id FROM members_current") == [("gold", 3)]


def test_same_member_twice_in_one_file(workspace, write_file):
    path = write_file("m.csv", "member_id,segment\n1,gold\n1,gold\n2,a\n2,b\n")
    report = import_file(workspace, path)
    loaded(report, 2, rejected=1, duplicate=1)
    assert rows(workspace, "SELECT member_id, segment FROM members_current ORDER BY 1") == [("1", "gold"), ("2", "b")]
    assert rejects(workspace, report) == [
        (4, "member_id", "2", "the same member appears again on row 5 with other values; the later row is kept")]


# --- caller overrides --------------------------------------------------------------------------

def test_encoding_override_wins(workspace, write_file):
    path = write_file("e.csv", "occurred_at,channel,text\n2025-01-01,x,café\n".encode())
    assert inspect_file(path).encoding == "utf-8"
    report = import_file(workspace, path, options=ImportOptions(encoding="cp1252"))
    loaded(report, 1)
    assert rows(workspace, "SELECT text FROM interactions") == [("cafÃ©",)]


def test_wrong_encoding_override_refused(workspace, write_file):
    path = write_file("e.csv", "occurred_at,channel,text\n2025-01-01,x,caf\xe9\n".encode("latin-1"))
    report = import_file(workspace, path, options=ImportOptions(encoding="utf-8"))
    assert report.status == "refused"
    assert "is not valid utf-8" in report.message
    assert_nothing_stored(workspace)


def test_delimiter_override_wins(workspace, write_file):
    path = write_file("d.csv", "Datum, tijd;kanaal\n31-12-2025, 14:05;twitter\n01-01-2026, 09:00;fb\n")
    report = import_file(workspace, path, dataset="interactions", options=ImportOptions(delimiter="semicolon"),
                         mapping={"occurred_at": "Datum, tijd", "channel": "kanaal"})
    loaded(report, 2)
    assert rows(workspace, "SELECT occurred_at, channel FROM interactions ORDER BY 1") == [
        (dt(2025, 12, 31, 14, 5), "x"), (dt(2026, 1, 1, 9, 0), "facebook")]
    assert inspect_file(path, options=ImportOptions(delimiter="\\t")).delimiter == "\t"


def test_decimal_override_wins(workspace, write_file):
    path = write_file("n.csv", 'customer id,date,amount\n1,2025-01-01,"1,5"\n2,2025-01-02,"1,250"\n')
    assert inspect_file(path).decimal == ","  # detected from "1,5"
    detected = import_file(workspace, path)
    loaded(detected, 2)
    assert rows(workspace, "SELECT amount FROM transactions ORDER BY member_id") == [
        (Decimal("1.5"),), (Decimal("1.25"),)]
    undo_import(workspace, detected.import_id)
    # With a decimal point, ',' separates thousands: "1,250" is 1250 and "1,5" is no number.
    report = import_file(workspace, path, options=ImportOptions(decimal="."))
    loaded(report, 1, rejected=1)
    assert rows(workspace, "SELECT amount FROM transactions") == [(Decimal("1250"),)]
    assert rejects(workspace, report) == [(2, "amount", "1,5", "not a number (this file uses a decimal point)")]


def test_date_format_override_wins(workspace, write_file):
    path = write_file("d.csv", "date,channel,member id\n01/02/2025,x,1\n03/04/2025,x,2\n")
    assert inspect_file(path).date_formats == {"occurred_at": ["%m/%d/%Y"]}  # ',' file, ambiguous: month first
    loaded(import_file(workspace, path, options=ImportOptions(date_format="%d/%m/%Y")), 2)
    assert rows(workspace, "SELECT occurred_at FROM interactions ORDER BY member_id") == [
        (dt(2025, 2, 1),), (dt(2025, 4, 3),)]


def test_per_field_date_formats_override(workspace, write_file):
    path = write_file("m.csv", "member id,joined,churned\n1,01/02/2025,2025.03.04\n")
    opts = ImportOptions(date_formats={"joined_at": ["%d/%m/%Y"], "churned_at": ["%Y.%d.%m"]})
    loaded(import_file(workspace, path, options=opts), 1)
    assert rows(workspace, "SELECT joined_at, churned_at FROM members") == [(date(2025, 2, 1), date(2025, 4, 3))]


def test_mapping_and_constants_override(workspace, write_file):
    path = write_file("fb.csv", "Wanneer,Wie,Bericht,Onderwerp\n2025-01-01 10:00,u1,Hallo,Vraag\n")
    report = import_file(
        workspace, path, dataset="interactions",
        mapping={"occurred_at": "Wanneer", "member_id": "Wie", "text": "Onderwerp"},
        constants={"channel": "FB", "direction": "out", "campaign": "winter"},
    )
    loaded(report, 1)
    assert (report.mapping, report.constants) == (
        {"occurred_at": "Wanneer", "member_id": "Wie", "text": "Onderwerp"},
        {"channel": "FB", "direction": "out", "campaign": "winter"})
    [(channel, direction, campaign, text, extra)] = rows(
        workspace, "SELECT channel, direction, campaign, text, extra FROM interactions")
    assert (channel, direction, campaign, text) == ("facebook", "outbound", "winter", "Vraag")
    assert json.loads(extra) == {"Bericht": "Hallo"}


def test_bad_constant_is_rejected_per_row(workspace, write_file):
    path = write_file("c.csv", "occurred_at\n2025-01-01\n")
    report = import_file(workspace, path, dataset="interactions", mapping={"occurred_at": "occurred_at"},
                         constants={"channel": "x", "direction": "sideways"})
    assert report.status == "refused"
    assert rejects(workspace, report) == [(2, "direction (fixed value)", "sideways", DIRECTION_REASON)]


def test_dataset_override_and_unknown_dataset(workspace, write_file):
    path = write_file("m.csv", "member_id,occurred_at,amount\n1,2025-01-01,3\n")
    assert inspect_file(path).dataset == "transactions"
    report = import_file(workspace, path, dataset="members")
    loaded(report, 1)
    assert json.loads(rows(workspace, "SELECT extra FROM members")[0][0]) == {"occurred_at": "2025-01-01", "amount": "3"}
    with pytest.raises(ValueError, match="Unknown dataset 'orders'"):
        inspect_file(path, dataset="orders")


def test_x_daily_account_summary_imports_as_audience(workspace, write_file):
    path = write_file("daily.csv", "Date,Tweets published,impressions,engagements\n2019-01-01,3,1000,20\n")
    report = import_file(workspace, path)
    loaded(report, 1)
    assert report.dataset == "audience"
    assert rows(workspace, "SELECT day, network, posts_published, page_impressions, page_engagements FROM audience") == [
        (date(2019, 1, 1), "x", 3, 1000, 20)]


def test_preview_shows_rows_as_stored_with_problems(write_file):
    path = write_file("p.csv", "datum;kanaal;bedrag;klant\n31-12-2025;FB;1,5;1\nfoo;x;2;2\n")
    profile = inspect_file(path, dataset="transactions")
    frame = preview(profile, tz="UTC")
    assert frame["member_id"].tolist() == ["1", "2"]
    assert frame["channel"].tolist() == ["facebook", "x"]
    assert frame["problem"].tolist() == ["", "datum: unparseable date (expected 31-12-2025)"]


def test_progress_is_reported(workspace, write_file):
    seen: list[float] = []
    path = write_file("p.csv", "occurred_at,channel\n2025-01-01,x\n")
    loaded(import_file(workspace, path, progress=lambda f, _t: seen.append(f)), 1)
    assert seen == sorted(seen) and seen[-1] == 1.0


# --- real data ---------------------------------------------------------------------------------

@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason=WHERE)
def test_online_retail_as_transactions(workspace, tmp_path):
    csv_path = tmp_path / "online_retail.csv"
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * FROM read_parquet('{ONLINE_RETAIL}')) TO '{csv_path}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    profile = inspect_file(csv_path)
    assert profile.dataset == "transactions"
    assert profile.mapping["order_id"] == "InvoiceNo" and "transaction_id" not in profile.mapping
    assert (profile.mapping["member_id"], profile.mapping["quantity"], profile.mapping["unit_price"]) == (
        "CustomerID", "Quantity", "UnitPrice")

    # A user who takes the invoice number for a line id: it is demoted, nothing is dropped.
    mapping = {**profile.mapping, "transaction_id": "InvoiceNo"}
    del mapping["order_id"]
    report = import_file(workspace, csv_path, dataset="transactions", mapping=mapping)
    frame = pd.read_parquet(ONLINE_RETAIL)
    with_customer = frame[frame["CustomerID"].notna()]
    assert report.status == "loaded", report.message
    assert report.rows_read == len(frame) == 541_909
    assert report.rows_loaded + report.rows_rejected == report.rows_read
    assert report.rows_duplicate == 0  # identical order lines are separate records
    assert report.rows_loaded == len(with_customer)
    assert report.mapping["order_id"] == "InvoiceNo"
    assert any("'InvoiceNo' repeats over rows" in w for w in report.warnings)

    reasons = rows(workspace, "SELECT column_name, reason, count(*) FROM rejects GROUP BY ALL")
    assert reasons == [("CustomerID", "missing required value (member_id)", len(frame) - len(with_customer))]
    # The rejected row numbers are the lines without a customer (header = row 1).
    expected_rows = (frame.index[frame["CustomerID"].isna()] + 2).tolist()
    got_rows = [r for (r,) in rows(workspace, "SELECT row_number FROM rejects ORDER BY 1")]
    assert got_rows == expected_rows

    stats = rows(workspace, """
        SELECT count(*), count(DISTINCT member_id), count(transaction_id),
               count(*) FILTER (member_id LIKE '%.%'),
               count(*) FILTER (amount <> quantity * unit_price),
               sum(amount), count(*) FILTER (is_refund), count(*) FILTER (order_id LIKE 'C%'),
               count(*) FILTER (order_id LIKE 'C%' AND NOT is_refund), min(occurred_at), max(occurred_at)
        FROM transactions""")[0]
    (n, customers, line_ids, float_ids, wrong_amounts, total, refunds, cancels,
     unflagged_cancels, first, last) = stats
    assert n == len(with_customer)
    assert customers == with_customer["CustomerID"].astype("int64").nunique() == 4372
    assert (line_ids, float_ids, wrong_amounts, unflagged_cancels) == (0, 0, 0, 0)
    expected_total = (with_customer["Quantity"] * with_customer["UnitPrice"]).sum()
    assert float(total) == pytest.approx(expected_total, abs=0.01)
    assert cancels == with_customer["InvoiceNo"].str.startswith("C").sum()
    assert refunds == ((with_customer["Quantity"] * with_customer["UnitPrice"]) < 0).sum()
    assert (first, last) == (frame["InvoiceDate"].min().to_pydatetime(), frame["InvoiceDate"].max().to_pydatetime())
    # One customer's history matches the source exactly.
    mine = with_customer[with_customer["CustomerID"] == 17850.0]
    assert rows(workspace, "SELECT count(*), sum(quantity) FROM transactions WHERE member_id = '17850'") == [
        (len(mine), Decimal(int(mine["Quantity"].sum())))]

    # Importing it again adds nothing.
    again = import_file(workspace, csv_path, dataset="transactions", mapping=mapping)
    assert (again.rows_loaded, again.rows_duplicate) == (0, report.rows_loaded)
    assert count(workspace, "transactions") == report.rows_loaded


@pytest.mark.parametrize("content,reason", [
    ("member_id,occurred_at,text\nm1,2025-01-01," + "x" * 140_000 + "\nm2,2025-01-02,hi\n", "longer than 131,072"),
    ("member_id,occurred_at\rm1,2025-01-01\rm2,2025-01-02\r", "old Mac line ends"),
    ("member_id,occurred_at,text\nm1,2025-01-01,a\rb\nm2,2025-01-02,c\n", "carriage return"),
])
def test_files_pythons_csv_reader_cannot_read_are_refused_with_a_reason(workspace, write_file, content, reason):
    """A cell over the csv module's limit, CR-only line ends, a bare CR in an unquoted cell: a refusal that
    names the file and says what to do (it was a traceback), and nothing stored."""
    path = write_file("odd.csv", content)
    with pytest.raises(importer.FileRefused, match=reason):
        inspect_file(path)
    report = import_file(workspace, path, dataset="interactions")
    assert report.status == "refused" and report.message.startswith("odd.csv: ") and reason in report.message
    assert workspace.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0


def test_two_imports_at_once_into_one_workspace_both_load_and_the_memory_cap_is_restored(workspace, write_file):
    """Issue 14.7: two imports at the same time collided on the import id ("Duplicate key") and
    left DuckDB's memory limit at the import cap."""
    import threading

    before = rows(workspace, "SELECT current_setting('memory_limit')")
    paths = [write_file(f"c{i}.csv", "occurred_at,channel,text\n" + "".join(
        f"2025-01-{d:02d},x,file {i} row {d}\n" for d in range(1, 29)) * 200) for i in range(3)]
    reports = [None] * 3

    def run(i):
        reports[i] = import_file(workspace, paths[i], options=ImportOptions(dedupe=False))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in reports] == ["loaded"] * 3, [r.message for r in reports]
    assert sorted(r.import_id for r in reports) == [1, 2, 3]
    assert rows(workspace, "SELECT count(*) FROM interactions") == [(3 * 28 * 200,)]
    assert rows(workspace, "SELECT current_setting('memory_limit')") == before
