"""Downloads of what is shown: CSV (plain or Excel-friendly), safe against formula injection."""

from __future__ import annotations

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
    """UTF-8 CSV; ``excel``: ';' separator, decimal comma and a BOM (Dutch/German Excel)."""
    safe = escape_formulas(frame)
    if excel:
        return safe.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")
    return safe.to_csv(index=False).encode("utf-8")


def download(frame: pd.DataFrame, file_stem: str, key: str, label: str = "Download CSV") -> None:
    """Two buttons: plain CSV and an Excel-friendly CSV of ``frame``."""
    if frame is None or frame.empty:
        return
    c1, c2, _ = st.columns([1, 1, 4], gap="small")
    c1.download_button(label, to_csv_bytes(frame), f"{file_stem}.csv", "text/csv", key=f"{key}-csv",
                       on_click="ignore", icon=":material/download:")
    c2.download_button("Excel (;)", to_csv_bytes(frame, excel=True), f"{file_stem}-excel.csv", "text/csv",
                       key=f"{key}-xls", on_click="ignore",
                       help="Semicolon-separated with decimal commas and a BOM, as Dutch and German Excel expect.")
