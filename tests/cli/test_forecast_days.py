"""`ridership forecast --days K [--day-type T] [--override YYYY-MM-DD=T ...]`."""

from __future__ import annotations

import json

import pytest
from support import small_args

from cli.main import main


@pytest.fixture
def model(synthetic_csv, tmp_path, capsys):
    csv = synthetic_csv()  # ends 2018-10-31: day 1 is Thursday 2018-11-01
    path = tmp_path / "m.pt"
    assert main(["train", "--data", str(csv), *small_args(), "--quiet", "--save", str(path)]) == 0
    capsys.readouterr()
    return ["--data", str(csv), "--model", str(path)]


def _forecast(capsys, *argv) -> tuple[int, str, str]:
    code = main(["forecast", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_table_of_k_days(model, capsys):
    code, out, _ = _forecast(capsys, *model, "--days", "4")
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit() and "-" in line.split()[1]]
    assert [r[:3] for r in rows] == [
        ["1", "2018-11-01", "Thursday"],
        ["2", "2018-11-02", "Friday"],
        ["3", "2018-11-03", "Saturday"],
        ["4", "2018-11-04", "Sunday"],
    ]
    assert [r[3:5] for r in rows] == [["W", "calendar"], ["W", "calendar"], ["A", "calendar"], ["U", "calendar"]]


def test_one_day_json_matches_the_plain_forecast(model, capsys):
    _, plain, _ = _forecast(capsys, *model, "--json")
    code, days, _ = _forecast(capsys, *model, "--days", "1", "--json")
    assert code == 0
    [day] = json.loads(days)["forecasts"]
    assert day == json.loads(plain)["forecasts"][0]
    assert day["rail_low"] <= day["rail"] <= day["rail_high"]


def test_day_type_sets_day_one_and_overrides_set_others(model, capsys):
    _, base, _ = _forecast(capsys, *model, "--days", "3", "--json")
    _, out, _ = _forecast(capsys, *model, "--days", "3", "--json", "--day-type", "U", "--override", "2018-11-03=w")
    base, out = json.loads(base)["forecasts"], json.loads(out)["forecasts"]
    assert [(d["day_type"], d["day_type_inferred"]) for d in out] == [("U", False), ("W", True), ("W", False)]
    assert all((o["rail"], o["bus"]) != (b["rail"], b["bus"]) for o, b in zip(out, base))


@pytest.mark.parametrize("days", ["0", "29", "-3"])
def test_days_out_of_range_exit_2(model, capsys, days):
    code, out, err = _forecast(capsys, *model, "--days", days)
    assert code == 2 and out == ""
    assert "days must be a whole number from 1 to 28" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--days", "3", "--override", "2018-12-25=U"], "outside the forecast (2018-11-01..2018-11-03)"),
        (["--override", "2018-11-02=U"], "--override needs --days"),
        (["--days", "3", "--day-type", "W", "--override", "2018-11-01=A"], "given two day types"),
        (["--days", "3", "--override", "2018-11-31=A"], "not a date"),
    ],
)
def test_bad_overrides_exit_2(model, capsys, extra, message):
    code, _, err = _forecast(capsys, *model, *extra)
    assert code == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["2018-11-02", "2018-11-02=X", "=U", "two"])
def test_malformed_override_is_a_usage_error(model, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["forecast", *model, "--days", "3", "--override", value])
    assert info.value.code == 2
    assert "expected YYYY-MM-DD=T" in capsys.readouterr().err
