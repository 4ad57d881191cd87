"""Metrics on a workspace: declarations on the derived tables, no streamlit.

    from metrics import get, Filters
    get("participation_rate").compute(con, Filters(channels=("forum",)), grain="week")

``Computer(con)`` computes several metrics sharing their parents; ``REGISTRY`` lists them all.
"""

from __future__ import annotations

from metrics import (
    basic,  # noqa: F401  (registers)
    development,  # noqa: F401
    listening,  # noqa: F401
    participation,  # noqa: F401
    posts,  # noqa: F401
    retention,  # noqa: F401
)
from metrics.filters import Filters
from metrics.options import GRAINS, Options
from metrics.registry import REGISTRY, Computer, Metric, get, trial_metrics

__all__ = ["GRAINS", "REGISTRY", "Computer", "Filters", "Metric", "Options", "get", "trial_metrics"]
