"""The layers import downwards only: schema <- importer <- definitions / derived tables <- metrics <-
plans <- views <- app (ui, pages) and CLI. A cycle (datastore and metrics importing each other, as they
once did) fails here, and so does streamlit anywhere below the app."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> the packages it may import (besides itself and third-party libraries)
ALLOWED = {
    "datastore": set(),
    "derived": {"datastore"},
    "metrics": {"datastore", "derived"},
    "plans": {"datastore", "derived", "metrics"},
    "sample_data": {"datastore", "derived", "plans", "metrics"},
    "views": {"datastore", "derived", "metrics", "plans"},
    "ui": {"datastore", "derived", "metrics", "plans", "views", "sample_data"},
}
OURS = {*ALLOWED, "ui", "pages", "cli", "benchmarks", "tests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_downwards_only():
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            if package == "metrics" and path.name == "__main__.py":
                continue  # `python -m metrics` hands over to the CLI (cli.py), the top layer
            for name in _imports(path) & OURS:
                if name != package and name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_streamlit_stays_in_the_app():
    below = [p for package in ALLOWED if package != "ui" for p in (ROOT / package).rglob("*.py")
             if "streamlit" in _imports(p)]
    assert below == []
