"""The Overview's headline tiles and its one-page HTML report (ui/report.py), on hand-checkable data."""

from __future__ import annotations

import base64
import re
from datetime import date, datetime

import altair as alt
import pandas as pd
import pytest

from ui.report import (
    Headline,
    Report,
    TargetLine,
    TrialLine,
    build_report,
    chart_png,
    fmt_hours,
    fmt_int,
    fmt_pct,
    fmt_pp,
    fmt_signed_hours,
    fmt_signed_int,
    headline,
    report_file_name,
    sparkline_svg,
)

PERIODS = pd.to_datetime(["2026-08-01", "2026-09-01", "2026-10-01"])


def test_headline_is_the_last_period_against_the_one_before():
    frame = pd.DataFrame({"period": PERIODS, "active_members": [30, 40, 36]})
    h = headline("Active members", frame, "active_members", fmt=fmt_int, delta_fmt=fmt_signed_int,
                 period_label=lambda p: f"{p:%Y-%m}")
    assert h.value == 36 and h.text == "36"
    assert h.delta == -4 and h.delta_text == "-4"  # 36 - 40; ASCII minus: st.metric turns it red
    assert h.trend == (30.0, 40.0, 36.0)
    assert h.period == "2026-10"
    assert h.good is False and h.delta_color == "normal"


def test_lower_is_better_inverts_the_colour():
    frame = pd.DataFrame({"period": PERIODS[:2], "median_hours": [2.0, 1.5]})
    h = headline("Median first response", frame, "median_hours", fmt=fmt_hours, delta_fmt=fmt_signed_hours,
                 lower_is_better=True)
    assert h.text == "1.5 h" and h.delta == -0.5 and h.delta_text == "-30 min"  # half an hour faster
    assert h.good is True and h.delta_color == "inverse"


def test_shares_change_in_percentage_points():
    frame = pd.DataFrame({"period": PERIODS, "value": [0.25, 0.20, 0.23]})
    h = headline("Participation rate", frame, "value", fmt=fmt_pct, delta_fmt=fmt_pp)
    assert h.text == "23.0 %" and h.delta_text == "+3.0 pp"  # 0.23 - 0.20
    assert h.good is True


def test_no_change_is_grey_and_missing_values_give_no_delta():
    same = headline("x", pd.DataFrame({"v": [0.5, 0.5]}), "v", fmt=fmt_pct, delta_fmt=fmt_pp)
    assert same.delta_text == "0.0 pp" and same.good is None and same.delta_color == "off"
    assert same.delta_arrow == "off"
    tiny = headline("x", pd.DataFrame({"v": [0.0731, 0.0729]}), "v", fmt=fmt_pct, delta_fmt=fmt_pp)
    assert tiny.delta_text == "0.0 pp" and tiny.delta_color == "off"  # -0.02 pp rounds to no change
    last_missing = headline("x", pd.DataFrame({"v": [0.5, None]}), "v", fmt=fmt_pct, delta_fmt=fmt_pp)
    assert last_missing.text == "–" and last_missing.delta_text is None and last_missing.trend == (0.5,)
    prev_missing = headline("x", pd.DataFrame({"v": [None, 0.4]}), "v", fmt=fmt_pct, delta_fmt=fmt_pp)
    assert prev_missing.text == "40.0 %" and prev_missing.delta is None
    for empty in (None, pd.DataFrame({"v": []}), pd.DataFrame({"other": [1]})):
        h = headline("x", empty, "v", fmt=fmt_pct, delta_fmt=fmt_pp, help="why")
        assert h.text == "–" and h.delta_text is None and h.trend == () and h.help == "why"


def test_trend_keeps_the_last_points():
    frame = pd.DataFrame({"v": list(range(20))})
    assert headline("x", frame, "v", fmt=fmt_int, delta_fmt=fmt_signed_int, points=5).trend == (15, 16, 17, 18, 19)


def test_formats():
    assert fmt_hours(0.25) == "15 min" and fmt_hours(2.345) == "2.3 h" and fmt_hours(None) == "–"
    assert fmt_signed_int(1234) == "+1\u202f234" and fmt_signed_hours(2.5) == "+2.5 h"
    assert fmt_pp(-0.012) == "-1.2 pp"


def test_sparkline_is_a_polyline_through_the_values():
    svg = sparkline_svg([1, 3, 2], width=100, height=20)
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    # x from 3 to 97 in two steps of 47; y: min 1 at the bottom (20 - 3 = 17), max 3 at the top (3)
    assert points == ["3.0,17.0", "50.0,3.0", "97.0,10.0"]
    assert sparkline_svg([1]) == "" and sparkline_svg([]) == ""
    flat = re.search(r'points="([^"]+)"', sparkline_svg([2, 2], width=100, height=20)).group(1)
    assert flat == "3.0,17.0 97.0,17.0"  # a flat line still draws (no division by zero)


def test_chart_png_renders_offline():
    chart = alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_line().encode(x="x:Q", y="y:Q")
    uri = chart_png(chart.properties(width=200, height=100), scale=1)
    assert uri is not None and uri.startswith("data:image/png;base64,")
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 200 and height > 100  # the plot plus its axes


EVIL = '<script>alert("x")</script>'


@pytest.fixture
def report() -> Report:
    tiles = [
        headline("Active members", pd.DataFrame({"v": [40, 36]}), "v", fmt=fmt_int, delta_fmt=fmt_signed_int),
        headline("Median first response", pd.DataFrame({"v": [2.0, 1.5]}), "v", fmt=fmt_hours,
                 delta_fmt=fmt_signed_hours, lower_is_better=True),
        Headline("Repeat purchase rate", None, "–"),
    ]
    png = chart_png(alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q").properties(width=80), scale=1)
    return Report(
        workspace="Sample & Co", scope="01-11-2024 – 31-10-2026 · per month", headlines=tiles,
        targets=[TargetLine(name=EVIL, metric="participation rate · everyone", status="at risk", current="7.3 %",
                            target="≥ 9.0 %", progress=0.5, expected=0.6, due=date(2027, 1, 31), owner="Sanne",
                            note='"><img src=x onerror=alert(1)>', projected="8.1 %")],
        trials=[TrialLine(name="Reply within the hour", status="running", goal="response rate",
                          window="01-11-2026 – 30-11-2026", reading="+12 % replies within 1 h, likely real (p = 0.01)",
                          note="<b>bold</b>")],
        alerts=[f"Target '{EVIL}' slipped from on track to at risk"],
        charts=[("Active members per month", png), ("Broken", "javascript:alert(1)")],
        generated_at=datetime(2026, 11, 23, 9, 30),
    )


def test_report_holds_the_numbers_statuses_and_images(report):
    page = build_report(report)
    assert page.startswith("<!DOCTYPE html>")
    for text in ("Active members", ">36<", "-4", "Median first response", "1.5 h", "-30 min", "Repeat purchase rate",
                 "7.3 %", "≥ 9.0 %", "8.1 %", "31-01-2027", "at risk", "+12 % replies within 1 h, likely real (p = 0.01)",
                 "01-11-2026 – 30-11-2026", "made 23-11-2026 09:30", "Sample &amp; Co"):
        assert text in page, text
    assert "width:50%" in page and "left:60%" in page  # progress bar at 50 %, expected marker at 60 %
    assert page.count("<img src=\"data:image/png;base64,") == 1  # the chart; the javascript: one is refused
    assert "chart image not available" in page
    assert page.count("<svg") == 2  # sparklines of the two tiles with a trend
    assert "#2e9e5b" in page  # the faster response is good news: green


def test_report_escapes_user_text(report):
    page = build_report(report)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "javascript:" not in page


def test_report_is_self_contained(report):
    page = build_report(report)
    # Nothing is fetched when the file is opened: no scripts, stylesheets or remote images.
    assert "<link" not in page and "<script" not in page
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "url(" not in page


def test_empty_report_says_so():
    page = build_report(Report(workspace="Empty", scope="all dates", headlines=[]))
    assert "No open targets." in page and "No trials running" in page and "Nothing needs attention." in page


def test_report_file_name_is_safe():
    assert report_file_name("Webshop 2026/../x", date(2026, 11, 23)) == "overview-Webshop-2026----x-2026-11-23.html"
    assert report_file_name("Sample", date(2026, 11, 23)) == "overview-Sample-2026-11-23.html"
