"""The floor no page can beat: a bare Streamlit page with a title, 8 metric tiles and one Altair chart.

Timed by ``benchmarks/browser.py`` in the same run as the dashboard's pages; their times are
reported as ratios to this page's.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("Bare page")
cols = st.columns(4) + st.columns(4)
for i, col in enumerate(cols):
    col.metric(f"Tile {i + 1}", f"{1000 + 17 * i:,}", delta=f"{i - 3:+d}", border=True)
rng = np.random.default_rng(1)
frame = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=30, freq="MS"),
                      "value": rng.integers(100, 200, 30)})
st.altair_chart(alt.Chart(frame).mark_line(point=True).encode(x="period:T", y="value:Q").properties(height=280),
                width="stretch")
