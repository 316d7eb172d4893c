"""SVG snapshots of each pane at 120x40 (and the dataset at 80x24), approved after looking at them.

Deterministic: synthetic data (fixed seed), a fixed device description, and the training and
forecast panes fed fixed numbers through the same methods the app calls, so no clock or torch
arithmetic reaches a snapshot. Update with ``pytest tests/tui --snapshot-update`` and look again.
"""

from __future__ import annotations

import math

import pandas as pd
from support import workers_done

from engine.session import RunResult
from tui.format import summarise
from tui.messages import EpochCompleted, TrainingStarted
from tui.widgets.forecast import ForecastPane
from tui.widgets.training import TrainingPane

SIZE = (120, 40)


def no_blink(app) -> None:
    for widget in app.query("Input"):
        widget.cursor_blink = False


def press(*keys):
    async def run(pilot):
        await pilot.press(*keys)
        await workers_done(pilot)

    return run


def test_dataset_pane(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=press())


def test_dataset_pane_80x24(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=(80, 24), run_before=press())


def test_hyperparameters_pane_with_inline_errors(snap_compare, make_test_app):
    async def edit(pilot):
        no_blink(pilot.app)
        await pilot.press("2")
        for name, text in (("lr", "abc"), ("momentum", "1.5")):
            pilot.app.form.focus_field(name)
            await pilot.press("end", "ctrl+u", *text)
        await pilot.press("escape")
        await workers_done(pilot)

    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=edit)


def fake_run(pane: TrainingPane, app) -> None:
    """Twelve epochs with fixed numbers, then the end of the run, as the app would show them."""
    pane.starting(1, 12, "")
    pane.started(TrainingStarted(1, 1, 12, "cpu", 31_250.0, 1040, 95))
    best, best_mae = 0, math.inf
    for epoch in range(1, 13):
        valid = 22_000 + 90_000 / epoch + (3_000 if epoch in (5, 9) else 0)
        if valid < best_mae:
            best, best_mae = epoch, valid
        pane.add_epoch(
            EpochCompleted(1, 1, epoch, 12, 0.06 / epoch, 30_000 + 150_000 / epoch, valid, 0.05, 0.25, best, best_mae)
        )
    from engine.scoring import SplitScore

    run = RunResult(
        run_id=1,
        status="finished",
        reason="completed 12 epochs",
        config=app.form.config,
        device="cpu",
        data_label="synthetic data (demo series, not the CTA's)",
        history=[object()] * 12,
        best_epoch=best,
        best_valid_mae=best_mae,
        weights_epoch=12,
        scores={
            "valid": SplitScore(
                mae=29_500.0,
                naive_mae=31_250.0,
                rail_mae=21_000.0,
                naive_rail_mae=24_500.0,
                bus_mae=38_000.0,
                naive_bus_mae=38_000.0,
                split="valid",
            ),
            "test": SplitScore(
                mae=41_200.0,
                naive_mae=33_900.0,
                rail_mae=30_400.0,
                naive_rail_mae=26_100.0,
                bus_mae=52_000.0,
                naive_bus_mae=41_700.0,
                split="test",
            ),
        },
        model=object(),
    )
    pane.finished(*summarise(run))


def after_a_run(*keys: str, theme: str | None = None):
    """``run_before``: the Training pane after fake_run's twelve epochs, then ``keys`` pressed."""

    async def run(pilot):
        if theme:
            pilot.app.theme = theme
        await pilot.press("3")
        fake_run(pilot.app.query_one(TrainingPane), pilot.app)
        if keys:
            await pilot.press(*keys)
        await workers_done(pilot)

    return run


def with_a_forecast(tui_data):
    """``run_before``: the Forecast pane showing a fixed next-day forecast over the data's last weeks."""

    async def show(pilot):
        await pilot.press("5")
        date = tui_data.last_date + pd.Timedelta(days=1)
        pilot.app.query_one(ForecastPane).show_forecast(
            f"{date:%Y-%m-%d} ({date:%A}), day type W (weekday, from the calendar)\n"
            "rail 402,315 riders   bus 512,884 riders\n"
            "Model of run 1: epoch 12's weights, trained on synthetic data (demo series, not the CTA's)",
            tui_data.frame.iloc[-56:],
            date,
            402_315.0,
            512_884.0,
        )
        await workers_done(pilot)

    return show


def test_training_pane_after_a_run(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=after_a_run())


def test_training_pane_light_theme(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=after_a_run(theme="textual-light"))


def test_device_pane(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=press("4"))


def test_forecast_pane_before_training(snap_compare, make_test_app):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=press("5", "w"))


def test_forecast_pane_with_a_forecast(snap_compare, make_test_app, tui_data):
    assert snap_compare(make_test_app(), terminal_size=SIZE, run_before=with_a_forecast(tui_data))
