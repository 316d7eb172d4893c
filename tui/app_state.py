"""What the app remembers between sessions: the model in use, the last form settings and the data
file last opened with o.

Kept beside the run store (``runs.db`` -> ``runs.app.json``), because the model in use is a run
of that store: another ``--runs-db`` has other runs, so it has its own state. A missing, unreadable
or damaged file is an empty state (with a note saying why, for a damaged one): the app must start
whatever this file holds, and a state file is never worth a refusal.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.files import read_small_text

SUFFIX = ".app.json"


def state_path(db_path: str | Path) -> Path:
    db = Path(db_path)
    return db.with_name(db.stem + SUFFIX)


@dataclass
class AppState:
    active_run: int | None = None  # the run whose model is in use
    form: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields of the last form settings
    data_path: str | None = None  # the data file last opened with o (None: the usual sources)
    note: str = ""  # why the file could not be read ("" when it could, or there was none)


def load_state(db_path: str | Path) -> AppState:
    path = state_path(db_path)
    try:
        # Never blocks: a named pipe (or /dev/zero) here must not freeze the app at start.
        raw = json.loads(read_small_text(path))
    except FileNotFoundError:
        return AppState()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return AppState(note=f"{path}: not read ({exc}); starting without the remembered model and settings")
    if not isinstance(raw, dict):
        return AppState(note=f"{path}: expected a JSON object; starting without the remembered model and settings")
    run = raw.get("active_run")
    form = raw.get("form")
    data = raw.get("data_path")
    return AppState(
        active_run=run if isinstance(run, int) and not isinstance(run, bool) and run > 0 else None,
        form=form if isinstance(form, dict) else {},
        data_path=data if isinstance(data, str) else None,
    )


def save_state(db_path: str | Path, state: AppState) -> str | None:
    """Write ``state`` (atomically: a crash leaves the old file or the new one). Returns None, or
    why it could not be written (a read-only folder is not worth more than a note)."""
    path = state_path(db_path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")  # the store's temp pattern
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(
            json.dumps({"active_run": state.active_run, "form": state.form, "data_path": state.data_path}, indent=1),
            encoding="utf-8",
        )
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        return f"{path}: {exc.strerror or exc}"
    return None
