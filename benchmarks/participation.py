"""Benchmark: the Participation page's whole metric set, uncached, on generated workspaces, next to
a straightforward pandas implementation of the same metrics on the generator's frames.

    python -m benchmarks.participation --sizes 1000000 10000000 [--repeat 2] [--skip-pandas]

Per size it prints JSON lines: the SQL set per metric (first run and best of ``--repeat``), the
same in pandas, their ratio, peak memory (RSS sampled every 10 ms while each side runs), a single
scan of every interactions column the page reads (the floor for raw tables), and whether SQL and
pandas agree on a few headline numbers. The summary goes into benchmarks/results/participation.md
between the ``results`` markers. Sizes run one after the other (10 M needs a few GB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from benchmarks.common import CACHE_DIR, machine, workspace
from metrics import Filters, get
from metrics.participation import NOT_ANSWERABLE, two_way_status

RESULTS = Path(__file__).parent / "results" / "participation.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

# What app_pages/participation.py computes on first render (month grain, no filters).
PAGE_SET: list[tuple[str, dict]] = [
    ("two_way_status", {}),  # not a metric: the page asks whether in_reply_to is there at all
    ("participation_rate", {"grain": "month"}),
    ("activity_per_active_member", {"grain": "month"}),
    ("first_response_time", {"grain": "month", "by": "period"}),
    ("dau_wau_mau", {"grain": "month"}),
    ("stickiness_distribution", {"grain": "month"}),
    ("participation_inequality", {}),
    ("participation_lorenz", {}),
    ("response_time_distribution", {}),
    ("customer_responses_per_post", {"grain": "month"}),
    ("activity_heatmap", {}),
    ("channel_presence", {}),
    ("channel_mix", {"grain": "month"}),
    ("identified_share", {"grain": "month"}),
    ("influentials_engaged", {"grain": "month"}),
    ("influentials", {"limit": 50}),
]


# ------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------

@contextmanager
def peak_rss(out: dict, key: str):
    """Peak resident memory (MB) of this process while the block runs, sampled every 10 ms."""
    proc, peak, stop = psutil.Process(), [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        out[key] = round(max(peak[0], proc.memory_info().rss) / 2**20)


def run_sql(con, repeat: int) -> tuple[dict[str, list[float]], dict[str, pd.DataFrame]]:
    times: dict[str, list[float]] = {name: [] for name, _ in PAGE_SET}
    frames: dict[str, pd.DataFrame] = {}
    for _ in range(repeat):
        for name, options in PAGE_SET:
            t = time.perf_counter()
            if name == "two_way_status":
                with con.cursor() as cur:
                    two_way_status(cur)
            else:
                frames[name] = get(name).compute(con, Filters(), **options)
            times[name].append(time.perf_counter() - t)
    return times, frames


def scan_floor(con) -> float:
    """One pass over every interactions column the page reads: what any raw-table query pays."""
    t = time.perf_counter()
    con.execute("""SELECT count(member_id), max(occurred_at), max(channel), max(action), max(direction),
                          max(interaction_id), max(in_reply_to), max(reach), max(agent), max(campaign)
                   FROM interactions""").fetchall()
    return time.perf_counter() - t


# ------------------------------------------------------------------------------------------
# The same metrics in plain pandas (month grain, no filters), on the generator's frames
# ------------------------------------------------------------------------------------------

def pandas_page(data) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    it, mem = data.interactions, data.members
    times: dict[str, float] = {}
    out: dict[str, pd.DataFrame] = {}

    def timed(name):
        def deco(fn):
            t = time.perf_counter()
            out[name] = fn()
            times[name] = time.perf_counter() - t
        return deco

    t = time.perf_counter()
    emp = set(mem.loc[mem["is_employee"], "member_id"])
    inbound = it[it["direction"] == "inbound"]
    act = inbound[inbound["member_id"].notna() & ~inbound["member_id"].isin(emp)]
    act = act.assign(period=act["occurred_at"].dt.to_period("M").dt.start_time)
    lo, hi = act["occurred_at"].min().normalize(), act["occurred_at"].max().normalize()
    outbound = it[it["direction"] == "outbound"]
    shared = time.perf_counter() - t  # spread over the metrics below, as each SQL query pays its scan

    @timed("participation_rate")
    def _():
        pm = act[["period", "member_id"]].drop_duplicates()
        comm = mem[~mem["is_employee"]][["member_id", "joined_at", "churned_at"]]
        first = act.groupby("member_id")["occurred_at"].min().dt.normalize()
        joined = comm["joined_at"].fillna(comm["member_id"].map(first))
        comm = comm.assign(joined=joined)
        ends = pd.Series([min(p + pd.offsets.MonthEnd(0), hi) for p in sorted(pm["period"].unique())],
                         index=sorted(pm["period"].unique()))
        size = [int(((comm["joined"].isna() | (comm["joined"] <= e))
                     & (comm["churned_at"].isna() | (comm["churned_at"] > e))).sum()) for e in ends]
        j = pm.merge(comm, on="member_id").assign(end=lambda d: d["period"].map(ends))
        j = j[(j["joined"].isna() | (j["joined"] <= j["end"])) & (j["churned_at"].isna() | (j["churned_at"] > j["end"]))]
        frame = pd.DataFrame({"active_members": pm.groupby("period").size(),
                              "active_in_community": j.groupby("period").size(),
                              "community_size": pd.Series(size, index=ends.index)}).fillna(0)
        return frame.assign(value=frame["active_in_community"] / frame["community_size"].replace(0, np.nan))

    @timed("activity_per_active_member")
    def _():
        counts = act.groupby(["period", "member_id"]).size()
        return counts.groupby(level=0).agg(activity="sum", active_members="size", value="mean", median="median",
                                           p90=lambda s: s.quantile(0.9))

    ans = None

    @timed("first_response_time")
    def _():
        nonlocal ans
        ans = act[~act["action"].isin(NOT_ANSWERABLE) & act["interaction_id"].notna()]
        first = outbound[outbound["in_reply_to"].notna()].groupby("in_reply_to")["occurred_at"].min()
        secs = (ans["interaction_id"].map(first) - ans["occurred_at"]).dt.total_seconds().clip(lower=0)
        ans = ans.assign(seconds=secs)
        g = ans.groupby("period")["seconds"]
        return pd.DataFrame({"answerable": g.size(), "answered": g.count(), "response_rate": g.count() / g.size(),
                             "median_hours": g.median() / 3600, "p90_hours": g.quantile(0.9) / 3600,
                             "within_1h": g.apply(lambda s: (s <= 3600).sum()) / g.size(),
                             "within_24h": g.apply(lambda s: (s <= 86400).sum()) / g.size()})

    @timed("dau_wau_mau")
    def _():
        md = act.assign(day=act["occurred_at"].dt.normalize())[["member_id", "day"]].drop_duplicates()
        md = md.sort_values(["member_id", "day"])
        nxt = md.groupby("member_id")["day"].shift(-1)
        days = pd.date_range(lo, hi + pd.Timedelta(days=30))
        def pos(s):
            return (s - lo).dt.days.to_numpy()

        series = {"dau": np.bincount(pos(md["day"]), minlength=len(days))}
        for w, name in ((7, "wau"), (30, "mau")):
            end = np.minimum(pos(nxt.fillna(md["day"] + pd.Timedelta(days=w))), pos(md["day"]) + w)
            delta = np.bincount(pos(md["day"]), minlength=len(days)) - np.bincount(end, minlength=len(days))
            series[name] = np.cumsum(delta)
        daily = pd.DataFrame(series, index=days).loc[lo:hi]
        monthly = daily.groupby(daily.index.to_period("M").start_time).mean()
        return monthly.assign(stickiness=monthly["dau"] / monthly["mau"])

    @timed("stickiness_distribution")
    def _():
        k = act[["member_id", "period"]].drop_duplicates().groupby("member_id").size()
        return k.value_counts().reindex(range(1, act["period"].nunique() + 1), fill_value=0)

    counts = None

    @timed("participation_inequality")
    def _():
        nonlocal counts
        counts = act.groupby("member_id").size()
        x = counts.sort_values(ascending=False, kind="stable").to_numpy()
        total, n = x.sum(), len(x)
        before = np.cumsum(x) - x
        comm = mem[~mem["is_employee"]]
        joined = comm["joined_at"].fillna(comm["member_id"].map(act.groupby("member_id")["occurred_at"].min()))
        in_range = ((joined.isna() | (joined <= hi))
                    & (comm["churned_at"].isna() | (comm["churned_at"] > np.maximum(joined.fillna(lo), lo))))
        lurkers = int((in_range & ~comm["member_id"].isin(counts.index)).sum())
        asc = x[::-1]
        return pd.DataFrame([{
            "community": n + lurkers, "active_members": n, "lurkers": lurkers,
            "core": int((5 * before < 4 * total).sum()),
            "regular": int(((5 * before >= 4 * total) & (20 * before < 19 * total)).sum()),
            "casual": int((20 * before >= 19 * total).sum()),
            "absence_factor": int((2 * before < total).sum()),
            "top_10pct_share": x[: math.ceil(n / 10)].sum() / total,
            "gini": 2 * np.sum(np.arange(1, n + 1) * asc) / (n * total) - (n + 1) / n,
        }])

    @timed("participation_lorenz")
    def _():
        x = np.sort(counts.to_numpy())
        cum = np.concatenate([[0], np.cumsum(x)])
        i = np.unique(np.arange(101) * len(x) // 100)
        return pd.DataFrame({"members": i, "member_share": i / len(x), "activity_share": cum[i] / cum[-1]})

    @timed("response_time_distribution")
    def _():
        bins = [-1, 900, 3600, 4 * 3600, 86400, 72 * 3600, np.inf]
        dist = pd.cut(ans["seconds"].dropna(), bins).value_counts(sort=False).tolist()
        return pd.DataFrame({"messages": dist + [int(ans["seconds"].isna().sum())]})

    @timed("customer_responses_per_post")
    def _():
        posts = outbound[outbound["in_reply_to"].isna() & outbound["interaction_id"].notna()]
        replies = inbound[inbound["member_id"].notna() & ~inbound["member_id"].isin(emp)
                          & inbound["in_reply_to"].notna()]["in_reply_to"].value_counts()
        n = posts["interaction_id"].map(replies)
        g = pd.DataFrame({"period": posts["occurred_at"].dt.to_period("M").dt.start_time, "n": n}).groupby("period")
        return pd.DataFrame({"posts": g.size(), "posts_with_response": g["n"].count(), "responses": g["n"].sum()})

    @timed("activity_heatmap")
    def _():
        a = act.groupby([act["occurred_at"].dt.day_of_week + 1, act["occurred_at"].dt.hour]).size()
        o = outbound.groupby([outbound["occurred_at"].dt.day_of_week + 1, outbound["occurred_at"].dt.hour]).size()
        return pd.DataFrame({"activity": a, "outbound": o}).fillna(0)

    @timed("channel_presence")
    def _():
        members = act[["member_id", "channel"]].drop_duplicates()["channel"].value_counts()
        return pd.DataFrame({"active_members": members, "member_share": members / act["member_id"].nunique(),
                             "activity": act["channel"].value_counts()})

    @timed("channel_mix")
    def _():
        return act.groupby(["period", "channel"]).agg(activity=("member_id", "size"),
                                                      active_members=("member_id", "nunique"))

    @timed("identified_share")
    def _():
        inb = inbound[inbound["member_id"].isna() | ~inbound["member_id"].isin(emp)]
        known = inb["member_id"].isin(set(mem["member_id"]))
        g = known.groupby(inb["occurred_at"].dt.to_period("M").dt.start_time)
        return pd.DataFrame({"inbound": g.size(), "identified": g.sum(), "value": g.mean()})

    followers = mem.set_index("member_id")["followers"]
    replied_to = outbound[["occurred_at", "in_reply_to"]].merge(
        it[["interaction_id", "member_id"]], left_on="in_reply_to", right_on="interaction_id")

    @timed("influentials_engaged")
    def _():
        pm = act.groupby(["period", "member_id"])["reach"].max().reset_index()
        pm["reach"] = pm["member_id"].map(followers).astype("Float64").fillna(pm["reach"].astype("Float64"))
        pm = pm.sort_values(["period", "reach", "member_id"], ascending=[True, False, True])
        pm["rk"] = pm.groupby("period").cumcount() + 1
        pm["k"] = pm.groupby("period")["member_id"].transform("size").mul(0.01).apply(math.ceil)
        infl = pm[pm["reach"].notna() & (pm["rk"] <= pm["k"])][["period", "member_id"]]
        def month(s):
            return s.dt.to_period("M").dt.start_time

        eng = pd.concat([
            pd.DataFrame({"period": month(outbound["occurred_at"]), "member_id": outbound["member_id"]}),
            pd.DataFrame({"period": month(replied_to["occurred_at"]), "member_id": replied_to["member_id"]}),
        ]).dropna().drop_duplicates().assign(engaged=True)
        j = infl.merge(eng, on=["period", "member_id"], how="left")
        g = j.groupby("period")["engaged"]
        return pd.DataFrame({"influentials": g.size(), "engaged": g.count(), "value": g.count() / g.size()})

    @timed("influentials")
    def _():
        per = act.groupby("member_id").agg(max_reach=("reach", "max"))
        recent = act[act["occurred_at"] >= hi + pd.Timedelta(days=1) - pd.Timedelta(days=90)]
        per["love"] = recent.groupby("member_id").size().reindex(per.index, fill_value=0)
        per["reach"] = (per.index.map(followers).to_series(index=per.index).astype("Float64")
                        .fillna(per["max_reach"].astype("Float64")))
        per = per[per["reach"].notna()].sort_values("reach", ascending=False, kind="stable")
        top = per.head(math.ceil(0.01 * len(counts))).copy()
        top["gravity"] = top["love"] * top["reach"]
        engaged = set(outbound["member_id"].dropna()) | set(replied_to["member_id"].dropna())
        top["engaged"] = top.index.isin(engaged)
        return top.sort_values("gravity", ascending=False).head(50)

    for name in times:  # each pandas metric pays its share of the common filtering, like a SQL scan
        times[name] += shared / len(times)
    return times, out


def agreement(sql: dict[str, pd.DataFrame], pdf: dict[str, pd.DataFrame]) -> dict[str, bool]:
    """Do SQL and pandas give the same headline numbers?"""
    rate, prate = sql["participation_rate"], pdf["participation_rate"]
    frt, pfrt = sql["first_response_time"], pdf["first_response_time"]
    ineq, pineq = sql["participation_inequality"].iloc[0], pdf["participation_inequality"].iloc[0]
    dwm, pdwm = sql["dau_wau_mau"], pdf["dau_wau_mau"]
    return {
        "participation_rate": bool(np.allclose(rate["value"], prate["value"].to_numpy(), equal_nan=True)
                                   and list(rate["active_members"]) == list(prate["active_members"])),
        "response_rate": bool(np.allclose(frt["response_rate"], pfrt["response_rate"].to_numpy())),
        "median_first_response": bool(np.allclose(frt["median_hours"], pfrt["median_hours"].to_numpy())),
        "mau": bool(np.allclose(dwm["mau"], pdwm["mau"].to_numpy())),
        "inequality": all(int(ineq[k]) == int(pineq[k]) for k in
                          ("community", "lurkers", "core", "regular", "casual", "absence_factor"))
        and bool(np.isclose(ineq["gini"], pineq["gini"])),
        "heatmap": int(sql["activity_heatmap"]["activity"].sum()) == int(pdf["activity_heatmap"]["activity"].sum()),
        "influentials_engaged": bool(np.allclose(sql["influentials_engaged"]["value"],
                                                 pdf["influentials_engaged"]["value"].to_numpy())),
    }


def fresh_workspace(size: int):
    """``benchmarks.common.workspace`` reuses a cached file keyed by size and seed only: rebuild it
    when the generator has changed since (the frames and the file must hold the same rows)."""
    con, data = workspace(size)
    it = data.interactions
    expected = (len(it), int(it["member_id"].notna().sum()), int(it["in_reply_to"].notna().sum()),
                str(it["occurred_at"].max()))
    got = con.execute("SELECT count(*), count(member_id), count(in_reply_to), CAST(max(occurred_at) AS VARCHAR) "
                      "FROM interactions").fetchall()[0]
    if tuple(got) == expected:
        return con, data
    con.close()
    for path in CACHE_DIR.glob(f"bench-{size}-*.duckdb"):
        path.unlink()
    return workspace(size)


# ------------------------------------------------------------------------------------------
# Prototype: the derived tables the datastore would maintain at import / undo, and the page's
# metric set (month grain, no filters) on them. TEMP tables: the workspace file is not changed.
# ------------------------------------------------------------------------------------------

ROLLUPS = {
    # one row per member id seen anywhere: an integer key plus the members_current attributes
    "r_member": """
        SELECT row_number() OVER (ORDER BY ids.member_id)::INTEGER AS mk, ids.member_id,
               coalesce(m.is_employee, false) AS is_employee, m.member_id IS NOT NULL AS in_crm, m.segment,
               m.joined_at, m.churned_at, m.followers
        FROM (SELECT member_id FROM interactions WHERE member_id IS NOT NULL
              UNION SELECT member_id FROM members) ids
        LEFT JOIN members_current m USING (member_id)""",
    # activity per day, member, channel (campaign would join the key to serve that filter)
    "r_day": """
        SELECT i.occurred_at::DATE AS day, r.mk, i.channel, count(*)::INTEGER AS n, max(i.reach) AS max_reach,
               min(i.occurred_at) AS first_at
        FROM interactions i JOIN r_member r USING (member_id)
        WHERE i.direction = 'inbound' AND NOT r.is_employee
        GROUP BY ALL ORDER BY day""",
    # active days per member with the next active day (all channels): DAU / WAU / MAU by summing
    "r_md": """
        SELECT mk, day, lead(day) OVER (PARTITION BY mk ORDER BY day) AS nxt
        FROM (SELECT DISTINCT mk, day FROM r_day)""",
    # answerable inbound messages with their first reply
    "r_answer": """
        WITH fr AS (SELECT in_reply_to AS interaction_id, min(occurred_at) AS t FROM interactions
                    WHERE direction = 'outbound' AND in_reply_to IS NOT NULL GROUP BY 1)
        SELECT i.occurred_at::DATE AS day, r.mk, i.channel,
               (CASE WHEN fr.t IS NOT NULL THEN greatest(date_diff('second', i.occurred_at, fr.t), 0) END)::INTEGER
                   AS seconds
        FROM interactions i JOIN r_member r USING (member_id) LEFT JOIN fr USING (interaction_id)
        WHERE i.direction = 'inbound' AND NOT r.is_employee AND i.interaction_id IS NOT NULL
          AND NOT list_contains(['like', 'share', 'view', 'follow'], coalesce(i.action, 'interaction'))""",
    # inbound (anonymous and non-CRM handles too) and outbound per day and hour of week
    "r_hour": """
        SELECT i.occurred_at::DATE AS day, isodow(i.occurred_at)::TINYINT AS weekday, hour(i.occurred_at)::TINYINT AS hour,
               i.channel, i.direction, r.in_crm, coalesce(r.is_employee, false) AS is_employee,
               i.member_id IS NOT NULL AS known, count(*)::INTEGER AS n
        FROM interactions i LEFT JOIN r_member r USING (member_id) GROUP BY ALL""",
    # broadcasts with their customer responses; outbound contacts per member and day
    "r_post": """
        WITH resp AS (SELECT i.in_reply_to AS interaction_id, count(*) AS n
                      FROM interactions i JOIN r_member r USING (member_id)
                      WHERE i.direction = 'inbound' AND NOT r.is_employee AND i.in_reply_to IS NOT NULL GROUP BY 1)
        SELECT o.occurred_at::DATE AS day, o.channel, coalesce(resp.n, 0)::INTEGER AS responses
        FROM interactions o LEFT JOIN resp USING (interaction_id)
        WHERE o.direction = 'outbound' AND o.in_reply_to IS NULL""",
    "r_contact": """
        SELECT DISTINCT o.occurred_at::DATE AS day, r.mk FROM interactions o JOIN r_member r USING (member_id)
        WHERE o.direction = 'outbound'""",
}

M = "CAST(date_trunc('month', day) AS DATE)"
PROTOTYPE_SET: dict[str, str] = {
    "participation_rate": f"""
        WITH pm AS (SELECT DISTINCT {M} AS period, mk FROM r_day),
        ends AS (SELECT period, least(CAST(period + INTERVAL 1 MONTH AS DATE) - 1, (SELECT max(day) FROM r_day)) AS e
                 FROM (SELECT DISTINCT period FROM pm)),
        c AS (SELECT r.mk, coalesce(r.joined_at, f.first_day) AS joined, r.churned_at AS churned
              FROM r_member r LEFT JOIN (SELECT mk, min(day) AS first_day FROM r_day GROUP BY 1) f USING (mk)
              WHERE r.in_crm AND NOT r.is_employee),
        ev AS (SELECT joined AS d, count(*) AS delta FROM c GROUP BY 1
               UNION ALL SELECT greatest(churned, joined), -count(*) FROM c WHERE churned IS NOT NULL GROUP BY 1),
        size AS (SELECT e.period, sum(ev.delta) AS n FROM ends e JOIN ev ON coalesce(ev.d, DATE '0001-01-01') <= e.e
                 GROUP BY 1),
        act AS (SELECT pm.period, count(*) AS active,
                       count(*) FILTER ((c.joined IS NULL OR c.joined <= e.e) AND (c.churned IS NULL OR c.churned > e.e)
                                        AND c.mk IS NOT NULL) AS in_c
                FROM pm JOIN ends e USING (period) LEFT JOIN c USING (mk) GROUP BY 1)
        SELECT period, active, in_c, size.n, in_c / size.n AS value FROM act JOIN size USING (period) ORDER BY 1""",
    "activity_per_active_member": f"""
        SELECT period, sum(n) AS activity, count(*) AS active, avg(n), median(n), quantile_cont(n, 0.9)
        FROM (SELECT {M} AS period, mk, sum(n) AS n FROM r_day GROUP BY ALL) GROUP BY 1 ORDER BY 1""",
    "first_response_time": f"""
        SELECT {M} AS period, count(*) AS answerable, count(seconds) AS answered, median(seconds) / 3600.0,
               quantile_cont(seconds, 0.9) / 3600.0, count(*) FILTER (seconds <= 3600) / count(*),
               count(*) FILTER (seconds <= 86400) / count(*)
        FROM r_answer GROUP BY 1 ORDER BY 1""",
    "dau_wau_mau": f"""
        WITH ev AS (SELECT unnest([day, least(nxt, day + 7), least(nxt, day + 30)]) AS t,
                           unnest([1, 0, 0]) AS d1, unnest([1, -1, 0]) AS d7, unnest([1, 0, -1]) AS d30 FROM r_md),
        agg AS (SELECT t, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30 FROM ev GROUP BY t),
        daily AS (SELECT t AS day, d1 AS dau, sum(d7) OVER (ORDER BY t) AS wau, sum(d30) OVER (ORDER BY t) AS mau
                  FROM agg)
        SELECT {M} AS period, avg(dau), avg(wau), avg(mau) FROM daily
        WHERE day <= (SELECT max(day) FROM r_md) GROUP BY 1 ORDER BY 1""",
    "stickiness_distribution": f"""
        SELECT k, count(*) FROM (SELECT mk, count(DISTINCT {M}) AS k FROM r_day GROUP BY 1) GROUP BY 1 ORDER BY 1""",
    "participation_inequality": """
        WITH pm AS (SELECT mk, sum(n) AS n FROM r_day GROUP BY 1),
        ranked AS (SELECT n, coalesce(sum(n) OVER (ORDER BY n DESC, mk ROWS BETWEEN UNBOUNDED PRECEDING
                                                   AND 1 PRECEDING), 0) AS before,
                          row_number() OVER (ORDER BY n DESC, mk) AS r, sum(n) OVER () AS total, count(*) OVER () AS a
                   FROM pm)
        SELECT count(*) FILTER (5 * before < 4 * total), count(*) FILTER (2 * before < total),
               2.0 * sum((a - r + 1) * n::DOUBLE) / (count(*) * sum(n)::DOUBLE) - (count(*) + 1.0) / count(*)
        FROM ranked""",
    "participation_lorenz": """
        SELECT i, cum FROM (SELECT row_number() OVER (ORDER BY n, mk) AS i,
                                   sum(n) OVER (ORDER BY n, mk ROWS UNBOUNDED PRECEDING) AS cum
                            FROM (SELECT mk, sum(n) AS n FROM r_day GROUP BY 1))
        WHERE i % 1000 = 0""",
    "response_time_distribution": """
        SELECT CASE WHEN seconds IS NULL THEN 6 WHEN seconds <= 900 THEN 0 WHEN seconds <= 3600 THEN 1
                    WHEN seconds <= 14400 THEN 2 WHEN seconds <= 86400 THEN 3 WHEN seconds <= 259200 THEN 4 ELSE 5 END,
               count(*) FROM r_answer GROUP BY 1 ORDER BY 1""",
    "customer_responses_per_post": f"""
        SELECT {M} AS period, count(*), sum(responses) FROM r_post GROUP BY 1 ORDER BY 1""",
    "activity_heatmap": """
        SELECT weekday, hour, sum(n) FILTER (direction = 'inbound' AND known AND NOT is_employee),
               sum(n) FILTER (direction = 'outbound') FROM r_hour GROUP BY ALL ORDER BY ALL""",
    "channel_presence": """
        SELECT channel, count(DISTINCT mk), sum(n) FROM r_day GROUP BY 1 ORDER BY 2 DESC""",
    "channel_mix": f"""
        SELECT {M} AS period, channel, sum(n), count(DISTINCT mk) FROM r_day GROUP BY ALL ORDER BY ALL""",
    "identified_share": f"""
        SELECT {M} AS period, sum(n), sum(n) FILTER (in_crm) FROM r_hour
        WHERE direction = 'inbound' AND NOT is_employee GROUP BY 1 ORDER BY 1""",
    "influentials_engaged": f"""
        WITH pm AS (SELECT {M} AS period, mk, max(max_reach) AS max_reach FROM r_day GROUP BY ALL),
        ranked AS (SELECT pm.period, pm.mk, coalesce(r.followers, pm.max_reach) AS reach,
                          row_number() OVER (PARTITION BY pm.period ORDER BY coalesce(r.followers, pm.max_reach) DESC
                                             NULLS LAST, r.member_id) AS rk,
                          count(*) OVER (PARTITION BY pm.period) AS a
                   FROM pm JOIN r_member r USING (mk)),
        infl AS (SELECT period, mk FROM ranked WHERE reach IS NOT NULL AND rk <= ceil(0.01 * a)),
        eng AS (SELECT DISTINCT {M} AS period, mk FROM r_contact WHERE mk IN (SELECT mk FROM infl))
        SELECT i.period, count(*), count(e.mk), count(e.mk) / count(*) FROM infl i LEFT JOIN eng e USING (period, mk)
        GROUP BY 1 ORDER BY 1""",
    "influentials": """
        WITH hi AS (SELECT max(day) AS hi FROM r_day),
        am AS (SELECT d.mk, max(d.max_reach) AS max_reach, sum(d.n) FILTER (d.day > hi.hi - 90) AS love
               FROM r_day d, hi GROUP BY 1),
        ranked AS (SELECT am.mk, r.member_id, coalesce(am.love, 0) AS love, coalesce(r.followers, am.max_reach) AS reach,
                          row_number() OVER (ORDER BY coalesce(r.followers, am.max_reach) DESC NULLS LAST, r.member_id)
                              AS rk, count(*) OVER () AS a
                   FROM am JOIN r_member r USING (mk))
        SELECT member_id, love, reach, love * reach AS gravity, mk IN (SELECT mk FROM r_contact) AS engaged
        FROM ranked WHERE reach IS NOT NULL AND rk <= ceil(0.01 * a) ORDER BY gravity DESC LIMIT 50""",
}


def rollup_prototype(con, repeat: int) -> dict:
    """Build the prototype rollups (timed: what an import / undo would add) and run the page set on
    them; checks a few results against the real metrics."""
    rec: dict = {}
    t = time.perf_counter()
    for name, sql in ROLLUPS.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    rec["rollup_build_s"] = round(time.perf_counter() - t, 2)
    rec["rollup_rows"] = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in ROLLUPS}
    times: dict[str, list[float]] = {n: [] for n in PROTOTYPE_SET}
    results = {}
    for _ in range(repeat):
        for name, sql in PROTOTYPE_SET.items():
            t = time.perf_counter()
            results[name] = con.execute(sql).df()
            times[name].append(time.perf_counter() - t)
    rec["rollup_page_s"] = round(sum(min(v) for v in times.values()), 3)
    rec["rollup_per_metric_s"] = {k: round(min(v), 3) for k, v in times.items()}
    rate = get("participation_rate").compute(con, Filters(), grain="month")
    frt = get("first_response_time").compute(con, Filters(), grain="month", by="period")
    rec["rollup_agrees"] = bool(
        list(results["participation_rate"]["active"]) == list(rate["active_members"])
        and np.allclose(results["participation_rate"]["value"], rate["value"])
        and list(results["first_response_time"]["answered"]) == list(frt["answered"]))
    for name in ROLLUPS:
        con.execute(f"DROP TABLE {name}")
    return rec


# ------------------------------------------------------------------------------------------

def bench(size: int, repeat: int, skip_pandas: bool, prototype: bool) -> dict:
    rec: dict = {"interactions": size}
    t = time.perf_counter()
    con, data = fresh_workspace(size)
    rec["build_s"] = round(time.perf_counter() - t, 1)
    con.execute("SET enable_progress_bar = false")
    rec["scan_floor_s"] = round(min(scan_floor(con) for _ in range(2)), 3)
    with peak_rss(rec, "sql_peak_rss_mb"):
        times, frames = run_sql(con, repeat)
    rec["sql_first_s"] = round(sum(v[0] for v in times.values()), 3)
    rec["sql_best_s"] = round(sum(min(v) for v in times.values()), 3)
    rec["sql_per_metric_s"] = {k: round(min(v), 3) for k, v in times.items()}
    if not skip_pandas:
        with peak_rss(rec, "pandas_peak_rss_mb"):
            ptimes, pframes = pandas_page(data)
        rec["pandas_s"] = round(sum(ptimes.values()), 3)
        rec["pandas_per_metric_s"] = {k: round(v, 3) for k, v in ptimes.items()}
        rec["ratio"] = round(rec["pandas_s"] / rec["sql_best_s"], 1)
        rec["agree"] = agreement(frames, pframes)
    if prototype:
        rec.update(rollup_prototype(con, repeat))
    rec["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    con.close()
    return rec


def write_results(records: list[dict]) -> None:
    lines = [START, "", f"Run {datetime.now():%Y-%m-%d %H:%M}; machine: {machine()}.", "",
             ("| interactions | page set SQL, first run | best of runs | pandas | pandas / SQL | scan floor | "
              "peak RSS SQL | peak RSS pandas | load avg | SQL = pandas |"),
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in records:
        agree = "–" if "agree" not in r else ("yes" if all(r["agree"].values()) else
                                               "NO: " + ", ".join(k for k, v in r["agree"].items() if not v))
        lines.append(
            f"| {r['interactions']:,} | {r['sql_first_s']:.2f} s | {r['sql_best_s']:.2f} s | "
            f"{r.get('pandas_s', float('nan')):.2f} s | {r.get('ratio', float('nan'))}× | {r['scan_floor_s']:.2f} s | "
            f"{r['sql_peak_rss_mb']:,} MB | {r.get('pandas_peak_rss_mb', 0):,} MB | "
            f"{' / '.join(str(x) for x in r['load_avg'])} | {agree} |")
    lines += ["", "Per metric (seconds, best SQL run vs pandas):", "",
              "| metric | " + " | ".join(f"SQL {r['interactions']:,} | pandas {r['interactions']:,}" for r in records) + " |",
              "|---|" + "---:|---:|" * len(records)]
    for name, _ in PAGE_SET:
        cells = []
        for r in records:
            pandas_s = r.get("pandas_per_metric_s", {}).get(name)
            cells += [f"{r['sql_per_metric_s'][name]:.3f}", "–" if pandas_s is None else f"{pandas_s:.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    proto = [r for r in records if "rollup_page_s" in r]
    if proto:
        lines += ["", "Prototype of the proposed derived tables (TEMP tables built from the workspace; the same page "
                  "set, month grain, no filters):", "",
                  "| interactions | build the rollups (import / undo cost) | page set on rollups | vs pandas | "
                  "rows in rollups | same numbers |", "|---:|---:|---:|---:|---|---|"]
        for r in proto:
            rows = ", ".join(f"{k} {v:,}" for k, v in r["rollup_rows"].items())
            vs = f"{r['pandas_s'] / r['rollup_page_s']:.1f}×" if "pandas_s" in r else "–"
            lines.append(f"| {r['interactions']:,} | {r['rollup_build_s']:.1f} s | {r['rollup_page_s']:.2f} s | {vs} | "
                         f"{rows} | {'yes' if r['rollup_agrees'] else 'NO'} |")
        lines += ["", "| metric on rollups | " + " | ".join(f"{r['interactions']:,}" for r in proto) + " |",
                  "|---|" + "---:|" * len(proto)]
        for name in PROTOTYPE_SET:
            lines.append(f"| {name} | " + " | ".join(f"{r['rollup_per_metric_s'][name]:.3f}" for r in proto) + " |")
    lines += ["", END]
    block = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else f"# Participation page benchmark\n\n{START}\n{END}\n"
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text += "\n" + block + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.participation", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, default=2, help="runs of the SQL set (uncached each time)")
    p.add_argument("--skip-pandas", action="store_true")
    p.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")
    p.add_argument("--rollup-prototype", action="store_true",
                   help="also build the proposed derived tables (TEMP) and time the page set on them")
    args = p.parse_args(argv)
    print(json.dumps({"machine": machine()}))
    records = []
    for size in args.sizes:
        rec = bench(size, args.repeat, args.skip_pandas, args.rollup_prototype)
        print(json.dumps(rec), flush=True)
        records.append(rec)
    if not args.no_write:
        write_results(records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
