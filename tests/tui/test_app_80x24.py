"""The app as an SSH user meets it: 80x24 terminals, quick key bursts, outside text shown as
written, a busy or read-only run store, and a first screen that loads nothing but Textual."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from support import workers_ended
from textual import events
from textual.widgets import Footer

import tui.parts as app_parts_module
from engine.store import RunStore
from tui.format import middle_ellipsis, short_path
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.dataset import DatasetPane
from tui.widgets.header import HeaderBar
from tui.widgets.runs import RunsPane
from tui.widgets.training import TrainingPane

SMALL = (80, 24)
ROOT = Path(__file__).resolve().parents[2]


def footer_keys(app) -> set[str]:
    """The keys the footer shows now (what a person can read at the bottom line)."""
    footer = app.screen.query_one(Footer)
    return {item.key for item in footer.query("FooterKey")}


def burst(app, keys: str) -> None:
    """Every key at once, as a terminal delivers a quick burst: no wait between them."""
    for key in keys:
        event = events.Key(key, key)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_a_quick_key_burst_leaves_training_on_screen_and_training(make_test_app, tmp_path, until):
    app = make_test_app(runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("1", "2", "3", "4", "5", "6", "7", "3", "t")
        await until(pilot, lambda: app.training or app.last_run is not None, what="a run")
        await pilot.pause()
        assert app.active_pane == "training"
        assert app.focused is app.query_one(TrainingPane)
        assert {"e", "f", "t", "s"} <= footer_keys(app)  # the Training pane's footer
        app.action_stop_training()
        await until(pilot, lambda: not app.training, what="the run to stop")


async def test_a_burst_delivered_at_once_lands_on_the_last_pane(make_test_app, tmp_path, until):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        await pilot.pause()
        burst(app, "12345673")
        # Each pane is built when first shown, the keys after it held meanwhile: a state to wait for.
        await until(pilot, lambda: not app.unbuilt_panes - {"sweeps"}, what="the panes of the burst built")
        for _ in range(5):
            await pilot.pause()
        assert app.active_pane == "training"
        assert app.focused is app.query_one(TrainingPane)
        burst(app, "7654321")
        for _ in range(5):
            await pilot.pause()
        assert app.active_pane == "dataset"
        assert app.focused is app.query_one("#dataset-pane RowTable")


async def test_footers_fit_80_columns_on_every_pane(make_test_app, tmp_path):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        for key in [*"12345678", "5m"]:  # 5m: the Forecast pane's several-days view
            await pilot.press(*key)
            await pilot.pause()
            footer = app.screen.query_one(Footer)
            keys = [item for item in footer.query("FooterKey") if item.display]
            palette = next(item for item in keys if item.key == "ctrl+p")
            right = max(item.region.right for item in keys if item is not palette)
            assert right < palette.region.x, f"pane {key}: footer keys reach column {right}, into ^p palette"


def test_long_paths_are_ellipsized_in_their_middle():
    path = "/home/someone/projects/ridership/data/CTA_-_Ridership_-_Daily_Boarding_Totals.csv"
    cut = middle_ellipsis(path, 40)
    assert len(cut) == 40 and cut.startswith("/home/someone/proj") and cut.endswith("Boarding_Totals.csv")
    assert "…" in cut
    assert middle_ellipsis("short", 40) == "short"
    assert short_path(os.path.expanduser("~/x.csv"), 40) == "~/x.csv"


async def test_the_header_keeps_a_long_path_on_one_line(make_test_app, tui_csv, tmp_path):
    deep = tmp_path / ("very-long-folder-name-" * 4)
    deep.mkdir()
    good = tui_csv(str(deep.relative_to(tmp_path) / "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"))
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        app.load_file(str(good))
        await workers_ended(app)
        await pilot.pause()
        bar = app.query_one(HeaderBar)
        text = bar.data_text
        assert bar.region.height == 1
        assert "…" in text and text.endswith(f"Totals.csv (path) · {len(app.data.frame):,} days")
        assert len(text) <= 80


async def test_the_device_shows_in_the_header(make_test_app, tmp_path, until):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        bar = pilot.app.query_one(HeaderBar)  # the device is asked for once the first screen is painted
        await until(pilot, lambda: bar.device_text == "cpu", what="the device in the header")


# -- text from outside is shown as written ------------------------------------------------------------
async def test_paths_with_markup_are_shown_exactly_and_do_not_crash(make_test_app, tui_csv, tmp_path, until):
    folder = tmp_path / "a["
    folder.mkdir()
    good = tui_csv("a[/]b[bold]good.csv")  # the folder "a[" and the file "]b[bold]good.csv"
    refused = folder / "]not[red]a csv.txt"
    refused.write_text("this is not a CSV file\n")
    assert "[/]" in str(good) and "[/]" in str(refused)
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=(160, 40)) as pilot:
        app = pilot.app
        app.load_file(str(refused))
        await until(pilot, lambda: "missing column" in str(app.query_one("#data-status").render()), what="refusal")
        status = str(app.query_one("#data-status").render())
        assert str(refused) in status
        assert any(str(refused) in n.message for n in app._notifications)
        app.load_file(str(good))
        await until(pilot, lambda: app.data.source.path == str(good), what="the good file")
        await pilot.pause()
        assert str(good) in app.query_one(HeaderBar).data_text
        assert any(f"Loaded {good}" in n.message for n in app._notifications)
        app.notify("engine said: [/] and [bold]not bold[/bold]", title="[x]")
        await pilot.pause()
        assert list(app._notifications)[-1].message == "engine said: [/] and [bold]not bold[/bold]"
        app.query_one(DatasetPane).show_status("an error [/] with [b]markup")
        await pilot.pause()
        assert str(app.query_one("#data-status").render()) == "an error [/] with [b]markup"


# -- the run store ------------------------------------------------------------------------------------
async def test_a_locked_store_is_retried_until_it_opens(make_test_app, tmp_path, monkeypatch, until):
    monkeypatch.setattr(app_parts_module, "STORE_RETRY_S", 0.3)
    monkeypatch.setattr(app_parts_module, "STORE_OPEN_TIMEOUT_S", 0.1)
    db = tmp_path / "runs.db"
    RunStore.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        async with make_test_app(runs_db=str(db)).run_test(size=SMALL) as pilot:
            app = pilot.app
            await until(pilot, lambda: "busy" in app.store_note, what="the busy note")
            assert app.store is None
            await pilot.press("6")  # built when first shown, with the note it was given meanwhile
            await until(pilot, lambda: app.active_pane == "runs", what="the Runs pane")
            assert "run store busy, retrying" in str(app.query_one("#runs-status").render())
            holder.execute("ROLLBACK")
            await until(pilot, lambda: app.store is not None, what="the store to open")
            assert app.store_note == ""
            assert app.recording_store is app.store
    finally:
        holder.close()


async def test_a_read_only_store_lists_its_runs_and_records_nothing(
    make_test_app, tmp_path, monkeypatch, until, tui_data, tui_config
):
    db = tmp_path / "runs.db"
    with RunStore.open(db) as store:
        run_id = store.start_run(tui_config, tui_data, "cpu", device_name="Test CPU", torch_version="2.x")
        store.finish_run(run_id, "stopped", "test")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    async with make_test_app(runs_db=str(db)).run_test(size=SMALL) as pilot:
        app = pilot.app
        await until(pilot, lambda: app.store is not None, what="the store")
        assert app.store.read_only and app.recording_store is None
        await pilot.press("6")
        await until(pilot, lambda: len(app.query_one(RunsPane).runs) == 1, what="the run listed")
        assert "read-only" in str(app.query_one("#runs-status").render())


# -- forms, runs, screenshots -------------------------------------------------------------------------
async def test_a_window_longer_than_a_split_is_refused_before_t(make_test_app, tmp_path):
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        app = pilot.app
        await pilot.press("2")
        app.form.focus_field("window_length")
        await pilot.pause()
        await pilot.press("end", "ctrl+u", "1", "0", "0")  # the valid split (2017-01..03) has 90 days
        await pilot.pause()
        assert app.form.config is None
        reason = app.form.errors["window_length"]
        assert "90 days" in reason and "valid" in reason
        assert reason in str(app.query_one("#help-window_length").render())


async def test_x_deletes_the_run_under_the_cursor_and_says_its_record(
    make_test_app, tmp_path, until, tui_data, tui_config
):
    db = tmp_path / "runs.db"
    with RunStore.open(db) as store:
        for _ in range(2):
            run_id = store.start_run(tui_config, tui_data, "cpu", device_name="Test CPU", torch_version="2.x")
            store.finish_run(run_id, "stopped", "test")
    async with make_test_app(runs_db=str(db)).run_test(size=SMALL) as pilot:
        app = pilot.app
        await until(pilot, lambda: app.store is not None, what="the store")
        await pilot.press("6")
        pane = app.query_one(RunsPane)
        await until(pilot, lambda: len(pane.runs) == 2, what="the runs")
        assert pane.cursor_run.run_id == 2  # the newest, at the top
        await pilot.press("x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "Delete run 2" in dialog._title and "Its record" in dialog._body
        await pilot.press("n")
        await pilot.press("space", "down", "space", "x")
        await pilot.pause()
        assert "runs (2, 1)" in app.screen._title or "runs (1, 2)" in app.screen._title
        assert "Their records" in app.screen._body


async def test_ctrl_s_saves_into_the_user_data_folder(make_test_app, tmp_path, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    async with make_test_app(runs_db=str(tmp_path / "runs.db")).run_test(size=SMALL) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = list((tmp_path / "home" / "screenshots").glob("*.svg"))
        assert len(saved) == 1
        assert not list(tmp_path.glob("*.svg"))
        assert str(saved[0]) in list(pilot.app._notifications)[-1].message


def test_download_errors_in_the_app_name_keys_not_options():
    from engine.errors import DownloadError
    from tui.format import explain

    text = explain(
        DownloadError("could not download X (offline). Offline? Pass --data PATH to a local copy or set RIDERSHIP_DATA")
    )
    assert "--data" not in text and "o to open" in text


# -- the first screen ---------------------------------------------------------------------------------
def test_the_app_module_loads_no_pandas_numpy_or_torch():
    code = (
        "import sys, tui.app; heavy = [m for m in ('pandas', 'numpy', 'torch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


async def test_the_device_pane_samples_this_process_live(tui_data, tui_config, tmp_path, until, monkeypatch):
    import tui.app
    from tui.app import make_app
    from tui.system_metrics import SystemSampler
    from tui.widgets.device import DevicePane

    monkeypatch.setattr(tui.app, "SYSTEM_SAMPLE_S", 0.1)  # a sample every 0.1 s, not every second

    app = make_app(
        data=tui_data,
        config=tui_config,
        describe_device=lambda choice: _fixed(choice),
        runs_db=str(tmp_path / "runs.db"),
        sampler=SystemSampler(),
    )
    async with app.run_test(size=SMALL) as pilot:
        sparks = app.query_one(DevicePane).sparklines
        assert sparks.last is None  # nothing sampled while the pane is hidden and nothing trains
        await pilot.press("4")
        await until(pilot, lambda: len(sparks.values["rss_bytes"]) >= 2, what="two samples")
        assert sparks.last.rss_bytes > 0
        assert "RSS" in sparks.text()
        await pilot.press("1")
        await pilot.pause(0.3)  # a sample in flight when the pane was hidden lands
        count = len(sparks.values["rss_bytes"])
        await pilot.pause(0.5)  # five sampling intervals
        assert len(sparks.values["rss_bytes"]) == count  # paused while hidden


def _fixed(choice):
    from engine.device import DeviceInfo

    return DeviceInfo("cpu", "Test CPU", None, None, "2.x (test)", 1), ["cpu"]


async def test_question_mark_and_f1_list_every_key_of_the_pane_and_the_app(make_test_app, tmp_path, until):
    from tui.widgets.help import HelpScreen

    app = make_test_app(runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("5", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        pane = str(app.screen.query_one("#help-pane").render())
        everywhere = str(app.screen.query_one("#help-app").render())
        assert pane.startswith("Forecast pane")
        for key, what in (("w", "Weekday"), ("c", "Calendar"), ("f", "Forecast"), ("m", "Several days")):
            assert any(line.split()[:1] == [key] and what in line for line in pane.splitlines()), (key, pane)
        for what in ("Train", "Stop", "Quit", "Dataset", "Sweeps", "Help"):
            assert what in everywhere
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the help screen to close")
        await pilot.press("6", "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen (F1)")
        pane = str(app.screen.query_one("#help-pane").render())
        assert pane.startswith("Runs pane") and "Delete" in pane and "Fork" in pane
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the help screen to close")
        await pilot.press("7", "question_mark")  # a scrolling pane: its own keys before the scroll keys
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the Backtest help")
        lines = str(app.screen.query_one("#help-pane").render()).splitlines()
        assert [line.split()[0] for line in lines[1:4]] == ["b", "v", "z"], lines
        assert any("Scroll Up" in line for line in lines[4:])


async def test_r_restores_the_default_preset_and_the_loss_chart_follows_the_form(make_test_app, tui_config, until):
    from engine.presets import DEFAULT_PRESET, apply_preset

    app = make_test_app(config=tui_config.replace(loss="huber"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("3")  # the Training pane, built when first shown
        await until(pilot, lambda: app.active_pane == "training", what="the Training pane")
        chart = app.query_one("#loss-chart")
        assert chart.chart_title == "Training loss (Huber)"  # before any run: the form's loss
        await pilot.press("2", "r")
        await until(pilot, lambda: app.form.config == apply_preset(DEFAULT_PRESET), what="the default preset")
        assert apply_preset(DEFAULT_PRESET).loss == "l1"
        await until(pilot, lambda: chart.chart_title == "Training loss (L1)", what="the loss title to follow")


async def test_a_long_forecast_text_leaves_the_chart_on_screen(make_test_app, tmp_path, until, settle):
    """At 80x24 a U forecast's text (how it was formed, the trust and stale-data lines: over 15 rows
    for the 3-epoch model) scrolls inside its box rather than pushing the chart off the pane."""
    from tui.widgets.charts import Chart

    app = make_test_app(runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: not app.training and app.last_run is not None, what="a run")
        await pilot.press("5", "u")
        await settle(app)
        result = app.query_one("#forecast-result")
        await until(pilot, lambda: "How formed: " in str(result.render()), what="the U forecast")
        await pilot.pause()
        chart = app.query_one("#forecast-chart", Chart)
        assert chart.region.height >= 6 and chart.region.bottom <= SMALL[1] - 1  # above the footer
        assert app.query_one("#forecast-text").max_scroll_y > 0  # longer than its box: it scrolls
        # The keyboard reaches what is cut: Tab from the pane focuses the text box, down scrolls it.
        box = app.query_one("#forecast-text")
        for _ in range(4):  # the day-type selector, then the box
            if app.focused is box:
                break
            before = app.focused
            await pilot.press("tab")
            await until(pilot, lambda before=before: app.focused is not before, what="tab to move the focus")
        assert app.focused is box, app.focused
        await pilot.press("down")
        await until(pilot, lambda: box.scroll_y > 0, what="down to scroll the forecast text")
