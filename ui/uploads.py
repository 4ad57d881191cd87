"""Uploaded files on disk: the importer streams from a path, never from memory twice."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_DIR = Path(tempfile.mkdtemp(prefix="socialcrm-uploads-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def save(key: str, name: str, data: bytes) -> str:
    """Write an upload once (keyed by its content hash) and return the path."""
    suffix = Path(name).suffix or ".csv"
    path = _DIR / f"{key}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)
