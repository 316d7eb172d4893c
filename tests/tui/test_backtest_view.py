"""The backtest pane: a real (tiny) model backtested on its own splits, zoom, series, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support import SMALL, paste, workers_done

from engine.domain import format_riders as riders
from engine.store import RunStore
from tui import jobs
from tui.widgets.backtest import BacktestPane


@pytest.fixture(scope="module")
def trained(tui_data, tmp_path_factory):
    """Run 1 of a store, the small config (2 epochs): a model to backtest (engine.session.RunResult)."""
    with RunStore.open(tmp_path_factory.mktemp("backtest") / "runs.db") as store:
        return jobs.train(SMALL, tui_data, 1, post=lambda m: None, store=store)


@pytest.fixture(scope="module")
def expected(trained, tui_data):
    from engine.scoring import backtest

    return backtest(trained.model, tui_data, trained.config)


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


def table_lines(app) -> list[str]:
    return text(app, "#bt-table").splitlines()


def row_for(lines: list[str], split: str, label: str) -> str:
    """The table line of ``label`` (e.g. "W weekday", "all days") in ``split``'s block."""
    start = next(i for i, line in enumerate(lines) if line.startswith(split))
    return next(line for line in lines[start:] if label in line)


def days_in(line: str) -> int:
    """The days column of a table line (the first whole number on it)."""
    return int(next(cell for cell in line.split() if cell.isdigit()))


async def backtested(pilot, trained) -> BacktestPane:
    """The app's model in use is ``trained``: the app backtests it; the Backtest pane shows it."""
    pilot.app.use_model(trained)
    await pilot.press("7")
    await workers_done(pilot)
    return pilot.app.query_one(BacktestPane)


async def test_the_model_is_backtested_on_its_own_splits_with_errors_per_day_type(make_test_app, trained, expected):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await backtested(pilot, trained)
        status = text(app, "#bt-status")
        for name in ("valid", "test"):
            split = expected[name]
            assert f"{name} {split.dates[0]}..{split.dates[-1]} ({len(split)} days)" in status
        assert "epoch 2's weights" in status
        lines = table_lines(app)
        for name in ("valid", "test"):
            for kind, label in (("W", "W weekday"), ("A", "A Saturday"), ("U", "U Sunday/holiday")):
                s = expected[name].by_day_type[kind]
                cells = row_for(lines, name, label).split()
                assert str(s.count) in cells and riders(s.mae) in cells and riders(s.naive_mae) in cells
                assert f"{s.ratio:.2f}" in cells
                assert f"{s.rail_mae / s.naive_rail_mae:.2f}" in cells
                assert f"{s.bus_mae / s.naive_bus_mae:.2f}" in cells
            overall = expected[name].overall
            assert riders(overall.mae) in row_for(lines, name, "all days").split()
        # A ratio is marked in words too, not by colour alone.
        ratio_cells = [c for line in lines[2:] for c in line.split() if c in ("✓", "✗")]
        assert len(ratio_cells) == 3 * 8  # three ratios on each of the eight rows
        # The chart: actual, model and naive of the validation days, then the test days after a gap.
        chart = app.query_one("#bt-chart")
        assert chart.points["actual"] == chart.points["model"] == chart.points["naive"] == len(expected["valid"])
        assert f"test from {expected['test'].dates[0]}" in chart.points
        worst = text(app, "#bt-worst")
        assert "Worst day type:" in worst and "Largest rail errors:" in worst
        assert pane.result is not None


async def test_zoom_narrows_the_chart_and_the_errors_and_z_shows_everything(make_test_app, trained, expected):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await backtested(pilot, trained)
        september = [d for d in expected["test"].dates if d.startswith("2018-09")]
        pane.query_one("#bt-from").value = "2018-09"
        pane.query_one("#bt-to").value = "2018-09"
        await workers_done(pilot)
        lines = table_lines(app)
        assert f"{september[0]}..{september[-1]} (zoomed)" in lines[0]
        assert not any(line.startswith("valid") for line in lines)
        assert days_in(row_for(lines, "test", "all days")) == len(september)
        assert app.query_one("#bt-chart").points["actual"] == len(september)
        # Counts per day type in the range add up to the days shown.
        assert sum(days_in(row_for(lines, "test", label)) for label in ("W weekday", "A Sat", "U Sun")) == len(
            september
        )
        pane.focus()
        await pilot.press("z")
        await workers_done(pilot)
        assert "(zoomed)" not in table_lines(app)[0]
        assert pane.query_one("#bt-from").value == ""
        assert app.query_one("#bt-chart").points["actual"] == len(expected["valid"])


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("2018-13", "", "'2018-13' is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)"),  # as in the settings
        ("March", "", "'March' is not a date"),
        ("2018-10", "2018-09", "from 2018-10-01 is after to 2018-09-30"),
        ("2020-01", "2020-02", "no backtest days between 2020-01-01 and 2020-02-29 (the backtest covers"),
    ],
)
async def test_a_bad_zoom_range_is_explained_inline(make_test_app, trained, start, end, message):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await backtested(pilot, trained)
        before = app.query_one("#bt-chart").points
        pane.zoom(start, end)
        await workers_done(pilot)
        error = app.query_one("#bt-range-error")
        assert error.display and message in text(app, "#bt-range-error")
        assert app.query_one("#bt-chart").points == before  # the last good picture stays
        pane.zoom("", "")
        await workers_done(pilot)
        assert not error.display


async def test_v_switches_between_rail_and_bus(make_test_app, trained):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await backtested(pilot, trained)
        chart = app.query_one("#bt-chart")
        assert chart.chart_title.startswith("Rail riders")
        pane.focus()
        await pilot.press("v")
        await workers_done(pilot)
        assert pane.series == "bus" and chart.chart_title.startswith("Bus riders")
        assert "Largest bus errors:" in text(app, "#bt-worst")


async def test_without_a_model_the_pane_says_how_to_get_one(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7", "b")
        await pilot.pause()
        assert "No trained model yet" in text(app, "#bt-status")
        assert app.query_one("#bt-status").has_class("-error")


async def test_a_backtest_that_cannot_run_says_why(make_test_app, trained):
    """Splits after the end of the data (e.g. a model backtested on a shorter file)."""
    late = dataclasses.replace(
        trained,
        config=trained.config.replace(
            train_start="2022-01",
            train_end="2022-06",
            valid_start="2022-07",
            valid_end="2022-08",
            test_start="2022-09",
            test_end="",
        ),
    )
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await backtested(pilot, late)
        status = text(app, "#bt-status")
        assert status.startswith("Could not backtest: ") and "Traceback" not in status
        assert app.query_one("#bt-status").has_class("-error")


def long_result(data, days: int = 364) -> dict:
    """A fixed backtest of ``days`` test days: model = actual + 5%, naive = a week earlier."""
    from engine.scoring import SplitBacktest, summarize

    frame = data.frame.loc["2018-01-01":].iloc[:days]
    truth = frame[["rail", "bus"]].to_numpy(dtype=np.float64)
    naive = data.frame[["rail", "bus"]].shift(7).loc[frame.index].to_numpy(dtype=np.float64)
    pred = truth * 1.05
    kinds = frame["day_type"].to_numpy()
    split = SplitBacktest(
        split="test",
        dates=[f"{d:%Y-%m-%d}" for d in frame.index],
        day_types=kinds.tolist(),
        actual_rail=truth[:, 0].tolist(),
        actual_bus=truth[:, 1].tolist(),
        pred_rail=pred[:, 0].tolist(),
        pred_bus=pred[:, 1].tolist(),
        naive_rail=naive[:, 0].tolist(),
        naive_bus=naive[:, 1].tolist(),
        overall=summarize("all", truth, pred, naive),
        by_day_type={k: summarize(k, truth[kinds == k], pred[kinds == k], naive[kinds == k]) for k in "WAU"},
    )
    return {"test": split}


async def test_long_ranges_show_weekly_means_and_zoom_shows_single_days(make_test_app, tui_data):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(BacktestPane)
        pane.show_result(long_result(tui_data), "fixed numbers")  # drawn when the pane is first shown
        await pilot.press("7")
        await workers_done(pilot)
        chart = app.query_one("#bt-chart")
        assert "7-day means" in chart.chart_title and chart.points["actual"] == 52
        pane.zoom("2018-03", "2018-03")
        await workers_done(pilot)
        assert "7-day means" not in chart.chart_title and chart.points["actual"] == 31


# -- in the app ---------------------------------------------------------------------------------------
async def set_field(pilot, name: str, value: str) -> None:
    pilot.app.form.focus_field(name)
    await pilot.press("end", "ctrl+u")
    await paste(pilot, value)


async def test_split_dates_set_in_the_form_reach_the_run_and_its_backtest(make_test_app, tui_data, settle):
    """Training range freedom end to end: edit the splits, train, and the backtest uses them."""
    from engine.data import make_splits

    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7")
        assert app.query_one("TabbedContent").active == "backtest"
        assert "No backtest yet" in text(app, "#bt-status")
        await pilot.press("2")
        for name, value in (
            ("train_start", "2015-07"),
            ("train_end", "2016-10"),
            ("valid_start", "2016-11"),
            ("valid_end", "2017-01"),
            ("test_start", "2017-02"),
            ("test_end", "2017-04"),
        ):
            await set_field(pilot, name, value)
        assert "valid 2016-11-01..2017-01-31" in text(app, "#data-info")  # the Dataset pane follows
        await pilot.press("escape", "t")
        await settle(app, "train")
        await workers_done(pilot)
        config = app.active.config
        assert (config.train_end, config.valid_start, config.test_end) == ("2016-10", "2016-11", "2017-04")
        splits = make_splits(tui_data, config)
        await pilot.press("7")
        await workers_done(pilot)
        status = text(app, "#bt-status")
        for name in ("valid", "test"):
            dates = splits[name].target_dates
            assert f"{name} {dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d} ({len(dates)} days)" in status
        assert app.query_one("#bt-chart").points["actual"] == len(splits["valid"])
        # The pane's MAE for all days of the test split is the one the training pane reports.
        test_all = row_for(table_lines(app), "test", "all days").split()
        assert riders(app.active.scores["test"].mae) in test_all
        assert riders(app.active.scores["test"].naive_mae) in test_all


def fixed_result(data) -> dict:
    """A backtest with fixed numbers over the test app's splits (windows of 14 days): the model is
    off by a weekly pattern of a few per cent, and by a fifth on Sundays and holidays."""
    from engine.scoring import SplitBacktest, summarize

    pattern = np.array([0.03, -0.02, 0.04, -0.01, 0.02, -0.03, 0.01])
    out = {}
    for name, (start, end) in (("valid", ("2017-01-15", "2017-03-31")), ("test", ("2017-04-15", "2017-06-30"))):
        frame = data.frame.loc[start:end]
        truth = frame[["rail", "bus"]].to_numpy(dtype=np.float64)
        naive = data.frame[["rail", "bus"]].shift(7).loc[frame.index].to_numpy(dtype=np.float64)
        kinds = frame["day_type"].to_numpy()
        factor = 1 + np.resize(pattern, len(frame)) + np.where(kinds == "U", 0.2, 0.0)
        pred = truth * factor[:, None]
        out[name] = SplitBacktest(
            split=name,
            dates=[f"{d:%Y-%m-%d}" for d in frame.index],
            day_types=kinds.tolist(),
            actual_rail=truth[:, 0].tolist(),
            actual_bus=truth[:, 1].tolist(),
            pred_rail=pred[:, 0].tolist(),
            pred_bus=pred[:, 1].tolist(),
            naive_rail=naive[:, 0].tolist(),
            naive_bus=naive[:, 1].tolist(),
            overall=summarize("all", truth, pred, naive),
            by_day_type={k: summarize(k, truth[kinds == k], pred[kinds == k], naive[kinds == k]) for k in "WAU"},
        )
    return out


async def drawn_at_final_size(pilot) -> None:
    """Let the layout settle, then draw once more and settle again.

    The chart's headroom for its legend is computed from the chart's height when the pane draws,
    and drawing also fills the table under it, which can change that height: a picture drawn
    before the layout settled would depend on how fast this machine ran the layout (this made the
    zoomed snapshot differ between machines). Drawing again once the layout is final makes the
    picture a function of the fixed numbers and the terminal size alone.
    """
    await workers_done(pilot)
    pilot.app.query_one(BacktestPane).redraw()
    await workers_done(pilot)


LABEL = "Backtest of Run 1 (epoch 12's weights) on synthetic data (demo series, not the CTA's)"


def test_snapshot_backtest_pane(snap_compare, make_test_app, tui_data):
    async def show(pilot):
        await pilot.press("7")
        pilot.app.query_one(BacktestPane).show_result(fixed_result(tui_data), LABEL)
        await drawn_at_final_size(pilot)

    assert snap_compare(make_test_app(), terminal_size=(120, 40), run_before=show)


def test_snapshot_backtest_pane_zoomed_to_a_month_of_bus(snap_compare, make_test_app, tui_data):
    async def show(pilot):
        await pilot.press("7")
        pane = pilot.app.query_one(BacktestPane)
        pane.show_result(fixed_result(tui_data), LABEL)
        await workers_done(pilot)
        pane.zoom("2017-05", "2017-05")
        await workers_done(pilot)
        await pilot.press("v")
        await drawn_at_final_size(pilot)

    assert snap_compare(make_test_app(), terminal_size=(120, 40), run_before=show)
