"""A SODA 2.1 server on 127.0.0.1 for the portal tests: it answers ``/resource/6iiy-9s97.json`` queries
($order, $limit, $offset, $where service_date > '...') from a table it holds, and can misbehave on
cue (``script``: one action per request, then normal answers). Every request is recorded (path,
query, headers); ``hold_at`` makes the request for one offset wait until ``release`` is set, so a
test can act at a known state (``holding`` is set once it waits)."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd

from engine.data.synthetic import synthetic_frame

RESOURCE = "/resource/6iiy-9s97.json"


def soda_rows(frame: pd.DataFrame) -> list[dict]:
    """A clean frame as the portal's JSON rows (numbers as text, floating timestamps)."""
    return [
        {
            "service_date": f"{d:%Y-%m-%d}T00:00:00.000",
            "day_type": r.day_type,
            "bus": str(int(r.bus)),
            "rail_boardings": str(int(r.rail)),
            "total_rides": str(int(r.bus + r.rail)),
        }
        for d, r in zip(frame.index, frame.itertuples())
    ]


def table(first: str, last: str) -> list[dict]:
    return soda_rows(synthetic_frame(first, last))


class FakePortal:
    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.script: list = []  # e.g. [("status", 429, {"Retry-After": "1"}), ("hang",), ("huge",)]
        self.requests: list[dict] = []
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                portal._answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakePortal:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        with self.lock:
            self.requests.append(
                {"path": parts.path, "query": query, "headers": dict(handler.headers), "at": time.monotonic()}
            )
            action = self.script.pop(0) if self.script else None
        if action is not None:
            kind = action[0]
            if kind == "status":
                self._send(handler, action[1], b'{"error": true}', action[2] if len(action) > 2 else {})
                return
            if kind == "hang":
                self.release.wait(30)
                return
            if kind == "cut":  # promise the whole page, send half of it and close
                body = json.dumps(self.rows[:100]).encode()
                handler.send_response(200)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body[: len(body) // 2])
                handler.close_connection = True
                return
            if kind == "huge":
                self._send(handler, 200, b"[" + b" " * (4 << 20) + b"]")
                return
            if kind == "rows":  # answer these rows instead of the table's
                self._send(handler, 200, json.dumps(action[1]).encode())
                return
        if parts.path != RESOURCE:
            self._send(handler, 404, b'{"error": "not found"}')
            return
        rows = self.rows
        where = query.get("$where")
        if where:
            m = re.fullmatch(r"service_date > '([0-9T:.\-]+)'", where)
            assert m, where
            rows = [r for r in rows if r["service_date"] > m.group(1)]
        assert query.get("$order") == "service_date"
        offset, limit = int(query.get("$offset", 0)), int(query.get("$limit", 1000))
        if self.hold_at is not None and offset == self.hold_at:
            self.holding.set()
            self.release.wait(30)
        self._send(handler, 200, json.dumps(rows[offset : offset + limit]).encode())

    @staticmethod
    def _send(handler, code: int, body: bytes, headers: dict | None = None) -> None:
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def revised(rows: list[dict], date: str, series: str = "bus", delta: int = 1234) -> list[dict]:
    """The rows with one day's ``series`` changed by ``delta`` (a CTA revision)."""
    out = [dict(r) for r in rows]
    for r in out:
        if r["service_date"].startswith(date):
            r[series] = str(int(r[series]) + delta)
            r["total_rides"] = str(int(r["bus"]) + int(r["rail_boardings"]))
    return out


__all__ = ["FakePortal", "soda_rows", "table", "revised"]
