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
        [sys.executable, "-m", "tui.serve", "--host", "127.0.0.1", "--port", str(port),
         "--runs-db", str(tmp_path / "runs.sqlite")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
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


def test_the_served_command_and_the_exposure_warning(capsys):
    from tui.serve import app_command, is_loopback, public_url, warn_if_exposed

    assert app_command("/data/my file.csv", "/tmp/runs.db", python="/usr/bin/python3") == \
        "/usr/bin/python3 -m tui --data '/data/my file.csv' --runs-db /tmp/runs.db"
    assert app_command(python="py") == "py -m tui"
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert not warn_if_exposed("127.0.0.1", 8000)
    assert capsys.readouterr().err == ""
    assert warn_if_exposed("0.0.0.0", 8000)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no authentication" in err


@needs_chromium
def test_app_paints_in_the_browser_and_keys_switch_panes(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.route("**/*", loopback_only)
            page.add_init_script(CATCH_TERMINAL)
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
            page.wait_for_function(f"() => ({SCREEN_TEXT})().includes(`the article's defaults`)",
                                   timeout=KEY_S * 1000)
            screen = page.evaluate(SCREEN_TEXT)
            assert "hidden_size" in screen and "window_length" in screen, screen
            page.screenshot(path="/tmp/browser.png")
        finally:
            browser.close()
