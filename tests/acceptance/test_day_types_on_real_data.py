"""`ridership forecast --day-type` and `evaluate`'s errors per kind of day on the real CTA file, with the
`best` model (issue 20). Moved from tests/cli/test_day_type_forecasts.py; they read the session's one
`best` run (seed 1, tests/acceptance/conftest.py's best_run) instead of training their own (seed 42)."""

from __future__ import annotations

import json
import subprocess

import support


def ridership(*argv: str) -> subprocess.CompletedProcess:
    return support.ridership(*argv, timeout=600)


def forecasts(*argv: str) -> list[dict]:
    done = ridership("forecast", *argv, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["forecasts"]


def test_real_a_wednesday_run_as_a_holiday(best_run, real_data):
    """2021-12-01, the day after the data: as U, the same answer alone and as the first of three days,
    inside the range of the training split's (2005-2018) real Wednesday holidays over the usual
    Wednesday, its interval spanning that range, and the text saying how it was formed."""
    from engine.whatif import holiday_ratios

    [single] = forecasts(*best_run.cli(), "--day-type", "U")
    first = forecasts(*best_run.cli(), "--days", "3", "--override", "2021-12-01=U")[0]
    [weekday] = forecasts(*best_run.cli())
    assert single == first and weekday["day_type"] == "W"
    ratios = holiday_ratios(real_data.frame, "2005-01-01", "2018-12-31")
    wednesdays = ratios[ratios["weekday"] == 2]
    assert len(wednesdays) >= 3  # measured: 5, 2007-2018
    formed = single["formed_from"]
    assert formed["held"] and not formed["pooled_weekdays"] and formed["holidays"] == len(wednesdays)
    years = f"{wednesdays['date'].min():%Y}-{wednesdays['date'].max():%Y}"
    assert single["how_formed"].startswith("Wed 12-01 as Sunday/holiday service: the model's holiday forecast")
    assert f"{len(wednesdays)} real Wednesday holidays {years}" in single["how_formed"]
    assert formed["weekday_forecast"] == {"rail": weekday["rail"], "bus": weekday["bus"]}
    for series in ("rail", "bus"):
        low, high = wednesdays[f"{series}_ratio"].min(), wednesdays[f"{series}_ratio"].max()
        # Rounded to riders in the JSON, hence the rider of slack.
        assert low * weekday[series] - 1 <= single[series] <= high * weekday[series] + 1
        assert single[f"{series}_low"] <= low * weekday[series] + 1
        assert single[f"{series}_high"] >= high * weekday[series] - 1


def test_real_counterfactual_and_the_errors_by_kind(best_run, real_data):
    from engine.predictor import Predictor
    from engine.whatif import counterfactual, held_check, holiday_ratios, ratio_ranges

    data = real_data
    predictor = Predictor.from_file(best_run.model, data)
    check = counterfactual(predictor, ratio_ranges(holiday_ratios(data.frame)))
    s = check.summary()
    # Ordinary weekdays of the validation and test splits run as U: mostly inside the real range of
    # holidays on their weekday (measured: rail 89%, bus 74% with seed 1; README).
    assert s["as_u_days"] > 500 and s["as_u_rail_inside"] >= 0.75 and s["as_u_bus_inside"] >= 0.5
    assert 0.3 < s["as_u_rail_median_ratio"] < 0.6
    # Real weekday holidays run as W: at the usual weekday's level, in the median.
    assert s["as_w_days"] >= 10 and 0.9 < s["as_w_rail_median_ratio"] < 1.15
    # What the forecast gives: held to the training split's range, every one of them is inside it.
    held = held_check(predictor).summary()
    assert held["as_u_days"] > 500 and held["as_u_rail_inside"] == held["as_u_bus_inside"] == 1.0
    assert held["holidays"] >= 10  # the real weekday holidays: the held MAE is measured, in the README
    done = ridership("evaluate", *best_run.cli(), "--json")
    assert done.returncode == 0, done.stderr
    kinds = json.loads(done.stdout)["by_kind"]
    assert set(kinds["valid"]) == set(kinds["test"]) == {"W", "A", "U", "U weekday", "minor", "school"}
    for row in kinds["test"].values():
        assert row["gbm_mae_riders"] > 0 and row["naive_mae_riders"] > 0
