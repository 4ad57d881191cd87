"""What a user (or an attacker who writes into an export) types comes back as the text it is.

* Downloads: a cell that a spreadsheet would run as a formula gets an apostrophe, and every field
  holding a CR or an LF is quoted, so Excel and LibreOffice read one cell, not a new row that
  starts with ``=1+1``. Checked on the exact bytes, read the way a spreadsheet reads CSV.
* Markdown: user text (a search, a trial or target name, a member's name, an author, a file name
  in an error) is shown as text: rendered with a CommonMark renderer, no element of a page makes
  an image or a link out of it (the browser would fetch an attacker's image).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from plans import store as plans
from tests import ui_support
from ui.downloads import to_csv_bytes
from ui.widgets import plain

data_dir = ui_support.data_dir  # fixtures, used by name
small_sample = ui_support.small_sample

HOSTILE = ["\r=1+1", "x\r=2+2", "y\n=3+3", "\r\n@SUM(A1)", "+31 6 123", "-1-1", "\t=cmd", "plain text", None,
           'quote " and ; and ,']
EVIL = "![x](http://evil.example/a.png)"


def _records(data: bytes, sep: str) -> list[list[str]]:
    """Read CSV bytes as a spreadsheet does: a CR, an LF or a CRLF outside quotes ends a record
    (Python's csv reader with ``newline=''`` follows the same rule as Excel and LibreOffice)."""
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


@pytest.mark.parametrize("excel", [False, True])
def test_download_keeps_every_cell_one_cell_and_defuses_formulas(excel):
    frame = pd.DataFrame({"text": HOSTILE, "amount": [1.5, -2.0, 3.0, None, 4.25, 5.0, 6.0, 7.0, 8.0, 9.0]})
    data = to_csv_bytes(frame, excel=excel)
    sep = ";" if excel else ","
    rows = _records(data, sep)
    assert len(rows) == 1 + len(frame), rows  # header + one record per row: no CR started a new one
    assert rows[0] == ["text", "amount"]
    for (cell, amount), original, value in zip(rows[1:], HOSTILE, frame["amount"], strict=True):
        if original is None:
            assert cell == ""
        elif original.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert cell == "'" + original  # shown as text, never run
        else:
            assert cell == original
        shown = "" if pd.isna(value) else (f"{value}".replace(".", ",") if excel else f"{value}")
        assert amount == shown  # numbers stay numbers (no apostrophe, the locale's decimal mark)
    assert data.count(b"\r\n") >= len(frame) + 1 and data.endswith(b"\r\n")  # CRLF records (RFC 4180)


def test_download_of_a_negative_number_stays_a_number():
    data = to_csv_bytes(pd.DataFrame({"delta": [-12, 3]}))
    assert data == b"delta\r\n-12\r\n3\r\n"
    assert to_csv_bytes(pd.DataFrame({"delta": [-1.5]}), excel=True) == "\ufeffdelta\r\n-1,5\r\n".encode()


def _rendered(at: AppTest) -> list[str]:
    """Every Markdown-rendering element of the page (bodies and widget labels), as HTML."""
    md = MarkdownIt("commonmark")
    bodies = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title",
                                   "subheader", "header") for e in getattr(at, kind)]
    bodies += [b.label for b in at.button] + [e.label for e in at.expander]
    return [md.render(str(b)) for b in bodies]


def _no_fetch(at: AppTest) -> None:
    assert not at.exception, at.exception
    html = _rendered(at)
    assert html
    bad = [h for h in html if "<img" in h or "evil.example\"" in h or "href=\"http://evil" in h]
    assert not bad, bad


@pytest.mark.parametrize("text", [
    f"{EVIL} [link](http://evil.example) **bold** <img src=x> `code` ~~gone~~ $x^2$ a_b_c",
    "# heading", "1. a list", "2) another", "- bullet", "+ plus", "> quote", "***", "___", "a\n- b\n===",
    "| a | b |", "<http://evil.example>", "[ref]: http://evil.example", "\\*not bold\\*",
])
def test_plain_escapes_what_markdown_would_act_on(text):
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    html = md.render(plain(text))
    assert html.startswith("<p>") and html.count("<") == 2, html  # one paragraph of text, no other element
    assert not any(tag in html for tag in ("<img", "<a ", "<strong", "<em", "<code", "<h", "<li", "<blockquote",
                                            "<hr", "<table", "<s>", "<del"))
    assert "&lt;" in html or "<" not in text  # HTML shown as text


def test_plain_leaves_ordinary_text_as_it_is():
    assert plain("Target created: Forum participation up.") == "Target created: Forum participation up."
    assert plain("Q&A 2026 (pilot), 5 % more") == "Q&A 2026 (pilot), 5 % more"


def test_member_search_and_name_are_text(data_dir):
    from ui import db

    with db.cursor("Sample") as cur:
        cur.execute("UPDATE members SET name = ? WHERE member_id = 'M000001'", [EVIL])
    at = AppTest.from_file("../dashboard.py", default_timeout=60)
    at.query_params["member_q"] = EVIL.replace("a.png", "q.png")  # a crafted link: no member matches
    at.run()
    at.switch_page("pages/members.py").run()
    _no_fetch(at)
    assert any("No member matches" in w.value for w in at.warning)
    at.text_input(key="member_q").input("M000001").run()
    _no_fetch(at)
    assert any(EVIL in s.value.replace("\\", "") for s in at.subheader)  # the name is there, as text


def test_trial_and_target_texts_are_text(data_dir):
    from ui import db

    today = date.today()
    with db.cursor("Sample") as cur:
        trial = plans.create_trial(cur, author=EVIL, name=EVIL, hypothesis=EVIL + " h", change=EVIL + " c",
                           goal_metric="active_share", start_date=today - timedelta(days=20),
                           end_date=today + timedelta(days=10), owner=EVIL)
        target = plans.create_target(cur, author=EVIL, name=EVIL + " target", metric="activity_churn", direction="at_most",
                            target_value=0.3, start_date=today - timedelta(days=60),
                            due_date=today + timedelta(days=30), options={"grain": "month"}, owner=EVIL)
    for page in ("pages/overview.py", "pages/plans.py"):
        at = ui_support.app(page, plans_target=target, plans_trial=trial)  # the Plans page shows these two
        _no_fetch(at)
        assert EVIL in "\n".join(str(m.value) for m in at.markdown).replace("\\", "")
