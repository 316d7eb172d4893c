"""A sweep's rows in the run store (tables ``sweeps`` and ``sweep_trials``, engine/store/schema.py).

Each trial is an ordinary run (engine.session.start_run with the store); here it is tagged with its
sweep, trial number, searched values and objective, and marked pruned. Plain SQL through the
store's own transaction helpers, so the WAL/busy-timeout rules of engine/store apply unchanged.
"""

from __future__ import annotations

import json
import math
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..config import TrainConfig
from ..store.liveness import process_alive
from ..store.runstore import RunRecord, RunStore, RunStoreError

SWEEP_STATUSES = ("running", "finished", "stopped", "interrupted", "failed")  # failed: every trial of a session did


class SweepTaken(RunStoreError):
    """Another live process runs this sweep."""


class SweepDataChanged(RunStoreError):
    """A sweep would continue on other data than its trials ran on."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SweepRecord:
    name: str
    backend: str
    objective: str
    space: list[str]
    base_config: dict[str, Any]
    trials: int | None
    timeout_s: float | None
    settings: dict[str, Any]
    data_source: str
    data_path: str | None
    created_at: str
    updated_at: str
    status: str
    host: str
    pid: int | None

    @property
    def base(self) -> TrainConfig:
        defaults = TrainConfig().to_dict()
        return TrainConfig.from_dict({**defaults, **{k: v for k, v in self.base_config.items() if k in defaults}})

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class TrialRow:
    """One trial: its run (without epochs), number, searched values, objective and whether pruned."""

    trial: int
    run: RunRecord
    params: dict[str, Any]
    pruned: bool
    value: float | None  # riders; None: no objective (pruned, failed, still running)

    @property
    def status(self) -> str:
        return "pruned" if self.pruned else self.run.status

    def to_dict(self) -> dict[str, Any]:
        r = self.run
        naive = r.valid_naive_mae
        return {
            "trial": self.trial,
            "run_id": r.run_id,
            "status": self.status,
            "reason": r.reason,
            "params": self.params,
            "objective_riders": self.value,
            "valid_mae_riders": r.valid_mae,
            "test_mae_riders": r.test_mae,
            "best_valid_mae_riders": r.best_valid_mae,
            "valid_naive_mae_riders": naive,
            "valid_ratio": (r.valid_mae / naive) if r.valid_mae is not None and naive else None,
            "test_ratio": (r.test_mae / r.test_naive_mae) if r.test_mae is not None and r.test_naive_mae else None,
            "epochs_done": r.epochs_done,
            "epochs_planned": r.epochs_planned,
        }


@dataclass
class SweepSummary:
    record: SweepRecord
    trials: list[TrialRow] = field(default_factory=list)

    @property
    def best(self) -> TrialRow | None:
        scored = [t for t in self.trials if t.value is not None and math.isfinite(t.value)]
        return min(scored, key=lambda t: t.value) if scored else None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.status] = out.get(t.status, 0) + 1
        return out


def leaderboard(summary, top: int | None = None):
    """The trials, best objective first (those without one after, by trial number)."""
    ranked = sorted(
        summary.trials,
        key=lambda t: (t.value is None or not math.isfinite(t.value), t.value if t.value is not None else 0.0, t.trial),
    )
    return ranked[:top] if top else ranked


def varying(summary) -> list[str]:
    """The searched settings, in the order the trials first name them (the leaderboard's columns)."""
    names: list[str] = []
    for t in summary.trials:
        names += [k for k in t.params if k not in names]
    return names


def _row_to_record(row: dict) -> SweepRecord:
    return SweepRecord(
        name=row["name"],
        backend=row["backend"],
        objective=row["objective"],
        space=json.loads(row["space"]),
        base_config=json.loads(row["base_config"]),
        trials=row["trials"],
        timeout_s=row["timeout_s"],
        settings=json.loads(row["settings"] or "{}"),
        data_source=row["data_source"],
        data_path=row["data_path"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        host=row["host"],
        pid=row["pid"],
    )


def _as_left(row: dict) -> SweepRecord:
    """The row as a record; a sweep still "running" under a process of this host that is gone
    (killed, or a full disk kept it from saying it ended) reads as interrupted."""
    import dataclasses

    record = _row_to_record(row)
    if (
        record.status == "running"
        and record.pid is not None
        and record.host == socket.gethostname()
        and not process_alive(record.pid, row.get("process_token", ""))
    ):
        record = dataclasses.replace(record, status="interrupted")
    return record


def get_sweep(store: RunStore, name: str) -> SweepRecord | None:
    rows = store._read("SELECT * FROM sweeps WHERE name = ?", (name,))
    return _as_left(rows[0]) if rows else None


def list_sweeps(store: RunStore) -> list[SweepSummary]:
    """Every sweep, newest first, with its trials."""
    rows = store._read("SELECT * FROM sweeps ORDER BY created_at DESC")
    return [sweep_summary(store, r["name"], record=_as_left(r)) for r in rows]


def latest_sweep(store: RunStore) -> str | None:
    """The name of the sweep started last, or None."""
    rows = store._read("SELECT name FROM sweeps ORDER BY created_at DESC LIMIT 1")
    return rows[0]["name"] if rows else None


def save_sweep(
    store: RunStore,
    *,
    name: str,
    backend: str,
    objective: str,
    space: list[str],
    base: TrainConfig,
    trials: int | None,
    timeout_s: float | None,
    settings: dict[str, Any],
    data,
) -> SweepRecord:
    """Create the sweep's row, or take it over (a continue): status running, this process."""
    import os

    from ..store.liveness import process_token

    now = _now()
    pid = os.getpid()
    with store._write() as conn:
        # Checked and taken in one write transaction: two sweeps started at the same instant under
        # one name cannot both find it free and both run it.
        holder = _live_holder(conn, name)
        if holder is not None:
            raise SweepTaken(f"sweep {name!r} is still running (pid {holder}); stop it first, or use another --name")
        _check_same_data(conn, name, data)
        settings = {**settings, "data_fingerprint": data.fingerprint or ""}
        conn.execute(
            "INSERT INTO sweeps (name, backend, objective, space, base_config, trials, timeout_s, settings, "
            "data_source, data_path, created_at, updated_at, status, host, pid, process_token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET backend = excluded.backend, trials = excluded.trials, "
            "timeout_s = excluded.timeout_s, settings = excluded.settings, updated_at = excluded.updated_at, "
            "status = 'running', host = excluded.host, pid = excluded.pid, process_token = excluded.process_token",
            (
                name,
                backend,
                objective,
                json.dumps(space),
                json.dumps(base.to_dict()),
                trials,
                timeout_s,
                json.dumps(settings),
                data.source.kind,
                data.source.path,
                now,
                now,
                socket.gethostname(),
                pid,
                process_token(pid),
            ),
        )
    return get_sweep(store, name)


def sweep_running_elsewhere(store: RunStore, name: str) -> int | None:
    """The pid of a live process of this host still running sweep ``name``, or None."""
    with store._lock:
        return _live_holder(store._conn, name)


def trials_done(store: RunStore, name: str) -> int:
    """How many of sweep ``name``'s trials the run store has as ended and counted against its
    budget (finished, failed or pruned; a stopped one runs again on continue)."""
    rows = store._read(
        "SELECT COUNT(*) AS n FROM sweep_trials t JOIN runs r ON r.id = t.run_id "
        "WHERE t.sweep = ? AND (t.pruned OR r.status IN ('finished', 'failed'))",
        (name,),
    )
    return int(rows[0]["n"]) if rows else 0


def _live_holder(conn, name: str) -> int | None:
    import os

    row = conn.execute("SELECT status, host, pid, process_token FROM sweeps WHERE name = ?", (name,)).fetchone()
    if row is None or row[0] != "running" or row[2] in (None, os.getpid()):
        return None
    status, host, pid, token = row
    if host != socket.gethostname():
        return pid  # cannot ask another machine: assume alive
    return pid if process_alive(pid, token) else None


def _check_same_data(conn, name: str, data) -> None:
    """A sweep continues on the data it ran on (as ``runs resume`` does): trials on two data sets
    would be ranked together. Compared by the file's sha256 (recorded with the sweep, or by its
    trials' runs for a sweep recorded before that)."""
    row = conn.execute("SELECT data_source, data_path, settings FROM sweeps WHERE name = ?", (name,)).fetchone()
    if row is None:
        return
    source, path, settings = row
    fingerprints = {json.loads(settings or "{}").get("data_fingerprint")} - {None}
    if not fingerprints:
        fingerprints = {
            fp
            for (fp,) in conn.execute(
                "SELECT DISTINCT r.data_fingerprint FROM sweep_trials t JOIN runs r ON r.id = t.run_id "
                "WHERE t.sweep = ?",
                (name,),
            )
        }
        if not fingerprints:
            return  # no trial yet: nothing to mix
    was_synthetic = source == "synthetic"
    if was_synthetic == data.is_synthetic and (was_synthetic or fingerprints == {data.fingerprint or ""}):
        return

    def describe(kind, where, fingerprint):
        return "the synthetic demo series" if kind == "synthetic" else f"{where} (sha256 {fingerprint[:12]}…)"

    then = describe(source, path, sorted(fingerprints)[0])
    now = describe(data.source.kind, data.source.path, data.fingerprint or "")
    changed = " (the file has changed since)" if path and path == data.source.path else ""
    raise SweepDataChanged(
        f"sweep {name!r} ran on {then}, not on {now}{changed}; continue it on the same data, "
        "or start a new --name for this data"
    )


def end_sweep(store: RunStore, name: str, status: str) -> None:
    if status not in SWEEP_STATUSES:
        raise ValueError(f"sweep status must be one of {', '.join(SWEEP_STATUSES)}, got {status!r}")
    with store._write() as conn:
        conn.execute("UPDATE sweeps SET status = ?, updated_at = ? WHERE name = ?", (status, _now(), name))


def tag_trial(store: RunStore, run_id: int, sweep: str, trial: int | None, params: dict[str, Any]) -> int:
    """Tag run ``run_id`` as trial ``trial`` of ``sweep`` (None: the next number); return the number."""
    with store._write() as conn:
        if trial is None:
            trial = conn.execute(
                "SELECT COALESCE(MAX(trial), 0) + 1 FROM sweep_trials WHERE sweep = ?", (sweep,)
            ).fetchone()[0]
        conn.execute(
            "INSERT OR REPLACE INTO sweep_trials (run_id, sweep, trial, params) VALUES (?, ?, ?, ?)",
            (run_id, sweep, int(trial), json.dumps(params)),
        )
    return int(trial)


def untag(store: RunStore, run_id: int) -> None:
    """Run ``run_id`` is no longer a trial of its sweep (a resumed trial's interrupted run)."""
    with store._write() as conn:
        conn.execute("DELETE FROM sweep_trials WHERE run_id = ?", (run_id,))


def set_value(store: RunStore, run_id: int, value: float | None) -> None:
    value = value if value is not None and math.isfinite(value) else None
    with store._write() as conn:
        conn.execute("UPDATE sweep_trials SET value = ? WHERE run_id = ?", (value, run_id))


def mark_pruned(store: RunStore, run_id: int, reason: str) -> None:
    """The trial's run was pruned: flag it, and make its run "stopped" with ``reason`` (a run a
    scheduler killed may still say running or interrupted)."""
    with store._write() as conn:
        cur = conn.execute("UPDATE sweep_trials SET pruned = 1, value = NULL WHERE run_id = ?", (run_id,))
        if cur.rowcount == 0:
            raise RunStoreError(f"run {run_id} is not a sweep trial in {store.path}")
        conn.execute(
            "UPDATE runs SET status = 'stopped', reason = ?, ended_at = COALESCE(ended_at, ?) "
            "WHERE id = ? AND status IN ('running', 'stopped', 'interrupted')",
            (reason, _now(), run_id),
        )


def sweep_summary(store: RunStore, name: str, record: SweepRecord | None = None) -> SweepSummary:
    record = record or get_sweep(store, name)
    if record is None:
        names = [r["name"] for r in store._read("SELECT name FROM sweeps ORDER BY created_at DESC LIMIT 5")]
        known = f" (sweeps: {', '.join(names)})" if names else " (no sweep recorded yet)"
        raise RunStoreError(f"no sweep named {name!r} in {store.path}{known}")
    rows = store._read(
        "SELECT run_id, trial, params, pruned, value FROM sweep_trials WHERE sweep = ? ORDER BY trial, run_id", (name,)
    )
    trials = []
    for row in rows:
        try:
            run = store.get_run(row["run_id"], with_epochs=False)
        except RunStoreError:  # deleted meanwhile
            continue
        trials.append(TrialRow(row["trial"], run, json.loads(row["params"]), bool(row["pruned"]), row["value"]))
    return SweepSummary(record, trials)
