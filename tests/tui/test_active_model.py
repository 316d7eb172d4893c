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
        # Before any key: runs with a model are listed and none is in use, so Forecast (both views)
        # and Backtest point to u in Runs, not to training one: they say so when first shown
        # (built then, tui/widgets/lazy.py, from what they were told meanwhile).
        pointed = "No model in use: pick a run in Runs (6) and press u"
        await until(pilot, lambda: app.no_model_text().startswith(pointed), what="the runs listed")
        await pilot.press("7", "5")
        await until(pilot, lambda: app.active_pane == "forecast", what="the Forecast pane")
        assert text(app, "#forecast-result").startswith(pointed)
        assert text(app, "#bt-status").startswith(pointed) and text(app, "#md-status").startswith(pointed)
        await pilot.press("w")
        await settle(app)
        assert text(app, "#forecast-result").startswith("No model in use: pick a run in Runs (6)")  # runs, none used

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
        await pilot.press("5")  # Forecast, first shown now: it says what it was told meanwhile
        await until(pilot, lambda: again.active_pane == "forecast", what="the Forecast pane")
        # The words follow the state: a model is in use, no "train one first".
        assert text(again, "#forecast-result").startswith("Run 1's model (epoch ")
        assert "is in use: w a u c pick a day type" in text(again, "#forecast-result")
        await pilot.press("w")
        await settle(again)
        await until(
            pilot, lambda: "Model of run 1" in text(again, "#forecast-result"), what="a forecast after a restart"
        )
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
    # Not a user action: the file keeps what the user chose last (only u, t or a delete change it).
    assert json.loads(state_path(db).read_text())["active_run"] == 7


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
        await until(
            pilot,
            lambda: again.form.config is not None and again.form.config.hidden_size == 40,
            what="the remembered settings",
        )
        assert again.form.config.lr == 0.02


# -- the model in use changes only when the user says so ----------------------------------------------
async def train_here(app, pilot, until, epochs: int | None = None, stop: bool = False) -> None:
    """Start a run with t (``epochs`` in the form), wait for it to end (``stop``: after one epoch)."""
    from tui.widgets.training import TrainingPane

    if epochs is not None:
        app.form.set_config(app.form.config.replace(epochs=epochs))
        await until(pilot, lambda: app.form.config.epochs == epochs, what="the epochs set")
    ended = app.last_run
    app.action_start_training()
    await until(pilot, lambda: app.training, what="the run to start")
    if stop:
        await until(pilot, lambda: len(app.query_one(TrainingPane).history.epoch) >= 1, what="an epoch")
        app.action_stop_training()
    await until(pilot, lambda: not app.training and app.last_run is not ended, what="the run to end")


async def test_a_stopped_run_never_replaces_the_model_in_use(make_test_app, tmp_path, until):
    db = tmp_path / "runs.db"
    app = make_test_app(runs_db=str(db))
    notes = noted(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await train_here(app, pilot, until)  # run 1 finishes: none was in use, so it is now
        assert app.active.run_id == 1 and app.last_run.status == "finished"
        await train_here(app, pilot, until, epochs=100_000, stop=True)  # run 2, stopped
        assert app.last_run.run_id == 2 and app.last_run.status == "stopped"
        assert app.active.run_id == 1  # unchanged
        await until(pilot, lambda: any(t == "Model in use unchanged" for t, _ in notes), what="the note")
        message = next(m for t, m in notes if t == "Model in use unchanged")
        assert "Run 2 stopped" in message and "still Run 1's model" in message and "u on run 2" in message
        await pilot.press("6")  # the Runs pane, first shown now
        await until(pilot, lambda: run_cell(app.query_one(RunsPane), 1) == "▶1", what="run 1 still marked")
    assert json.loads(state_path(db).read_text())["active_run"] == 1


async def test_a_finished_run_started_here_replaces_it_naming_the_way_back(make_test_app, tmp_path, until):
    db = tmp_path / "runs.db"
    app = make_test_app(runs_db=str(db))
    notes = noted(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await train_here(app, pilot, until)
        assert not any(t == "Model in use changed" for t, _ in notes)  # none was in use: nothing replaced
        await train_here(app, pilot, until)
        assert app.active.run_id == 2
        message = next(m for t, m in notes if t == "Model in use changed")
        assert message == "Run 2 is now the model in use, in place of run 1 (Runs (6), u on run 1 goes back)."
    assert json.loads(state_path(db).read_text())["active_run"] == 2


async def test_deleting_the_model_in_use_asks_so_and_leaves_no_model(make_test_app, tmp_path, until, settle):
    from tui.widgets.confirm import ConfirmScreen

    db = tmp_path / "runs.db"
    for _ in range(2):
        assert cli_main(["train", *small_args(), "--quiet", "--epochs", "1", "--runs-db", str(db)]) == 0
    state_path(db).write_text(json.dumps({"active_run": 2, "form": {}}))
    app = make_test_app(runs_db=str(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.active is not None, what="the remembered model")
        await pilot.press("6")
        pane = app.query_one(RunsPane)
        await until(pilot, lambda: pane.runs and pane.cursor_run.run_id == 2, what="run 2 under the cursor")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        asked = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Delete run 2, the model in use?" in asked and "no model in use" in asked
        await pilot.press("y")
        await until(pilot, lambda: app.active is None, what="no model in use")
        await until(pilot, lambda: [r.run_id for r in pane.runs] == [1], what="run 2 gone")
        assert "▶" not in run_cell(pane, 1)
        await pilot.press("5")
        said = text(app, "#forecast-result")
        assert said.startswith("No model in use: pick a run in Runs (6) and press u")
        assert text(app, "#md-status").startswith("No model in use")  # the several-days view too
        assert app.query_one("#multiday").forecasts == []  # the deleted model's days are gone
        await pilot.press("f")
        await settle(app)
        assert text(app, "#forecast-result").startswith("No model in use")
        await pilot.press("7")
        assert str(app.query_one("#bt-status").render()).startswith("No model in use")
        assert app.query_one("#backtest-pane").result is None
    assert json.loads(state_path(db).read_text())["active_run"] is None


async def test_a_session_that_ends_before_loading_keeps_the_remembered_model(
    make_test_app, tmp_path, until, monkeypatch
):
    import threading

    from tui import jobs

    db = tmp_path / "runs.db"
    assert cli_main(["train", *small_args(), "--quiet", "--epochs", "1", "--runs-db", str(db)]) == 0
    remembered = {"active_run": 1, "form": {"hidden_size": 40}}
    state_path(db).write_text(json.dumps(remembered))

    app = make_test_app(runs_db=str(db))  # quit at once: the store may not even be open
    async with app.run_test(size=(120, 40)):
        pass
    assert json.loads(state_path(db).read_text()) == remembered

    release, loading = threading.Event(), threading.Event()
    real = jobs.use_run

    def slow_use_run(*args):
        loading.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(jobs, "use_run", slow_use_run)
    app = make_test_app(runs_db=str(db))  # quit while the remembered model loads
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, loading.is_set, what="the remembered model loading")
        assert app.active is None
        await pilot.press("5")
        await until(pilot, lambda: app.active_pane == "forecast", what="the Forecast pane")
        assert text(app, "#forecast-result").startswith("Loading run 1's model")
    release.set()
    assert json.loads(state_path(db).read_text())["active_run"] == 1


async def test_a_data_file_opened_with_o_is_opened_again_next_time(make_test_app, tmp_path, until, tui_csv):
    db = tmp_path / "runs.db"
    csv = tui_csv()
    app = make_test_app(runs_db=str(db), data=None)  # as the CLI opens it: the usual sources
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot, lambda: app.store is not None and app.data is not None, timeout=120, what="the store and data"
        )
        app.load_file(str(csv))
        await until(
            pilot,
            lambda: app.data.source.path is not None and str(app.data.source.path) == str(csv),
            timeout=120,
            what="the file opened",
        )
    assert json.loads(state_path(db).read_text())["data_path"] == str(csv)

    again = make_test_app(runs_db=str(db), data=None)
    async with again.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: again.data is not None and str(again.data.source.path) == str(csv),
            timeout=120,
            what="the file opened last time",
        )
