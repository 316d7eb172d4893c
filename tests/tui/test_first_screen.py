"""The first screen comes before most of the app exists (tui/app.py compose, tui/widgets/lazy.py):
only the tab bar, the Dataset pane and the form are built at start; every other pane is mounted
empty and built the first time it is shown. What that must keep true: a pane key builds and shows
its pane, and keys pressed while it is built act on it, in order; a pane first shown late shows
what it was told meanwhile; and the first screen is drawn before the heavy libraries are imported."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from textual import events

from tui.app import PANES
from tui.widgets import lazy
from tui.widgets.runs import RunsPane

ROOT = Path(__file__).resolve().parents[2]
LAZY = {"training", "device", "forecast", "runs", "backtest", "sweeps"}
PANE_WIDGETS = (  # the widget each pane is built around, and one of its children
    ("training", "#training-pane", "#run-status"),
    ("device", "#device-pane", "#device-info"),
    ("forecast", "#forecast-pane", "#forecast-result"),
    ("forecast", "#multiday", "#md-status"),
    ("runs", "#runs-pane", "#runs-table"),
    ("backtest", "#backtest-pane", "#bt-status"),
    ("sweeps", "#sweeps-pane", "#sweeps-table"),
)


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


async def test_only_the_first_pane_is_built_at_start_and_each_other_pane_when_first_shown(
    make_test_app, tui_config, tmp_path, until
):
    app = make_test_app(config=tui_config.replace(loss="l1"), runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        assert app.unbuilt_panes == LAZY
        for _pane, widget, child in PANE_WIDGETS:
            assert len(app.query(widget)) == 1, widget  # the pane's own widget: its state, its messages
            assert not app.query(child), child  # not its children
        assert len(list(app.screen.walk_children())) < 70  # of ~150 with every pane built
        for pane, key, _label in PANES[1:]:
            await pilot.press(key)
            await until(pilot, lambda pane=pane: app.active_pane == pane, what=f"{pane} shown")
            assert pane not in app.unbuilt_panes
            for built, widget, child in PANE_WIDGETS:
                if built == pane:
                    assert len(app.query(f"{widget} {child}")) == 1, child
        assert app.unbuilt_panes == set()
        # What the app told the panes while they were empty, drawn when they were built.
        assert "Test CPU" in text(app, "#device-info")  # the device query answered at start
        assert app.query_one("#forecast-chart").points  # the data's last weeks, given at start
        assert app.query_one("#loss-chart").chart_title == "Training loss (L1)"  # the form's loss, not Huber
        assert app.query_one("#md-table").row_count == 7  # the days after the data, laid out at start


async def test_keys_pressed_while_a_pane_is_built_act_on_it_in_order(make_test_app, tmp_path, until, monkeypatch):
    gate = asyncio.Event()
    real = lazy.build

    async def slow_build(pane):  # a build that lasts until the test lets it end
        await gate.wait()
        await real(pane)

    monkeypatch.setattr(lazy, "build", slow_build)
    app = make_test_app(runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_show_pane("backtest")  # what 7 does: its build waits, and the app's loop with it
        for key, character in (("2", "2"), ("end", None)):  # then Hyperparameters: the last one shown
            app.post_message(events.Key(key, character))  # as the terminal sends them (pilot.press would wait)
        await asyncio.sleep(0.5)
        try:
            assert app.active_pane == "dataset" and "backtest" in app.unbuilt_panes  # held, not lost
        finally:
            gate.set()  # (an app whose loop waits would never close)
        await until(pilot, lambda: app.active_pane == "hyperparams", timeout=60, what="2's pane")
        assert "backtest" not in app.unbuilt_panes
        assert app.focused is app.query_one("#form")  # the pane key focused the form, as usual
        await pilot.pause()  # and end reaches it


async def test_a_pane_first_shown_late_shows_the_runs_listed_meanwhile(make_test_app, tmp_path, until):
    from support import small_args

    from cli.main import main as cli_main

    db = tmp_path / "runs.db"
    for epochs in ("2", "1"):  # run 1 and run 2, recorded by the CLI
        assert cli_main(["train", *small_args(), "--quiet", "--epochs", epochs, "--runs-db", str(db)]) == 0
    app = make_test_app(runs_db=str(db))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(RunsPane)
        await until(pilot, lambda: len(pane.runs) == 2, what="the runs listed, the pane not built")
        assert "runs" in app.unbuilt_panes
        assert pane.cursor_run.run_id == 2  # where the table will put its cursor: the newest run
        await until(pilot, lambda: pane.curves, what="its curves read")
        await pilot.press("6")
        await until(pilot, lambda: app.active_pane == "runs", what="the Runs pane")
        assert pane.table.row_count == 2 and pane.cursor_run.run_id == 2
        assert text(app, "#runs-status").startswith("2 runs")
        assert app.query_one("#runs-mae-chart").points  # run 2's curve, read before the pane was built


# The app in a fresh interpreter, as `ridership` starts it, stopped right after its first screen is
# painted: which modules are loaded by then, and which panes are still empty.
FIRST_SCREEN_MODULES = """
import json, sys
from pathlib import Path

import tui.app
from tui.app import RidershipApp

loaded = {}


class FirstScreen(RidershipApp):
    CSS_PATH = str(Path(tui.app.__file__).with_name(RidershipApp.CSS_PATH))

    def on_mount(self):
        self.call_after_refresh(self.first_screen)  # before the work on_mount starts after that refresh
        super().on_mount()

    def first_screen(self):
        loaded["modules"] = sorted(sys.modules)
        loaded["painted"] = self.screen.is_mounted and bool(self.query_one("#dataset-pane").region)
        loaded["unbuilt"] = sorted(self.unbuilt_panes)
        self.exit()


FirstScreen(runs_db=sys.argv[1]).run(headless=True, size=(120, 40))
print(json.dumps(loaded))
"""
# plotext too: the first screen draws no chart (one built meanwhile would hold the GIL in its thread).
HEAVY = ("torch", "pandas", "numpy", "lightgbm", "optuna", "ray", "sqlite3", "plotext")


def test_the_first_screen_is_drawn_before_the_heavy_libraries_load(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RIDERSHIP_DATA"}
    env["RIDERSHIP_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-c", FIRST_SCREEN_MODULES, str(tmp_path / "runs.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["painted"]
    assert set(loaded["unbuilt"]) == LAZY
    assert "textual" in loaded["modules"]  # the list is the app's, not an empty one
    assert [name for name in HEAVY if name in loaded["modules"]] == []
