"""The metric registry: every metric is a declaration, in the spirit of MetricFlow and gbstats.

A ``Metric`` says what it is (name, description, unit, section), which options it takes (a typed
``Options`` dataclass), which derived relations it reads, whether it yields one number per period
(``per_period``: columns ``period, value``; such metrics can be targets), and how it is computed:

* a **measure**: ``fn(source, options) -> DataFrame`` on ``metrics.source.Source`` (the derived
  tables under the filters), or
* a **projection** of a parent metric: ``project(parent_frame, options)``, with the parent's
  options taken from the own ones (``parent_options``). The parent is computed once per
  ``Computer`` however many projections read it (response rate and first response time, quick
  ratio and activity churn and growth accounting, the ladder's sizes and moves, ...).

A metric that can be a trial's goal also declares its **units** (``units(source, options)``: SQL
giving one row per unit of analysis with its value ``v`` over the filter range); the trial
statistics are the sufficient statistics of those values, so a trial measures what the page
shows. ``Computer`` computes metrics on a workspace; ``python -m metrics list`` / ``compute``,
the pages' views and notebooks all go through it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from metrics.filters import Filters
from metrics.options import GRAINS, NoOptions, Options
from metrics.stats import Summary

Measure = Callable[[Any, Options], pd.DataFrame]
Projection = Callable[[pd.DataFrame, Options], pd.DataFrame]


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str
    section: str
    options: type[Options] = NoOptions
    reads: tuple[str, ...] = ()
    per_period: bool = False
    fn: Measure | None = None
    parent: str | None = None
    project: Projection | None = None
    parent_options: Callable[[Options], dict] | None = None
    higher_is_better: bool | None = True
    financial: bool = False
    units: Callable[[Any, Options], str] | None = None  # SQL: one row per unit, its value v
    kind: str = "mean"  # of the units: "mean" or "proportion" (0/1 values)
    unit_of_analysis: str = "member"
    label: str = ""  # a short name for people (default: the name in words)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))

    @property
    def grains(self) -> tuple[str, ...]:
        """The grains the metric can be computed at (empty: it has no grain option)."""
        from typing import get_args, get_type_hints

        if "grain" not in self.options.__dataclass_fields__:
            return ()
        return get_args(get_type_hints(self.options)["grain"]) or GRAINS

    def make_options(self, options: Options | dict | None = None) -> Options:
        if isinstance(options, Options):
            if not isinstance(options, self.options):
                raise TypeError(f"{self.name} takes {self.options.__name__}, not {type(options).__name__}")
            return options
        try:
            return self.options.parse(options or {})
        except ValueError as exc:
            sep = " " if str(exc).startswith("has no option") else ": "
            raise ValueError(f"{self.name}{sep}{exc}") from None

    def compute(self, con: duckdb.DuckDBPyConnection, filters: Filters | None = None, **options) -> pd.DataFrame:
        """The metric on the workspace behind ``con`` (the derived tables are synced first)."""
        return Computer(con).frame(self.name, filters, **options)


REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name!r} registered twice")
    if (metric.fn is None) == (metric.parent is None):
        raise ValueError(f"metric {metric.name!r}: give either fn or parent + project")
    REGISTRY[metric.name] = metric
    return metric


def measure(name: str, description: str, unit: str, section: str, **kw) -> Callable[[Measure], Measure]:
    """Decorator: register ``fn`` as the measure of a metric."""
    def deco(fn: Measure) -> Measure:
        register(Metric(name, description, unit, section, fn=fn, **kw))
        return fn
    return deco


def projection(name: str, description: str, unit: str, section: str, parent: str, **kw
               ) -> Callable[[Projection], Projection]:
    """Decorator: register ``project`` as a projection of ``parent``."""
    def deco(project: Projection) -> Projection:
        register(Metric(name, description, unit, section, parent=parent, project=project, **kw))
        return project
    return deco


def get(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown metric {name!r}; `python -m metrics list` shows them all.") from None


# ------------------------------------------------------------------------------------------------
# Computing
# ------------------------------------------------------------------------------------------------
class _LRU:
    """A small thread-safe LRU of computed frames shared by the computers of one process, keyed
    by the workspace's identity and derived-data version (so an import never serves old numbers).
    Under one key (a metric with its options) sit the results for several filters, each with the
    filter fields its computation read (``_Results``)."""

    def __init__(self, size: int = 256):
        self.size, self._data, self._lock = size, OrderedDict(), threading.Lock()

    def find(self, key, filters: Filters):
        with self._lock:
            results = self._data.get(key)
            if results is None:
                return None
            self._data.move_to_end(key)
            return results.find(filters)

    def add(self, key, result) -> None:
        with self._lock:
            self._data.setdefault(key, _Results()).add(result)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class _Results:
    """The results of one metric and options: (frame, reads) where reads are the (field, value)
    pairs of the filters the computation read. A result serves any filters that agree on those
    fields: the computation would read the same values and take the same path."""

    KEEP = 16

    def __init__(self):
        self.items: list[tuple[pd.DataFrame, tuple]] = []

    def find(self, filters: Filters):
        for item in self.items:
            if all(getattr(filters, k) == v for k, v in item[1]):
                return item
        return None

    def add(self, item) -> None:
        self.items = [item, *self.items[: self.KEEP - 1]]


SHARED = _LRU()


class Computer:
    """Computes registry metrics on one workspace connection; each (metric, filters, options)
    once. ``source`` builds the relations a measure reads (``metrics.source.Source``: the derived
    tables; the tests hand in a raw-table oracle instead). A result is reused for other filters
    that agree on the filter fields the computation read (``metrics.source.ReadFilters``): after a
    channel filter change, the metrics that ignore channels are not computed again. Frames are
    shared: treat them as read-only."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, source: type | None = None, shared: _LRU | None = SHARED):
        from derived.sync import ensure
        from metrics.source import Source

        self.con = con
        self.source = source or Source
        production = self.source is Source
        # The derived tables are brought up to date first; results are shared between computers
        # only for them, keyed by the derived state.
        self._key = ensure(con) if production else None
        self._shared = shared if production else None
        self._memo: dict = {}

    def frame(self, name: str, filters: Filters | None = None, options: Options | dict | None = None,
              **kw) -> pd.DataFrame:
        metric = get(name)
        opts = metric.make_options(options if options is not None else kw)
        return self._compute(metric, filters or Filters(), opts)[0]

    def _compute(self, metric: Metric, filters: Filters, opts: Options) -> tuple[pd.DataFrame, tuple]:
        """(frame, the filter fields read with their values)."""
        key = (metric.name, opts)
        found = self._memo[key].find(filters) if key in self._memo else None
        shared_key = (self._key, key) if self._shared is not None else None
        if found is None and shared_key:
            found = self._shared.find(shared_key, filters)
        if found is None:
            if metric.parent is not None:
                parent = get(metric.parent)
                mapped = metric.parent_options(opts) if metric.parent_options else same_fields(opts, parent.options)
                frame, reads = self._compute(parent, filters, parent.make_options(mapped))
                found = (metric.project(frame, opts), reads)  # a projection reads no filters itself
            else:
                with self.con.cursor() as cur:
                    src = self.source(cur, filters)
                    frame = metric.fn(src, opts)
                    found = (frame, src.reads())
            if shared_key:
                self._shared.add(shared_key, found)
        self._memo.setdefault(key, _Results()).add(found)
        return found

    @contextmanager
    def _units(self, name: str, filters: Filters | None, options: Options | dict | None, kw: dict):
        """(source, the metric's units SQL, its option values) on a fresh cursor."""
        metric = get(name)
        if metric.units is None:
            raise ValueError(f"{name} has no units: it cannot be a trial metric")
        opts = metric.make_options(options if options is not None else kw)
        with self.con.cursor() as cur:
            src = self.source(cur, filters or Filters())
            yield src, metric.units(src, opts), {k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in opts.as_dict().items()}

    def summary(self, name: str, filters: Filters | None = None, options: Options | dict | None = None,
                **kw) -> Summary:
        """Sufficient statistics (n, sum, sum of squares) of the metric's per-unit values over the
        filters' range: what a trial compares."""
        with self._units(name, filters, options, kw) as (src, units, values):
            n, s, ss = src.rows(f"WITH units AS ({units}) SELECT count(v), coalesce(sum(v), 0)::DOUBLE, "
                                "coalesce(sum(v * v), 0)::DOUBLE FROM units", **values)[0]
        return Summary(int(n), float(s), float(ss))

    def unit_values(self, name: str, filters: Filters | None = None, options: Options | dict | None = None,
                    **kw) -> dict[str, np.ndarray]:
        """The metric's per-unit values over the filters' range: ``v`` and, where the units are
        people (members, buyers), their key ``mk``; what CUPED pairs with a pre-period."""
        with self._units(name, filters, options, kw) as (src, units, values):
            out = src.numpy(f"SELECT * FROM ({units}) WHERE v IS NOT NULL", **values)
        out["v"] = out["v"].astype(float)
        return out


def same_fields(opts: Options, options: type[Options]) -> dict:
    """The fields of ``opts`` that ``options`` has too (a parent's options from a projection's)."""
    names = options.__dataclass_fields__
    return {k: v for k, v in opts.as_dict().items() if k in names}


def trial_metrics() -> dict[str, Metric]:
    """The metrics a trial can use as goal or guardrail (those that declare their units)."""
    return {n: m for n, m in REGISTRY.items() if m.units is not None}
