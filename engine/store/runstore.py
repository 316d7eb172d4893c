"""The run store's records and queries: every run, its settings, per-epoch metrics, scores and checkpoint.

One SQLite file (stdlib ``sqlite3``) in the user's data directory, shared by the CLI and the app:
- WAL journal + a busy timeout, so several processes can record runs at once and readers never
  block the writer;
- every write is one ``BEGIN IMMEDIATE`` transaction (one per epoch), so a process killed at any
  moment leaves the file consistent: the run keeps the epochs it logged;
- the schema is versioned (``PRAGMA user_version``) and migrated when the store is opened;
- a run left "running" by a process that no longer exists is marked "interrupted" on open.
  Alive means: same host, and a process with the recorded pid whose start time (Linux: boot id +
  start tick from /proc, which survives pid reuse) matches. Rows from other hosts are left alone:
  there is no way to ask another machine.

Checkpoints live next to the database, in ``<home>/checkpoints/<run_id>.pt``.

Nothing here imports torch at module level, so ``ridership runs list`` stays quick.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..domain import millions, riders, unit_named
from ..errors import ConfigError, RidershipError
from ..events import EpochEvent
from .liveness import process_alive, process_token
from .paths import CHECKPOINT_DIR, default_db_path, remove_stale_temporaries
from .schema import MIGRATIONS, SCHEMA_VERSION

STATUSES = ("running", "finished", "stopped", "failed", "interrupted")
BUSY_TIMEOUT_MS = 30_000
EPOCH_FIELDS = ("train_loss", "train_mae", "valid_mae", "lr", "seconds", "best_epoch", "best_valid_mae")
EPOCH_MAE = (
    "train_mae",
    "valid_mae",
    "best_valid_mae",
)  # stored in riders (schema version 4), EpochEvent's in millions


class RunStoreError(RidershipError):
    """The runs database cannot be opened, read or written, or a run does not exist."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One run as stored. ``epochs`` is filled by ``get_run`` only (``list_runs`` leaves it empty).

    Every MAE here is in riders, as the store holds them. ``epochs`` are the training loop's own
    EpochEvent (its article lines print millions; ``riders_dict()`` and its ``*_riders`` properties
    give riders)."""

    run_id: int
    parent_id: int | None
    origin: str
    resumed_from_epoch: int | None
    config_dict: dict[str, Any]
    epochs_planned: int
    epochs_done: int
    data_source: str
    data_path: str | None
    data_fingerprint: str
    data_rows: int | None
    data_first: str | None
    data_last: str | None
    device: str
    device_name: str
    torch_version: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    ended_at: str | None
    status: str
    reason: str
    best_epoch: int | None
    best_valid_mae: float | None
    weights_epoch: int | None
    valid_mae: float | None
    valid_naive_mae: float | None
    test_mae: float | None
    test_naive_mae: float | None
    scores: dict[str, Any] | None
    checkpoint: Path | None
    name: str = ""  # a person's words for the run (`ridership runs label`)
    tags: tuple[str, ...] = ()
    note: str = ""
    epochs: tuple = field(default=(), repr=False)  # EpochEvent, in order

    @property
    def config(self) -> TrainConfig:
        """The run's settings (for a fork: edit them and start a child run)."""
        try:
            return TrainConfig.from_dict(self.config_dict)
        except (ConfigError, TypeError) as exc:
            raise RunStoreError(f"run {self.run_id}: its stored settings no longer load ({exc})") from None

    @property
    def data_label(self) -> str:
        return "synthetic" if self.data_source == "synthetic" else f"{self.data_path} ({self.data_source})"

    def summary(self) -> dict[str, Any]:
        """Everything but the epochs, JSON-ready; MAE fields are named ``..._riders``."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("epochs", "config_dict")}
        out["config"] = self.config_dict
        out["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return unit_named(out)

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "epochs": [e.riders_dict() for e in self.epochs]}


class RunStore:
    """The runs database. Safe to share between threads of one process (one connection, a lock)
    and between processes (SQLite locking). Open with ``RunStore.open(path)``."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._token = process_token(self._pid)
        self.read_only = False  # set by open(): True when opened with sqlite's mode=ro

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path | None = None, *, timeout: float | None = None) -> RunStore:
        """Open (creating if needed) the database, migrate it, and mark runs whose process died
        as interrupted.

        ``timeout``: seconds to wait for another process's lock while opening (default: the busy
        timeout, 30 s); a store still locked then raises RunStoreError saying "database is locked".
        A database (or its folder) this process may not write is opened read-only instead: the
        runs can be listed and read, ``read_only`` is True, and every write raises RunStoreError.
        """
        path = default_db_path(path)
        if path.is_dir():
            raise RunStoreError(f"{path}: is a folder, expected the runs database file")
        writable_folder = os.access(path.parent, os.W_OK) if path.parent.is_dir() else None
        if path.is_file() and (writable_folder is False or not os.access(path, os.W_OK)):
            return cls._open_read_only(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"{path.parent}: cannot create the runs folder ({exc.strerror or exc})") from None
        wait_ms = BUSY_TIMEOUT_MS if timeout is None else max(0, int(timeout * 1000))
        try:
            conn = sqlite3.connect(path, timeout=wait_ms / 1000, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RunStoreError(f"{path}: cannot open the runs database ({exc})") from None
        store = cls(path, conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
            store._check_ours()  # before anything writes: a foreign file must stay byte-identical
            conn.execute("PRAGMA journal_mode = WAL")  # may stay "delete" on filesystems without WAL
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across a process kill
            conn.execute("PRAGMA foreign_keys = ON")
            store._migrate()
            store.mark_stale_runs()
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # writes wait the full time again
            remove_stale_temporaries(store.home / CHECKPOINT_DIR)  # saves a crash cut short
        except (sqlite3.DatabaseError, RunStoreError) as exc:
            conn.close()
            if "readonly" in str(exc) and path.is_file():  # a read-only mount, or another user's file
                return cls._open_read_only(path)
            if isinstance(exc, RunStoreError):
                raise
            raise RunStoreError(f"{path}: not a usable runs database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_read_only(cls, path: Path) -> RunStore:
        """The database opened for reading only (sqlite's mode=ro), for a file or folder this process
        may not write. A schema older or newer than this program's cannot be read this way."""
        from urllib.request import pathname2url

        uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro"

        def connect(uri: str):
            conn = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            try:
                return conn, conn.execute("PRAGMA user_version").fetchone()[0]
            except BaseException:
                conn.close()
                raise

        try:
            try:
                conn, version = connect(uri)
            except sqlite3.OperationalError:
                # A WAL database needs its -shm file, which a read-only folder (a read-only mount)
                # cannot get. With no -wal file every write is in the database file itself, so it
                # can be read as immutable: nothing on this mount can change it.
                wal = path.with_name(path.name + "-wal")
                if wal.exists() and wal.stat().st_size:
                    raise
                conn, version = connect(uri + "&immutable=1")
        except (sqlite3.Error, OSError) as exc:
            raise RunStoreError(f"{path}: cannot open the runs database read-only ({exc})") from None
        if version != SCHEMA_VERSION:
            conn.close()
            raise RunStoreError(
                f"{path}: the runs database (schema version {version}, this program's is "
                f"{SCHEMA_VERSION}) is read-only here, so it cannot be upgraded"
            )
        store = cls(path, conn)
        store.read_only = True
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def home(self) -> Path:
        return self.path.parent

    def checkpoint_path(self, run_id: int) -> Path:
        return self.home / CHECKPOINT_DIR / f"{run_id}.pt"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock up front, so the busy timeout
        applies (a deferred transaction upgrading its lock can fail at once under contention)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise RunStoreError(f"{self.path}: the runs database is busy or read-only ({exc})") from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):  # disk full, locked too long, damaged file...
                    raise RunStoreError(f"{self.path}: cannot write to the runs database ({exc})") from None
                raise

    def _read(self, sql: str, params: Sequence = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def _check_ours(self) -> None:
        """Refuse a database that is not a run store, reading only (no journal mode, no table, no
        version is changed first). Ours: user_version 0 and no tables at all (new), or a version
        this program knows with its ``runs`` and ``epochs`` tables."""
        with self._lock:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in self._conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
        if version == 0 and not tables:
            return
        if version > SCHEMA_VERSION:
            raise RunStoreError(
                f"{self.path}: the runs database has schema version {version}; this program knows "
                f"up to {SCHEMA_VERSION} (written by a newer ridership?)"
            )
        if version == 0 or not {"runs", "epochs"} <= tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise RunStoreError(
                f"{self.path}: not a ridership runs database (schema version {version}, tables: {shown or 'none'}); "
                "left unchanged: pass --runs-db with a new file name or a ridership runs.db"
            )

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunStoreError(
                    f"{self.path}: the runs database has schema version {version}; this program knows "
                    f"up to {SCHEMA_VERSION} (written by a newer ridership?)"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version != SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def mark_stale_runs(self) -> list[int]:
        """Mark "running" runs of this host whose process is gone as interrupted; return their ids."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT id, pid, process_token, heartbeat_at, "
                "(SELECT COUNT(*) FROM epochs WHERE run_id = runs.id) "
                "FROM runs WHERE status = 'running' AND host = ?",
                (self._host,),
            ).fetchall()
            stale = []
            for run_id, pid, token, heartbeat, done in rows:
                if process_alive(pid, token):
                    continue
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?, reason = ? WHERE id = ?",
                    (
                        heartbeat,
                        f"the process (pid {pid}) ended without finishing the run; "
                        f"{done} epoch{'s' if done != 1 else ''} recorded, last sign of life {heartbeat}",
                        run_id,
                    ),
                )
                stale.append(run_id)
        return stale

    # -- writing -------------------------------------------------------------------------

    def start_run(
        self,
        config: TrainConfig,
        data,
        device: str,
        *,
        device_name: str = "",
        parent_id: int | None = None,
        origin: str = "new",
        inherited: Sequence = (),
        torch_version: str | None = None,
    ) -> int:
        """Record a new "running" run and return its id.

        ``data`` is the RidershipData it trains on; ``device`` the resolved device ("cpu",
        "cuda", ...). ``inherited`` are the epochs a resumed run starts from (copied, so the new
        run's history is complete by itself)."""
        if origin not in ("new", "fork", "resume"):
            raise ValueError(f"origin must be new, fork or resume, got {origin!r}")
        if torch_version is None:
            import torch

            torch_version = torch.__version__
        frame = data.frame
        now = _now()
        with self._write() as conn:
            if (
                parent_id is not None
                and conn.execute("SELECT 1 FROM runs WHERE id = ?", (parent_id,)).fetchone() is None
            ):
                raise RunStoreError(f"run {parent_id} not found in {self.path} (the parent of the new run)")
            cur = conn.execute(
                "INSERT INTO runs (parent_id, origin, resumed_from_epoch, config, epochs_planned, data_source, "
                "data_path, data_fingerprint, data_rows, data_first, data_last, device, device_name, "
                "torch_version, host, pid, process_token, started_at, heartbeat_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                (
                    parent_id,
                    origin,
                    len(inherited) if origin == "resume" else None,
                    json.dumps(config.to_dict()),
                    config.epochs,
                    data.source.kind,
                    data.source.path,
                    data.fingerprint or "",
                    len(frame),
                    f"{frame.index[0]:%Y-%m-%d}" if len(frame) else None,
                    f"{frame.index[-1]:%Y-%m-%d}" if len(frame) else None,
                    str(device),
                    device_name,
                    torch_version,
                    self._host,
                    self._pid,
                    self._token,
                    now,
                    now,
                ),
            )
            run_id = cur.lastrowid
            for event in inherited:
                self._insert_epoch(conn, run_id, event, epochs=config.epochs)
        return run_id

    @staticmethod
    def _insert_epoch(conn: sqlite3.Connection, run_id: int, event, epochs: int | None = None) -> None:
        """``event``: an EpochEvent or a dict of its fields (MAE in millions, the loop's unit), stored in riders."""
        field = event.get if isinstance(event, dict) else (lambda k: getattr(event, k))

        def get(key):
            return riders(field(key)) if key in EPOCH_MAE else field(key)

        conn.execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, epochs, train_loss, train_mae, valid_mae, lr, "
            "seconds, best_epoch, best_valid_mae) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                int(get("epoch")),
                int(epochs if epochs is not None else get("epochs")),
                *(float(get(k)) for k in EPOCH_FIELDS[:5]),
                int(get("best_epoch")),
                float(get("best_valid_mae")),
            ),
        )

    def log_epoch(self, run_id: int, event) -> None:
        """Record one finished epoch (an EpochEvent or a dict with its fields) and a heartbeat."""
        self.log_epochs(run_id, [event])

    def log_epochs(self, run_id: int, events) -> None:
        """Record finished epochs in one transaction (a run catching up after the store was busy)."""
        with self._write() as conn:
            for event in events:
                self._insert_epoch(conn, run_id, event)
            cur = conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'", (_now(), run_id))
            if cur.rowcount == 0:
                raise RunStoreError(f"run {run_id} is not a running run in {self.path}")

    def finish_run(
        self,
        run_id: int,
        status: str,
        reason: str = "",
        *,
        scores: dict | None = None,
        checkpoint: str | Path | None = None,
        best_epoch: int | None = None,
        best_valid_mae: float | None = None,
        weights_epoch: int | None = None,
    ) -> None:
        """Close a run: its status (finished, stopped, failed or interrupted), why, its scores
        (SplitScore objects or dicts by split name, in riders), ``best_valid_mae`` in riders and its
        checkpoint file."""
        if status not in STATUSES or status == "running":
            raise ValueError(f"status must be one of {', '.join(STATUSES[1:])}, got {status!r}")
        scores_dict = {k: (v.to_dict() if hasattr(v, "to_dict") else dict(v)) for k, v in (scores or {}).items()}

        def score(split, key):
            value = scores_dict.get(split, {}).get(key)
            return float(value) if value is not None else None

        if best_valid_mae is not None and not math.isfinite(best_valid_mae):
            best_valid_mae = None  # no epoch finished: inf means nothing
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, reason = ?, ended_at = ?, heartbeat_at = ?, best_epoch = ?, "
                "best_valid_mae = ?, weights_epoch = ?, valid_mae = ?, valid_naive_mae = ?, test_mae = ?, "
                "test_naive_mae = ?, scores = ?, checkpoint = ? WHERE id = ?",
                (
                    status,
                    reason,
                    _now(),
                    _now(),
                    best_epoch,
                    best_valid_mae,
                    weights_epoch,
                    score("valid", "mae"),
                    score("valid", "naive_mae"),
                    score("test", "mae"),
                    score("test", "naive_mae"),
                    json.dumps(scores_dict) if scores_dict else None,
                    self._relative(checkpoint),
                    run_id,
                ),
            )
            if cur.rowcount == 0:
                raise RunStoreError(f"run {run_id} not found in {self.path}")

    def set_checkpoint(self, run_id: int, path: str | Path) -> None:
        """Note a running run's checkpoint (written mid-run), so an interrupted run can be resumed."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET checkpoint = ? WHERE id = ?", (self._relative(path), run_id))

    def _confined(self, stored: str | None) -> Path | None:
        """A checkpoint named in the database, only if it lies inside the store's checkpoints folder.

        The database is a file anyone can edit: a checkpoint column naming /etc/passwd or ../x
        must never be read or deleted. Anything outside the folder counts as no checkpoint."""
        if not stored:
            return None
        folder = (self.home / CHECKPOINT_DIR).resolve()
        path = Path(stored)
        path = (path if path.is_absolute() else self.home / path).resolve()
        return path if path.parent == folder and path.suffix == ".pt" else None

    def _relative(self, path: str | Path | None) -> str | None:
        if path is None:
            return None
        path = Path(path)
        try:
            return str(path.resolve().relative_to(self.home.resolve()))
        except ValueError:
            return str(path.resolve())

    def delete_run(self, run_id: int) -> bool:
        """Delete a run, its epochs and its checkpoint file. A run whose process is still
        training cannot be deleted. Children keep living, without a parent."""
        run = self.get_run(run_id, with_epochs=False)
        if run.status == "running":
            rows = self._read("SELECT pid, process_token FROM runs WHERE id = ?", (run_id,))
            if run.host != self._host or process_alive(rows[0]["pid"], rows[0]["process_token"]):
                raise RunStoreError(f"run {run_id} is still running (pid {run.pid} on {run.host}); stop it first")
        with self._write() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        if run.checkpoint is not None:
            run.checkpoint.unlink(missing_ok=True)
        return True

    # -- reading -------------------------------------------------------------------------

    _SUMMARY = "SELECT runs.*, (SELECT COUNT(*) FROM epochs WHERE run_id = runs.id) AS epochs_done FROM runs"

    # Columns a record needs, by the type each must hold (None allowed only where listed).
    _TEXT = ("origin", "config", "data_source", "device", "host", "started_at", "heartbeat_at", "status")
    _INT = ("epochs_planned", "pid")
    _OPTIONAL_INT = ("parent_id", "resumed_from_epoch", "data_rows", "best_epoch", "weights_epoch")
    _OPTIONAL_REAL = ("best_valid_mae", "valid_mae", "valid_naive_mae", "test_mae", "test_naive_mae")

    def _record(self, row: dict, epochs: tuple = ()) -> RunRecord:
        """A row as a RunRecord; a row that cannot be one (edited by hand, a damaged file) is a
        RunStoreError naming the run and the column."""
        run_id = row.get("id")
        try:
            return self._parse(row, epochs)
        except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunStoreError(f"run {run_id} in {self.path} is damaged ({reason})") from None

    def _parse(self, row: dict, epochs: tuple) -> RunRecord:
        row = dict(row)
        for key in ("process_token",):
            row.pop(key, None)
        for key in self._TEXT:
            if not isinstance(row[key], str):
                raise ValueError(f"{key} is {row[key]!r}, expected text")
        for key in self._INT + self._OPTIONAL_INT:
            if not (isinstance(row[key], int) or (row[key] is None and key in self._OPTIONAL_INT)):
                raise ValueError(f"{key} is {row[key]!r}, expected a whole number")
        for key in self._OPTIONAL_REAL:
            if row[key] is not None and not isinstance(row[key], (int, float)):
                raise ValueError(f"{key} is {row[key]!r}, expected a number")
        row["run_id"] = row.pop("id")
        config = json.loads(row.pop("config"))
        if not isinstance(config, dict):
            raise ValueError("config is not a JSON object")
        row["config_dict"] = config
        scores = json.loads(row["scores"]) if row["scores"] else None
        if scores is not None and not isinstance(scores, dict):
            raise ValueError("scores is not a JSON object")
        row["scores"] = scores
        row["checkpoint"] = self._confined(row["checkpoint"] if isinstance(row["checkpoint"], str) else None)
        row["tags"] = tuple(t for t in str(row.get("tags") or "").split(",") if t)
        row["name"], row["note"] = str(row.get("name") or ""), str(row.get("note") or "")
        return RunRecord(**row, epochs=epochs)

    def label_run(
        self,
        run_id: int,
        *,
        name: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        note: str | None = None,
    ) -> RunRecord:
        """Name, tag (tags are words without commas) or annotate a run; returns it as it is now."""
        run = self.get_run(run_id, with_epochs=False)
        for tag in add_tags:
            if not tag.strip() or "," in tag:
                raise RunStoreError(f"tag {tag!r}: a tag is a word without commas")
        tags = [t for t in run.tags if t not in remove_tags]
        tags += [t.strip() for t in add_tags if t.strip() not in tags]
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET name = ?, tags = ?, note = ? WHERE id = ?",
                (
                    run.name if name is None else name.strip(),
                    ",".join(tags),
                    run.note if note is None else note.strip(),
                    run_id,
                ),
            )
        return self.get_run(run_id, with_epochs=False)

    def list_runs(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        on_damaged: Callable[[int, str], None] | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, without their epochs (``epochs_done`` counts them).

        A damaged row is left out of the list, and ``on_damaged(run_id, reason)`` is told."""
        sql, params = self._SUMMARY, []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        runs = []
        for row in self._read(sql, params):
            try:
                runs.append(self._record(row))
            except RunStoreError as exc:
                if on_damaged is not None:
                    on_damaged(row.get("id"), str(exc))
        return runs

    def get_run(self, run_id: int, *, with_epochs: bool = True) -> RunRecord:
        if not -(2**63) <= int(run_id) < 2**63:  # beyond SQLite's integer: no such run (not an overflow)
            raise RunStoreError(f"run {run_id} not found in {self.path} (run ids are at most 2**63 - 1)")
        rows = self._read(self._SUMMARY + " WHERE id = ?", (int(run_id),))
        if not rows:
            raise RunStoreError(f"run {run_id} not found in {self.path}")
        return self._record(rows[0], self.epochs(run_id) if with_epochs else ())

    def model_run(self, ref: str | int) -> RunRecord:
        """The run whose model to use: an id, or "latest" (the newest run with a checkpoint)."""
        text = str(ref).strip().lower()
        if text == "latest":
            rows = self._read(self._SUMMARY + " WHERE checkpoint IS NOT NULL ORDER BY id DESC LIMIT 1")
            if not rows:
                raise RunStoreError(f"no run in {self.path} has a model yet (train one first)")
            run = self._record(rows[0])
        else:
            try:
                run_id = int(text)
            except ValueError:
                raise RunStoreError(f"--run {ref!r}: expected a run id (a whole number) or latest") from None
            run = self.get_run(run_id, with_epochs=False)
        if run.checkpoint is not None and not run.checkpoint.is_file():
            raise RunStoreError(
                f"run {run.run_id}'s model file {run.checkpoint} is missing (deleted or moved); "
                "train the run again, or pick another with `ridership runs list`"
            )
        if run.checkpoint is None:
            raise RunStoreError(f"run {run.run_id} has no model ({run.status}: {run.reason or 'no epoch finished'})")
        return run

    def epochs(self, run_id: int) -> tuple:
        """The run's epochs in order, as EpochEvent (the training loop's event: MAE in millions)."""
        rows = self._read(
            "SELECT epoch, epochs, " + ", ".join(EPOCH_FIELDS) + " FROM epochs WHERE run_id = ? ORDER BY epoch",
            (int(run_id),),
        )
        # SQLite stores NaN as NULL (a diverged validation pass): read it back as NaN.
        return tuple(
            EpochEvent(**{k: math.nan if v is None else (millions(v) if k in EPOCH_MAE else v) for k, v in r.items()})
            for r in rows
        )

    def get_config(self, run_id: int) -> TrainConfig:
        """A run's settings, e.g. to pre-fill the form of a fork."""
        return self.get_run(run_id, with_epochs=False).config

    def children(self, run_id: int) -> list[RunRecord]:
        return [self._record(r) for r in self._read(self._SUMMARY + " WHERE parent_id = ? ORDER BY id", (run_id,))]

    def config_diff(self, run_ids: Sequence[int]) -> dict[str, list[Any]]:
        """The settings that differ between runs: {field: [value per run, in the order given]}."""
        configs = [self.get_run(i, with_epochs=False).config_dict for i in run_ids]
        names = list(TrainConfig.__dataclass_fields__) + sorted(
            {k for c in configs for k in c} - set(TrainConfig.__dataclass_fields__)
        )
        defaults = TrainConfig().to_dict()  # a field added later: older runs used its default
        diff = {}
        for name in names:
            values = [c.get(name, defaults.get(name)) for c in configs]
            if any(v != values[0] for v in values[1:]):
                diff[name] = values
        return diff
