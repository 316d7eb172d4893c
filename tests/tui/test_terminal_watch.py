"""The app exits when its terminal goes away instead of spinning (SSH drop without SIGHUP)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from tui.terminal_watch import terminal_gone


def test_terminal_gone_follows_the_pseudo_terminal():
    master, slave = pty.openpty()
    try:
        assert not terminal_gone(slave)
        os.close(master)
        assert terminal_gone(slave)
    finally:
        os.close(slave)


def test_a_closed_fd_counts_as_gone():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    assert terminal_gone(r)


def test_the_app_exits_when_its_terminal_closes(tmp_path):
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", RIDERSHIP_HOME=str(tmp_path))
    app = subprocess.Popen(
        [sys.executable, "-m", "tui"], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )  # no controlling tty: no SIGHUP will come
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 20
    while b"Dataset" not in seen and time.monotonic() < deadline:  # wait for the first screen
        if select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 65536)
    os.close(master)
    try:
        assert b"Dataset" in seen, "the app never painted"
        assert app.wait(timeout=15) == 129
    finally:
        if app.poll() is None:
            app.kill()
