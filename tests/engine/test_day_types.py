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
    """A fixed model with the holidays inputs: the same day last week, times ``holiday`` (0.4) when the
    next day is a CTA holiday on a weekday, times 0.6 for a Saturday service. It reads the calendar
    columns only, as a trained model could: a day type set without the holiday column would come out
    unchanged. ``holiday=0.9`` is issue 20's model: a weekday holiday at nearly a weekday's level."""

    hidden_size = 1

    def __init__(self, holiday: float = 0.4) -> None:
        super().__init__()
        self.lstm = nn.LSTM(len(HOLIDAY_FEATURES), 1)  # inputs_of() reads the width here
        self.holiday = holiday

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        last = X[:, -1]
        weekday_holiday = (last[:, HOLIDAY] == 1) & (last[:, WEEKDAY[SATURDAY]] == 0) & (last[:, WEEKDAY[6]] == 0)
        factor = torch.where(weekday_holiday, self.holiday, torch.where(last[:, TYPE["A"]] == 1, 0.6, 1.0))
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
    """Thursday 2018-11-01 as U. The training split (2016-2017) has 2 real Thursday holidays, fewer
    than 3: the range is all weekdays' holidays pooled. The model's 0.4 is inside it for rail; bus
    (real holidays 0.45 of a weekday in the synthetic series) is raised to the lowest."""
    one = predictor.forecast(1, {1: "U"})
    three = predictor.forecast(3, {f"{data.last_date + pd.Timedelta(days=1):%Y-%m-%d}": "u"})
    assert one.forecasts[0] == three.forecasts[0] and one.bands[0] == three.bands[0]
    plain = predictor.forecast(1).forecasts[0]  # 2018-11-01, a Thursday
    u = one.forecasts[0]
    held = u.held
    assert held.range.pooled and held.range.own == 2 and held.range.days == predictor.holiday_table().total
    assert held.weekday == {"rail": pytest.approx(plain.rail), "bus": pytest.approx(plain.bus)}
    assert u.rail / plain.rail == pytest.approx(0.4) and held.state("rail") == "inside"
    assert held.state("bus") == "low" and u.bus / plain.bus == pytest.approx(held.range.low["bus"])
    for series in ("rail", "bus"):
        assert held.range.low[series] <= held.ratio(series) <= held.range.high[series]
    assert u.group == HOLIDAY_GROUP and u.seen > 0
    assert "held to 12 weekday holidays 2016-2017 (2 on a Thursday)" in u.note()
    assert f"rail 0.40 (inside), bus {held.ratio('bus'):.2f} (lowest; model 0.40)" in u.note()
    assert u.to_dict()["formed_from"]["pooled_weekdays"] is True


def _held_predictor(data, train_start: str, train_end: str = "2017-12", holiday: float = 0.9) -> Predictor:
    config = SMALL.replace(
        inputs="holidays",
        train_start=train_start,
        train_end=train_end,
        valid_start="2018-05",
        valid_end="2018-07",
        test_start="2018-08",
        test_end="2018-10",
    )
    return Predictor(HolidayAwareModel(holiday), config, data, label="fixed")


def test_a_weekday_holiday_forecast_too_high_is_held_at_the_highest_real_holiday(data):
    """Issue 20's model (a weekday holiday at 0.9 of a weekday), trained 2015-2017: Thursday 2018-11-01
    as U is held at the highest ratio of the three real Thursday holidays (Thanksgivings), per
    series; its interval is the weekday forecast's times their range; the JSON and the text say so."""
    from engine.whatif import holiday_ratios

    predictor = _held_predictor(data, "2015-01")
    thursdays = holiday_ratios(data.frame, "2015-01-01", "2017-12-31").query("weekday == 3")
    assert len(thursdays) == 3  # the Thanksgivings of 2015-2017 (2015-01-01 has no 4 weeks before it)
    table = predictor.forecast(2, {1: "U"})
    weekday = predictor.forecast(1)
    u, band, plain, plain_band = table.forecasts[0], table.bands[0], weekday.forecasts[0], weekday.bands[0]
    r = u.held.range
    assert (r.days, r.own, r.pooled, r.years) == (3, 3, False, (2015, 2017))
    for series in ("rail", "bus"):
        high, low = thursdays[f"{series}_ratio"].max(), thursdays[f"{series}_ratio"].min()
        assert u.held.ratio(series, "model") == pytest.approx(0.9)
        assert getattr(u, series) == pytest.approx(high * getattr(plain, series))  # the highest real one
        assert band[f"{series}_low"] == pytest.approx(low * plain_band[f"{series}_low"])
        assert band[f"{series}_high"] == pytest.approx(high * plain_band[f"{series}_high"])
        assert band[f"{series}_low"] <= getattr(u, series) <= band[f"{series}_high"]
    assert u.note().startswith("Thu 11-01 as Sunday/holiday service: the model's holiday forecast held at ")
    assert "the highest of 3 real Thursday holidays 2015-2017 (model 0.90, 0.90)" in u.note()
    formed = u.to_dict()["formed_from"]
    assert formed["clipped"] is True and formed["rail_clipped"] == "to_highest" and formed["holidays"] == 3
    assert formed["rail_range"] == [round(thursdays["rail_ratio"].min(), 3), round(thursdays["rail_ratio"].max(), 3)]
    assert table.forecasts[1].held is None  # day 2, Friday from the calendar: as before


def test_the_held_check_on_the_splits(data):
    """bench/day_kinds.py's measure: ordinary weekdays of validation and test run as U all land inside
    their weekday's range once held (the 0.9 model's own never does), and on the real weekday
    holidays there (Memorial Day, the Fourth of July, Labor Day 2018) holding brings the forecast nearer."""
    from engine.whatif import held_check

    check = held_check(_held_predictor(data, "2015-01"))
    s = check.summary()
    assert s["as_u_days"] > 50 and s["as_u_rail_inside"] == s["as_u_bus_inside"] == 1.0
    assert s["as_u_rail_model_inside"] == s["as_u_bus_model_inside"] == 0.0
    assert list(check.holidays["date"].dt.strftime("%m-%d")) == ["05-28", "07-04", "09-03"]
    assert s["rail_held_mae"] < s["rail_model_mae"] and s["bus_held_mae"] < s["bus_model_mae"]


def test_too_few_real_holidays_keep_the_models_own_number_and_say_so(data):
    """Training January-April 2018 holds one weekday holiday (New Year's Day): nothing to hold to, so
    the model's own holiday forecast stands, with the holidays' interval width."""
    predictor = _held_predictor(data, "2018-01", "2018-04")
    assert predictor.holiday_table().total == 1 and predictor.holiday_table().get(3) is None
    table = predictor.forecast(1, {1: "U"})
    u, plain = table.forecasts[0], predictor.forecast(1).forecasts[0]
    assert u.rail / plain.rail == pytest.approx(0.9) and u.held.range is None
    assert "not held: training has 1 real weekday holiday, fewer than 3" in u.note()
    assert u.to_dict()["formed_from"]["held"] is False
    assert table.bands[0]["rail_high"] - u.rail >= table.trust.intervals.relative[1]["rail"] * u.rail - 1e-6


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
