"""Uploaded files on disk: streamed there once, imported from there, deleted after.

Streamlit holds an upload in memory while the uploader shows it; this module never makes a second
copy in memory (no ``getvalue()``): the file is copied in 1 MiB chunks into this process's
staging folder (``datastore.staging``), named by Streamlit's ``file_id``. The file is deleted
after its import and when it leaves the uploader (removed, or another workspace picked); the
folder when the server exits, or, after a kill, by the next process that stages something.
"""

from __future__ import annotations

import atexit
import shutil
from pathlib import Path

import streamlit as st

from datastore import staging

_CHUNK = 1 << 20
_DIR: Path | None = None
_SESSION_KEY = "_staged_uploads"


def _folder() -> Path:
    global _DIR
    if _DIR is None or not _DIR.exists():
        staging.clean_stale()
        _DIR = staging.new_dir("uploads")
        atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
    return _DIR


def key_of(upload) -> str:
    """A short stable key for an upload (widget keys, the import report)."""
    return "".join(ch for ch in str(upload.file_id) if ch.isalnum())[:32]


def stage(upload) -> Path:
    """The upload as a file on disk (written once per upload, streamed in chunks)."""
    path = _folder() / f"{key_of(upload)}{Path(upload.name).suffix.lower() or '.csv'}"
    if not path.exists():
        partial = path.with_suffix(path.suffix + ".part")
        upload.seek(0)
        with open(partial, "wb") as out:
            shutil.copyfileobj(upload, out, _CHUNK)
        partial.replace(path)
        upload.seek(0)
    st.session_state.setdefault(_SESSION_KEY, {})[key_of(upload)] = str(path)
    return path


def discard(key: str) -> None:
    """Delete an upload's file (after its import)."""
    path = st.session_state.get(_SESSION_KEY, {}).pop(key, None)
    if path:
        Path(path).unlink(missing_ok=True)


def keep_only(keys: set[str]) -> None:
    """Delete this session's staged files whose upload is no longer in the uploader."""
    for key in set(st.session_state.get(_SESSION_KEY, {})) - set(keys):
        discard(key)
