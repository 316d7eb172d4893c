"""The run store holds riders (schema version 4): a store written before, with the best validation MAE
and the epochs' MAE in millions, opens, is migrated once and reads the same riders as before."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support import SMALL, ridership

from engine.data import DataSource, RidershipData
from engine.data.synthetic import synthetic_frame
from engine.events import EpochEvent
from engine.store import RunStore
from engine.store.schema import MIGRATIONS, SCHEMA_VERSION

# A version-3 run as the program of that time wrote it: MAE in the model's unit (millions of riders).
OLD_EPOCHS = [(1, 0.05, 0.04, 0.031, 0.031), (2, 0.03, 0.035, 0.029, 0.029)]  # epoch, loss, train, valid, best


def old_store(path: Path) -> Path:
    """A runs database at schema version 3, built with that version's own migrations and values."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:3]:
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO runs (id, config, epochs_planned, data_source, device, host, pid, started_at, heartbeat_at, "
        "ended_at, status, best_epoch, best_valid_mae, weights_epoch, valid_mae, valid_naive_mae, test_mae, "
        "test_naive_mae, scores) VALUES (1, ?, 2, 'synthetic', 'cpu', 'h', 1, '2024-01-01T00:00:00', "
        "'2024-01-01T00:00:01', '2024-01-01T00:00:01', 'finished', 2, 0.029, 2, 29000.0, 31000.0, 40000.0, "
        "32000.0, ?)",
        (
            json.dumps(SMALL.replace(epochs=2).to_dict()),
            json.dumps(
                {
                    "valid": {"mae": 29000.0, "naive_mae": 31000.0, "ratio": 29 / 31},
                    "test": {"mae": 40000.0, "naive_mae": 32000.0, "ratio": 40 / 32},
                }
            ),
        ),
    )
    for epoch, loss, train, valid, best in OLD_EPOCHS:
        conn.execute(
            "INSERT INTO epochs VALUES (1, ?, 2, ?, ?, ?, 0.05, 0.5, ?, ?)", (epoch, loss, train, valid, epoch, best)
        )
    conn.execute("INSERT INTO epochs VALUES (1, 3, 2, 0.02, 0.02, NULL, 0.05, 0.5, 2, 0.029)")  # a diverged pass
    conn.close()
    return path


def test_an_old_store_opens_and_reads_the_same_riders(tmp_path):
    db = old_store(tmp_path / "runs.db")
    with RunStore.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION >= 4  # 4: riders; later migrations may follow
        run = store.get_run(1)
    assert run.best_valid_mae == pytest.approx(29_000)  # was 0.029 million, read as riders by the old code too
    assert (run.valid_mae, run.test_mae) == (29_000.0, 40_000.0)  # already riders: unchanged
    rows = [e.riders_dict() for e in run.epochs]
    assert [r["valid_mae_riders"] for r in rows[:2]] == pytest.approx([31_000, 29_000])
    assert [r["train_mae_riders"] for r in rows[:2]] == pytest.approx([40_000, 35_000])
    assert rows[2]["valid_mae_riders"] != rows[2]["valid_mae_riders"]  # NULL (NaN) stays NaN
    assert [e.train_loss for e in run.epochs[:2]] == [0.05, 0.03]  # the loss keeps its own unit
    # the article's own per-epoch line still prints millions
    assert run.epochs[0].article_line() == "Epoch 1/2, train loss: 0.0500, train metric: 0.0400, valid metric: 0.0310"
    raw = sqlite3.connect(db)
    try:  # on disk: riders now, and migrated once (opening again changes nothing)
        assert raw.execute("SELECT best_valid_mae FROM runs").fetchone()[0] == pytest.approx(29_000)
        assert raw.execute("SELECT valid_mae FROM epochs WHERE epoch = 1").fetchone()[0] == pytest.approx(31_000)
    finally:
        raw.close()
    with RunStore.open(db) as store:
        assert store.get_run(1).best_valid_mae == pytest.approx(29_000)


def test_the_cli_reads_an_old_store_as_before(tmp_path):
    db = old_store(tmp_path / "runs.db")
    out = ridership("runs", "show", "1", "--json", "--runs-db", db)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)
    assert run["best_valid_mae_riders"] == pytest.approx(29_000)
    assert [e["valid_mae_riders"] for e in run["epochs"][:2]] == pytest.approx([31_000, 29_000])


def test_a_new_store_writes_riders(tmp_path):
    data = RidershipData(synthetic_frame("2017-12-01", "2018-10-31"), DataSource("synthetic", None), (), "")
    with RunStore.open(tmp_path / "runs.db") as store:
        run_id = store.start_run(SMALL, data, "cpu", torch_version="x")
        store.log_epoch(run_id, EpochEvent(1, 2, 0.05, 0.04, 0.031, 0.05, 0.5, 1, 0.031))
        store.finish_run(run_id, "finished", "done", best_epoch=1, best_valid_mae=31_000.0, weights_epoch=1)
        run = store.get_run(run_id)
    assert run.best_valid_mae == 31_000.0 and run.epochs[0].valid_mae == pytest.approx(0.031)
    raw = sqlite3.connect(tmp_path / "runs.db")
    try:
        assert raw.execute("SELECT train_mae, valid_mae, best_valid_mae FROM epochs").fetchone() == pytest.approx(
            (40_000, 31_000, 31_000)
        )
        assert raw.execute("SELECT best_valid_mae FROM runs").fetchone()[0] == 31_000.0
    finally:
        raw.close()
