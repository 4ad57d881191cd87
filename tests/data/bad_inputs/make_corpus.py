"""Writes the bad-input corpus next to this script: one odd or hostile export per file.

Run ``python tests/data/bad_inputs/make_corpus.py`` after adding a case; the expectations live in
``tests/test_bad_inputs.py`` (a file without one fails the suite)."""

from pathlib import Path

HERE = Path(__file__).parent
H = "occurred_at,member_id,channel,text\n"


def ok(n: int, day: str = "2026-01-05", start: int = 0) -> str:
    return "".join(f"{day} 10:{i % 60:02d},m{start + i},forum,row {start + i}\n" for i in range(n))


CASES: dict[str, bytes] = {
    "year_9999.csv": (H + ok(3) + "9999-01-05 10:00,m9,forum,far future\n").encode(),
    "year_1900.csv": (H + ok(3) + "1900-01-05 10:00,m9,forum,placeholder\n").encode(),
    "unclosed_quote.csv": (H + ok(1) + '2026-01-05 11:00,m8,forum,"never closed\n' + ok(47, start=100)).encode(),
    "too_many_cells.csv": (H + "2026-01-05 10:00,m1,forum,a,b,c\n" + ok(2)).encode(),
    "too_few_cells.csv": (H + "2026-01-05 10:00,m1\n" + ok(2)).encode(),
    "blank_lines_before_header.csv": ("\n\n" + H + ok(3)).encode(),
    "blank_lines_between_rows.csv": (H + ok(2) + "\n\n" + "not a date,m5,forum,x\n" + ok(2, start=10) + "\n").encode(),
    "mixed_utf8_in_cp1252.csv": (H.encode() + "2026-01-05 10:00,m1,forum,café\n".encode("cp1252") * 3
                                 + "2026-01-05 10:00,m2,forum,café crème\n".encode("utf-8")),
    "day_first_settled_late.csv": (H + "".join(
        f"{d:02d}/{m:02d}/2025 10:00,m{i},forum,t\n" for i, (d, m) in enumerate(
            [(1 + i % 12, 1 + (i // 12) % 12) for i in range(2500)])) + "25/03/2025 10:00,z1,forum,t\n").encode(),
    "cr_only_line_ends.csv": (H + ok(3)).replace("\n", "\r").encode(),
    "bare_cr_in_unquoted_cell.csv": (H + "2026-01-05 10:00,m1,forum,a\rb\n" + ok(2)).encode(),
    "cell_over_128_kib.csv": (H + '2026-01-05 10:00,m1,forum,"' + "x" * 140_000 + '"\n' + ok(2)).encode(),
    "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    "empty.csv": b"",
    "header_only.csv": H.encode(),
    "utf16_with_bom.csv": (H + ok(3)).encode("utf-16"),
    "every_date_bad.csv": (H + "".join(f"gisteren,m{i},forum,x\n" for i in range(5))).encode(),
    "formula_cells.csv": (H + "2026-01-05 10:00,m1,forum,=1+1\n2026-01-05 10:01,m2,forum,\"\r=HYPERLINK(\"\"x\"\")\"\n").encode(),
    "markdown_and_html_text.csv": (H + "2026-01-05 10:00,m1,forum,![x](http://example.invalid/p.png) <b>hi</b>\n").encode(),
    "sql_in_header.csv": ('occurred_at,"channel""; DROP TABLE interactions; --",text\n2026-01-05 10:00,forum,x\n').encode(),
    "duplicate_header.csv": ("occurred_at,channel,text,text\n2026-01-05 10:00,forum,a,b\n").encode(),
}

if __name__ == "__main__":
    for name, data in CASES.items():
        (HERE / name).write_bytes(data)
    print(f"{len(CASES)} files written to {HERE}")
