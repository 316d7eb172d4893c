"""The Sweeps pane with control characters in a sweep name (issue 24, escapes): a recorded name is
shown escaped (it once retitled the terminal), and one typed in the form is refused in the status
line, the app going on."""

from __future__ import annotations

from textual.widgets import Input

from engine.store import RunStore
from engine.sweep import records
from tui.widgets.sweeps import SweepsPane

TITLE = "\x1b]0;pwned\x07"


async def test_a_recorded_sweep_name_is_shown_escaped(make_test_app, tui_data, tui_config, tmp_path, until):
    db = tmp_path / "runs.db"
    name = f"made{TITLE}\nforged"  # as a store written before names were checked may hold
    with RunStore.open(db) as store:
        records.save_sweep(
            store,
            name=name,
            backend="local",
            objective="valid",
            space=["hidden_size=8,16"],
            base=tui_config,
            trials=2,
            timeout_s=None,
            settings={},
            data=tui_data,
        )
        records.end_sweep(store, name, "finished")
    app = make_test_app(runs_db=str(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        await until(pilot, lambda: pane.progress is not None, what="the recorded sweep")
        status = str(pane.query_one("#sw-status").render())
        assert status.startswith("Sweep made\\x1b]0;pwned\\x07\\nforged finished"), status
        assert "\x1b" not in status and "\n" not in status


async def test_a_typed_sweep_name_with_a_control_character_is_refused(make_test_app, tmp_path, until):
    app = make_test_app(runs_db=str(tmp_path / "runs.db"))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store")
        await pilot.press("8")
        pane = app.query_one(SweepsPane)
        pane.query_one("#sw-name", Input).value = f"bad{TITLE}"
        await pilot.press("g")
        status = str(pane.query_one("#sw-status").render())
        assert status.startswith(
            "Cannot start the sweep: the sweep name 'bad\\x1b]0;pwned\\x07': contains the control character \\x1b"
        ), status
        assert not app.sweeping and app.is_running
