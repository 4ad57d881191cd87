"""Social CRM measurement dashboard: the entrypoint is a router.

    streamlit run dashboard.py

Pages live in app_pages/ (not pages/: Streamlit auto-serves that folder on deep links, skipping this router) and stay thin: widgets -> one cached call (ui.db) -> render.
"""

from __future__ import annotations

import streamlit as st

from ui.context import frame

st.set_page_config(page_title="Social CRM dashboard", page_icon=":material/forum:", layout="wide")

PAGES = {
    "Measure": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("app_pages/plans.py", title="Targets & trials", icon=":material/flag:", url_path="plans"),
        st.Page("app_pages/participation.py", title="Participation", icon=":material/groups:", url_path="participation"),
        st.Page("app_pages/retention.py", title="Retention", icon=":material/autorenew:", url_path="retention"),
        st.Page("app_pages/development.py", title="Development", icon=":material/trending_up:", url_path="development"),
    ],
    "Data": [
        st.Page("app_pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("app_pages/members.py", title="Members", icon=":material/person_search:", url_path="members"),
    ],
}

page = st.navigation(PAGES)
frame()  # the shared sidebar: workspace and filters, bound to the URL
page.run()
