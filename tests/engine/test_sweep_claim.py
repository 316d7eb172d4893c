"""Taking a sweep is one write transaction: a process that checked the sweep free an instant before
another took it (two starts at the same instant) is refused, not run beside it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import SMALL

from engine.data.sources import load_path
from engine.store.liveness import process_token
from engine.store.runstore import RunStore, RunStoreError
from engine.sweep import local, records
from engine.sweep.local import SweepPlan, check_and_record
from engine.sweep.space import parse_space


def test_a_sweep_taken_between_the_check_and_the_write_is_refused(tmp_path, synthetic_csv, monkeypatch):
    data = load_path(synthetic_csv(), "path")
    plan = SweepPlan("race", parse_space(["hidden_size=4,8"]), SMALL, trials=1)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with RunStore.open(tmp_path / "runs.db") as store:
            records.save_sweep(
                store,
                name="race",
                backend="local",
                objective="valid",
                space=plan.space.specs(),
                base=plan.base,
                trials=1,
                timeout_s=None,
                settings={},
                data=data,
            )
            with store._write() as conn:  # the other start took it, and is alive
                conn.execute(
                    "UPDATE sweeps SET pid = ?, process_token = ? WHERE name = 'race'",
                    (other.pid, process_token(other.pid)),
                )
            # This start's own check ran an instant before the other one wrote: it found the sweep free.
            monkeypatch.setattr(local.records, "sweep_running_elsewhere", lambda store, name: None)
            with pytest.raises(RunStoreError, match=f"sweep 'race' is still running \\(pid {other.pid}\\)"):
                check_and_record(plan, store, data, "local")
            assert records.get_sweep(store, "race").pid == other.pid  # the other start keeps it
    finally:
        other.kill()
        other.wait()
