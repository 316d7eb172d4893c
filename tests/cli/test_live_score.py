"""The live score of a recorded run (`forecast --run`): the model on the days after the data it was
trained on, which the run store records, when its test split runs to the end of that data."""

from __future__ import annotations

import json
import subprocess

import support
from support import csv_rows, write_csv

from engine.data.synthetic import synthetic_frame


def ridership(*argv: str) -> subprocess.CompletedProcess:
    return support.ridership(*argv, timeout=600)


def test_a_recorded_run_is_scored_on_the_days_after_the_data_it_was_trained_on(tmp_path):
    trained = write_csv(tmp_path / "to-october.csv", csv_rows(synthetic_frame("2017-12-01", "2018-10-31")))
    later = write_csv(tmp_path / "to-december.csv", csv_rows(synthetic_frame("2017-12-01", "2018-12-31")))
    db = str(tmp_path / "runs.db")
    split = ["--train-start", "2018-01", "--train-end", "2018-06", "--valid-start", "2018-07"]
    split += ["--valid-end", "2018-08", "--test-start", "2018-09", "--test-end", ""]  # test: to the data's end
    small = ["--window-length", "14", "--hidden-size", "8", "--epochs", "1", "--device", "cpu", "--quiet"]
    done = ridership("train", "--data", str(trained), "--runs-db", db, *split, *small)
    assert done.returncode == 0, done.stderr
    made = ridership("forecast", "--data", str(later), "--runs-db", db, "--run", "latest", "--json", "--no-record")
    assert made.returncode == 0, made.stderr
    live = json.loads(made.stdout)["live"]
    # the store says the run was trained on data up to 2018-10-31: November and December are new to it
    assert live is not None and live["since"] == "2018-10-31" and live["days"] == 61
    assert live["score"]["ratio"] > 0
