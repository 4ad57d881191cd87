"""The sidebar shared by all pages: workspace picker and global filters, kept in the URL.

Each filter is a query parameter (``ws``, ``from``, ``to``, ``channel``, ``segment``,
``campaign``, ``grain``): a link reproduces the view, and the filters survive page switches and
reloads. The router (dashboard.py) renders the sidebar once per run, before the page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import streamlit as st

from datastore import workspace as ws
from metrics import Filters
from metrics.queries import filter_options
from ui import db
from ui.widgets import plain

COMMON_ZONES = ["UTC", "Europe/Amsterdam", "Europe/Berlin", "Europe/Brussels", "Europe/London",
                "Europe/Paris", "Europe/Zurich", "Europe/Vienna", "America/New_York"]
GRAINS = ["day", "week", "month"]
MULTI = {"channel": "channels", "segment": "segments", "campaign": "campaigns"}  # URL key -> options key
_NEXT_WS = "_ws_next"  # a workspace to switch to on the next run (the picker cannot change after it rendered)


@dataclass(frozen=True)
class Context:
    workspace: str
    filters: Filters
    grain: str
    time_zone: str
    span: tuple[date, date] | None  # first and last date with interactions or transactions

    @property
    def empty(self) -> bool:
        return self.span is None


_RUN = threading.local()  # Streamlit runs each session's script in its own thread


def frame() -> Context:
    """Render the shared sidebar; called by the router on every run, before the page."""
    _RUN.ctx = None
    _RUN.ctx = _render()
    return _RUN.ctx


def sidebar() -> Context:
    """The context of this run: the router's sidebar, or (a page run alone) a fresh one."""
    ctx = getattr(_RUN, "ctx", None)
    if ctx is None:
        _through_the_router()
    return ctx if ctx is not None else _render()


def _through_the_router() -> None:
    """A server's first run, when it is a deep link, runs the page file itself: Streamlit starts in
    its folder-of-pages mode (a pages/ folder exists) until the router's st.navigation turns that off
    for the process. Turn it off and run again, through the router (its sidebar, its navigation)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _build_sample(label: str, *, reset: bool = False) -> None:
    """Build the Sample with a progress bar that says what is happening (a first start takes a
    while: the exports are generated and imported and the tables the pages read are prepared)."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")
        db.ensure_sample(db.data_directory(), lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t), reset=reset)
        bar.progress(1.0, text="Done")
        status.update(label="The Sample workspace is ready", state="complete", expanded=False)


def _workspace_picker() -> str:
    if not db.sample_ready(db.data_directory()):
        _build_sample("Preparing the Sample workspace (first start only)…")
    names = ws.list_workspaces(db.data_directory())
    state = st.session_state
    if state.get(_NEXT_WS) in names:
        state["ws"] = state.pop(_NEXT_WS)
    url = st.query_params.get("ws")
    if not state.get("_url_read") and url in names:
        state["ws"] = url
    if state.get("ws") not in names:
        state["ws"] = ws.SAMPLE if ws.SAMPLE in names else names[0]
    return st.sidebar.selectbox("Workspace", names, key="ws",
                                help="Each workspace is a separate database of imported exports.")


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _init_filters(name: str, opts: dict) -> None:
    """Filter state: from the URL on a session's first run (a shared link), reset to the
    workspace's defaults when the workspace changes, kept otherwise (page switches included)."""
    state, qp = st.session_state, st.query_params
    lo, hi = opts["span"]
    if not state.get("_url_read"):
        start, end = _date(qp.get("from")) or lo, _date(qp.get("to")) or hi
        state["dates"] = (max(lo, min(start, hi)), max(lo, min(end, hi)))
        for key, options in MULTI.items():
            state[key] = [v for v in qp.get_all(key) if v in opts[options]]
        state["grain"] = qp.get("grain") if qp.get("grain") in GRAINS else "month"
    elif state.get("_filters_ws") != name:
        state["dates"] = (lo, hi)
        for key in MULTI:
            state[key] = []
    state.setdefault("grain", "month")
    state["_filters_ws"] = name
    state["_url_read"] = True


def _write_url(name: str, flt: Filters, grain: str, span) -> None:
    """Mirror the view in the URL, so a link reproduces it (only keys that differ from the default)."""
    want: dict[str, str | list[str]] = {}
    if name != ws.SAMPLE:
        want["ws"] = name
    if span and flt.start and flt.start != span[0]:
        want["from"] = flt.start.isoformat()
    if span and flt.end and flt.end != span[1]:
        want["to"] = flt.end.isoformat()
    for key, attr in MULTI.items():
        if getattr(flt, attr):
            want[key] = list(getattr(flt, attr))
    if grain != "month":
        want["grain"] = grain
    qp = st.query_params
    for key in ("ws", "from", "to", *MULTI, "grain"):
        if key not in want and key in qp:
            del qp[key]
        elif key in want and (qp.get_all(key) if isinstance(want[key], list) else qp.get(key)) != want[key]:
            qp[key] = want[key]


def _render() -> Context:
    name = _workspace_picker()
    if db.stale(name):  # a workspace from an earlier release, or an import not applied yet
        with st.status("Preparing the tables the pages read (once after an import)…", expanded=False) as status:
            db.sync(name, lambda f, t: status.update(label=t))
    tz = db.setting(name, "time_zone", "UTC") or "UTC"
    with db.cursor(name) as cur:
        opts = filter_options(cur)
    span = opts["span"]
    sb = st.sidebar
    filters, grain = Filters(), "month"
    if span is not None:
        lo, hi = span
        _init_filters(name, opts)
        picked = sb.date_input(
            "Date range", key="dates", format="DD-MM-YYYY", min_value=lo, max_value=hi,
            help="Metrics use the rows in this range. Cohorts still use each member's first-ever activity.")
        start, end = _range(picked, lo, hi)
        channels = sb.multiselect("Channel", opts["channels"], key="channel", placeholder="All channels")
        segments = sb.multiselect("Segment", opts["segments"], key="segment", placeholder="All segments",
                                  help="Member segment from the CRM export.")
        campaigns = sb.multiselect("Campaign", opts["campaigns"], key="campaign", placeholder="All campaigns",
                                   help="Campaign tag of the interactions (purchases carry none).")
        grain = sb.radio("Period", GRAINS, key="grain", horizontal=True, help="Weeks are ISO weeks (Monday start).")
        filters = Filters(start=start, end=end, channels=tuple(channels), segments=tuple(segments),
                          campaigns=tuple(campaigns))
    else:
        st.session_state["_url_read"] = True
    _write_url(name, filters, grain, span)
    sb.caption(f"Times are in **{tz}** (workspace time zone).")
    _manage(name)
    return Context(name, filters, grain, tz, span)


def _range(picked, lo: date, hi: date) -> tuple[date, date]:
    if isinstance(picked, (tuple, list)):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], hi
        return lo, hi
    if isinstance(picked, date):
        return picked, hi
    return lo, hi


def _manage(current: str) -> None:
    with st.sidebar.expander("Manage workspaces"):
        with st.form("new-ws", clear_on_submit=True, border=False):
            new = st.text_input("New workspace name", placeholder="e.g. Webshop 2026")
            tz = st.selectbox("Time zone", COMMON_ZONES, index=1)
            if st.form_submit_button("Create workspace", icon=":material/add:"):
                try:
                    ws.create_workspace(new, tz, db.data_directory())
                    st.session_state[_NEXT_WS] = ws.check_name(new)  # picked on the next run
                    st.rerun()
                except ValueError as exc:
                    st.error(plain(exc))
        if current == ws.SAMPLE:
            if st.button("Reset the Sample workspace", icon=":material/restart_alt:"):
                _confirm_reset()
        elif st.button(f"Delete '{plain(current)}'…", icon=":material/delete:"):
            _confirm_delete(current)


@st.dialog("Delete workspace")
def _confirm_delete(name: str) -> None:
    st.write(f"This deletes **{plain(name)}** and everything imported into it. It cannot be undone.")
    typed = st.text_input("Type the workspace name to confirm")
    if st.button("Delete for good", type="primary", disabled=typed.strip() != name):
        db.forget(name)
        ws.delete_workspace(name, db.data_directory())
        st.session_state[_NEXT_WS] = ws.SAMPLE
        st.rerun()


@st.dialog("Reset the Sample workspace")
def _confirm_reset() -> None:
    st.write("Rebuilds the Sample workspace from the built-in generator. Anything you imported into it is lost.")
    if st.button("Reset", type="primary"):
        _build_sample("Rebuilding the Sample workspace…", reset=True)
        st.rerun()


def empty_state(ctx: Context) -> bool:
    """Show a friendly start on an empty workspace; True when the page should stop."""
    if not ctx.empty:
        return False
    st.info(
        f"**{ctx.workspace}** has no data yet. Upload your exports — a community or social "
        "export, a CRM contact list, webshop orders or a service-desk ticket export — on the "
        "Data page. Dutch and German files (`;`, decimal commas, `31-12-2025`) are fine.",
        icon=":material/upload_file:",
    )
    st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload:")
    return True
