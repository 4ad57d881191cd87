"""Metrics on a workspace: SQL on DuckDB, no streamlit. ``from metrics import REGISTRY, Filters``."""

from __future__ import annotations

from metrics import (
    basic,  # noqa: F401  (registers)
    development,  # noqa: F401
    participation,  # noqa: F401
    retention,  # noqa: F401
)
from metrics.filters import GRAINS, Filters
from metrics.registry import REGISTRY, Metric, get

__all__ = ["GRAINS", "REGISTRY", "Filters", "Metric", "get"]
