"""Import a CSV export into a workspace: inspect, map, validate, deduplicate, load, undo.

Plain Python + DuckDB (no streamlit). The flow:

1. ``inspect_file`` looks at the first MiB: encoding, delimiter, header, decimal style, date
   formats, the dataset and a proposed mapping. Everything it finds can be overridden.
2. ``import_file`` streams the whole file through DuckDB's CSV reader (all text), converts every
   mapped column in SQL, collects per-cell reject reasons, drops rows already stored (natural
   key, or multiset of identical keyless rows) and loads the rest, all in one transaction.
3. ``undo_import`` deletes exactly the rows an import added.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from datastore import convert, sniff, staging
from datastore.mapping import Proposal, propose
from datastore.schema import ADDED_V5, DATASETS, FIELDS, NATURAL_KEY, VERSIONED, field_names, get_field
from datastore.sniff import FileRefused
from datastore.workspace import bump_data_version, time_zone

Progress = Callable[[float, str], None]
IMPORT_MEMORY_LIMIT = "1GB"  # DuckDB's buffer memory while importing; the rest spills to disk
EARLIEST_DATE = date(1990, 1, 1)


@dataclass(frozen=True)
class ImportOptions:
    """Overrides for what detection would choose. ``None`` means: detect."""

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None  # ',' or '.'
    date_format: str | None = None  # one strptime format for every date field
    date_formats: dict[str, list[str]] | None = None  # per canonical field
    dedupe: bool = True  # False: load rows even when identical ones are stored already
    # Dates outside [earliest, latest] are rejected (a year 9999 or 1900 is a typo or a
    # placeholder, not a contact moment). None: 1990-01-01 and one year after today.
    earliest: date | None = None
    latest: date | None = None

    def window(self) -> tuple[date, date]:
        today = date.today()
        try:
            next_year = today.replace(year=today.year + 1)
        except ValueError:  # 29 February
            next_year = today.replace(year=today.year + 1, day=28)
        return self.earliest or EARLIEST_DATE, self.latest or next_year


@dataclass(frozen=True)
class FileProfile:
    """What ``inspect_file`` found out about a file, and what it proposes."""

    file_name: str
    size: int
    encoding: str
    delimiter: str
    quote: str
    columns: list[str]
    header: list[str]
    skip: int  # empty lines before the header
    dataset: str
    mapping: dict[str, str]
    constants: dict[str, str]
    signature: str | None
    refuse: str | None
    decimal: str
    date_formats: dict[str, list[str]]
    warnings: list[str]
    sample: pd.DataFrame
    scores: dict[str, float]

    def describe(self) -> dict:
        return {
            "file": self.file_name,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "decimal": self.decimal,
            "dataset": self.dataset,
            "recognised_as": self.signature,
            "mapping": self.mapping,
            "constants": self.constants,
            "date_formats": self.date_formats,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ImportReport:
    file_name: str
    dataset: str
    status: str  # loaded | refused | failed
    message: str
    import_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_updated: int = 0
    warnings: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# --- inspection --------------------------------------------------------------------------------

def _sample_records(text: str, delimiter: str, quote: str, limit: int = 5000) -> list[list[str]]:
    """Complete records from the decoded head (the last, possibly cut, record is dropped)."""
    cut = text.rfind("\n")
    body = text[: cut + 1] if cut >= 0 and len(text.encode("utf-8", "ignore")) >= sniff.HEAD_BYTES - 8 else text
    rows = []
    reader = csv.reader(io.StringIO(body), delimiter=delimiter, quotechar=quote)
    for i, row in enumerate(reader):
        if i > limit:
            break
        rows.append(row)
    return rows


def _csv_problem(name: str, exc: csv.Error) -> str:
    """Python's csv module's complaint, said for the user."""
    text = str(exc)
    if "field larger than field limit" in text:
        return (f"{name}: a cell is longer than {csv.field_size_limit():,} characters (128 KiB). Shorten or split "
                "that column's text, or leave the column out of the export.")
    if "new-line character seen in unquoted field" in text:
        return (f"{name}: a line break (a carriage return) inside a cell that is not quoted, or a file with old "
                "Mac line ends (CR only). Save it again as CSV with Windows or Unix line ends, with text cells "
                "quoted.")
    return f"{name} cannot be read as CSV: {text}."


def inspect_file(
    path: str | Path,
    *,
    file_name: str | None = None,
    dataset: str | None = None,
    options: ImportOptions | None = None,
) -> FileProfile:
    """Detect how ``path`` is written and propose dataset and mapping. Raises FileRefused."""
    try:
        return _inspect_file(path, file_name=file_name, dataset=dataset, options=options)
    except csv.Error as exc:
        raise FileRefused(_csv_problem(file_name or Path(path).name, exc)) from None


def _inspect_file(path: str | Path, *, file_name: str | None, dataset: str | None,
                  options: ImportOptions | None) -> FileProfile:
    options = options or ImportOptions()
    path = Path(path)
    name = file_name or path.name
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    size = path.stat().st_size
    head = sniff.read_head(path)
    encoding = options.encoding or sniff.detect_encoding(head, name)
    try:
        text = sniff.decode_head(head, encoding)
    except LookupError as exc:
        raise FileRefused(f"Unknown encoding {encoding!r}.") from exc
    if options.encoding:
        try:
            # Only a head cut at HEAD_BYTES may end inside a character; a whole file must decode.
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < sniff.HEAD_BYTES)
        except UnicodeDecodeError as exc:
            raise FileRefused(f"{name} is not valid {encoding}: {exc.reason} at byte {exc.start}.") from exc
    dialect = sniff.detect_dialect(text, encoding)
    if options.delimiter:
        dialect = replace(dialect, delimiter=_delimiter(options.delimiter))
    records = [r for r in _sample_records(text, dialect.delimiter, dialect.quote) if any(c.strip() for c in r)]
    if not records:
        raise FileRefused(f"{name} is empty: there is nothing to import.")
    header = records[0]
    skip = 0
    for line in text.splitlines():
        if line.strip():
            break
        skip += 1
    columns, warnings = sniff.unique_names(header)
    data_rows = records[1:]
    if not data_rows and size <= len(head):
        raise FileRefused(f"{name} has only a header row and no data to import.")
    width = len(columns)
    sample = pd.DataFrame(
        [(r + [""] * width)[:width] for r in data_rows[:200]], columns=columns, dtype="str"
    )

    proposal: Proposal = propose(columns, dataset)
    decimal = options.decimal or _detect_decimal(proposal, columns, data_rows, dialect.delimiter)
    date_formats = _detect_formats(proposal, columns, data_rows, dialect.delimiter, decimal, options)
    return FileProfile(
        file_name=name, size=size, encoding=encoding, delimiter=dialect.delimiter,
        quote=dialect.quote, columns=columns, header=header, skip=skip, dataset=proposal.dataset,
        mapping=proposal.mapping, constants=proposal.constants, signature=proposal.signature,
        refuse=proposal.refuse, decimal=decimal, date_formats=date_formats, warnings=warnings,
        sample=sample, scores=proposal.scores,
    )


def _delimiter(value: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(value.lower(), value)
    if len(value) != 1:
        raise ValueError(f"A delimiter is one character (got {value!r}).")
    return value


def _column_values(columns: list[str], rows: list[list[str]], column: str) -> list[str]:
    i = columns.index(column)
    return [r[i] for r in rows if i < len(r)]


def _detect_decimal(proposal: Proposal, columns: list[str], rows: list[list[str]], delimiter: str) -> str:
    values: list[str] = []
    for fname, col in proposal.mapping.items():
        if get_field(proposal.dataset, fname).kind in ("number", "integer", "sentiment"):
            values += _column_values(columns, rows, col)
    return sniff.detect_decimal(values, delimiter)


def _detect_formats(
    proposal: Proposal, columns: list[str], rows: list[list[str]], delimiter: str,
    decimal: str, options: ImportOptions,
) -> dict[str, list[str]]:
    return detect_formats_for(proposal.dataset, proposal.mapping, columns, rows, delimiter, decimal, options)


def detect_formats_for(
    dataset: str, mapping: dict[str, str], columns: list[str], rows: list[list[str]],
    delimiter: str, decimal: str, options: ImportOptions,
) -> dict[str, list[str]]:
    """Date formats per mapped date/timestamp field (options win over detection)."""
    out: dict[str, list[str]] = {}
    con = duckdb.connect()
    try:
        for fname, col in mapping.items():
            if get_field(dataset, fname).kind not in ("timestamp", "date") or col not in columns:
                continue
            if options.date_formats and fname in options.date_formats:
                out[fname] = list(options.date_formats[fname])
            elif options.date_format:
                out[fname] = [options.date_format]
            else:
                prefer_day_first = delimiter == ";" or decimal == ","
                out[fname] = sniff.detect_date_formats(
                    con, _column_values(columns, rows, col), prefer_day_first
                )
    finally:
        con.close()
    return out


# --- the typed select ----------------------------------------------------------------------

def _check_mapping(dataset: str, columns: list[str], mapping: dict[str, str], constants: dict[str, str]) -> None:
    known = set(field_names(dataset))
    for fname, col in mapping.items():
        if fname not in known:
            raise FileRefused(f"{fname!r} is not a field of {dataset}; fields are: {', '.join(sorted(known))}.")
        if col not in columns:
            raise FileRefused(f"The mapping uses a column {col!r} that the file does not have.")
    for fname in constants:
        if fname not in known:
            raise FileRefused(f"{fname!r} is not a field of {dataset}.")
    present = set(mapping) | {k for k, v in constants.items() if str(v).strip()}
    missing = [f for f in FIELDS[dataset] if f.required and f.name not in present]
    if dataset == "transactions" and {"quantity", "unit_price"} <= present:
        missing = [f for f in missing if f.name != "amount"]
    if missing:
        names = ", ".join(f"{f.name} ({f.description})" for f in missing)
        raise FileRefused(
            f"No column is mapped to the required field(s) {names}. "
            f"Map a column of the file to it, or give a fixed value."
        )


def typed_select(
    source: str,
    columns: list[str],
    dataset: str,
    mapping: dict[str, str],
    constants: dict[str, str],
    *,
    decimal: str,
    date_formats: dict[str, list[str]],
    tz: str,
    window: tuple[date, date] | None = None,
    order_check: dict[str, list[str]] | None = None,
) -> str:
    """SELECT producing, per record of ``source`` (columns c0..cN, all text, in file order):
    one ``v_<field>`` per canonical field, ``errs`` (list of {col, raw, reason}, empty
    for a good row), ``extra`` (unmapped columns as JSON) and ``row_hash``.

    Layers: conv (each conversion evaluated once, raw cells kept as r_<field>), fixed (defaults
    and derived fields), checked (a cell is bad when it holds something but converted to NULL;
    the list of reasons is only built for bad rows).

    ``window`` rejects dates outside it; ``order_check`` (field -> the formats with day and month
    swapped) adds a column ``o_<field>``: 1 when only the chosen formats read the cell, 2 when
    only the swapped ones do, else 0, so the whole column can settle day-first or month-first."""
    pos = {c: i for i, c in enumerate(columns)}
    mapped_cols = set(mapping.values())
    pre, nums, values, raws, checks, orders = [], [], [], [], [], []
    window = window or ImportOptions().window()
    order_check = order_check or {}
    for f in FIELDS[dataset]:
        if f.name in mapping:
            ref = f"c{pos[mapping[f.name]]}"
            label = mapping[f.name]
        elif str(constants.get(f.name, "")).strip():
            ref = convert.q(str(constants[f.name]).strip())
            label = f"{f.name} (fixed value)"
        else:
            values.append(f"CAST(NULL AS {_sql_type(f.kind)}) AS v_{f.name}")
            if f.required:
                raws.append(f"NULL::VARCHAR AS r_{f.name}")
            continue
        # Each cell is trimmed once (pre), numbers parsed once (num), then converted (conv).
        t = f"t_{f.name}"
        pre.append(f"{ref if f.kind == 'text' else f'trim({ref})'} AS {t}")
        if f.kind in convert.NUMERIC_KINDS:
            cell = f"replace({t}, '%', '')" if f.kind == "ratio" else t
            nums.append(f"{convert.number_parse(cell, decimal)} AS n_{f.name}")
        formats = date_formats.get(f.name, [])
        values.append(
            f"{convert.value_expr(f.kind, t, f'n_{f.name}', formats=formats, time_zone=tz)} AS v_{f.name}"
        )
        if convert.can_fail(f.kind) or f.required:
            raws.append(f"{t} AS r_{f.name}")
        if f.name in order_check:
            alt = convert.value_expr(f.kind, t, "", formats=order_check[f.name], time_zone=tz)
            raws.append(f"{alt} AS a_{f.name}")
            orders.append(f"CAST(CASE WHEN v_{f.name} IS NOT NULL AND a_{f.name} IS NULL THEN 1 "
                          f"WHEN v_{f.name} IS NULL AND a_{f.name} IS NOT NULL THEN 2 ELSE 0 END AS UTINYINT) "
                          f"AS o_{f.name}")
        if f.kind in ("timestamp", "date"):
            lo, hi = window
            checks.append((f"(CASE WHEN v_{f.name} IS NULL THEN FALSE ELSE "
                           f"v_{f.name} < DATE '{lo.isoformat()}' OR v_{f.name} >= DATE '{hi.isoformat()}' + 1 END)",
                           f"{{'col': {convert.q(label)}, 'raw': r_{f.name}, 'reason': "
                           f"{convert.q(f'date outside {lo.isoformat()} – {hi.isoformat()} (a typo or a placeholder date?)')}}}"))
        if convert.can_fail(f.kind):
            why = convert.reason(f.kind, decimal=decimal, formats=formats)
            # Fields that get a default or a derived value are checked before that (p_<field>).
            v = f"p_{f.name}" if f.name in DERIVED_FIELDS else f"v_{f.name}"
            checks.append((f"(CASE WHEN {v} IS NULL THEN {convert.has_value(f'r_{f.name}')} ELSE FALSE END)",
                           f"{{'col': {convert.q(label)}, 'raw': r_{f.name}, 'reason': {convert.q(why)}}}"))
    for f in FIELDS[dataset]:
        if f.required:
            label = mapping.get(f.name, f.name)
            cond = (f"(CASE WHEN v_{f.name} IS NULL THEN NOT coalesce({convert.has_value(f'r_{f.name}')}, FALSE) "
                    "ELSE FALSE END)")
            checks.append((cond, f"{{'col': {convert.q(label)}, 'raw': NULL::VARCHAR, "
                                 f"'reason': 'missing required value ({f.name})'}}"))
    if dataset == "transactions" and ("status" in mapping or str(constants.get("status", "")).strip()):
        label = mapping.get("status", "status (fixed value)")
        kind = convert.order_status("v_status")
        checks.append((f"(CASE WHEN {kind} = 'cancelled' THEN TRUE WHEN {kind} = 'refunded' "
                       "THEN coalesce(v_amount, 0) >= 0 ELSE FALSE END)",
                       f"{{'col': {convert.q(label)}, 'raw': v_status, 'reason': {convert.q(LEFT_OUT)}}}"))
    extra_cols = [c for c in columns if c not in mapped_cols]
    if extra_cols:
        extra = f"json_object({', '.join(f'{convert.q(c)}, c{pos[c]}' for c in extra_cols)})"
    else:
        extra = "CAST(NULL AS JSON)"
    fixups = _derived(dataset, mapping, constants)
    keep = "".join(f", v_{n} AS p_{n}" for n in DERIVED_FIELDS if n in field_names(dataset))
    fixed = f"SELECT * REPLACE ({fixups}){keep} FROM conv" if fixups else "SELECT * FROM conv"
    names = field_names(dataset)
    bad = " OR ".join(c for c, _ in checks) or "FALSE"
    errs = ", ".join(f"CASE WHEN {c} THEN {e} END" for c, e in checks)
    return (
        f"WITH raw AS (SELECT * FROM {source}), "
        f"pre AS (SELECT {', '.join(pre + [extra + ' AS extra'])} FROM raw), "
        f"num AS (SELECT *{''.join(', ' + x for x in nums)} FROM pre), "
        f"conv AS (SELECT {', '.join(values + raws)}, extra FROM num), "
        f"fixed AS ({fixed}) "
        f"SELECT {', '.join(['v_' + n for n in names] + orders)}, extra, "
        f"CASE WHEN {bad} THEN list_filter([{errs}], lambda e: e IS NOT NULL) "
        f"ELSE []::STRUCT(col VARCHAR, raw VARCHAR, reason VARCHAR)[] END AS errs, "
        f"{row_hash_sql(dataset)} AS row_hash FROM fixed"
    )


def row_hash_sql(dataset: str) -> str:
    """The hash of a staged row's canonical values (columns v_<field> and extra). The raw channel
    is no canonical value; fields added by schema version 5 only count when the row has one, so a
    row stored before them keeps its hash (a file imported again is still recognised)."""
    added = [n for n in ADDED_V5.get(dataset, ()) if n != "channel_raw"]
    base = [f"v_{n}" for n in field_names(dataset) if n not in added and n != "channel_raw"]
    if not added:
        return "hash(" + ", ".join(base) + ", extra)"
    none = " AND ".join(f"v_{n} IS NULL" for n in added)
    return (f"CASE WHEN {none} THEN hash({', '.join(base)}, extra) "
            f"ELSE hash({', '.join(base + [f'v_{n}' for n in added])}, extra) END")


_VERSION_NOUN = {"members": ("member", "members"), "posts": ("post", "posts"),
                 "audience": ("network and day", "days with figures from an earlier export")}

DERIVED_FIELDS = ("direction", "amount", "is_refund", "is_employee", "first_reply_at")
LEFT_OUT = "order cancelled or refunded as a whole (status): left out, it is no sale"


def _derived(dataset: str, mapping: dict[str, str], constants: dict[str, str]) -> str:
    """Replacements computed from other fields: defaults, amount from order lines, refunds."""
    parts = []
    if dataset == "interactions":
        parts.append("coalesce(v_action, 'interaction') AS v_action")
        parts.append("coalesce(v_direction, 'inbound') AS v_direction")
        if "first_reply_minutes" in mapping:
            parts.append("coalesce(v_first_reply_at, v_occurred_at + to_seconds(CAST(v_first_reply_minutes AS DOUBLE) * 60)) "
                         "AS v_first_reply_at")
        if "channel" in mapping:  # the channel as written, when the canonical name differs
            parts.append("coalesce(v_channel_raw, CASE WHEN lower(r_channel) IS DISTINCT FROM v_channel "
                         "THEN r_channel END) AS v_channel_raw")
    if dataset == "transactions":
        parts.append(
            "coalesce(v_amount, CAST(round(v_quantity * v_unit_price, 4) AS DECIMAL(18,4))) AS v_amount"
        )
        parts.append(
            "coalesce(v_is_refund, v_amount < 0 OR v_quantity < 0 "
            "OR coalesce(v_amount, v_quantity * v_unit_price) < 0, FALSE) AS v_is_refund"
        )
    if dataset == "members":
        parts.append("coalesce(v_is_employee, FALSE) AS v_is_employee")
        if "last_name" in mapping:
            parts.append("nullif(concat_ws(' ', v_name, v_last_name), '') AS v_name")
    return ", ".join(parts)


def _sql_type(kind: str) -> str:
    from datastore.schema import SQL_TYPE

    return SQL_TYPE[kind]


def csv_source(path: str | Path, columns: list[str], delimiter: str, quote: str, skip: int = 0) -> str:
    """read_csv over a UTF-8 file, every column as text named c0..cN, header (after ``skip``
    empty lines) skipped."""
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(columns))) + "}"
    return (
        f"read_csv({convert.q(str(path))}, delim={convert.q(delimiter)}, quote={convert.q(quote)}, "
        f"escape={convert.q(quote)}, header=true, skip={int(skip)}, auto_detect=false, columns={cols}, "
        "null_padding=false, store_rejects=true, max_line_size=20000000, strict_mode=true)"
    )


# --- import ------------------------------------------------------------------------------------

def _read_through(path: Path, out: dict, count_lines: bool) -> None:
    """One pass over the file's bytes (in a thread, next to DuckDB's read): its SHA-256 and,
    for ASCII-compatible encodings, its physical and empty lines (``sniff.scan_lines``)."""
    h = hashlib.sha256()

    def chunks():
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
                yield chunk

    if count_lines:
        sniff.scan_lines(chunks(), out)
    else:
        for _ in chunks():
            pass
    out["hash"] = h.hexdigest()


_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def write_lock(con: duckdb.DuckDBPyConnection) -> threading.Lock:
    """The lock that puts imports and undos of one workspace file in a row (in this process;
    DuckDB's file lock keeps other processes out). Two at once collided on the import id."""
    with con.cursor() as cur:  # a cursor: the connection itself refuses a second thread's call
        path = cur.execute("SELECT coalesce(path, database_name) FROM duckdb_databases() "
                           "WHERE database_name = current_database()").fetchall()[0][0]
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(str(path), threading.Lock())


@dataclass
class _Staged:
    cur: duckdb.DuckDBPyConnection
    formats: dict[str, list[str]]
    structural: pd.DataFrame  # rows the reader could not split, lines numbered as in the file
    notes: list[str]
    extra: dict


_UNTERMINATED = "a quote opened in this row is never closed; the row was left out and the rows after it were read"


def _swapped(formats: list[str]) -> list[str] | None:
    """The same formats with day and month swapped, when the order is a guess ('%d/%m/%Y')."""
    if not any(f.startswith(("%d", "%m")) and "%d" in f and "%m" in f for f in formats):
        return None
    return [f.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m") for f in formats]


def _stage(con, cur, path: Path, tmp: Path, profile: FileProfile, ds: str, mapping, constants, formats,
           options: ImportOptions, say) -> _Staged:
    """Read the whole file into the temp table ``_stage0`` (one parallel DuckDB pass), and read it
    again, corrected, when that pass shows the file needs it:

    - mixed \\n and \\r\\n line ends stop DuckDB's strict reader: a copy with one style is read;
    - a quote that is never closed swallows the rest of the file: that row is left out (and
      rejected) and the file is read again, so every other row is read;
    - lines that are not UTF-8 in a UTF-8 file (or UTF-8 lines in a Windows-1252 file) are decoded
      line by line;
    - dates read day-first that only make sense month-first in the whole column (or the other way
      round) are read again with the order the column settles.
    """
    notes: list[str] = []
    extra: dict = {}
    removed: list[int] = []  # physical lines left out, numbered as in the original file
    removed_rows: list[dict] = []
    if sniff.is_duckdb_encoding(profile.encoding):
        source = staging.readable(cur, path, tmp)  # a path the hardened workspace connection may read
    else:
        say(0.05, f"Converting from {profile.encoding} to UTF-8")
        source = tmp / "utf8.csv"
        if sniff.is_single_byte(profile.encoding) and not options.encoding:  # a chosen encoding is obeyed
            stats = sniff.decode_mixed(path, source, profile.encoding)
            if stats["utf8_lines"]:
                notes.append(f"{stats['utf8_lines']:,} line(s) are UTF-8 in a {profile.encoding} file (first: line "
                             f"{stats['first_utf8_line']}); each line was decoded in its own encoding, so 'café' "
                             "stays 'café'.")
        else:
            sniff.transcode_to_utf8(path, source, profile.encoding)
    tz = time_zone(cur)
    newlines_fixed = mixed_fixed = order_fixed = False
    formats = dict(formats)
    structural = pd.DataFrame()

    def original(line: int) -> int:
        for r in sorted(removed):
            if line >= r:
                line += 1
        return line

    def fresh():
        nonlocal cur
        cur.close()
        cur = con.cursor()  # reject tables and temp tables are per cursor

    for _attempt in range(24):
        swaps = {f: alt for f, fm in formats.items() if (alt := _swapped(fm))} if not order_fixed else {}
        select = typed_select(
            csv_source(source, profile.columns, profile.delimiter, profile.quote, skip=profile.skip),
            profile.columns, ds, mapping, constants, decimal=profile.decimal, date_formats=formats, tz=tz,
            window=options.window(), order_check=swaps,
        )
        say(0.15, "Reading and checking every row")
        try:
            # One parallel pass over the file into a per-cursor temp table, before the
            # transaction: staged inside it, the rows would sit in transaction-local storage
            # and the final insert took 3x longer. Nothing persistent is written here.
            cur.execute(f"CREATE OR REPLACE TEMP TABLE _stage0 AS {select}")
        except duckdb.InvalidInputException as exc:
            if newlines_fixed or "state machine reached an invalid state" not in str(exc):
                raise
            # DuckDB's strict reader (needed to report rows with too many cells) stops at a file
            # that mixes \n and \r\n line ends: read a copy with one style instead.
            say(0.15, "Rewriting mixed line endings")
            fixed = tmp / "newlines.csv"
            sniff.transcode_to_utf8(source, fixed, "utf-8-sig", normalise_newlines=True)
            source, newlines_fixed = fixed, True
            fresh()
            continue
        structural = _structural_rejects(cur)
        kinds = structural["error_type"].astype(str).str.upper()
        open_quote = structural[(kinds == "UNQUOTED VALUE")
                                & structural["error_message"].astype(str).str.contains("unterminated")]
        if len(open_quote) and len(removed) < 20:
            line = int(open_quote["line"].min())
            text = str(open_quote.sort_values("line")["csv_line"].iloc[0]).split("\n")[0]
            removed_rows.append({"line": original(line), "column_name": None, "csv_line": text,
                                 "error_type": "UNTERMINATED", "error_message": _UNTERMINATED})
            removed.append(original(line))
            say(0.15, f"Leaving out line {original(line)}: a quote there is never closed")
            nxt = tmp / f"without-{len(removed)}.csv"
            sniff.drop_lines(source, nxt, {line})
            source = nxt
            fresh()
            continue
        if not mixed_fixed and kinds.isin(["INVALID UNICODE", "INVALID ENCODING"]).any() \
                and sniff.is_duckdb_encoding(profile.encoding) and not options.encoding:
            say(0.15, "Decoding the lines that are not UTF-8 one by one")
            nxt = tmp / "mixed.csv"
            stats = sniff.decode_mixed(source, nxt, "cp1252")
            notes.append(f"{stats['other_lines']:,} line(s) are not UTF-8 in a UTF-8 file (first: line "
                         f"{stats['first_other_line']}); they were read as Windows-1252.")
            source, mixed_fixed = nxt, True
            fresh()
            continue
        if swaps:
            counts = cur.execute("SELECT " + ", ".join(
                f"count(*) FILTER (o_{f} = 1), count(*) FILTER (o_{f} = 2)" for f in swaps
            ) + " FROM _stage0").fetchall()[0]
            order_fixed = True
            changed = False
            for i, (f, alt) in enumerate(swaps.items()):
                keep, swap = int(counts[2 * i]), int(counts[2 * i + 1])
                col = mapping.get(f, f)
                if swap > keep:
                    formats[f], changed = alt, True
                    keep, swap = swap, keep
                order = "day-first" if formats[f][0].startswith("%d") else "month-first"
                extra.setdefault("date_order", {})[f] = order
                shown = convert.example(formats[f][0])
                if keep and swap:
                    notes.append(f"Dates in '{col}' are read {order} ({shown}): {keep:,} value(s) can only be read that "
                                 f"way, {swap:,} only the other way (those rows are rejected).")
                elif keep:
                    notes.append(f"Dates in '{col}' are read {order} ({shown}): {keep:,} value(s) in the column "
                                 "can only be read that way.")
                else:
                    notes.append(f"Dates in '{col}' are read {order} ({shown}), but no value in the whole column "
                                 "settles it (no day above 12): check a few dates, and choose the date format "
                                 "under 'Change what was detected' if they are wrong.")
            if changed:
                say(0.15, "Reading the dates again in the order the whole column shows")
                fresh()
                continue
        break
    if removed_rows:
        structural = structural.assign(line=structural["line"].map(lambda x: original(int(x))))
        structural = pd.concat([pd.DataFrame(removed_rows), structural], ignore_index=True)
    # A row DuckDB reports once per surplus or missing cell is one rejected row.
    structural = structural.sort_values("line").drop_duplicates("line", keep="first")
    return _Staged(cur, formats, structural, notes, extra)


def _next_import_id(cur: duckdb.DuckDBPyConnection) -> int:
    """After every import the log or the journal knows (rows written by another tool, a test's
    hand-made rows, are journalled without a log entry): an undo never takes someone else's rows."""
    return int(cur.execute("""SELECT greatest((SELECT coalesce(max(import_id), 0) FROM imports),
                                              (SELECT coalesce(max(import_id), 0) FROM changes)) + 1""").fetchall()[0][0])


def _log(cur, import_id: int, report: ImportReport, content_hash: str, options: ImportOptions, extra: dict) -> None:
    cur.execute(
        "INSERT INTO imports (import_id, file_name, content_hash, dataset, rows_read, rows_loaded, "
        "rows_rejected, rows_duplicate, rows_updated, mapping, options, imported_at, status, message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id, report.file_name, content_hash, report.dataset, report.rows_read,
            report.rows_loaded, report.rows_rejected, report.rows_duplicate, report.rows_updated,
            json.dumps({"columns": report.mapping, "fixed": report.constants}),
            json.dumps({**{k: v for k, v in asdict(options).items() if v is not None}, **extra}),
            datetime.now().replace(microsecond=0), report.status, report.message,
        ],
    )


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    dataset: str | None = None,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    options: ImportOptions | None = None,
    file_name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one CSV file into the workspace behind ``con``; never raises for bad input.

    ``mapping`` (canonical field -> file column) and ``constants`` (field -> fixed value)
    replace the proposal when given. The whole import commits or nothing does.
    """
    started = time.perf_counter()
    options = options or ImportOptions()
    path = Path(path)
    name = file_name or path.name
    say = progress or (lambda _f, _t: None)
    hashed: dict = {}
    hasher = threading.Thread()  # replaced once the encoding is known

    def refused(message: str, ds: str | None = None, **kw) -> ImportReport:
        if hasher.ident:
            hasher.join()
        report = ImportReport(name, ds or dataset or "?", "refused", message,
                              seconds=time.perf_counter() - started, **kw)
        return report

    say(0.02, "Reading the start of the file")
    try:
        profile = inspect_file(path, file_name=name, dataset=dataset, options=options)
    except FileRefused as exc:
        return refused(str(exc))
    ds = profile.dataset
    hasher = threading.Thread(target=_read_through, daemon=True,
                              args=(path, hashed, not profile.encoding.lower().startswith("utf-16")))
    hasher.start()
    if mapping is None and profile.refuse:
        return refused(f"{name}: {profile.refuse}", ds)
    use_mapping = dict(profile.mapping if mapping is None else mapping)
    use_constants = dict(profile.constants if constants is None else constants)
    try:
        _check_mapping(ds, profile.columns, use_mapping, use_constants)
    except FileRefused as exc:
        return refused(f"{name}: {exc}", ds, mapping=use_mapping, constants=use_constants)
    formats = profile.date_formats
    if mapping is not None:  # the caller's mapping may point date fields at other columns
        records = [list(profile.sample.columns)] + profile.sample.values.tolist()
        formats = detect_formats_for(
            ds, use_mapping, profile.columns, records[1:], profile.delimiter, profile.decimal, options
        )

    staging.clean_stale()  # what a killed import left behind
    tmp_dir = staging.new_dir("import")
    lock = write_lock(con)
    if not lock.acquire(blocking=False):
        say(0.02, "Waiting for another import or undo in this workspace to finish")
        lock.acquire()
    cur = con.cursor()
    # A large file is staged in full: cap DuckDB's memory for the import so the staging table
    # spills to disk instead of growing with the file (restored afterwards, under the lock, so
    # two imports never restore each other's cap).
    previous_limit = cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    cur.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
    try:
        try:
            staged = _stage(con, cur, path, Path(tmp_dir), profile, ds, use_mapping, use_constants, formats,
                            options, say)
        except UnicodeDecodeError as exc:
            return refused(f"{name} is not valid {profile.encoding} (byte {exc.start}); "
                           "choose another encoding.", ds)
        cur, formats = staged.cur, staged.formats
        cur.execute("BEGIN TRANSACTION")
        try:
            report = _load(cur, ds, name, profile, use_mapping, use_constants, options, say, hasher, hashed,
                           staged)
        except Exception:
            cur.execute("ROLLBACK")
            raise
        if report.status == "loaded" or report.import_id is not None:
            cur.execute("COMMIT")
        else:
            cur.execute("ROLLBACK")
        say(1.0, "Done")
        return replace(report, seconds=round(time.perf_counter() - started, 3))
    except duckdb.Error as exc:
        return ImportReport(name, ds, "failed", f"{name} could not be imported: {_plain(exc)}",
                            mapping=use_mapping, constants=use_constants,
                            seconds=time.perf_counter() - started)
    finally:
        try:
            # current_setting() rounds ('18.8 GiB' set back reads '18.7 GiB'): reset to the
            # default first and set the previous text only when it was not the default.
            cur.execute("RESET memory_limit")
            if cur.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != previous_limit:
                cur.execute(f"SET memory_limit = {convert.q(previous_limit)}")
            cur.close()
        finally:
            lock.release()
            hasher.join()
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _plain(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    for prefix in ("Invalid Input Error: ", "Conversion Error: ", "Binder Error: ", "Parser Error: "):
        text = text.replace(prefix, "")
    return text


def _structural_rejects(cur) -> pd.DataFrame:
    """Rows DuckDB's reader could not split into the header's columns (read right away:
    reject tables are temporary and per cursor)."""
    try:
        return cur.execute(
            "SELECT line, column_name, csv_line, error_type, error_message FROM reject_errors ORDER BY line"
        ).df()
    except duckdb.Error:
        return pd.DataFrame(columns=["line", "column_name", "csv_line", "error_type", "error_message"])


_STRUCTURAL_REASON = {
    "TOO MANY COLUMNS": "the row has more cells than the header",
    "MISSING COLUMNS": "the row has fewer cells than the header",
    "UNQUOTED VALUE": "a quote in the middle of a cell (unbalanced quotes)",
    "LINE SIZE OVER MAXIMUM": "the row is longer than 20 MB",
    "INVALID UNICODE": "the row holds bytes that are not valid text in the chosen encoding",
    "INVALID ENCODING": "the row holds bytes that are not valid text in the chosen encoding",
}


def _load(cur, ds, name, profile, mapping, constants, options, say, hasher, hashed, staged: _Staged) -> ImportReport:
    """Everything after staging, inside the import's transaction. ``_stage0`` holds the staged
    rows in file order (a row_number() window would make the staging pass serial), so a row's
    record number is its rowid counted from the first one."""
    names = field_names(ds)
    base = cur.execute("SELECT coalesce(min(rowid), 0) FROM _stage0").fetchall()[0][0]
    cur.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT rowid - {int(base)} + 1 AS rn, * FROM _stage0")
    structural, formats = staged.structural, staged.formats
    cur.execute("SELECT count(*), count(*) FILTER (len(errs) > 0) FROM _stage")
    rows_staged, rows_bad = cur.fetchall()[0]
    rows_read = int(rows_staged) + len(structural)
    warnings = list(profile.warnings) + staged.notes
    hasher.join()
    blank = int(hashed.get("blank", 0))
    if blank:
        warnings.append(f"{blank:,} empty line(s) skipped" + (
            f" (the first {profile.skip} before the header)." if profile.skip else "."))
    if rows_read == 0:
        return ImportReport(name, ds, "refused", f"{name} has only a header row and no data to import.",
                            mapping=mapping, constants=constants)

    say(0.6, "Checking for rows stored before")
    key = NATURAL_KEY[ds]
    keyed = key in mapping or str(constants.get(key, "")).strip() != ""
    if keyed and ds not in VERSIONED:
        dup_keys = cur.execute(
            f"SELECT count(v_{key}) - count(DISTINCT v_{key}) FROM _stage WHERE len(errs) = 0"
        ).fetchall()[0][0]
        if dup_keys:
            keyed = False
            col = mapping.get(key, key)
            if ds == "transactions" and "order_id" not in mapping:
                cur.execute("UPDATE _stage0 SET v_order_id = v_transaction_id, v_transaction_id = NULL")
                # The hash is of the values as stored: the same line mapped either way matches.
                cur.execute(f"UPDATE _stage0 SET row_hash = {row_hash_sql(ds)}")
                mapping = {("order_id" if k == key else k): v for k, v in mapping.items()}
                warnings.append(
                    f"'{col}' repeats over rows ({dup_keys} repeats), so it is an order number, not a "
                    "line id: it is stored as order_id and no row is dropped because of it."
                )
            else:
                warnings.append(
                    f"'{col}' repeats over rows ({dup_keys} repeats), so it is not used as a unique key; "
                    "rows are compared by their full content instead."
                )

    import_id = _next_import_id(cur)
    cols_sql = ", ".join(names)
    vals_sql = ", ".join(f"v_{n}" for n in names)
    rows_updated = 0
    conflict_rejects = 0
    if ds in VERSIONED:
        # Versions of one thing (a member, a post, a network's day). Same key twice in one file:
        # identical rows count once; conflicting versions keep the last row and reject the earlier.
        keys = VERSIONED[ds]
        part = ", ".join(f"v_{k}" for k in keys)
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE _pick AS
               SELECT rn, {part}, row_hash,
                      row_number() OVER (PARTITION BY {part}, row_hash ORDER BY rn) AS occ,
                      max(rn) OVER (PARTITION BY {part}) AS last_rn,
                      arg_max(row_hash, rn) OVER (PARTITION BY {part}) AS last_hash
               FROM _stage WHERE len(errs) = 0"""
        )
        conflict_rejects = cur.execute(
            "SELECT count(*) FROM _pick WHERE row_hash <> last_hash AND occ = 1"
        ).fetchall()[0][0]
        # Kept apart, not UPDATEd into _stage0: updating a list column moves the row (new rowid).
        noun = _VERSION_NOUN[ds]
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE _conflict AS
               SELECT rn, [{{'col': '{keys[-1]}', 'raw': CAST(v_{keys[-1]} AS VARCHAR),
                 'reason': 'the same {noun[0]} appears again on row ' || (last_rn + 1) || ' with other values; the later row is kept'}}] AS errs
               FROM _pick WHERE row_hash <> last_hash"""
        )
        keep = "p.occ = 1 AND p.row_hash = p.last_hash"
        same = " AND ".join(f"m.{k} = s.v_{k}" for k in keys)
        # Compared with the current version only: a member changed back to earlier values is a
        # new version, not a duplicate of the old one. (A day's audience figures merge the
        # latest value of each column over several exports: compared with every stored version.)
        against = f"{ds}_current" if ds != "audience" else ds
        exists = (f"EXISTS (SELECT 1 FROM {against} m WHERE {same} AND m.row_hash = s.row_hash)"
                  if options.dedupe else "FALSE")
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE _new AS
                SELECT s.* FROM _stage s JOIN _pick p USING (rn)
                WHERE {keep} AND NOT {exists}"""
        )
        rows_updated = cur.execute(
            f"SELECT count(*) FROM _new s WHERE EXISTS (SELECT 1 FROM {ds} m WHERE {same})"
        ).fetchall()[0][0]
        cur.execute(
            f"INSERT INTO {ds} ({cols_sql}, extra, import_id, row_hash) "
            f"SELECT {vals_sql}, extra, {import_id}, row_hash FROM _new ORDER BY rn"
        )
        rows_loaded = cur.execute("SELECT count(*) FROM _new").fetchall()[0][0]
    else:
        overlap = 0
        if options.dedupe:
            overlap = cur.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT row_hash FROM _stage) s SEMI JOIN {ds} t USING (row_hash)"
            ).fetchall()[0][0]
            if keyed:
                overlap += cur.execute(
                    f"SELECT count(*) FROM _stage s SEMI JOIN {ds} t ON t.{key} = s.v_{key}"
                ).fetchall()[0][0]
        if not overlap:
            # Nothing stored overlaps: stream the staged rows in file order, no sort needed.
            where, source, order = "len(errs) = 0", "_stage0", ""
        else:
            # Decide on (rn, row_hash, key) only, not on copies of whole rows: a keyed row is new
            # when its key is not stored; a keyless row by multiset (the k-th identical copy in
            # this file is new when fewer than k are stored).
            k = f"v_{key}" if keyed else "NULL::VARCHAR"
            cur.execute(
                f"""CREATE OR REPLACE TEMP TABLE _old AS
                    SELECT row_hash, count(*) AS n FROM {ds}
                    WHERE row_hash IN (SELECT row_hash FROM _stage0) GROUP BY row_hash"""
            )
            cur.execute(
                f"""CREATE OR REPLACE TEMP TABLE _keep AS
                    SELECT c.rn FROM (
                        SELECT rn, row_hash, {k} AS k,
                               row_number() OVER (PARTITION BY row_hash ORDER BY rn) AS occ
                        FROM _stage WHERE len(errs) = 0) c
                    LEFT JOIN _old o USING (row_hash)
                    WHERE CASE WHEN c.k IS NOT NULL
                               THEN c.k NOT IN (SELECT {key} FROM {ds} WHERE {key} IS NOT NULL)
                               ELSE c.occ > coalesce(o.n, 0) END"""
            )
            where, source, order = "TRUE", "_stage SEMI JOIN _keep USING (rn)", "ORDER BY rn"
        say(0.75, "Loading the new rows")
        rows_loaded = cur.execute(
            f"INSERT INTO {ds} ({cols_sql}, extra, import_id, row_hash) "
            f"SELECT {vals_sql}, extra, {import_id}, row_hash FROM {source} WHERE {where} {order}"
        ).fetchall()[0][0]

    say(0.9, "Recording rejected rows")
    # Row numbers are the file's line numbers, as a spreadsheet or editor shows them (header =
    # row 1 after any empty lines above it): record rn is the rn-th line after the header that
    # the reader did not skip (empty lines) or reject as unsplittable.
    header_line = profile.skip + 1
    skipped = sorted({int(x) for x in structural["line"].tolist()} if len(structural) else set())
    skipped = sorted(set(skipped) | {b for b in hashed.get("blank_lines", []) if b > header_line})
    conflicts = " UNION ALL SELECT rn, unnest(errs) AS e FROM _conflict" if ds in VERSIONED else ""
    cur.execute(
        f"""INSERT INTO rejects
            SELECT {import_id}, rn + {header_line}, e.col, left(e.raw, 500), e.reason
            FROM (SELECT rn, unnest(errs) AS e FROM _stage WHERE len(errs) > 0{conflicts})"""
    )
    if skipped:
        # record rn lies after skipped line s_j when rn >= s_j - header_line - j + 1
        shifts = [line - header_line - j + 1 for j, line in enumerate(skipped, start=1)]
        cur.execute(
            f"""UPDATE rejects SET row_number = row_number + (
                  SELECT count(*) FROM (SELECT unnest($s) AS b) WHERE rejects.row_number - {header_line} >= b)
                WHERE import_id = {import_id}""",
            {"s": shifts},
        )
    if len(structural):
        for rec in structural.itertuples(index=False):
            reason = _STRUCTURAL_REASON.get(str(rec.error_type).upper(), str(rec.error_message).split("\n")[0])
            cur.execute(
                "INSERT INTO rejects VALUES (?, ?, ?, ?, ?)",
                [import_id, int(rec.line), None, str(rec.csv_line).lstrip("\r\n")[:500], reason],
            )
    rows_rejected = int(rows_bad) + len(structural) + int(conflict_rejects)
    left_out = 0
    if ds == "transactions":
        left_out = cur.execute("SELECT count(DISTINCT row_number) FROM rejects WHERE import_id = ? AND reason = ?",
                               [import_id, LEFT_OUT]).fetchall()[0][0]
        if left_out:
            col = mapping.get("status", "status")
            warnings.append(f"{left_out:,} cancelled or refunded order row(s) left out (column {col}): they are "
                            "no sales; they are listed with the rejected rows.")
    rows_valid = rows_read - rows_rejected
    rows_duplicate = rows_valid - int(rows_loaded)
    hasher.join()
    content_hash = hashed.get("hash", "")
    same = cur.execute(
        "SELECT min(import_id) FROM imports WHERE content_hash = ? AND dataset = ? AND status = 'loaded'",
        [content_hash, ds],
    ).fetchall()[0][0]
    if same is not None:
        warnings.append(
            f"This exact file was imported before (import #{same})"
            + ("; its rows were not added again." if not rows_loaded else ".")
        )

    if rows_valid <= 0:
        status = "refused"
        top = cur.execute(
            """SELECT coalesce(column_name, ''), reason, count(*) FROM rejects WHERE import_id = ?
               GROUP BY ALL ORDER BY 3 DESC, 2 LIMIT 1""", [import_id]).fetchone()
        why = (f" The most common reason ({top[2]:,} rows): " + (f"column {top[0]}: " if top[0] else "")
               + f"{top[1]}." if top else "")
        message = (
            f"{name}: none of the {rows_read:,} rows could be imported.{why} See the rejected rows for "
            "every reason (often a column mapped to the wrong field or a date format)."
        )
    else:
        status = "loaded"
        message = f"{name}: {rows_loaded:,} of {rows_read:,} rows loaded into {ds}"
        if rows_rejected - left_out:
            message += f", {rows_rejected - left_out:,} rejected"
        if left_out:
            message += f", {left_out:,} left out (cancelled or refunded orders)"
        if rows_duplicate:
            message += f", {rows_duplicate:,} already stored (skipped)"
        if rows_updated:
            message += f" ({rows_updated:,} {_VERSION_NOUN[ds][1]} updated)"
        message += "."
    report = ImportReport(
        name, ds, status, message, import_id, rows_read, int(rows_loaded), rows_rejected,
        rows_duplicate, int(rows_updated), tuple(warnings), mapping, constants,
    )
    extra = {"encoding": profile.encoding, "delimiter": profile.delimiter, "decimal": profile.decimal,
             "date_formats": formats, **staged.extra}
    if "lines" in hashed:
        extra["lines"] = {"physical": hashed["lines"], "empty": blank}
    _log(cur, import_id, report, content_hash, options, extra)
    if status == "loaded":
        bump_data_version(cur)  # the import log changed: pages listing imports must see it
        if rows_loaded or rows_updated:
            journal(cur, import_id, ds, "import")
    cur.execute("DROP VIEW IF EXISTS _stage")
    for t in ("_stage0", "_pick", "_conflict", "_new", "_old", "_keep"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return report


# --- history, undo -----------------------------------------------------------------------------

def journal(cur: duckdb.DuckDBPyConnection, import_id: int, dataset: str, kind: str) -> int:
    """Record a change for the derived tables (``derived.sync`` applies it); returns its id."""
    change_id = int(cur.execute("SELECT coalesce(max(change_id), 0) + 1 FROM changes").fetchall()[0][0])
    cur.execute("INSERT INTO changes VALUES (?, ?, ?, ?, now())", [change_id, import_id, dataset, kind])
    return change_id


def undo_import(con: duckdb.DuckDBPyConnection, import_id: int) -> int:
    """Delete exactly the rows import ``import_id`` added; returns how many."""
    with write_lock(con):
        return _undo(con, import_id)


def _undo(con: duckdb.DuckDBPyConnection, import_id: int) -> int:
    cur = con.cursor()
    try:
        rows = cur.execute("SELECT dataset, status FROM imports WHERE import_id = ?", [import_id]).fetchall()
        if not rows:
            raise ValueError(f"There is no import #{import_id}.")
        ds, status = rows[0]
        if status != "loaded":
            raise ValueError(f"Import #{import_id} is {status}; there is nothing to undo.")
        cur.execute("BEGIN TRANSACTION")
        try:
            change_id = journal(cur, import_id, ds, "undo")
            cur.execute(f"INSERT INTO removed_{ds} BY NAME SELECT *, {change_id} AS change_id FROM {ds} "
                        "WHERE import_id = ?", [import_id])
            deleted = cur.execute(f"DELETE FROM {ds} WHERE import_id = ?", [import_id]).fetchall()[0][0]
            cur.execute("UPDATE imports SET status = 'undone' WHERE import_id = ?", [import_id])
            bump_data_version(cur)
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        return int(deleted)
    finally:
        cur.close()


def list_imports(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cur = con.cursor()
    try:
        frame = cur.execute(
            """SELECT import_id, imported_at, file_name, dataset, status, rows_read, rows_loaded,
                      rows_rejected, rows_duplicate, rows_updated,
                      CAST(json_extract(options, '$.date_order') AS VARCHAR) AS date_order, message
               FROM imports ORDER BY import_id DESC"""
        ).df()
    finally:
        cur.close()
    frame["date_order"] = [dates_read(json.loads(o)) if isinstance(o, str) else None for o in frame["date_order"]]
    return frame


def dates_read(orders: dict[str, str] | None) -> str | None:
    """How an import read its date columns, in a few words: {'joined_at': 'day-first', 'churned_at':
    'day-first'} -> 'day-first' (the usual case), else 'joined_at day-first, churned_at month-first'."""
    if not orders:
        return None
    kinds = set(orders.values())
    if len(kinds) == 1:
        return kinds.pop()
    return ", ".join(f"{f} {k}" for f, k in orders.items())


def rejects_for(con: duckdb.DuckDBPyConnection, import_id: int, limit: int | None = None) -> pd.DataFrame:
    cur = con.cursor()
    try:
        sql = (
            "SELECT row_number AS row, column_name AS column, raw_value AS value, reason "
            "FROM rejects WHERE import_id = ? ORDER BY row_number, column_name"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        return cur.execute(sql, [import_id]).df()
    finally:
        cur.close()


def table_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows, distinct members and date span per canonical table."""
    cur = con.cursor()
    try:
        return cur.execute(
            """SELECT 'interactions' AS "table", count(*) AS rows, count(DISTINCT member_id) AS members,
                      min(occurred_at)::DATE AS first_date, max(occurred_at)::DATE AS last_date FROM interactions
               UNION ALL
               SELECT 'members', count(*), count(DISTINCT member_id), min(joined_at), max(joined_at)
               FROM members_current
               UNION ALL
               SELECT 'transactions', count(*), count(DISTINCT member_id), min(occurred_at)::DATE,
                      max(occurred_at)::DATE FROM transactions
               UNION ALL
               SELECT 'posts', count(*), NULL, min(published_at)::DATE, max(published_at)::DATE FROM posts_current
               UNION ALL
               SELECT 'audience', count(*), NULL, min(day), max(day) FROM audience_current"""
        ).df()
    finally:
        cur.close()


def preview(
    profile: FileProfile,
    mapping: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    *,
    tz: str = "UTC",
    rows: int = 20,
) -> pd.DataFrame:
    """The first rows as they will be stored (canonical columns), with a 'problem' column."""
    ds = profile.dataset
    mapping = dict(profile.mapping if mapping is None else mapping)
    constants = dict(profile.constants if constants is None else constants)
    _check_mapping(ds, profile.columns, mapping, constants)
    sample = profile.sample.head(rows)
    formats = profile.date_formats
    if set(mapping) != set(profile.mapping) or mapping != profile.mapping:
        formats = detect_formats_for(ds, mapping, profile.columns, sample.values.tolist(),
                                     profile.delimiter, profile.decimal, ImportOptions())
    con = duckdb.connect()
    try:
        frame = sample.copy()
        frame.columns = [f"c{i}" for i in range(len(profile.columns))]
        con.register("_sample", frame)
        select = typed_select("_sample", profile.columns, ds, mapping, constants,
                              decimal=profile.decimal, date_formats=formats, tz=tz)
        out = con.execute(
            f"SELECT {', '.join('v_' + n + ' AS ' + n for n in field_names(ds))}, "
            "array_to_string(list_transform(errs, lambda e: e.col || ': ' || e.reason), '; ') AS problem "
            f"FROM ({select})"
        ).df()
    finally:
        con.close()
    keep = [c for c in out.columns if c in mapping or c in constants or c == "problem"
            or c in ("action", "direction", "amount", "is_refund", "is_employee")]
    return out[[c for c in out.columns if c in keep]]
