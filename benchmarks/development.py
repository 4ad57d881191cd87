"""Development page benchmark (not a test): the page's metric set, uncached, next to a plain pandas
implementation in the same run, and the CLV fit on 100,000 customers.

    python -m benchmarks.development --sizes 1000000 [10000000] [--repeat 2]

Per size (workspace from ``benchmarks.common.workspace``; BENCH_DIR chooses its folder):

* ``duckdb``  what the page computes with its defaults: development_states (ladder and stage sizes,
              migrations, rates), value_summary, value_curves, value_over_time (month),
              participation_value, referral_summary / referral_share / referral_chains,
              lifecycle_stage_distribution. Best of ``--repeat`` runs, nothing cached;
* ``clv``     clv_result on the workspace's purchases (RFM query, both fits, per-customer scores);
* ``pandas``  the ladder and stage sizes, value curves and participation vs value with plain pandas
              on the tables loaded into DataFrames (loading not timed); ladder sizes are checked
              against DuckDB's.

Separately, ``fit100k``: BG/NBD + Gamma-Gamma fitted on 100,000 customers simulated from the
CDNOW parameters (weeks, 39-week calibration), with P(alive), expected purchases and CLV scored.

Prints JSON lines and writes ``benchmarks/results/development.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results" / "development.md"
PAGE_SET: list[tuple[str, dict]] = [
    ("value_summary", {}), ("value_curves", {}), ("value_over_time", {"grain": "month"}),
    ("participation_value", {}), ("referral_summary", {}), ("referral_share", {"grain": "month"}),
    ("referral_chains", {}), ("lifecycle_stage_distribution", {}),
]


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return round(best, 3), out


def run_duckdb(con, repeat: int) -> dict:
    from metrics import Filters, get
    from metrics.development import clv_result, development_states

    per: dict[str, float] = {}
    per["development_states"], states = _best(lambda: development_states(con.cursor(), Filters()), repeat)
    for name, opts in PAGE_SET:
        per[name], _ = _best(lambda n=name, o=opts: get(n).compute(con, Filters(), **o), repeat)
    t = time.perf_counter()
    res = clv_result(con.cursor(), Filters())
    clv_s = round(time.perf_counter() - t, 3)
    return {"per": per, "total": round(sum(per.values()), 3), "clv": clv_s, "customers": len(res["customers"]),
            "level_sizes": states["level_sizes"]}


def run_pandas(con) -> dict:
    """The heavy part of the page in plain pandas (ladder and stage sizes, value curves,
    participation vs value), default thresholds."""
    inter = con.execute("SELECT member_id, occurred_at, action FROM interactions "
                        "WHERE direction = 'inbound' AND member_id IS NOT NULL").df()
    mem = con.execute("SELECT member_id, joined_at, churned_at, referred_by, coalesce(is_employee, FALSE) AS emp "
                      "FROM members_current").df()
    tx = con.execute("SELECT member_id, occurred_at, amount::DOUBLE AS amount, coalesce(is_refund, FALSE) AS refund "
                     "FROM transactions WHERE member_id IS NOT NULL").df()
    per: dict[str, float] = {}
    t0 = time.perf_counter()
    employees = set(mem.loc[mem["emp"], "member_id"])
    act = inter[~inter["member_id"].isin(employees)].copy()
    act["day"] = act["occurred_at"].dt.normalize()
    act["sr"] = act["action"].isin(["share", "reply"])
    md = act.groupby(["member_id", "day"], as_index=False)["sr"].sum()
    tx = tx[~tx["member_id"].isin(employees)].copy()
    tx["day"] = tx["occurred_at"].dt.normalize()
    purch = tx[~tx["refund"] & (tx["amount"] >= 0)].groupby(["member_id", "day"], as_index=False)["amount"].sum()
    ordered = purch.sort_values(["member_id", "day"])
    first_buy = ordered.groupby("member_id").nth(0).set_index("member_id")["day"]
    second_buy = ordered.groupby("member_id").nth(1).set_index("member_id")["day"]
    seen = pd.concat([md[["member_id", "day"]], first_buy.rename("day").reset_index()]).groupby("member_id")["day"].min()
    crm = mem[~mem["emp"]].set_index("member_id")
    people = pd.DataFrame(index=crm.index.union(seen.index))
    people["since"] = pd.concat([pd.to_datetime(crm["joined_at"]), seen], axis=1).min(axis=1)
    people["churned"] = pd.to_datetime(crm["churned_at"]).reindex(people.index)
    refs = mem[mem["referred_by"].notna() & mem["joined_at"].notna() & ~mem["emp"]]
    ref_day = pd.to_datetime(refs["joined_at"])
    first_ref = ref_day.groupby(refs["referred_by"]).min()
    lo, hi = min(md["day"].min(), purch["day"].min()), max(md["day"].max(), purch["day"].max())
    levels, stages = [], []
    for period in pd.date_range(lo.replace(day=1), hi, freq="MS"):
        as_of = min(period + pd.offsets.MonthEnd(0), hi)
        pop = people[(people["since"] <= as_of) & (people["churned"].isna() | (people["churned"] > as_of))].index
        w = md[(md["day"] > as_of - pd.Timedelta(days=30)) & (md["day"] <= as_of)]
        g = w.groupby("member_id").agg(d=("day", "size"), sr=("sr", "sum")).reindex(pop, fill_value=0)
        rw = refs[(ref_day > as_of - pd.Timedelta(days=30)) & (ref_day <= as_of)]["referred_by"].value_counts()
        g["ref"] = rw.reindex(g.index, fill_value=0)
        lvl = np.select([(g["d"] >= 7) & ((g["ref"] > 0) | (g["sr"] >= 3)), g["d"] >= 7, g["d"] >= 2, g["d"] >= 1],
                        ["Advocate", "Contributor", "Participant", "Explorer"], "Observer")
        levels.append(pd.Series(lvl).value_counts().rename(period))
        n = (second_buy.reindex(pop) <= as_of).astype(int) + (first_buy.reindex(pop) <= as_of).astype(int)
        adv = (n == 2) & ((lvl == "Advocate") | (first_ref.reindex(pop) <= as_of).fillna(False).to_numpy())
        stage = np.select([adv, n == 2, n == 1], ["advocate", "repeat", "customer"], "prospect")
        stages.append(pd.Series(stage).value_counts().rename(period))
    level_sizes = pd.DataFrame(levels).fillna(0).astype(int)
    per["ladder_and_stages"] = round(time.perf_counter() - t0, 3)

    t = time.perf_counter()
    rev = tx.groupby(["member_id", "day"], as_index=False)["amount"].sum()
    cohort = first_buy.dt.to_period("M")
    rev["cohort"] = rev["member_id"].map(cohort)
    rev["k"] = (rev["day"].dt.to_period("M") - rev["cohort"]).map(lambda o: o.n)
    sizes = cohort.value_counts().rename_axis("cohort")
    curves = rev.groupby(["cohort", "k"])["amount"].sum().groupby(level=0).cumsum().div(sizes, level="cohort")
    per["value_curves"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    active = set(md["member_id"])
    comm = people[people["churned"].isna() | (people["churned"] > hi)].index
    n_buy = purch.groupby("member_id").size()
    money = rev.groupby("member_id")["amount"].sum()
    frame = pd.DataFrame(index=comm.union(money.index))
    frame["group"] = np.where(frame.index.isin(active), "participants", "non-participants")
    frame["n"] = n_buy.reindex(frame.index).fillna(0)
    frame["rev"] = money.reindex(frame.index).fillna(0)
    frame.groupby("group").agg(members=("n", "size"), buyers=("n", lambda s: (s > 0).sum()),
                               repeat=("n", lambda s: (s >= 2).sum()), revenue=("rev", "sum"))
    per["participation_value"] = round(time.perf_counter() - t, 3)
    return {"per": per, "total": round(sum(per.values()), 3), "level_sizes": level_sizes, "curves": len(curves)}


def simulate(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """Customers from the BG/NBD and Gamma-Gamma generative processes at the CDNOW estimates."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    p, q, g = 6.25, 3.74, 15.44
    T = rng.uniform(27.0, 39.0, n)  # first purchases spread over 12 weeks, 39-week calibration
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            alive = rng.random() >= drop[i]
    nu = rng.gamma(q, 1 / g, n)
    m = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), 0.0)
    return {"x": x, "t_x": np.round(t_x, 2), "T": np.round(T, 2), "m": np.round(m, 2)}


def fit100k(n: int = 100_000) -> dict:
    from metrics import clv as clvm

    data = simulate(n)
    t = time.perf_counter()
    bg = clvm.fit_bgnbd(data["x"], data["t_x"], data["T"])
    t_bg = time.perf_counter() - t
    t = time.perf_counter()
    gg = clvm.fit_gamma_gamma(data["x"], data["m"])
    t_gg = time.perf_counter() - t
    t = time.perf_counter()
    clvm.p_alive(bg, data["x"], data["t_x"], data["T"])
    clvm.clv(bg, gg, data["x"], data["t_x"], data["T"], data["m"], horizon_steps=12, step=4.348, discount_rate=0.008)
    t_score = time.perf_counter() - t
    return {"customers": n, "repeat_buyers": int((data["x"] > 0).sum()), "bgnbd_s": round(t_bg, 3),
            "gamma_gamma_s": round(t_gg, 3), "score_s": round(t_score, 3),
            "total_s": round(t_bg + t_gg + t_score, 3),
            "bgnbd": [round(v, 3) for v in (bg.r, bg.alpha, bg.a, bg.b)],
            "gamma_gamma": [round(v, 2) for v in (gg.p, gg.q, gg.gamma)]}


def run_size(n: int, repeat: int) -> dict:
    from benchmarks.common import workspace

    t = time.perf_counter()
    con, data = workspace(n)
    build = round(time.perf_counter() - t, 1)
    n_tx = len(data.transactions)
    del data
    load = os.getloadavg()[0]
    duck = run_duckdb(con, repeat)
    load_after = os.getloadavg()[0]
    rss_duck = round(peak_rss_mb())
    pand = run_pandas(con)
    a = duck["level_sizes"].pivot(index="period", columns="level", values="members")
    b = pand["level_sizes"].reindex(columns=a.columns, fill_value=0)
    b.index = a.index[: len(b)]
    same = bool((a.to_numpy() == b.to_numpy()).all()) if a.shape == b.shape else False
    con.close()
    return {"size": n, "transactions": n_tx, "build_s": build, "load": round(load, 1),
            "load_after": round(load_after, 1), "duckdb": duck["per"],
            "duckdb_total": duck["total"], "clv_s": duck["clv"], "clv_customers": duck["customers"],
            "pandas": pand["per"], "pandas_total": pand["total"], "ladder_check": same, "peak_mb": rss_duck}


def write(results: list[dict], fit: dict) -> None:
    lines = [
        "# Development page benchmark", "",
        "`python -m benchmarks.development --sizes " + " ".join(str(r["size"]) for r in results) + "`", "",
        f"Machine: {machine()}. Shared and loaded machine (1-minute load average before / after the DuckDB "
        "runs in the table); best of the repeats, seconds, nothing cached.", "",
        "| interactions | transactions | load avg | DuckDB page set (without CLV) | CLV (query + fits + scores) "
        "| customers fitted | pandas (ladder, stages, curves, participation) | pandas / DuckDB | ladder sizes equal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        ratio = r["pandas_total"] / r["duckdb_total"] if r["duckdb_total"] else float("nan")
        lines.append(f"| {r['size']:,} | {r['transactions']:,} | {r['load']} / {r.get('load_after', '?')} "
                     f"| **{r['duckdb_total']}** | {r['clv_s']} "
                     f"| {r['clv_customers']:,} | {r['pandas_total']} | {ratio:.1f}x | {r['ladder_check']} |")
    lines += ["", "Per metric (seconds):", ""]
    for r in results:
        lines.append(f"* {r['size']:,} DuckDB: " + ", ".join(f"{k} {v}" for k, v in r["duckdb"].items()))
        lines.append(f"* {r['size']:,} pandas: " + ", ".join(f"{k} {v}" for k, v in r["pandas"].items()))
    lines += [
        "", f"CLV fit on {fit['customers']:,} simulated customers ({fit['repeat_buyers']:,} repeat buyers): "
        f"BG/NBD {fit['bgnbd_s']} s, Gamma-Gamma {fit['gamma_gamma_s']} s, P(alive) + 12-month CLV scoring "
        f"{fit['score_s']} s, **total {fit['total_s']} s** (target <= 10 s). Recovered BG/NBD (r, alpha, a, b) = "
        f"{tuple(fit['bgnbd'])} vs simulated (0.243, 4.414, 0.793, 2.426); Gamma-Gamma (p, q, gamma) = "
        f"{tuple(fit['gamma_gamma'])} vs (6.25, 3.74, 15.44).", "",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.development", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--fit-customers", type=int, default=100_000)
    args = p.parse_args(argv)
    fit = fit100k(args.fit_customers)
    print(json.dumps({"fit": fit}), flush=True)
    results = []
    for n in args.sizes:
        r = run_size(n, args.repeat)
        print(json.dumps(r, default=str), flush=True)
        results.append(r)
    write(results, fit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
