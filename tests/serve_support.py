"""Helpers for the tests of browser mode: `ridership serve` in a subprocess on 127.0.0.1, the app
processes it starts counted by PID, and waits for states (never fixed sleeps)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
START_S = 30  # the server answering HTTP (2 shared cores: be generous)
END_S = 30  # every app process gone (the server allows itself 5 + 3 s, then SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, every: float = 0.1, pause=time.sleep):
    """Poll ``condition()`` until it is truthy (returned) or fail naming ``what``. ``pause(seconds)``
    waits between polls: a Playwright page's wait_for_timeout lets its route handlers run meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        pause(every)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Served:
    """`ridership serve` started with ``args`` on a free loopback port, in its own process group."""

    def __init__(self, tmp_path: Path, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.db = tmp_path / "runs.sqlite"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        # Output to files, not pipes nobody reads (a full pipe would block the server).
        self.out_path, self.err_path = tmp_path / "serve.out", tmp_path / "serve.err"
        self._out, self._err = open(self.out_path, "w"), open(self.err_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--runs-db",
                str(self.db),
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,  # its own group: cleanup can end what a failing test left
        )
        self.seen: set[int] = set()  # every app process PID ever seen

    def wait_for_http(self) -> None:
        def answers() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}: {self.stderr()!r}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(answers, START_S, f"the server to answer {self.url}", every=0.2)

    def app_pids(self) -> set[int]:
        """The server's live child processes (its app processes), remembered in ``seen``."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return set()
        pids = {c.pid for c in children if alive(c.pid)}
        self.seen |= pids
        return pids

    def wait_no_apps(self, what: str = "every app process to end", pause=time.sleep) -> None:
        wait_until(lambda: not self.app_pids() and not any(alive(p) for p in self.seen), END_S, what, pause=pause)

    def stop(self) -> None:
        """Cleanup only (the tests check the real ends): SIGKILL whatever is left of the group."""
        for pid in [self.proc.pid, *self.seen]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._out.close()
        self._err.close()

    def stdout(self) -> str:
        return self.out_path.read_text()

    def stderr(self) -> str:
        return self.err_path.read_text()
