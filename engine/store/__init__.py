"""The run store: one SQLite file with every run (schema + migrations, queries, process liveness),
CSV/JSON export, checkpoints and model files beside it. Nothing here trains: engine/session.py does,
and records through this package.
"""

from .paths import CHECKPOINT_DIR, DB_ENV_VAR, DB_NAME, HOME_ENV_VAR, default_db_path, home_dir
from .runstore import STATUSES, RunRecord, RunStore, RunStoreError

__all__ = [
    "CHECKPOINT_DIR",
    "DB_ENV_VAR",
    "DB_NAME",
    "HOME_ENV_VAR",
    "STATUSES",
    "RunRecord",
    "RunStore",
    "RunStoreError",
    "default_db_path",
    "home_dir",
]
