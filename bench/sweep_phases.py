"""Where the wall clock of `ridership sweep` goes, read back from its run store: start-up to the first
trial, each trial's time beyond its epochs (scoring, the LightGBM reference, recording), and the
tail from the last trial to the command's exit.

    python -m bench.sweep_phases 1,2[,1,2...]     (worker counts, run in that order)

The real data, the `best` preset, 8 trials of 20 epochs, lr=log:0.001:0.01 (the issue's setting);
CACHE=DIR keeps the LightGBM reference between runs (a user's second sweep), else each run fits it.
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime

from bench.bench_sweep import sweep_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("RIDERSHIP_DATA") or os.path.join(
    ROOT, "..", "shared", "data", "ridership", "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"
)


def ts(s):
    return datetime.fromisoformat(s).timestamp()


for workers in sys.argv[1].split(","):
    with tempfile.TemporaryDirectory() as home:
        db = os.path.join(home, "runs.db")
        cache = os.environ.get("CACHE") or os.path.join(home, "cache")
        cmd = sweep_command("p", db, trials=8, epochs=20, workers=workers, data=DATA)
        t0 = time.time()
        done = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "RIDERSHIP_CACHE": cache}, cwd=ROOT
        )
        t1 = time.time()
        assert done.returncode == 0, done.stderr
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT id, pid, started_at, ended_at, (SELECT SUM(seconds) FROM epochs e WHERE e.run_id = r.id) FROM runs r ORDER BY id"
        ).fetchall()
        print(f"== workers {workers}: wall {t1 - t0:.1f} s (load {os.getloadavg()[0]:.2f})")
        first = min(ts(r[2]) for r in rows)
        last = max(ts(r[3]) for r in rows)
        print(f"  start-up to first run: {first - t0:.2f} s; last run end to exit: {t1 - last:.2f} s")
        for r in rows:
            dur = ts(r[3]) - ts(r[2])
            print(
                f"  run {r[0]} pid {r[1]}: {ts(r[2]) - t0:6.2f}..{ts(r[3]) - t0:6.2f}  {dur:5.2f} s, epochs {r[4]:5.2f} s, other {dur - r[4]:5.2f} s"
            )
