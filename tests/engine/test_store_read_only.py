"""A runs database this process may not write is opened read-only: its runs still list."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from engine.store import RunStore, RunStoreError


def _make_store(tmp_path):
    db = tmp_path / "runs" / "runs.db"
    RunStore.open(db).close()
    return db


def test_a_database_that_cannot_be_written_is_opened_read_only(tmp_path, monkeypatch):
    db = _make_store(tmp_path)
    real_access = os.access
    # As root, chmod does not stop writes: say what a read-only folder says to any other user.
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode == os.W_OK else real_access(p, mode, **kw))
    store = RunStore.open(db)
    try:
        assert store.read_only
        assert store.list_runs() == []
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store._conn.execute("CREATE TABLE probe (a)")  # the connection itself refuses writes
    finally:
        store.close()


def test_a_writable_database_is_not_read_only(tmp_path):
    db = _make_store(tmp_path)
    with RunStore.open(db) as store:
        assert not store.read_only


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes read-only folders")
def test_a_read_only_folder_still_lists_runs(tmp_path):
    db = _make_store(tmp_path)
    folder = db.parent
    os.chmod(db, stat.S_IRUSR)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        with RunStore.open(db) as store:
            assert store.read_only
            assert store.list_runs() == []
    finally:
        os.chmod(folder, stat.S_IRWXU)
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)


def test_a_locked_database_says_so_within_the_timeout(tmp_path):
    db = _make_store(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RunStoreError, match="locked"):
            RunStore.open(db, timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with RunStore.open(db, timeout=0.2) as store:
        assert not store.read_only
