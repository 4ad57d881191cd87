"""The bad-input corpus (issue 14): one odd or hostile export per file in tests/data/bad_inputs/.

Each case is imported into a workspace that already holds rows; it must end in a clear message
(never an exception), account for every row (read = loaded + rejected + already stored; with the
empty lines and the header, the file's physical lines), and leave the stored rows as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datastore.importer import import_file

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
GOOD = "occurred_at,member_id,channel,text\n" + "".join(
    f"2025-06-{d:02d} 09:00,base{d},email,baseline {d}\n" for d in range(1, 21))

# file -> (status, rows read, loaded, rejected, a phrase the message or a warning must hold)
EXPECTED = {
    "year_9999.csv": ("loaded", 4, 3, 1, "1 rejected"),
    "year_1900.csv": ("loaded", 4, 3, 1, "1 rejected"),
    "unclosed_quote.csv": ("loaded", 49, 48, 1, "48 of 49 rows loaded"),
    "too_many_cells.csv": ("loaded", 3, 2, 1, "2 of 3 rows loaded"),
    "too_few_cells.csv": ("loaded", 3, 2, 1, "2 of 3 rows loaded"),
    "blank_lines_before_header.csv": ("loaded", 3, 3, 0, "2 empty line(s) skipped"),
    "blank_lines_between_rows.csv": ("loaded", 5, 4, 1, "3 empty line(s) skipped"),
    "mixed_utf8_in_cp1252.csv": ("loaded", 4, 4, 0, "decoded in its own encoding"),
    "day_first_settled_late.csv": ("loaded", 2501, 2501, 0, "read day-first"),
    "cr_only_line_ends.csv": ("refused", 0, 0, 0, "old Mac line ends (CR only)"),
    "bare_cr_in_unquoted_cell.csv": ("refused", 0, 0, 0, "a carriage return) inside a cell"),
    "cell_over_128_kib.csv": ("refused", 0, 0, 0, "longer than 131,072 characters"),
    "binary.csv": ("refused", 0, 0, 0, "is not a text file"),
    "empty.csv": ("refused", 0, 0, 0, "is empty"),
    "header_only.csv": ("refused", 0, 0, 0, "only a header row"),
    "utf16_with_bom.csv": ("loaded", 3, 3, 0, "3 of 3 rows loaded"),
    "every_date_bad.csv": ("refused", 5, 0, 5, "The most common reason (5 rows): column occurred_at"),
    "formula_cells.csv": ("loaded", 2, 2, 0, "2 of 2 rows loaded"),
    "markdown_and_html_text.csv": ("loaded", 1, 1, 0, "1 of 1 rows loaded"),
    "sql_in_header.csv": ("refused", 0, 0, 0, "No column is mapped to the required field(s) channel"),
    "duplicate_header.csv": ("loaded", 1, 1, 0, "the second one is called 'text (2)'"),
}
FILES = sorted(p.name for p in CORPUS.glob("*.csv"))


def test_every_corpus_file_has_an_expectation():
    assert set(FILES) == set(EXPECTED)


def _stored(con) -> list[tuple]:
    return con.execute("SELECT occurred_at, member_id, channel, text, row_hash FROM interactions "
                       "WHERE import_id = 1 ORDER BY ALL").fetchall()


@pytest.mark.parametrize("name", FILES)
def test_bad_input(name, workspace, write_file):
    assert import_file(workspace, write_file("baseline.csv", GOOD)).rows_loaded == 20
    before = _stored(workspace)
    status, read, loaded, rejected, phrase = EXPECTED[name]
    report = import_file(workspace, CORPUS / name, dataset="interactions")
    assert report.status == status, report.message
    said = " ".join([report.message, *report.warnings])
    assert phrase in said, said
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (read, loaded, rejected), said
    assert report.rows_read == report.rows_loaded + report.rows_rejected + report.rows_duplicate
    assert _stored(workspace) == before  # nothing stored before is lost, changed or doubled
    n = workspace.execute("SELECT count(*) FROM interactions").fetchall()[0][0]
    assert n == 20 + loaded
    if report.import_id:
        logged = json.loads(workspace.execute("SELECT options FROM imports WHERE import_id = ?",
                                              [report.import_id]).fetchall()[0][0])
        if "lines" in logged and name != "cell_over_128_kib.csv":
            # every physical line is the header, an empty line or a row read
            assert logged["lines"]["physical"] == 1 + logged["lines"]["empty"] + report.rows_read
        stored_rejects = workspace.execute("SELECT count(*) FROM rejects WHERE import_id = ?",
                                           [report.import_id]).fetchall()[0][0]
        assert stored_rejects == rejected


def test_mixed_encodings_keep_the_text(workspace):
    import_file(workspace, CORPUS / "mixed_utf8_in_cp1252.csv", dataset="interactions")
    assert sorted(r[0] for r in workspace.execute("SELECT DISTINCT text FROM interactions").fetchall()) == [
        "café", "café crème"]


def test_day_first_order_is_settled_by_a_late_row(workspace):
    import_file(workspace, CORPUS / "day_first_settled_late.csv", dataset="interactions")
    # row 2 of the file is 01/01/2025; row 3 is 02/01/2025 = 2 January (day first), not 1 February
    got = workspace.execute("SELECT CAST(occurred_at AS DATE) FROM interactions WHERE member_id = 'm1'").fetchall()
    assert str(got[0][0]) == "2025-01-02"
    assert str(workspace.execute("SELECT CAST(occurred_at AS DATE) FROM interactions WHERE member_id = 'z1'"
                                 ).fetchall()[0][0]) == "2025-03-25"
    assert workspace.execute("SELECT date_order FROM (SELECT json_extract_string(options, '$.date_order.occurred_at') "
                             "AS date_order FROM imports)").fetchall() == [("day-first",)]


def test_rejected_rows_name_the_line_and_the_reason(workspace):
    report = import_file(workspace, CORPUS / "blank_lines_between_rows.csv", dataset="interactions")
    [(line, column, reason)] = workspace.execute(
        "SELECT row_number, column_name, reason FROM rejects WHERE import_id = ?", [report.import_id]).fetchall()
    # header line 1, rows on lines 2-3, empty lines 4-5, the bad date on line 6
    assert (line, column) == (6, "occurred_at") and reason.startswith("unparseable date")
    report = import_file(workspace, CORPUS / "year_9999.csv", dataset="interactions")
    [(line, reason)] = workspace.execute(
        "SELECT row_number, reason FROM rejects WHERE import_id = ?", [report.import_id]).fetchall()
    assert line == 5 and reason.startswith("date outside 1990-01-01")
