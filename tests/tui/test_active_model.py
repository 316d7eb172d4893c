"""Any recorded run can be the model in use: picked in the Runs pane (u), followed by Forecast and
Backtest, and remembered (with the form's last settings) when the app is opened again."""

from __future__ import annotations

import json

from support import small_args

from cli.main import main as cli_main
from engine.presets import apply_preset
from tui.app_state import state_path
from tui.widgets.runs import RunsPane


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


def noted(app) -> list[tuple[str, str]]:
    """Record the app's notifications as (title, message)."""
    notes, notify = [], app.notify

    def keep(message, *, title="", **kw):
        notes.append((str(title), str(message)))
        notify(message, title=title, **kw)

    app.notify = keep
    return notes


def run_cell(pane: RunsPane, run_id: int) -> str:
    return str(pane.table.get_cell(str(run_id), "run"))


async def test_u_uses_a_recorded_run_and_the_app_remembers_it_after_a_restart(make_test_app, tmp_path, until, settle):
    db = tmp_path / "runs.db"
    for epochs in ("2", "1"):  # run 1 and run 2, recorded by the CLI as a user would
        assert cli_main(["train", *small_args(), "--quiet", "--epochs", epochs, "--runs-db", str(db)]) == 0

    app = make_test_app(runs_db=str(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("5", "w")
        await settle(app)
        assert text(app, "#forecast-result").startswith("No trained model yet")  # nothing used yet

        await pilot.press("6")
        await until(pilot, lambda: app.query_one(RunsPane).runs, what="the runs listed")
        pane = app.query_one(RunsPane)
        await pilot.press("down")  # newest first: run 2, then run 1
        assert pane.cursor_run.run_id == 1
        await pilot.press("u")
        await until(pilot, lambda: app.active is not None, what="run 1's model in use")
        assert app.active.run_id == 1 and app.active.weights_epoch >= 1
        await until(pilot, lambda: run_cell(pane, 1) == "▶1", what="run 1 marked in use")
        assert run_cell(pane, 2) == "2"
        assert "(its model is in use)" in text(app, "#runs-detail")

        await pilot.press("5", "w")
        await settle(app)
        await until(pilot, lambda: "Model of run 1" in text(app, "#forecast-result"), what="run 1's forecast")
        forecast = text(app, "#forecast-result")
        assert "Trust: MAE valid " in forecast and "LightGBM" in forecast

    saved = json.loads(state_path(db).read_text())
    assert saved["active_run"] == 1

    again = make_test_app(runs_db=str(db))  # a new session: quit, reopen
    async with again.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: again.active is not None, what="the remembered model")
        assert again.active.run_id == 1
        await pilot.press("5", "w")
        await settle(again)
        await until(pilot, lambda: "Model of run 1" in text(again, "#forecast-result"), what="a forecast after a restart")
        await pilot.press("7")
        await settle(again)
        await until(pilot, lambda: again.query_one("#backtest-pane").result is not None, what="the backtest")
        assert "Backtest of Run 1" in again.query_one("#backtest-pane")._label


async def test_a_remembered_run_that_is_gone_is_a_warning_and_no_model(make_test_app, tmp_path, until):
    db = tmp_path / "runs.db"
    assert cli_main(["train", *small_args(), "--quiet", "--runs-db", str(db)]) == 0
    state_path(db).write_text(json.dumps({"active_run": 7, "form": {}}))
    app = make_test_app(runs_db=str(db))
    notes = noted(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any("could not be loaded" in title for title, _ in notes), what="the warning")
        assert app.active is None
        message = next(m for t, m in notes if "could not be loaded" in t)
        assert "run 7" in message
    assert json.loads(state_path(db).read_text())["active_run"] is None  # forgotten


async def test_a_damaged_state_file_is_named_and_the_app_starts(make_test_app, tmp_path, until):
    db = tmp_path / "runs.db"
    state_path(db).parent.mkdir(parents=True, exist_ok=True)
    state_path(db).write_text("{not json")
    app = make_test_app(runs_db=str(db))
    notes = noted(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any(t == "App state not read" for t, _ in notes), what="the note")
        assert str(state_path(db)) in next(m for t, m in notes if t == "App state not read")
        assert app.store is not None


async def test_the_form_comes_back_with_the_last_settings(make_test_app, tmp_path, until, settle):
    db = tmp_path / "runs.db"
    app = make_test_app(runs_db=str(db), config=None)  # as the CLI opens it: no settings given
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        assert app.form.config == apply_preset("best")
        app.form.set_config(apply_preset("best").replace(hidden_size=40, lr=0.02))  # not the preset's
        await pilot.pause()
    assert json.loads(state_path(db).read_text())["form"]["hidden_size"] == 40

    again = make_test_app(runs_db=str(db), config=None)
    async with again.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: again.form.config is not None and again.form.config.hidden_size == 40,
                    what="the remembered settings")
        assert again.form.config.lr == 0.02
