"""The panes' view-models (tui/views), without the app: what the Runs and Sweeps panes say."""

from __future__ import annotations

from engine.sweep import events as ev
from engine.sweep.events import parse_event
from tui.views import sweeps as sweeps_view


def test_sweep_events_are_parsed_into_their_dataclasses():
    started = parse_event(
        {
            "kind": "sweep_started",
            "name": "s",
            "done_before": 2,
            "remaining": 6,
            "workers": 2,
            "interrupted": 0,
            "trials": 8,
        }
    )
    assert started == ev.SweepStarted("s", 2, 6, 2, 0, 8)
    epoch = parse_event({"kind": "epoch", "trial": 3, "epoch": 1, "epochs": 5, "valid_mae": 21_000.0, "worker": 0})
    assert epoch == ev.TrialEpoch(3, 1, 5, 21_000.0)
    assert parse_event({"kind": "something new"}) is None  # a newer backend's event is ignored


def test_progress_follows_the_events_and_asks_for_the_board_when_it_changed():
    p = sweeps_view.Progress("s", "valid", 4, 2)
    assert not p.apply(ev.SweepStarted("s", 1, 3, 2), now=0.0)
    assert p.status == "running" and p.done_before == 1
    assert not p.apply(ev.TrialStarted(2, {"lr": 0.01}), now=10.0)
    assert p.apply(ev.TrialEpoch(2, 1, 5, 20_000.0), now=11.0)  # the first epoch: its run is recorded
    assert not p.apply(ev.TrialEpoch(2, 2, 5, 19_000.0), now=12.0)
    assert p.live[2].valid == 19_000.0 and p.live[2].epoch == 2
    assert p.apply(ev.TrialDone(2, 7, "complete"), now=40.0)
    assert p.done == 1 and p.durations == [30.0] and not p.live
    p.apply(ev.TrialStarted(3, {}), now=41.0)
    assert p.apply(ev.TrialDone(3, 8, "stopped"), now=42.0)
    assert p.done == 1  # a trial the stop cut short does not count
    p.apply(ev.SweepStopping())
    assert p.status == "stopping"


def test_leaderboard_cells_keep_two_decimals_and_name_lightgbm():
    row = sweeps_view.Row(
        1,
        5,
        "finished",
        {"lr": 0.0123},
        objective=20_500.4,
        valid=20_500.4,
        test=19_000.0,
        naive_ratio=0.9749,
        gbm_ratio=1.0651,
        epochs="5/5",
    )
    cols = sweeps_view.columns([row], "valid", narrow=True)
    keys = [k for k, _ in cols]
    assert ("gbm", "v/LGBM") in cols and ("naive", "v/naive") in cols
    cells = dict(zip(keys, sweeps_view.cell_texts(row, keys, "valid")))
    assert cells["naive"] == "0.97" and cells["gbm"] == "1.07"  # never 0.9 or 1.0
    assert cells["valid"] == "20,500" and cells["p:lr"] == "0.0123"


def test_runs_status_line_and_order():
    from tui.views import runs as runs_view

    assert runs_view.order_text("started", True) == "newest first"
    assert runs_view.order_text("valid", False) == "by validation MAE (kept weights), lowest first"
    assert runs_view.status_text("/x/runs.db", [], "started", True, 0, {}).startswith("No runs recorded yet in /x")
