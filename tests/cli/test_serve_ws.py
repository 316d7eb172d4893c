"""`ridership serve` for real on 127.0.0.1, driven by a websocket client (aiohttp): only the served
page's origin may start the app, the app processes are bounded, the page connects back to the public
URL, and a port in use is one line with no banner."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import urllib.request

import aiohttp
import pytest
from serve_support import ROOT, Served, wait_until

pytestmark = pytest.mark.slow  # real servers and app processes


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*args: str) -> Served:
        server = Served(tmp_path, *args)
        started.append(server)
        server.wait_for_http()
        return server

    yield start
    for server in started:
        server.stop()


async def _handshake(url: str, origin: str | None) -> int:
    """The HTTP status of a websocket upgrade sent with ``origin`` (101: accepted)."""
    headers = {"Origin": origin} if origin is not None else {}
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url + "ws?width=80&height=24", headers=headers)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


def test_a_cross_origin_websocket_is_refused_and_starts_no_app(serve):
    server = serve()
    for origin in (
        "http://evil.example",
        f"http://evil.example:{server.port}",
        f"http://127.0.0.1:{server.port + 1}",
        f"https://127.0.0.1:{server.port}",
        "null",
    ):
        assert asyncio.run(_handshake(server.url, origin)) == 403, origin
    assert not server.seen and not server.app_pids(), "a refused page started an app process"
    # The page's own origin, under each loopback name, and a client that sends none are let in.
    for origin in (f"http://127.0.0.1:{server.port}", f"http://localhost:{server.port}", None):
        assert asyncio.run(_handshake(server.url, origin)) == 101, origin
    server.wait_no_apps("the accepted pages' app processes to end")
    assert "refused a websocket from origin 'http://evil.example'" in server.stderr()


async def _hold_pages(url: str, origin: str, count: int, server: Served) -> list[tuple[int | None, str]]:
    """Open ``count`` pages; the first ones stay open while the last is read to its close."""
    async with aiohttp.ClientSession() as session:
        held = [await session.ws_connect(url + "ws", headers={"Origin": origin}) for _ in range(count - 1)]
        await asyncio.to_thread(
            wait_until, lambda: len(server.app_pids()) == count - 1, 30, f"{count - 1} app processes"
        )
        extra = await session.ws_connect(url + "ws", headers={"Origin": origin})
        text = ""
        async for message in extra:  # until the server closes it
            if message.type == aiohttp.WSMsgType.BINARY:
                text += message.data.decode()
        result = [(extra.close_code, text)]
        apps_while_full = len(server.app_pids())
        for ws in held:
            await ws.close()
        return result + [(apps_while_full, "")]


def test_app_processes_are_bounded_per_server(serve):
    server = serve("--max-apps", "2")
    [(code, text), (apps_while_full, _)] = asyncio.run(
        _hold_pages(server.url, f"http://127.0.0.1:{server.port}", 3, server)
    )
    assert code == 1013 and "already runs 2 app processes" in text and "--max-apps" in text
    assert apps_while_full == 2  # the third page started none
    server.wait_no_apps()


def test_the_page_connects_back_to_the_public_url(serve):
    server = serve("--public-url", "http://ridership.example:9000/")
    with urllib.request.urlopen(server.url, timeout=10) as response:
        page = response.read().decode()
    assert "ws://ridership.example:9000/ws" in page and "0.0.0.0" not in page
    assert "http://ridership.example:9000/static/" in page
    # Only that origin may open the app now; the loopback address it is bound to may not.
    assert asyncio.run(_handshake(server.url, "http://ridership.example:9000")) == 101
    assert asyncio.run(_handshake(server.url, f"http://127.0.0.1:{server.port}")) == 403
    server.wait_no_apps()


@pytest.mark.parametrize("url", ["ridership.example:9000", "ftp://x", "http://h:99999", "http://h/path"])
def test_a_bad_public_url_is_a_usage_error(url):
    result = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--public-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "expected the page's address such as http://myhost:8000" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_one_line_and_no_banner():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""  # no "Serving ..." banner before the failure
    [line] = result.stderr.strip().splitlines()
    assert line == f"ridership serve: cannot listen on 127.0.0.1:{port}: Address already in use"
