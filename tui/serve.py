"""Browser mode: the app served to a web browser with textual-serve.

textual-serve's Server runs a shell command once per browser session (each tab gets its own app
process, driven through Textual's web driver) and relays its screen to xterm.js in the page. The
command here is this interpreter running ``-m tui`` with --data and --runs-db passed through, so the
browser session sees the same app, data and run store as ``ridership`` in a terminal.

textual-serve has no authentication: anyone who can reach the port gets an app with this user's
files and GPU. Bind to loopback (the default) and reach it from elsewhere through an SSH tunnel
(``ssh -L 8000:127.0.0.1:8000 host``); binding any other address prints a warning.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from typing import TextIO

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
NO_AUTH_WARNING = ("warning: textual-serve has no authentication; anyone who can reach {host}:{port} "
                   "can use this app with your files (prefer 127.0.0.1 and an SSH tunnel)")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(data_path: str | None = None, runs_db: str | None = None,
                python: str | None = None) -> str:
    """The shell command textual-serve runs for each browser session (it uses a shell: quote it)."""
    parts = [python or sys.executable, "-m", "tui"]
    if data_path:
        parts += ["--data", str(data_path)]
    if runs_db:
        parts += ["--runs-db", str(runs_db)]
    return shlex.join(parts)


def public_url(host: str, port: int) -> str:
    """The address the page's websocket connects back to (IPv6 literals in brackets)."""
    bare = host.strip("[]")
    if ":" in bare:
        bare = f"[{bare}]"
    return f"http://{bare}:{port}"


def warn_if_exposed(host: str, port: int, stream: TextIO | None = None) -> bool:
    """Print the one-line no-authentication warning for a non-loopback host; True if printed."""
    if is_loopback(host):
        return False
    print(NO_AUTH_WARNING.format(host=host, port=port), file=stream or sys.stderr)
    return True


def serve(host: str = "127.0.0.1", port: int = 8000, data_path: str | None = None,
          runs_db: str | None = None, *, url: str | None = None) -> int:
    """Serve the app on http://host:port until Ctrl+C (or SIGTERM). Returns an exit status.

    ``url`` is the address browsers use to reach the server, when it differs from host:port (a
    proxy, or a host of 0.0.0.0): the page connects its websocket back to it.
    """
    from textual_serve.server import Server  # imported only when browser mode is really used

    warn_if_exposed(host, port)
    server = Server(app_command(data_path, runs_db), host=host, port=port, title="Ridership",
                    public_url=url or public_url(host, port))
    try:
        server.serve()
    except OSError as exc:  # the port is taken, the address is not ours...
        print(f"ridership serve: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tui.serve [--host H] [--port P] [--data PATH] [--runs-db PATH] [--url URL]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tui.serve", description="Serve the Ridership app to a browser.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data", metavar="PATH", help="data file for the app (CSV or .tgz)")
    parser.add_argument("--runs-db", metavar="PATH", help="run store for the app")
    parser.add_argument("--url", metavar="URL", help="address browsers use, if not http://host:port")
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.data, args.runs_db, url=args.url)


if __name__ == "__main__":
    sys.exit(main())
