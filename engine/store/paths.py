"""Where the run store lives: $RIDERSHIP_HOME, $RIDERSHIP_RUNS_DB, --runs-db, or the user data folder."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

HOME_ENV_VAR = "RIDERSHIP_HOME"  # folder holding runs.db and checkpoints/
DB_ENV_VAR = "RIDERSHIP_RUNS_DB"  # the database file itself (checkpoints go beside it)
DB_NAME = "runs.db"
CHECKPOINT_DIR = "checkpoints"


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


# A temporary is ".<name>.<random>.tmp" beside its target (12 hex digits; the 8 characters of
# tempfile.mkstemp in files written by earlier versions).
TEMP_NAME = re.compile(r"^\..+\.(?:[0-9a-f]{12}|[a-z0-9_]{8})\.tmp$")
STALE_AFTER_S = 15 * 60


def remove_stale_temporaries(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the temporaries of saves that were interrupted (".<name>.<random>.tmp" files not
    changed for ``older_than_s`` seconds) from ``folder``; return those removed. A save in progress
    keeps writing its temporary, so a recent one is left alone. Errors are ignored: this is tidying."""
    folder = Path(folder)
    cutoff = time.time() - older_than_s
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if (
                TEMP_NAME.match(entry.name)
                and entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                os.unlink(entry.path)
                removed.append(folder / entry.name)
        except OSError:
            continue
    return removed
