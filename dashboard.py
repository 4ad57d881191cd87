"""Social CRM measurement dashboard: the entrypoint is a router.

    streamlit run dashboard.py

Pages live in pages/ and stay thin: widgets -> one cached call (ui.db) -> render.
"""

from __future__ import annotations

import streamlit as st

from ui.context import frame

st.set_page_config(page_title="Social CRM dashboard", page_icon=":material/forum:", layout="wide")

PAGES = {
    "Measure": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/members.py", title="Members", icon=":material/person_search:", url_path="members"),
    ],
}

page = st.navigation(PAGES)
frame()  # the shared sidebar: workspace and filters, bound to the URL
page.run()
