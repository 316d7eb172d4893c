"""Every pane at 80x24, the size of a default SSH terminal: SVG snapshots from fixed values only
(the fixtures and helpers of the 120x40 snapshot tests: synthetic data, a fixed device, a fixed
RunResult, fixed runs and a fixed backtest; fixed system samples for the Device pane)."""

from __future__ import annotations

from support import workers_done
from test_backtest_view import LABEL, fixed_result
from test_runs_pane import decay, fixed_clock, record, snapshot_store  # noqa: F401 - fixtures
from test_snapshots import after_a_run, no_blink, with_a_forecast

from tui.system_metrics import Sample
from tui.widgets.backtest import BacktestPane
from tui.widgets.runs import RunsPane
from tui.widgets.sparklines import SystemSparklines

SMALL = (80, 24)


def test_hyperparameters_80x24(snap_compare, make_test_app):
    async def show(pilot):
        no_blink(pilot.app)
        await pilot.press("2")
        await workers_done(pilot)

    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=show)


def test_training_after_a_run_80x24(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=after_a_run())


def test_training_with_the_cursor_on_an_epoch_80x24(snap_compare, make_test_app):
    # both charts: cursor on epoch 10, smoothed
    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=after_a_run("left", "left", "e"))


def test_device_80x24(snap_compare, make_test_app):
    async def show(pilot):
        app = pilot.app
        await pilot.press("4")
        app._system_timer.pause()  # no live numbers: fixed samples only
        sparks = app.query_one(SystemSparklines)
        for values in sparks.values.values():
            values.clear()
        for i in range(30):
            sparks.add_sample(Sample(time=float(i), cpu_percent=20.0 + (i % 7) * 10, rss_bytes=(400 + i) * 2**20))
        await workers_done(pilot)

    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=show)


def test_forecast_80x24(snap_compare, make_test_app, tui_data):
    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=with_a_forecast(tui_data))


def test_runs_80x24(snap_compare, make_test_app, snapshot_store, until):  # noqa: F811
    async def show(pilot):
        await pilot.press("6")
        pane = pilot.app.query_one(RunsPane)

        def listed() -> bool:  # the three runs in the table, its headers filled for this width
            return pane.table.row_count == 3 and getattr(pane, "_filled_narrow", None) == pane.narrow

        # A state, not a number of pauses: at -n 3 a loaded machine once took the snapshot before
        # the table was filled again for 80 columns (the same text, other header colours).
        await until(pilot, listed, what="the runs listed for 80 columns")
        await workers_done(pilot)

    assert snap_compare(make_test_app(runs_db=snapshot_store), terminal_size=SMALL, run_before=show)


def test_backtest_80x24(snap_compare, make_test_app, tui_data):
    async def show(pilot):
        await pilot.press("7")
        pilot.app.query_one(BacktestPane).show_result(fixed_result(tui_data), LABEL)
        await workers_done(pilot)

    assert snap_compare(make_test_app(), terminal_size=SMALL, run_before=show)
