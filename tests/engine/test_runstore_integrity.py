"""The run store's integrity: it stays inside its folder and refuses nonsense (checkpoint paths from
the database are confined to <home>/checkpoints, stale temporaries are tidied, settings have sane
bounds); it never changes a database that is not its own, a damaged row costs that row only, and a
store locked for longer than the busy timeout delays the record of a run without losing any of it."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from support import SMALL

from cli.main import main
from engine.config import TrainConfig
from engine.data.sources import synthetic
from engine.errors import ConfigError
from engine.store import RunStore
from engine.store import runstore as runstore_module
from engine.store.paths import CHECKPOINT_DIR
from engine.store.runstore import RunStoreError


def _run_with_checkpoint(store, data_path):
    from engine.data.sources import load_path
    from engine.session import start_run

    return start_run(SMALL, load_path(data_path, "path"), store=store)


@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_delete_never_touches_a_file_outside_the_store(synthetic_csv, tmp_path, where):
    victim = tmp_path / "precious.pt"
    victim.write_text("keep me")
    db = tmp_path / "home" / "runs.db"
    with RunStore.open(db) as store:
        run = _run_with_checkpoint(store, synthetic_csv())
    named = str(victim) if where == "absolute" else "../precious.pt"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET checkpoint = ? WHERE id = ?", (named, run.run_id))
    with RunStore.open(db) as store:
        assert store.get_run(run.run_id).checkpoint is None  # not ours: no checkpoint at all
        store.delete_run(run.run_id)
    assert victim.read_text() == "keep me"


def test_a_checkpoint_inside_the_store_is_still_found_and_deleted(synthetic_csv, tmp_path):
    db = tmp_path / "home" / "runs.db"
    with RunStore.open(db) as store:
        run = _run_with_checkpoint(store, synthetic_csv())
        assert store.get_run(run.run_id).checkpoint == run.checkpoint.resolve()
        store.delete_run(run.run_id)
    assert not run.checkpoint.exists()


def test_stale_temporaries_are_removed_when_the_store_opens(tmp_path):
    folder = tmp_path / "home" / CHECKPOINT_DIR
    folder.mkdir(parents=True)
    stale, fresh = folder / ".3.pt.0123456789ab.tmp", folder / ".4.pt.ba9876543210.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    RunStore.open(tmp_path / "home" / "runs.db").close()
    assert not stale.exists() and fresh.exists()


def test_runs_list_limit_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list", "--limit", "0"])
    assert exit_.value.code == 2
    assert "--limit" in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes, field", [({"seed": 2**70}, "seed"), ({"seed": -1}, "seed"), ({"epochs": 10**12}, "epochs")]
)
def test_huge_settings_are_refused_by_name(changes, field):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes).validate()
    assert err.value.field == field


def test_huge_seed_on_the_command_line_is_one_line(synthetic_csv, capsys):
    assert main(["train", "--data", str(synthetic_csv()), "--seed", str(2**70), "--no-record"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ridership: error: seed:") and len(err.strip().splitlines()) == 1


# -- a database that is not ours, damaged rows, a store locked for long ------------------------------


def _foreign(path: Path, *statements: str) -> bytes:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "statements, says",
    [
        (
            ("CREATE TABLE contacts (name TEXT, phone TEXT)", "INSERT INTO contacts VALUES ('Ann', '555')"),
            "not a ridership runs database",
        ),
        (("CREATE TABLE contacts (name TEXT)", "PRAGMA user_version = 1"), "not a ridership runs database"),
        (("CREATE TABLE runs (x TEXT)", "PRAGMA user_version = 7"), "schema version 7"),
    ],
    ids=["unrelated-tables", "our-version-without-runs", "newer-version"],
)
def test_a_foreign_sqlite_file_is_refused_and_left_byte_identical(tmp_path, statements, says):
    path = tmp_path / "other.sqlite"
    before = _foreign(path, *statements)
    with pytest.raises(RunStoreError, match=says) as info:
        RunStore.open(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert path.read_bytes() == before  # journal mode, tables and version untouched
    assert not Path(f"{path}-wal").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_an_empty_sqlite_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.sqlite"
    _foreign(path)  # a database with no tables and user_version 0: new
    with RunStore.open(path) as store:
        assert store.list_runs() == []


def _three_runs(db: Path) -> None:
    data = synthetic()
    with RunStore.open(db) as store:
        for _ in range(3):
            run_id = store.start_run(SMALL, data, "cpu", torch_version="2.x (test)")
            store.finish_run(run_id, "finished", "done", best_epoch=1, best_valid_mae=30_000.0, weights_epoch=1)


def _unconstrained(conn: sqlite3.Connection, column: str) -> None:
    """Drop a NOT NULL from the runs table (a file edited by hand, or written by something else)."""
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'runs'",
        (f"{column} TEXT NOT NULL", f"{column} TEXT"),
    )
    conn.execute("PRAGMA writable_schema = OFF")


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE runs SET config = 'not json {' WHERE id = 2",
        "UPDATE runs SET best_valid_mae = 'lots' WHERE id = 2",
        "UPDATE runs SET config = NULL WHERE id = 2",
        "UPDATE runs SET started_at = NULL WHERE id = 2",
    ],
    ids=["config-not-json", "text-in-a-number", "null-config", "null-start-time"],
)
def test_a_damaged_row_is_skipped_and_named(tmp_path, damage):
    db = tmp_path / "runs.db"
    _three_runs(db)
    conn = sqlite3.connect(db, isolation_level=None)
    if "NULL" in damage:
        _unconstrained(conn, damage.split()[3])
        conn.close()
        conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(damage)
    conn.close()
    notes = []
    with RunStore.open(db) as store:
        runs = store.list_runs(on_damaged=lambda run_id, why: notes.append((run_id, why)))
        assert [r.run_id for r in runs] == [3, 1]
        assert [r.run_id for r in store.list_runs()] == [3, 1]  # without a callback: skipped too
        with pytest.raises(RunStoreError, match="run 2"):
            store.get_run(2)
    [(run_id, why)] = notes
    assert run_id == 2 and "\n" not in why and why


def test_a_store_locked_longer_than_the_busy_timeout_keeps_every_epoch(tmp_path, monkeypatch):
    """Another process holds the write lock for three epochs: those epochs wait in the session and
    are written once the lock is released; the run finishes and nothing is missing."""
    from engine.session import start_run

    monkeypatch.setattr(runstore_module, "BUSY_TIMEOUT_MS", 50)
    db = tmp_path / "runs.db"
    config = SMALL.replace(epochs=6)
    other = sqlite3.connect(db, isolation_level=None, timeout=0.05)
    seen = []

    def on_epoch(event):
        seen.append(event.epoch)
        if event.epoch == 1:
            other.execute("BEGIN EXCLUSIVE")
        elif event.epoch == 4:
            with sqlite3.connect(db, timeout=0) as probe:  # still locked: epochs 2..4 are pending
                assert probe.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] == 1
            other.execute("COMMIT")

    with RunStore.open(db) as store:
        run = start_run(config, synthetic(), store=store, on_epoch=on_epoch)
        assert seen == [1, 2, 3, 4, 5, 6]
        assert run.status == "finished"
        assert any("kept and written" in w for w in run.warnings)
        record = store.get_run(run.run_id)
    other.close()
    assert record.status == "finished"
    assert [e.epoch for e in record.epochs] == [1, 2, 3, 4, 5, 6]
    assert record.checkpoint is not None and record.checkpoint.is_file()
