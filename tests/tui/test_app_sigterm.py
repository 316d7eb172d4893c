"""SIGTERM to the app (issue 24): treated like Ctrl+Q, not a sudden death. A run going stops within a
batch and is recorded "stopped", naming the signal, instead of being left "running"; the app exits
with 128 + 15. The app runs in a pseudo-terminal, as a person's would."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time

import pytest
from serve_support import ROOT, wait_until

from engine.store import RunStore

pytestmark = pytest.mark.slow  # a real app process that trains


def test_sigterm_stops_the_run_and_records_it(tmp_path):
    db = tmp_path / "runs.db"
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    app = subprocess.Popen(
        [sys.executable, "-m", "tui", "--runs-db", str(db)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    seen, done = bytearray(), threading.Event()

    def drain() -> None:  # keep reading the screen: a full pty would block the app
        while not done.is_set():
            try:
                if select.select([master], [], [], 0.2)[0]:
                    seen.extend(os.read(master, 65536))
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()

    def running_run():
        if not db.exists():
            return None
        with RunStore.open(db) as store:
            return next((r for r in store.list_runs() if r.status == "running"), None)

    try:
        wait_until(lambda: b"SYNTHETIC" in seen, 90, "the app to paint its data")
        deadline, run = time.monotonic() + 120, None
        while run is None:  # t until a run is recorded (the store may still be opening)
            assert time.monotonic() < deadline, "no run was recorded after t"
            os.write(master, b"t")
            try:
                run = wait_until(running_run, 5, "the run to be recorded", every=0.2)
            except AssertionError:
                continue
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=180) == 128 + signal.SIGTERM  # the timeout only turns a hang into a failure
    finally:
        done.set()
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(timeout=10)
        reader.join(5)
        os.close(master)
    with RunStore.open(db) as store:
        ended = store.get_run(run.run_id, with_epochs=False)
    assert ended.status == "stopped", (ended.status, ended.reason)
    assert ended.reason.startswith("stopped: the app received SIGTERM during epoch"), ended.reason
