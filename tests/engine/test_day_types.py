"""What a chosen day type means for the model's inputs (engine/daytypes.py), and the Predictor
(engine/predictor.py) applying it: on a fixed model that reads the holiday column, a weekday run as
a Sunday/holiday service must come out at a holiday's level, not a weekday's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from support import SMALL
from torch import nn

from engine.data import DataSource, RidershipData
from engine.data.synthetic import synthetic_frame
from engine.daytypes import HOLIDAY_GROUP, SATURDAY, day_inputs, kinds_of
from engine.domain import HOLIDAY_FEATURES, SCALE
from engine.predictor import Predictor
from engine.whatif import counterfactual, holiday_ratios, ratio_ranges

HOLIDAY = HOLIDAY_FEATURES.index("next_holiday")
TYPE = {k: HOLIDAY_FEATURES.index(f"next_day_type_{k}") for k in "AUW"}
WEEKDAY = [HOLIDAY_FEATURES.index(f"next_weekday_{d}") for d in range(7)]


class HolidayAwareModel(nn.Module):
    """A fixed model with the holidays inputs: the same day last week, times 0.4 when the next day is
    a CTA holiday on a weekday, times 0.6 for a Saturday service. It reads the calendar columns only,
    as a trained model could: a day type set without the holiday column would come out unchanged."""

    hidden_size = 1

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(len(HOLIDAY_FEATURES), 1)  # inputs_of() reads the width here

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        last = X[:, -1]
        weekday_holiday = (last[:, HOLIDAY] == 1) & (last[:, WEEKDAY[SATURDAY]] == 0) & (last[:, WEEKDAY[6]] == 0)
        factor = torch.where(weekday_holiday, 0.4, torch.where(last[:, TYPE["A"]] == 1, 0.6, 1.0))
        # Same weekday last week, as an ordinary weekday (its own factor undone).
        return X[:, -7, :2] * factor[:, None]


@pytest.fixture(scope="module")
def data():
    return RidershipData(synthetic_frame("2015-01-01", "2018-10-31"), DataSource("synthetic"))


@pytest.fixture(scope="module")
def predictor(data):
    # Validation holds Memorial Day and the Fourth of July, test Labor Day and Columbus Day (minor).
    config = SMALL.replace(
        inputs="holidays",
        train_start="2016-01",
        train_end="2017-12",
        valid_start="2018-05",
        valid_end="2018-07",
        test_start="2018-08",
        test_end="2018-10",
    )
    return Predictor(HolidayAwareModel(), config, data, label="fixed")


def test_a_sunday_service_on_a_wednesday_is_a_holiday_falling_on_a_wednesday():
    day = day_inputs("2021-12-01", "U")
    assert (day.day_type, day.weekday, day.holiday, day.minor) == ("U", 2, True, False)
    assert "holiday falling on a Wednesday" in day.basis and day.interval_group == HOLIDAY_GROUP
    columns = dict(zip(HOLIDAY_FEATURES[2:], day.columns("holidays")))
    assert columns["next_day_type_U"] == 1 and columns["next_weekday_2"] == 1 and columns["next_holiday"] == 1
    assert sum(columns[f"next_day_type_{k}"] for k in "AUW") == 1


def test_a_saturday_service_is_an_ordinary_saturdays_inputs():
    day = day_inputs("2021-12-01", "A")
    assert (day.day_type, day.weekday, day.holiday) == ("A", SATURDAY, False)
    assert "ordinary Saturday" in day.basis


def test_a_real_holiday_as_a_weekday_is_an_ordinary_weekday():
    thanksgiving = day_inputs("2021-11-25", "W")
    assert (thanksgiving.weekday, thanksgiving.holiday, thanksgiving.minor) == (3, False, False)
    assert "ordinary Thursday" in thanksgiving.basis
    sunday = day_inputs("2021-12-05", "W")  # a weekend day as a weekday: the nearest weekday
    assert sunday.weekday == 0 and "Monday" in sunday.basis
    christmas_eve_break = day_inputs("2021-12-24", "U")  # the school break is the date's own
    assert christmas_eve_break.school and not christmas_eve_break.minor


def test_the_calendars_own_type_changes_nothing():
    for date in ("2021-12-01", "2021-11-25", "2021-12-04", "2022-01-17"):
        real = day_inputs(date)
        assert day_inputs(date, real.day_type) == real and real.basis == ""
    assert day_inputs("2022-01-17").minor  # MLK day: a weekday with its minor-holiday input


def test_kinds_of_real_days(data):
    kinds = kinds_of(data.frame.loc["2017"])
    dates = data.frame.loc["2017"].index
    assert set(dates[kinds["U weekday"]].strftime("%m-%d")) == {"01-02", "05-29", "07-04", "09-04", "11-23", "12-25"}
    assert pd.Timestamp("2017-01-16") in dates[kinds["minor"]]  # MLK
    assert pd.Timestamp("2017-04-10") in dates[kinds["school"]]  # the week before Easter


def test_single_and_multi_day_forecasts_agree_and_u_on_a_weekday_is_a_holiday(predictor, data):
    one = predictor.forecast(1, {1: "U"})
    three = predictor.forecast(3, {f"{data.last_date + pd.Timedelta(days=1):%Y-%m-%d}": "u"})
    assert one.forecasts[0] == three.forecasts[0] and one.bands[0] == three.bands[0]
    plain = predictor.forecast(1).forecasts[0]  # 2018-11-01, a Thursday
    u = one.forecasts[0]
    assert u.rail / plain.rail == pytest.approx(0.4) and u.bus / plain.bus == pytest.approx(0.4)
    assert u.group == HOLIDAY_GROUP and u.seen > 0 and "Thursday" in u.note()


def test_an_unseen_combination_says_so_and_gets_the_holidays_width(predictor):
    table = predictor.forecast(1, {1: "A"})  # a Thursday as a Saturday service: never in the data
    f, band = table.forecasts[0], table.bands[0]
    assert f.seen == 0 and f.unseen and "extrapolation" in f.note()
    intervals = table.trust.intervals
    saturday = intervals.half_width(1, "rail", "A")
    holiday = intervals.relative[1]["rail"] * f.rail
    assert band["rail_high"] - f.rail == pytest.approx(max(saturday, holiday))
    assert intervals.holiday_days > 0


def test_the_assessment_is_kept(predictor):
    predictor = Predictor(predictor.model, predictor.config, predictor.data)  # nothing kept yet
    first = predictor.assess(horizon=2)
    assert predictor.assess(horizon=1) is first
    assert predictor.assess(horizon=3) is not first


def test_backtest_reports_each_kind_of_day_beside_naive_and_lightgbm(predictor):
    result = predictor.backtest()
    kinds = result["test"].by_kind  # Labor Day (U on a Monday), Columbus Day (minor)
    assert {"W", "A", "U", "U weekday", "minor"} <= set(kinds)
    assert kinds["U weekday"].count == 1 and kinds["minor"].count == 1
    assert result["valid"].by_kind["U weekday"].count == 2
    assert kinds["W"].count + kinds["A"].count + kinds["U"].count == len(result["test"])


def test_counterfactual_u_lands_in_the_real_holiday_range(predictor, data):
    ranges = ratio_ranges(holiday_ratios(synthetic_frame("2004-10-01", "2019-12-31"), "2005-01-01", "2019-12-31"))
    check = counterfactual(predictor, ranges)
    assert len(check.as_u) > 20
    summary = check.summary()
    # The synthetic series runs U days at 0.40 of a weekday's rail: so does the model's U.
    assert summary["as_u_rail_median_ratio"] == pytest.approx(0.4)
    assert summary["as_u_rail_inside"] == 1.0
    # Memorial Day, the Fourth of July and Labor Day 2018 forecast as weekdays: near the usual weekday.
    assert len(check.as_w) == 3 and check.as_w["rail_ratio"].between(0.85, 1.15).all()


def test_forecasts_in_riders(predictor, data):
    f = predictor.forecast(1).forecasts[0]
    assert f.rail == pytest.approx(float(data.feature_values("holidays")[-7, 0]) * SCALE, rel=1e-6)
    assert np.isfinite(f.bus)


def test_rolling_origin_retrains_each_fold_and_reports_the_kinds(tmp_path):
    data = RidershipData(synthetic_frame("2017-12-01", "2020-06-30"), DataSource("synthetic"))
    config = SMALL.replace(train_start="2018-01")
    model = Predictor(HolidayAwareModel(), config, data, label="small")
    lines = model.rolling_origin(tmp_path, "2019", seeds=(1,), log=lambda line: None)
    assert (tmp_path / "2019_1.npz").exists()
    assert lines[0] == "# rolling origin of small: 1 folds x 1 seeds"
    assert any(line.startswith("# pooled valid: model/LightGBM") for line in lines)
    kinds = [line.split()[:2] for line in lines[lines.index(next(x for x in lines if "by kind" in x)) + 2 :]]
    assert ["test", "W"] in kinds and ["test", "U"] in kinds  # test: July 2019 to June 2020
    again = model.rolling_origin(tmp_path, "2019", seeds=(1,), log=lambda line: pytest.fail(line))
    assert again == lines  # the fold was kept, not retrained
