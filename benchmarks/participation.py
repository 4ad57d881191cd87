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

# What pages/participation.py computes on first render (month grain, no filters).
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


def bench(size: int, repeat: int, skip_pandas: bool) -> dict:
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
    args = p.parse_args(argv)
    print(json.dumps({"machine": machine()}))
    records = []
    for size in args.sizes:
        rec = bench(size, args.repeat, args.skip_pandas)
        print(json.dumps(rec), flush=True)
        records.append(rec)
    if not args.no_write:
        write_results(records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
