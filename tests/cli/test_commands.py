"""The headless commands end to end on small synthetic files: train, evaluate, forecast, data."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
from support import SMALL, small_args

from cli.main import main


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def trained(capsys, synthetic_csv, tmp_path):
    """(csv, model path, train --json summary)"""
    csv = synthetic_csv()
    model = tmp_path / "models" / "m.pt"
    rc, out, err = run(capsys, "train", "--data", csv, *small_args(), "--epochs", "3", "--save", model, "--json")
    assert rc == 0, err
    return csv, model, json.loads(out)


def test_train_json_fields(trained):
    csv, model, summary = trained
    assert summary["status"] == "finished" and summary["reason"] == "completed 3 epochs"
    assert summary["config"] == SMALL.replace(epochs=3).to_dict()
    assert summary["data"] == {"source": "path", "path": str(csv), "synthetic": False}
    assert summary["device"] == "cpu" and summary["saved"] == str(model) and model.is_file()
    history = summary["history"]
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert set(history[0]) == {
        "epoch",
        "epochs",
        "train_loss",
        "train_mae_riders",
        "valid_mae_riders",
        "lr",
        "seconds",
        "best_epoch",
        "best_valid_mae_riders",
    }
    best = min(history, key=lambda e: e["valid_mae_riders"])
    assert summary["best_epoch"] == best["epoch"]
    assert summary["best_valid_mae_riders"] == pytest.approx(best["valid_mae_riders"])
    assert summary["weights_epoch"] == 3
    for name in ("valid", "test"):
        score = summary["scores"][name]
        assert score["split"] == name and score["windows"] > 0
        assert score["mae_riders"] > 0 and score["naive_mae_riders"] > 0
        assert score["ratio"] == pytest.approx(score["mae_riders"] / score["naive_mae_riders"])


def test_train_text_output(capsys, synthetic_csv):
    rc, out, err = run(capsys, "train", "--data", synthetic_csv(), *small_args(), "--epochs", "3", "--restore-best")
    assert rc == 0, err
    lines = out.splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    best = next(line for line in lines if line.startswith("Best epoch: "))
    epoch = best.split()[2]
    assert epoch != "3", "precondition: on this data the best epoch is not the last"
    assert f"ends with epoch {epoch}'s weights (best)" in best
    assert any(line.startswith("Test MAE: ") for line in lines)
    assert any(
        line.strip().startswith("validation: model MAE") and "naive same-day-last-week" in line for line in lines
    )


def test_train_quiet_prints_no_epoch_lines(capsys, synthetic_csv):
    rc, out, _ = run(capsys, "train", "--data", synthetic_csv(), *small_args(), "--quiet")
    assert rc == 0 and not any(line.startswith("Epoch ") for line in out.splitlines())


def test_evaluate_a_saved_model(capsys, trained):
    csv, model, summary = trained
    rc, out, err = run(capsys, "evaluate", "--data", csv, "--model", model, "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["weights_epoch"] == 3
    assert report["scores"] == summary["scores"]  # the same weights on the same data

    rc, out, err = run(capsys, "evaluate", "--data", csv, "--model", model)
    assert rc == 0, err
    assert "epoch 3's weights" in out and "window 14, hidden 8" in out
    assert "validation: model MAE" in out and "test: model MAE" in out


def test_forecast_with_a_saved_model(capsys, trained):
    csv, model, _ = trained
    forecasts = {}
    for day_type in ("W", "A", "U"):
        rc, out, err = run(capsys, "forecast", "--data", csv, "--model", model, "--day-type", day_type, "--json")
        assert rc == 0, err
        [f] = json.loads(out)["forecasts"]
        assert (f["date"], f["day_type"], f["day_type_inferred"]) == ("2018-11-01", day_type, False)
        forecasts[day_type] = (f["rail"], f["bus"])
    assert len(set(forecasts.values())) == 3

    rc, out, err = run(capsys, "forecast", "--data", csv, "--model", model)
    assert rc == 0, err
    assert "Forecast for 2018-11-01 (Thursday), day type W (from the calendar)" in out
    assert f"rail: {forecasts['W'][0]:,} riders" in out and f"bus:  {forecasts['W'][1]:,} riders" in out
    assert "80% interval" in out and "How far to trust it" in out


def test_data_json_and_text(capsys, synthetic_csv):
    csv = synthetic_csv()
    rc, out, err = run(capsys, "data", "--data", csv, "--json")
    assert rc == 0, err
    assert json.loads(out) == {
        "source": "path",
        "path": str(csv),
        "synthetic": False,
        "rows": 335,
        "first_date": "2017-12-01",
        "last_date": "2018-10-31",
        "filled_dates": [],
        "sha256": hashlib.sha256(csv.read_bytes()).hexdigest(),
        "age_days": (datetime.date.today() - datetime.date(2018, 10, 31)).days,
    }
    rc, out, _ = run(capsys, "data", "--data", csv)
    assert rc == 0
    assert f"source: {csv} (path)" in out and "rows: 335 days, 2017-12-01 .. 2018-10-31" in out
    assert "day types: W " in out


def test_data_from_the_environment_variable(capsys, synthetic_csv, monkeypatch):
    csv = synthetic_csv()
    monkeypatch.setenv("RIDERSHIP_DATA", str(csv))
    rc, out, _ = run(capsys, "data", "--json")
    assert rc == 0 and json.loads(out)["source"] == "env"


def test_no_data_falls_back_to_the_synthetic_series_and_says_so(capsys):
    rc, out, err = run(capsys, "data")
    assert rc == 0
    assert "synthetic" in out and "using the synthetic demo series" in err
    rc, out, err = run(capsys, "data", "--json")
    assert rc == 0 and json.loads(out)["synthetic"] is True and err == ""


def test_a_run_that_diverges_in_epoch_one(capsys, synthetic_csv, tmp_path):
    model = tmp_path / "never.pt"
    rc, out, err = run(capsys, "train", "--data", synthetic_csv(), *small_args(), "--lr", "1e38", "--save", model)
    assert rc == 1 and "Traceback" not in err
    assert "run failed: the loss became inf at epoch 1" in out and "nothing is scored or saved" in out
    assert not model.exists()
