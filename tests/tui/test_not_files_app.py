"""The app and files that are not files (issue 24, hangs): `o` on a named pipe or /dev/zero says so
and keeps the data, a named pipe as runs.app.json does not freeze the start, and Ctrl+Q quits after
both. Every wait has a deadline; a hang fails."""

from __future__ import annotations

import os

import pytest
from test_app import static_text

from tui.app_state import state_path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
async def test_open_refuses_a_pipe_or_a_device_and_ctrl_q_still_quits(
    make_test_app, tui_data, tmp_path, settle, until, kind
):
    if kind == "fifo":
        path = tmp_path / "ridership.csv"
        os.mkfifo(path)
        words = "is a named pipe, not a file"
    else:
        path, words = "/dev/zero", "is a device (such as /dev/zero or a terminal), not a file"
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await until(pilot, lambda: app.screen.query("#open-path"), what="the open dialog")
        app.screen.query_one("#open-path").value = str(path)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: words in static_text(app, "#data-status").replace("\n", " "),
            what="the refusal in the data status",
        )
        assert app.data is tui_data
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, what="the app to quit")


async def test_a_named_pipe_as_the_state_file_does_not_freeze_the_start(make_test_app, tmp_path, until):
    db = tmp_path / "runs.db"
    os.mkfifo(state_path(db))
    notes = []
    app = make_test_app(runs_db=str(db))
    original = app.notify
    app.notify = lambda message, **kw: (notes.append((message, kw.get("title"))), original(message, **kw))[1]
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.store is not None, what="the run store to open")
        await until(pilot, lambda: notes, what="the note about the state file")
        assert any(
            "runs.app.json: not read (is a named pipe, not a file)" in m and t == "App state not read" for m, t in notes
        ), notes
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, what="the app to quit")
