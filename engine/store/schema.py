"""The run store's schema, versioned with ``PRAGMA user_version``: MIGRATIONS[i] moves version i to i + 1."""

from __future__ import annotations

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
    # Sweeps (engine/sweep): one row per sweep, and each trial's run tagged with its sweep and
    # number. A pruned trial's run keeps status "stopped" (the CHECK on runs.status cannot change
    # in SQLite) with pruned = 1 here and the reason "pruned by the sweep ...".
    """
    CREATE TABLE sweeps (
        name TEXT PRIMARY KEY,
        backend TEXT NOT NULL DEFAULT 'local',
        objective TEXT NOT NULL,
        space TEXT NOT NULL,                   -- parameter specs as a JSON list
        base_config TEXT NOT NULL,             -- TrainConfig as JSON (the fields not searched)
        trials INTEGER,                        -- the budget: trials in all (NULL: until the timeout)
        timeout_s REAL,
        settings TEXT NOT NULL DEFAULT '{}',   -- sampler, pruner, seed... as JSON
        data_source TEXT NOT NULL DEFAULT '',
        data_path TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'running',
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER,
        process_token TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE sweep_trials (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        sweep TEXT NOT NULL REFERENCES sweeps(name) ON DELETE CASCADE,
        trial INTEGER NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',     -- the searched values as JSON
        pruned INTEGER NOT NULL DEFAULT 0,
        value REAL                             -- the objective, riders (NULL: none)
    );
    CREATE INDEX sweep_trials_sweep ON sweep_trials(sweep, trial);
    """,
    # A person's words for a run: a name, tags (comma-separated) and a note (`ridership runs label`).
    """
    ALTER TABLE runs ADD COLUMN name TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """,
    # Riders everywhere after the training loop: the MAE columns that held the model's unit (millions
    # of riders: runs.best_valid_mae and the epochs' MAE) become riders, like every other MAE here.
    # The per-epoch train_loss stays in the loss's own unit.
    """
    UPDATE runs SET best_valid_mae = best_valid_mae * 1000000 WHERE best_valid_mae IS NOT NULL;
    UPDATE epochs SET train_mae = train_mae * 1000000, valid_mae = valid_mae * 1000000,
                      best_valid_mae = best_valid_mae * 1000000;
    """,
    # The forecast journal (engine/journal.py): every forecast made, CLI or app, one row per day
    # forecast. Values and intervals in riders. A deleted run's forecasts stay, with run_id NULL.
    """
    CREATE TABLE forecasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        made_at TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        model TEXT NOT NULL DEFAULT '',        -- who forecast: "run 7" or a model file's path
        origin TEXT NOT NULL DEFAULT 'cli',    -- cli or app
        data_last TEXT NOT NULL,               -- the last day of the data the forecast fed on
        target_date TEXT NOT NULL,
        horizon INTEGER NOT NULL,              -- days after data_last
        day_type TEXT NOT NULL,
        rail REAL NOT NULL,
        bus REAL NOT NULL,
        level REAL,
        rail_low REAL,
        rail_high REAL,
        bus_low REAL,
        bus_high REAL
    );
    CREATE INDEX forecasts_target ON forecasts(target_date);
    """,
)
# Units since version 4: every MAE column (runs.*_mae, epochs.*_mae, sweep_trials.value) is in riders.
SCHEMA_VERSION = len(MIGRATIONS)
