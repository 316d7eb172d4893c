"""The command line under trouble: a foreign or damaged run store, a full disk, a locked or
unwritable checkpoints folder, Ctrl+C and SIGTERM, a closed pipe, contradictory options, diverging
training and broken model files. Each ends in one clear line (or a note) and the right exit code,
never a traceback, and never loses a run that finished."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import forked_cli
import pytest
import torch
from support import SMALL_FIRST, SMALL_LAST, csv_rows, small_args, write_csv

from cli.main import main
from engine.data.synthetic import synthetic_frame

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    return write_csv(
        tmp_path_factory.mktemp("data") / "ridership.csv", csv_rows(synthetic_frame(SMALL_FIRST, SMALL_LAST))
    )


@pytest.fixture(scope="module")
def model_file(csv_file, tmp_path_factory) -> Path:
    """One small model for every test that only reads one (trained once, not recorded)."""
    path = tmp_path_factory.mktemp("model") / "m.pt"
    assert main(["train", "--data", str(csv_file), *small_args(), "--quiet", "--no-record", "--save", str(path)]) == 0
    return path


def db_path() -> Path:
    return Path(os.environ["RIDERSHIP_HOME"]) / "runs.db"


def runs_json(capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["runs", "list", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# -- the run store -------------------------------------------------------------------------------


def test_a_foreign_sqlite_file_as_runs_db_is_refused_and_unchanged(tmp_path, csv_file, capsys):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (number INTEGER, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = other.read_bytes()
    for argv in (
        ["runs", "list", "--runs-db", str(other)],
        ["train", "--data", str(csv_file), *small_args(), "--quiet", "--runs-db", str(other)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{other}: not a ridership runs database" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert other.read_bytes() == before


def test_runs_list_skips_a_damaged_row_and_names_it(csv_file, capsys):
    for _ in range(3):
        assert main(["train", "--data", str(csv_file), *small_args(), "--quiet"]) == 0
    with sqlite3.connect(db_path()) as conn:
        conn.execute("UPDATE runs SET config = '{not json' WHERE id = 2")
    capsys.readouterr()
    assert main(["runs", "list"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()[1:3]] == ["3", "1"]
    assert "(2 runs in" in captured.out
    [line] = captured.err.strip().splitlines()
    assert line.startswith("note: skipped run 2 ") and "damaged" in line
    assert [r["run_id"] for r in runs_json(capsys)] == [3, 1]


# -- model files ---------------------------------------------------------------------------------


def _edited(model_file: Path, tmp_path: Path, edit) -> Path:
    payload = torch.load(model_file, weights_only=True)
    edit(payload)
    path = tmp_path / "edited.pt"
    torch.save(payload, path)
    return path


def test_evaluate_a_model_without_weights_epoch_says_so_plainly(model_file, csv_file, tmp_path, capsys):
    path = _edited(model_file, tmp_path, lambda p: p.pop("weights_epoch"))
    assert main(["evaluate", "--data", str(csv_file), "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "weights of an unknown epoch" in out.splitlines()[0]


def test_evaluate_refuses_nan_weights_in_one_line(model_file, csv_file, tmp_path, capsys):
    def poison(payload):
        payload["state_dict"]["output.weight"][0, 0] = float("nan")

    path = _edited(model_file, tmp_path, poison)
    for command in ("evaluate", "forecast"):
        assert main([command, "--data", str(csv_file), "--model", str(path)]) == 2
        err = capsys.readouterr().err
        assert "output.weight" in err and "not finite" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_override_twice_for_one_date_with_different_types_is_refused(model_file, csv_file, capsys):
    # the data ends 2018-10-31: the forecast days are 2018-11-01..03
    argv = ["forecast", "--data", str(csv_file), "--model", str(model_file), "--days", "3"]
    assert main([*argv, "--override", "2018-11-02=U", "--override", "2018-11-02=A"]) == 2
    err = capsys.readouterr().err
    assert "--override gives 2018-11-02 two day types: U and A" in err and "Traceback" not in err
    assert main([*argv, "--override", "2018-11-02=U", "--override", "2018-11-02=U"]) == 0  # the same twice: fine


# -- training that goes wrong ----------------------------------------------------------------------


def test_a_huge_learning_rate_fails_the_run_and_saves_no_model(csv_file, tmp_path, capsys):
    saved = tmp_path / "diverged.pt"
    assert main(["train", "--data", str(csv_file), *small_args(), "--lr", "5e35", "--save", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "diverged" in out and "Best epoch: 0" not in out
    assert not saved.exists()
    [run] = runs_json(capsys)
    assert run["status"] == "failed"


def _failing_replace(monkeypatch, fails):
    """os.replace raises "No space left on device" for targets where ``fails(target)`` holds."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if fails(Path(dst)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_disk_full_on_save_is_one_line_exit_2_and_the_run_is_kept(csv_file, tmp_path, monkeypatch, capsys):
    target = tmp_path / "out" / "model.pt"
    _failing_replace(monkeypatch, lambda dst: dst == target)
    assert main(["train", "--data", str(csv_file), *small_args(), "--quiet", "--save", str(target)]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("ridership: error:") and str(target) in line and "No space left on device" in line
    assert "run 1" in line  # says where the trained model still is
    assert "Test MAE" in captured.out  # the run's scores were still printed
    assert not target.exists() and not list(target.parent.glob(".*.tmp"))
    [run] = runs_json(capsys)
    assert run["status"] == "finished" and run["checkpoint"] and Path(run["checkpoint"]).is_file()


def test_a_checkpoint_that_cannot_be_written_is_a_note_not_a_failure(csv_file, tmp_path, monkeypatch, capsys):
    folder = db_path().parent / "checkpoints"
    _failing_replace(monkeypatch, lambda dst: dst.parent == folder)
    saved = tmp_path / "elsewhere" / "model.pt"
    assert main(["train", "--data", str(csv_file), *small_args(), "--quiet", "--save", str(saved)]) == 0
    captured = capsys.readouterr()
    assert saved.is_file()
    assert "note:" in captured.err and "checkpoint could not be written" in captured.err
    assert "No space left on device" in captured.err and "Traceback" not in captured.err
    [run] = runs_json(capsys)
    assert run["status"] == "finished" and run["checkpoint"] is None


# -- signals and pipes (real processes) ----------------------------------------------------------------


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_train_stops_and_records_the_run(csv_file, capsys, signum):
    proc = forked_cli.popen(
        ["train", "--data", str(csv_file), *small_args(), "--epochs", "100000"],
        env=_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 600  # only turns a hang into a failure (a loaded machine is slow)
        while True:
            line = proc.stdout.readline()
            assert line, f"train ended before its first epoch: {proc.stderr.read()}"
            if line.startswith("Epoch 1/"):
                break
            assert time.monotonic() < deadline
        proc.send_signal(signum)
        # A state, not a time: the process ends (the timeout only turns a hang into a failure; a
        # loaded machine once took over 30 s), and the run is "stopped" after a few of its 100,000
        # epochs (asserted below), so the signal, not the end of training, ended it.
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err  # a run that did not finish
    assert f"{signal.Signals(signum).name} received" in err and "Traceback" not in err
    assert "run stopped" in out and "recorded as run 1" in out
    [run] = runs_json(capsys)
    assert run["status"] == "stopped" and 1 <= run["epochs_done"] < 100_000
    assert run["checkpoint"] and Path(run["checkpoint"]).is_file()
    assert main(["runs", "resume", "1", "--more", "1", "--quiet"]) in (0, 1)
    runs = runs_json(capsys)
    assert [r["run_id"] for r in runs] == [2, 1] and runs[0]["parent_id"] == 1 and runs[0]["origin"] == "resume"
    assert runs[0]["status"] in ("finished", "stopped")


@pytest.mark.slow
def test_a_reader_that_leaves_early_gets_no_traceback(csv_file):
    proc = forked_cli.popen(
        ["data", "--data", str(csv_file)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == ""
