"""Posts, audience, tickets and orders from files with the platforms' exact headers
(tests/data/exports, EXPORT_FORMATS.md): every figure checked by hand, and the computed engagement
rate equal to the export's own column on every row."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from datastore.importer import import_file, undo_import
from metrics import Computer, Filters
from metrics.posts import POST_ENGAGEMENT_COLUMNS
from metrics.queries import find_members, member_profile

EXPORTS = Path(__file__).parent / "data" / "exports"


@pytest.fixture
def ws(workspace):
    for name in ("x_tweet_activity.csv", "meta_facebook_posts.csv", "instagram_posts.csv", "linkedin_content.csv",
                 "linkedin_followers.csv", "x_daily.csv", "zendesk_tickets.csv", "freshdesk_tickets.csv",
                 "webshop_orders_nl.csv"):
        report = import_file(workspace, EXPORTS / name)
        assert report.status == "loaded", report.message
    return workspace


def test_post_engagement_has_exactly_the_contract_columns(ws):
    frame = Computer(ws).frame("post_engagement")
    assert list(frame.columns) == POST_ENGAGEMENT_COLUMNS == [
        "network", "post_id", "published_at", "impressions", "reach", "engagements",
        "engagement_rate_impressions", "engagement_rate_reach"]
    assert len(frame) == 10 and set(frame["network"]) == {"x", "facebook", "instagram"}


def test_each_platforms_engagements_by_its_definition(ws):
    f = Computer(ws).frame("post_figures").set_index("post_id")
    # X: the export's own engagements; the rate equals X's "engagement rate" on every row
    x = f[f["network"] == "x"]
    assert x.loc["1985000000000000001", ["impressions", "engagements"]].tolist() == [2633, 50]
    assert x["engagement_rate_impressions"].iloc[:3].tolist() == pytest.approx(
        x["platform_engagement_rate"].iloc[:3].tolist(), abs=1e-12)
    assert pd.isna(x.loc["1985000000000000004", "engagement_rate_impressions"])  # 0 impressions: empty, not 0
    # Facebook: reactions + comments + shares + total clicks (120 + 14 + 9 + 40); by reach 183 / 3000
    fb = f.loc["122100000000000001"]
    assert fb["engagements"] == 183 and fb["basis"] == "reactions + comments + shares + clicks"
    assert fb["engagement_rate_reach"] == pytest.approx(183 / 3000)
    # Instagram: likes + comments + shares + saves, not follows (610 + 33 + 45 + 88); "12,400" read as 12400
    ig = f.loc["18000000000000001"]
    assert (ig["engagements"], ig["impressions"], ig["reach"]) == (776, 12400, 9800)
    assert ig["engagement_rate_impressions"] == pytest.approx(776 / 12400)


def test_facebooks_own_reactions_comments_shares_column_equals_the_sum(ws):
    extra = ws.execute("""SELECT reactions + comments + shares, CAST(extra->>'Reactions, Comments and Shares' AS INT)
                          FROM posts WHERE network = 'facebook'""").fetchall()
    assert extra and all(a == b for a, b in extra)


def test_engagement_rate_per_period_and_network_is_a_sum_over_posts(ws):
    r = Computer(ws).frame("engagement_rate", grain="month").set_index(["network"])
    nov = r[r["period"] == pd.Timestamp("2026-11-01")]
    assert nov.loc["x", "value"] == pytest.approx((50 + 23 + 210 + 0) / (2633 + 1840 + 5120 + 0))
    assert nov.loc["facebook", "value"] == pytest.approx((183 + 88 + 45) / (4100 + 2500 + 900))
    # LinkedIn has page statistics only: (clicks + reactions + comments + reposts) / impressions, and the
    # day rows equal LinkedIn's own "Engagement rate (total)"
    assert nov.loc["linkedin", "source"] == "page statistics"
    assert nov.loc["linkedin", "value"] == pytest.approx((160 + 35 + 5 + 3 + 101 + 0 + 2 + 1 + 315 + 70 + 11 + 7)
                                                         / (1500 + 900 + 3000))
    days = ws.execute("""SELECT (clicks + reactions + comments + shares)::DOUBLE / page_impressions, platform_engagement_rate
                         FROM audience_current WHERE network = 'linkedin' AND page_impressions > 0""").fetchall()
    assert len(days) == 3 and all(a == pytest.approx(b, abs=1e-11) for a, b in days)


def test_audience_growth_from_followers_gained_per_day(ws):
    a = Computer(ws).frame("audience_growth", grain="month")
    li = a[a["network"] == "linkedin"].set_index("period")
    # LinkedIn's followers export: followers gained per day (12 + 8 + 17 in November, 4 on 1 December)
    assert li.loc[pd.Timestamp("2026-11-01"), "growth"] == 37 and li.loc[pd.Timestamp("2026-12-01"), "growth"] == 4
    assert pd.isna(li.loc[pd.Timestamp("2026-11-01"), "growth_rate"])  # no total: no rate


def test_audience_growth_end_minus_start_with_totals(workspace, write_file):
    path = write_file("suite.csv", "Date,Network,Followers,New followers,Unfollows\n"
                      "2026-10-31,x,1000,5,1\n2026-11-15,x,1040,30,2\n2026-11-30,x,1100,70,10\n2026-12-02,x,1090,0,10\n")
    assert import_file(workspace, path).status == "loaded"
    a = Computer(workspace).frame("audience_growth", Filters(start=datetime(2026, 11, 1).date()), grain="month")
    nov = a[a["period"] == pd.Timestamp("2026-11-01")].iloc[0]
    assert (nov["followers_start"], nov["followers_end"], nov["growth"]) == (1000, 1100, 100)
    assert nov["growth_rate"] == pytest.approx(0.1)
    assert len(a) == 2  # October is before the range; December follows


def test_posting_times_need_three_posts_for_the_best_cell(workspace, write_file):
    rows = "".join(f"p{i},x,2026-11-0{2 + (i % 2) * 7} 09:{i:02d},{100},{r}\n"
                   for i, r in enumerate([5, 6, 7, 20, 1, 30]))
    path = write_file("posts.csv", "Post id,Network,Published at,Impressions,Engagements\n" + rows)
    assert import_file(workspace, path, dataset="posts").status == "loaded"
    t = Computer(workspace).frame("posting_times")
    # Mondays 2 and 9 November, 09h: six posts in one cell -> the best; median of 5,6,7,20,1,30 % = 6.5 %
    assert t[["weekday", "hour", "posts"]].values.tolist() == [[1, 9, 6]]
    assert t["median_rate"].iloc[0] == pytest.approx(0.065) and bool(t["best"].iloc[0])


def test_reimporting_a_post_export_updates_its_figures_and_undo_restores(ws, write_file):
    text = (EXPORTS / "instagram_posts.csv").read_text().replace('"12,400"', '"13,000"')
    report = import_file(ws, write_file("instagram_later.csv", text))
    assert report.rows_loaded == 1 and report.rows_updated == 1 and report.rows_duplicate == 2, report.message
    shown = lambda: Computer(ws).frame("post_engagement").set_index("post_id").loc["18000000000000001", "impressions"]  # noqa: E731
    assert shown() == 13000
    undo_import(ws, report.import_id)
    assert shown() == 12400
    assert ws.execute("SELECT count(*) FROM posts_current").fetchall()[0][0] == 10


def test_tickets_answer_with_the_exports_first_reply_time(ws):
    stored = dict(ws.execute("SELECT interaction_id, first_reply_at FROM interactions").fetchall())
    assert stored["5001"] == datetime(2026, 11, 2, 10, 0)  # Zendesk: created 09:15 + 45 minutes
    assert stored["71"] == datetime(2026, 11, 5, 9, 30)  # Freshdesk: Initial response time
    assert stored["5002"] is None
    r = Computer(ws).frame("response_rate", grain="month")
    # 7 tickets, 5 with a first reply (two Zendesk and one Freshdesk ticket without)
    assert r[["answerable", "answered"]].values.tolist() == [[7, 5]]
    frt = Computer(ws).frame("first_response_time", grain="month", by="period")
    assert frt["median_hours"].iloc[0] == pytest.approx(0.5)  # 45, 1440, 5, 30, 2 minutes -> 30 min


def test_ticket_sources_normalised_with_the_raw_value_kept(ws):
    rows = dict((i, (c, raw)) for i, c, raw in ws.execute("SELECT interaction_id, channel, channel_raw FROM interactions").fetchall())
    assert rows["5001"] == ("web", "Web form") and rows["5002"] == ("facebook", "Facebook post")
    assert rows["5003"] == ("email", None) and rows["5004"] == ("api", None) and rows["71"] == ("web", "Portal")


def test_cancelled_and_refunded_orders_are_left_out_with_a_line_in_the_report(workspace):
    report = import_file(workspace, EXPORTS / "webshop_orders_nl.csv")
    assert report.rows_loaded == 3 and "2 left out (cancelled or refunded orders)" in report.message
    assert any("cancelled or refunded" in w and "Status" in w for w in report.warnings)
    stored = workspace.execute("SELECT order_id, amount, is_refund, customer_name FROM transactions ORDER BY 1").fetchall()
    # Geannuleerd and a positive Retour are no sale; a negative Retour line stays a refund
    assert [(o, float(a), r) for o, a, r, _ in stored] == [("W-1001", 1234.5, False), ("W-1004", -20.0, True),
                                                           ("W-1005", 310.0, False)]
    assert stored[0][3] == "Jan Müller"
    rejects = workspace.execute("SELECT row_number, column_name, raw_value FROM rejects ORDER BY 1").fetchall()
    assert rejects == [(3, "Status", "Geannuleerd"), (4, "Status", "Retour")]


def test_members_page_finds_a_buyer_by_customer_name_or_number(ws):
    from derived.sync import ensure

    ensure(ws)
    with ws.cursor() as cur:
        assert find_members(cur, "müller")["member_id"].tolist() == ["K-17"]
        assert find_members(cur, "K-18")["name"].tolist() == ["Renée Dijkstra"]
        assert member_profile(cur, "K-17")["name"] == "Jan Müller"
