"""Import benchmark (not a test): our importer vs DuckDB's own read_csv on the same file.

    python -m benchmarks.bench --sizes 1000000 10000000

For each size: generate the sample community's interactions export (CSV, UTF-8), then in
separate child processes (so peak memory is each one's own) time
  * baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` in a fresh DuckDB file;
  * import:   ``datastore.importer.import_file`` into a fresh workspace (detection, conversion,
              validation, dedup check, rejects, import log; one transaction);
  * reimport: the same file again into that workspace (every row a duplicate).
Prints JSON lines; the summary goes in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import CACHE_DIR, machine, peak_rss_mb


def _export(n: int) -> Path:
    from sample_data.generator import generate, write_exports

    CACHE_DIR.mkdir(exist_ok=True)
    target = CACHE_DIR / f"interactions-{n}.csv"
    if not target.exists():
        tmp = CACHE_DIR / f"export-{n}"
        tmp.mkdir(exist_ok=True)
        files = write_exports(generate(members=max(5000, n // 40), interactions=n, seed=7), tmp)
        path = next(p for p, ds in files if ds == "interactions")
        path.rename(target)
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    return target


def _child(kind: str, file: str, db: str) -> dict:
    import duckdb

    t = time.perf_counter()
    out: dict = {"kind": kind}
    if kind == "baseline":
        con = duckdb.connect(db)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{file}')")
        out["rows"] = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        con.close()
    else:
        from datastore.importer import import_file
        from datastore.workspace import open_workspace

        con = open_workspace(db)
        if kind == "reimport":
            import_file(con, file, dataset="interactions")
            t = time.perf_counter()
        report = import_file(con, file, dataset="interactions")
        out.update(rows=report.rows_loaded, duplicates=report.rows_duplicate, rejected=report.rows_rejected,
                   status=report.status)
        con.close()
    out["seconds"] = round(time.perf_counter() - t, 3)
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def run(sizes: list[int]) -> list[dict]:
    results = []
    print(json.dumps({"machine": machine()}))
    for n in sizes:
        file = _export(n)
        size_mb = file.stat().st_size / 1e6
        row = {"interactions": n, "file_mb": round(size_mb, 1)}
        for kind in ("baseline", "import", "reimport"):
            db = CACHE_DIR / f"bench-import-{kind}-{n}.duckdb"
            for p in (db, Path(str(db) + ".wal")):
                p.unlink(missing_ok=True)
            res = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench", "--child", kind, str(file), str(db)],
                capture_output=True, text=True, check=True,
            )
            row[kind] = json.loads(res.stdout.strip().splitlines()[-1])
            db.unlink(missing_ok=True)
        row["ratio_import_vs_duckdb"] = round(row["import"]["seconds"] / row["baseline"]["seconds"], 2)
        print(json.dumps(row))
        results.append(row)
    return results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "DB"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    run(args.sizes)


if __name__ == "__main__":
    main()
