"""`ridership forecast --day-type T` and `--days K --override DATE=T`: the same date and type give
the same answer on every path, and a chosen type says how its inputs were formed (issue 20)."""

from __future__ import annotations

import json
import subprocess

import pytest
import support
from support import small_args


def ridership(*argv: str) -> subprocess.CompletedProcess:
    return support.ridership(*argv, timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model with the `best` preset's calendar inputs (weekday, holiday, minor holiday, school
    break), trained on the synthetic series that ends 2018-10-31 (training 2016-01..2018-06, with 14
    real weekday holidays, 2 on a Thursday): day 1 is Thursday 2018-11-01."""
    from support import SMALL, csv_rows, write_csv

    from engine.data.synthetic import synthetic_frame

    folder = tmp_path_factory.mktemp("daytype")
    csv = write_csv(folder / "ridership.csv", csv_rows(synthetic_frame("2015-10-01", "2018-10-31")))
    path = folder / "m.pt"
    done = ridership(
        "train",
        "--data",
        str(csv),
        *small_args(SMALL.replace(train_start="2016-01")),
        "--inputs",
        "holidays",
        "--quiet",
        "--no-record",
        "--save",
        str(path),
    )
    assert done.returncode == 0, done.stderr
    return ["--data", str(csv), "--model", str(path)]


def forecasts(*argv: str) -> list[dict]:
    done = ridership("forecast", *argv, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["forecasts"]


@pytest.mark.parametrize("kind", ["U", "A", "W"])
def test_one_day_and_the_first_of_several_agree_exactly(model, kind):
    [single] = forecasts(*model, "--day-type", kind)
    first = forecasts(*model, "--days", "3", "--day-type", kind)[0]
    overridden = forecasts(*model, "--days", "3", "--override", f"2018-11-01={kind.lower()}")[0]
    assert single == first == overridden  # forecast, bounds and how it was formed
    assert single["day_type"] == kind and single["day_type_inferred"] is False


def test_a_chosen_type_says_how_it_was_formed(model):
    """Thursday 2018-11-01 as U: the model's holiday forecast held to the range of the training split's
    real weekday holidays (pooled: only 2 on a Thursday), said in the text and in --json."""

    from engine.data.sources import load_path
    from engine.whatif import holiday_ratios

    ratios = holiday_ratios(load_path(model[1], "path").frame, "2016-01-01", "2018-06-30")
    assert len(ratios) == 14 and (ratios["weekday"] == 3).sum() == 2
    done = ridership("forecast", *model, "--day-type", "U")
    assert done.returncode == 0, done.stderr
    how = [line for line in done.stdout.splitlines() if line.strip().startswith("how formed:")]
    assert len(how) == 1 and "how formed: Thu 11-01 as Sunday/holiday service: the model's holiday forecast" in how[0]
    assert "14 weekday holidays 2016-2018 (2 on a Thursday)" in how[0]
    assert how[0].endswith("; interval: that range")
    [u] = forecasts(*model, "--day-type", "U")
    [w] = forecasts(*model)
    formed = u["formed_from"]
    assert u["how_formed"] in how[0] and formed["held"] and formed["pooled_weekdays"] and formed["holidays"] == 14
    assert formed["weekday_forecast"] == {"rail": w["rail"], "bus": w["bus"]}
    for series in ("rail", "bus"):
        low, high = ratios[f"{series}_ratio"].min(), ratios[f"{series}_ratio"].max()
        assert formed[f"{series}_range"] == [round(low, 3), round(high, 3)]
        # Inside the real range (the JSON's numbers are rounded to riders), the interval spanning it.
        assert low * w[series] - 1 <= u[series] <= high * w[series] + 1
        assert u[f"{series}_low"] <= low * w[series] + 1 and u[f"{series}_high"] >= high * w[series] - 1
    table = ridership("forecast", *model, "--days", "4", "--override", "2018-11-03=W")
    assert table.returncode == 0, table.stderr
    assert "* day 3 (2018-11-03): run as a weekday: the inputs of an ordinary Friday" in table.stdout


def test_the_calendars_own_type_says_nothing_more(model):
    [plain] = forecasts(*model)
    [same] = forecasts(*model, "--day-type", "W")
    assert plain["how_formed"] is None and same["how_formed"] is None
    assert (plain["rail"], plain["bus"], plain["rail_low"]) == (same["rail"], same["bus"], same["rail_low"])


def test_evaluate_shows_the_errors_per_kind_of_day(model):
    """The test split (targets 2018-09-15..10-31) holds Columbus Day, a minor holiday."""
    done = ridership("evaluate", *model)
    assert done.returncode == 0, done.stderr
    assert "by kind of day" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines()]
    assert any(row[:2] == ["test", "W"] for row in rows) and any(row[:1] == ["minor"] for row in rows)
    data = json.loads(ridership("evaluate", *model, "--json").stdout)["by_kind"]
    assert data["test"]["minor"]["count"] == 1
    assert {"W", "A", "U"} <= set(data["valid"]) and data["test"]["W"]["gbm_rail_mae_riders"] > 0


# The real-data checks (the `best` model on the CTA file) moved to tests/acceptance/test_day_types_on_real_data.py,
# where they read the session's one `best` run (tests/acceptance/conftest.py's best_run).
