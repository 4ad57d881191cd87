"""Social CRM measurement dashboard: the entrypoint is a router.

    streamlit run dashboard.py

Pages live in pages/ and are registered here with st.navigation: Streamlit then sends every
deep link (/participation, /retention?grain=week, ...) through this router, so each page gets the
shared sidebar, and it serves no file of pages/ that is not registered. A page stays thin:
widgets -> one view (ui.db.view, cached on the data) -> charts (ui.charts).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # noqa: E402 - before the imports: a server's first run imports the app

import os  # noqa: E402
import sys  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import streamlit as st  # noqa: E402

from ui import db  # noqa: E402
from ui.context import frame  # noqa: E402
from ui.widgets import plain  # noqa: E402

FAVICON = Path(__file__).parent / "ui" / "static" / "favicon.png"  # a file: a Material icon favicon is fetched online
st.set_page_config(page_title="Social CRM dashboard", page_icon=str(FAVICON), layout="wide")

PAGES = {
    "Measure": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/plans.py", title="Targets & trials", icon=":material/flag:", url_path="plans"),
        st.Page("pages/participation.py", title="Participation", icon=":material/groups:", url_path="participation"),
        st.Page("pages/retention.py", title="Retention", icon=":material/autorenew:", url_path="retention"),
        st.Page("pages/development.py", title="Development", icon=":material/trending_up:", url_path="development"),
        st.Page("pages/listening.py", title="Listening", icon=":material/hearing:", url_path="listening"),
        st.Page("pages/posts.py", title="Posts & audience", icon=":material/campaign:", url_path="posts"),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/members.py", title="Members", icon=":material/person_search:", url_path="members"),
    ],
}

page = st.navigation(PAGES)


@contextmanager
def lent_out():
    """Pages run with the workspace connections held (``db.in_use``). When another process (an
    import from the command line) holds the workspace file, say so and look again in a moment."""
    try:
        with db.in_use():
            yield
    except db.WorkspaceBusy as exc:
        st.info(f"{plain(exc)} This page loads as soon as it is done.", icon=":material/hourglass_top:")
        time.sleep(3)
        st.rerun()


if os.environ.get("SOCIALCRM_PROFILE"):  # time the script run (benchmarks: server time next to the browser's)
    sidebar_done = None
    try:
        with lent_out():
            frame()
            sidebar_done = time.perf_counter()
            page.run()
    finally:  # st.stop() and st.rerun() end a run by raising
        end = time.perf_counter()
        print(f"PROFILE {page.url_path or 'overview'} sidebar {(sidebar_done or end) - STARTED:.3f} page "
              f"{end - (sidebar_done or end):.3f}", file=sys.stderr, flush=True)
else:
    with lent_out():
        frame()  # the shared sidebar: workspace and filters, bound to the URL
        page.run()
