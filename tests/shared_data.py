"""Where the team's shared real data lives (``../shared/data``): beside the repository, at
``/work/shared``, or wherever ``SOCIALCRM_SHARED`` points (a clone elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
CANDIDATES = [Path(p) for p in (os.environ.get("SOCIALCRM_SHARED"),) if p] + [_REPO.parent / "shared",
                                                                            Path("/work/shared")]


def shared(relative: str) -> Path:
    """The first existing ``<shared>/<relative>``, else the one beside the repository (absent:
    the tests that need it are skipped, saying where they looked)."""
    for base in CANDIDATES:
        if (base / relative).exists():
            return base / relative
    return CANDIDATES[0] / relative


ONLINE_RETAIL = shared("data/online_retail/online_retail.parquet")
WHERE = "Online Retail data not found in " + ", ".join(str(p) for p in CANDIDATES) + " (set SOCIALCRM_SHARED)"
