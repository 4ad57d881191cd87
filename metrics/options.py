"""Typed metric options: a frozen dataclass per metric family, validated once on construction.

Pages build them directly, the API from keyword arguments, the CLI from ``name=value`` text
(``Options.parse``): one conversion and one check for all three. A field's type says how text is
read (``Literal`` choices, ``int``, ``float``, ``bool``, ``tuple[str, ...]`` from ``a,b`` (lower-cased, sorted),
``date | None`` from ``YYYY-MM-DD``); ``opt(...)`` adds the help text and bounds. Cross-field rules
go in ``check``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any, Literal, get_args, get_origin

Grain = Literal["day", "week", "month"]
GRAINS: tuple[str, ...] = get_args(Grain)


def opt(default: Any, help: str, *, lo: float | None = None, hi: float | None = None) -> Any:
    """A field with its help text (shown by ``python -m metrics list``) and optional bounds."""
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default=tuple(default), metadata={"help": help, "lo": lo, "hi": hi})
    return dataclasses.field(default=default, metadata={"help": help, "lo": lo, "hi": hi})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(name: str, kind: Any, value: Any, meta: Mapping) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin is Literal:
        text = value.strip().lower() if isinstance(value, str) else value
        if text not in args:
            raise ValueError(f"{name} must be one of {', '.join(map(str, args))} (got {value!r})")
        return text
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and type(None) in args:
        if value is None or value == "":
            return None
        return _convert(name, next(a for a in args if a is not type(None)), value, meta)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"{name} must be true or false (got {value!r})")
    if kind is int:
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or (isinstance(value, float) and value != number):
            raise ValueError(f"{name} must be a whole number (got {value!r})")
        value = number
    elif kind is float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number (got {value!r})") from None
    elif kind is date:
        if isinstance(value, date):
            return value
        try:
            text = str(value)
            return date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise ValueError(f"{name} must be a date YYYY-MM-DD (got {value!r})") from None
    elif origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        return tuple(sorted({str(v).strip().lower() for v in items if str(v).strip()}))
    elif kind is str:
        return str(value)
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be between {lo:g} and {hi:g} (got {value!r})")
    return value


@dataclasses.dataclass(frozen=True)
class Options:
    """Base class: converts and checks every field on construction (a clear ValueError)."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = _convert(f.name, hints[f.name], getattr(self, f.name), f.metadata)
            object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Cross-field rules (override)."""

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None = None) -> Options:
        """From keyword arguments or ``name=value`` text; unknown names are refused."""
        raw = dict(raw or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            known = ", ".join(sorted(names)) or "none"
            raise ValueError(f"has no option(s) {', '.join(unknown)} (options: {known})")
        return cls(**raw)

    @classmethod
    def describe(cls) -> dict[str, str]:
        """name -> help with the default and the choices (``python -m metrics list``)."""
        out = {}
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            kind = hints[f.name]
            choices = get_args(kind) if get_origin(kind) is Literal else None
            default = ",".join(f.default) if isinstance(f.default, tuple) else f.default
            text = f.metadata.get("help", "")
            text += f" ({' | '.join(choices)}; default {default})" if choices else f" (default {default})"
            out[f.name] = text.strip()
        return out

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> Options:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class NoOptions(Options):
    """A metric without options."""


@dataclasses.dataclass(frozen=True)
class GrainOptions(Options):
    grain: Grain = opt("month", "period length")
