"""The run store (engine/store/runstore.py) and run checkpoints (engine/store/checkpoint.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import TINY_2016, fit

from engine.data import DataSource, RidershipData
from engine.data.synthetic import synthetic_frame
from engine.errors import DataError, ModelFileError
from engine.session import resume_run, start_run
from engine.store import RunStore, RunStoreError, default_db_path
from engine.store.checkpoint import load_checkpoint, save_checkpoint
from engine.store.export import export_run, history_csv, history_json
from engine.store.modelfile import save_model
from engine.store.schema import SCHEMA_VERSION

TINY = TINY_2016


def small_data(fingerprint: str = "ab" * 32, path: str = "/data/cta.csv") -> RidershipData:
    return RidershipData(synthetic_frame("2015-11-01", "2016-09-30"), DataSource("path", path), (), fingerprint)


def event(epoch: int, epochs: int = 3) -> dict:
    return {
        "epoch": epoch,
        "epochs": epochs,
        "train_loss": 0.1 / epoch,
        "train_mae": 0.2 / epoch,
        "valid_mae": 0.3 / epoch,
        "lr": 0.05,
        "seconds": 0.01,
        "best_epoch": epoch,
        "best_valid_mae": 0.3 / epoch,
    }


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_db_path_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / "runs.db"
    monkeypatch.setenv("RIDERSHIP_RUNS_DB", str(tmp_path / "other.db"))
    assert default_db_path() == tmp_path / "other.db"
    assert default_db_path(tmp_path / "given.db") == tmp_path / "given.db"


def test_record_and_read_back(tmp_path):
    data = small_data()
    with RunStore.open(tmp_path / "runs.db") as store:
        assert store.schema_version == SCHEMA_VERSION
        run_id = store.start_run(TINY.replace(epochs=3), data, "cpu", device_name="test cpu", torch_version="9.9")
        assert store.get_run(run_id).status == "running"
        for epoch in (1, 2, 3):
            store.log_epoch(run_id, event(epoch))
        store.finish_run(
            run_id,
            "finished",
            "completed 3 epochs",
            best_epoch=3,
            best_valid_mae=100_000.0,
            weights_epoch=3,
            scores={"valid": {"mae": 1000.0, "naive_mae": 900.0}, "test": {"mae": 2000.0, "naive_mae": 1500.0}},
            checkpoint=store.checkpoint_path(run_id),
        )
    with RunStore.open(tmp_path / "runs.db") as store:  # a fresh connection sees it all
        run = store.get_run(run_id)
        assert (run.status, run.reason, run.origin, run.parent_id) == ("finished", "completed 3 epochs", "new", None)
        assert run.config == TINY.replace(epochs=3)
        assert store.get_config(run_id) == TINY.replace(epochs=3)
        assert (run.data_source, run.data_path, run.data_fingerprint) == ("path", "/data/cta.csv", "ab" * 32)
        assert (run.data_rows, run.data_first, run.data_last) == (len(data.frame), "2015-11-01", "2016-09-30")
        assert (run.device, run.device_name, run.torch_version) == ("cpu", "test cpu", "9.9")
        assert [e.epoch for e in run.epochs] == [1, 2, 3]
        assert run.epochs[1].valid_mae == pytest.approx(0.15)
        assert (run.valid_mae, run.valid_naive_mae, run.test_mae, run.test_naive_mae) == (1000.0, 900.0, 2000.0, 1500.0)
        assert run.checkpoint == tmp_path / "checkpoints" / f"{run_id}.pt"
        assert run.started_at <= run.ended_at
        [listed] = store.list_runs()
        assert listed.run_id == run_id and listed.epochs_done == 3 and listed.epochs == ()


def test_fork_parent_and_config_diff(tmp_path):
    data = small_data()
    with RunStore.open(tmp_path / "runs.db") as store:
        first = store.start_run(TINY, data, "cpu", torch_version="x")
        child = store.start_run(
            TINY.replace(lr=0.01, hidden_size=16), data, "cpu", parent_id=first, origin="fork", torch_version="x"
        )
        assert store.get_run(child).parent_id == first
        assert [r.run_id for r in store.children(first)] == [child]
        assert store.config_diff([first, child]) == {"hidden_size": [8, 16], "lr": [0.05, 0.01]}
        assert store.config_diff([first, first]) == {}
        with pytest.raises(RunStoreError, match="run 99 not found"):
            store.start_run(TINY, data, "cpu", parent_id=99, torch_version="x")
        with pytest.raises(RunStoreError, match="run 99 not found"):
            store.get_run(99)


def test_dead_process_runs_are_interrupted_on_open_live_ones_are_not(tmp_path):
    data = small_data()
    with RunStore.open(tmp_path / "runs.db") as store:
        mine = store.start_run(TINY, data, "cpu", torch_version="x")
        gone = store.start_run(TINY, data, "cpu", torch_version="x")
        store.log_epoch(gone, event(1))
    pid = dead_pid()
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("UPDATE runs SET pid = ?, process_token = 'boot:1' WHERE id = ?", (pid, gone))
    with RunStore.open(tmp_path / "runs.db") as store:
        assert store.get_run(mine).status == "running"  # this process is alive
        run = store.get_run(gone)
        assert run.status == "interrupted"
        assert f"pid {pid}" in run.reason and "1 epoch recorded" in run.reason
        assert len(run.epochs) == 1 and run.ended_at is not None


def test_pid_reused_by_another_process_is_still_stale(tmp_path):
    """Same pid (ours), different start time: the recorded process is gone."""
    if not Path(f"/proc/{os.getpid()}/stat").exists():
        pytest.skip("needs /proc to tell processes with the same pid apart")
    with RunStore.open(tmp_path / "runs.db") as store:
        run_id = store.start_run(TINY, small_data(), "cpu", torch_version="x")
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        conn.execute("UPDATE runs SET process_token = 'another-boot:123' WHERE id = ?", (run_id,))
    with RunStore.open(tmp_path / "runs.db") as store:
        assert store.get_run(run_id).status == "interrupted"


def test_delete_run_removes_checkpoint_and_keeps_children(tmp_path):
    data = small_data()
    with RunStore.open(tmp_path / "runs.db") as store:
        parent = store.start_run(TINY, data, "cpu", torch_version="x")
        store.log_epoch(parent, event(1))
        ckpt = store.checkpoint_path(parent)
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(b"weights")
        store.finish_run(parent, "finished", checkpoint=ckpt)
        child = store.start_run(TINY, data, "cpu", parent_id=parent, origin="fork", torch_version="x")
        with pytest.raises(RunStoreError, match="still running"):
            store.delete_run(child)  # its process (this one) is alive
        store.finish_run(child, "stopped", "stopped by the user")
        store.delete_run(parent)
        assert not ckpt.exists()
        assert [r.run_id for r in store.list_runs()] == [child]
        assert store.get_run(child).parent_id is None
        assert store.epochs(parent) == ()
        with pytest.raises(RunStoreError, match="not found"):
            store.delete_run(parent)
        assert store.start_run(TINY, data, "cpu", torch_version="x") > child  # ids are never reused


def test_export_csv_and_json(tmp_path):
    with RunStore.open(tmp_path / "runs.db") as store:
        run_id = store.start_run(TINY.replace(epochs=3), small_data(), "cpu", torch_version="x")
        for epoch in (1, 2):
            store.log_epoch(run_id, event(epoch))
        store.finish_run(run_id, "stopped", "stopped by the user during epoch 3", best_valid_mae=float("inf"))
        run = store.get_run(run_id)
    rows = list(csv.DictReader(io.StringIO(history_csv(run))))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["train_loss"]) == 0.1 / 2
    record = json.loads(history_json(run))
    assert record["run_id"] == run_id and record["status"] == "stopped" and record["config"]["epochs"] == 3
    assert record["best_valid_mae_riders"] is None  # infinity is not JSON
    assert [e["valid_mae_riders"] for e in record["epochs"]] == pytest.approx([300000.0, 150000.0])
    assert json.loads(export_run(run, tmp_path / "out" / "run.json").read_text()) == record
    assert export_run(run, tmp_path / "run.csv").read_text() == history_csv(run)
    with pytest.raises(RunStoreError, match="export format"):
        export_run(run, tmp_path / "run.txt")


def test_newer_schema_and_foreign_files_are_clear_errors(tmp_path):
    db = tmp_path / "runs.db"
    RunStore.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RunStoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        RunStore.open(db)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(RunStoreError, match="junk.db: not a usable runs database"):
        RunStore.open(junk)
    with pytest.raises(RunStoreError, match="is a folder"):
        RunStore.open(tmp_path)


WRITER = textwrap.dedent("""
    import sys
    import time
    from pathlib import Path
    from engine.config import TrainConfig
    from engine.data import DataSource, RidershipData
    from engine.store import RunStore
    from engine.data.synthetic import synthetic_frame

    db, tag = sys.argv[1], sys.argv[2]
    data = RidershipData(synthetic_frame("2016-01-01", "2016-01-31"), DataSource("synthetic"))
    store = RunStore.open(db)
    Path(db + f".ready{tag}").touch()  # start writing together, not one after the other
    deadline = time.monotonic() + 60
    while not all(Path(db + f".ready{t}").exists() for t in "12") and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(4):
        run_id = store.start_run(TrainConfig(epochs=30, seed=int(tag) * 100 + n), data, "cpu", torch_version=tag)
        for epoch in range(1, 31):
            store.log_epoch(run_id, dict(epoch=epoch, epochs=30, train_loss=1.0, train_mae=1.0, valid_mae=1.0,
                                         lr=0.05, seconds=0.0, best_epoch=epoch, best_valid_mae=1.0))
        store.finish_run(run_id, "finished", "done")
    store.close()
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "runs.db"
    RunStore.open(db).close()  # both writers find the schema in place
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag], env=env, stderr=subprocess.PIPE)
        for tag in ("1", "2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    with RunStore.open(db) as store:
        runs = store.list_runs()
        assert len(runs) == 8
        assert sorted(r.config.seed for r in runs) == [100, 101, 102, 103, 200, 201, 202, 203]
        assert all(r.status == "finished" and r.epochs_done == 30 for r in runs)
        assert sum(len(store.epochs(r.run_id)) for r in runs) == 240
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- checkpoints ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    data = small_data()
    return data, fit(TINY, data)


def test_checkpoint_round_trip(tmp_path, trained):
    data, result = trained
    path = save_checkpoint(tmp_path / "c.pt", result, data, run_id=7)
    ckpt = load_checkpoint(path, data, for_resume=True)
    assert ckpt.run_id == 7 and ckpt.config == TINY and ckpt.epochs_done == 2
    for name, tensor in result.model.state_dict().items():
        assert ckpt.model.state_dict()[name].equal(tensor)
    assert ckpt.resume_state["optimizer"]["state"][0]["momentum_buffer"].shape == next(result.model.parameters()).shape
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_truncated_checkpoint_is_a_clear_error(tmp_path, trained):
    data, result = trained
    path = save_checkpoint(tmp_path / "c.pt", result, data)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"c\.pt: not a readable ridership model file"):
        load_checkpoint(path, data)
    with pytest.raises(ModelFileError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt", data)


def test_checkpoint_must_fit_the_data(tmp_path, trained):
    data, result = trained
    path = save_checkpoint(tmp_path / "c.pt", result, data)
    other = small_data(fingerprint="cd" * 32, path="/data/other.csv")
    load_checkpoint(path, other)  # evaluating on other data is fine...
    with pytest.raises(ModelFileError, match=r"trained on /data/cta\.csv .*not on /data/other\.csv"):
        load_checkpoint(path, other, for_resume=True)  # ...continuing training on it is not
    short = RidershipData(data.frame.iloc[:10], data.source, (), data.fingerprint)
    with pytest.raises(ModelFileError, match="windows of 14 days; the data has 10 rows"):
        load_checkpoint(path, short)
    plain = save_model(tmp_path / "model.pt", result, data)
    with pytest.raises(ModelFileError, match="not a run's checkpoint"):
        load_checkpoint(plain, data)


def test_stopped_run_resumes_from_its_last_finished_epoch(tmp_path):
    data = small_data()
    calls = iter(range(10_000))
    result = fit(TINY, data, should_stop=lambda: next(calls) >= 9)  # stops during epoch 2
    assert result.status == "stopped" and result.resume_state["epoch"] == 1
    path = save_checkpoint(tmp_path / "c.pt", result, data)
    assert load_checkpoint(path, data).epochs_done == 1
    state = load_checkpoint(path, data, for_resume=True).resume_state
    straight = fit(TINY, data)
    resumed = fit(TINY, data, resume=state)  # epoch 2 again, from the end of epoch 1
    assert [e.valid_mae for e in resumed.history] == [e.valid_mae for e in straight.history]


def test_a_checkpoint_without_training_state_is_refused_for_resume(tmp_path):
    data = small_data()
    result = fit(TINY, data, should_stop=lambda: True)  # no epoch finished: nothing to resume from
    assert result.resume_state is None
    result.weights_epoch, result.best_epoch = 1, 1  # pretend, so the file is written
    path = save_checkpoint(tmp_path / "c.pt", result, data)
    with pytest.raises(ModelFileError, match="cannot be resumed.*fork it instead"):
        load_checkpoint(path, data, for_resume=True)


def test_recorded_training_and_resume_refusals(tmp_path):
    data = small_data()
    seen = []
    with RunStore.open(tmp_path / "runs.db") as store:
        done = start_run(TINY, data, store=store, on_epoch=seen.append)
        run = store.get_run(done.run_id)
        assert [e.epoch for e in seen] == [1, 2] and list(run.epochs) == seen
        assert run.status == "finished" and run.checkpoint == done.checkpoint and done.checkpoint.is_file()
        assert run.test_mae == pytest.approx(done.scores["test"].mae)
        assert run.weights_epoch == 2 and run.best_epoch == done.best_epoch

        stopped = start_run(TINY, data, store=store, should_stop=lambda: True)
        assert store.get_run(stopped.run_id).status == "stopped" and stopped.checkpoint is None
        with pytest.raises(RunStoreError, match="no checkpoint"):
            resume_run(store, stopped.run_id, 2, data)

        done.checkpoint.write_bytes(done.checkpoint.read_bytes()[:100])
        with pytest.raises(ModelFileError, match=f"run {done.run_id}: .*not a readable ridership model file"):
            resume_run(store, done.run_id, 2, data)

        with pytest.raises(DataError, match="has no rows"):
            start_run(
                TINY.replace(
                    train_start="2030-01",
                    train_end="2030-02",
                    valid_start="2030-03",
                    valid_end="2030-04",
                    test_start="2030-05",
                    test_end="",
                ),
                data,
                store=store,
            )
        assert len(store.list_runs()) == 2  # the split error came before the run started
