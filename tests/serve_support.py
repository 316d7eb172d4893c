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
        self.descendants: set[int] = set()  # every PID ever seen below the server (apps included)

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
        """The server's live app processes (its children running ``-m tui``), remembered in
        ``seen``; every descendant, app or not, is remembered in ``descendants``. Only the apps are
        counted: an app (or the server) may run a short-lived helper of its own while it imports
        (ctypes' find_library runs ``ldconfig -p``), which is no second app but must end too."""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return set()
        pids = set()
        for child in children:
            if not alive(child.pid):
                continue
            self.descendants.add(child.pid)
            try:
                is_app = child.ppid() == self.proc.pid and "tui" in child.cmdline()
            except psutil.Error:  # ended meanwhile
                continue
            if is_app:
                pids.add(child.pid)
        self.seen |= pids
        return pids

    def wait_no_apps(self, what: str = "every app process to end", pause=time.sleep) -> None:
        """Every app process and everything any of them started has ended."""

        def none_left() -> bool:
            return not self.app_pids() and not any(alive(p) for p in self.seen | self.descendants)

        wait_until(none_left, END_S, what, pause=pause)

    def stop(self) -> None:
        """Cleanup only (the tests check the real ends): SIGKILL whatever is left of the group."""
        for pid in [self.proc.pid, *self.seen, *self.descendants]:
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
