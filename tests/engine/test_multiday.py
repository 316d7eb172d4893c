"""Multi-day forecasts (engine.forecast.forecast_days): autoregressive, calendar day types unless
overridden, 1..28 days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import torch
from support import SMALL, SMALL_FIRST, SMALL_LAST, fit

from engine.data import SCALE, DataSource, RidershipData
from engine.data.calendar import infer_day_type
from engine.data.synthetic import synthetic_frame
from engine.domain import MAX_FORECAST_DAYS as MAX_DAYS
from engine.errors import RidershipError
from engine.forecast import forecast_days, forecast_next_day, set_next_day_type


@pytest.fixture(scope="module")
def trained():
    data = RidershipData(synthetic_frame(SMALL_FIRST, SMALL_LAST), DataSource("synthetic"))
    result = fit(SMALL.replace(epochs=3), data)
    assert result.status == "finished"
    return result.model, data


def test_one_day_is_the_next_day_forecast(trained):
    model, data = trained
    for day_type in (None, "W", "A", "U"):
        [one] = forecast_days(model, data, SMALL.window_length, days=1, overrides={1: day_type} if day_type else None)
        assert one == forecast_next_day(model, data, SMALL.window_length, day_type)


def test_days_follow_the_data_with_calendar_day_types(trained):
    model, data = trained
    days = forecast_days(model, data, SMALL.window_length, days=MAX_DAYS)
    assert len(days) == MAX_DAYS
    assert [f.date for f in days] == list(pd.date_range(data.last_date + pd.Timedelta(days=1), periods=MAX_DAYS))
    assert [f.day_type for f in days] == [infer_day_type(f.date) for f in days]
    assert all(f.inferred for f in days)
    assert all(np.isfinite([f.rail, f.bus]).all() and f.rail > 0 and f.bus > 0 for f in days)


def test_each_day_feeds_on_the_forecasts_before_it(trained):
    """Day 3 recomputed by hand: the window ends with days 1 and 2's forecasts, day types set."""
    model, data = trained
    days = forecast_days(model, data, SMALL.window_length, days=3)
    values = data.features().to_numpy(dtype=np.float64)
    rows = [np.r_[values[i, :2], np.zeros(3)] for i in range(len(values))]
    rows = [
        *rows,
        np.r_[days[0].rail / SCALE, days[0].bus / SCALE, np.zeros(3)],
        np.r_[days[1].rail / SCALE, days[1].bus / SCALE, np.zeros(3)],
    ]
    window = np.array(rows[-SMALL.window_length :])
    # Next-day types inside the window: from the data, then the forecast days' types.
    types = list(data.frame["day_type"]) + [days[0].day_type, days[1].day_type, days[2].day_type]
    first = len(rows) - SMALL.window_length
    for offset in range(SMALL.window_length):
        window[offset] = set_next_day_type(window[offset : offset + 1], types[first + offset + 1])[0]
    with torch.no_grad():
        rail, bus = model(torch.tensor(window, dtype=torch.float32).unsqueeze(0)).squeeze(0).tolist()
    assert days[2].rail == pytest.approx(rail * SCALE, rel=1e-6)
    assert days[2].bus == pytest.approx(bus * SCALE, rel=1e-6)


def test_an_override_changes_that_day_and_later_ones_only(trained):
    model, data = trained
    plain = forecast_days(model, data, SMALL.window_length, days=6)
    day3 = plain[2].date
    kind = "U" if plain[2].day_type != "U" else "W"
    for key in (3, f"{day3:%Y-%m-%d}", day3, day3.date(), dt.date(day3.year, day3.month, day3.day)):
        changed = forecast_days(model, data, SMALL.window_length, days=6, overrides={key: kind.lower()})
        assert changed[:2] == plain[:2]
        assert (changed[2].day_type, changed[2].inferred) == (kind, False)
        assert (changed[2].rail, changed[2].bus) != (plain[2].rail, plain[2].bus)
        assert changed[3].rail != plain[3].rail  # day 4's window holds day 3's (changed) forecast
        assert all(f.inferred for i, f in enumerate(changed) if i != 2)


def test_overriding_with_the_calendars_type_changes_only_the_label(trained):
    model, data = trained
    plain = forecast_days(model, data, SMALL.window_length, days=2)
    same = forecast_days(model, data, SMALL.window_length, days=2, overrides={2: plain[1].day_type})
    assert (same[1].rail, same[1].bus) == (plain[1].rail, plain[1].bus)
    assert same[1].inferred is False


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1, 100, "3", 2.0, True])
def test_days_outside_1_to_28_are_a_clear_error(trained, days):
    model, data = trained
    with pytest.raises(RidershipError, match="from 1 to 28"):
        forecast_days(model, data, SMALL.window_length, days=days)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({5: "U"}, "outside the forecast"),
        ({0: "U"}, "outside the forecast"),
        ({"2030-01-01": "U"}, "outside the forecast"),
        ({"2018-10-31": "U"}, "outside the forecast"),  # the data's last day, not a forecast day
        ({"next friday": "U"}, "not a date"),
        ({"": "U"}, "not a date"),
        ({1: "X"}, "not one of W"),
        ({1: "U", "2018-11-01": "W"}, "two day types"),
    ],
)
def test_bad_overrides_are_clear_errors(trained, overrides, message):
    model, data = trained
    with pytest.raises(RidershipError, match=message):
        forecast_days(model, data, SMALL.window_length, days=4, overrides=overrides)


def test_forecast_leaves_the_data_alone(trained):
    model, data = trained
    before = data.frame.copy()
    forecast_days(model, data, SMALL.window_length, days=10, overrides={2: "U"})
    pd.testing.assert_frame_equal(data.frame, before)
