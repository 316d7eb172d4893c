"""The app driven as a person would: keys, fields, runs, stops, forecasts, bad files."""

from __future__ import annotations

import dataclasses
import threading
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from support import paste
from textual.widgets import Input, TabbedContent
from textual.worker import Worker, WorkerState

from engine.config import FIELD_HELP, TrainConfig, setting
from engine.data import DataSource, RidershipData, sources
from engine.data.calendar import infer_day_type
from engine.errors import DataError, DownloadError
from tui.messages import EpochCompleted, TrainingStarted
from tui.widgets.hyperparams import check, field_specs
from tui.widgets.table import RowTable

# A run that only ends when stopped, at the article's model size: epochs of ~0.1 s, so a few
# messages a second (the small config's 70 epochs a second keep the pilot from ever seeing idle).
LONG = dict(
    epochs=100_000,
    window_length=56,
    hidden_size=32,
    train_start="2016-01",
    train_end="2018-12",
    valid_start="2019-01",
    valid_end="2019-05",
    test_start="2019-06",
    test_end="",
)


def epochs_of(seen, job=1):
    """The epochs the app's ``job``-th run reported."""
    return [m for m in seen if isinstance(m, EpochCompleted) and m.job == job]


async def set_field(pilot, name: str, text: str) -> None:
    """Focus a field of the Hyperparameters pane, clear it and type ``text``."""
    pilot.app.form.focus_field(name)
    await pilot.press("end", "ctrl+u")
    await paste(pilot, text)


def help_text(app, name: str) -> str:
    return str(app.query_one(f"#help-{name}").render())


def static_text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


# -- panes and keys ---------------------------------------------------------------------------------
async def test_every_pane_is_one_key_away(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for key, pane in zip("12345", ("dataset", "hyperparams", "training", "device", "forecast")):
            await pilot.press(key)
            assert app.query_one(TabbedContent).active == pane
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert {"t", "s", "ctrl+q"} <= footer_keys  # the pane keys are on the tabs ("1 Dataset" ...)
        assert {"1", "2", "3", "4", "5", "o", "d"}.isdisjoint(footer_keys)  # room for each pane's own keys
        await pilot.press("1")
        footer_keys = {key for key, active in app.active_bindings.items() if active.binding.show}
        assert {"o", "d", "t", "s", "ctrl+q"} <= footer_keys  # open and download: listed where data shows


async def test_escape_leaves_a_field_so_number_keys_switch_panes_again(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "tab")
        assert app.focused.id == "preset"  # the preset selector comes first
        await pilot.press("tab")
        assert app.focused.id == "field-window_length"
        await pilot.press("3")  # typed into the field, not a pane switch
        assert app.query_one(TabbedContent).active == "hyperparams"
        assert app.query_one("#field-window_length", Input).value == "3"  # Tab selected the old value
        await pilot.press("escape", "3")
        assert app.query_one(TabbedContent).active == "training"


async def test_command_palette_offers_the_actions(make_test_app, until):
    from textual.command import CommandList, CommandPalette

    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Start training",
            "Stop training",
            "Open a data file",
            "Download the CTA data",
            "Show Device",
            "Forecast: W (weekday)",
            "Toggle light/dark theme",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Show Device")

        def found() -> bool:  # the palette searches as it is typed into: wait for its answer, not a time
            if not isinstance(app.screen, CommandPalette):
                return False
            option = app.screen.query_one(CommandList).highlighted_option
            return option is not None and "Show Device" in str(option.prompt)

        await until(pilot, found, what="the palette to offer Show Device")
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(TabbedContent).active == "device", what="the Device pane")


async def test_light_and_dark_themes_render(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        app.action_toggle_theme()
        await pilot.pause()
        assert app.theme == "textual-light"
        assert "Training&#160;loss" in app.export_screenshot()
        app.action_toggle_theme()
        await pilot.pause()
        assert app.theme == "textual-dark"


async def test_80x24_shows_every_pane_with_room_for_its_charts(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for key, chart in zip("135", ("#data-chart", "#loss-chart", "#forecast-chart")):
            await pilot.press(key)
            await pilot.pause()
            assert app.query_one(chart).size.height >= 8, chart
        await pilot.press("2")
        assert app.query_one("#field-window_length").size.height == 1


# -- data -----------------------------------------------------------------------------------------------
async def test_synthetic_data_is_labelled_when_nothing_else_is_available(until):
    from tui.app import make_app

    app = make_app()  # the conftest isolation leaves no $RIDERSHIP_DATA and an empty cache
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.data is not None, what="the start-up data")  # loaded after the first paint
        await pilot.pause()
        assert app.data is not None and app.data.is_synthetic
        assert "SYNTHETIC DATA" in static_text(app, "#data-bar")
        assert "d download the real data" in static_text(app, "#data-bar")
        assert app.query_one(RowTable).row_count == len(app.data.frame)


async def test_dataset_pane_shows_source_rows_range_and_splits(make_test_app, tui_data, tui_config):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        info = static_text(app, "#data-info")
        assert f"{len(tui_data.frame):,} days, 2001-01-01..2021-11-30" in info
        assert "train 2016-01-01..2016-12-31    366" in info
        assert "valid 2017-01-01..2017-03-31     90" in info
        table = app.query_one(RowTable)
        assert table.row_text(0).split()[:2] == ["2001-01-01", tui_data.frame["day_type"].iloc[0]]
        # The chart shows the article's range on data that covers it.
        assert app.query_one("#data-chart").points == {"bus": 92, "rail": 92}


async def test_chart_range_is_set_by_the_user_and_bad_ranges_explained(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#chart-from", Input).focus()
        await pilot.press("end", "ctrl+u", *"2020-06-15")
        await pilot.pause()
        assert (
            app.query_one("#data-chart").points["bus"]
            == (pd.Timestamp("2021-05-31") - pd.Timestamp("2020-06-15")).days + 1
        )
        await pilot.press("end", "ctrl+u", *"2021-13")
        await pilot.pause()
        assert "'2021-13' is not a date" in static_text(app, "#range-error")
        await pilot.press("end", "ctrl+u", *"2021-06")
        await pilot.pause()
        assert "from 2021-06-01 is after to 2021-05-31" in static_text(app, "#range-error")
        # Twenty years: means over a few days each, so the chart keeps a few hundred points.
        await pilot.press("end", "ctrl+u", *"2001-01")
        await pilot.pause()
        chart = app.query_one("#data-chart")
        assert chart.chart_title == "Riders per day, thousands (19-day means)"
        assert chart.points["bus"] == -(-7456 // 19)


async def test_table_scrolls_a_million_rows(make_test_app):
    dates = pd.date_range("1000-01-01", periods=1_000_000, freq="D", unit="s", name="date")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "day_type": np.array(["W", "A", "U"])[np.arange(len(dates)) % 3],
            "bus": rng.integers(0, 2_000_000, len(dates)),
            "rail": rng.integers(0, 1_000_000, len(dates)),
        },
        index=dates,
    )
    big = RidershipData(frame, DataSource("path", "million.csv"))
    app = make_test_app(data=big)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(RowTable)
        assert table.row_count == 1_000_000
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        last_line = table.render_line(table.scrollable_content_region.height - 1).text
        assert last_line.strip() == table.row_text(999_999).strip()
        assert str(dates[-1].date()) in last_line
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert table.first_visible_row() > 0


async def test_a_bad_file_shows_the_engines_message_and_keeps_the_data(make_test_app, tui_data, tui_csv, settle):
    bad = tui_csv("bad.csv", header="service_date,day_type,bus,rail,total_rides")
    with pytest.raises(DataError) as engine_says:
        sources.load_path(bad)
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.press("ctrl+u")
        await paste(pilot, str(bad))
        await pilot.press("enter")
        await pilot.pause()
        await settle(app)
        await pilot.pause()
        status = static_text(app, "#data-status")
        assert str(engine_says.value) in status.replace("\n", "")
        assert "the data shown is unchanged" in status
        assert app.data is tui_data
        # A missing file: the engine's "file not found".
        await pilot.press("o")
        dialog_input = app.screen.query_one("#open-path", Input)
        dialog_input.value = str(bad.parent / "nope.csv")  # typed above already; paste this one
        await pilot.press("enter")
        await settle(app)
        await pilot.pause()
        assert "nope.csv: file not found" in static_text(app, "#data-status")
        assert app.data is tui_data


async def test_opening_a_good_file_replaces_the_data(make_test_app, tui_csv, settle):
    good = tui_csv()
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o", "ctrl+u")
        await paste(pilot, str(good))
        await pilot.press("enter")
        await settle(app)
        await pilot.pause()
        assert app.data.source.path == str(good)
        assert app.query_one(RowTable).row_count == len(app.data.frame) == 823
        assert "SYNTHETIC" not in static_text(app, "#data-bar")
        assert str(good) in static_text(app, "#data-bar")


async def test_a_bad_path_at_startup_is_explained_and_falls_back_to_synthetic(tui_csv, until):
    from tui.app import make_app

    bad = tui_csv("bad.csv", header="service_date,day_type,bus,rail,total_rides")
    app = make_app(data_path=str(bad))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.data is not None, what="the start-up data")
        await pilot.pause()
        assert app.data.is_synthetic
        status = static_text(app, "#data-status")
        assert "missing column 'rail_boardings'" in status.replace("\n", "")
        assert "showing the synthetic demo series instead" in status.replace("\n", "")


async def test_download_failure_is_explained_and_leaves_the_data(make_test_app, tui_data, monkeypatch, settle):
    def offline(*args, **kwargs):
        raise DownloadError("could not download https://example.invalid (no network). Offline?")

    monkeypatch.setattr(sources, "download", offline)
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await settle(app)
        await pilot.pause()
        assert "could not download https://example.invalid (no network). Offline?" in static_text(app, "#data-status")
        assert app.data is tui_data


async def test_download_reports_progress_and_loads_the_file(make_test_app, tui_csv, monkeypatch, settle):
    good = tui_csv()
    seen = []

    def fake_download(progress=None, **kwargs):
        for done in (1000, 2000):
            progress(done, 2000)
        return good

    monkeypatch.setattr(sources, "download", fake_download)
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("d")
        await settle(app)
        await pilot.pause()
        assert [(m.done, m.total) for m in seen if type(m).__name__ == "DownloadProgress"] == [
            (1000, 2000),
            (2000, 2000),
        ]
        assert app.data.source.kind == "download"


# -- hyperparameters ---------------------------------------------------------------------------------
def test_the_form_is_built_from_the_dataclass_fields():
    specs = field_specs()
    assert [s.name for s in specs] == [f.name for f in dataclasses.fields(TrainConfig)]
    kinds = {s.name: s for s in specs}
    assert kinds["epochs"].kind is int and kinds["lr"].kind is float and kinds["restore_best"].kind is bool
    assert kinds["core"].choices == ("fused", "cell")
    assert kinds["device"].choices == ("auto", "cpu", "cuda", "mps")


def test_field_specs_follow_a_new_field():
    @dataclasses.dataclass(frozen=True)
    class Extended(TrainConfig):
        preset: Literal["article", "tuned"] = "article"
        warmup: int = 0
        scaler: str = dataclasses.field(default="none", metadata={"choices": ("none", "minmax")})
        dropout: float = setting(0.0, "dropout before the output layer")

    specs = {s.name: s for s in field_specs(Extended)}
    assert specs["dropout"].kind is float and specs["dropout"].help == "dropout before the output layer"
    assert specs["preset"].choices == ("article", "tuned") and specs["preset"].kind is str
    assert specs["warmup"].kind is int and specs["warmup"].choices is None
    assert specs["scaler"].choices == ("none", "minmax")


async def test_every_field_has_an_input_and_its_help(make_test_app, tui_config):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        for f in dataclasses.fields(TrainConfig):
            widget = app.query_one(f"#field-{f.name}")
            value = widget.value
            assert (value if isinstance(value, (bool, str)) and not isinstance(widget, Input) else value) == (
                getattr(tui_config, f.name) if not isinstance(widget, Input) else str(getattr(tui_config, f.name))
            )
            assert help_text(app, f.name) == FIELD_HELP[f.name]
        assert app.form.config == tui_config


async def test_changing_a_hyperparameter_changes_the_config_and_the_splits(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "tab", "tab")  # the first field (after the preset selector)
        await pilot.press("end", "ctrl+u", *"21")
        await set_field(pilot, "train_start", "2016-07")
        assert app.form.config.window_length == 21
        assert app.form.config.train_start == "2016-07"
        assert "train 2016-07-01..2016-12-31    184" in static_text(app, "#data-info")


async def test_invalid_values_are_explained_inline_and_block_a_run(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await set_field(pilot, "lr", "abc")
        await set_field(pilot, "momentum", "1.5")
        assert help_text(app, "lr") == "✗ must be a number, got 'abc'"
        assert help_text(app, "momentum") == "✗ must be in [0, 1), got 1.5"  # the engine's reason
        assert app.query_one("#field-lr").has_class("-invalid")
        assert app.form.config is None
        assert "2 invalid settings" in static_text(app, "#form-error")
        await pilot.press("escape", "t")
        assert not app.training and app.job == 0
        assert app.query_one(TabbedContent).active == "hyperparams"
        assert app.focused.id == "field-lr"  # the first invalid field
        # Splits that overlap: the engine names valid_start.
        await set_field(pilot, "lr", "0.05")
        await set_field(pilot, "momentum", "0.9")
        await set_field(pilot, "valid_start", "2016-06")
        assert help_text(app, "valid_start").startswith("✗ 2016-06-01 must come after train_end 2016-12-31")
        await set_field(pilot, "valid_start", "2017-01")
        assert app.form.config is not None and app.form.errors == {}
        assert help_text(app, "lr") == FIELD_HELP["lr"]


def test_check_reports_several_errors_at_once():
    specs = field_specs()
    raw = {s.name: (s.default if s.kind is bool or s.choices else str(s.default)) for s in specs}
    raw.update(epochs="0", factor="2", seed="x")
    config, errors = check(specs, raw)
    assert config is None
    assert set(errors) == {"epochs", "factor", "seed"}
    assert errors["seed"] == "must be a whole number, got 'x'"


# -- training ---------------------------------------------------------------------------------------
async def test_a_short_run_streams_epochs_and_ends_with_scores(make_test_app, tui_data, tui_config, settle):
    seen = []
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("2")
        await set_field(pilot, "epochs", "4")
        await pilot.press("escape", "t")
        assert app.query_one(TabbedContent).active == "training"
        await settle(app)
        await pilot.pause()
        events = epochs_of(seen)
        assert [e.epoch for e in events] == [1, 2, 3, 4]
        assert all(e.epochs == 4 for e in events)
        started = [m for m in seen if isinstance(m, TrainingStarted)]
        assert len(started) == 1 and started[0].device == "cpu"
        assert app.query_one("#loss-chart").points == {"train": 4}
        assert app.query_one("#mae-chart").points == {"train": 4, "valid": 4, "naive (valid)": 4}
        run = app.active
        assert run.status == "finished" and run.weights_epoch == 4
        assert started[0].run_id == run.run_id == 1 and started[0].job == 1  # the store's id, the app's count
        # The baseline line drawn before training is the engine's naive MAE on the same targets.
        assert started[0].naive_valid_mae == pytest.approx(run.scores["valid"].naive_mae)
        result = static_text(app, "#run-result")
        assert "Scores use epoch 4's weights (the last epoch" in result
        assert f"validation MAE {run.scores['valid'].mae:>9,.0f} riders" in result
        assert f"{run.scores['test'].naive_mae:,.0f}" in result
        epoch_line = static_text(app, "#run-epoch")
        assert "epoch 4/4" in epoch_line and "lr 0.05" in epoch_line
        assert "ETA" not in epoch_line  # the run is over
        assert f"best epoch {events[-1].best_epoch}" in epoch_line


async def test_stop_ends_the_run_mid_epoch_and_keeps_best_weights_and_history(make_test_app, tui_config, keys, until):
    seen = []
    app = make_test_app(config=tui_config.replace(**LONG))
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await keys(app, "t")
        await until(pilot, lambda: app.training, what="the run to start")
        await keys(app, "t")  # a second start while running is refused
        await until(pilot, lambda: len(epochs_of(seen)) >= 2, timeout=120, what="two epochs")
        assert app.job == 1 and len([w for w in app.workers if w.group == "train"]) == 1
        assert "ETA" in static_text(app, "#run-epoch")
        await keys(app, "s")
        await until(pilot, lambda: not app.training, timeout=120, what="the run to stop")
        await pilot.pause()
        run = app.last_run
        assert app.active is None  # a stopped run never becomes the model in use by itself
        done = len(epochs_of(seen))
        assert run.status == "stopped" and run.epochs_done == done < 100_000
        assert run.reason == f"stopped by the user during epoch {done + 1}"  # within the epoch
        assert run.weights_epoch == run.best_epoch == epochs_of(seen)[-1].best_epoch
        assert app.query_one("#mae-chart").points["valid"] == done
        assert "stopped by the user" in static_text(app, "#run-status")
        assert run.scores
        # A new run can start once the last one ended.
        await keys(app, "t")
        await until(pilot, lambda: len(epochs_of(seen, job=2)) >= 1, timeout=120, what="run 2's first epoch")
        await keys(app, "s")
        await until(pilot, lambda: not app.training, timeout=120, what="run 2 to stop")
        assert app.job == 2


async def test_the_ui_responds_while_training(make_test_app, tui_config, keys, until):
    seen = []
    app = make_test_app(config=tui_config.replace(**LONG))
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await keys(app, "t")
        await until(pilot, lambda: len(epochs_of(seen)) >= 1, what="the first epoch")
        table = app.query_one(RowTable)
        await keys(app, "1")  # shows the Dataset pane and focuses the table
        await until(pilot, lambda: app.focused is table and table.size.height > 0, what="the table")
        await keys(app, "pagedown", "pagedown")
        await until(pilot, lambda: table.first_visible_row() > 0, what="the table to scroll")
        await keys(app, "2")
        await until(pilot, lambda: app.focused is app.form and app.form.size.height > 0, what="the form")
        await keys(app, "tab", "tab", "tab")  # preset, window_length, then hidden_size, its value selected
        await until(pilot, lambda: getattr(app.focused, "id", "") == "field-hidden_size", what="hidden_size")
        await pilot.pause(0.1)
        await keys(app, *"24")
        await until(
            pilot, lambda: app.form.config is not None and app.form.config.hidden_size == 24, what="the typed value"
        )
        await keys(app, "escape")
        await until(pilot, lambda: app.focused is app.form, what="the field to let go")
        await keys(app, "4")
        await until(pilot, lambda: app.query_one(TabbedContent).active == "device", what="the Device pane")
        assert app.training  # all of that happened during the run
        # The Device pane is refreshed while the run trains (memory in use, threads).
        refreshed = lambda: [
            m
            for m in seen
            if isinstance(m, Worker.StateChanged)  # noqa: E731
            and m.worker.group == "device"
            and m.state == WorkerState.SUCCESS
        ]
        before = len(refreshed())
        await until(pilot, lambda: len(refreshed()) > before, what="a device refresh during the run")
        await keys(app, "s")
        await until(pilot, lambda: not app.training, what="the run to stop")


async def test_quitting_during_a_run_stops_the_thread(make_test_app, tui_config, monkeypatch, keys, until):
    import engine.training

    real_fit = engine.training.fit
    returned = threading.Event()
    statuses = []

    def watched_fit(*args, **kwargs):
        try:
            result = real_fit(*args, **kwargs)
            statuses.append(result.status)
            return result
        finally:
            returned.set()

    monkeypatch.setattr(engine.training, "fit", watched_fit)
    seen = []
    app = make_test_app(config=tui_config.replace(**LONG))
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await keys(app, "t")
        await until(pilot, lambda: len(epochs_of(seen)) >= 1, what="the first epoch")
        await keys(app, "ctrl+q")
        await until(pilot, lambda: not app.is_running, what="the app to quit")
    assert returned.wait(10), "the training thread is still running after quitting"
    assert statuses == ["stopped"]


async def test_a_run_that_cannot_start_says_why(make_test_app, tui_config, settle):
    # Valid settings, but the data has no rows in the test split: the form says so on the
    # test_start row once the data is loaded, and t shows that row instead of starting a run.
    app = make_test_app(config=tui_config.replace(test_start="2030-01", test_end="2030-02"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app)
        await pilot.pause()
        assert app.form.errors["test_start"] == "the test split has no days in the data loaded"
        assert "the test split has no days" in static_text(app, "#help-test_start")
        assert app.query_one(TabbedContent).active == "hyperparams"
        assert not app.training


# -- device -----------------------------------------------------------------------------------------
async def test_device_pane_describes_the_device(make_test_app, settle):
    app = make_test_app(describe_device=None)  # the real query
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await settle(app)
        await pilot.pause()
        import torch

        info = static_text(app, "#device-info")
        assert f"torch                   {torch.__version__}" in info
        assert "In use                  cpu" in info
        assert "Memory in use by torch  not reported by the cpu backend" in info


# -- forecast ---------------------------------------------------------------------------------------
async def test_forecast_before_training_says_so(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5", "w")
        await pilot.pause()
        assert static_text(app, "#forecast-result").startswith("No trained model yet")


async def test_forecast_for_each_day_type(make_test_app, tui_data, settle):
    from engine.predictor import Predictor

    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app)
        await pilot.press("5")
        next_day = tui_data.last_date + pd.Timedelta(days=1)
        for key, code in (("w", "W"), ("a", "A"), ("u", "U"), ("c", None)):
            await pilot.press(key)
            await settle(app)
            await pilot.pause()
            text = static_text(app, "#forecast-result")
            expected = Predictor.from_result(app.active, tui_data).forecasts(1, {1: code} if code else None)[0]
            kind = code or infer_day_type(next_day)
            how = "chosen" if code else "from the calendar"
            assert f"{next_day:%Y-%m-%d} ({next_day:%A}), day type {kind}" in text
            assert how in text
            assert f"rail {expected.rail:,.0f} (80%: " in text and f"bus {expected.bus:,.0f} (" in text
            if code == "U":  # Wednesday 2021-12-01 as U: held to real weekday holidays, and said so
                assert expected.held is not None and expected.held.range is not None
                assert "How formed: Wed 12-01 as Sunday/holiday service: the model's holiday forecast" in text
                assert expected.held.range.who() in text
                for series in ("rail", "bus"):
                    r = expected.held.range
                    assert r.low[series] <= expected.held.ratio(series) <= r.high[series]
            # how far to trust it: validation and test MAE beside naive and LightGBM, the intervals' coverage, and
            # (a 2-epoch model on the demo series) the warning
            assert "Trust: MAE valid " in text and ", test " in text and "naive" in text and "LightGBM" in text
            assert "intervals covered" in text and "Warning: worse than repeating last week" in text
            points = app.query_one("#forecast-chart").points
            # the forecast continues each line from the last actual day: a segment of two points
            assert {k: v for k, v in points.items() if k} == {
                "bus": 56,
                "rail": 56,
                "bus forecast": 2,
                "rail forecast": 2,
            }
