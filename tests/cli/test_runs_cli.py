"""``ridership train`` records runs; ``ridership runs ...`` reads, exports, resumes and deletes them.

tests/conftest.py points $RIDERSHIP_HOME at a temporary folder for every test."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import forked_cli
import pytest

from cli.main import main
from engine.data.synthetic import synthetic_frame
from engine.store import RunStore

TINY = [
    "--preset",
    "article",
    "--window-length",
    "14",
    "--hidden-size",
    "8",
    "--batch-size",
    "16",
    "--patience",
    "2",
    "--factor",
    "0.5",
    "--train-start",
    "2016-01",
    "--train-end",
    "2016-04",
    "--valid-start",
    "2016-05",
    "--valid-end",
    "2016-06",
    "--test-start",
    "2016-07",
    "--test-end",
    "2016-08",
    "--device",
    "cpu",
]


@pytest.fixture
def csv_path(tmp_path, monkeypatch):
    """A small CTA-shaped CSV (synthetic numbers) so runs have a data file and a fingerprint."""
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    frame = synthetic_frame("2015-11-01", "2016-09-30")
    path = tmp_path / "ridership.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["service_date", "day_type", "bus", "rail_boardings", "total_rides"])
        for date, row in frame.iterrows():
            writer.writerow([f"{date:%m/%d/%Y}", row.day_type, row.bus, row.rail, row.bus + row.rail])
    return path


def db_path() -> Path:
    return Path(os.environ["RIDERSHIP_HOME"]) / "runs.db"


def run_json(capsys, argv) -> tuple[int, dict]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out)


def train_json(capsys, csv_path, epochs, *extra) -> dict:
    code, out = run_json(capsys, ["train", "--data", str(csv_path), *TINY, "--epochs", str(epochs), "--json", *extra])
    assert code == 0
    return out


def test_train_records_a_run_the_store_reads_back(capsys, csv_path):
    out = train_json(capsys, csv_path, 3)
    run_id = out["run"]["run_id"]
    assert out["run"]["db"] == str(db_path())
    with RunStore.open() as store:
        run = store.get_run(run_id)
    assert run.status == "finished" and run.reason == out["reason"]
    assert run.config.to_dict() == out["config"]
    assert run.data_source == "path" and run.data_path == str(csv_path)
    assert run.data_fingerprint == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert run.device == "cpu" and run.torch_version and run.ended_at
    assert [e.riders_dict() for e in run.epochs] == out["history"]
    assert (
        run.test_mae == out["scores"]["test"]["mae_riders"]
        and run.valid_naive_mae == out["scores"]["valid"]["naive_mae_riders"]
    )
    assert run.checkpoint == db_path().parent / "checkpoints" / f"{run_id}.pt" and run.checkpoint.is_file()
    assert out["run"]["checkpoint"] == str(run.checkpoint)


def test_no_record_and_runs_db_option(capsys, csv_path, tmp_path):
    out = train_json(capsys, csv_path, 1, "--no-record")
    assert out["run"] is None and not db_path().exists()
    other = tmp_path / "elsewhere" / "my.db"
    out = train_json(capsys, csv_path, 1, "--runs-db", str(other))
    assert out["run"]["db"] == str(other) and not db_path().exists()
    assert (other.parent / "checkpoints" / f"{out['run']['run_id']}.pt").is_file()
    code, listed = run_json(capsys, ["runs", "list", "--json", "--runs-db", str(other)])
    assert code == 0 and [r["run_id"] for r in listed] == [out["run"]["run_id"]]


def test_list_show_export_diff_delete(capsys, csv_path, tmp_path):
    a = train_json(capsys, csv_path, 2)["run"]["run_id"]
    b = train_json(capsys, csv_path, 2, "--lr", "0.02", "--seed", "7")["run"]["run_id"]

    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["id", "name", "status", "started", "epochs"]
    assert lines[1].split()[:3] == [str(b), "-", "finished"] and lines[2].split()[:3] == [str(a), "-", "finished"]

    assert main(["runs", "show", str(a)]) == 0
    out = capsys.readouterr().out
    assert f"run {a}: finished" in out and "Epoch 2/2, train loss" in out and csv_path.name in out

    assert main(["runs", "diff", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["lr"] == ["0.05", "0.02"] and rows["seed"] == ["42", "7"]
    assert {"epochs", "window_length"}.isdisjoint(rows)  # settings that agree are not shown
    assert "test/naive" in rows  # the results, beside the settings

    assert main(["runs", "export", str(a)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert main(["runs", "export", str(a), "-o", str(tmp_path / "a.json")]) == 0
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["run_id"] == a and len(record["epochs"]) == 2 and record["config"]["lr"] == 0.05

    checkpoint = db_path().parent / "checkpoints" / f"{a}.pt"
    assert main(["runs", "delete", str(a)]) == 0
    assert f"deleted run {a}" in capsys.readouterr().out and not checkpoint.exists()
    assert main(["runs", "show", str(a)]) == 2
    assert f"run {a} not found" in capsys.readouterr().err


def test_cli_resume_equals_straight_training(capsys, csv_path):
    first = train_json(capsys, csv_path, 3)["run"]["run_id"]
    code, resumed = run_json(capsys, ["runs", "resume", str(first), "--more", "3", "--json"])
    assert code == 0 and resumed["run"]["parent_id"] == first and resumed["epochs"] == 6
    straight = train_json(capsys, csv_path, 6)
    keys = ("train_loss", "train_mae_riders", "valid_mae_riders", "lr", "best_valid_mae_riders")
    diff = max(abs(x[k] - y[k]) for x, y in zip(resumed["history"], straight["history"]) for k in keys)
    assert diff <= 1e-6 * 1e6  # 1e-6 in the model's millions
    assert abs(resumed["scores"]["test"]["mae_riders"] - straight["scores"]["test"]["mae_riders"]) <= 1e-3
    with RunStore.open() as store:
        child = store.get_run(resumed["run"]["run_id"])
    assert (child.origin, child.parent_id, child.resumed_from_epoch, len(child.epochs)) == ("resume", first, 3, 6)


def test_resume_refuses_other_data_and_damaged_checkpoints(capsys, csv_path, tmp_path):
    run_id = train_json(capsys, csv_path, 1)["run"]["run_id"]
    changed = tmp_path / "changed.csv"
    changed.write_text(csv_path.read_text().replace("\n", "\r\n", 1))  # same rows, another file
    assert main(["runs", "resume", str(run_id), "--more", "1", "--data", str(changed)]) == 2
    err = capsys.readouterr().err
    assert "ridership: error:" in err and f"trained on {csv_path}" in err and "Traceback" not in err

    checkpoint = db_path().parent / "checkpoints" / f"{run_id}.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:-200])  # truncated
    assert main(["runs", "resume", str(run_id), "--more", "1"]) == 2
    err = capsys.readouterr().err
    assert f"run {run_id}: {checkpoint}: not a readable ridership model file" in err and "Traceback" not in err
    assert main(["evaluate", "--data", str(csv_path), "--model", str(checkpoint)]) == 2
    assert str(checkpoint) in capsys.readouterr().err


def _epochs_logged(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


@pytest.mark.slow  # a real process killed mid-run
def test_killed_training_leaves_a_readable_store_and_an_interrupted_run(capsys, csv_path):
    # No checkpoint during the run (the case under test): by default one is written after 10 s, which a
    # loaded machine reached before the third epoch (a race); the hook keeps the state fixed.
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "RIDERSHIP_CHECKPOINT_EVERY_S": "1e9",
    }
    proc = forked_cli.popen(
        ["train", "--data", str(csv_path), *TINY, "--epochs", "100000", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # A wait for a state; the deadline only turns a hang into a failure (at a load of 10, 120 s
        # once passed before the third epoch was logged).
        deadline = time.monotonic() + 600
        while _epochs_logged(db_path()) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the training process logged fewer than 3 epochs in 600 s"
            time.sleep(0.1)
        with RunStore.open() as store:  # a live run is left alone
            [run] = store.list_runs()
            assert run.status == "running" and run.pid == proc.pid
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    with sqlite3.connect(db_path()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with RunStore.open() as store:
        run = store.get_run(run.run_id)
    assert run.status == "interrupted" and f"pid {proc.pid}" in run.reason
    assert len(run.epochs) >= 3 and [e.epoch for e in run.epochs] == list(range(1, len(run.epochs) + 1))
    assert run.checkpoint is None

    assert main(["runs", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == [str(run.run_id), "-", "interrupted"]
    assert main(["runs", "resume", str(run.run_id), "--more", "1"]) == 2
    assert "no checkpoint (interrupted" in capsys.readouterr().err
