"""The parts of the app that keep their own state, as plain objects the app holds (no widgets):
the run store's connection, the model in use (and what is remembered of it between sessions), and
the sweep running. The app (tui/app.py) reads and changes them in its handlers and tells the panes.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.session import RunResult
    from engine.store import RunStore

    from .app_state import AppState

STORE_RETRY_S = 5.0  # a locked run store is tried again this often
STORE_OPEN_TIMEOUT_S = 2.0  # how long one try waits for another process's lock (in a worker)


class StoreLink:
    """The run store as the app reaches it: opened in a worker (SQLite may wait for another
    process's lock), tried again while locked; None while not open, or when it cannot be."""

    def __init__(self, path: str | None) -> None:
        self.path = path  # --runs-db (None: engine.store.default_db_path)
        self.store: RunStore | None = None
        self.note = ""  # why runs are not recorded ("" while they are)
        self.opening = False  # a worker is opening it
        self.start_run_when_open = False  # t was pressed while it opened: start the run once it answers

    @property
    def recording(self) -> RunStore | None:
        """The store new runs are recorded in: None while it is not open, or open read-only."""
        store = self.store
        return store if store is not None and not getattr(store, "read_only", False) else None

    @staticmethod
    def busy(error: BaseException | None) -> bool:
        """Whether opening failed only because another connection holds the lock."""
        text = str(error)
        return "database is locked" in text or "database is busy" in text


class ModelInUse:
    """The model the forecasts and the backtest follow, and what the app remembers of it.

    It changes only when the user says so (RidershipApp.use_model: u in Runs or Sweeps, a finished
    run they started here; RidershipApp.drop_model: they deleted it). The remembered state
    (runs.app.json beside the store, tui/app_state.py) is written only on those actions and with
    the form's settings; never before it was read, so a session that ends before it loaded (a
    browser tab closed at once) leaves it as it was."""

    def __init__(self) -> None:
        self.run: RunResult | None = None  # the model in use
        self.remembered: int | None = None  # last session's run, until its model is loaded (or fails)
        self.state: AppState | None = None  # what the file held, then what the user chose; None: not read

    @property
    def run_id(self) -> int | None:
        """The recorded run whose model is in use, or is being loaded as last session's."""
        return self.run.run_id if self.run is not None else self.remembered

    def restore(self, db_path) -> AppState:
        """Read the remembered state (once the store is open); its run is loaded next."""
        from .app_state import load_state

        self.state = load_state(db_path)
        if self.run is None and self.state.active_run is not None:
            self.remembered = self.state.active_run
        return self.state

    def save(self, store: RunStore | None, **changes) -> str | None:
        """Write the remembered state with ``changes`` (AppState fields) made by a user action;
        None, or why it could not be written. Nothing is written before the state was read, nor
        into a store that records nothing."""
        if self.state is None or store is None or getattr(store, "read_only", False):
            return None
        from .app_state import save_state

        self.state = replace(self.state, note="", **changes)
        return save_state(store.path, self.state)


class SweepControl:
    """The sweep running (at most one, never beside a training run) and the way to stop it."""

    def __init__(self) -> None:
        self.running = False
        self.stop = threading.Event()

    def starting(self) -> threading.Event:
        self.running = True
        self.stop = threading.Event()
        return self.stop
