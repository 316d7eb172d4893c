"""The first screen comes before most of the app exists (tui/app.py, compose and _build_panes):
only the tab bar and the Dataset pane are built before it is painted, the other panes right after.
What that must keep true: keys pressed meanwhile still act, in order; every pane exists once
start-up is over; and the first screen is drawn before the heavy libraries are imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import TabPane

from tui.app import PANES

ROOT = Path(__file__).resolve().parents[2]
PANE_WIDGETS = (
    "#dataset-pane",
    "#form",
    "#training-pane",
    "#device-pane",
    "#forecast-pane",
    "#multiday",
    "#runs-pane",
    "#backtest-pane",
    "#sweeps-pane",
)


def held_build(app):
    """Keep the app from building its other panes until ``build()`` is called (posted to the app's
    own message loop, as the first refresh would): the state between the first paint and the
    build, held for as long as a test needs it."""
    real = app._build_panes
    app._build_panes = lambda: None  # what on_mount schedules after the first refresh
    return lambda: app.call_later(real)


async def test_keys_pressed_before_the_panes_exist_act_once_they_do(make_test_app, tmp_path, until):
    app = make_test_app(defer_panes=True, runs_db=str(tmp_path / "runs.db"))
    build = held_build(app)
    async with app.run_test(size=(120, 40)) as pilot:
        assert not app.panes_built
        assert not app.query("#form") and not app.query("#training-pane")  # not built yet
        assert app.query_one("#dataset", TabPane).children  # the first pane is
        await pilot.press("7", "2", "end")  # Backtest, then Hyperparameters: the last one shown
        assert app.active_pane == "dataset"  # held, not lost
        build()
        # Both keys act once the panes exist, in the order pressed: the last pane key's pane shows.
        await until(pilot, lambda: app.panes_built and app.active_pane == "hyperparams", timeout=60, what="2's pane")
        assert app.focused is app.query_one("#form")  # the pane key focused the form, as usual


async def test_every_pane_exists_after_start_up(make_test_app, tmp_path, until):
    app = make_test_app(defer_panes=True, runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.panes_built, what="the panes built")
        await pilot.pause()
        for selector in PANE_WIDGETS:
            assert len(app.query(selector)) == 1, selector
        for pane, _key, _label in PANES:
            assert app.query_one(f"#{pane}", TabPane).children, pane
        # What starts with the panes (the data given) reached them: the form was checked against it.
        assert app.form.split_days is not None
        assert "days" in str(app.query_one("#data-info").render())


async def test_ctrl_q_quits_before_the_panes_exist(make_test_app, tmp_path):
    app = make_test_app(defer_panes=True, runs_db=str(tmp_path / "runs.db"))
    held_build(app)  # never built
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running and not app.panes_built


# The app in a fresh interpreter, as `ridership` starts it (its panes deferred), stopped right
# after its first screen is painted: which modules are loaded by then.
FIRST_SCREEN_MODULES = """
import json, sys
from tui.app import make_app

app = make_app(defer_panes=True, runs_db=sys.argv[1])
loaded = {}

def first_screen():  # scheduled by on_mount for right after the first refresh
    loaded["modules"] = sorted(sys.modules)
    loaded["painted"] = app.screen.is_mounted and bool(app.query_one("#dataset-pane").region)
    app.exit()

app._build_panes = first_screen
app.run(headless=True, size=(120, 40))
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
    assert "textual" in loaded["modules"]  # the list is the app's, not an empty one
    assert [name for name in HEAVY if name in loaded["modules"]] == []
