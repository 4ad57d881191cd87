"""Data: upload exports, check what was detected, map columns, import, see and undo imports.

An import (or undo) is applied to the derived tables the pages read right after it (``db.sync``), with
progress; the history and what is stored come from one view (views.data)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from datastore.convert import example
from datastore.importer import ImportOptions, import_file, inspect_file, preview, rejects_for, undo_import
from datastore.schema import DATASETS, FIELDS
from datastore.sniff import FileRefused
from ui import db, uploads
from ui.charts import fmt_int
from ui.context import sidebar
from ui.downloads import download
from ui.widgets import plain

ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-15", "utf-16"]
DELIMITERS = {",": "comma ,", ";": "semicolon ;", "\t": "tab", "|": "pipe |"}
DATASET_HELP = {
    "interactions": "every contact moment: comments, replies, e-mails, calls, chats, service-desk tickets, visits",
    "members": "customers / participants: a CRM or community member list",
    "transactions": "purchases, bookings, orders, deals",
    "posts": "our own posts with their figures: X, Facebook, Instagram post exports",
    "audience": "page statistics per network and day: followers, page impressions (LinkedIn, X daily)",
}

ctx = sidebar()
st.title("Data")
st.caption(f"Workspace **{ctx.workspace}** · times in {ctx.time_zone}")

tab_load, tab_history, tab_stored = st.tabs(["Load exports", "Import history", "What is stored"])


def _profile(key: str, path: str, name: str, dataset: str | None, options: ImportOptions):
    cache = st.session_state.setdefault("profiles", {})
    ck = (key, dataset, options)
    if ck not in cache:
        cache[ck] = inspect_file(path, file_name=name, dataset=dataset, options=options)
    return cache[ck]


def _mapping_editor(key: str, profile) -> tuple[dict[str, str], dict[str, str]]:
    rows = [
        {
            "field": f.name,
            "required": "yes" if f.required else "",
            "meaning": f.description,
            "column": profile.mapping.get(f.name, ""),
            "fixed value": profile.constants.get(f.name, ""),
        }
        for f in FIELDS[profile.dataset]
    ]
    edited = st.data_editor(
        pd.DataFrame(rows),
        placeholder="",  # an empty cell: not in the file
        key=f"map-{key}-{profile.dataset}",
        hide_index=True,
        disabled=["field", "required", "meaning"],
        column_config={
            "column": st.column_config.SelectboxColumn(
                "column in your file", options=[""] + profile.columns,
                help="Which column of the file holds this field. Empty: not in the file."),
            "fixed value": st.column_config.TextColumn(
                "or a fixed value", help="The same value for every row, e.g. channel = forum."),
            "meaning": st.column_config.TextColumn("meaning", width="large"),
        },
    )
    mapping = {r["field"]: r["column"] for r in edited.to_dict("records") if r["column"]}
    constants = {r["field"]: r["fixed value"] for r in edited.to_dict("records")
                 if r["fixed value"] and not r["column"]}
    return mapping, constants


def _show_report(report, key: str) -> None:
    if report.status == "loaded":
        (st.success if not report.rows_rejected else st.warning)(plain(report.message), icon=":material/check_circle:")
    else:
        st.error(plain(report.message), icon=":material/error:")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows read", fmt_int(report.rows_read))
    c2.metric("Loaded", fmt_int(report.rows_loaded))
    c3.metric("Rejected", fmt_int(report.rows_rejected), help="Rows with a value that could not be read; see below.")
    c4.metric("Already stored", fmt_int(report.rows_duplicate), help="Rows identical to rows imported before: skipped, never counted twice.")
    for w in report.warnings:
        st.info(plain(w), icon=":material/info:")
    if report.import_id and report.rows_rejected:
        with db.cursor(ctx.workspace) as cur:
            rej = rejects_for(cur, report.import_id)
        st.markdown(f"**Rejected rows** ({fmt_int(len(rej))}; row numbers as in a spreadsheet, header = row 1)")
        st.dataframe(rej.head(1000), hide_index=True, placeholder="–", height=min(400, 40 + 35 * min(len(rej), 10)))
        download(rej, f"rejected-{report.file_name.rsplit('.', 1)[0]}", key=f"rej-{key}", label="Download rejected rows")


def _one_file(upload) -> None:
    key = uploads.key_of(upload)
    reports = st.session_state.setdefault("reports", {})
    done = reports.get((ctx.workspace, key))
    with st.container(border=True):
        st.markdown(f"#### {plain(upload.name)}")
        st.caption(f"{upload.size / 1024:,.0f} KB")
        if done is not None:  # imported: the report (the staged file is gone)
            _show_report(done, key)
            return
        path = str(uploads.stage(upload))
        with st.expander("Change what was detected"):
            c1, c2, c3 = st.columns(3)
            enc = c1.selectbox("Encoding", ["detect"] + ENCODINGS, key=f"enc-{key}")
            dlm = c2.selectbox("Delimiter", ["detect"] + list(DELIMITERS), key=f"dlm-{key}",
                               format_func=lambda d: DELIMITERS.get(d, d))
            dec = c3.selectbox("Decimal separator", ["detect", ",", "."], key=f"dec-{key}")
            dsel = st.selectbox("Import into", ["detect"] + list(DATASETS), key=f"ds-{key}",
                                format_func=lambda d: d if d == "detect" else f"{d} — {DATASET_HELP[d]}")
        options = ImportOptions(
            encoding=None if enc == "detect" else enc,
            delimiter=None if dlm == "detect" else dlm,
            decimal=None if dec == "detect" else dec,
        )
        try:
            profile = _profile(key, path, upload.name, None if dsel == "detect" else dsel, options)
        except FileRefused as exc:
            st.error(plain(exc), icon=":material/block:")
            return
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Encoding", profile.encoding)
        c2.metric("Delimiter", DELIMITERS.get(profile.delimiter, profile.delimiter))
        c3.metric("Decimals", "comma" if profile.decimal == "," else "point")
        c4.metric("Goes into", profile.dataset, help=DATASET_HELP[profile.dataset])
        if profile.signature:
            st.caption(f"Recognised as a **{profile.signature}** export.")
        for w in profile.warnings:
            st.info(plain(w), icon=":material/info:")
        if profile.refuse:
            st.warning(plain(profile.refuse), icon=":material/block:")
        st.markdown("**Column mapping** — check the proposal; unmapped columns are kept as extra data.")
        mapping, constants = _mapping_editor(key, profile)
        try:
            shown = preview(profile, mapping, constants, tz=ctx.time_zone)
        except FileRefused as exc:
            st.error(plain(exc), icon=":material/error:")
            return
        bad = int((shown["problem"].fillna("") != "").sum()) if "problem" in shown else 0
        st.markdown(f"**Preview** — the first {len(shown)} rows as they will be stored"
                    + (f" ({bad} with a problem, they will be rejected)" if bad else ""))
        st.dataframe(shown, hide_index=True, placeholder="–", height=min(420, 38 + 35 * max(1, len(shown))))
        if profile.date_formats:
            st.caption("Dates read as: " + "; ".join(
                f"{f} like {' or '.join(example(x) for x in v) or '2025-12-31 14:05 (ISO)'}"
                for f, v in profile.date_formats.items()))
        if st.button(f"Import {plain(upload.name)} into {profile.dataset}", key=f"imp-{key}", type="primary",
                     icon=":material/upload:"):
            bar = st.progress(0.0, text="Starting…")
            report = import_file(
                db.root(ctx.workspace), path, dataset=profile.dataset, mapping=mapping,
                constants=constants, options=options, file_name=upload.name,
                progress=lambda f, t: bar.progress(min(0.8, 0.8 * f), text=t),
            )
            uploads.discard(key)  # imported (or refused with a reason): the copy on disk goes
            db.sync(ctx.workspace, lambda f, t: bar.progress(min(1.0, 0.8 + 0.2 * f), text=t))
            bar.empty()
            reports[(ctx.workspace, key)] = report
            st.rerun()


with tab_load:
    st.markdown(
        "Upload CSV exports: community or social exports, a CRM contact list, webshop orders, "
        "service-desk tickets. Encoding, delimiter, decimal commas and date formats are detected; "
        "check the mapping and press **Import**. Importing the same rows twice never counts them twice."
    )
    # One uploader per workspace: files staged for one are never offered for another.
    files = st.file_uploader("CSV exports", type=["csv", "txt", "tsv"], accept_multiple_files=True,
                             key=f"uploads-{ctx.workspace}")
    uploads.keep_only({uploads.key_of(u) for u in files or []})  # removed from the uploader: deleted
    for upload in files or []:
        try:
            _one_file(upload)
        except Exception as exc:  # never a traceback in the UI
            st.error(plain(f"{upload.name} could not be handled: {exc}"), icon=":material/error:")

view = db.view("data", ctx.workspace, ctx.filters)


def undo(import_id: int) -> None:
    with st.spinner("Deleting the import's rows and updating the tables the pages read…"):
        try:
            n = undo_import(db.root(ctx.workspace), import_id)
        except ValueError as exc:
            st.error(plain(exc))
            return
        db.sync(ctx.workspace)
    st.session_state.pop("undo_confirm", None)
    st.toast(f"Import #{import_id} undone: {n:,} rows deleted.")
    st.rerun()


with tab_history:
    history = view.history
    if history.empty:
        st.info("Nothing imported into this workspace yet.")
    else:
        st.dataframe(history, hide_index=True, placeholder="–", column_config={
            "import_id": st.column_config.NumberColumn("#", width=40),
            "imported_at": st.column_config.DatetimeColumn("imported", format="DD-MM-YYYY HH:mm"),
            "file_name": st.column_config.TextColumn("file"),
            "rows_read": st.column_config.NumberColumn("read", format="localized"),
            "rows_loaded": st.column_config.NumberColumn("loaded", format="localized"),
            "rows_rejected": st.column_config.NumberColumn("rejected", format="localized"),
            "rows_duplicate": st.column_config.NumberColumn("duplicates", format="localized"),
            "rows_updated": st.column_config.NumberColumn("updated", format="localized"),
            "date_order": st.column_config.TextColumn(
                "dates read", width=110, help="Day-first or month-first, as the whole date column showed it "
                "(per column when they differ)."),
            "message": st.column_config.TextColumn("report", width="large"),
        })
        download(history, "import-history", key="hist")
        undoable = history[history["status"] == "loaded"].set_index("import_id")
        if not undoable.empty:
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            pick = c1.selectbox("Undo an import", list(undoable.index),
                                format_func=lambda i: f"#{i} · {undoable.loc[i, 'file_name']}",
                                help="Deletes exactly the rows that import added (after you confirm).")
            if c2.button("Undo import…", icon=":material/undo:"):
                st.session_state["undo_confirm"] = int(pick)
            asked = st.session_state.get("undo_confirm")
            if asked in undoable.index:  # confirm first: an undo deletes rows
                with st.container(border=True):
                    st.warning(f"Undo import #{asked} ({plain(undoable.loc[asked, 'file_name'])})? This deletes the "
                               f"{int(undoable.loc[asked, 'rows_loaded']):,} rows it added; rows of other imports stay, "
                               "and the import stays in the history, marked undone.", icon=":material/warning:")
                    y, n = st.columns(2)
                    if y.button("Undo the import", type="primary", icon=":material/undo:"):
                        undo(int(asked))
                    if n.button("Keep it"):
                        st.session_state.pop("undo_confirm", None)
                        st.rerun()

with tab_stored:
    st.dataframe(view.stored, hide_index=True, placeholder="–", column_config={
        "rows": st.column_config.NumberColumn("rows", format="localized"),
        "members": st.column_config.NumberColumn("distinct members", format="localized"),
        "first_date": st.column_config.DateColumn("first date", format="DD-MM-YYYY"),
        "last_date": st.column_config.DateColumn("last date", format="DD-MM-YYYY"),
    })
