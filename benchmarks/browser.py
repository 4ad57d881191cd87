"""Browser benchmark: what a user waits for, from navigation (or a filter change) to a settled page.

    python -m benchmarks.browser --sizes 1000000 10000000 --shapes sample powerlaw

For each data shape and size it builds a workspace the way a user does (the exports written as CSV,
loaded through ``datastore.importer``; the import times are recorded next to DuckDB's own
``read_csv`` of the interactions file), then starts ``streamlit run dashboard.py`` on it and drives
Debian's chromium through Playwright:

* **first**: the first visit of a page after a server start with no views stored on disk (as
  after a new release; the server's background warm-up runs meanwhile, as it does then);
* **cold**: the first visit after a restart, with the views the earlier server stored
  (``views.cache``); a new server per page for both;
* **warm**: the same page again in a new browser session (the server's caches are warm);
* **filter changes** in that session, one after the other, through the sidebar's widgets:
  channel, date range (the last three months), segment, campaign, and clearing channel, segment
  and campaign (the date range stays).

It also times a small change on the big workspace: a 120-row interactions file imported, the
same file again (all duplicates) and its undo, each with the derived tables' update.

A page is *settled* when Streamlit's script state is ``notRunning``, no spinner or skeleton shows,
every visible chart has drawn, and the page's DOM has been quiet for 400 ms; the time is measured to the
last DOM change before that quiet window. Next to the pages the same run times ``bare_page.py``
(a title, 8 tiles and one Altair chart), the floor no page can beat; results are seconds and
ratios to it, with the load average (the machine is shared). Server memory (RSS of the streamlit
process) is read after every page was visited once in one server.

Results: JSON lines on stdout and ``benchmarks/results/browser.md`` (a table per run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BENCH_DIR", ROOT / "bench_out"))
RESULTS = ROOT / "benchmarks" / "results" / "browser.md"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WORKSPACE = "Bench"
PAGES = {"overview": "", "participation": "participation", "retention": "retention",
         "development": "development", "plans": "plans", "members": "members",
         "listening": "listening", "data": "data"}
FILTERS = ("channel", "dates", "segment", "campaign", "clear")
QUIET_MS = 400

# Records script-state changes and the time of the last DOM change, from the document's start.
_OBSERVER = """
window.__bench = {states: [], last: performance.now()};
const seen = () => { window.__bench.last = performance.now(); };
new MutationObserver((muts) => {
  for (const m of muts) {
    if (m.type === 'attributes' && m.attributeName === 'data-test-script-state') {
      window.__bench.states.push([performance.now(), m.target.getAttribute('data-test-script-state')]);
    }
  }
  seen();
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""

_SETTLED = """([since, quiet]) => {
  const b = window.__bench; if (!b) return false;
  const root = document.querySelector('[data-test-script-state]');
  if (!root || root.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!b.states.some(([t, s]) => t >= since && s === 'running') && since > 0) return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    // a chart on a tab not shown (or in a collapsed expander) is drawn when it is opened
    if (c.getClientRects().length && !c.querySelector('canvas, svg')) return false;
  }
  return performance.now() - b.last >= quiet ? b.last : false;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------------------------
# Data: exports and a workspace built through the importer
# ------------------------------------------------------------------------------------------------
def exports(shape: str, n: int) -> list[tuple[Path, str]]:
    out = CACHE / f"{shape}-{n}"
    if shape == "powerlaw":
        from benchmarks.powerlaw import write

        return write(n, out)
    from sample_data.generator import generate, write_exports

    stamp = out / "done"
    if not stamp.exists():
        files = write_exports(generate(members=max(5000, n // 40), interactions=n, seed=7), out)
        stamp.write_text(json.dumps([[str(p), ds] for p, ds in files]))
    return [(Path(p), ds) for p, ds in json.loads(stamp.read_text())]


def build_workspace(shape: str, n: int) -> tuple[Path, dict]:
    """A data directory holding ``Bench.duckdb`` (imported from the exports) and a Sample."""
    directory = CACHE / f"ws-{shape}-{n}"
    stamp = directory / "import.json"
    if stamp.exists():
        return directory, json.loads(stamp.read_text())
    files = exports(shape, n)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    # Each file as the Data page imports it: the import, then the derived tables the pages read.
    script = (
        "import json, sys, time\n"
        "from datastore.importer import import_file\n"
        "from datastore.workspace import open_workspace\n"
        "try:\n"
        "    from derived.sync import sync\n"
        "except ImportError:  # a release before the derived tables (rollups rebuilt inside the import)\n"
        "    sync = None\n"
        "con = open_workspace(sys.argv[1], time_zone='Europe/Amsterdam')\n"
        "out = {}\n"
        "for path, ds in json.loads(sys.argv[2]):\n"
        "    t = time.perf_counter(); r = import_file(con, path, dataset=ds)\n"
        "    assert r.status == 'loaded', r.message\n"
        "    t1 = time.perf_counter(); rep = sync(con) if sync else None\n"
        "    out[ds] = {'seconds': round(time.perf_counter() - t, 2), 'import': round(t1 - t, 2),\n"
        "               'derived': round(time.perf_counter() - t1, 2), 'rows': r.rows_loaded}\n"
        "con.close()\n"
        "print(json.dumps(out))\n")
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", script, str(directory / f"{WORKSPACE}.duckdb"),
                          json.dumps([[str(p), ds] for p, ds in files])],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    info = {"imports": json.loads(res.stdout.strip().splitlines()[-1]), "seconds": round(time.perf_counter() - t, 1),
            "load": _load()}
    sample = CACHE / "sample" / "Sample.duckdb"
    if not sample.exists():
        subprocess.run([sys.executable, "-c", "import sys; from sample_data.build import ensure_sample; "
                        "ensure_sample(sys.argv[1])", str(sample.parent)], cwd=ROOT, check=True)
    shutil.copy(sample, directory / "Sample.duckdb")
    stamp.write_text(json.dumps(info))
    return directory, info


SMALL_CHANGE = """
import csv, json, sys, time
from datastore.importer import import_file, undo_import
from datastore.workspace import open_workspace
from derived.sync import sync
con = open_workspace(sys.argv[1])
head = con.execute("SELECT * EXCLUDE (extra, import_id, row_hash) FROM interactions LIMIT 120").df()
head["interaction_id"] = [f"bench-small-{i}" for i in range(len(head))]
head["in_reply_to"] = None
head.to_csv(sys.argv[2], index=False)
sync(con)
t = time.perf_counter(); r = import_file(con, sys.argv[2], dataset="interactions")
t1 = time.perf_counter(); rep = sync(con); t2 = time.perf_counter()
again = import_file(con, sys.argv[2], dataset="interactions"); sync(con); t3 = time.perf_counter()
undo_import(con, r.import_id); t4 = time.perf_counter(); rep2 = sync(con); t5 = time.perf_counter()
print(json.dumps({"rows": r.rows_loaded, "import": round(t1 - t, 2), "import_sync": round(t2 - t1, 2),
                  "import_mode": rep.mode, "reimport": round(t3 - t2, 2), "undo": round(t4 - t3, 2),
                  "undo_sync": round(t5 - t4, 2), "undo_mode": rep2.mode}))
"""


def small_change(data_dir: Path) -> dict:
    """A 120-row interactions file imported, imported again (all duplicates) and undone on the big
    workspace, each with its derived-table update: what a user waits for after a small export."""
    path = CACHE / "small-change.csv"
    res = subprocess.run([sys.executable, "-c", SMALL_CHANGE, str(data_dir / f"{WORKSPACE}.duckdb"), str(path)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    path.unlink(missing_ok=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# Servers and the browser
# ------------------------------------------------------------------------------------------------
@contextmanager
def server(script: str, data_dir: Path | None):
    port = _free_port()
    env = {**os.environ, "SOCIALCRM_PROFILE": "1"}  # the dashboard prints its script time per run
    if data_dir is not None:
        env["SOCIALCRM_DATA_DIR"] = str(data_dir)
    log = open(CACHE / f"server-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start")
    try:
        yield url, proc, Path(log.name)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def script_seconds(log: Path) -> list[float]:
    """The dashboard's script times so far (its PROFILE lines): the server's share of a wait."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"PROFILE \S+ sidebar ([0-9.]+) page ([0-9.]+)", line)
        if m:
            out.append(round(float(m[1]) + float(m[2]), 2))
    return out


def rss_mb(proc) -> float:
    import psutil

    p = psutil.Process(proc.pid)
    return round(sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20)


class Browser:
    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._contexts: list = []
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])

    def page(self):
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self._contexts.append(ctx)
        ctx.add_init_script(_OBSERVER)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        return page

    def close_pages(self) -> None:
        """Close every open session. A Streamlit tab left open keeps its websocket (and, once its
        server is gone, reconnects in a loop): it would load the machine for every later measurement."""
        for ctx in self._contexts:
            try:
                ctx.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._contexts.clear()

    def close(self):
        self.close_pages()
        self.browser.close()
        self._pw.stop()


def settle(page, since: float) -> float:
    """Wait until the page is settled; the time (ms, document clock) of its last DOM change."""
    handle = page.wait_for_function(_SETTLED, arg=[since, QUIET_MS], polling=100, timeout=120_000)
    return float(handle.json_value())


def visit(page, url: str) -> float:
    """Seconds from navigation to the settled page."""
    page.goto(url, wait_until="commit")
    last = settle(page, 0)
    errors = page.locator("[data-testid='stException']")
    if errors.count():
        raise RuntimeError(f"{url}: {errors.first.inner_text()[:500]}")
    return last / 1000


def _multiselect(page, label: str, option: str | None) -> bool:
    box = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text=label)
    if not box.count():
        return False
    if option is None:
        clear = box.locator("[aria-label='Clear all'], [title='Clear all']")
        if clear.count():
            clear.first.click()
        return True
    box.locator("input").first.click()
    opt = page.locator("[role='option']").filter(has_text=option)
    if not opt.count():
        page.keyboard.press("Escape")
        return False
    opt.first.click()
    page.keyboard.press("Escape")
    return True


def _options(page, label: str) -> list[str]:
    box = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text=label)
    if not box.count():
        return []
    box.locator("input").first.click()
    texts = page.locator("[role='option']").all_inner_texts()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    return texts


def change(page, what: str, span_end: str | None) -> float | None:
    """Apply one filter change in the sidebar; seconds to the settled page (None when not offered)."""
    if what in ("channel", "segment", "campaign"):
        label = {"channel": "Channel", "segment": "Segment", "campaign": "Campaign"}[what]
        opts = _options(page, label)
        if not opts:
            return None
        since = page.evaluate("performance.now()")
        if not _multiselect(page, label, opts[0]):
            return None
    elif what == "dates":
        # Streamlit 1.67's date range is two react-aria date fields: type the start date into its
        # day segment (it moves on to month and year) and leave the field, which commits it.
        seg = page.locator("[data-testid='stSidebar'] [role='spinbutton'][aria-label='day, Date range start date']")
        if not seg.count() or not span_end:
            return None
        end = datetime.fromisoformat(span_end)
        start = (end.replace(day=1) - timedelta(days=62)).replace(day=1)
        since = page.evaluate("performance.now()")
        seg.first.click()
        page.keyboard.type(f"{start:%d%m%Y}")
        # leave the field (a click on the sidebar's empty top corner): that commits the date
        page.locator("[data-testid='stSidebarContent']").first.click(position={"x": 5, "y": 5})
    else:  # clear every filter: back to the default view
        since = page.evaluate("performance.now()")
        changed = False
        for label in ("Channel", "Segment", "Campaign"):
            box = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text=label)
            clear = box.locator("[aria-label='Clear all'], [title='Clear all']")
            if clear.count():
                clear.first.click()
                changed = True
        if not changed:
            return None
    last = settle(page, since)
    return (last - since) / 1000


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------
def bare(browser: Browser, repeats: int = 3) -> dict:
    with server("benchmarks/bare_page.py", None) as (url, _, _log):
        page = browser.page()
        cold = visit(page, url)
        warm = sorted(visit(browser.page(), url) for _ in range(repeats))
        browser.close_pages()
        return {"cold": round(cold, 2), "warm": round(warm[len(warm) // 2], 2)}


def _forget_views(data_dir: Path) -> None:
    shutil.rmtree(data_dir / ".views", ignore_errors=True)


def dashboard(browser: Browser, data_dir: Path, pages: list[str], span_end: str | None) -> dict:
    """Per page: ``first`` = the first visit after a server start with no stored views (a new
    release, or nothing visited since an import in another process); ``cold`` = the first visit
    after a restart with the views the earlier server stored; ``warm`` and the filter changes in a
    second session on that server."""
    out: dict = {}
    for name in pages:
        path = PAGES[name]
        row: dict = {"load_before": _load()}
        try:
            _forget_views(data_dir)
            with server("dashboard.py", data_dir) as (url, _, log):
                row["first"] = round(visit(browser.page(), f"{url}/{path}?ws={WORKSPACE}"), 2)
                row["first_script"] = sum(script_seconds(log))
                browser.close_pages()
            with server("dashboard.py", data_dir) as (url, _, log):
                row["cold"] = round(visit(browser.page(), f"{url}/{path}?ws={WORKSPACE}"), 2)
                row["cold_script"] = sum(script_seconds(log))
                page = browser.page()
                row["warm"] = round(visit(page, f"{url}/{path}?ws={WORKSPACE}"), 2)
                row["warm_script"] = round(sum(script_seconds(log)) - row["cold_script"], 2)
                for what in FILTERS:
                    t = change(page, what, span_end)
                    if t is not None:
                        row[what] = round(t, 2)
                browser.close_pages()
        except Exception as exc:  # noqa: BLE001 - record and go on with the next page
            row["error"] = str(exc)[:300]
        browser.close_pages()
        row["load_after"] = _load()
        out[name] = row
        print(json.dumps({"page": name, **row}), flush=True)
    with server("dashboard.py", data_dir) as (url, proc, _log):
        page = browser.page()
        for name in pages:
            try:
                visit(page, f"{url}/{PAGES[name]}?ws={WORKSPACE}")
            except Exception:  # noqa: BLE001
                pass
        out["rss_mb"] = rss_mb(proc)
        browser.close_pages()
    return out


def span_end(data_dir: Path) -> str | None:
    import duckdb

    con = duckdb.connect(str(data_dir / f"{WORKSPACE}.duckdb"), read_only=True)
    try:
        d = con.execute("SELECT max(occurred_at)::DATE FROM interactions").fetchall()[0][0]
    finally:
        con.close()
    return d.isoformat() if d else None


def read_csv_seconds(shape: str, n: int) -> float:
    path = next(p for p, ds in exports(shape, n) if ds == "interactions")
    db = CACHE / "readcsv.duckdb"
    db.unlink(missing_ok=True)
    script = ("import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1]); con.execute(\"SET enable_progress_bar = false\")\n"
              "t = time.perf_counter()\n"
              "con.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('\" + sys.argv[2] + \"')\")\n"
              "print(round(time.perf_counter() - t, 2))")
    res = subprocess.run([sys.executable, "-c", script, str(db), str(path)], capture_output=True, text=True, check=True)
    db.unlink(missing_ok=True)
    return float(res.stdout.strip())


def _cell(row: dict, key: str, script: str | None = None) -> str:
    if key not in row:
        return "–"
    return f"{row[key]:.2f} s" + (f" ({row[script]:.2f})" if script and script in row else "")


def report(run: dict) -> str:
    """A markdown table: seconds per page, the server's script share, ratios to the bare page
    (a first or cold visit to the bare page's cold visit, the rest to its warm one)."""
    bare_run = run["bare"]
    small = run.get("small_change") or {}
    idle = run.get("idle_release", "60")
    lines = [f"### {run['shape']}, {run['interactions']:,} interactions — {run['when']}"
             f" (SOCIALCRM_IDLE_RELEASE={idle})", "",
             f"Bare page: cold {bare_run['cold']} s, warm {bare_run['warm']} s. "
             f"Import: {run['import']}. Server RSS after every page: {run['pages'].get('rss_mb')} MB."]
    if small:
        lines.append(f"A {small['rows']}-row interactions file: import {small['import']} s + derived tables "
                     f"{small['import_sync']} s ({small['import_mode']}); the same file again {small['reimport']} s; "
                     f"its undo {small['undo']} s + derived tables {small['undo_sync']} s ({small['undo_mode']}).")
    lines += ["", "Seconds to a settled page (the server's script time in brackets).", "",
              "| page | first (script) | cold (script) | warm (script) | " + " | ".join(FILTERS)
              + " | first / bare cold | cold / bare cold | warm / bare warm | worst filter / bare warm | load |",
              "|---|---:|---:|---:|" + "---:|" * len(FILTERS) + "---:|---:|---:|---:|---|"]
    cold_base, warm_base = bare_run["cold"] or 1, bare_run["warm"] or 1
    for name, row in run["pages"].items():
        if not isinstance(row, dict):
            continue
        if "error" in row and "cold" not in row:
            lines.append(f"| {name} | error: {row['error'][:80]} |")
            continue
        cells = [_cell(row, "first", "first_script"), _cell(row, "cold", "cold_script"),
                 _cell(row, "warm", "warm_script"), *(_cell(row, k) for k in FILTERS)]
        worst = max((row[k] for k in FILTERS if k in row), default=None)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row.get('first', 0) / cold_base:.1f}× | "
                     f"{row.get('cold', 0) / cold_base:.1f}× | {row.get('warm', 0) / warm_base:.1f}× | "
                     + (f"{worst / warm_base:.1f}×" if worst is not None else "–") + f" | {row['load_before']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--shapes", nargs="+", default=["sample", "powerlaw"], choices=["sample", "powerlaw"])
    ap.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/results alone")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    browser = Browser()
    try:
        for n in args.sizes:
            for shape in args.shapes:
                data_dir, info = build_workspace(shape, n)
                imports = info["imports"]
                baseline = read_csv_seconds(shape, n)
                imp = imports["interactions"]["seconds"]
                parts = imports["interactions"]
                split = (f" (import {parts['import']} s + derived tables {parts['derived']} s)"
                         if "derived" in parts else "")
                run = {"shape": shape, "interactions": n, "when": datetime.now().strftime("%Y-%m-%d %H:%M"),
                       "idle_release": os.environ.get("SOCIALCRM_IDLE_RELEASE", "60"),
                       "import": f"interactions {imp} s{split} vs DuckDB read_csv {baseline} s = {imp / baseline:.2f}× "
                                 f"(all three files {info['seconds']} s, load {info['load']})",
                       "small_change": small_change(data_dir), "bare": bare(browser)}
                run["pages"] = dashboard(browser, data_dir, [p for p in args.pages], span_end(data_dir))
                print(json.dumps(run), flush=True)
                if not args.no_write:
                    RESULTS.parent.mkdir(parents=True, exist_ok=True)
                    head = "" if RESULTS.exists() else "# Browser benchmark (`python -m benchmarks.browser`)\n\n"
                    with RESULTS.open("a") as fh:
                        fh.write(head + report(run) + "\n")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
