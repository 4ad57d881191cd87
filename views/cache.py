"""Views kept on disk next to the workspace, and warmed up in the background after a change.

A view is a pure function of the data, the filters and the settings, so it can be kept as long as
the data does not change: ``get`` looks a view up by (code, derived state, page, filters,
settings) in ``<data folder>/.views/<workspace id>/``, computes and stores it when missing, and a
server restart finds it again. The derived state changes with every import or undo applied
(``derived.sync.ensure``), pages reading targets and trials also key on the plans' version and
the Data page on the import log's version, and the key includes a fingerprint of the code that
computes views: a stored view is never stale. Files of earlier states are removed when a view of
a newer one is stored.

``warm`` computes, in a background thread, the pages' default views (no channel, segment or
campaign filter, the full date range, the settings last used on each page) for a workspace: after
an import or an undo, and when the server first opens the workspace. A page asking for a view
that is being computed waits for it instead of computing it twice, and the warm-up waits while a
page computes a view someone asked for (it does not compete with them for the cores).

The files are pickles the app wrote itself, read only from the app's own data folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

import duckdb

from datastore.workspace import get_setting
from derived.sync import ensure
from metrics import Filters

PLANS_PAGES = ("overview", "plans")  # also key on the plans' version
LOG_PAGES = ("data",)  # also key on the import log's version
WARM_PAGES = ("overview", "participation", "retention", "development", "listening", "plans", "development_clv",
              "posts")
KEEP_FILES = 300  # per workspace; the oldest go first
_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _fingerprint() -> str:
    """A hash of the code that computes views: a stored view from other code is not used."""
    h = hashlib.sha256()
    for package in ("derived", "metrics", "plans", "views"):
        for path in sorted((_ROOT / package).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODE = _fingerprint()


@dataclass(frozen=True)
class Key:
    """What a view depends on besides its arguments."""

    path: str  # the workspace file
    workspace_id: str
    state: str  # the derived tables' state
    extra: str  # the plans' or the import log's version (pages that read them), else ""

    def folder(self) -> Path:
        return Path(self.path).parent / ".views" / self.workspace_id

    def prefix(self) -> str:
        return _digest(CODE, self.state)


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def key(con: duckdb.DuckDBPyConnection, page: str) -> Key:
    """The key of ``page``'s views now (applies pending imports and undos first)."""
    path, ident, state = ensure(con)
    extra = ""
    if page in PLANS_PAGES or page in LOG_PAGES:
        with con.cursor() as cur:
            extra = get_setting(cur, "plans_version" if page in PLANS_PAGES else "data_version", "0") or "0"
    return Key(path, ident, state, extra)


def _file(k: Key, page: str, filters: Filters, settings) -> Path:
    return k.folder() / f"{k.prefix()}-{page}-{_digest(k.extra, page, filters, settings)}.pkl"


_PENDING: dict[Path, threading.Event] = {}
_PENDING_LOCK = threading.Lock()


def _load(path: Path):
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged file is a miss
        log.warning("dropping unreadable stored view %s: %s", path.name, exc)
        path.unlink(missing_ok=True)
        return None


def _store(k: Key, path: Path, obj) -> None:
    try:
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        _prune(folder, k.prefix())
    except OSError as exc:  # a read-only or full disk: the view is still returned, just not kept
        log.warning("could not store a view: %s", exc)


def _prune(folder: Path, prefix: str) -> None:
    files = sorted(folder.glob("*.pkl"), key=lambda p: p.stat().st_mtime)
    current = [p for p in files if p.name.startswith(prefix + "-")]
    for p in files:
        if not p.name.startswith(prefix + "-"):
            p.unlink(missing_ok=True)  # an earlier data state or other code
    for p in current[:-KEEP_FILES]:
        p.unlink(missing_ok=True)


_ASKED = 0  # views pages are computing now (not the warm-up's)
_ASKED_CHANGED = threading.Condition()
_LAST_SEEN = 0.0  # time.monotonic() of the last page run that asked for a view
# Seconds without a page run before the warm-up starts a view: a person who just changed a filter is
# still waiting for the browser to draw it (seconds at 10 M on two cores), and clicks again soon.
QUIET = float(os.environ.get("SOCIALCRM_WARM_QUIET", "5"))


def seen() -> None:
    """A page run asked for a view (the warm-up keeps out of the way for ``QUIET`` seconds)."""
    global _LAST_SEEN
    _LAST_SEEN = time.monotonic()


def _yield_to_pages(halt: threading.Event, longest: float = 60.0, quiet: float | None = None) -> None:
    """The warm-up waits while a page computes the view someone is looking at, and until no page has
    run for ``quiet`` seconds: on two cores the two would halve each other's speed, and the person
    waits, the warm-up does not. It waits ``longest`` seconds at most."""
    quiet = QUIET if quiet is None else quiet
    deadline = time.monotonic() + longest
    with _ASKED_CHANGED:
        while not halt.is_set():
            now = time.monotonic()
            calm = quiet - (now - _LAST_SEEN)
            if not _ASKED and calm <= 0:
                return
            left = deadline - now
            if left <= 0:
                return
            _ASKED_CHANGED.wait(min(left, 1.0, max(calm, 0.05)))


def _asked(delta: int) -> None:
    global _ASKED
    with _ASKED_CHANGED:
        _ASKED += delta
        _ASKED_CHANGED.notify_all()


def get(con: duckdb.DuckDBPyConnection, page: str, filters: Filters, settings=None, *,
        k: Key | None = None, compute: Callable | None = None, background: bool = False):
    """``page``'s view: stored, being computed (then waited for), or computed now and stored.
    ``background``: asked by the warm-up (which then gives way to pages' own requests; a view
    stored already is not loaded, and None is returned)."""
    k = k or key(con, page)
    path = _file(k, page, filters, settings)
    while True:
        with _PENDING_LOCK:
            event = _PENDING.get(path)
            if event is None:
                _PENDING[path] = event = threading.Event()
                mine = True
            else:
                mine = False
        if mine:
            break
        event.wait()  # another thread computes it: use its result
        obj = _load(path)
        if obj is not None:
            return obj
    try:
        if background and path.exists():
            return None  # stored: the warm-up has nothing to do (loading it would only cost a page time)
        obj = _load(path)
        if obj is None:
            if compute is None:
                from views import VIEWS

                compute = VIEWS[page]
            if not background:
                _asked(+1)
            try:
                obj = compute(con, filters, settings)
            finally:
                if not background:
                    _asked(-1)
            _store(k, path, obj)
        return obj
    finally:
        with _PENDING_LOCK:
            _PENDING.pop(path, None)
        event.set()


def peek(con: duckdb.DuckDBPyConnection, page: str, filters: Filters, settings=None, *, k: Key | None = None):
    """``page``'s view if it is stored already, else None: nothing is computed."""
    return _load(_file(k or key(con, page), page, filters, settings))


def pending(con: duckdb.DuckDBPyConnection, page: str, filters: Filters, settings=None, *,
            k: Key | None = None) -> bool:
    """Whether a thread (the warm-up) is computing ``page``'s view now."""
    with _PENDING_LOCK:
        return _file(k or key(con, page), page, filters, settings) in _PENDING


def forget(path: str | Path, workspace_id: str | None) -> None:
    """Remove a workspace's stored views (before deleting or resetting its file)."""
    if not workspace_id:
        return
    folder = Path(path).parent / ".views" / workspace_id
    for p in folder.glob("*"):
        p.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Warm-up: the settings each page was last used with, computed for the default filters
# ---------------------------------------------------------------------------------------------
_RECENT: dict[str, list] = {}  # page -> the settings last used, newest first (this process)
_RECENT_LOCK = threading.Lock()
RECENT_PER_PAGE = 2


def remember(data_folder: str | Path, page: str, settings) -> None:
    """Note the settings a page asked for (kept in the data folder, so a restart knows them)."""
    with _RECENT_LOCK:
        if not _RECENT:
            _RECENT.update(_read_recent(data_folder))
        used = _RECENT.setdefault(page, [])
        plain = _undated(settings)
        if used and used[0] == plain:
            return
        _RECENT[page] = [plain, *[s for s in used if s != plain]][:RECENT_PER_PAGE]
        snapshot = dict(_RECENT)
    try:
        target = Path(data_folder) / ".views" / "recent.pkl"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("could not note recent settings: %s", exc)


def _read_recent(data_folder: str | Path) -> dict[str, list]:
    try:
        data = pickle.loads((Path(data_folder) / ".views" / "recent.pkl").read_bytes())
        return data if isinstance(data, dict) else {}
    except Exception:  # noqa: BLE001 - missing, or from other code: start afresh
        return {}


def _undated(settings):
    """Settings with a ``today`` field are kept without it (the warm-up puts in its own day)."""
    if settings is not None and any(f.name == "today" for f in fields(settings)):
        return replace(settings, today=None)
    return settings


def _dated(settings, today: date):
    if settings is not None and any(f.name == "today" for f in fields(settings)):
        return replace(settings, today=today)
    return settings


def default_filters(con: duckdb.DuckDBPyConnection) -> Filters | None:
    """The sidebar's filters before anyone touched them: the data's full date range."""
    from metrics.queries import filter_options

    with con.cursor() as cur:
        span = filter_options(cur)["span"]
    return Filters(start=span[0], end=span[1]) if span else None


def requests(data_folder: str | Path, defaults: dict[str, object]) -> list[tuple[str, object]]:
    """(page, settings) to warm up: the settings each page was last used with, else its defaults."""
    with _RECENT_LOCK:
        if not _RECENT:
            _RECENT.update(_read_recent(data_folder))
        recent = {p: list(s) for p, s in _RECENT.items()}
    today = date.today()
    out = []
    for page in WARM_PAGES:
        used = recent.get(page) or ([defaults[page]] if page in defaults else [])
        out += [(page, _dated(s, today)) for s in used]
    return out


_WARMING: dict[str, tuple[threading.Thread | None, threading.Event]] = {}  # file -> (thread, stop)


def warm(con: duckdb.DuckDBPyConnection, data_folder: str | Path, defaults: dict[str, object],
         *, background: bool = True, pages: Iterable[str] | None = None) -> threading.Thread | None:
    """Compute the default views of the workspace behind ``con`` (stored ones are only checked).
    One warm-up per workspace file at a time; errors end it quietly (the pages compute on demand)."""
    path = str(ensure(con)[0])
    halt = threading.Event()

    def run() -> None:
        started = time.perf_counter()
        try:
            filters = default_filters(con)
            if filters is None:
                return
            for page, settings in requests(data_folder, defaults):
                if halt.is_set():
                    return
                if pages is None or page in pages:
                    _yield_to_pages(halt, quiet=None if background else 0.0)
                    get(con, page, filters, settings, background=True)
            log.info("warmed the views of %s in %.1f s", path, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a closed or deleted workspace: nothing to warm
            log.info("warm-up of %s stopped: %s", path, exc)
        finally:
            with _PENDING_LOCK:
                _WARMING.pop(path, None)

    with _PENDING_LOCK:
        if path in _WARMING:
            return None
        thread = threading.Thread(target=run, name="socialcrm-warm-views", daemon=True) if background else None
        _WARMING[path] = (thread, halt)
    if thread is None:
        run()
        return None
    thread.start()
    return thread


def busy(path: str | Path) -> bool:
    """Is a warm-up running for the workspace file ``path``, or any view being computed (a page's
    background computation holds a cursor too)?"""
    with _PENDING_LOCK:
        return str(path) in _WARMING or bool(_PENDING)


def stop(path: str | Path, timeout: float = 120) -> None:
    """Stop the warm-up of the workspace file ``path`` after its current view (before the file is
    closed, deleted or rebuilt) and wait for it."""
    with _PENDING_LOCK:
        running = _WARMING.get(str(path))
    if running is None:
        return
    thread, halt = running
    halt.set()
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
