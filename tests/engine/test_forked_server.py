"""When the workers' server may be a fork of the sweep's process (engine/sweep/forked_server.py):
only with one thread and no file open. The CLI's sweeps, which take the fork, are
tests/cli/test_hardening_sweeps.py's; the app's, which do not, tests/tui/test_sweeps_pane.py's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sqlite3, sys, threading
from engine.sweep.forked_server import fork_is_safe
alone = fork_is_safe()
db = sqlite3.connect(sys.argv[1]); db.execute("CREATE TABLE t (x)")
with_db = fork_is_safe()
db.close()
closed = fork_is_safe()
threading.Thread(target=threading.Event().wait, daemon=True).start()
print(alone, with_db, closed, fork_is_safe())
"""


def test_a_fork_only_with_one_thread_and_no_file_open(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the server is forked on Linux only")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "runs.db")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # An SQLite database open in the process refuses it (a copy's writes corrupt it), a closed one
    # no longer does, and a second thread refuses it.
    assert done.stdout.split() == ["True", "False", "True", "False"]
