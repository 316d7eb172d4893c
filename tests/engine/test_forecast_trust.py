"""Issue 9: the gradient-boosting reference, the calendar inputs and the highway model, prediction
intervals and the trust lines under a forecast."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from support import SMALL, fit

from cli.main import main
from engine import reference
from engine.data.sources import synthetic
from engine.data.windows import make_splits
from engine.domain import CALENDAR_FEATURES, FEATURES, HOLIDAY_FEATURES
from engine.forecast import forecast_days, forecast_next_day, set_next_day_type
from engine.intervals import calibrate, conformal_quantile
from engine.scoring import score_all

CALENDAR = SMALL.replace(
    inputs="calendar",
    normalize="week",
    optimizer="adam",
    loss="l1",
    schedule="cosine",
    lr=0.01,
    clip=1.0,
    highway_days=7,
    lstm_days=10,
    restore_best=True,
    epochs=3,
)


@pytest.fixture(scope="module")
def data():
    return synthetic()


def test_calendar_inputs_add_the_next_days_weekday_and_holiday(data):
    feats = data.features("calendar")
    assert tuple(feats.columns) == CALENDAR_FEATURES and len(CALENDAR_FEATURES) == len(FEATURES) + 8
    christmas_eve = feats.loc["2019-12-24"]
    assert christmas_eve["next_holiday"] == 1.0 and christmas_eve["next_weekday_2"] == 1.0  # the 25th, a Wednesday
    assert (feats.iloc[:-1, len(FEATURES) : len(FEATURES) + 7].sum(axis=1) == 1).all()
    assert (feats.iloc[-1, len(FEATURES) :] == 0).all()  # the last row's next day is not in the data


def test_holiday_inputs_add_minor_holidays_and_school_breaks(data):
    feats = data.features("holidays")
    assert tuple(feats.columns) == HOLIDAY_FEATURES and len(HOLIDAY_FEATURES) == len(CALENDAR_FEATURES) + 2
    assert feats.loc["2019-11-28", "next_minor_holiday"] == 1.0  # the 29th: the day after Thanksgiving
    assert feats.loc["2019-11-28", "next_holiday"] == 0.0 and feats.loc["2019-11-27", "next_holiday"] == 1.0
    assert feats.loc["2019-12-21", "next_school_break"] == 1.0 and feats.loc["2019-12-20", "next_school_break"] == 0.0
    assert feats.loc["2019-07-10", ["next_minor_holiday", "next_school_break"]].sum() == 0.0
    assert (feats.iloc[-1, len(FEATURES) :] == 0).all()


@pytest.mark.parametrize("inputs, width", [("calendar", len(CALENDAR_FEATURES)), ("holidays", len(HOLIDAY_FEATURES))])
def test_the_highway_model_trains_forecasts_and_round_trips(data, tmp_path, inputs, width):
    from engine.store.modelfile import load_model, save_model

    config = CALENDAR.replace(inputs=inputs)
    result = fit(config, data)
    assert result.status == "finished" and result.model.highway is not None
    assert result.model.lstm.input_size == width
    one = forecast_next_day(result.model, data, config.window_length)
    [first, *_] = forecast_days(result.model, data, config.window_length, 3)
    assert (one.rail, one.bus) == (first.rail, first.bus)
    path = save_model(tmp_path / "m.pt", result, data)
    model, loaded, _ = load_model(path, data)
    assert loaded == config and forecast_next_day(model, data, config.window_length).rail == one.rail


def test_a_calendar_window_gets_the_forecast_days_weekday_and_holiday():
    window = np.zeros((3, len(CALENDAR_FEATURES)))
    out = set_next_day_type(window, "U", pd.Timestamp("2021-12-25"))  # Christmas, a Saturday
    row = dict(zip(CALENDAR_FEATURES, out[-1]))
    assert row["next_day_type_U"] == 1 and row["next_weekday_5"] == 1 and row["next_holiday"] == 1
    assert sum(row[f"next_weekday_{d}"] for d in range(7)) == 1


def test_a_holidays_window_gets_the_forecast_days_minor_holiday_and_break():
    window = np.zeros((3, len(HOLIDAY_FEATURES)))
    row = dict(zip(HOLIDAY_FEATURES, set_next_day_type(window, "W", pd.Timestamp("2021-12-24"))[-1]))
    assert row["next_minor_holiday"] == 1 and row["next_school_break"] == 1 and row["next_weekday_4"] == 1
    row = dict(zip(HOLIDAY_FEATURES, set_next_day_type(window, "W", pd.Timestamp("2022-01-17"))[-1]))  # MLK
    assert row["next_minor_holiday"] == 1 and row["next_school_break"] == 0 and row["next_holiday"] == 0


def test_the_reference_is_cached_and_scored_beside_naive(data, monkeypatch, tmp_path):
    splits = make_splits(data, SMALL)
    reference._memory.clear()  # an earlier test in this process may hold these predictions: fit and write them
    first = reference.reference_predictions(data, splits, SMALL.window_length, cache_dir=tmp_path)
    assert first["valid"].shape == (len(splits["valid"]), 2) and first["test"].shape == (len(splits["test"]), 2)
    reference._memory.clear()  # the file cache alone must answer: a refit would fail here
    monkeypatch.setattr(reference, "_fit", lambda *a, **k: pytest.fail("refit although cached"))
    again = reference.reference_predictions(data, splits, SMALL.window_length, cache_dir=tmp_path)
    assert np.array_equal(first["test"], again["test"])
    monkeypatch.undo()
    result = fit(SMALL, data)
    scores = score_all(result.model, splits, data.feature_values(), 32, "cpu", gbm=first)
    for s in scores.values():
        assert math.isfinite(s.gbm_mae) and s.gbm_mae > 0 and s.gbm_ratio == pytest.approx(s.mae / s.gbm_mae)
        # on this regular synthetic series, LightGBM beats repeating last week
        assert s.gbm_mae < s.naive_mae


def test_a_process_waiting_for_the_references_fit_reads_it_instead_of_fitting_again(data, monkeypatch, tmp_path):
    """A sweep's workers ask for the reference at the same moment: the one that fits holds the file
    lock; the others wait on it, then read the file rather than fit it a second time."""
    import threading

    splits = make_splits(data, SMALL)
    reference._memory.clear()
    fitted = reference.reference_predictions(data, splits, SMALL.window_length, cache_dir=tmp_path)
    [cached] = tmp_path.glob("*.npz")
    moved = cached.with_name("elsewhere")
    cached.rename(moved)  # as if not fitted yet
    reference._memory.clear()
    monkeypatch.setattr(reference, "_fit", lambda *a, **k: pytest.fail("fitted although another process had"))
    got = {}
    with reference._file_lock(cached):  # "another process" is fitting
        asking = threading.Thread(
            target=lambda: got.update(
                reference.reference_predictions(data, splits, SMALL.window_length, cache_dir=tmp_path)
            )
        )
        asking.start()
        asking.join(timeout=0.5)
        assert asking.is_alive()  # it waits for the lock (a state, not a time: it cannot finish without the file)
        moved.rename(cached)  # the other process's fit is written
    asking.join()
    assert np.array_equal(got["valid"], fitted["valid"])


def test_conformal_quantile_covers_at_least_the_level():
    errors = np.arange(1, 101, dtype=float)
    assert conformal_quantile(errors, 0.8) == 81.0  # ceil(101 * 0.8) = 81st smallest of 100
    assert conformal_quantile(errors[:3], 0.8) == 3.0
    assert math.isnan(conformal_quantile(np.array([]), 0.8))


def test_calibrated_intervals_have_a_width_per_series_and_day_type_and_a_measured_coverage(data):
    result = fit(SMALL.replace(epochs=3), data)
    splits = make_splits(data, SMALL)
    intervals = calibrate(result.model, data, splits, SMALL.window_length, level=0.8, horizon=3)
    assert set(intervals.width) == {1, 2, 3}
    for series in ("rail", "bus"):
        for kind in "WAU":
            assert intervals.half_width(1, series, kind) > 0
        assert 0 <= intervals.coverage[series] <= 1
    assert intervals.coverage_days == len(splits["test"])
    wider = calibrate(result.model, data, splits, SMALL.window_length, level=0.95)
    assert wider.half_width(1, "rail", "W") >= intervals.half_width(1, "rail", "W")
    with pytest.raises(ValueError):
        calibrate(result.model, data, splits, SMALL.window_length, level=1.5)


def test_forecast_prints_an_interval_and_how_far_to_trust_it(synthetic_csv, tmp_path, capsys):
    csv = synthetic_csv()
    model = tmp_path / "m.pt"
    assert (
        main(
            [
                "train",
                "--data",
                str(csv),
                "--preset",
                "article",
                "--window-length",
                "14",
                "--hidden-size",
                "8",
                "--epochs",
                "1",
                "--train-start",
                SMALL.train_start,
                "--train-end",
                SMALL.train_end,
                "--valid-start",
                SMALL.valid_start,
                "--valid-end",
                SMALL.valid_end,
                "--test-start",
                SMALL.test_start,
                "--test-end",
                SMALL.test_end,
                "--quiet",
                "--save",
                str(model),
                "--no-record",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["forecast", "--data", str(csv), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "80% interval" in out and "How far to trust it" in out and "naive" in out and "LightGBM" in out
    assert "intervals covered rail" in out
    # one epoch of the article on a tiny series is worse than repeating last week: said plainly
    assert "warning: this model is worse than repeating last week" in out
    assert main(["forecast", "--data", str(csv), "--model", str(model), "--days", "3", "--level", "0.9", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["forecasts"]
    assert [r["day"] for r in rows] == [1, 2, 3]
    assert all(r["rail_low"] <= r["rail"] <= r["rail_high"] and r["bus_low"] <= r["bus"] <= r["bus_high"] for r in rows)
    assert report["trust"]["intervals"]["level"] == 0.9
    assert report["trust"]["scores"]["test"]["gbm_mae_riders"] > 0
    with pytest.raises(SystemExit):
        main(["forecast", "--data", str(csv), "--model", str(model), "--level", "1.2"])
    assert "between 0 and 1" in capsys.readouterr().err
