"""Browser mode: the app served to a web browser with textual-serve.

textual-serve's Server runs the app once per browser page (each tab gets its own app process,
driven through Textual's web driver) and relays its screen to xterm.js in the page. The app here is
this interpreter running ``-m tui`` with --data and --runs-db passed through, so the browser page
sees the same app, data and run store as ``ridership`` in a terminal.

What this module adds to textual-serve (whose Server does none of it):
- **Every app process ends with its page.** Each one is started without a shell, in its own
  process group, told to quit when its page closes, then sent SIGTERM and SIGKILL if it has not
  ended within seconds; the server's Ctrl+C or SIGTERM ends them all the same way before it
  exits, and an app whose server dies anyway exits at the end of its input (tui/web_driver.py)
  or on the parent-death signal.
- **Only the served page may open an app.** A websocket whose ``Origin`` is not the page's own
  address is refused (403), so another web site the user visits cannot start and drive the app.
  A client that sends no Origin (not a browser) is let through: it could run the app anyway.
- **At most ``max_apps`` app processes** per server; one page more gets a line saying so.
- **The port is taken before anything is printed**: a port in use is one line, no banner.

There is no authentication: anyone who can reach the port gets an app with this user's files and
GPU. Bind to loopback (the default) and reach it from elsewhere through an SSH tunnel
(``ssh -L 8000:127.0.0.1:8000 host``); binding any other address prints a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
import shlex
import signal
import socket
import sys
from typing import TextIO

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
NO_AUTH_WARNING = (
    "warning: textual-serve has no authentication; anyone who can reach {host}:{port} "
    "can use this app with your files (prefer 127.0.0.1 and an SSH tunnel)"
)
DEFAULT_MAX_APPS = 4
QUIT_GRACE_S = 5.0  # an app asked to quit stops its run within a batch and records it
TERM_GRACE_S = 3.0  # then SIGTERM (the same clean exit, for an app that missed the quit), then SIGKILL
DRIVER = "tui.web_driver:RidershipWebDriver"
SERVER_STOPPED = "the browser server stopped"  # a run's stop reason when Ctrl+C ends the server
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

log = logging.getLogger("ridership.serve")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_unspecified(host: str) -> bool:
    """True for 0.0.0.0 and :: (every address of this machine)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def app_argv(data_path: str | None = None, runs_db: str | None = None, python: str | None = None) -> list[str]:
    """The app process's command line (run without a shell)."""
    parts = [python or sys.executable, "-m", "tui"]
    if data_path:
        parts += ["--data", str(data_path)]
    if runs_db:
        parts += ["--runs-db", str(runs_db)]
    return parts


def app_command(data_path: str | None = None, runs_db: str | None = None, python: str | None = None) -> str:
    """The app's command line as one shell-quoted string (what the banner shows)."""
    return shlex.join(app_argv(data_path, runs_db, python))


def public_url(host: str, port: int) -> str:
    """The address the page's websocket connects back to (IPv6 literals in brackets)."""
    bare = host.strip("[]")
    if ":" in bare:
        bare = f"[{bare}]"
    return f"http://{bare}:{port}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case, without the scheme's default port."""
    from yarl import URL

    try:
        parsed = URL(url.strip())
        if not parsed.scheme or not parsed.host:
            return ""
        return str(parsed.origin()).lower()
    except (ValueError, TypeError):
        return ""


def allowed_origins(host: str, port: int, url: str | None) -> set[str] | None:
    """The page origins whose websockets may start an app; None: the request's own Host decides.

    With a public URL, or a named address, only that origin. On loopback also its other names
    (localhost, 127.0.0.1, [::1]) at the same port. On 0.0.0.0 or :: with no public URL, the page
    is served under whatever name the browser used, so its origin must match the request's Host.
    """
    if url:
        return {origin_of(url)}
    if is_unspecified(host):
        return None
    origins = {origin_of(public_url(host, port))}
    if is_loopback(host):
        origins |= {origin_of(public_url(name, port)) for name in LOOPBACK_NAMES}
    return origins


def warn_if_exposed(host: str, port: int, stream: TextIO | None = None) -> bool:
    """Print the one-line no-authentication warning for a non-loopback host; True if printed."""
    if is_loopback(host):
        return False
    print(NO_AUTH_WARNING.format(host=host, port=port), file=stream or sys.stderr)
    return True


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, taken before anything is printed (OSError if the port is in use)."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    return socket.create_server((bare, port), family=family)


def _die_with_parent() -> None:
    """In the app process before it runs: SIGTERM when the server dies (Linux), a clean exit."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill_group(pid: int, signum: int) -> bool:
    """Signal the app's process group (the app and anything it started); False if it is gone."""
    try:
        os.killpg(pid, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def make_server(
    argv: list[str],
    host: str,
    port: int,
    *,
    url: str | None = None,
    max_apps: int = DEFAULT_MAX_APPS,
    out: TextIO | None = None,
):
    """The aiohttp-backed server (textual-serve's Server, with the additions above)."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class AppProcess(AppService):
        """One page's app process: started without a shell, in its own group, always ended."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._ended = False
            self.painted = False  # the app has sent its first bytes: it is running, it may train

        async def on_data(self, payload: bytes) -> None:
            self.painted = True
            await super().on_data(payload)

        async def _open_app_process(self, width: int = 80, height: int = 24):
            environment = self._build_environment(width=width, height=height)
            environment["TEXTUAL_DRIVER"] = DRIVER
            self._process = process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=environment,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            self._stdin = process.stdin
            return process

        @property
        def pid(self) -> int | None:
            return self._process.pid if self._process is not None else None

        async def stop(self, reason: str = "") -> None:
            """Quit, then SIGTERM, then SIGKILL: the process group is gone when this returns.
            ``reason``: why, for a run the app stops (default: its page closed)."""
            if self._ended:
                return
            self._ended = True
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
            process = self._process
            if process is not None:
                steps = [(signal.SIGTERM, TERM_GRACE_S), (signal.SIGKILL, None)]
                if self.painted:  # a running app quits cleanly (a run going is recorded "stopped")
                    with contextlib.suppress(Exception):  # its stdin may be closed already
                        await asyncio.wait_for(self.send_meta({"type": "quit", "reason": reason}), 1)
                    steps.insert(0, (None, QUIT_GRACE_S))
                # else it is still starting (importing): nothing to save, and it would read the
                # quit only once started, seconds later. SIGTERM ends it now.
                for signum, grace in steps:
                    if signum is not None and not _kill_group(process.pid, signum):
                        break
                    try:
                        await asyncio.wait_for(process.wait(), grace)
                        break
                    except asyncio.TimeoutError:
                        continue
                _kill_group(process.pid, signal.SIGKILL)  # anything the app started and left behind
            if self._task is not None:
                try:
                    await asyncio.wait_for(self._task, 5)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    pass
                self._task = None

    class RidershipServer(Server):
        def __init__(self) -> None:
            super().__init__(
                app_command(),
                host=host,
                port=port,
                title="Ridership",
                public_url=url or (None if is_unspecified(host) else public_url(host, port)),
            )
            if not url and is_unspecified(host):
                self.public_url = ""  # from each request's Host (see handle_index)
            self.origins = allowed_origins(host, port, url)
            self.max_apps = max_apps
            self.apps: set[AppProcess] = set()
            self.sockets: set[web.WebSocketResponse] = set()

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.on_shutdown.append(self.end_all)
            return app

        async def on_startup(self, app: web.Application) -> None:
            shown = self.public_url or f"http://{socket.gethostname()}:{port} (or any address of this machine)"
            print(
                f"Serving the Ridership app on {shown} (at most {self.max_apps} browser pages at once; Ctrl+C to stop)",
                file=out or sys.stdout,
                flush=True,
            )

        async def end_all(self, app: web.Application | None = None) -> None:
            """Shutting down: every app process ended, every page's websocket closed."""
            await asyncio.gather(*(service.stop(SERVER_STOPPED) for service in list(self.apps)), return_exceptions=True)
            await asyncio.gather(*(ws.close() for ws in list(self.sockets)), return_exceptions=True)

        def base_url(self, request: web.Request) -> str:
            if self.public_url:
                return self.public_url
            if not _HOST_HEADER.match(request.host or ""):
                raise web.HTTPBadRequest(text="bad Host header")
            return f"http://{request.host}"

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict:
            base = self.base_url(request)
            ws_url = ("wss:" if base.startswith("https") else "ws:") + base.split(":", 1)[1]
            return {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": ws_url + str(request.app.router["websocket"].url_for()),
                "config": {
                    "static": {"url": f"{base}{request.app.router['static'].url_for(filename='/')}".rstrip("/") + "/"}
                },
                "application": {"name": self.title},
            }

        def origin_allowed(self, request: web.Request) -> bool:
            origin = request.headers.get("Origin")
            if origin is None:
                return True  # not a browser: it could as well run the app itself
            allowed = self.origins if self.origins is not None else {origin_of(self.base_url(request))}
            return origin_of(origin) in allowed

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            if not self.origin_allowed(request):
                log.warning("refused a websocket from origin %r", request.headers.get("Origin"))
                raise web.HTTPForbidden(text="this page's origin may not open the app")
            websocket = web.WebSocketResponse(heartbeat=15)
            await websocket.prepare(request)
            if len(self.apps) >= self.max_apps:
                await websocket.send_bytes(
                    f"\r\nThis server already runs {len(self.apps)} app processes, its limit "
                    f"(ridership serve --max-apps). Close another page and reload this one.\r\n".encode()
                )
                await websocket.close(code=1013)  # try again later
                return websocket
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            service = AppProcess(
                app_command(),
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            self.apps.add(service)
            self.sockets.add(websocket)
            try:
                await service.start(width, height)
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                pass
            except Exception as error:  # noqa: BLE001 (a malformed message: end this page's app, keep serving)
                log.warning("closing a page after %s: %s", type(error).__name__, error)
            finally:
                await asyncio.shield(service.stop())
                self.apps.discard(service)
                self.sockets.discard(websocket)
                with contextlib.suppress(Exception):
                    await websocket.close()
            return websocket

    return RidershipServer()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_path: str | None = None,
    runs_db: str | None = None,
    *,
    url: str | None = None,
    max_apps: int = DEFAULT_MAX_APPS,
) -> int:
    """Serve the app on http://host:port until Ctrl+C (or SIGTERM). Returns an exit status.

    ``url`` is the address browsers use to reach the server, when it differs from host:port (a
    proxy, a tunnel to another port, or a host of 0.0.0.0): the page connects its websocket back
    to it, and only pages from it may open the app.
    """
    try:
        sock = listen(host, port)
    except OSError as exc:  # the port is taken, the address is not ours...
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"ridership serve: cannot listen on {host}:{port}: {why}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]  # port 0: the one the system chose
    warn_if_exposed(host, port)
    from aiohttp import web

    logging.basicConfig(level=logging.WARNING, format="ridership serve: %(message)s")
    server = make_server(app_argv(data_path, runs_db), host, port, url=url, max_apps=max_apps)
    loop = asyncio.new_event_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.request_exit)
    try:
        web.run_app(
            server._make_app(),
            sock=sock,
            handle_signals=False,
            loop=loop,
            print=None,
            shutdown_timeout=QUIT_GRACE_S + TERM_GRACE_S + 2,
            access_log=None,
        )
    finally:
        for service in list(server.apps):  # the loop ended some other way: nothing may outlive us
            if service.pid is not None:
                _kill_group(service.pid, signal.SIGKILL)
        if not loop.is_closed():
            loop.close()  # and with it the signal handlers
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tui.serve [--host H] [--port P] [--data PATH] [--runs-db PATH] [--public-url URL]
    [--max-apps N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tui.serve", description="Serve the Ridership app to a browser.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument("--data", metavar="PATH", help="data file for the app (CSV or .tgz)")
    parser.add_argument("--runs-db", metavar="PATH", help="run store for the app")
    parser.add_argument(
        "--public-url", "--url", dest="url", metavar="URL", help="address browsers use, if not http://host:port"
    )
    parser.add_argument("--max-apps", type=int, default=DEFAULT_MAX_APPS, help="app processes at most")
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.data, args.runs_db, url=args.url, max_apps=args.max_apps)


if __name__ == "__main__":
    sys.exit(main())
