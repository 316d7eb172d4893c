"""The run store and the model in use, for RidershipApp (tui/app.py).

- The run store: opened in a worker (SQLite may wait for another process's lock), tried again while
  it is locked; every store access of the Runs pane (list, curves, delete, export) runs in a worker
  too. Fork and resume start from a recorded run.
- The model in use (``self.active``): ``use_model`` makes a run's model the one the forecasts and
  the backtest follow; ``use_recorded_run`` loads a recorded one (Runs ``u``, Sweeps ``u``).
- What the app remembers between sessions (tui/app_state.py): ``_remember`` writes it, ``_restore``
  reads it once the store is open, ``_load_remembered`` loads that model once the data is in.

A mixin of RidershipApp (it uses the app's state, ``_start``, and ``_can_start`` and ``_launch`` to
resume); its workers end in the app's ``_worker_state``, through ``WORKER_GROUPS``. Its handlers are
name-based (``on_runs_pane_use_requested``), not ``@on``, which a mixin cannot use: see tui/app.py's
docstring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from engine.config import TrainConfig
from engine.errors import RidershipError

from . import jobs
from .format import explain, model_label, run_title
from .messages import pane_may_be_gone
from .widgets.backtest import BacktestPane
from .widgets.forecast import ForecastPane
from .widgets.multiday import MultiDayView
from .widgets.runs import RunsPane
from .widgets.training import TrainingPane

if TYPE_CHECKING:
    from engine.session import RunResult
    from engine.store import RunStore  # sqlite3 and the store load in the worker that opens it

def replaced(previous: int | None, unrecorded: "RunResult | None", now: "RunResult") -> str:
    """The end of "run N is now the model in use": the model it replaced (recorded run
    ``previous``, or the ``unrecorded`` one) and the way back."""
    if unrecorded is not None:
        return f", in place of {model_label(unrecorded)} (not recorded: there is no going back to it)"
    if previous is None or previous == now.run_id:
        return ""
    return f", in place of run {previous} (Runs (6), u on run {previous} goes back)"


STORE_RETRY_S = 5.0  # a locked run store is tried again this often
STORE_OPEN_TIMEOUT_S = 2.0  # how long one try waits for another process's lock (in a worker)


class RunsMixin:
    WORKER_GROUPS = {"store": "_store_worker", "use-run": "_use_run_worker",
                     "runs-list": "_runs_worker", "runs-curves": "_runs_worker",
                     "runs-delete": "_runs_worker", "runs-export": "_runs_worker"}

    # -- the model in use, and what the app remembers -------------------------------------------
    # The model in use changes only when the user says so: u (Runs, Sweeps), a finished run the
    # user started here, or deleting it. A stopped or failed run never replaces it; the remembered
    # state is written only by those actions (and the form's settings at exit, once it was read).
    @property
    def in_use_id(self) -> int | None:
        """The recorded run whose model is in use, or is being loaded as last session's."""
        return self.active.run_id if self.active is not None else self._remembered_run

    def use_model(self, run: "RunResult", *, save: bool = True) -> None:
        """``run``'s model is the one in use: the forecasts and the backtest follow it, the Runs
        pane marks it, and (``save``: the user chose it) the app remembers it for the next session."""
        self.active = run
        self._remembered_run = None  # chosen now: nothing older to load
        self.query_one(MultiDayView).set_model(model_label(run))  # it asks for its forecast
        self.query_one(ForecastPane).model_changed(model_label(run))
        self.query_one(RunsPane).set_active(run.run_id)
        self._backtest()
        if save:
            self._save_state(active_run=run.run_id)

    def drop_model(self, deleted: list[int]) -> None:
        """No model in use any more (the user deleted it): Forecast and Backtest say so."""
        self.active = None
        self._remembered_run = None
        text = self.no_model_text(gone=set(deleted))
        self.query_one(MultiDayView).set_model(None, text)
        self.query_one(MultiDayView).show_status(text, error=True)
        self.query_one(ForecastPane).model_changed(None, text)
        self.query_one(BacktestPane).clear(text)
        self.query_one(RunsPane).set_active(None)
        self._save_state(active_run=None)

    def no_model_text(self, gone: set[int] = frozenset()) -> str:
        """Why Forecast and Backtest have nothing to show, in words that follow the state
        (``gone``: runs just deleted, still listed)."""
        if self.active is not None:
            return ""
        if self._remembered_run is not None:
            return f"Loading run {self._remembered_run}'s model, the one in use when the app last closed…"
        if any(r.checkpoint is not None and r.run_id not in gone for r in self.query_one(RunsPane).runs):
            return ("No model in use: pick a run in Runs (6) and press u, or train one (3, then t). "
                    "A forecast needs a run that finished at least one epoch.")
        return MultiDayView.NO_MODEL

    def use_recorded_run(self, run_id: int, *, remembered: bool = False) -> None:
        """Load recorded run ``run_id``'s kept model (its checkpoint, in a worker) and use it.
        ``remembered``: the run in use when the app last closed (a failure is a warning then)."""
        if self.store is None:
            self.notify(self.store_note or "The run store is not open yet.", title="Cannot use the run",
                        severity="error")
            return
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return
        store, data = self.store, self.data
        self._start(lambda: jobs.use_run(store, run_id, data), group="use-run",
                    name=f"{'remembered' if remembered else 'use'} {run_id}")

    def _use_run_worker(self, worker: Worker, state: WorkerState) -> None:
        remembered = worker.name.startswith("remembered")
        if remembered and self._remembered_run != int(worker.name.split()[-1]):
            return  # the user chose another model meanwhile: theirs stays
        if state == WorkerState.SUCCESS:
            run = worker.result
            previous, unrecorded = self.in_use_id, self.active if self.active and self.active.run_id is None else None
            self.use_model(run, save=not remembered)
            if remembered:
                what = "the model in use when the app closed"
            else:
                what = "now the model in use" + replaced(previous, unrecorded, run)
            self.notify(f"{model_label(run)}, trained on {run.data_label}, is {what}: Forecast (5) and "
                        "Backtest (7) follow it.", title=f"Using {run_title(run.run_id).lower()}")
        elif state == WorkerState.ERROR:
            if remembered:
                self._remembered_run = None  # not loaded; the file keeps it (only a user action changes it)
                self.notify(f"{explain(worker.error)}. Pick a run in Runs (6, then u) or train one to forecast.",
                            title="The model in use last time could not be loaded", severity="warning", timeout=10)
                self._show_no_model()
            else:
                self.notify(explain(worker.error), title="Cannot use the run", severity="error", timeout=10)

    def _show_no_model(self) -> None:
        """Forecast and Backtest say why they have nothing, while no model is in use."""
        if self.active is not None:
            return
        text = self.no_model_text()
        self.query_one(ForecastPane).model_changed(None, text)
        self.query_one(MultiDayView).set_model(None, text)
        self.query_one(BacktestPane).clear(text)

    def _load_remembered(self) -> None:
        """Once the store is open and the data loaded: load the model that was in use last time."""
        run_id = self._remembered_run
        if run_id is not None and self.store is not None and self.data is not None and self.active is None:
            self.use_recorded_run(run_id, remembered=True)

    def _save_state(self, **changes) -> None:
        """Write what the app remembers, with ``changes`` (AppState fields) made by a user action.
        Never before the state file was read: a session that ends before it loaded (a browser tab
        closed at once) leaves it as it was."""
        if self.app_state is None or self.recording_store is None:
            return
        from dataclasses import replace as replace_fields

        from .app_state import save_state

        self.app_state = replace_fields(self.app_state, note="", **changes)
        problem = save_state(self.store.path, self.app_state)
        if problem:
            self.log.warning(f"app state not saved: {problem}")

    def _restore(self, store: "RunStore") -> None:
        """Read what the app remembered: the form's settings (unless the caller chose some) and the
        model to load once the data is in."""
        from .app_state import load_state

        state = load_state(store.path)
        self.app_state = state
        if state.note:
            self.notify(state.note, title="App state not read", severity="warning", timeout=10)
        if state.form and not self._config_given and self.form.config == self._initial_config:
            try:
                self.form.set_config(TrainConfig.from_dict(state.form))
            except (RidershipError, TypeError, ValueError) as exc:
                self.notify(f"the remembered settings do not load ({exc}); the form holds the best preset",
                            title="Settings not restored", severity="warning", timeout=10)
        if self.active is None and state.active_run is not None:
            self._remembered_run = state.active_run
            self._show_no_model()  # "loading run N's model…"
            self._load_remembered()

    # -- the run store and the Runs pane --------------------------------------------------------
    @property
    def recording_store(self) -> RunStore | None:
        """The store new runs are recorded in: None while it is not open, or open read-only."""
        store = self.store
        return store if store is not None and not getattr(store, "read_only", False) else None

    def _open_store(self) -> None:
        """Open the run store in a worker (SQLite may wait for another process's lock). A locked
        store is tried again every STORE_RETRY_S seconds; one that cannot be opened leaves the app
        training, unrecorded; a read-only one lists its runs and records nothing."""
        path, timeout = self._runs_db, STORE_OPEN_TIMEOUT_S
        self._store_opening = True
        self._start(lambda: jobs.open_store(path, timeout), group="store", name="open store")

    def _store_worker(self, worker: Worker, state: WorkerState) -> None:
        if state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._store_opening = False  # answered: a run waiting for it starts below (recorded or not)
            if self._start_when_store_opens:
                self._start_when_store_opens = False
                self.call_after_refresh(self.action_start_training)
        pane = self.query_one(RunsPane)
        if state == WorkerState.SUCCESS:
            self.store = worker.result
            self.store_note = ""
            if self.store.read_only:
                self.store_note = (f"{self.store.path} is read-only here: its runs are listed, "
                                   "runs started here are not recorded")
                self.notify(self.store_note, title="Run store opened read-only", severity="warning", timeout=10)
            pane.set_store(self.store, self.store_note)
            self._restore(self.store)
            self.store_opened()  # panes that asked the store for something before it was open ask again
        elif state == WorkerState.ERROR:
            message = explain(worker.error)
            if jobs.store_is_busy(worker.error):
                self.store_note = f"run store busy, retrying every {STORE_RETRY_S:g} s: {message}"
                pane.show_error(self.store_note)
                self.set_timer(STORE_RETRY_S, self._open_store)
                return
            self.store_note = "no run store: runs are not recorded"
            pane.show_error(f"{message}. Runs started here are not recorded (--runs-db PATH picks another file).")
            self.notify(message, title="No run store: runs are not recorded", severity="warning", timeout=10)

    @pane_may_be_gone
    def on_runs_pane_overlay_changed(self, msg: RunsPane.OverlayChanged) -> None:
        self.query_one(TrainingPane).set_overlay(msg.curves)

    def on_runs_pane_fork_requested(self, msg: RunsPane.ForkRequested) -> None:
        self.form.set_config(TrainConfig.from_dict(msg.config))
        self._fork_parent = msg.run_id
        self.form.show_note(f"Fork of run {msg.run_id}: its settings, to edit. t starts the new run, "
                            "recorded as its child.")
        self.action_show_pane("hyperparams")
        self.notify(f"The form holds run {msg.run_id}'s settings: edit them, then t starts the fork.",
                    title=f"Fork of run {msg.run_id}")

    def on_runs_pane_use_requested(self, msg: RunsPane.UseRequested) -> None:
        self.use_recorded_run(msg.run_id)

    def on_runs_pane_resume_requested(self, msg: RunsPane.ResumeRequested) -> None:
        self.action_resume(msg.run_id, msg.more)

    def action_resume(self, run_id: int, more: int) -> None:
        """Train recorded run ``run_id`` for ``more`` epochs from its checkpoint, as a new run."""
        if not self._can_start() or self.store is None:
            return
        if self.recording_store is None:
            self.notify(self.store_note or "The run store is read-only.", title="Cannot resume", severity="error",
                        timeout=10)
            return
        store, data, post = self.store, self.data, self.post_message
        try:  # one row of SQLite: the epochs to show until the run starts (and its settings still load)
            parent = store.get_run(run_id, with_epochs=False)
            config = parent.config.replace(epochs=parent.epochs_done + more)
        except RidershipError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", timeout=10)
            return
        self._launch(config, f"Resuming run {run_id} for {more} more epochs: loading its checkpoint…",
                     lambda job, should_stop, abandoned: jobs.resume(
                         store, run_id, more, data, job, post, should_stop=should_stop, abandoned=abandoned))

    # Every store access of the Runs pane runs here, in a worker (the database may be busy).
    def on_runs_pane_list_requested(self, msg: RunsPane.ListRequested) -> None:
        store, selected = self.store, msg.selected
        if store is not None:
            self._start(lambda: jobs.list_runs(store, selected), group="runs-list")

    def on_runs_pane_curves_requested(self, msg: RunsPane.CurvesRequested) -> None:
        store, colors = self.store, msg.colors
        if store is not None:
            self._start(lambda: (colors, jobs.read_runs(store, list(colors))), group="runs-curves")

    def on_runs_pane_delete_requested(self, msg: RunsPane.DeleteRequested) -> None:
        store, ids = self.store, msg.run_ids
        if store is not None:
            self._start(lambda: jobs.delete_runs(store, ids), group="runs-delete", exclusive=False)

    def on_runs_pane_export_requested(self, msg: RunsPane.ExportRequested) -> None:
        store, run_id, target = self.store, msg.run_id, msg.target
        if store is not None:
            self._start(lambda: jobs.export_run(store, run_id, target), group="runs-export", exclusive=False)

    def _runs_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(RunsPane)
        if state == WorkerState.ERROR:
            pane.show_job_error(worker.group, worker.error)
        elif state == WorkerState.SUCCESS:
            if worker.group == "runs-list":
                pane.show_listing(worker.result)
            elif worker.group == "runs-curves":
                pane.show_runs_read(*worker.result)
            elif worker.group == "runs-delete":
                deleted, _ = worker.result
                if self.in_use_id is not None and self.in_use_id in deleted:
                    self.drop_model(deleted)  # the user deleted the model in use, having been told
                pane.deleted(*worker.result)
            elif worker.group == "runs-export":
                pane.exported(worker.result)

