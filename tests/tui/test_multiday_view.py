"""The multi-day forecast view: days 1..28, calendar day types, overrides, table and chart."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from support import SMALL, workers_ended
from textual.widgets import DataTable

from engine.data.calendar import infer_day_types
from engine.domain import format_riders as riders
from engine.store import RunStore
from tui import jobs
from tui.widgets.multiday import DEFAULT_DAYS, MultiDayView


@pytest.fixture(scope="module")
def trained(tui_data, tmp_path_factory):
    """Run 1 of a store (engine.session.RunResult), the small config: a model to forecast with."""
    with RunStore.open(tmp_path_factory.mktemp("multiday") / "runs.db") as store:
        return jobs.train(SMALL, tui_data, 1, post=lambda m: None, store=store)


def engine_forecast(trained, data, days, overrides=None):
    from engine.forecast import forecast_days

    return forecast_days(trained.model, data, trained.config.window_length, days, overrides, trained.device)


async def settled(pilot) -> None:
    """Until no worker has run for three pauses in a row: a forecast worker is started after a
    refresh, so one quiet moment is not enough (this flaked on a loaded machine)."""
    quiet = 0
    for _ in range(200):
        await pilot.pause()
        busy = any(not w.is_finished for w in pilot.app.workers)
        await workers_ended(pilot.app)
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            break
    await pilot.pause()


COLUMNS = ("date", "day", "type", "rail", "bus")


def rows(app) -> list[dict[str, str]]:
    """The table's rows as shown, by column name."""
    table = app.query_one("#md-table", DataTable)
    return [dict(zip(COLUMNS, (str(c).strip() for c in table.get_row_at(i)))) for i in range(table.row_count)]


def named(points: dict) -> dict:
    """A chart's points per series named in its legend (unnamed: the legend's headroom)."""
    return {label: n for label, n in points.items() if label}


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


async def rows_become(pilot, expected) -> None:
    """Until the table shows ``expected`` (the engine's forecasts), as riders: the forecast a key
    asks for arrives through a message, a thread worker and a message back, and a quiet moment
    between them (settled) once let a test read the rows before them (a failure seen in a suite
    run: the first days read before the override differed from those after)."""
    want = [(riders(f.rail), riders(f.bus)) for f in expected]
    deadline = time.monotonic() + 180  # only turns a hang into a failure (a loaded machine is slow)
    while [(r["rail"], r["bus"]) for r in rows(pilot.app)] != want and time.monotonic() < deadline:
        await pilot.pause(0.05)
        await workers_ended(pilot.app)
    # What the view said, and its model, if the rows never came (seen once in a suite run: "—" rows).
    table = pilot.app.query_one("#md-table", DataTable)
    said = (
        text(pilot.app, "#md-status"),
        pilot.app.query_one(MultiDayView).model,
        pilot.app.model.run_id,
        pilot.app.query_one(MultiDayView).overrides,
        f"focus {pilot.app.focused!r}, cursor row {table.cursor_row}",
        rows(pilot.app)[:4],
    )
    assert [(r["rail"], r["bus"]) for r in rows(pilot.app)] == want, said


async def type_days(pilot, value: str, enter: bool = True) -> None:
    pilot.app.query_one("#md-days").focus()
    await pilot.press("end", "ctrl+u", *value, *(["enter"] if enter else []))
    await settled(pilot)


async def forecast_shown(pilot, trained, data, days: int):
    """The view after ``days`` were typed with ``trained`` in use, and the engine's own forecast of them."""
    view = await several_days(pilot, trained)
    await type_days(pilot, str(days))
    return view, engine_forecast(trained, data, days)


async def several_days(pilot, trained=None) -> MultiDayView:
    """The Forecast pane's several-days view, with ``trained`` as the app's model in use (if given)."""
    await pilot.press("5", "m")
    if trained is not None:
        pilot.app.use_model(trained)
    await settled(pilot)
    return pilot.app.query_one(MultiDayView)


def test_the_limit_is_the_engines():
    from engine.domain import MAX_FORECAST_DAYS
    from tui.widgets.multiday import parse_days

    assert MAX_FORECAST_DAYS == 28 and parse_days(str(MAX_FORECAST_DAYS)) == MAX_FORECAST_DAYS
    with pytest.raises(ValueError, match="days must be from 1 to 28"):
        parse_days(str(MAX_FORECAST_DAYS + 1))


async def test_before_a_model_the_table_lists_the_days_with_the_calendars_types(make_test_app, tui_data):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await several_days(pilot)
        dates = pd.date_range(tui_data.last_date + pd.Timedelta(days=1), periods=DEFAULT_DAYS)
        assert [r["date"] for r in rows(app)] == [f"{d:%Y-%m-%d}" for d in dates]
        assert [r["type"] for r in rows(app)] == infer_day_types(dates)
        assert all(r["rail"] == r["bus"] == "—" for r in rows(app))
        assert named(app.query_one("#md-chart").points) == {"bus": 56, "rail": 56}
        app.query_one("#md-table", DataTable).focus()
        await pilot.press("f")
        assert "No trained model yet" in text(app, "#md-status")


BAD_DAYS = [
    ("0", "days must be from 1 to 28"),
    ("29", "days must be from 1 to 28 (beyond four weeks the forecasts feed almost only on earlier forecasts), got 29"),
    ("-3", "got -3"),
    ("two", "days must be a whole number from 1 to 28, got 'two'"),
    ("", "days must be a whole number from 1 to 28, got ''"),
]


async def test_days_outside_1_to_28_are_an_inline_error(make_test_app, trained, tui_data):
    """Each bad value in turn, in one app (a boot per value cost a second of CPU each): the error
    shows, nothing is forecast, and a good value clears it."""
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await several_days(pilot, trained)
        for typed, message in BAD_DAYS:
            shown = rows(app)
            await type_days(pilot, typed)
            error = app.query_one("#md-error")
            assert error.display and message in text(app, "#md-error"), typed
            assert rows(app) == shown and view.days == DEFAULT_DAYS, typed  # nothing forecast for a bad value
            await type_days(pilot, "14")
            assert not error.display and len(rows(app)) == 14, typed
            await type_days(pilot, str(DEFAULT_DAYS))  # back to the default, as a fresh app has it


async def test_the_forecast_is_the_engines_autoregressive_one(make_test_app, trained, tui_data):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view, expected = await forecast_shown(pilot, trained, tui_data, 28)
        assert [(r["date"], r["type"], r["rail"], r["bus"]) for r in rows(app)] == [
            (f"{f.date:%Y-%m-%d}", f.day_type, riders(f.rail), riders(f.bus)) for f in expected
        ]
        chart = app.query_one("#md-chart")
        # The forecast lines start at the last actual day, so they continue the actual lines.
        assert named(chart.points) == {"bus": 56, "rail": 56, "bus forecast": 29, "rail forecast": 29}
        assert "Run 1's model" in text(app, "#md-status") and "28 days from" in text(app, "#md-status")


async def test_a_days_type_is_set_on_its_row_and_cleared_with_c(make_test_app, trained, tui_data, until):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await several_days(pilot, trained)
        await rows_become(pilot, engine_forecast(trained, tui_data, DEFAULT_DAYS))
        plain = rows(app)
        table = app.query_one("#md-table", DataTable)
        table.focus()
        await pilot.press("down", "down")
        # The key after these reaches the row they moved to (a state, not a count of pauses: this
        # test once waited 180 s in a suite run for a day-3 override that never came).
        await until(pilot, lambda: app.focused is table and table.cursor_row == 2, what="day 3 highlighted")
        await pilot.press("u")  # day 3 as a Sunday/holiday
        expected = engine_forecast(trained, tui_data, DEFAULT_DAYS, {3: "U"})
        assert expected[2].day_type == "U" and not expected[2].inferred
        await rows_become(pilot, expected)
        await settled(pilot)
        got = rows(app)
        assert got[2]["type"] == "U*" and [r["type"] for r in got[:2]] == [r["type"] for r in plain[:2]]
        assert [(r["rail"], r["bus"]) for r in got] == [(riders(f.rail), riders(f.bus)) for f in expected]
        assert got[:2] == plain[:2]  # the days before the change are unchanged
        assert view.overrides == {expected[2].date.strftime("%Y-%m-%d"): "U"}
        assert "1 chosen by you" in text(app, "#md-status")
        # A shorter forecast keeps the choice for when the day is back in range.
        await type_days(pilot, "2")
        assert len(rows(app)) == 2 and view.overrides_in_range() == {}
        await type_days(pilot, str(DEFAULT_DAYS))
        assert rows(app)[2]["type"] == "U*"
        table.focus()
        await until(pilot, lambda: app.focused is table, what="the table focused")
        assert table.cursor_row == 1  # kept within the two rows shown meanwhile
        await pilot.press("down")
        await until(pilot, lambda: table.cursor_row == 2, what="day 3 highlighted again")
        await pilot.press("c")
        await settled(pilot)
        assert rows(app) == plain and view.overrides == {}


async def test_a_forecast_that_cannot_run_says_why(make_test_app, trained, tui_data):
    """A window longer than the data: the engine's message, no traceback."""
    from engine.data import RidershipData

    short = RidershipData(tui_data.frame.iloc[-10:], tui_data.source)
    app = make_test_app(data=short)
    async with app.run_test(size=(120, 40)) as pilot:
        await several_days(pilot, trained)
        status = text(app, "#md-status")
        assert status.startswith("Could not forecast: ") and "window of 14" in status
        assert app.query_one("#md-status").has_class("-error")


# -- in the app ---------------------------------------------------------------------------------------
async def test_m_switches_the_forecast_pane_to_several_days_and_back(make_test_app, tui_data, settle, until):
    from textual.widgets import ContentSwitcher, TabbedContent

    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5", "m")
        assert app.query_one(TabbedContent).active == "forecast"
        assert app.query_one("#forecast-views", ContentSwitcher).current == "multiday"
        assert app.focused is app.query_one("#md-table", DataTable)
        assert len(rows(app)) == DEFAULT_DAYS  # the calendar's days, before any model
        await pilot.press("t")  # train; the multi-day forecast follows the new model by itself
        await settle(app, "train")
        await settled(pilot)
        await pilot.press("5")  # back to the Forecast pane: still the several-days view
        assert app.focused is app.query_one("#md-table", DataTable)
        expected = engine_forecast(app.active, tui_data, DEFAULT_DAYS)
        assert [(r["rail"], r["bus"]) for r in rows(app)] == [(riders(f.rail), riders(f.bus)) for f in expected]
        await pilot.press("m")
        assert app.query_one("#forecast-views", ContentSwitcher).current == "forecast-pane"
        assert app.focused is app.query_one("#forecast-pane")
        await pilot.press("w")  # the next-day forecast still works (its worker starts on a message)
        await until(
            pilot, lambda: "riders" in str(app.query_one("#forecast-result").render()), what="the next-day forecast"
        )


def fixed_forecasts(data, days: int, chosen: dict[int, str]):
    """Forecasts with fixed numbers: the mean of the same weekday over the last four weeks, 3% up
    (a chosen Sunday/holiday takes the last Sunday's riders)."""
    from engine.forecast import Forecast

    frame = data.frame.iloc[-28:]
    dates = pd.date_range(data.last_date + pd.Timedelta(days=1), periods=days)
    out = []
    for number, (date, calendar) in enumerate(zip(dates, infer_day_types(dates)), start=1):
        kind = chosen.get(number, calendar)
        same = frame[frame.index.day_of_week == (6 if kind == "U" else date.day_of_week)]
        out.append(
            Forecast(
                date, kind, number not in chosen, float(same["rail"].mean() * 1.03), float(same["bus"].mean() * 1.03)
            )
        )
    return out


def test_snapshot_multiday_forecast(snap_compare, make_test_app, tui_data):
    assert _multiday_snapshot(snap_compare, make_test_app, tui_data, (120, 40))


def test_snapshot_multiday_forecast_80x24(snap_compare, make_test_app, tui_data):
    assert _multiday_snapshot(snap_compare, make_test_app, tui_data, (80, 24))


def _multiday_snapshot(snap_compare, make_test_app, tui_data, size) -> bool:
    async def show(pilot):
        await pilot.press("5", "m")
        view = pilot.app.query_one(MultiDayView)
        view.query_one("#md-days").focus()
        await pilot.press("end", "ctrl+u", "1", "4", "enter")  # no model yet: the days are laid out
        view.overrides[f"{tui_data.last_date + pd.Timedelta(days=2):%Y-%m-%d}"] = "U"
        view.show_forecasts(fixed_forecasts(tui_data, 14, {2: "U"}), "Run 1's model (epoch 12's weights)")
        view.query_one("#md-table", DataTable).focus()
        await pilot.press("down")
        # The chart's legend headroom is computed from the chart's height when it draws; draw again
        # once the layout is final, so the picture does not depend on this machine's timing.
        await settled(pilot)
        view._draw_chart()
        await settled(pilot)

    return snap_compare(make_test_app(), terminal_size=size, run_before=show)


async def test_each_day_has_its_interval_on_the_chart_and_under_the_table(make_test_app, trained, tui_data):
    from engine.assessment import assess, bounds

    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        view, expected = await forecast_shown(pilot, trained, tui_data, 10)
        trust = assess(trained.model, tui_data, trained.config, horizon=10)
        want = [bounds(f, trust.intervals, n) for n, f in enumerate(expected, start=1)]
        assert len(view.bands) == 10
        for got, ref, f in zip(view.bands, want, expected):
            assert got == pytest.approx(ref)
            assert got["rail_low"] <= f.rail <= got["rail_high"] and got["bus_low"] <= f.bus <= got["bus_high"]
        status = text(app, "#md-status")
        first = expected[0]
        assert (
            f"80% interval, {first.date:%a %Y-%m-%d}: rail {riders(want[0]['rail_low'])}.."
            f"{riders(want[0]['rail_high'])}, bus {riders(want[0]['bus_low'])}.."
        ) in status
        assert "next-day intervals covered" in status
        # the dotted bands: low and high of both series, a point per forecast day (the legend is a key
        # line above the plot: no invisible headroom point any more)
        assert app.query_one("#md-chart").points[""] == 4 * 10
        app.query_one("#md-table", DataTable).focus()
        await pilot.press("down", "down")
        third = expected[2]
        assert f"80% interval, {third.date:%a %Y-%m-%d}: rail {riders(want[2]['rail_low'])}" in text(app, "#md-status")


async def test_at_80x24_the_summary_takes_two_rows_and_the_chart_keeps_the_rest(make_test_app, trained, tui_data):
    app = make_test_app()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await several_days(pilot, trained)
        await type_days(pilot, "10")
        status = app.query_one("#md-status")
        lines = text(app, "#md-status").splitlines()
        assert len(lines) == 2 and all(len(line) <= status.size.width for line in lines), lines
        assert status.size.height == 2 and status.size.width >= 76
        first = view.forecasts[0]
        assert lines[1].startswith(f"80% {first.date:%a %m-%d}: rail ") and "; test " in lines[1]
        assert app.query_one("#md-chart").size.height >= 8
