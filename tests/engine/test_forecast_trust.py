"""Issue 9: the gradient-boosting reference, the calendar inputs and the highway model, prediction
intervals and the trust lines under a forecast."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cli.main import main
from engine import reference
from engine.data.sources import load_path, synthetic
from engine.data.windows import make_splits
from engine.domain import CALENDAR_FEATURES, FEATURES, HOLIDAY_FEATURES, SCALE
from engine.forecast import forecast_days, forecast_next_day, set_next_day_type
from engine.intervals import Intervals, calibrate, conformal_quantile
from engine.presets import apply_preset
from engine.scoring import reference_for, score_all
from engine.session import start_run
from support import SMALL, fit

CALENDAR = SMALL.replace(inputs="calendar", normalize="week", optimizer="adam", loss="l1", schedule="cosine",
                         lr=0.01, clip=1.0, highway_days=7, lstm_days=10, restore_best=True, epochs=3)


@pytest.fixture(scope="module")
def data():
    return synthetic()


def test_calendar_inputs_add_the_next_days_weekday_and_holiday(data):
    feats = data.features("calendar")
    assert tuple(feats.columns) == CALENDAR_FEATURES and len(CALENDAR_FEATURES) == len(FEATURES) + 8
    christmas_eve = feats.loc["2019-12-24"]
    assert christmas_eve["next_holiday"] == 1.0 and christmas_eve["next_weekday_2"] == 1.0  # the 25th, a Wednesday
    assert (feats.iloc[:-1, len(FEATURES):len(FEATURES) + 7].sum(axis=1) == 1).all()
    assert (feats.iloc[-1, len(FEATURES):] == 0).all()  # the last row's next day is not in the data


def test_holiday_inputs_add_minor_holidays_and_school_breaks(data):
    feats = data.features("holidays")
    assert tuple(feats.columns) == HOLIDAY_FEATURES and len(HOLIDAY_FEATURES) == len(CALENDAR_FEATURES) + 2
    assert feats.loc["2019-11-28", "next_minor_holiday"] == 1.0  # the 29th: the day after Thanksgiving
    assert feats.loc["2019-11-28", "next_holiday"] == 0.0 and feats.loc["2019-11-27", "next_holiday"] == 1.0
    assert feats.loc["2019-12-21", "next_school_break"] == 1.0 and feats.loc["2019-12-20", "next_school_break"] == 0.0
    assert feats.loc["2019-07-10", ["next_minor_holiday", "next_school_break"]].sum() == 0.0
    assert (feats.iloc[-1, len(FEATURES):] == 0).all()


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
    assert main(["train", "--data", str(csv), "--preset", "article", "--window-length", "14", "--hidden-size", "8",
                 "--epochs", "1", "--train-start", SMALL.train_start, "--train-end", SMALL.train_end,
                 "--valid-start", SMALL.valid_start, "--valid-end", SMALL.valid_end, "--test-start",
                 SMALL.test_start, "--test-end", SMALL.test_end, "--quiet", "--save", str(model),
                 "--no-record"]) == 0
    capsys.readouterr()
    assert main(["forecast", "--data", str(csv), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "80% interval" in out and "How far to trust it" in out and "naive" in out and "LightGBM" in out
    assert "intervals covered rail" in out
    # one epoch of the article on a tiny series is worse than repeating last week: said plainly
    assert "warning: this model is worse than repeating last week" in out
    assert main(["forecast", "--data", str(csv), "--model", str(model), "--days", "3", "--level", "0.9",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["forecasts"]
    assert [r["day"] for r in rows] == [1, 2, 3]
    assert all(r["rail_low"] <= r["rail"] <= r["rail_high"] and r["bus_low"] <= r["bus"] <= r["bus_high"] for r in rows)
    assert report["trust"]["intervals"]["level"] == 0.9
    assert report["trust"]["scores"]["test"]["gbm_mae_riders"] > 0
    with pytest.raises(SystemExit):
        main(["forecast", "--data", str(csv), "--model", str(model), "--level", "1.2"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_best_preset_on_real_data_beats_naive_and_lightgbm(real_csv):
    """The `best` preset, seed 1, on the article's validation and test splits (bench/results/
    round6_candidate.log; numbers in the README). Another CPU's float bits train another model, as
    another seed does, so the bounds hold for the spread of nine seeds (1-6, 42-44), not seed 1's
    own numbers. Against the same-split LightGBM (trained from 2005, as the preset): article
    validation 0.951-0.984, test 0.833-0.863; 2017 validation 0.933-0.956, test 0.927-0.965.
    Against LightGBM trained from 2010 (the issue's reference) the article's validation is
    0.989-1.023 (mean 1.009): level with it, which the last assertions pin down."""
    data = load_path(real_csv, "path")
    config = apply_preset("best").replace(device="cpu", seed=1)
    run = start_run(config, data)
    valid, test = run.scores["valid"], run.scores["test"]
    assert valid.ratio < 0.53 and test.ratio < 0.55  # measured 0.494 and 0.505 of the naive MAE
    assert valid.gbm_mae == pytest.approx(21_637, rel=0.01) and test.gbm_mae == pytest.approx(19_346, rel=0.01)
    assert test.gbm_ratio < 0.89  # measured 0.846: ahead of LightGBM on test ...
    assert valid.gbm_ratio < 1.0  # ... and on validation (measured 0.966; round 5's recipe: 0.988)
    # LightGBM trained from 2010 on the same days: stronger on this validation, weaker on test.
    from_2010 = config.replace(train_start="2010-01")
    splits = make_splits(data, from_2010)
    gbm = reference_for(data, splits, from_2010)
    gbm_mae = {name: float(np.abs(gbm[name] - splits[name].targets.numpy()).mean()) * SCALE for name in gbm}
    assert gbm_mae["valid"] == pytest.approx(20_810, rel=0.01) and gbm_mae["test"] == pytest.approx(19_482, rel=0.01)
    assert valid.mae / gbm_mae["valid"] < 1.04  # measured 1.005: from 1.1% ahead to 2.3% behind over nine seeds
    assert test.mae / gbm_mae["test"] < 0.88  # measured 0.840
    # another split, not the one the recipe was first found on: train to 2016, validate 2017-01..06,
    # test 2017-07..2018-06 (bench/best_search.py SPLITS["2017"])
    other = start_run(config.replace(train_end="2016-12", valid_start="2017-01",
                                     valid_end="2017-06", test_start="2017-07", test_end="2018-06"), data)
    assert other.scores["valid"].gbm_ratio < 0.98  # measured 0.944 (round 3: 1.041, round 5: 0.967)
    assert other.scores["test"].gbm_ratio < 0.99  # measured 0.942 (round 3: 1.095, round 4: 0.989, round 5: 0.964)
