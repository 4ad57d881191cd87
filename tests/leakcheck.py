"""Opt-in diagnosis: who still holds DuckDB objects when the test session ends.

    python -m pytest -q -p tests.leakcheck

DuckDB's bindings (nanobind) print "leaked N instances" at interpreter exit when a connection or
relation object is still referenced then; a newcomer reads that as a failure after a green run.
This plugin lists, after the session, every container that holds such an object and the chain of
referrers above it (frames named by file and line) in ``leakcheck.txt`` under pytest's temporary
base folder, and prints how many it found. It found issue 15.11's holder: a parametrized exception
instance that, once raised, kept the test's frames (and their connections) for the whole session."""

from __future__ import annotations

import gc
import types
from pathlib import Path

KINDS = ("DuckDBPyConnection", "DuckDBPyRelation")


def _describe(obj) -> str:
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_filename}:{obj.f_lineno} in {obj.f_code.co_name}"
    if isinstance(obj, dict):
        return "dict with keys " + ", ".join(map(str, list(obj)[:20]))
    return f"{type(obj).__name__} {repr(obj)[:200]}"


def pytest_unconfigure(config) -> None:
    gc.collect()
    objects = gc.get_objects()
    held = [(holder, ref) for holder in objects for ref in gc.get_referents(holder) if type(ref).__name__ in KINDS]
    lines = [f"{len(held)} references to DuckDB objects at the end of the session"]
    for holder, ref in held[:40]:
        lines.append(f"== {type(ref).__name__} {hex(id(ref))} held by {_describe(holder)}")
        current, seen = holder, {id(objects), id(held)}
        for _ in range(5):
            up = [r for r in gc.get_referrers(current) if id(r) not in seen and r is not lines]
            if not up:
                break
            current = up[0]
            seen.add(id(current))
            lines.append(f"   <- {_describe(current)}")
    base = Path(str(config._tmp_path_factory.getbasetemp())) if hasattr(config, "_tmp_path_factory") else Path(".")
    out = base / "leakcheck.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"\nleakcheck: {len(held)} references to DuckDB objects remain; details in {out}")
