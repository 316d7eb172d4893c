"""`ridership forecast --day-type T` and `--days K --override DATE=T`: the same date and type give
the same answer on every path, and a chosen type says how its inputs were formed (issue 20)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import small_args

ROOT = Path(__file__).resolve().parents[2]


def ridership(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model with the `best` preset's calendar inputs (weekday, holiday, minor holiday, school
    break), trained on the synthetic series that ends 2018-10-31: day 1 is Thursday 2018-11-01."""
    from support import csv_rows, write_csv

    from engine.data.synthetic import synthetic_frame

    folder = tmp_path_factory.mktemp("daytype")
    csv = write_csv(folder / "ridership.csv", csv_rows(synthetic_frame("2017-12-01", "2018-10-31")))
    path = folder / "m.pt"
    done = ridership(
        "train",
        "--data",
        str(csv),
        *small_args(),
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
    done = ridership("forecast", *model, "--day-type", "U")
    assert done.returncode == 0, done.stderr
    how = [line for line in done.stdout.splitlines() if line.strip().startswith("how formed:")]
    assert len(how) == 1 and "a CTA holiday falling on a Thursday" in how[0]
    # The training split (January to June 2018) has no holiday on a Thursday: the forecast says so.
    assert "extrapolation" in how[0]
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
