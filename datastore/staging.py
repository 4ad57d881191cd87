"""Where files wait to be imported, and what a workspace connection may touch.

* One staging root per user (``<tmp>/socialcrm-<uid>``, mode 0700). Uploads and an import's
  working files live in folders named ``<kind>-<pid>-…`` under it; a folder whose process is gone
  (killed, crashed) is removed by the next process that stages something (``clean_stale``).
* A workspace connection (``harden``) reads files only from the staging root: DuckDB's
  ``allowed_directories`` with ``enable_external_access = false`` (it cannot be turned back on
  while the database is open), and no extension is installed or loaded on its own. No user input
  reaches SQL as code, but if it ever did, ``read_csv('/etc/passwd')`` or an ``httpfs`` fetch is
  refused by DuckDB itself.
* ``readable`` gives the importer a path DuckDB may read: the file itself when it is under the
  root (an upload), else a hard link in the import's folder (instant, no copy; a symlink would
  not do: DuckDB resolves it), else a copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

_KINDS = ("uploads", "import")


def root() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"socialcrm-{uid}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_dir(kind: str) -> Path:
    """A fresh folder for this process (``kind``: uploads or import)."""
    assert kind in _KINDS, kind
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=root()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale() -> list[Path]:
    """Remove the staging folders of processes that no longer run (and the folders that older
    releases left directly in the temp folder); returns what was removed."""
    removed = []
    candidates = list(root().iterdir())
    legacy = Path(tempfile.gettempdir())
    candidates += [*legacy.glob("socialcrm-uploads-*"), *legacy.glob("socialcrm-import-*")]
    for path in candidates:
        if not path.is_dir():
            continue
        kind, _, rest = path.name.partition("-")
        pid_text = rest.split("-", 1)[0]
        if path.parent == legacy:  # an older release's folder: no pid in its name; stale after a day
            if time.time() - path.stat().st_mtime < 86_400:
                continue
        elif kind not in _KINDS or not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """Restrict a workspace connection: files only under the staging root, no extension
    installed or loaded on demand. Idempotent."""
    external = con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    if external:
        allowed = (str(root()) + os.sep).replace("'", "''")
        con.execute(f"SET allowed_directories = ['{allowed}']")
        con.execute("SET enable_external_access = false")


def readable(con: duckdb.DuckDBPyConnection, path: str | Path, work_dir: Path) -> Path:
    """A path to ``path``'s bytes that ``con`` may read (see the module text)."""
    path = Path(path)
    if con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]:
        return path
    try:
        path.resolve().relative_to(root().resolve())
        return path
    except ValueError:
        pass
    target = work_dir / ("source" + (path.suffix or ".csv"))
    try:
        os.link(path, target)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(path, target)
    return target
