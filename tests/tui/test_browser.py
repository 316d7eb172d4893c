"""Browser mode end to end: tui.serve in a subprocess, the system Chromium driven by Playwright.

The page draws the terminal on a canvas (xterm.js with its WebGL/canvas renderer), so the text is
not in the DOM. An init script catches the page's xterm.js Terminal as textual-serve's client
stores it (``this.terminal = new Terminal(...)``) and the test reads the terminal's own buffer
through xterm.js's public API (``buffer.active.getLine(y).translateToString()``): the characters
xterm.js holds for its screen, i.e. what the page paints.

Only loopback is used: every request for another host (the page links a Google font) is aborted.
Needs Chromium from the system packages (``apt-get install chromium``); skipped without it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from serve_support import alive, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
pytestmark = pytest.mark.slow  # drives a browser: deselected by -m "not slow"

ROOT = Path(__file__).resolve().parents[2]
START_S = 30  # the server answering HTTP
PAINT_S = 90  # the app process started, painted and relayed (2 shared cores: be generous)
KEY_S = 30

# Keep the page's xterm.js Terminal where the test can read it (see the module docstring).
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active) { window.__xterm = value; }
  },
});
"""
SCREEN_TEXT = """
() => {
  const t = window.__xterm;
  if (!t) return "";
  const b = t.buffer.active, lines = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}: {server.stderr.read()!r}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer {url} within {timeout} s")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the server and the app it started), then SIGKILL."""
    if server.poll() is None:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        except ProcessLookupError:
            pass
    try:  # an app process left behind in the group
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--runs-db",
            str(tmp_path / "runs.sqlite"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: stop() ends the app processes too
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, START_S, server)
        yield url
    finally:
        stop(server)
        server.stderr.close()


def loopback_only(route) -> None:
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", "localhost", "::1"):
        route.continue_()
    else:
        route.abort()


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for all the module's tests (each launch costs seconds of CPU on 2 shared cores);
    the sync_playwright() session lives as long as it. Tests do not share state: each gets its own
    context (``browser_context``). Per process under xdist."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh context of the shared browser (own cookies, storage, cache and pages), closed at the
    test's end: its pages close, so their app processes end before the next test. Only loopback is
    reached, and every page catches its xterm.js Terminal (``CATCH_TERMINAL``)."""
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    try:
        context.route("**/*", loopback_only)
        context.add_init_script(CATCH_TERMINAL)
        yield context
    finally:
        context.close()


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url, timeout=START_S * 1000, wait_until="commit")
    return page


def test_the_served_command_and_the_exposure_warning(capsys):
    from tui.serve import allowed_origins, app_argv, is_loopback, origin_of, public_url, warn_if_exposed

    assert app_argv("/data/my file.csv", "/tmp/runs.db", python="/usr/bin/python3") == [
        "/usr/bin/python3",
        "-m",
        "tui",
        "--data",
        "/data/my file.csv",
        "--runs-db",
        "/tmp/runs.db",
    ]
    assert app_argv(python="py") == ["py", "-m", "tui"]
    assert origin_of("HTTPS://Box.Example:443/x") == "https://box.example" and origin_of("null") == ""
    assert allowed_origins("192.168.1.5", 8000, None) == {"http://192.168.1.5:8000"}
    assert allowed_origins("0.0.0.0", 8000, None) is None  # the request's own Host decides
    assert allowed_origins("0.0.0.0", 8000, "http://box:9000") == {"http://box:9000"}
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert not warn_if_exposed("127.0.0.1", 8000)
    assert capsys.readouterr().err == ""
    assert warn_if_exposed("0.0.0.0", 8000)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no authentication" in err


@needs_chromium
def test_app_paints_in_the_browser_and_keys_switch_panes(served, browser_context):
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.set_default_timeout(PAINT_S * 1000)
    response = page.goto(served, timeout=START_S * 1000)
    assert response is not None and response.ok

    page.wait_for_function("() => window.__xterm !== undefined", timeout=START_S * 1000)
    # First bytes from the app (the page's own marker), then the tab bar's text on screen.
    page.wait_for_selector("body.-first-byte", state="attached", timeout=PAINT_S * 1000)
    page.wait_for_function(f"() => ({SCREEN_TEXT})().includes('Dataset')", timeout=PAINT_S * 1000)
    screen = page.evaluate(SCREEN_TEXT)
    assert "Hyperparameters" in screen  # the second tab's label
    assert "hidden_size" not in screen  # the Hyperparameters pane is not shown yet

    # The data loaded (synthetic here: the test environment hides any real data).
    page.wait_for_function(f"() => ({SCREEN_TEXT})().includes('SYNTHETIC DATA')", timeout=PAINT_S * 1000)

    page.focus("textarea.xterm-helper-textarea")
    page.keyboard.press("2")
    # A field's name: the pane's hint may wrap anywhere at the page's width.
    page.wait_for_function(f"() => ({SCREEN_TEXT})().includes('hidden_size')", timeout=KEY_S * 1000)
    screen = page.evaluate(SCREEN_TEXT)
    assert "hidden_size" in screen and "window_length" in screen, screen
    # The form's rows are built on this first show: once its selector is painted, it names
    # the preset the fields hold (a real driver's order of mounting once left it "custom").
    page.wait_for_function(f"() => /preset\\s+(best|custom)\\b/.test(({SCREEN_TEXT})())", timeout=KEY_S * 1000)
    screen = page.evaluate(SCREEN_TEXT)
    assert re.search(r"preset\s+best\b", screen), screen
    page.screenshot(path="/tmp/browser.png")


# -- browser mode ends what it starts (issue 23, item 2) ------------------------------------------------
# Every app process a page starts ends within seconds of the page closing (however early) and of the
# server's Ctrl+C or SIGTERM. Processes are counted by PID: the server's children while it runs.
@pytest.fixture
def serving(tmp_path):
    from serve_support import Served

    started = []

    def start(*args: str):
        server = Served(tmp_path, *args)
        started.append(server)
        server.wait_for_http()
        return server

    yield start
    for server in started:
        server.stop()


def running_run(db):
    """The run the app records as running, or None."""
    from engine.store import RunStore

    if not db.exists():
        return None
    with RunStore.open(db) as store:
        return next((r for r in store.list_runs() if r.status == "running"), None)


def recorded(db, run_id: int):
    from engine.store import RunStore

    with RunStore.open(db) as store:
        return store.get_run(run_id, with_epochs=False)


def pumping(page):
    """A pause that lets Playwright serve the page's routes (time.sleep would stall its requests)."""
    return lambda seconds: page.wait_for_timeout(seconds * 1000)


def hold_open(page, server, seconds: float) -> None:
    """Keep the page open ``seconds`` (the point of the test: how early it closes), counting the
    server's app processes meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        server.app_pids()
        page.wait_for_timeout(50)


@needs_chromium
def test_pages_closed_early_leave_no_app_process(serving, browser_context):
    server = serving()
    for seconds in (0.5, 1.5, 3.0):
        before = set(server.seen)
        page = open_page(browser_context, server.url)
        hold_open(page, server, seconds)
        page.close()
        server.wait_no_apps(f"the app process of a page closed after {seconds} s to end")
        assert len(server.seen - before) <= 1, "one page started more than one app process"
    assert server.seen, "no page ever started an app process"
    # One page more, left to paint, closed: its app quits (the clean path) as quickly.
    page = open_page(browser_context, server.url)
    page.wait_for_function(f"() => ({SCREEN_TEXT})().includes('Dataset')", timeout=PAINT_S * 1000)
    page.close()
    server.wait_no_apps("the app process of a painted page to end")
    assert server.proc.poll() is None  # the server keeps serving


@needs_chromium
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_servers_ctrl_c_or_sigterm_ends_every_app_process(serving, browser_context, signum):
    server = serving()
    painted = open_page(browser_context, server.url)
    painted.wait_for_function(f"() => ({SCREEN_TEXT})().includes('SYNTHETIC DATA')", timeout=PAINT_S * 1000)
    painted.focus("textarea.xterm-helper-textarea")
    painted.keyboard.press("t")  # a run going when the server stops
    run = wait_until(
        lambda: running_run(server.db),
        PAINT_S,
        "the run started with t to be recorded",
        every=0.5,
        pause=pumping(painted),
    )
    starting = open_page(browser_context, server.url)  # a second page, its app still starting
    wait_until(lambda: len(server.app_pids()) == 2, 30, "two app processes", pause=pumping(starting))
    apps = set(server.seen)
    server.proc.send_signal(signum)  # to the server alone, as Ctrl+C in its terminal would
    server.proc.wait(timeout=30)
    assert server.proc.returncode == 0
    wait_until(
        lambda: not any(alive(p) for p in apps), 15, "the app processes to end with the server", pause=pumping(starting)
    )
    for page in (painted, starting):
        page.close()
    ended = recorded(server.db, run.run_id)
    assert ended.status == "stopped", (ended.status, ended.reason)
    assert ended.reason.startswith("stopped: the browser server stopped during epoch"), ended.reason


@needs_chromium
def test_a_run_stopped_by_closing_its_page_is_recorded_as_a_disconnect(serving, browser_context):
    server = serving()
    page = open_page(browser_context, server.url)
    page.wait_for_function(f"() => ({SCREEN_TEXT})().includes('SYNTHETIC DATA')", timeout=PAINT_S * 1000)
    page.focus("textarea.xterm-helper-textarea")
    page.keyboard.press("t")
    run = wait_until(
        lambda: running_run(server.db), PAINT_S, "the run started with t to be recorded", every=0.5, pause=pumping(page)
    )
    page.close()
    server.wait_no_apps("the app process to end after its page closed")
    ended = recorded(server.db, run.run_id)
    assert ended.status == "stopped", (ended.status, ended.reason)
    assert ended.reason.startswith("stopped: the browser page closed during epoch"), ended.reason
