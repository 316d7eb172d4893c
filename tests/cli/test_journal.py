"""The forecast journal: forecasts made on data cut at a date are recorded; an update from the portal
brings their actual riders; `ridership journal` then shows each error, whether the interval held it,
and per model MAE and coverage beside the naive forecast, checked against values computed here."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_portal import FakePortal, soda_rows
from support import csv_rows, small_args, write_csv
from support import ridership as cli

from engine.data.sources import cached_csv
from engine.data.synthetic import synthetic_frame
from engine.journal import evaluate, naive_lag

CUT = "2018-10-31"


def test_forecasts_are_scored_once_an_update_brings_their_days(small_config, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_PORTAL_BACKOFF", "0.01")
    full = synthetic_frame("2017-12-01", "2019-01-31")
    path = cached_csv()
    path.parent.mkdir(parents=True)
    write_csv(path, csv_rows(full.loc[:CUT]))  # the data as it was on the cut day
    trained = cli("train", *small_args(small_config), "--epochs", "1", "--quiet")
    assert trained.returncode == 0, trained.stderr
    one = cli("forecast", "--run", "latest", "--day-type", "U", "--json")  # 2018-11-01 as a holiday
    ten = cli("forecast", "--run", "latest", "--days", "10", "--json")
    again = cli("forecast", "--run", "latest", "--days", "10", "--json")  # the same forecast: kept once
    assert one.returncode == 0 and ten.returncode == 0 and again.stdout == ten.stdout, one.stderr + ten.stderr
    made = json.loads(one.stdout)["forecasts"] + json.loads(ten.stdout)["forecasts"]

    before = json.loads(cli("journal", "--json").stdout)
    assert len(before["forecasts"]) == 11 and all(e["actual"] is None for e in before["forecasts"])
    assert before["models"][0]["days"] == 0 and before["models"][0]["pending"] == 11

    with FakePortal(soda_rows(full)) as portal:
        assert cli("data", "--update", "--portal", portal.url).returncode == 0
    shown = cli("journal", "--json")
    assert shown.returncode == 0, shown.stderr
    after = json.loads(shown.stdout)
    entries = after["forecasts"]
    assert [e["target_date"] for e in entries] == [m["date"] for m in made]
    assert [e["horizon"] for e in entries] == [1] + list(range(1, 11))
    errors, naive_errors, held = [], [], []
    for entry, printed in zip(entries, made):
        day = pd.Timestamp(entry["target_date"])
        assert entry["model"] == "run 1" and entry["run_id"] == 1 and entry["day_type"] == printed["day_type"]
        for s in ("rail", "bus"):
            value, actual = entry["forecast"][s], float(full.at[day, s])
            assert abs(value - printed[s]) <= 0.5  # the CLI printed it rounded
            assert entry["actual"][s] == actual
            assert entry["error"][s] == pytest.approx(value - actual)
            low, high = entry["interval"][f"{s}_low"], entry["interval"][f"{s}_high"]
            assert abs(low - printed[f"{s}_low"]) <= 0.5 and abs(high - printed[f"{s}_high"]) <= 0.5
            assert entry["held"][s] == (low <= actual <= high)
            lag = 7 if entry["horizon"] <= 7 else 14  # the last same weekday known when it was made
            naive = float(full.at[day - pd.Timedelta(days=lag), s])
            assert entry["naive"][s] == naive
            errors.append(abs(value - actual))
            naive_errors.append(abs(naive - actual))
            held.append(low <= actual <= high)
    (model,) = after["models"]
    assert model["model"] == "run 1" and model["days"] == 11 and model["pending"] == 0
    assert model["mae_riders"] == pytest.approx(sum(errors) / 22)
    assert model["naive_mae_riders"] == pytest.approx(sum(naive_errors) / 22)
    assert model["coverage"] == pytest.approx(sum(held) / 22)
    text = cli("journal")
    assert text.returncode == 0, text.stderr
    assert f"run 1: 11 days: MAE {sum(errors) / 22:,.0f}" in text.stdout
    assert f"naive {sum(naive_errors) / 22:,.0f} on the same days" in text.stdout


def test_evaluate_on_fixed_numbers():
    """Two forecasts of a flat series, by hand: errors +100/-50 and +300/-0, intervals +-200."""
    dates = pd.date_range("2024-01-01", "2024-01-31", name="date")
    frame = pd.DataFrame({"day_type": "W", "rail": 1000.0, "bus": 2000.0}, index=dates)
    frame.loc["2024-01-13", ["rail", "bus"]] = [900.0, 2100.0]  # the naive for the 20th (h=1) sees this
    base = {
        "made_at": "2024-01-19T00:00:00",
        "run_id": 3,
        "model": "run 3",
        "origin": "cli",
        "data_last": "2024-01-19",
        "day_type": "W",
        "level": 0.8,
    }

    def row(i, target, horizon, rail, bus):
        return {
            **base,
            "id": i,
            "target_date": target,
            "horizon": horizon,
            "rail": rail,
            "bus": bus,
            "rail_low": rail - 200,
            "rail_high": rail + 200,
            "bus_low": bus - 200,
            "bus_high": bus + 200,
        }

    result = evaluate(
        [
            row(1, "2024-01-20", 1, 1100.0, 1950.0),
            row(2, "2024-01-28", 9, 1300.0, 2000.0),
            row(3, "2024-02-05", 17, 1.0, 1.0),
        ],
        frame,
    )
    first, second, later = result.entries
    assert first.error == {"rail": 100.0, "bus": -50.0} and first.held == {"rail": True, "bus": True}
    assert first.naive == {"rail": 900.0, "bus": 2100.0}  # 7 days before
    assert second.error == {"rail": 300.0, "bus": 0.0} and second.held == {"rail": False, "bus": True}
    assert second.naive == {"rail": 1000.0, "bus": 2000.0} and naive_lag(9) == 14
    assert later.actual is None and later.error is None
    (model,) = result.models
    assert (model.days, model.pending) == (2, 1)
    assert model.mae == (100 + 50 + 300 + 0) / 4 and model.rail_mae == 200 and model.bus_mae == 25
    assert model.naive_mae == (100 + 100 + 0 + 0) / 4 and model.coverage == 3 / 4
