"""The run store: every training run, its settings, per-epoch metrics, scores and checkpoint.

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

import contextlib
import csv
import io
import json
import math
import os
import socket
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from .config import TrainConfig
from .errors import ConfigError, RidershipError

HOME_ENV_VAR = "RIDERSHIP_HOME"  # folder holding runs.db and checkpoints/
DB_ENV_VAR = "RIDERSHIP_RUNS_DB"  # the database file itself (checkpoints go beside it)
DB_NAME = "runs.db"
CHECKPOINT_DIR = "checkpoints"
STATUSES = ("running", "finished", "stopped", "failed", "interrupted")
BUSY_TIMEOUT_MS = 30_000
EPOCH_FIELDS = ("train_loss", "train_mae", "valid_mae", "lr", "seconds", "best_epoch", "best_valid_mae")


class RunStoreError(RidershipError):
    """The runs database cannot be opened, read or written, or a run does not exist."""


# Each entry moves the schema from version i to i + 1. Never edit a released entry: append one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so checkpoint names never clash
        parent_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        origin TEXT NOT NULL DEFAULT 'new',    -- new, fork or resume
        resumed_from_epoch INTEGER,            -- resume: epochs inherited from the parent
        config TEXT NOT NULL,                  -- TrainConfig as JSON
        epochs_planned INTEGER NOT NULL,
        data_source TEXT NOT NULL,
        data_path TEXT,
        data_fingerprint TEXT NOT NULL DEFAULT '',
        data_rows INTEGER,
        data_first TEXT,
        data_last TEXT,
        device TEXT NOT NULL,
        device_name TEXT NOT NULL DEFAULT '',
        torch_version TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_token TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),
        reason TEXT NOT NULL DEFAULT '',
        best_epoch INTEGER,
        best_valid_mae REAL,                   -- millions, like the epochs
        weights_epoch INTEGER,
        valid_mae REAL,                        -- riders, from the weights the run ended with
        valid_naive_mae REAL,
        test_mae REAL,
        test_naive_mae REAL,
        scores TEXT,                           -- SplitScore dicts as JSON
        checkpoint TEXT                        -- relative to the database's folder when inside it
    );
    CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        epochs INTEGER NOT NULL,
        train_loss REAL,
        train_mae REAL,
        valid_mae REAL,
        lr REAL,
        seconds REAL,
        best_epoch INTEGER NOT NULL,
        best_valid_mae REAL,
        PRIMARY KEY (run_id, epoch)
    );
    CREATE INDEX runs_status ON runs(status);
    CREATE INDEX runs_parent ON runs(parent_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def home_dir() -> Path:
    """Where runs live: $RIDERSHIP_HOME, else the platform's user data folder."""
    override = os.environ.get(HOME_ENV_VAR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("ridership", appauthor=False))


def default_db_path(path: str | Path | None = None) -> Path:
    """The database to use: an explicit path (``--runs-db``), $RIDERSHIP_RUNS_DB, or <home>/runs.db."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return home_dir() / DB_NAME


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# -- is the process that started a run still alive? ------------------------------------------

def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_token(pid: int) -> str:
    """Boot id + start tick of ``pid`` (Linux), "" where /proc is missing or the pid is gone or a zombie.

    A pid can be reused after its process ends; the start tick cannot (within one boot)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    rest = stat[stat.rfind(")") + 2:].split()  # the command name may contain spaces and ')'
    if len(rest) < 20 or rest[0] in ("Z", "X"):  # zombie or dead: it will never log again
        return ""
    return f"{_boot_id()}:{rest[19]}"


def process_alive(pid: int, token: str) -> bool:
    if token and Path("/proc").is_dir():
        return process_token(pid) == token
    if os.name == "nt":  # os.kill would terminate the process there: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


# -- records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunRecord:
    """One run as stored. ``epochs`` is filled by ``get_run`` only (``list_runs`` leaves it empty).

    Epoch metrics and ``best_valid_mae`` are in millions of riders (as EpochEvent); the
    ``*_mae`` scores are in riders."""

    id: int
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
    epochs: tuple = field(default=(), repr=False)  # EpochEvent, in order

    @property
    def config(self) -> TrainConfig:
        """The run's settings (for a fork: edit them and start a child run)."""
        try:
            return TrainConfig.from_dict(self.config_dict)
        except (ConfigError, TypeError) as exc:
            raise RunStoreError(f"run {self.id}: its stored settings no longer load ({exc})") from None

    @property
    def data_label(self) -> str:
        return "synthetic" if self.data_source == "synthetic" else f"{self.data_path} ({self.data_source})"

    def summary(self) -> dict[str, Any]:
        """Everything but the epochs, JSON-ready."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("epochs", "config_dict")}
        out["config"] = self.config_dict
        out["checkpoint"] = str(self.checkpoint) if self.checkpoint else None
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "epochs": [dict(e.__dict__) for e in self.epochs]}


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

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path | None = None) -> "RunStore":
        """Open (creating if needed) the database, migrate it, and mark runs whose process died
        as interrupted."""
        path = default_db_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"{path.parent}: cannot create the runs folder ({exc.strerror or exc})") from None
        if path.is_dir():
            raise RunStoreError(f"{path}: is a folder, expected the runs database file")
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise RunStoreError(f"{path}: cannot open the runs database ({exc})") from None
        store = cls(path, conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")  # may stay "delete" on filesystems without WAL
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across a process kill
            conn.execute("PRAGMA foreign_keys = ON")
            store._migrate()
            store.mark_stale_runs()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise RunStoreError(f"{path}: not a usable runs database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "RunStore":
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
                "FROM runs WHERE status = 'running' AND host = ?", (self._host,)
            ).fetchall()
            stale = []
            for run_id, pid, token, heartbeat, done in rows:
                if process_alive(pid, token):
                    continue
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?, reason = ? WHERE id = ?",
                    (heartbeat, f"the process (pid {pid}) ended without finishing the run; "
                                f"{done} epoch{'s' if done != 1 else ''} recorded, last sign of life {heartbeat}",
                     run_id),
                )
                stale.append(run_id)
        return stale

    # -- writing -------------------------------------------------------------------------

    def start_run(self, config: TrainConfig, data, device: str, *, device_name: str = "",
                  parent_id: int | None = None, origin: str = "new", inherited: Sequence = (),
                  torch_version: str | None = None) -> int:
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
            if parent_id is not None and conn.execute("SELECT 1 FROM runs WHERE id = ?", (parent_id,)).fetchone() is None:
                raise RunStoreError(f"run {parent_id} not found in {self.path} (the parent of the new run)")
            cur = conn.execute(
                "INSERT INTO runs (parent_id, origin, resumed_from_epoch, config, epochs_planned, data_source, "
                "data_path, data_fingerprint, data_rows, data_first, data_last, device, device_name, "
                "torch_version, host, pid, process_token, started_at, heartbeat_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                (parent_id, origin, len(inherited) if origin == "resume" else None,
                 json.dumps(config.to_dict()), config.epochs, data.source.kind, data.source.path,
                 data.fingerprint or "", len(frame), f"{frame.index[0]:%Y-%m-%d}" if len(frame) else None,
                 f"{frame.index[-1]:%Y-%m-%d}" if len(frame) else None, str(device), device_name,
                 torch_version, self._host, self._pid, self._token, now, now),
            )
            run_id = cur.lastrowid
            for event in inherited:
                self._insert_epoch(conn, run_id, event, epochs=config.epochs)
        return run_id

    @staticmethod
    def _insert_epoch(conn: sqlite3.Connection, run_id: int, event, epochs: int | None = None) -> None:
        get = event.get if isinstance(event, dict) else (lambda k: getattr(event, k))
        conn.execute(
            "INSERT OR REPLACE INTO epochs (run_id, epoch, epochs, train_loss, train_mae, valid_mae, lr, "
            "seconds, best_epoch, best_valid_mae) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, int(get("epoch")), int(epochs if epochs is not None else get("epochs")),
             *(float(get(k)) for k in EPOCH_FIELDS[:5]), int(get("best_epoch")), float(get("best_valid_mae"))),
        )

    def log_epoch(self, run_id: int, event) -> None:
        """Record one finished epoch (an EpochEvent or a dict with its fields) and a heartbeat."""
        with self._write() as conn:
            self._insert_epoch(conn, run_id, event)
            cur = conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'",
                               (_now(), run_id))
            if cur.rowcount == 0:
                raise RunStoreError(f"run {run_id} is not a running run in {self.path}")

    def finish_run(self, run_id: int, status: str, reason: str = "", *, scores: dict | None = None,
                   checkpoint: str | Path | None = None, best_epoch: int | None = None,
                   best_valid_mae: float | None = None, weights_epoch: int | None = None) -> None:
        """Close a run: its status (finished, stopped, failed or interrupted), why, its scores
        (SplitScore objects or dicts by split name, in riders) and its checkpoint file."""
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
                (status, reason, _now(), _now(), best_epoch, best_valid_mae, weights_epoch,
                 score("valid", "mae"), score("valid", "naive_mae"), score("test", "mae"),
                 score("test", "naive_mae"), json.dumps(scores_dict) if scores_dict else None,
                 self._relative(checkpoint), run_id),
            )
            if cur.rowcount == 0:
                raise RunStoreError(f"run {run_id} not found in {self.path}")

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

    def _record(self, row: dict, epochs: tuple = ()) -> RunRecord:
        row = dict(row)
        for key in ("process_token",):
            row.pop(key, None)
        row["config_dict"] = json.loads(row.pop("config"))
        row["scores"] = json.loads(row["scores"]) if row["scores"] else None
        if row["checkpoint"]:
            path = Path(row["checkpoint"])
            row["checkpoint"] = path if path.is_absolute() else self.home / path
        else:
            row["checkpoint"] = None
        return RunRecord(**row, epochs=epochs)

    def list_runs(self, *, status: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first, without their epochs (``epochs_done`` counts them)."""
        sql, params = self._SUMMARY, []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._record(r) for r in self._read(sql, params)]

    def get_run(self, run_id: int, *, with_epochs: bool = True) -> RunRecord:
        rows = self._read(self._SUMMARY + " WHERE id = ?", (int(run_id),))
        if not rows:
            raise RunStoreError(f"run {run_id} not found in {self.path}")
        return self._record(rows[0], self.epochs(run_id) if with_epochs else ())

    def epochs(self, run_id: int) -> tuple:
        """The run's epochs in order, as EpochEvent."""
        from .training import EpochEvent

        rows = self._read("SELECT epoch, epochs, " + ", ".join(EPOCH_FIELDS) +
                          " FROM epochs WHERE run_id = ? ORDER BY epoch", (int(run_id),))
        # SQLite stores NaN as NULL (a diverged validation pass): read it back as NaN.
        return tuple(EpochEvent(**{k: math.nan if v is None else v for k, v in r.items()}) for r in rows)

    def get_config(self, run_id: int) -> TrainConfig:
        """A run's settings, e.g. to pre-fill the form of a fork."""
        return self.get_run(run_id, with_epochs=False).config

    def children(self, run_id: int) -> list[RunRecord]:
        return [self._record(r) for r in self._read(self._SUMMARY + " WHERE parent_id = ? ORDER BY id", (run_id,))]

    def config_diff(self, run_ids: Sequence[int]) -> dict[str, list[Any]]:
        """The settings that differ between runs: {field: [value per run, in the order given]}."""
        configs = [self.get_run(i, with_epochs=False).config_dict for i in run_ids]
        names = list(TrainConfig.__dataclass_fields__) + sorted(
            {k for c in configs for k in c} - set(TrainConfig.__dataclass_fields__))
        defaults = TrainConfig().to_dict()  # a field added later: older runs used its default
        diff = {}
        for name in names:
            values = [c.get(name, defaults.get(name)) for c in configs]
            if any(v != values[0] for v in values[1:]):
                diff[name] = values
        return diff


# -- export ----------------------------------------------------------------------------------

CSV_COLUMNS = ("epoch", "epochs") + EPOCH_FIELDS


def history_csv(run: RunRecord) -> str:
    """The run's per-epoch metrics as CSV (metrics in millions of riders, seconds of wall time)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in run.epochs:
        writer.writerow([getattr(event, c) for c in CSV_COLUMNS])
    return out.getvalue()


def history_json(run: RunRecord) -> str:
    """The whole run (settings, data, device, scores, epochs) as JSON."""
    return json.dumps(_finite(run.to_dict()), indent=2, allow_nan=False)


def _finite(value):
    """JSON has no NaN or infinity: write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def export_run(run: RunRecord, path: str | Path, fmt: str | None = None) -> Path:
    """Write the run's history to ``path`` as csv or json (from the suffix when ``fmt`` is None),
    atomically."""
    path = Path(path).expanduser()
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise RunStoreError(f"{path}: cannot tell the export format; use a .csv or .json name (or --format)")
    text = history_csv(run) if fmt == "csv" else history_json(run)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            tmp.unlink(missing_ok=True)
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    return path


# -- training with a record ---------------------------------------------------------------------

@dataclass
class RecordedRun:
    run_id: int
    result: Any  # FitResult
    scores: dict[str, Any]  # SplitScore by split name; empty when no epoch finished
    checkpoint: Path | None
    db: Path | None = None  # the store it is recorded in


def train_recorded(store: RunStore, config: TrainConfig, data, *, splits: dict | None = None,
                   on_epoch=None, should_stop=None, parent_id: int | None = None, origin: str = "new",
                   resume_state: dict | None = None) -> RecordedRun:
    """``training.fit`` with the run recorded: started before the first epoch, each epoch logged as
    it ends, then the scores, the checkpoint and the final status. What the CLI and the app call.

    An exception (including Ctrl+C) still closes the record (failed / interrupted) and propagates."""
    from .checkpoint import save_checkpoint
    from .data import make_splits
    from .device import describe, resolve_device
    from .evaluate import score_all
    from .training import fit

    config.validate()
    splits = splits if splits is not None else make_splits(data, config)
    device = resolve_device(config.device)
    run_id = store.start_run(config, data, device.type, device_name=describe(device).name, parent_id=parent_id,
                             origin=origin, inherited=resume_state["history"] if resume_state else ())

    def log(event) -> None:
        store.log_epoch(run_id, event)
        if on_epoch is not None:
            on_epoch(event)

    try:
        result = fit(config, splits, on_epoch=log, should_stop=should_stop, resume=resume_state)
        scores, checkpoint = {}, None
        if result.history:  # at least one epoch: the weights mean something
            scores = score_all(result.model, splits, data.features().to_numpy(), config.batch_size, result.device)
            checkpoint = save_checkpoint(store.checkpoint_path(run_id), result, data, run_id=run_id)
    except BaseException as exc:
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        reason = "interrupted (Ctrl+C)" if interrupted else (str(exc) or type(exc).__name__)
        try:
            store.finish_run(run_id, "interrupted" if interrupted else "failed", reason)
        except RidershipError:
            pass  # the store itself is failing; the original error matters more
        raise
    store.finish_run(run_id, result.status, result.reason, scores=scores, checkpoint=checkpoint,
                     best_epoch=result.best_epoch or None, best_valid_mae=result.best_valid_mae,
                     weights_epoch=result.weights_epoch if result.history else None)
    return RecordedRun(run_id, result, scores, checkpoint, store.path)


def resume_run(store: RunStore, run_id: int, more: int, data, *, device: str | None = None,
               on_epoch=None, should_stop=None) -> RecordedRun:
    """Continue run ``run_id`` for ``more`` epochs from its checkpoint, as a new run whose parent
    it is (the parent and its checkpoint stay as they were). Same data, same seed: 25 + 25
    epochs give what 50 at once give."""
    from .checkpoint import load_checkpoint
    from .errors import ModelFileError

    if not isinstance(more, int) or isinstance(more, bool) or more <= 0:
        raise ConfigError("more", f"must be a whole number of epochs > 0, got {more!r}")
    parent = store.get_run(run_id, with_epochs=False)
    if parent.checkpoint is None:
        raise RunStoreError(
            f"run {run_id} has no checkpoint ({parent.status}: {parent.reason or 'no reason recorded'}); "
            "only a run that finished can be resumed"
        )
    try:
        checkpoint = load_checkpoint(parent.checkpoint, data, for_resume=True)
    except ModelFileError as exc:
        raise ModelFileError(f"run {run_id}: {exc}") from None
    changes = {"epochs": checkpoint.epochs_done + more}
    if device:
        changes["device"] = device
    config = checkpoint.config.replace(**changes)
    return train_recorded(store, config, data, on_epoch=on_epoch, should_stop=should_stop, parent_id=run_id,
                          origin="resume", resume_state=checkpoint.resume_state)
