"""The app's two portal-era actions, kept out of tui/app.py: U updates the data from the city's portal
(engine/data/portal.py) in the data worker group, j opens the forecast journal. Each takes the app."""

from __future__ import annotations

import functools

from . import jobs
from .messages import DataLoaded
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

    app._start(
        lambda: jobs.update_from_portal(start, say),
        functools.partial(DataLoaded, how="update"),
        group="data",
        name="update",
    )


def open_journal(app) -> None:
    app.push_screen(JournalScreen(app.store, app.data))


def fork_forward(app) -> None:
    """F: train the model in use's settings again on splits moved forward to the newest data, as a
    fork of its run (offered under a forecast once more than 60 days came after its test split)."""
    from engine.livescore import moved_forward

    live = getattr(app, "live_score", None)
    run = app.model.run
    if run is None or live is None or not live.fork_worthwhile or live is not jobs.kept_live_score(run):
        app.notify(
            "Nothing to move forward: forecast with a model whose data has grown by more than 60 days first.",
            severity="warning",
        )
        return
    config = moved_forward(run.config, live)
    app.form.set_config(config)
    app._fork_parent = run.run_id
    app.form.show_note(
        f"Fork of {run.name} on splits moved forward {live.days:,} days "
        f"(test {config.test_start}..{config.test_end or 'end'})."
    )
    app.action_start_training()
