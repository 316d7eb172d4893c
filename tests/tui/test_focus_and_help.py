"""Where the keys go, as a keyboard user at 80x24 finds out: Tab reaches every field of a pane and
the focused one is plain to see; a digit typed into a selector stays there (number keys switch
panes only outside fields).

One app for the file: these checks only move the focus and read the screen. Keys are sent as a
terminal sends them and each step waits for its visible effect (pilot.press would wait for an
idle process after every key, seconds on a loaded machine)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Select, TabbedContent

SMALL = (80, 24)
SWEEP_FIELDS = [
    "Input#sw-name",
    "Input#sw-trials",
    "Input#sw-workers",
    "Input#sw-objective",
    "Input#sw-ranges",
    "Input#sw-backend",
]


def focus_id(app) -> str:
    widget = app.focused
    return f"{type(widget).__name__}#{widget.id}" if widget is not None else "nothing"


async def test_tab_reaches_every_field_digits_stay_in_selectors_and_focus_shows(make_test_app, tmp_path, keys, until):
    app = make_test_app(runs_db=str(tmp_path / "runs.db"))

    async def cycle(pilot, key: str, presses: int) -> list[str]:
        """Where the focus goes on each of ``presses`` presses of ``key`` (each moves it)."""
        seen = []
        for _ in range(presses):
            before = app.focused
            await keys(app, key)
            await until(pilot, lambda before=before: app.focused is not before, what=f"{key} to move the focus")
            seen.append(focus_id(app))
        return seen

    async def pane_key(pilot, key: str, pane: str) -> None:
        await keys(app, key)
        await until(pilot, lambda: panes.active == pane, what=f"pane {pane}")

    async with app.run_test(size=SMALL) as pilot:
        panes = app.query_one(TabbedContent)

        # Sweeps: Tab (not only Shift+Tab) reaches each field of the sweep and comes back to the board.
        await pane_key(pilot, "8", "sweeps")
        assert focus_id(app) == "DataTable#sweeps-table"
        forward = await cycle(pilot, "tab", 8)
        assert [f for f in forward if f in SWEEP_FIELDS] == SWEEP_FIELDS, forward  # each once, in reading order
        assert forward[-1] == "DataTable#sweeps-table", forward
        backward = await cycle(pilot, "shift+tab", 8)
        assert [f for f in backward if f in SWEEP_FIELDS] == SWEEP_FIELDS[::-1], backward

        # The focused field stands out from the others (compact fields have no border to show it).
        name, trials = app.query_one("#sw-name", Input), app.query_one("#sw-trials", Input)
        app.set_focus(name)
        await until(pilot, lambda: name.styles.background != trials.styles.background, what="the name field lit")
        app.set_focus(trials)
        await until(pilot, lambda: name.styles.background != trials.styles.background, what="the trials field lit")
        assert panes.active == "sweeps"

        # Runs: Shift+Tab leaves the table (it once landed on it again, for ever); Tab reaches the
        # charts, which lie below the pane's end on 24 lines, and scrolls them into view.
        await keys(app, "escape")
        await until(pilot, lambda: focus_id(app) == "DataTable#sweeps-table", what="Esc to leave the field")
        await pane_key(pilot, "6", "runs")
        assert focus_id(app) == "DataTable#runs-table"
        assert await cycle(pilot, "shift+tab", 1) == ["ContentTabs#None"]
        assert await cycle(pilot, "tab", 3) == ["DataTable#runs-table", "Chart#runs-loss-chart", "Chart#runs-mae-chart"]
        runs, chart = app.query_one("#runs-pane"), app.query_one("#runs-mae-chart")
        await until(pilot, lambda: runs.scroll_y > 0, what="the pane scrolled to the charts")
        assert chart.region.height >= 12 and runs.region.contains_region(chart.region)  # all of it in view

        # Backtest: a date typed while the Series selector has the focus does not switch panes, and
        # the selector shows it has the focus.
        await pane_key(pilot, "7", "backtest")
        series = app.query_one("#bt-series", Select)
        shown = series.query_one("SelectCurrent")
        unfocused = shown.styles.background
        await cycle(pilot, "tab", 1)
        assert app.focused is series
        await until(pilot, lambda: shown.styles.background != unfocused, what="the selector lit")
        # Then Tab: the next field takes the focus only once the digits were handled.
        await keys(app, "2", "0", "1", "9", "3", "tab")
        await until(pilot, lambda: app.focused is app.query_one("#bt-from"), what="the keys to be handled")
        assert panes.active == "backtest"
        await keys(app, "escape")  # out of the date field
        await until(pilot, lambda: not isinstance(app.focused, Input), what="Esc to leave the field")

        # Forecast: the same for its day-type selector; Esc leaves it, and digits switch panes again.
        await pane_key(pilot, "5", "forecast")
        day_type = app.query_one("#day-type", Select)
        await cycle(pilot, "tab", 1)
        assert app.focused is day_type
        await keys(app, "1", "escape")
        await until(pilot, lambda: app.focused is not day_type, what="Esc to leave the selector")
        assert panes.active == "forecast"
        await pane_key(pilot, "1", "dataset")

        # Esc and a pane's number typed fast reach the app as one escape sequence, which Textual
        # reads as Option+5 ("∞"): the field keeps its text and the pane switches, as when they
        # come apart (it once typed "∞", or the digit, into the field).
        await pane_key(pilot, "7", "backtest")
        date = app.query_one("#bt-from", Input)
        app.set_focus(date)
        await until(pilot, lambda: app.focused is date, what="the date field focused")
        before = date.value
        fast = events.Key("infinity", "∞")  # as the driver delivers ESC 5
        fast.set_sender(app)
        app._driver.send_message(fast)
        await until(pilot, lambda: panes.active == "forecast", what="ESC 5 to show Forecast")
        assert date.value == before and not isinstance(app.focused, Input)
