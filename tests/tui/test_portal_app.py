"""The app's U (update from the portal, against a SODA server on 127.0.0.1) and j (the forecast
journal), through Pilot."""

from __future__ import annotations

import pandas as pd
import pytest
from fake_portal import FakePortal, table

from tui.widgets.dataset import DatasetPane
from tui.widgets.journal import JournalScreen

LAST = "2026-12-01"  # the day before the tests' fixed today (tests/tui/conftest.py)


def static_text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


@pytest.fixture
def portal_env(monkeypatch):
    def point(url: str) -> None:
        monkeypatch.setenv("RIDERSHIP_PORTAL", url)
        monkeypatch.setenv("RIDERSHIP_PORTAL_PAGE_ROWS", "1000")
        monkeypatch.setenv("RIDERSHIP_PORTAL_BACKOFF", "0.01")
        monkeypatch.setenv("RIDERSHIP_PORTAL_TIMEOUT", "2")

    return point


async def test_u_updates_from_the_portal_with_progress_and_loads_the_new_table(make_test_app, portal_env, until):
    rows = table("2019-01-01", LAST)
    with FakePortal(rows) as portal:
        portal_env(portal.url)
        portal.hold_at = 1000  # the second page waits, so the progress can be seen
        app = make_test_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("U")
            await until(pilot, portal.holding.is_set, what="the update to ask for page 2", timeout=120)
            await until(pilot, lambda: "1,000 rows" in static_text(app, "#data-status"), what="progress")
            portal.release.set()
            await until(pilot, lambda: app.data.source.kind == "portal", what="the updated table", timeout=180)
            assert f"{app.data.last_date:%Y-%m-%d}" == LAST and len(app.data.frame) == len(rows)
            await until(
                pilot, lambda: f"last day {LAST}: yesterday" in static_text(app, "#data-info"), what="the data's age"
            )
            assert any(
                f"{len(rows)} new days, 0 revised; last day {LAST} (yesterday)" in n.message for n in app._notifications
            )
            assert app.query_one(DatasetPane).data is app.data


async def test_an_update_that_fails_says_so_and_keeps_the_data(make_test_app, portal_env, tui_data, until):
    with FakePortal([]) as portal:
        portal_env(portal.url)
        portal.script = [("status", 500)] * 10
        app = make_test_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("U")
            await until(pilot, lambda: "unchanged" in static_text(app, "#data-status"), what="the failure", timeout=180)
            status = static_text(app, "#data-status")
            assert "could not reach" in status and "HTTP 500" in status and "the data shown is unchanged" in status
            assert app.data is tui_data


async def test_a_forecast_made_in_the_app_is_journalled_and_j_shows_it(make_test_app, tui_data, settle, until):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app)
        await pilot.press("5", "w")
        await settle(app)
        await pilot.pause()
        text = static_text(app, "#forecast-result")
        target = tui_data.last_date + pd.Timedelta(days=1)
        assert f"this forecast is for {target:%Y-%m-%d}, not tomorrow (2026-12-03)" in text
        seen = (tui_data.last_date - pd.Timestamp("2017-06-30")).days  # after the test split (TUI_CONFIG)
        assert f"Since: on the {seen:,} days since 2017-06-30 (never seen in training): model " in text
        await pilot.press("j")
        await until(
            pilot,
            lambda: isinstance(app.screen, JournalScreen) and app.screen.journal is not None,
            what="the journal",
            timeout=120,
        )
        entries = app.screen.journal.entries  # the W forecast, and the multi-day view's days
        assert {e.origin for e in entries} == {"app"}
        (entry,) = [e for e in entries if e.horizon == 1 and e.day_type == "W"]
        assert entry.origin == "app" and entry.target_date == f"{target:%Y-%m-%d}" and entry.day_type == "W"
        assert entry.run_id == app.active.run_id and entry.actual is None  # the day after the data: pending
        assert app.screen.query_one("#journal-table").row_count == len(entries)
        assert f"run 1: no day known yet ({len(entries)} pending)" in str(
            app.screen.query_one("#journal-summary").render()
        )
        # At 80 columns the bus columns lie past the dialog's edge: end scrolls the table to them.
        await pilot.resize_terminal(80, 24)
        journal = app.screen.query_one("#journal-table")
        await until(pilot, lambda: journal.max_scroll_x > 0, what="the table wider than the dialog")
        await pilot.press("end")
        await until(pilot, lambda: journal.scroll_x == journal.max_scroll_x, what="the last columns in view")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JournalScreen), what="the journal to close")


async def test_f_forks_on_splits_moved_forward_after_more_than_60_new_days(make_test_app, tui_data, settle, until):
    """TUI_CONFIG's test split ends 2017-06-30; the demo series runs 1,614 days further."""
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")  # no forecast yet: nothing to move forward, said so
        await pilot.pause()
        assert any("Nothing to move forward" in n.message for n in app._notifications)
        await pilot.press("t")
        await settle(app)
        await pilot.press("5", "w")
        await settle(app)
        await pilot.pause()
        days = (tui_data.last_date - pd.Timestamp("2017-06-30")).days
        assert f"F trains the same settings on splits moved forward {days:,} days" in static_text(
            app, "#forecast-result"
        )
        await pilot.press("F")
        await until(pilot, lambda: app.run_id == 2, what="the fork to start", timeout=120)
        await settle(app)
        run = app.store.get_run(2, with_epochs=False)
        shift = pd.Timedelta(days=days)
        assert run.parent_id == 1 and run.config.test_end == f"{pd.Timestamp('2017-06-30') + shift:%Y-%m-%d}"
        assert run.config.train_start == f"{pd.Timestamp('2016-01-01') + shift:%Y-%m-%d}"
        assert run.config.test_end == "2021-11-30"
