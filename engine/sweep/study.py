"""Where a run store's Optuna studies live, and how a study is rebuilt from the run store.

Each run store has its own study file, named after the store (``runs.db`` -> ``runs.db.optuna``):
two stores in one folder used to share ``sweeps-optuna.db``, and a sweep in the second one found
the first one's trials ("its 2 trials are done").

The run store is the record: every trial is a run tagged with its sweep, number, searched values,
objective and whether it was pruned (engine/sweep/records.py). So a study missing from the file (a
store from before the file was per store, or the file deleted) is rebuilt from those rows, trial
numbers and budget included, instead of starting again at trial 1. That is also the migration
path: the old shared file is never read, so another store's trials can never leak in.
"""

from __future__ import annotations

import errno
import json
import math
import os
from pathlib import Path

from ..errors import RidershipError

LEGACY_OPTUNA_DB = "sweeps-optuna.db"  # shared by every store of a folder before; not read any more
COUNTED = "counted"  # user attr: this trial ended on its own (complete, pruned, failed) and counts


def optuna_path(store_path: str | Path) -> Path:
    path = Path(store_path)
    return path.with_name(path.name + ".optuna")


def storage(store_path: str | Path, prepared: bool = False):
    """The Optuna storage of every sweep of this run store (SQLite, a 30 s busy timeout).
    ``prepared``: the file's tables were made and its schema version checked by the process that
    opened the study (a sweep's workers): neither is done again (Alembic's check, its imports
    included, is 0.15 s of each worker's start)."""
    import optuna

    path = optuna_path(store_path)
    study_storage = optuna.storages.RDBStorage(
        f"sqlite:///{path}",
        engine_kwargs={"connect_args": {"timeout": 30}},
        skip_compatibility_check=prepared,
        skip_table_creation=prepared,
    )
    _full_disk_not_retried(study_storage.engine, path)
    return study_storage


def disk_full(text: str) -> bool:
    """Whether an error's text says the disk (or SQLite's file) is full."""
    return "disk is full" in text or os.strerror(errno.ENOSPC) in text


class DiskFull(RidershipError):
    """SQLite's "database or disk is full" from a study file, naming the file."""


def _full_disk_not_retried(engine, path: Path) -> None:
    """A full disk raised as DiskFull rather than as an SQLAlchemy error: Optuna retries a trial's
    creation after any of those (meant for deadlocks), sleeping 0-2 s before each of four more
    tries, and no retry makes room. From the disk filling to the sweep's end: 5.5 s before, 0.15 s
    with this (measured)."""
    from sqlalchemy import event

    def handle_error(context) -> None:
        text = str(context.original_exception)
        if disk_full(text):
            raise DiskFull(f"{path}: {text}") from context.original_exception

    event.listen(engine, "handle_error", handle_error)


def open_study(name: str, space, store):
    """Sweep ``name``'s study in ``store``'s study file; created, and filled from the run store's
    trials of that sweep when it is not there yet. Call only while holding the sweep (nobody else
    runs it)."""
    import optuna

    study = optuna.create_study(study_name=name, storage=storage(store.path), direction="minimize", load_if_exists=True)
    if not study.get_trials(deepcopy=False):
        trials = rebuilt_trials(store, name, space)
        if trials:
            study.add_trials(trials)
    return study


def rebuilt_trials(store, name: str, space) -> list:
    """The Optuna trials of sweep ``name`` as the run store records them, numbered like them: trial
    N of the store is the study's trial N - 1, a number with no run becomes an uncounted failure."""
    from optuna.trial import TrialState, create_trial

    rows = store._read(
        "SELECT t.run_id, t.trial, t.params, t.pruned, t.value, r.status FROM sweep_trials t "
        "JOIN runs r ON r.id = t.run_id WHERE t.sweep = ? ORDER BY t.trial, t.run_id",
        (name,),
    )
    by_number = {row["trial"]: row for row in rows}  # a number given twice: the later run
    if not by_number:
        return []
    distributions = space.distributions()
    out = []
    for number in range(1, max(by_number) + 1):
        row = by_number.get(number)
        if row is None:
            out.append(create_trial(state=TrialState.FAIL, user_attrs={"missing": True}))
            continue
        params = json.loads(row["params"] or "{}")
        if set(params) != set(distributions) or not all(
            distributions[k]._contains(distributions[k].to_internal_repr(v)) for k, v in params.items()
        ):
            params = {}  # recorded under another space: keep its number and its count, not its values
        dists = {k: distributions[k] for k in params}
        steps = {
            e.epoch: e.valid_mae_riders
            for e in store.epochs(row["run_id"])
            if e.valid_mae is not None and math.isfinite(e.valid_mae)
        }
        attrs = {"run_id": row["run_id"], "rebuilt": True}
        value = row["value"]
        if row["pruned"]:
            state = TrialState.PRUNED
        elif row["status"] == "finished" and value is not None and math.isfinite(value) and params:
            state = TrialState.COMPLETE
        else:
            state = TrialState.FAIL
        counted = row["pruned"] or row["status"] in ("finished", "failed")
        if counted:
            attrs[COUNTED] = True
        elif row["status"] == "stopped":
            attrs["stopped"] = True
        else:
            attrs["interrupted"] = True
        out.append(
            create_trial(
                state=state,
                params=params,
                distributions=dists,
                value=float(value) if state == TrialState.COMPLETE else None,
                intermediate_values=steps,
                user_attrs=attrs,
            )
        )
    return out
