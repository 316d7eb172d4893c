"""The Sweeps pane on Ray: "on: ray" runs the sweep's trials on a Ray started by the app (the same
engine.sweep.runner.run_sweep the CLI's `--backend ray` uses), every trial is recorded and usable,
and Ray's processes are gone once it ends. Slow: it starts Ray."""

from __future__ import annotations

import os
import time

import pytest
from support import still_running
from textual.widgets import Input

from engine.store import RunStore
from engine.sweep import records
from tui.widgets.sweeps import SweepsPane

pytestmark = pytest.mark.slow
pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")


def _ray_processes() -> dict[int, float]:
    """pid -> create time of this process's descendants that belong to Ray (its daemons and workers)."""
    found = {}
    for p in psutil.Process(os.getpid()).children(recursive=True):
        try:
            cmdline = " ".join(p.cmdline())
            # A local sweep's forkserver (kept by this process) names sys.path on its command line,
            # with Ray's folders in it once Ray is imported: not a Ray process.
            if "multiprocessing." in cmdline:
                continue
            if any(w in cmdline for w in ("raylet", "gcs_server", "ray/", "ray_")):
                found[p.pid] = p.create_time()
        except psutil.Error:
            pass
    return found


async def test_a_ray_sweep_from_the_pane_records_every_trial_and_leaves_nothing_running(
    make_test_app, tui_config, tmp_path, until
):
    db = tmp_path / "runs.db"
    app = make_test_app(runs_db=str(db), config=tui_config.replace(epochs=1, hidden_size=4))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        pane.query_one("#sw-name", Input).value = "on-ray"
        pane.query_one("#sw-ranges", Input).value = "lr=0.01,0.05"
        pane.query_one("#sw-trials", Input).value = "2"
        pane.query_one("#sw-workers", Input).value = "1"
        pane.query_one("#sw-backend", Input).value = "ray"
        await pilot.press("g")
        await until(pilot, lambda: app.sweeping, what="the sweep to start")
        seen: dict[int, float] = {}

        def ended() -> bool:
            seen.update(_ray_processes())
            return not app.sweeping

        await until(pilot, ended, timeout=600, what="the Ray sweep to end")
        assert pane.progress.status == "finished", str(pane.query_one("#sw-status").render())
        with RunStore.open(db) as store:
            summary = records.sweep_summary(store, "on-ray")
            assert summary.record.backend == "ray"
            trials = [t for t in summary.trials if t.status == "finished"]
            assert len(trials) == 2
            assert all(store.checkpoint_path(t.run.run_id).is_file() for t in trials)  # usable: weights kept
        assert seen, "no Ray process was seen while the sweep ran"
        deadline = time.monotonic() + 60  # a safety net: the wait ends when they are gone
        while still_running(seen) and time.monotonic() < deadline:
            await pilot.pause(0.2)
        assert still_running(seen) == []


async def test_a_bad_on_field_is_said_in_the_status_line(make_test_app, tmp_path, until):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        for value, said in (
            ("spark", "on: expected local, ray or ray HOST:PORT, got 'spark'"),
            ("ray nowhere", "on: ray 'nowhere'"),
        ):
            pane.query_one("#sw-backend", Input).value = value
            await pilot.press("g")
            status = str(pane.query_one("#sw-status").render())
            assert status.startswith("Cannot start the sweep: ") and said in status, status
            assert not app.sweeping
