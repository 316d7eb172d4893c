"""Runs pane: listing, sorting, selecting and overlaying, deleting with confirmation, export, fork
and resume; runs recorded by the CLI and by the app itself.

Runs are written through the store's own API with fixed numbers (and a pinned clock), so what
the pane shows is known exactly; resume tests train a real few-epoch run for its checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import pytest
from support import paste, workers_done

from engine.domain import riders
from engine.events import EpochEvent
from engine.store import RunStore
from engine.store import runstore as engine_runstore
from engine.store.export import history_csv
from tui.views import runs as runs_view
from tui.widgets import lazy
from tui.widgets.charts import Chart
from tui.widgets.confirm import ConfirmScreen, PromptScreen
from tui.widgets.runs import RunsPane

FIXED_NOW = "2024-03-01T09:00:00.000+00:00"


@pytest.fixture
def fixed_clock(monkeypatch):
    """Every recorded time is FIXED_NOW, shown in UTC: nothing in the pane depends on the clock
    or the machine's time zone."""
    monkeypatch.setattr(engine_runstore, "_now", lambda: FIXED_NOW)
    monkeypatch.setattr(runs_view, "local_time", lambda iso: iso[:16].replace("T", " ") if iso else "-")


@pytest.fixture
def store(tmp_path):
    with RunStore.open(tmp_path / "runs.db") as s:
        yield s


def record(store, data, config, valid, *, status="finished", parent_id=None, origin="new", test=None):
    """A run with the given validation MAE per epoch (millions), recorded as training would."""
    run_id = store.start_run(
        config, data, "cpu", device_name="Test CPU", torch_version="2.x (test)", parent_id=parent_id, origin=origin
    )
    best, best_mae = 0, math.inf
    for epoch, mae in enumerate(valid, 1):
        if mae < best_mae:
            best, best_mae = epoch, mae
        store.log_epoch(
            run_id,
            EpochEvent(
                epoch, config.epochs, 0.06 / epoch + mae / 10, 0.2 / epoch, mae, config.lr, 0.25, best, best_mae
            ),
        )
    test = test if test is not None else 40_000.0 + 1_000 * run_id
    scores = (
        {
            "valid": {"mae": best_mae * 1e6, "naive_mae": 31_250.0, "ratio": best_mae * 1e6 / 31_250},
            "test": {"mae": test, "naive_mae": 32_400.0, "ratio": test / 32_400},
        }
        if valid
        else None
    )
    store.finish_run(
        run_id,
        status,
        f"completed {len(valid)} epochs",
        scores=scores,
        best_epoch=best or None,
        best_valid_mae=riders(best_mae),
        weights_epoch=len(valid) or None,
    )
    return run_id


def decay(first: float, last: float, epochs: int) -> list[float]:
    """From ``first`` at epoch 1 down to exactly ``last`` at the final epoch."""
    return [last + (first - last) * (epochs / e - 1) / (epochs - 1) for e in range(1, epochs + 1)]


@pytest.fixture
def three_runs(store, tui_data, tui_config, fixed_clock):
    """Runs 1-3: lr 0.05 / 0.02 / 0.05 with hidden 32 / 32 / 64; best valid MAE 30,500 / 35,000 / 27,500."""
    c = tui_config.replace(epochs=12, hidden_size=32)
    a = record(store, tui_data, c, decay(0.120, 0.0305, 12))
    b = record(store, tui_data, c.replace(lr=0.02), decay(0.150, 0.035, 12))
    d = record(store, tui_data, c.replace(hidden_size=64, epochs=8), decay(0.110, 0.0275, 8), status="stopped")
    return a, b, d


def column(pane: RunsPane, key: str) -> list[str]:
    table = pane.table
    return [str(table.get_cell(row.key, key)) for row in table.ordered_rows]


def headers(pane: RunsPane) -> list[str]:
    return [str(c.key.value) for c in pane.table.ordered_columns]


def overlays(seen: list) -> list[RunsPane.OverlayChanged]:
    return [m for m in seen if isinstance(m, RunsPane.OverlayChanged)]


async def show_runs(pilot) -> RunsPane:
    await pilot.press("6")
    await workers_done(pilot, rounds=4)
    return pilot.app.query_one(RunsPane)


async def test_lists_runs_newest_first_with_only_the_settings_that_differ(make_test_app, store, three_runs):
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        pane = await show_runs(pilot)
        assert column(pane, "run") == ["3", "2", "1"]
        assert column(pane, "started") == ["2024-03-01 09:00"] * 3
        assert column(pane, "status") == ["stopped", "finished", "finished"]
        assert column(pane, "epochs") == ["8/8", "12/12", "12/12"]
        assert column(pane, "valid") == ["27,500", "35,000", "30,500"]
        # Between all three runs: lr, hidden_size and epochs differ (epochs has its own column).
        assert set(pane.diff) == {"lr", "hidden_size", "epochs"}
        cfg = [k for k in headers(pane) if k.startswith("cfg:")]
        assert cfg == ["cfg:hidden_size", "cfg:lr"]
        assert column(pane, "cfg:lr") == ["0.05", "0.02", "0.05"]
        assert column(pane, "time") == ["2.0 s", "3.0 s", "3.0 s"]  # 0.25 s per recorded epoch
        status = str(pane.query_one("#runs-status").render())
        assert status == f"3 runs in {store.path} · newest first · 0 picked · 3 settings differ between all runs"


async def test_sorting_by_mae_and_by_date(make_test_app, store, three_runs):
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        pane = await show_runs(pilot)
        await pilot.press("m")
        assert column(pane, "run") == ["3", "1", "2"]  # validation MAE of the kept weights, lowest first
        assert "valid MAE ▲" in [str(c.label) for c in pane.table.ordered_columns]
        assert "by validation MAE (kept weights), lowest first" in str(pane.query_one("#runs-status").render())
        await pilot.press("m")
        assert column(pane, "run") == ["2", "1", "3"]
        await pilot.press("n")
        assert column(pane, "run") == ["3", "2", "1"]
        await pilot.press("n")
        assert column(pane, "run") == ["1", "2", "3"]


async def test_a_run_without_epochs_sorts_last_either_way(make_test_app, store, three_runs, tui_data, tui_config):
    empty = record(store, tui_data, tui_config, [], status="failed")
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        pane = await show_runs(pilot)
        for _ in range(2):
            await pilot.press("m")
            assert column(pane, "run")[-1] == str(empty)
            assert column(pane, "valid")[-1] == "-"


async def test_selected_runs_are_overlaid_and_the_diff_narrows_to_them(make_test_app, store, three_runs):
    first, second, third = three_runs
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        pane = await show_runs(pilot)
        # Nothing selected: the charts show the highlighted run, and nothing is overlaid.
        assert [c.run_id for c in pane.curves] == [third]
        assert overlays(seen)[-1].curves == ()
        # Select runs 2 and 1 (rows 2 and 3): they differ only in lr.
        await pilot.press("down", "space", "down", "space")
        await workers_done(pilot, rounds=4)
        assert pane.selected == [second, first]
        assert list(pane.diff) == ["lr"]
        assert [k for k in headers(pane) if k.startswith("cfg:")] == ["cfg:lr"]
        overlay = overlays(seen)[-1].curves
        assert [c.run_id for c in overlay] == [second, first]
        assert overlay[0].color != overlay[1].color
        assert overlay[0].epoch == tuple(range(1, 13))
        assert overlay[1].valid_mae[-1] == pytest.approx(30_500)
        mae_chart = app.query_one("#runs-mae-chart", Chart)
        assert mae_chart.points == {"naive (valid)": 2, f"run {second}": 12, f"run {first}": 12}
        assert "picked runs" in mae_chart.chart_title
        status = str(pane.query_one("#runs-status").render())
        assert status.endswith("· 2 picked · 1 setting differs between them")
        # The selection marks carry the runs' colours.
        marks = {row.key.value: pane.table.get_cell(row.key, "mark") for row in pane.table.ordered_rows}
        assert str(marks[str(second)]) == "●" and overlay[0].color in str(marks[str(second)].style)
        assert str(marks[str(third)]).strip() == ""
        # Unselecting one leaves the other; Esc clears the selection.
        await pilot.press("space")
        await workers_done(pilot, rounds=4)
        assert [c.run_id for c in overlays(seen)[-1].curves] == [second]
        await pilot.press("escape")
        await workers_done(pilot, rounds=4)
        assert pane.selected == [] and overlays(seen)[-1].curves == ()


async def test_delete_asks_first_and_removes_the_run_and_its_checkpoint(make_test_app, store, three_runs):
    first, second, third = three_runs
    checkpoint = store.checkpoint_path(third)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"weights")
    store.finish_run(third, "stopped", "stopped by the user", checkpoint=checkpoint)
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        pane = await show_runs(pilot)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Delete run {third} (under the cursor)?" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("enter")  # the focus starts on Cancel: Enter out of habit deletes nothing
        await workers_done(pilot, rounds=4)
        assert not isinstance(app.screen, ConfirmScreen)
        assert [r.run_id for r in store.list_runs()] == [third, second, first] and checkpoint.exists()
        await pilot.press("x", "y")
        await workers_done(pilot, rounds=4)
        assert [r.run_id for r in store.list_runs()] == [second, first]
        assert not checkpoint.exists()
        assert column(pane, "run") == [str(second), str(first)]
        # Selected runs are deleted together.
        await pilot.press("space", "down", "space", "x")
        assert "the 2 picked runs" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("n")
        await workers_done(pilot, rounds=4)
        assert len(store.list_runs()) == 2
        await pilot.press("x", "y")
        await workers_done(pilot, rounds=4)
        assert store.list_runs() == [] and pane.runs == []
        assert "No runs recorded yet" in str(pane.query_one("#runs-status").render())


async def test_export_writes_csv_and_json_next_to_the_database(make_test_app, store, three_runs):
    first, second, third = three_runs
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await show_runs(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one("#export-path").value == str(store.home / f"run-{third}")
        await pilot.press("enter")
        await workers_done(pilot, rounds=4)
        csv_path, json_path = store.home / f"run-{third}.csv", store.home / f"run-{third}.json"
        assert csv_path.read_text() == history_csv(store.get_run(third))
        record_ = json.loads(json_path.read_text())
        assert record_["run_id"] == third and len(record_["epochs"]) == 8
        note = [n.message for n in app._notifications]
        assert any(str(csv_path) in m and str(json_path) in m for m in note)
        # A typed name ending in .csv writes that one file; a relative one goes beside the database.
        await pilot.press("e", "ctrl+u", *"out/best.csv", "enter")
        await workers_done(pilot, rounds=4)
        assert (store.home / "out" / "best.csv").read_text() == history_csv(store.get_run(third))
        assert not (store.home / "out" / "best.json").exists()


async def test_export_to_a_path_that_cannot_be_written_says_why(make_test_app, store, three_runs, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await show_runs(pilot)
        await pilot.press("e", "ctrl+u")
        await paste(pilot, f"{blocker}/x.csv")
        await pilot.press("enter")
        await workers_done(pilot, rounds=4)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and str(blocker) in errors[-1].message and "Errno" not in errors[-1].message


async def test_fork_and_resume_are_requested_with_the_runs_settings(make_test_app, store, three_runs, settle):
    first, second, third = three_runs
    checkpoint = store.checkpoint_path(second)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"weights")
    store.finish_run(second, "finished", "completed 12 epochs", checkpoint=checkpoint)
    app, seen = make_test_app(runs_db=str(store.path)), []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await show_runs(pilot)
        await pilot.press("down", "f")  # run 2
        [fork] = {id(m): m for m in seen if isinstance(m, RunsPane.ForkRequested)}.values()
        assert fork.run_id == second and fork.config == store.get_config(second).to_dict()
        await show_runs(pilot)  # the fork filled the form; back to the runs, the cursor still on run 2
        await pilot.press("r")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("ctrl+u", "0", "enter")  # refused, explained, the dialog stays
        assert isinstance(app.screen, PromptScreen)
        assert "at least 1 epoch" in str(app.screen.query_one(".dialog-error").render())
        await pilot.press("backspace", "4", "enter")
        [resume] = {id(m): m for m in seen if isinstance(m, RunsPane.ResumeRequested)}.values()
        assert (resume.run_id, resume.more) == (second, 4)
        # (Its checkpoint here is not a real one: the app's resume says so in the Training pane.)
        await settle(app, "train")
        assert "could not start" in str(app.query_one("#run-status").render())
        # A run without a checkpoint cannot be resumed: said at once, no dialog.
        await show_runs(pilot)
        await pilot.press("down", "r")
        assert not isinstance(app.screen, PromptScreen)
        assert any(f"Run {first} has no checkpoint" in n.message for n in app._notifications)


# -- in the app ---------------------------------------------------------------------------------------
from support import small_args  # noqa: E402

from cli.main import main as cli_main  # noqa: E402
from tui.messages import EpochCompleted  # noqa: E402
from tui.widgets.hyperparams import FORM_HINT  # noqa: E402
from tui.widgets.training import TrainingPane  # noqa: E402


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


async def wait_for(pilot, condition, what: str, timeout: float = 180.0) -> None:
    """Let the app run until ``condition()`` holds (tests/tui/conftest.py's ``until``, here for helpers).
    The timeout only turns a hang into a failure, as there (180 s): at a load of 9 one test here took
    80-94 s in all, leaving a 60 s wait for one state little margin."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def until_run_ends(pilot, settle, since: int) -> None:
    """Wait for a run after job ``since`` to start and end: states, not times. A run asked for while
    the store is still opening starts when the store answers, and a resume goes through a message
    first, so right after the key press there may be no training worker yet to wait for."""
    app = pilot.app
    await wait_for(pilot, lambda: app.job > since, what="the run to start")
    await settle(app, "train")
    await wait_for(pilot, lambda: not app.training, what="the run to end")
    await workers_done(pilot, rounds=4)


async def train_in_app(pilot, settle) -> None:
    since = pilot.app.job
    await pilot.press("t")
    await until_run_ends(pilot, settle, since)


async def test_a_run_recorded_by_the_cli_appears_in_the_apps_runs_pane(make_test_app, tmp_path, capsys):
    db = tmp_path / "elsewhere" / "runs.db"
    assert cli_main(["train", *small_args(), "--quiet", "--runs-db", str(db)]) == 0
    assert f"recorded as run 1 in {db}" in capsys.readouterr().out
    app = make_test_app(runs_db=str(db))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await show_runs(pilot)
        assert app.store.path == db
        assert column(pane, "run") == ["1"] and column(pane, "status") == ["finished"]
        assert column(pane, "epochs") == ["2/2"]
        run = store_run = RunStore.open(db).get_run(1, with_epochs=False)
        assert column(pane, "valid") == [f"{store_run.valid_mae:,.0f}"]  # riders, the kept weights
        assert column(pane, "test") == [f"{run.test_mae:,.0f}"]
        assert f"1 run in {db}" in text(app, "#runs-status")
        # A run recorded while the app is open shows when the pane is shown again.
        assert cli_main(["train", *small_args(), "--quiet", "--epochs", "1", "--runs-db", str(db)]) == 0
        await pilot.press("1")
        pane = await show_runs(pilot)
        assert column(pane, "run") == ["2", "1"] and column(pane, "epochs")[0] == "1/1"


def test_the_cli_hands_runs_db_to_the_app(monkeypatch):
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run_app", lambda **kw: calls.append(kw) or 0)
    assert cli_main(["--runs-db", "/some/where.db"]) == 0
    assert calls == [{"data_path": None, "runs_db": "/some/where.db"}]


def test_the_top_level_runs_db_reaches_the_runs_commands(tmp_path, capsys):
    db = tmp_path / "top.db"
    assert cli_main(["--runs-db", str(db), "runs", "list"]) == 0
    assert str(db) in capsys.readouterr().out and db.exists()


async def test_a_run_started_in_the_app_is_recorded_with_its_epochs(make_test_app, tui_config, settle):
    seen = []
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await train_in_app(pilot, settle)
        [run] = app.store.list_runs()
        run = app.store.get_run(run.run_id)
        epochs = [m for m in seen if isinstance(m, EpochCompleted)]
        assert run.status == "finished" and run.origin == "new" and run.parent_id is None
        assert [e.valid_mae_riders for e in run.epochs] == pytest.approx([m.valid_mae for m in epochs])
        assert run.checkpoint is not None and run.checkpoint.exists()
        assert run.config == tui_config
        assert app.active.run_id == run.run_id
        assert app.active.scores["test"].mae == pytest.approx(run.test_mae)
        assert f"Run {run.run_id} finished" in text(app, "#run-status")
        assert f"Recorded as run {run.run_id}" in text(app, "#run-result")
        pane = await show_runs(pilot)
        # ▶: its model is the one in use (the run just trained)
        assert column(pane, "run") == [f"▶{run.run_id}"] and column(pane, "epochs") == ["3/3"]


async def test_the_running_run_is_listed_live_and_cannot_be_deleted(make_test_app, tui_config, keys, until):
    app = make_test_app(config=tui_config.replace(epochs=100_000))
    async with app.run_test(size=(120, 40)) as pilot:
        await keys(app, "t")
        await until(pilot, lambda: app.training and app.run_id, what="the run to be recorded")
        await keys(app, "6")
        pane = app.query_one(RunsPane)
        await until(pilot, lambda: pane.runs and pane.runs[0].status == "running", what="the running run")
        first = pane.runs[0].epochs_done
        await until(pilot, lambda: pane.runs[0].epochs_done > first, what="its epochs to go up")
        # The pane is built on its first show: its table is filled from the runs it was told meanwhile.
        await until(pilot, lambda: lazy.is_built(pane) and pane.table.row_count == 1, what="the table's row")
        assert column(pane, "epochs")[0].endswith("/100000")
        await keys(app, "x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await keys(app, "y")
        await until(pilot, lambda: any("still running" in n.message for n in app._notifications), what="the refusal")
        await keys(app, "s")
        await until(pilot, lambda: not app.training, what="the run to stop")
        await until(pilot, lambda: pane.runs[0].status == "stopped", what="the stopped run")
        assert app.store.get_run(pane.runs[0].run_id, with_epochs=False).checkpoint is not None


async def test_without_a_usable_store_the_app_says_so_and_still_trains(make_test_app, tmp_path, settle):
    app = make_test_app(runs_db=str(tmp_path))  # a folder, not a database file
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.store is None
        await train_in_app(pilot, settle)
        assert app.active.status == "finished" and app.active.run_id is None
        await show_runs(pilot)
        status = text(app, "#runs-status")
        assert "is a folder" in status and "not recorded" in status


async def test_picked_runs_are_overlaid_on_the_training_charts(make_test_app, store, three_runs, settle):
    first, second, third = three_runs
    app = make_test_app(runs_db=str(store.path))
    async with app.run_test(size=(120, 40)) as pilot:
        await show_runs(pilot)
        await pilot.press("space", "down", "space")
        await workers_done(pilot, rounds=4)
        training = app.query_one(TrainingPane)
        assert [c.run_id for c in training.overlay] == [third, second]
        await pilot.press("3")
        await workers_done(pilot, rounds=4)
        assert app.query_one("#loss-chart", Chart).points == {f"run {third}": 8, f"run {second}": 12}
        # A live run is drawn over them.
        await train_in_app(pilot, settle)
        mae = app.query_one("#mae-chart", Chart).points
        assert mae == {"naive (valid)": 3, f"run {third}": 8, f"run {second}": 12, "train": 3, "valid": 3}


async def test_fork_prefills_the_form_and_records_the_child(make_test_app, tui_config, settle):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        parent_config = tui_config.replace(hidden_size=12, lr=0.03)
        app.form.set_config(parent_config)
        await train_in_app(pilot, settle)
        app.form.set_config(tui_config)  # the form moves on; the fork brings the run's settings back
        await show_runs(pilot)
        await pilot.press("f")
        await workers_done(pilot, rounds=4)
        assert app.query_one("TabbedContent").active == "hyperparams"
        assert app.form.config == parent_config
        assert app.query_one("#field-hidden_size").value == "12"
        assert "Fork of run 1" in text(app, "#form-hint")
        await pilot.press("escape")
        await train_in_app(pilot, settle)
        child = app.store.get_run(2, with_epochs=False)
        assert (child.origin, child.parent_id, child.config) == ("fork", 1, parent_config)
        assert text(app, "#form-hint") == FORM_HINT
        # The fork applied once: the next run is a new one.
        await train_in_app(pilot, settle)
        assert app.store.get_run(3, with_epochs=False).origin == "new"


async def test_resume_continues_a_run_for_more_epochs_with_live_curves(make_test_app, settle):
    seen = []
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await train_in_app(pilot, settle)
        await show_runs(pilot)
        await pilot.press("r")
        assert isinstance(app.screen, PromptScreen)
        since = app.job
        await pilot.press("ctrl+u", "2", "enter")
        await until_run_ends(pilot, settle, since)
        child = app.store.get_run(2)
        parent = app.store.get_run(1)
        assert (child.origin, child.parent_id, child.resumed_from_epoch) == ("resume", 1, 3)
        assert child.status == "finished" and [e.epoch for e in child.epochs] == [1, 2, 3, 4, 5]
        # The parent's history comes along (counted out of the new total).
        assert child.epochs[:3] == tuple(replace(e, epochs=5) for e in parent.epochs)
        assert parent.epochs_done == 3  # and the parent stays as it was
        # The Training pane showed the whole history: the parent's 3 epochs, then 2 new ones.
        resumed = [m for m in seen if isinstance(m, EpochCompleted) and m.run_id == 2]
        assert [m.epoch for m in resumed] == [1, 2, 3, 4, 5] and {m.epochs for m in resumed} == {5}
        assert app.query_one("#mae-chart", Chart).points["valid"] == 5
        assert "Run 2 finished" in text(app, "#run-status")
        pane = await show_runs(pilot)
        assert column(pane, "origin") == ["resume of 1", "new"]
        assert column(pane, "epochs") == ["5/5", "3/3"]


async def test_ctrl_s_saves_the_screen_as_svg(make_test_app, tmp_path, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_HOME", str(tmp_path))  # the user data folder: screenshots/ in it
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        [svg] = list((tmp_path / "screenshots").glob("*.svg"))
        assert svg.read_text().startswith("<svg") and "Ridership" in svg.read_text()
        assert any(str(svg) in n.message for n in app._notifications)


# -- snapshots ----------------------------------------------------------------------------------------
SIZE = (120, 40)


@pytest.fixture
def snapshot_store(tmp_path, monkeypatch, tui_data, tui_config, fixed_clock):
    """Three runs at fixed times in ./runs.db (a relative path, so the status line is the same on
    every machine)."""
    monkeypatch.chdir(tmp_path)
    with RunStore.open("runs.db") as store:
        c = tui_config.replace(epochs=12, hidden_size=32)
        record(store, tui_data, c, decay(0.120, 0.0305, 12))
        record(store, tui_data, c.replace(lr=0.02), decay(0.150, 0.035, 12))
        record(store, tui_data, c.replace(hidden_size=64, epochs=8), decay(0.110, 0.0275, 8), status="stopped")
    return "runs.db"


def pick_two(then: tuple[str, ...] = ()):
    async def run(pilot):
        await show_runs(pilot)
        await pilot.press("space", "down", "space", *then)
        await workers_done(pilot, rounds=4)

    return run


def test_runs_pane_with_two_runs_overlaid(snap_compare, make_test_app, snapshot_store):
    assert snap_compare(make_test_app(runs_db=snapshot_store), terminal_size=SIZE, run_before=pick_two())


def test_training_pane_with_picked_runs_behind_it(snap_compare, make_test_app, snapshot_store):
    assert snap_compare(make_test_app(runs_db=snapshot_store), terminal_size=SIZE, run_before=pick_two(("3",)))


def test_delete_confirmation(snap_compare, make_test_app, snapshot_store):
    assert snap_compare(make_test_app(runs_db=snapshot_store), terminal_size=SIZE, run_before=pick_two(("x",)))


# -- runs on different data are kept apart -------------------------------------------------------------
@pytest.fixture
def demo_and_real_runs(store, tui_data, tui_config, tui_csv, fixed_clock):
    """Run 1 on a CSV file (valid MAE 30,000), runs 2 and 3 on the synthetic demo series (15,000 and
    40,000): the demo's numbers are lower, but they are not on the same data."""
    from engine.data import sources

    real = sources.load_path(str(tui_csv()), "path")
    c = tui_config.replace(epochs=4)
    a = record(store, real, c, decay(0.05, 0.030, 4))
    b = record(store, tui_data, c.replace(lr=0.02), decay(0.05, 0.015, 4))
    d = record(store, tui_data, c, decay(0.05, 0.040, 4))
    return a, b, d


async def test_runs_on_different_data_are_never_ranked_together(make_test_app, store, demo_and_real_runs):
    real, demo_good, demo_bad = demo_and_real_runs
    app = make_test_app(runs_db=str(store.path))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await show_runs(pilot)
        assert column(pane, "data")[2].startswith("good.csv") and column(pane, "data")[0] == "synthetic"
        await pilot.press("m")  # by validation MAE: each data's runs together, ranked within
        assert column(pane, "run") == [str(demo_good), str(demo_bad), str(real)]
        status = str(pane.query_one("#runs-status").render())
        assert "2 data: synthetic, good.csv" in status
        assert "lowest first within each data (scores on different data do not compare)" in status
        pane.table.move_cursor(row=0)
        await pilot.press("space")  # run 2 (synthetic, lr 0.02) ...
        pane.table.move_cursor(row=2)
        await pilot.press("space")  # ... and run 1 (the file, lr 0.05)
        await workers_done(pilot, rounds=4)
        assert sorted(pane.selected) == sorted([demo_good, real])
        assert str(pane.query_one("#runs-status").render()).endswith(
            "2 picked · the data and 1 setting differ between them"
        )


def test_runs_list_and_diff_keep_the_data_apart(store, demo_and_real_runs, capsys):
    real, demo_good, _ = demo_and_real_runs
    assert cli_main(["runs", "list", "--runs-db", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert out.count("data: ") == 2 and "data: synthetic (2 runs)" in out and "good.csv" in out
    assert "2 data sets, listed apart: MAE compare only within one" in out
    assert cli_main(["runs", "diff", str(real), str(demo_good), "--runs-db", str(store.path)]) == 0
    out = capsys.readouterr().out
    first, table = out.splitlines()[0], out.splitlines()[1:]
    assert first == f"runs {real}, {demo_good} were trained and scored on different data: their MAE do not compare"
    assert table[1].startswith("data ") and "good.csv" in table[1] and "synthetic" in table[1]
