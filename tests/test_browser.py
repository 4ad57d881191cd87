"""Real-browser test: `streamlit run dashboard.py` on a free port, driven by Playwright in
Debian's chromium (no browser download is possible here), with a temporary data directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/socialcrm-screenshots"))
SHOTS.mkdir(parents=True, exist_ok=True)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]

DUTCH = (
    "Klantnummer;Datum;Kanaal;Richting;Bericht\n"
    "M00001;31-12-2025 14:05;Twitter;klant;Waar blijft mijn koffer?\n"
    "M00002;01-01-2026 09:30;FB;klant;Dank voor de snelle hulp € 10\n"
    "M00003;niet-een-datum;forum;klant;kapot\n"
).encode("cp1252")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_sample):
    yield from _serve(tmp_path_factory, small_sample)


DATA_OF: dict[str, Path] = {}  # server url -> its data folder


def _serve(tmp_path_factory, small_sample, **extra_env):
    data = tmp_path_factory.mktemp("browser-data")
    shutil.copy(small_sample, data / "Sample.duckdb")
    port = _free_port()
    env = {**os.environ, "SOCIALCRM_DATA_DIR": str(data), **extra_env}
    log = open(data / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    DATA_OF[url] = data
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (data / "server.log").read_text()[-2000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)  # CI machines are shared: generous waits, never sleeps
    yield pg
    ctx.close()


def _no_error(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']").first.inner_text()


def test_overview_opens_on_sample(server, page):
    outside = []  # the app works offline: nothing may be fetched from anywhere but the server
    page.on("request", lambda r: None if r.url.startswith(server) or r.url.startswith(("data:", "blob:"))
            else outside.append(r.url))
    vega = []  # issue 15.5: the tiles' sparklines logged "WARN Infinite extent" twice each
    page.on("console", lambda m: vega.append(m.text) if "WARN" in m.text else None)
    page.goto(server)
    page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=60_000)
    page.get_by_text("Active members per month").wait_for()
    page.get_by_text("What is stored").wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
    _no_error(page)
    assert not outside, outside
    assert page.locator("[data-testid='stMarkdown'] svg.spark").count() >= 6  # the tiles' trends
    assert not vega, vega


@pytest.mark.parametrize("path,heading", [
    ("/participation", "Participation"), ("/retention", "Retention"), ("/development", "Development"),
    ("/listening", "Listening"),
])
def test_deep_links_open_through_the_router(server, page, path, heading):
    # A shared link to a page must get the router's sidebar (navigation groups and filters).
    page.goto(f"{server}{path}?grain=week")
    page.get_by_role("heading", name=heading, exact=True).first.wait_for()
    page.get_by_text("Measure").first.wait_for()
    assert page.get_by_test_id("stSidebar").get_by_role("radio", name="week").is_checked()
    page.wait_for_timeout(2000)
    page.screenshot(path=str(SHOTS / f"{heading.lower()}.png"), full_page=True)
    _no_error(page)


def test_a_deep_link_as_the_first_request_goes_through_the_router(tmp_path_factory, small_sample, browser):
    """A server's very first run, when it is a deep link, would run the page file by itself (Streamlit
    starts in its folder-of-pages mode while a pages/ folder exists): the page must still get the
    router's navigation and sidebar (ui.context hands the run back to the router)."""
    fresh = _serve(tmp_path_factory, small_sample)
    url = next(fresh)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{url}/retention?grain=week")
        pg.get_by_role("heading", name="Retention", exact=True).first.wait_for()
        nav = pg.get_by_test_id("stSidebarNav")
        nav.get_by_text("Measure").wait_for()  # the router's sections, not file names
        # (the folder-of-pages menu would list the files: "plans", "members", ...)
        assert nav.get_by_text("Targets & trials").count() == 1 and nav.get_by_text("plans", exact=True).count() == 0
        assert pg.get_by_test_id("stSidebar").get_by_role("radio", name="week").is_checked()
        _no_error(pg)
        ctx.close()
    finally:
        next(fresh, None)


def test_a_cli_import_next_to_the_running_dashboard_waits_its_turn(tmp_path_factory, small_sample, browser, tmp_path):
    """Issue 14.7: the dashboard held the workspace for its lifetime, so the CLI failed with a lock
    traceback. The dashboard lets go of a workspace it has not used for a while (here 2 s); the
    CLI waits for it, imports, and the page shows the new rows on the next visit."""
    fresh = _serve(tmp_path_factory, small_sample, SOCIALCRM_IDLE_RELEASE="2")
    url = next(fresh)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{url}/data")
        pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
        pg.get_by_text("What is stored").first.wait_for()
        _no_error(pg)
        ws = DATA_OF[url] / "Sample.duckdb"
        csv = tmp_path / "cli_rows.csv"
        csv.write_text("occurred_at,channel,member_id,text\n"
                       + "".join(f"2026-01-{d:02d} 10:00,forum,CLI{d:03d},from the command line {d}\n"
                                 for d in range(1, 29)))
        done = subprocess.run([sys.executable, "-m", "metrics", "--wait", "60", "import", str(csv), "--workspace",
                               str(ws)], cwd=ROOT, capture_output=True, text=True, timeout=180,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"rows_loaded": 28' in done.stdout, done.stdout
        pg.reload()  # the dashboard opens the workspace again and sees the import
        pg.get_by_role("heading", name="Data", exact=True).first.wait_for()
        pg.get_by_role("tab", name="Import history").click()
        pg.get_by_text("cli_rows.csv").first.wait_for(state="attached")  # a cell of the history grid
        pg.wait_for_timeout(1000)
        pg.screenshot(path=str(SHOTS / "data-after-cli-import.png"), full_page=True)
        _no_error(pg)
        ctx.close()
    finally:
        next(fresh, None)


def test_filters_live_in_the_url(server, page):
    page.goto(f"{server}/members?channel=forum&grain=week&member_q=M0000")
    page.get_by_role("heading", name="Members").wait_for(timeout=60_000)
    page.get_by_text("Segment").first.wait_for()
    assert "channel=forum" in page.url and "grain=week" in page.url
    _no_error(page)


def test_filters_survive_a_page_switch(server, page):
    page.goto(f"{server}/?channel=forum&grain=week")
    page.get_by_text("Active members per week").wait_for(timeout=60_000)
    page.get_by_role("link", name="Members").click()
    page.get_by_role("heading", name="Members").wait_for()
    page.wait_for_timeout(1500)
    assert "channel=forum" in page.url and "grain=week" in page.url, page.url
    assert page.get_by_test_id("stSidebar").get_by_role("radio", name="week").is_checked()
    page.reload()
    page.get_by_role("heading", name="Members").wait_for()
    page.get_by_role("link", name="Overview").click()
    page.get_by_text("Active members per week").wait_for()
    _no_error(page)


def test_upload_dutch_csv_through_the_browser(server, page, tmp_path):
    upload = tmp_path / "berichten.csv"
    upload.write_bytes(DUTCH)
    page.goto(f"{server}/data")
    page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
    page.locator("input[type='file']").set_input_files(str(upload))
    button = page.get_by_role("button", name="Import berichten.csv into interactions")
    button.wait_for()
    page.get_by_text("cp1252").first.wait_for()
    button.click()
    page.get_by_text("2 of 3 rows loaded into interactions, 1 rejected").wait_for()
    page.get_by_text("Rejected rows (1;").wait_for()
    _no_error(page)
    page.screenshot(path=str(SHOTS / "data-after-import.png"), full_page=True)
    page.get_by_role("tab", name="Import history").click()
    page.get_by_text("Undo an import").wait_for()
    page.screenshot(path=str(SHOTS / "data-history.png"), full_page=True)
    # The new rows count at once: the sample's 12,000 interactions plus the 2 loaded.
    page.get_by_role("link", name="Overview").click()
    page.get_by_text("12\u202f002", exact=True).wait_for()
    _no_error(page)


def test_create_a_target_and_see_it_on_the_overview(server, page):
    page.goto(f"{server}/plans")
    page.get_by_role("heading", name="Targets & trials").wait_for(timeout=60_000)
    name = page.get_by_role("textbox", name="Your name")
    name.fill("Browser Tester")
    name.press("Enter")
    page.get_by_text("as Browser Tester").wait_for()
    form = page.get_by_test_id("stForm").filter(has_text="Create target")
    form.get_by_role("textbox", name="Name", exact=True).fill("Forum members taking part")
    form.get_by_role("spinbutton", name="Target value (%)").fill("12.5")
    form.get_by_role("textbox", name="Owner").fill("Community team")
    form.get_by_role("button", name="Create target").click()
    page.get_by_text("Target created: Forum members taking part.").wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "plans-after-create.png"), full_page=True)
    _no_error(page)
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("heading", name="Overview", exact=True).wait_for()
    page.get_by_text("Forum members taking part").first.wait_for()
    page.get_by_text("≥ 12.5 %").first.wait_for()  # the target's goal, stored as the share 0.125
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "overview-with-target.png"), full_page=True)
    _no_error(page)
    # The one-page report for management carries the new target and the charts as images.
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the one-page report (HTML)").click()
    report = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.startswith("overview-Sample-")
    assert "Forum members taking part" in report and "≥ 12.5 %" in report
    assert report.count('<img src="data:image/png;base64,') >= 2  # active members + the targets' charts
