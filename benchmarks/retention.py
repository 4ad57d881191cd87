"""Retention page benchmark (not a test): the page's whole metric set, uncached, at 1 M and 10 M
generated interactions, next to a straightforward pandas implementation in the same run.

    python -m benchmarks.retention --sizes 1000000 10000000 [--repeat 3]

Per size (workspace from ``benchmarks.common.workspace``), each in a child process so that peak
memory is its own:

* ``scan``    one scan of the columns the page needs (member_id, occurred_at, channel, direction):
              the floor for any computation on the raw tables;
* ``duckdb``  the page's metric set through the registry, as the page calls it with its defaults
              (month grain): retention, growth_accounting, contractual_churn,
              retention_breakdown (by channel), drifting_members and retention_inputs; the mean
              curve and period-N trend are pandas one-liners on the cohort table (not timed
              separately). Best of ``--repeat`` runs, nothing cached;
* ``pandas``  the same numbers with plain pandas on the tables loaded into DataFrames (loading not
              timed), one run; its cohort counts are checked against DuckDB's;
* ``rollup``  a prototype of the rollup the page would need (see NOTES): a per-member table of
              sorted active-period lists built from the workspace, and the same cohort, lifecycle,
              breakdown and drifting numbers from it (checked against the metrics).

Prints JSON lines and writes ``benchmarks/results/retention.md``. Run sizes one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CACHE_DIR, machine, peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results" / "retention.md"
PAGE_SET: list[tuple[str, dict]] = [
    ("retention", {"grain": "month", "mode": "first_time", "window": "on", "cohort_by": "first_activity",
                   "activity": "interactions", "periods": 12}),
    ("growth_accounting", {"grain": "month", "activity": "interactions"}),
    ("contractual_churn", {"grain": "month"}),
    ("retention_breakdown", {"by": "channel", "grain": "month", "mode": "first_time", "window": "on",
                             "cohort_by": "first_activity", "activity": "interactions", "periods": 12}),
    ("drifting_members", {"drifting_days": 90, "inactive_days": 180, "activity": "interactions"}),
]


def workspace_file(n: int) -> Path:
    """The generated workspace of ``n`` interactions (built once, then reused)."""
    path = CACHE_DIR / f"bench-{n}-{max(5000, n // 40)}-7.duckdb"
    if not path.exists():
        from benchmarks.common import workspace

        con, _ = workspace(n)
        con.close()
    from datastore import rollups
    from datastore.workspace import open_workspace

    con = open_workspace(path)
    rollups.ensure(con)  # cached before the rollups existed
    con.close()
    return path


# ----------------------------------------------------------------------------------------------
# Children
# ----------------------------------------------------------------------------------------------


def child_scan(path: str, repeat: int) -> dict:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        con.execute("""SELECT count(*), count(DISTINCT channel), max(member_id), max(occurred_at)
                       FROM interactions WHERE direction = 'inbound'""").fetchall()
        best = min(best, time.perf_counter() - t)
    return {"seconds": round(best, 3)}


def child_duckdb(path: str, repeat: int) -> dict:
    import duckdb

    from metrics import Filters, get
    from metrics.retention import mean_curve, period_trend, retention_inputs

    con = duckdb.connect(path, read_only=True)
    runs = []
    for _ in range(repeat):
        per: dict[str, float] = {}
        t0 = time.perf_counter()
        frames = {}
        for name, options in PAGE_SET:
            t = time.perf_counter()
            frames[name] = get(name).compute(con, Filters(), **options)
            per[name] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        with con.cursor() as cur:
            retention_inputs(cur)
        mean_curve(frames["retention"], 12)
        period_trend(frames["retention"], 1)
        per["inputs+curve+trend"] = round(time.perf_counter() - t, 3)
        runs.append((round(time.perf_counter() - t0, 3), per))
    best = min(runs, key=lambda r: r[0])
    table = frames["retention"]
    return {"seconds": best[0], "per_metric": best[1], "all_runs": [r[0] for r in runs],
            "check": _cohort_check(table)}


def _cohort_check(table) -> dict:
    """{cohort month: [retained at offsets 0..3]} of the first three cohorts, to compare implementations."""
    out = {}
    for cohort, group in table.groupby("cohort"):
        out[str(cohort)[:7]] = [int(v) for v in group.sort_values("period_offset")["retained"].head(4)]
        if len(out) == 3:
            break
    return out


def child_pandas(path: str) -> dict:
    """The page's numbers with plain pandas: load the tables (not timed), then compute."""
    import duckdb
    import numpy as np
    import pandas as pd

    con = duckdb.connect(path, read_only=True)
    inter = con.execute("SELECT member_id, occurred_at, channel, direction FROM interactions").df()
    members = con.execute(
        "SELECT member_id, name, email, segment, joined_at, churned_at, is_employee FROM members_current").df()
    con.close()
    t0 = time.perf_counter()
    per: dict[str, float] = {}

    t = time.perf_counter()
    employees = set(members.loc[members["is_employee"].fillna(False).astype(bool), "member_id"])
    act = inter[(inter["direction"] == "inbound") & inter["member_id"].notna() & ~inter["member_id"].isin(employees)]
    act = act.assign(p=act["occurred_at"].dt.year * 12 + act["occurred_at"].dt.month - 1)
    lo_p, hi_p = int(act["p"].min()), int(act["p"].max())
    mp = act[["member_id", "p"]].drop_duplicates()
    first = mp.groupby("member_id")["p"].min()
    mp = mp.assign(c=mp["member_id"].map(first))
    mp["k"] = mp["p"] - mp["c"]
    counts = mp[mp["k"] <= 12].groupby(["c", "k"]).size()
    sizes = counts.xs(0, level="k")
    grid = pd.MultiIndex.from_tuples([(c, k) for c in range(lo_p, hi_p + 1) for k in range(13) if c + k <= hi_p],
                                     names=["c", "k"])
    retention = counts.reindex(grid, fill_value=0).rename("retained").reset_index()
    retention["cohort_size"] = retention["c"].map(sizes).fillna(0).astype(int)
    retention["retention_rate"] = retention["retained"] / retention["cohort_size"].replace(0, np.nan)
    per["retention"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    s = mp.sort_values(["member_id", "p"])
    same = s["member_id"].eq(s["member_id"].shift())
    prev = s["p"].shift().where(same)
    nxt = s["p"].shift(-1).where(s["member_id"].eq(s["member_id"].shift(-1)))
    by_p = pd.DataFrame({"p": s["p"], "new": s["p"].eq(s["c"]), "returning": prev.eq(s["p"] - 1),
                         "gone": nxt.isna() | (nxt > s["p"] + 1)})
    up = by_p.groupby("p").agg(active=("new", "size"), new=("new", "sum"), returning=("returning", "sum"))
    down = by_p.groupby(by_p["p"] + 1)["gone"].sum().rename("dormant")
    growth = up.join(down, how="left").fillna(0)
    growth["resurrecting"] = growth["active"] - growth["new"] - growth["returning"]
    growth["quick_ratio"] = (growth["new"] + growth["resurrecting"]) / growth["dormant"].replace(0, np.nan)
    per["growth_accounting"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    m = members[~members["is_employee"].fillna(False).astype(bool)]
    starts = pd.period_range(pd.Period(year=lo_p // 12, month=lo_p % 12 + 1, freq="M"),
                             pd.Period(year=hi_p // 12, month=hi_p % 12 + 1, freq="M"), freq="M")
    joined, churned = pd.to_datetime(m["joined_at"]), pd.to_datetime(m["churned_at"])
    rows = []
    for per_ in starts:
        t0_, t1_ = per_.start_time, (per_ + 1).start_time
        community = ((joined.isna() | (joined < t0_)) & (churned.isna() | (churned >= t0_))).sum()
        gone = ((churned >= t0_) & (churned < t1_)).sum()
        rows.append((per_, gone, community, gone / community if community else np.nan))
    per["contractual_churn"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    first_channel = act.sort_values("occurred_at").drop_duplicates("member_id").set_index("member_id")["channel"]
    mp["g"] = mp["member_id"].map(first_channel)
    mp[mp["k"] <= 12].groupby(["g", "c", "k"]).size()
    per["retention_breakdown"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    last = act.sort_values("occurred_at").groupby("member_id").agg(
        last=("occurred_at", "max"), first=("occurred_at", "min"), n=("p", "size"), last_channel=("channel", "last"))
    as_of = inter["occurred_at"].max().normalize()
    last["days_since"] = (as_of - last["last"].dt.normalize()).dt.days
    people = last[last["days_since"] >= 90].join(members.set_index("member_id")[["name", "email", "segment"]])
    people.sort_values(["days_since"])
    per["drifting_members"] = round(time.perf_counter() - t, 3)

    check = {}
    for c in range(lo_p, lo_p + 3):
        key = f"{c // 12}-{c % 12 + 1:02d}"
        check[key] = [int(counts.get((c, k), 0)) for k in range(4)]
    return {"seconds": round(time.perf_counter() - t0, 3), "per_metric": per, "check": check}


ROLLUP_SQL = """
CREATE TABLE member_activity AS
SELECT member_id, min(occurred_at) AS first_ts, max(occurred_at) AS last_ts,
       arg_min(channel, occurred_at) AS first_channel, arg_max(channel, occurred_at) AS last_channel,
       count(*) AS n,
       list_sort(list(DISTINCT (year(occurred_at) * 12 + month(occurred_at) - 1)::INTEGER)) AS months
FROM ws.interactions
WHERE direction = 'inbound' AND member_id IS NOT NULL
  AND member_id NOT IN (SELECT member_id FROM ws.members_current WHERE is_employee)
GROUP BY 1"""


def child_rollup(path: str, repeat: int) -> dict:
    """Prototype: build the per-member rollup, then the page's cohort numbers from it."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS ws (READ_ONLY)")
    t = time.perf_counter()
    con.execute(ROLLUP_SQL)
    con.execute("CREATE TABLE members_now AS SELECT * FROM ws.members_current")
    build = round(time.perf_counter() - t, 3)
    queries = {
        "retention": """WITH u AS (SELECT months[1] AS c, unnest(months) AS p FROM member_activity)
                        SELECT c, p - c AS k, count(*) AS n FROM u WHERE p - c <= 12 GROUP BY ALL ORDER BY 1, 2""",
        "growth_accounting": """WITH u AS (SELECT months[1] AS fp, unnest(months) AS p,
                                       unnest(list_prepend(-99, months[1:-2])) AS prev,
                                       unnest(list_append(months[2:], 999999)) AS nxt FROM member_activity)
                                SELECT p, count(*), count(*) FILTER (p = fp), count(*) FILTER (prev = p - 1),
                                       count(*) FILTER (nxt > p + 1) FROM u GROUP BY 1""",
        "retention_breakdown": """WITH u AS (SELECT first_channel AS g, months[1] AS c, unnest(months) AS p
                                            FROM member_activity)
                                  SELECT g, c, p - c, count(*) FROM u WHERE p - c <= 12 GROUP BY ALL""",
        "drifting_members": """SELECT a.member_id, m.name, m.email, m.segment, a.last_ts, a.first_ts, a.n,
                                      a.last_channel
                               FROM member_activity a LEFT JOIN members_now m USING (member_id)
                               WHERE a.last_ts < (SELECT max(occurred_at)::DATE - 89 FROM ws.interactions)""",
    }
    runs = []
    for _ in range(repeat):
        per = {}
        for name, sql in queries.items():
            t = time.perf_counter()
            frame = con.execute(sql).df()
            per[name] = round(time.perf_counter() - t, 3)
            if name == "retention":
                table = frame
        runs.append((round(sum(per.values()), 3), per))
    best = min(runs, key=lambda r: r[0])
    check = {}
    for c in sorted(table["c"].unique())[:3]:
        g = table[table["c"] == c].set_index("k")["n"]
        check[f"{c // 12}-{c % 12 + 1:02d}"] = [int(g.get(k, 0)) for k in range(4)]
    return {"seconds": best[0], "per_metric": best[1], "build_seconds": build,
            "rows": int(con.execute("SELECT count(*) FROM member_activity").fetchall()[0][0]), "check": check}


def _child_main(kind: str, path: str, repeat: int) -> None:
    fn = {"scan": lambda: child_scan(path, repeat), "duckdb": lambda: child_duckdb(path, repeat),
          "pandas": lambda: child_pandas(path), "rollup": lambda: child_rollup(path, repeat)}[kind]
    out = fn()
    out["peak_mb"] = round(peak_rss_mb())
    print(json.dumps(out))


def _run_child(kind: str, path: Path, repeat: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.retention", "--child", kind, "--path", str(path),
                           "--repeat", str(repeat)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def _fmt_per(per: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in per.items())


def write_report(results: list[dict]) -> None:
    lines = [
        "# Retention page benchmark",
        "",
        "`python -m benchmarks.retention --sizes " + " ".join(str(r["size"]) for r in results) + "`",
        "",
        f"Machine: {machine()}. Load average at the start of each size in the table (the machine is shared;",
        "figures are the best of the repeats, in seconds, nothing cached).",
        "",
        ("| interactions | load avg | single scan | DuckDB page set | pandas | pandas / DuckDB | DuckDB peak MB | "
         "pandas peak MB | rollup prototype (build) | rollup page set |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['load']:.1f} | {r['scan']['seconds']:.2f} | **{r['duckdb']['seconds']:.2f}** | "
            f"{r['pandas']['seconds']:.2f} | {r['pandas']['seconds'] / r['duckdb']['seconds']:.1f}x | "
            f"{r['duckdb']['peak_mb']} | {r['pandas']['peak_mb']} | {r['rollup']['build_seconds']:.2f} | "
            f"{r['rollup']['seconds']:.2f} |")
    lines += ["", "Per metric (seconds):", ""]
    for r in results:
        lines.append(f"* {r['size']:,} DuckDB: {_fmt_per(r['duckdb']['per_metric'])}")
        lines.append(f"* {r['size']:,} pandas: {_fmt_per(r['pandas']['per_metric'])}")
        lines.append(f"* {r['size']:,} rollup ({r['rollup']['rows']:,} member rows): {_fmt_per(r['rollup']['per_metric'])}")
        lines.append(f"* {r['size']:,} cohort check (retained, offsets 0-3 of the first cohorts): DuckDB "
                     f"{r['duckdb']['check']} = pandas {r['pandas']['check']} = rollup {r['rollup']['check']}: "
                     f"{r['duckdb']['check'] == r['pandas']['check'] == r['rollup']['check']}")
    lines += ["", NOTES]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


NOTES = """## Reading (by hand; the script writes this text after the tables)

Target at 10 M: the page's metric set in at most 1.5 s and at least 10x faster than pandas.
**Met on 2026-11-23: 0.63 s and 12.3x pandas at load 0.8** (DuckDB and pandas in the same run).
History at 10 M: 3.0 s / 3.9x on the raw tables; 1.53 s / 7.6x on the first rollups (activity per
period x member x channel); 0.63 s / 12.3x with the tables below.

* What the page reads now (all maintained by `datastore/rollups.py` at every import and undo, and
  read only when they answer exactly; `tests/test_rollups.py` compares every page metric on rollups
  and raw tables under six filter sets): `active_months` (one row per member and active month over
  all channels, with the channel of the first / last activity and the previous / next active
  month) serves the cohort table, the channel breakdown and growth accounting at month grain without
  a channel filter: no member x month regrouping and no window at query time; `member_activity` (one
  row per member: first / last activity, last channel, count) serves the drifting list when the
  range reaches the data's end; contractual churn reads `member_dim` instead of the `members_current`
  view and the first activity from the rollups; the 131 k-row call list is converted through Arrow
  (0.13 s instead of 0.25 s).
* Other grains, a channel filter or a mid-month range end fall back to `activity_day/week/month`
  (with a two-channel filter the set took 0.56-0.64 s in a check run: fewer rows); start / return
  action options read `interactions`.
* The "rollup prototype" column is the older per-member-list prototype kept for comparison.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.retention", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", choices=["scan", "duckdb", "pandas", "rollup"])
    p.add_argument("--path")
    p.add_argument("--no-write", action="store_true", help="print only; leave results/retention.md alone")
    args = p.parse_args(argv)
    if args.child:
        _child_main(args.child, args.path, args.repeat)
        return 0
    results = []
    for n in args.sizes:
        path = workspace_file(n)
        row: dict = {"size": n, "load": os.getloadavg()[0]}
        for kind in ("scan", "duckdb", "pandas", "rollup"):
            row[kind] = _run_child(kind, path, args.repeat)
        row["ratio"] = round(row["pandas"]["seconds"] / row["duckdb"]["seconds"], 2)
        print(json.dumps(row), flush=True)
        results.append(row)
    if not args.no_write:
        write_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
