"""Sweeps pane: a sweep started from the pane fills the leaderboard and stops on s, its finished
trials kept, and u makes the best one the model in use; u asks for the highlighted trial's model; the tab bar and the footer fit 80 columns with pane 8.

The sweep runs for real (worker processes, tiny trials on the synthetic series); every wait is on a
condition with a deadline, since the machine may be busy.
"""

from __future__ import annotations

from test_runs_pane import fixed_clock  # noqa: F401 - fixture
from textual.widgets import Footer, Input, Tabs

from engine.store import RunStore
from engine.sweep import records
from tui.widgets.sweeps import SweepsPane, clock

SMALL = (80, 24)


def uses(seen: list) -> list[SweepsPane.UseRequested]:
    """Each UseRequested once (the hook sees a message at every widget it bubbles through)."""
    return list({id(m): m for m in seen if isinstance(m, SweepsPane.UseRequested)}.values())


async def test_a_sweep_fills_the_leaderboard_and_stops_keeping_its_finished_trials(
    make_test_app, tui_config, tmp_path, until, keys
):
    db = tmp_path / "runs.db"
    config = tui_config.replace(epochs=2, hidden_size=8)
    app, seen = make_test_app(runs_db=str(db), config=config), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        assert app.active_pane == "sweeps" and app.focused is pane.table
        pane.query_one("#sw-name", Input).value = "pane-test"
        pane.query_one("#sw-ranges", Input).value = "lr=log:0.01:0.1 hidden_size=4,8"
        pane.query_one("#sw-trials", Input).value = "30"  # more than run before the stop
        pane.query_one("#sw-workers", Input).value = "1"
        await pilot.press("g")
        await until(pilot, lambda: app.sweeping, what="the sweep to start")
        await until(
            pilot,
            lambda: any(r.status == "finished" for r in pane.rows),
            timeout=180,
            what="a finished trial on the leaderboard",
        )
        headers = [str(c.label) for c in pane.table.ordered_columns]
        assert headers[:5] == ["trial", "run", "status", "lr", "hidden_size"]
        assert "valid MAE" in headers and "valid/naive" in headers and "objective" not in headers
        status = str(pane.query_one("#sw-status").render())
        assert status.startswith("Sweep pane-test running: trial ") and "/30 done" in status and "ETA ~" in status
        await keys(app, "t")  # no training run beside a sweep
        await until(
            pilot, lambda: any("A sweep is running" in n.message for n in app._notifications), what="the refusal"
        )
        assert not app.training
        await keys(app, "s")
        await until(pilot, lambda: not app.sweeping, timeout=120, what="the sweep to stop")
        await until(
            pilot,
            lambda: pane.board is not None and not any(r.status == "running" for r in pane.rows),
            what="the last board",
        )
        assert pane.progress.status == "stopped"
        assert str(pane.query_one("#sw-status").render()).startswith("Sweep pane-test stopped: trial ")
        shown = {r.run_id for r in pane.rows if r.status == "finished"}
        with RunStore.open(db) as store:
            summary = records.sweep_summary(store, "pane-test")
        assert summary.record.status == "stopped"
        kept = {t.run.run_id for t in summary.trials if t.status == "finished"}
        assert shown and shown == kept
        assert all(t.run.config.epochs == 2 for t in summary.trials)  # the form's settings are the base
        assert pane.query_one("#sw-name", Input).value != "pane-test"  # g next starts a new sweep
        best = pane.rows[0]  # the cursor's row: the best trial first
        assert best.status == "finished" and best.objective == min(r.objective for r in pane.rows if r.objective)
        await pilot.press("u")
        await until(pilot, lambda: app.active is not None, what="the trial's model in use")
        assert app.active.run_id == best.run_id


def record_sweep(store, data, config) -> tuple[int, int]:
    """A two-trial sweep as the store holds it: trial 1 (run a) worse than trial 2 (run b)."""
    records.save_sweep(
        store,
        name="made",
        backend="local",
        objective="valid",
        space=["hidden_size=8,16"],
        base=config,
        trials=2,
        timeout_s=None,
        settings={},
        data=data,
    )
    ids = []
    for trial, (hidden, valid) in enumerate(((8, 41_000.0), (16, 33_000.0)), 1):
        run_id = store.start_run(config.replace(hidden_size=hidden), data, "cpu", torch_version="2.x")
        checkpoint = store.checkpoint_path(run_id)  # only a file in the store's folder counts
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_bytes(b"weights")
        scores = {
            "valid": {"mae": valid, "naive_mae": 40_000.0, "ratio": valid / 40_000, "gbm_mae": 30_000.0},
            "test": {"mae": valid + 1_000, "naive_mae": 41_000.0, "ratio": (valid + 1_000) / 41_000},
        }
        store.finish_run(run_id, "finished", "completed", scores=scores, checkpoint=checkpoint, weights_epoch=3)
        records.tag_trial(store, run_id, "made", trial, {"hidden_size": hidden})
        records.set_value(store, run_id, valid)
        ids.append(run_id)
    records.end_sweep(store, "made", "finished")
    return ids[0], ids[1]


async def test_u_asks_to_use_the_highlighted_trial_the_best_first(make_test_app, tui_data, tui_config, tmp_path, until):
    db = tmp_path / "runs.db"
    with RunStore.open(db) as store:
        worse, best = record_sweep(store, tui_data, tui_config)
    app, seen = make_test_app(runs_db=str(db)), []
    async with app.run_test(size=SMALL, message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        await until(pilot, lambda: len(pane.rows) == 2, what="the recorded sweep")
        assert [r.run_id for r in pane.rows] == [best, worse]  # best objective first
        assert pane.rows[0].gbm_ratio == 33_000 / 30_000
        assert "v/LGBM" in [str(c.label) for c in pane.table.ordered_columns]  # short headers at 80 columns
        await pilot.press("u")
        assert [m.run_id for m in uses(seen)] == [best]
        await pilot.press("down", "u")
        assert [m.run_id for m in uses(seen)] == [best, worse]
        await pilot.press("c")
        await until(pilot, lambda: pane.curve is not None, what="the trial's curve")
        assert pane.curve[0] == 1 and pane.curve[1].run_id == worse


async def test_the_tab_bar_and_the_footer_fit_80_columns_with_the_sweeps_pane(make_test_app, tmp_path):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        await pilot.press("8")
        await pilot.pause()
        tabs = list(app.query_one(Tabs).query("Tab"))
        assert len(tabs) == 8 and max(t.region.right for t in tabs) <= 80
        assert [str(t.label) for t in tabs][1] == "2 Params"
        footer = app.screen.query_one(Footer)
        keys = [item for item in footer.query("FooterKey") if item.display]
        assert {"g", "c", "u", "p", "s"} <= {k.key for k in keys}
        palette = next(item for item in keys if item.key == "ctrl+p")
        assert max(k.region.right for k in keys if k is not palette) < palette.region.x
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert str(list(pilot.app.query_one(Tabs).query("Tab"))[1].label) == "2 Hyperparameters"


async def test_a_bad_range_is_said_in_the_status_line(make_test_app, tmp_path, until):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        pane.query_one("#sw-ranges", Input).value = "lr=log:0:1 [/]"
        await pilot.press("g")
        status = str(pane.query_one("#sw-status").render())
        assert status.startswith("Cannot start the sweep: range 'lr=log:0:1'") and not app.sweeping
        # A long reason (the known settings, for an unknown one) is shown whole at 80 columns.
        pane.query_one("#sw-ranges", Input).value = "hidden_sise=16,32"
        await pilot.press("g")
        widget = pane.query_one("#sw-status")
        said = str(widget.render())
        assert said.startswith("Cannot start the sweep: range 'hidden_sise=16,32'") and "weight_decay" in said
        await pilot.pause()
        needed = widget.get_content_height(widget.size, app.size, widget.size.width)  # its lines, wrapped
        assert needed >= 3 and widget.size.height >= needed


def test_clock():
    assert [clock(s) for s in (0, 62, 750, 3900)] == ["0:00", "1:02", "12:30", "1:05:00"]


def _recorded_sweep_snapshot(snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, size) -> bool:
    """The pane showing a recorded two-trial sweep (fixed numbers; the fixed clock of the run store)."""
    from support import workers_done
    from test_snapshots import no_blink

    db = tmp_path / "runs.db"
    with RunStore.open(db) as store:
        record_sweep(store, tui_data, tui_config)

    async def show(pilot):
        app = pilot.app
        no_blink(app)
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        # the store opens and the board is read in workers: on a loaded machine that took > 10 s
        await until(pilot, lambda: len(pane.rows) == 2, timeout=120, what="the recorded sweep's rows")
        pane.query_one("#sw-name", Input).value = "made-2"  # the default name holds today's time
        await workers_done(pilot)

    return snap_compare(make_test_app(runs_db=str(db)), terminal_size=size, run_before=show)


def test_snapshot_sweeps_pane_80x24(snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, fixed_clock):
    assert _recorded_sweep_snapshot(snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, SMALL)


def test_snapshot_sweeps_pane_120x40(snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, fixed_clock):
    assert _recorded_sweep_snapshot(snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, (120, 40))


def record_sweep_of_12(store, data, config) -> None:
    """A twelve-trial sweep over lr and hidden_size with fixed, close objectives (21,200 to 25,600
    riders), as the store holds it: the board and both charts must tell them apart at 80x24."""
    specs = ["lr=log:0.005:0.05", "hidden_size=8,16,32"]
    records.save_sweep(
        store,
        name="twelve",
        backend="local",
        objective="valid",
        space=specs,
        base=config,
        trials=12,
        timeout_s=None,
        settings={},
        data=data,
    )
    for trial in range(1, 13):
        lr, hidden = round(0.005 * 1.23**trial, 5), (8, 16, 32)[trial % 3]
        valid = 21_200.0 + (trial * 7 % 12) * 400.0
        run_id = store.start_run(config.replace(hidden_size=hidden, lr=lr), data, "cpu", torch_version="2.x")
        scores = {
            "valid": {"mae": valid, "naive_mae": 22_000.0, "ratio": valid / 22_000, "gbm_mae": 21_500.0},
            "test": {"mae": valid + 900, "naive_mae": 23_000.0, "ratio": (valid + 900) / 23_000},
        }
        store.finish_run(run_id, "finished", "completed", scores=scores, weights_epoch=3)
        records.tag_trial(store, run_id, "twelve", trial, {"lr": lr, "hidden_size": hidden})
        records.set_value(store, run_id, valid)
    records.end_sweep(store, "twelve", "finished")


def test_snapshot_sweeps_pane_12_trials_80x24(
    snap_compare, make_test_app, tui_data, tui_config, tmp_path, until, fixed_clock
):
    from support import workers_done
    from test_snapshots import no_blink

    db = tmp_path / "runs.db"
    with RunStore.open(db) as store:
        record_sweep_of_12(store, tui_data, tui_config)

    async def show(pilot):
        app = pilot.app
        no_blink(app)
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        await until(pilot, lambda: len(pane.rows) == 12, timeout=120, what="the twelve trials")
        pane.query_one("#sw-name", Input).value = "made-12"
        await workers_done(pilot)

    assert snap_compare(make_test_app(runs_db=str(db)), terminal_size=SMALL, run_before=show)
