"""Downloads of what is shown: CSV (plain or Excel-friendly), safe against formula injection.

The file is built when the button is clicked (``st.download_button`` takes a callable), never on
every rerun: a page with a dozen downloads pays nothing for them until someone clicks.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe
    (OWASP CSV injection). Numeric columns are left alone (-12 stays a number)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def to_csv_bytes(frame: pd.DataFrame, excel: bool = False) -> bytes:
    """UTF-8 CSV with CRLF line ends (RFC 4180); ``excel``: ';' separator, decimal comma and a BOM
    (Dutch/German Excel).

    With CRLF as the line terminator Python's csv module quotes every field holding a CR or an LF
    (with '\\n' alone, a bare CR went out unquoted and a spreadsheet started a new row there,
    so ``x\\r=1+1`` became a formula cell on a row of its own)."""
    safe = escape_formulas(frame)
    if excel:
        return safe.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n").encode("utf-8-sig")
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def download(frame: pd.DataFrame | Callable[[], pd.DataFrame] | None, file_stem: str, key: str,
             label: str = "Download CSV") -> None:
    """Two buttons side by side: plain CSV and an Excel-friendly CSV of ``frame`` (or of what a
    callable returns), each built on click."""
    if frame is None or (isinstance(frame, pd.DataFrame) and frame.empty):
        return

    def get() -> pd.DataFrame:
        return frame() if callable(frame) else frame

    with st.container(horizontal=True, gap="small"):
        st.download_button(label, lambda: to_csv_bytes(get()), f"{file_stem}.csv", "text/csv", key=f"{key}-csv",
                           on_click="ignore", icon=":material/download:")
        st.download_button("Excel (;)", lambda: to_csv_bytes(get(), excel=True), f"{file_stem}-excel.csv",
                           "text/csv", key=f"{key}-xls", on_click="ignore",
                           help="Semicolon-separated with decimal commas and a BOM, as Dutch and German Excel expect.")
