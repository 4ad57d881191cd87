"""Shared benchmark plumbing: build a workspace of N generated interactions, time things.

Metric benchmarks load the generator's frames straight into the canonical tables (the import
path has its own benchmark in ``benchmarks/bench.py``), so building 10 M rows costs only the
generator's time. Results are printed as JSON lines and summarised in BENCHMARKS.md.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from datastore.importer import journal
from datastore.schema import field_names
from datastore.workspace import bump_data_version, open_workspace
from derived.sync import sync

CACHE_DIR = Path(os.environ.get("BENCH_DIR", "bench_out"))


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, duckdb {duckdb.__version__}, pandas {pd.__version__}"


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss survives
    fork + exec, so a child would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(out: dict, key: str):
    t = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - t, 3)


def load_frames(con: duckdb.DuckDBPyConnection, data) -> None:
    """Insert a SampleData's frames into the canonical tables as import #1..3."""
    for i, ds in enumerate(("members", "interactions", "transactions"), start=1):
        frame = getattr(data, ds)
        cols = [c for c in field_names(ds) if c in frame.columns]
        con.register("_frame", frame)
        con.execute(
            f"INSERT INTO {ds} ({', '.join(cols)}, import_id, row_hash) "
            f"SELECT {', '.join(cols)}, {i}, hash({', '.join(cols)}) FROM _frame"
        )
        con.unregister("_frame")
        con.execute(
            "INSERT INTO imports (import_id, file_name, content_hash, dataset, rows_read, rows_loaded, "
            "rows_rejected, rows_duplicate, imported_at, status) VALUES (?, ?, '', ?, ?, ?, 0, 0, now(), 'loaded')",
            [i, f"generated-{ds}", ds, len(frame), len(frame)],
        )
        journal(con, i, ds, "import")
    bump_data_version(con)
    sync(con)


def workspace(interactions: int, members: int | None = None, seed: int = 7):
    """(connection, SampleData) for a generated workspace of about ``interactions`` rows.
    The DuckDB file is kept in CACHE_DIR and reused; the frames are regenerated (deterministic)."""
    from sample_data.generator import generate

    members = members or max(5000, interactions // 40)
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / f"bench-{interactions}-{members}-{seed}.duckdb"
    data = generate(members=members, interactions=interactions, seed=seed)
    if not path.exists():
        tmp = path.with_suffix(".building")
        if tmp.exists():
            tmp.unlink()
        con = open_workspace(tmp)
        load_frames(con, data)
        con.close()
        tmp.rename(path)
    con = open_workspace(path)
    sync(con)  # a workspace cached before the derived tables (or by another version of them)
    return con, data
