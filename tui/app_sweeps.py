"""Sweeps, for RidershipApp (tui/app.py): start and stop a sweep, its progress (SweepEvent), the
Sweeps pane's board and trial-curve requests, and their workers' endings.

A mixin of RidershipApp (it uses the app's state and ``_start``); its workers end in the app's
``_worker_state``, through ``WORKER_GROUPS``. Its handlers are name-based (``on_sweep_event``), not
``@on``, which a mixin cannot use: see tui/app.py's docstring.
"""

from __future__ import annotations

import threading

from textual.worker import Worker, WorkerState

from . import jobs
from .format import explain
from .messages import SweepEvent, pane_may_be_gone
from .widgets.runs import RunsPane
from .widgets.sweeps import SweepsPane


class SweepsMixin:
    WORKER_GROUPS = {"sweep": "_sweep_worker", "sweep-board": "_sweep_board_worker",
                     "sweep-curves": "_sweep_board_worker"}

    def store_opened(self) -> None:
        """The run store answered: a Sweeps pane shown before it (a quick 8 at start-up) reads the
        sweep recorded last now; until then its request had nothing to read from."""
        self.query_one(SweepsPane).shown()

    def on_sweeps_pane_start_requested(self, msg: SweepsPane.StartRequested) -> None:
        """Sweep the form's settings over the ranges asked for, in worker processes (at most one
        sweep, and never beside a training run)."""
        pane = self.query_one(SweepsPane)
        why = self._cannot_sweep()
        if why:
            pane.show_error(f"Cannot start the sweep: {why}")
            self.notify(why, title="Cannot start the sweep", severity="warning")
            return
        from engine.errors import RidershipError
        from engine.sweep.local import SweepPlan
        from engine.sweep.space import parse_space

        try:
            plan = SweepPlan(msg.name, parse_space(msg.specs), self.form.config, msg.objective, msg.trials)
        except RidershipError as exc:
            pane.show_error(f"Cannot start the sweep: {exc}")
            return
        data, path, workers, post = self.data, self.store.path, msg.workers, self.post_message
        self.sweeping = True
        self._sweep_stop = threading.Event()
        stop = self._sweep_stop
        pane.starting(plan.name, plan.objective, plan.trials, workers)

        def work():
            from textual.worker import get_current_worker

            worker = get_current_worker()
            return jobs.sweep(plan, data, path, workers, post, lambda: stop.is_set() or worker.is_cancelled)

        self._start(work, group="sweep", name=f"sweep {plan.name}")

    def _cannot_sweep(self) -> str:
        """Why a sweep cannot start now ("" when it can)."""
        if self.sweeping:
            return "a sweep is running already: s stops it first"
        if self.training:
            return f"{self._run_name} is training: s stops it first (a sweep and a run would share the cores)"
        if self.data is None:
            return "the data is still loading"
        if self.store is None:
            return ("the run store is still opening" if self._store_opening else
                    f"sweeps need the run store, and it is not open ({self.store_note or 'no run store'})")
        if self.recording_store is None:
            return f"sweeps record every trial, and {self.store_note or 'the run store is read-only'}"
        if self.form.config is None:
            first = self.form.first_invalid()
            return f"fix the hyperparameters first ({first}: {self.form.errors.get(first, '')})"
        return ""

    def _stop_sweep(self) -> None:
        self._sweep_stop.set()
        self.notify("Stopping the sweep: its running trials stop within a batch; finished ones are kept.",
                    timeout=5)

    @pane_may_be_gone
    def on_sweep_event(self, msg: SweepEvent) -> None:
        self.query_one(SweepsPane).sweep_event(msg.event)

    def on_sweeps_pane_board_requested(self, msg: SweepsPane.BoardRequested) -> None:
        store, name = self.store, msg.name
        if store is not None:  # the store may be busy with the trials' writes: read in a worker
            self._start(lambda: jobs.sweep_board(store, name), group="sweep-board")

    def on_sweeps_pane_curves_requested(self, msg: SweepsPane.CurvesRequested) -> None:
        store, trial, run_id = self.store, msg.trial, msg.run_id
        if store is not None:
            self._start(lambda: (trial, jobs.read_runs(store, [run_id])[0]), group="sweep-curves")

    def on_sweeps_pane_use_requested(self, msg: SweepsPane.UseRequested) -> None:
        self.use_recorded_run(msg.run_id)

    def _sweep_worker(self, worker: Worker, state: WorkerState) -> None:
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.sweeping = False
        pane = self.query_one(SweepsPane)
        if state == WorkerState.SUCCESS:
            outcome = worker.result
            pane.ended(outcome.status)
            self.notify(f"Sweep {outcome.name} {outcome.status}: {len(outcome.ran)} trial"
                        f"{'s' if len(outcome.ran) != 1 else ''} ran; every trial is a run in the Runs pane (6).",
                        title="Sweep ended")
        else:
            pane.ended("failed", f"The sweep could not run: {explain(worker.error)}" if worker.error else
                       "The sweep was cancelled.")
        self.query_one(RunsPane).reload()

    def _sweep_board_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(SweepsPane)
        if state == WorkerState.SUCCESS:
            if worker.group == "sweep-board":
                pane.show_board(worker.result)
            else:
                pane.show_curve(*worker.result)
        elif state == WorkerState.ERROR:
            what = "read the sweep's trials" if worker.group == "sweep-board" else "read the trial's run"
            self.notify(explain(worker.error), title=f"Could not {what}", severity="error", timeout=10)

