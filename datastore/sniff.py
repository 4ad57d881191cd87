"""Detection of how a CSV export is written: encoding, dialect, decimal style, date formats.

Every detection is a suggestion the caller can override. Decoding is done in Python (DuckDB
cannot read Windows-1252 offline); the table itself is always read by DuckDB.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
from charset_normalizer import from_bytes

HEAD_BYTES = 1 << 20  # what detection looks at: the first MiB
DELIMITERS = (",", ";", "\t", "|")


class FileRefused(ValueError):
    """The file cannot be read at all; nothing is loaded. The message is meant for the user."""


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str
    quote: str
    escape: str


def read_head(path: str | Path, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(head: bytes, file_name: str = "the file") -> str:
    """Encoding of a file from its first bytes: BOMs, UTF-8, UTF-16, else a Western code page."""
    if not head.strip():
        raise FileRefused(f"{file_name} is empty: there is nothing to import.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _looks_utf16(head)
    if utf16:
        return utf16
    if b"\x00" in head:
        raise FileRefused(
            f"{file_name} is not a text file (it contains binary data). "
            "Export the data as CSV (comma- or semicolon-separated text) and try again."
        )
    try:
        # The head may end inside a multi-byte character: decode incrementally, not final.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: ask charset-normalizer, limited to the code pages Western exports use.
    best = from_bytes(head, cp_isolation=["cp1252", "iso8859_15", "latin_1", "cp850"]).best()
    if best is None:
        raise FileRefused(
            f"{file_name} could not be decoded as text. Save it as CSV in UTF-8 and try again."
        )
    encoding = best.encoding
    # cp1252 is a superset of latin-1's printable range; prefer it when it decodes cleanly.
    if encoding in ("latin_1", "iso8859_15"):
        try:
            head.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError:
            pass
    if _control_ratio(head.decode(encoding, errors="replace")) > 0.05:
        raise FileRefused(f"{file_name} is not a text file (it contains binary data).")
    return encoding


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    return bad / len(text)


def is_single_byte(encoding: str) -> bool:
    """A Western single-byte code page (every byte is a character): mixed UTF-8 lines are
    possible and are decoded per line."""
    return codecs.lookup(encoding).name in ("cp1252", "latin-1", "iso8859-1", "iso8859-15", "cp850")


def is_duckdb_encoding(encoding: str) -> bool:
    return encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8")


def transcode_to_utf8(
    src: str | Path, dst: str | Path, encoding: str, normalise_newlines: bool = False
) -> None:
    """Stream ``src`` into a UTF-8 file ``dst`` (constant memory, any size). With
    ``normalise_newlines`` every line end (\\r\\n, \\r) becomes \\n, also inside quoted cells."""
    newline = None if normalise_newlines else ""
    with open(src, encoding=encoding, newline=newline, errors="strict") as fin, open(
        dst, "w", encoding="utf-8", newline=""
    ) as fout:
        shutil.copyfileobj(fin, fout, 1 << 22)


_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")


def decode_mixed(src: str | Path, dst: str | Path, encoding: str) -> dict:
    """Stream ``src`` into a UTF-8 file ``dst``, deciding per line: a line that is valid UTF-8 is
    UTF-8, any other line is ``encoding`` (a Western single-byte code page). Exports pasted
    together from two systems mix the two; decoding the whole file one way turns 'café' into
    'cafÃ©' on the other lines. Only lines with non-ASCII bytes are looked at one by one.
    Returns how many lines were read each way and the first line of the minority kind."""
    stats = {"utf8_lines": 0, "other_lines": 0, "first_utf8_line": None, "first_other_line": None}
    lines_before = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        rest = b""
        while True:
            block = fin.read(1 << 22)
            data = rest + block
            if not block:
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest = data
                    continue
            chunk, rest = data[:cut], data[cut:]
            if not chunk.isascii():
                out, pos = [], 0
                for m in _NON_ASCII_LINE.finditer(chunk):
                    out.append(chunk[pos:m.start()])
                    line = m.group()
                    try:
                        line.decode("utf-8")
                        kind = "utf8"
                        out.append(line)
                    except UnicodeDecodeError:
                        kind = "other"
                        out.append(line.decode(encoding, errors="replace").encode("utf-8"))
                    stats[f"{kind}_lines"] += 1
                    if stats[f"first_{kind}_line"] is None:
                        stats[f"first_{kind}_line"] = lines_before + chunk.count(b"\n", 0, m.start()) + 1
                    pos = m.end()
                out.append(chunk[pos:])
                fout.write(b"".join(out))
            else:
                fout.write(chunk)
            lines_before += chunk.count(b"\n")
            if not block:
                break
    return stats


def drop_lines(src: str | Path, dst: str | Path, lines: set[int]) -> None:
    """Copy ``src`` to ``dst`` without the given physical lines (1-based, split at \\n)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for i, line in enumerate(fin, start=1):
            if i not in lines:
                fout.write(line)


_BLANK = re.compile(rb"(?<=\n)\r?\n")


def scan_lines(chunks, facts: dict, keep: int = 10_000, quote: bytes = b'"') -> None:
    """Count the physical lines of a file given as consecutive byte chunks, and the empty ones
    outside quoted cells (CSV readers skip them without a word); the line numbers of the first
    ``keep`` empty lines are kept. A line is inside a quoted cell when an odd number of quote
    characters precede it (an escaped quote is two). ASCII-compatible encodings only (not UTF-16)."""
    lines, blank, where = 0, 0, []
    prev, base = b"\n", -1  # a virtual line end before line 1: a file may start with an empty line
    quotes = 0  # quote characters before ``data``
    last = b""
    for chunk in chunks:
        if not chunk:
            continue
        data = prev + chunk
        for m in _BLANK.finditer(data):
            if m.end() <= len(prev):
                continue  # seen with the previous chunk
            if (quotes + data.count(quote, 0, m.start())) % 2:
                continue  # an empty line inside a quoted cell is part of the cell
            blank += 1
            if len(where) < keep:
                where.append(base + data.count(b"\n", 0, m.start()) + 1)
        lines += chunk.count(b"\n")
        quotes += data.count(quote) - data[-2:].count(quote)
        prev = data[-2:]
        base = lines - prev.count(b"\n")
        last = chunk[-1:]
    facts.update(lines=lines + (1 if last not in (b"\n", b"") else 0), blank=blank, blank_lines=where)


def decode_head(head: bytes, encoding: str) -> str:
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    return text.lstrip("\ufeff")


def detect_dialect(text: str, encoding: str) -> Dialect:
    """Delimiter and quoting from the decoded head of the file (Python's csv.Sniffer,
    limited to , ; tab |), with a consistency check on the column counts."""
    lines = text.splitlines()
    sample = "\n".join(lines[:200])
    delimiter = None
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS))
        delimiter = sniffed.delimiter
    except csv.Error:
        pass
    # The Sniffer can be fooled by delimiters inside quoted text: prefer the delimiter that gives
    # the most columns with the same count on every parsed record of the sample.
    best, best_score = delimiter or ",", -1.0
    for cand in DELIMITERS:
        rows = list(csv.reader(io.StringIO(sample), delimiter=cand, quotechar='"'))
        rows = rows[:-1] if len(rows) > 2 else rows  # the sample may cut the last record
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(r) == width) / len(rows)
        score = consistent * 10 + min(width, 50) / 50 + (0.5 if cand == delimiter else 0)
        if score > best_score:
            best, best_score = cand, score
    return Dialect(encoding=encoding, delimiter=best, quote='"', escape='"')


def read_header(text: str, dialect: Dialect) -> list[str]:
    reader = csv.reader(io.StringIO(text), delimiter=dialect.delimiter, quotechar=dialect.quote)
    for row in reader:
        if any(cell.strip() for cell in row):
            return row
    return []


def unique_names(header: list[str]) -> tuple[list[str], list[str]]:
    """Column names made unique and non-empty ('Naam', 'Naam (2)', 'column 5'), with warnings."""
    names: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(header, start=1):
        name = raw.strip().lstrip("\ufeff") or f"column {i}"
        key = name.lower()
        if key in seen:
            seen[key] += 1
            new = f"{name} ({seen[key]})"
            warnings.append(f"The header has '{name}' twice; the second one is called '{new}'.")
            name = new
        else:
            seen[key] = 1
        names.append(name)
    return names, warnings


# --- numbers -----------------------------------------------------------------------------
# "1.200" and "1,200" (one separator, three digits after it) are ambiguous: they count for
# neither style. Thousands groups only count when a decimal part follows them.

_COMMA_DECIMAL = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+,\d+$|^[-+]?\d+,\d{1,2}$|^[-+]?\d+,\d{4,}$")
_POINT_DECIMAL = re.compile(r"^[-+]?\d{1,3}(,\d{3})+\.\d+$|^[-+]?\d+\.\d{1,2}$|^[-+]?\d+\.\d{4,}$")


def detect_decimal(values: list[str], delimiter: str) -> str:
    """',' or '.': which character separates decimals in the numeric columns' sample values."""
    comma = point = 0
    for v in values:
        v = re.sub(r"[€$£\s]|EUR|USD|GBP", "", v or "")
        if _COMMA_DECIMAL.match(v):
            comma += 1
        elif _POINT_DECIMAL.match(v):
            point += 1
    if comma > point:
        return ","
    if point > comma:
        return "."
    return "," if delimiter == ";" else "."


# --- dates -------------------------------------------------------------------------------

_DATE_PARTS = [
    "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d",
    "%d-%m-%y", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%Y.%m.%d", "%d %b %Y", "%d-%b-%Y",
]
_TIME_PARTS = [
    "", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f",
    " %I:%M %p", " %I:%M:%S %p", ", %H:%M", " %H.%M",
]
_ZONE_PARTS = ["", " %z", "%z", " %Z"]
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y")


def candidate_formats() -> list[str]:
    out = []
    for d in _DATE_PARTS:
        for t in _TIME_PARTS:
            for z in _ZONE_PARTS:
                if z and not t:
                    continue
                out.append(d + t + z)
    return out


def is_zoned(fmt: str) -> bool:
    return "%z" in fmt or "%Z" in fmt


# A loose pattern per strptime directive: every value the directive accepts matches it. Used
# only to skip formats that cannot match before DuckDB tries the rest (planning a query with
# all ~570 candidate formats costs more than the check itself).
_DIRECTIVE = {
    "Y": r"[-+]?\d+", "y": r"\d+", "m": r"\d+", "d": r"\d+", "H": r"\d+", "I": r"\d+",
    "M": r"\d+", "S": r"\d+", "f": r"\d+", "p": r"[a-z.]+", "b": r"[a-z.]+",
    "z": r"(z|[-+]\d+(:?\d+)?)", "Z": r"\S+",
}


def _loose_pattern(fmt: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            out.append(_DIRECTIVE.get(fmt[i + 1], ".*?"))
            i += 2
        else:
            out.append(r"\s*" if fmt[i].isspace() else re.escape(fmt[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE)


_LOOSE = {f: _loose_pattern(f) for f in candidate_formats()}


def _plausible_formats(values: list[str]) -> list[str]:
    """The candidate formats whose loose pattern matches at least one value. Values of the
    same shape (digits as 0, other characters as they are) match the same patterns, so one
    value per shape is tried."""
    shapes = {re.sub(r"\d", "0", v.lower()): v for v in values}
    return [f for f, rx in _LOOSE.items() if any(rx.fullmatch(v) for v in shapes.values())]


def detect_date_formats(
    con: duckdb.DuckDBPyConnection, values: list[str], prefer_day_first: bool
) -> list[str]:
    """An ordered list of strptime formats that together parse the sample values.

    Greedy cover: the format parsing most values first, then the one parsing most of the rest,
    and so on; ties between day-first and month-first go to ``prefer_day_first``. ISO 8601
    values are always accepted by the importer, so they need no format here.
    """
    values = [v.strip() for v in values if v and v.strip()][:2000]
    if not values:
        return []
    formats = _plausible_formats(values)
    if not formats:
        return []
    cur = con.cursor()
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE _date_sample AS SELECT unnest($v) AS v", {"v": values})
        hits_sql = ", ".join(
            f"list(try_strptime(v, '{f}') IS NOT NULL)" for f in formats
        )
        row = cur.execute(f"SELECT {hits_sql} FROM _date_sample").fetchall()[0]
    finally:
        cur.close()
    hits = [list(col) for col in row]
    chosen: list[str] = []
    remaining = set(range(len(values)))
    while remaining:
        def score(i: int, remaining: set[int] = remaining) -> tuple[int, int, int]:
            count = sum(1 for j in remaining if hits[i][j])
            fmt = formats[i]
            month_first = fmt.startswith(_MONTH_FIRST)
            pref = (not month_first) if prefer_day_first else month_first
            return count, int(pref), -len(fmt)

        best = max(range(len(formats)), key=score)
        covered = {j for j in remaining if hits[best][j]}
        if not covered:
            break
        chosen.append(formats[best])
        remaining -= covered
    return chosen
