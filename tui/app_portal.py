"""The app's two portal-era actions, kept out of tui/app.py: U updates the data from the city's portal
(engine/data/portal.py) in the data worker group, j opens the forecast journal. Each takes the app."""

from __future__ import annotations

from . import jobs
from .widgets.dataset import DatasetPane
from .widgets.journal import JournalScreen


def update_data(app) -> None:
    """Fetch new and revised days in a worker; the pane's status shows the rows read so far, a
    notification the outcome; the data worker's ending loads the updated table (or says that the
    data shown is unchanged)."""
    app.action_show_pane("dataset")
    pane = app.query_one(DatasetPane)
    pane.show_status("Updating from the city's data portal…")
    start = app.data

    def say(text: str, done: bool) -> None:
        def show() -> None:
            if done:
                app.notify(text, title="Data updated")
            else:
                pane.show_status(text)

        app.call_from_thread(show)

    app._start(lambda: jobs.update_from_portal(start, say), group="data", name="update")


def open_journal(app) -> None:
    app.push_screen(JournalScreen(app.store, app.data))
