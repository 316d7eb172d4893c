"""Sweeps on this machine: Optuna (TPE, a median pruner on the per-epoch validation MAE) with its
study in an SQLite file beside the run store, and trials in worker processes.

- One worker process per trial slot, torch on one thread each, started as soon as the sweep's
  checks pass, and each then waits for its budget; workers the budget turns out not to need end at
  once. On Linux the workers are forks of one server process (multiprocessing's forkserver) that
  imported the training path once (torch, torchmetrics, Optuna's SQL storage: about 2 s in a fresh
  process): N workers cost one import, not N, and the server stays for the next sweep of the same
  process (the app's). Where this process can be copied safely (the CLI: one thread, no CUDA, no
  file open) the server is a fork of it, which imports only what it had not (engine/sweep/
  forked_server.py); elsewhere (the app) a fresh interpreter, so nothing of this process's threads
  is copied. Each worker takes this process's environment as it is at the sweep's start (as a
  spawned one would). Elsewhere each worker is spawned and imports for itself. Each worker
  opens the run store and the Optuna storage itself; SQLite (WAL, busy timeout) takes
  the concurrent writes. Events and budgets travel on each worker's own pipes, and nothing shared
  has a lock that a killed worker could leave held (engine/sweep/channels.py). With ``pack`` > 1
  a worker asks for that many trials at once and trains those of one shape as one batched model
  (engine.sweep.packed), each its own trial and run.
- The budget is the sweep's total: ``trials`` trials that ended (complete, pruned or failed),
  counting those of earlier sessions of the same sweep, and/or ``timeout_s`` (no trial starts past
  it; running ones finish).
- A trial that raises is recorded failed and the sweep goes on; a worker process that dies is
  replaced, its trial marked failed.
- ``should_stop`` (Ctrl+C, SIGTERM, the app's stop key) stops the running trials within a batch;
  they are kept as stopped runs and do not count, so a continue runs fresh ones. Finished trials
  are in both stores the moment they end.
- A sweep killed outright (SIGKILL) leaves its workers to die with it (Linux: the server ends
  with the sweep's process and the workers with the forkserver, PR_SET_PDEATHSIG; a worker whose
  events pipe breaks first ends at once the same way; elsewhere they notice their parent is gone
  within a batch). Continuing it marks the trials left
  RUNNING in the Optuna study as failed ("interrupted", not counted) and keeps every finished one.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import RidershipError
from . import packed, records
from .asking import ask_distinct
from .channels import Flag, ProcessLock
from .forked_server import fork_is_safe, servers_forked, set_name
from .space import SearchSpace
from .study import COUNTED, disk_full, open_study, optuna_path, storage  # noqa: F401 - optuna_path: callers
from .trial import TrialOutcome, TrialRun, train_alone

OPTUNA_DB = "sweeps-optuna.db"  # the old shared study file (engine/sweep/study.py names each store's)
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")
DEFAULT_TRIALS = 20
ASKED_BY = "asked_by"  # the pid of the worker that asked a packed trial (it has "pid" once started)
EARLY_DEATHS_PER_WORKER = 2  # workers that die before any trial, per worker slot, before the sweep gives up


class SweepError(RidershipError):
    """A sweep cannot start or continue."""


@dataclass(frozen=True)
class SweepPlan:
    name: str
    space: SearchSpace
    base: TrainConfig
    objective: str = "valid"
    trials: int | None = DEFAULT_TRIALS  # trials in all, this sweep's earlier sessions included
    timeout_s: float | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0
    pack: int | None = None  # trials trained as one model per worker (engine.sweep.packed); None: its default

    def settings(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "pruner": self.pruner, "seed": self.seed, "pack": self.pack}


@dataclass
class SweepOutcome:
    name: str
    status: str  # finished | stopped | failed (every trial of this session failed)
    ran: list[TrialOutcome] = field(default_factory=list)  # this session's trials, in the order they ended
    done_before: int = 0  # trials that had ended in earlier sessions
    interrupted: list[int] = field(default_factory=list)  # trial numbers found RUNNING and marked failed
    resumed: list[dict] = field(default_factory=list)  # trials found RUNNING, resumed from their checkpoints


def make_sampler(plan: SweepPlan, worker: int = 0):
    import optuna

    seed = plan.seed + worker
    if plan.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(3, min(10, (plan.trials or 30) // 3))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant_liar is "experimental"
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, constant_liar=True)


def make_pruner(plan: SweepPlan):
    import optuna

    if plan.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=max(1, plan.base.epochs // 3))


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def finished_trials(study) -> list:
    """Trials that count against the budget (ended on their own, in any session)."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) and t.user_attrs.get(COUNTED)
    ]


def check_and_record(plan: SweepPlan, store, data, backend: str) -> None:
    """What every backend checks before a sweep starts or continues, then records it: nobody else
    runs it, it has a budget, every corner of its space is valid."""
    pid = records.sweep_running_elsewhere(store, plan.name)
    if pid is not None:
        raise SweepError(f"sweep {plan.name!r} is still running (pid {pid}); stop it first, or use another --name")
    if plan.trials is None and plan.timeout_s is None:
        raise SweepError("a sweep needs a budget: --trials N and/or --timeout SECONDS")
    plan.space.check(plan.base)
    records.save_sweep(
        store,
        name=plan.name,
        backend=backend,
        objective=plan.objective,
        space=plan.space.specs(),
        base=plan.base,
        trials=plan.trials,
        timeout_s=plan.timeout_s,
        settings=plan.settings(),
        data=data,
    )


def prepare(
    plan: SweepPlan,
    store,
    data,
    backend: str = "local",
    resumable: list | None = None,
    checked: Callable[[], None] | None = None,
):
    """Record the sweep (or take it over to continue it) and open its study. Returns (study,
    trials already done, trial numbers found left RUNNING and now marked failed). With a
    ``resumable`` list, a RUNNING trial whose run left a checkpoint part-way is appended to it
    (``resume_job``) and stays RUNNING, for the sweep to finish it before it starts new ones.
    ``checked`` runs once the sweep's checks passed, before the study opens (run_local starts its
    workers there, so their imports overlap the rest)."""
    from optuna.trial import TrialState

    quiet_optuna()
    check_and_record(plan, store, data, backend)
    if checked is not None:
        checked()
    study = open_study(plan.name, plan.space, store)  # rebuilt from the run store when missing
    interrupted = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # Nobody runs this sweep now (checked above): a RUNNING trial's process was killed. If its
        # run had already ended and been scored in the run store (killed between the two writes),
        # it finished: tell the study so, counted, rather than run the budget's trial again.
        ended = store._read(
            "SELECT t.value, t.pruned, r.status FROM sweep_trials t JOIN runs r ON r.id = t.run_id "
            "WHERE t.sweep = ? AND t.trial = ?",
            (study.study_name, t.number + 1),
        )
        row = ended[0] if ended else None
        if row and row["pruned"]:
            study._storage.set_trial_user_attr(t._trial_id, COUNTED, True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.PRUNED)
            continue
        if row and row["status"] == "finished" and row["value"] is not None:
            study._storage.set_trial_user_attr(t._trial_id, COUNTED, True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.COMPLETE, [float(row["value"])])
            continue
        job = resume_job(store, plan, t, data) if resumable is not None else None
        if job is not None:
            resumable.append(job)
            continue
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        interrupted.append(t.number + 1)
    return study, len(finished_trials(study)), interrupted


def worker_count(workers: int | None, trials_left: int | None, per_worker: int = 1) -> int:
    """Workers (or Ray slots) for a sweep: ``workers``, else one per core, and no more than the
    trials left need when each takes up to ``per_worker`` at once."""
    count = workers or os.cpu_count() or 1
    return count if trials_left is None else min(count, math.ceil(trials_left / per_worker))


def started_event(plan: SweepPlan, done_before: int, remaining: int | None, workers: int, interrupted, resumed) -> dict:
    """The ``sweep_started`` event both backends send once the sweep is prepared."""
    return {
        "kind": "sweep_started",
        "name": plan.name,
        "done_before": done_before,
        "remaining": remaining,
        "workers": workers,
        "interrupted": interrupted,
        "trials": plan.trials,
        "resumed": resumed,
    }


def resume_job(store, plan: SweepPlan, trial, data) -> dict | None:
    """What it takes to finish trial ``trial`` (left RUNNING by a killed sweep) from its run's last
    checkpoint: its run, the epochs done and left; None when there is nothing to resume from."""
    from ..errors import ModelFileError
    from ..store.checkpoint import load_checkpoint
    from ..store.runstore import RunStoreError

    rows = store._read("SELECT run_id FROM sweep_trials WHERE sweep = ? AND trial = ?", (plan.name, trial.number + 1))
    if not rows:
        return None
    try:
        run = store.get_run(rows[0]["run_id"], with_epochs=False)
        if run.status not in ("interrupted", "running") or run.checkpoint is None or not run.checkpoint.exists():
            return None
        done = load_checkpoint(run.checkpoint, data, for_resume=True).epochs_done
    except (RunStoreError, ModelFileError, OSError):
        return None
    planned = plan.space.config_for(plan.base, dict(trial.params)).epochs
    if not 0 < done < planned:
        return None
    return {
        "trial_id": trial._trial_id,
        "trial": trial.number + 1,
        "run_id": run.run_id,
        "params": dict(trial.params),
        "epochs_done": done,
        "more": planned - done,
    }


def run_local(
    plan: SweepPlan,
    data,
    store_path: str | Path,
    *,
    workers: int | None = None,
    on_event: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    trial_hook: Callable[[int, dict], None] | None = None,
    poll_s: float = 0.2,
    worker_log: str | Path | None = None,
) -> SweepOutcome:
    """Run (or continue) ``plan`` in worker processes; ``on_event`` gets plain dicts in this process:
    {"kind": "sweep_started"|"trial_started"|"epoch"|"trial_done"|"worker_died"|"sweep_done", ...}.
    ``trial_hook(trial, params)`` runs in the worker before each trial (tests use it to crash one).
    ``worker_log``: a file the workers' stdout and stderr go to (appended) instead of this process's
    terminal, which a full-screen app owns."""
    from multiprocessing import connection

    from ..store.runstore import RunStore

    emit = on_event or (lambda event: None)
    store = RunStore.open(store_path)
    asks = None
    readers: dict[int, Any] = {}  # worker index -> the end of its events pipe read here
    budget_to: dict[int, Any] = {}  # worker index -> the end of its budget pipe written here

    def forget(index: int) -> None:
        for conns in (readers, budget_to):
            conn = conns.pop(index, None)
            if conn is not None:
                conn.close()

    try:
        ctx = _process_context()
        _start_resource_tracker()
        # Nothing here can be left held by a worker that dies (engine/sweep/channels.py). The ask
        # lock's file stays beside the store (empty, reused, like SQLite's own): a file made per
        # sweep would be left behind by every sweep killed outright.
        asks = ProcessLock(f"{store.path}.asks.lock")  # one ask at a time; guards claimed and resumed_next
        claimed = ctx.Value("i", 0, lock=False)
        stop = Flag(ctx)
        args = dict(
            plan=plan,
            data=data,
            store_path=str(store.path),
            claimed=claimed,
            asks=asks,
            stop=stop,
            trial_hook=trial_hook,
            resumed_next=ctx.Value("i", 0, lock=False),
            worker_log=str(worker_log) if worker_log else None,
            environ=dict(os.environ),  # a forked worker has the server's, from when it started
        )
        procs: dict[int, Any] = {}
        next_index = 0

        def spawn() -> None:
            nonlocal next_index
            events_in, events_out = ctx.Pipe(duplex=False)
            budget_in, budget_out = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_worker_entry,
                kwargs={**args, "index": next_index, "events": events_out, "budgets": budget_in},
                daemon=True,
                name=f"sweep-{plan.name}-{next_index}",
            )
            with _signals_held():
                proc.start()
            events_out.close()  # the worker's copies are its own: its death reads here as an end of file
            budget_in.close()
            procs[next_index], readers[next_index], budget_to[next_index] = proc, events_in, budget_out
            next_index += 1

        def give_budget(index: int) -> None:
            try:
                budget_to.pop(index).send(budget)
            except OSError:  # it died meanwhile: the loop below sees that
                pass

        def start_workers() -> None:
            """As many workers as the sweep can use at most (see ``checked`` for when)."""
            for _ in range(worker_count(workers, plan.trials, plan.pack or 1)):
                spawn()

        def dismiss(count: int) -> None:
            """Workers beyond ``count`` end before they were told anything (they only imported)."""
            for index in sorted(procs)[count:]:
                procs[index].kill()  # SIGKILL: SIGTERM is blocked until the worker's own start-up unblocks it
                procs.pop(index).join()
                forget(index)

        def checked() -> None:
            """The sweep will run: forked workers' server starts importing (a worker's start waits
            for those imports, so the workers start once the study is open); spawned workers
            start now, their own imports overlapping the study's opening. Neither for a continue
            whose budget is spent: the server's imports alone are seconds of CPU."""
            if not may_need_workers(store, plan):
                return
            if not start_worker_server():
                start_workers()

        resumable: list[dict] = []
        try:
            study, done_before, interrupted = prepare(plan, store, data, resumable=resumable, checked=checked)
            remaining = None if plan.trials is None else max(plan.trials - done_before, 0)
            if not procs and remaining != 0:
                start_workers()
        except BaseException:
            dismiss(0)
            raise
        outcome = SweepOutcome(
            plan.name, "finished", done_before=done_before, interrupted=interrupted, resumed=resumable
        )
        deadline = time.time() + plan.timeout_s if plan.timeout_s else None
        count = worker_count(workers, remaining, plan.pack or 1)  # a worker takes up to a pack at once
        dismiss(count)
        budget = {"remaining": remaining, "deadline": deadline, "resumable": resumable}
        for index in procs:
            give_budget(index)
        emit(started_event(plan, done_before, remaining, count, interrupted, resumable))
        if count == 0:
            records.end_sweep(store, plan.name, "finished")
            emit({"kind": "sweep_done", "status": "finished", "ran": 0})
            return outcome
        current: dict[int, dict] = {}  # worker index -> its trial_started event
        errors: list[str] = []  # what made workers end early (worker_error events), one line each

        def received(timeout: float, ended: bool = False):
            """The events the workers sent, as they come within ``timeout``; a pipe whose worker
            ended (its last events read) is closed. ``ended``: a worker process that has ended but
            is not yet collected also ends the wait (its pipe closes before the process is gone:
            waiting out ``timeout`` there was most of the 0.3 s between a sweep's last trial and
            its end)."""
            index_of = {id(conn): index for index, conn in readers.items()}
            ends = [proc.sentinel for index, proc in procs.items() if index not in readers] if ended else []
            for conn in connection.wait([*readers.values(), *ends], timeout):
                index = index_of.get(id(conn))
                if index is None:  # a process's sentinel: the loop collects it
                    continue
                try:
                    while conn.poll():
                        yield conn.recv()
                except (EOFError, OSError):  # it ended, or died mid-message: what it sent whole was read
                    readers.pop(index).close()

        def drain(timeout: float) -> None:
            for event in received(timeout, ended=True):
                worker = event.pop("worker", None)
                if event["kind"] == "trial_started":
                    current[worker] = event
                elif event["kind"] == "trial_done":
                    current.pop(worker, None)
                    outcome.ran.append(TrialOutcome(**{k: v for k, v in event.items() if k != "kind"}))
                    if event["state"] == "failed" and disk_full(event["reason"] or ""):
                        errors.append(event["reason"])
                elif event["kind"] == "worker_error":
                    errors.append(event["error"])
                emit(event)

        early_deaths = 0  # workers that died without a trial (a broken environment, not a bad trial)
        try:
            while procs:
                if should_stop is not None and should_stop() and not stop.is_set():
                    stop.set()
                    emit({"kind": "stopping"})
                drain(poll_s)
                full = next((e for e in errors if disk_full(e)), None)
                if full is not None:  # every further trial would fail the same way: stop, say it once
                    # Nothing more can be recorded: the workers end now, not after their trials. A
                    # trial cut short stays to be resumed from its last checkpoint.
                    for proc in procs.values():
                        proc.kill()
                    raise SweepError(
                        f"no space left to record sweep {plan.name!r} ({full}): stopped after "
                        f"{len(outcome.ran)} trial{'s' if len(outcome.ran) != 1 else ''} this time; "
                        f"free some space, then `ridership sweep --continue {plan.name}`"
                    )
                for index, proc in list(procs.items()):
                    if proc.is_alive():
                        continue
                    proc.join()
                    while index in readers:  # its last events, to its pipe's end (it has exited)
                        drain(0.05)
                    del procs[index]
                    forget(index)
                    current.pop(index, None)
                    if proc.exitcode != 0:
                        lost, unstarted = _worker_died(store, study, proc.pid, proc.exitcode)
                        if unstarted:
                            with asks:  # its trials asked for later packs: for others to run
                                claimed.value -= unstarted
                        for died in lost:
                            outcome.ran.append(died)
                            emit({"kind": "worker_died", "exitcode": proc.exitcode, "trial": died.trial})
                            emit(died.to_event())
                        if not lost:  # it died before its first trial: starting another would too
                            early_deaths += 1
                            if early_deaths > EARLY_DEATHS_PER_WORKER * count:
                                raise SweepError(
                                    f"the sweep's worker processes die before their first trial (exit code "
                                    f"{proc.exitcode}, {early_deaths} times"
                                    + (f": {errors[-1]})" if errors else ")")
                                    + (f"; their output is in {worker_log}" if worker_log else "")
                                )
                        budget_left = remaining is None or claimed.value < remaining
                        if not stop.is_set() and budget_left and (deadline is None or time.time() < deadline):
                            spawn()  # the sweep goes on
                            give_budget(next_index - 1)
        except BaseException:
            stop.set()
            until = time.monotonic() + 30
            for proc in procs.values():
                while proc.is_alive() and time.monotonic() < until:
                    for _ in received(0.1):  # read on, so that no worker blocks sending as it stops
                        pass
            try:
                records.end_sweep(store, plan.name, "stopped")  # not left "running" under this pid
            except RidershipError:
                pass
            raise
        drain(0.05)
        outcome.status = "stopped" if stop.is_set() else "finished"
        if outcome.status == "finished" and outcome.ran and all(t.state == "failed" for t in outcome.ran):
            outcome.status = "failed"  # not one trial of this session trained to the end: say so
        records.end_sweep(store, plan.name, outcome.status)
        emit({"kind": "sweep_done", "status": outcome.status, "ran": len(outcome.ran)})
        return outcome
    finally:
        for index in list(readers) + list(budget_to):
            forget(index)
        if asks is not None:
            asks.close()
        store.close()


def _worker_died(store, study, pid: int, exitcode: int) -> tuple[list[TrialOutcome], int]:
    """Worker ``pid`` ended abnormally: its trials left RUNNING (found by the pid it noted, since its
    last messages may not have left the process) and their runs are failed. Returns them, and how
    many trials it had asked for a later pack and not started (given back, not counted)."""
    from optuna.trial import TrialState

    reason = f"the worker process died (exit code {exitcode}) during the trial"
    lost, unstarted = [], 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("pid") != pid:
            if t.user_attrs.get("pid") is None and t.user_attrs.get(ASKED_BY) == pid:
                try:
                    study._storage.set_trial_user_attr(t._trial_id, "stopped", True)
                    study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
                    unstarted += 1
                except Exception:  # noqa: BLE001 - it ended meanwhile
                    pass
            continue
        try:
            study._storage.set_trial_user_attr(t._trial_id, COUNTED, True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except Exception:  # noqa: BLE001 - it ended meanwhile
            continue
        number, run_id = t.number + 1, None
        for row in store._read(
            "SELECT run_id FROM sweep_trials WHERE sweep = ? AND trial = ?", (study.study_name, number)
        ):
            run_id = row["run_id"]
            try:
                store.finish_run(run_id, "failed", reason)
            except RidershipError:
                pass
        lost.append(TrialOutcome(number, run_id, "failed", None, reason, dict(t.params)))
    return lost, unstarted


# -- the worker process ---------------------------------------------------------------------------


# What the forkserver imports once for all workers before their first trial: what _worker_main and
# _warm_up import. Not LightGBM (0.4 s): a worker needs it only to fit the reference, which its
# prefetch thread does while the first trial trains, and not at all once the reference is cached.
_ENGINE = __name__.split(".")[0]
WORKER_IMPORTS = [
    "torch",
    "optuna.storages._rdb.models",
    f"{_ENGINE}.scoring",
    f"{_ENGINE}.training",
    f"{_ENGINE}.store.runstore",
    __name__,
]


def _process_context():
    """forkserver on Linux (workers forked from a process that has imported WORKER_IMPORTS), spawn
    elsewhere: macOS's system libraries are not safe to fork once loaded, and Windows cannot fork."""
    import multiprocessing as mp

    if not sys.platform.startswith("linux"):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_IMPORTS)
    return ctx


def may_need_workers(store, plan: SweepPlan) -> bool:
    """Whether starting the workers' server ahead is worth it: not for a sweep another process is
    running (it is refused) nor for one whose trial budget its recorded trials already spent (it
    only reports). A wrong guess costs nothing but time: a worker's start starts the server."""
    if records.sweep_running_elsewhere(store, plan.name) is not None:
        return False
    if plan.trials is None or plan.timeout_s is not None:
        return True
    return records.trials_done(store, plan.name) < plan.trials


def _start_resource_tracker() -> None:
    """multiprocessing's resource tracker, started before the first semaphore or server with the
    terminal's signals held: it ignores SIGINT and SIGTERM but not a hang-up, and killed by one it
    would print a traceback."""
    from multiprocessing import resource_tracker

    with _signals_held():
        resource_tracker.ensure_running()


def start_worker_server() -> bool:
    """Start the process the workers are forked from, if the platform has one, and return at once:
    its imports (2 s in a fresh interpreter; none of what this process has imported where it is a
    fork of it) then overlap whatever this process does before the workers are needed (the CLI
    loads the data meanwhile; run_local opens the study). False where workers are spawned."""
    if _process_context().get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    # Started first on its own: starting the tracker unblocks SIGINT and SIGTERM in this thread as
    # it returns (multiprocessing's own masking), which left the server, and so every worker,
    # killable by a Ctrl+C while reading its arguments (the sweep then ended unrecorded).
    _start_resource_tracker()
    with _signals_held(), servers_forked() if fork_is_safe() else nullcontext():
        forkserver.ensure_running()  # the held signals are inherited by the server and its workers
    return True


def _release_forkserver() -> None:
    """A forked worker holds a copy of the write end of the forkserver's "alive" pipe, which keeps
    the server running until every such copy closes. Closed here, the server ends when the sweep's
    process does (even by SIGKILL), and the workers with it (_die_with_parent)."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def end_forkserver() -> None:
    """End the workers' forkserver now, if this process started one and its sweeps are over (the
    CLI, as its command ends). Left alone it ends when this process does, but only after its own
    teardown (about 1 s with torch loaded), outliving the command by that second; it holds nothing
    that needs a clean end."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server._stop()  # reaps it and removes its socket


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the one that started it dies (a sweep killed with SIGKILL)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _redirect_output(path: str) -> None:
    """This process's file descriptors 1 and 2 (C libraries write there too) into ``path``."""
    import sys

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


_HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGINT", "SIGTERM") if hasattr(signal, name))


@contextmanager
def _signals_held():
    """Hang-up, Ctrl+C and SIGTERM blocked in this thread while helper processes start: they inherit
    the mask, so what a terminal sends the whole process group reaches only this process, which
    stops the sweep. A worker killed by it while reading its arguments (the data: more than a pipe
    holds) would leave this process blocked for ever writing them (measured: a Ctrl+C 0.8 s into a
    sweep did); the resource tracker ignores SIGINT and SIGTERM but not SIGHUP, and killed it
    would print a traceback. A signal arriving meanwhile waits, not lost."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set(_HELD_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _one_line(exc: BaseException) -> str:
    """What went wrong, in one line: the innermost cause that says it (optuna wraps SQLite's
    "database or disk is full" in a StorageInternalError saying only that a commit failed)."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    for candidate in chain:
        text = str(candidate).strip().splitlines()[0] if str(candidate).strip() else ""
        if disk_full(text):
            return text
    text = str(chain[0]).strip()
    return text.splitlines()[0] if text else type(chain[0]).__name__


def _worker_entry(*, events, index: int, **kwargs) -> None:
    """A worker process: its error goes to the sweep as one line (the sweep decides what to say),
    not as a traceback on the terminal."""
    try:
        _worker_main(events=events, index=index, **kwargs)
        # Done: its store is closed and its last messages flushed, so the interpreter's teardown
        # (about 1 s with torch, pandas and LightGBM loaded, measured) is skipped: the sweep ends
        # that much sooner after its last trial.
        events.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    except Exception as exc:  # noqa: BLE001 - reported, then the process ends with code 1
        try:
            events.send({"kind": "worker_error", "worker": index, "error": _one_line(exc)})
            events.close()
        finally:
            raise SystemExit(1) from None


def _prefetch_reference(config, data) -> None:
    try:
        from ..data.windows import make_splits
        from ..scoring import reference_for

        reference_for(data, make_splits(data, config), config)
    except Exception:  # noqa: BLE001 - the trial's own scoring fits it again, or says why it cannot
        pass


def _warm_up() -> None:
    """What a worker's first trial would import, imported while it waits for the driver (already
    there in a forked worker): the training path (torch, torchmetrics) and Optuna's SQL storage."""
    import optuna.storages._rdb.models  # noqa: F401

    from .. import scoring, training  # noqa: F401


def _worker_main(
    *,
    plan: SweepPlan,
    data,
    store_path: str,
    claimed,
    asks,
    stop,
    events,
    budgets,
    trial_hook,
    index: int,
    worker_log: str | None = None,
    resumed_next=None,
    environ: dict[str, str] | None = None,
) -> None:
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    if worker_log:
        _redirect_output(worker_log)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the parent decides
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # so does a closed terminal's hang-up
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by _signals_held while this process started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    _release_forkserver()
    set_name(f"sweep-worker-{index}")
    parent = os.getppid()  # the forkserver on Linux, which ends with the sweep's process
    _die_with_parent()
    if os.getppid() != parent:
        return
    import optuna
    import torch

    from ..store.runstore import RunStore

    torch.set_num_threads(1)
    _warm_up()
    # The LightGBM reference each trial is scored beside, fitted meanwhile (seconds, in C++ without
    # the GIL) rather than after the first trial's epochs; one worker fits, the others read its file.
    threading.Thread(target=_prefetch_reference, args=(plan.base, data), daemon=True, name="reference").start()
    quiet_optuna()
    pack = packed.pack_size(plan)  # here, where torch is: the default depends on the device

    def halted() -> bool:
        return stop.is_set() or os.getppid() != parent

    def send(event: dict) -> None:
        try:
            events.send(event)
        except (BrokenPipeError, ConnectionResetError):
            # The driver is gone (killed): end as if killed with it, the trial left as it is (RUNNING,
            # its run's last checkpoint kept) for `--continue` to finish, not recorded as failed.
            os._exit(1)

    while not budgets.poll(0.2):  # the driver prepares the sweep meanwhile (it started this worker first)
        if halted():
            return
    try:
        budget = budgets.recv()
    except EOFError:  # the driver closed it unsent: this worker is not needed
        return
    remaining, deadline, resumable = budget["remaining"], budget["deadline"], budget["resumable"]
    store = RunStore.open(store_path)
    study = optuna.load_study(
        study_name=plan.name,
        storage=storage(store_path, prepared=True),  # by the driver, which opened the study
        sampler=make_sampler(plan, index + 1 + int(time.time()) % 100000),
        pruner=make_pruner(plan),
    )

    def start(trial, job: dict | None = None) -> TrialRun:
        """Announce ``trial`` (its settings; the pid that runs it, for _worker_died) and make its TrialRun."""
        params = dict(trial.params)
        number = trial.number + 1
        trial.set_user_attr("pid", os.getpid())
        send(
            {
                "kind": "trial_started",
                "worker": index,
                "trial": number,
                "trial_id": trial._trial_id,
                "sweep": plan.name,
                "params": params,
                "resumed_from": job and job["run_id"],
            }
        )
        if trial_hook is not None:
            trial_hook(number, params)

        def report(epoch: int, valid_mae: float) -> bool:
            trial.report(valid_mae, epoch)
            return trial.should_prune()

        def on_epoch(event) -> None:
            send(
                {
                    "kind": "epoch",
                    "worker": index,
                    "trial": number,
                    "epoch": event.epoch,
                    "epochs": event.epochs,
                    "valid_mae": event.valid_mae_riders,
                }
            )

        return TrialRun(
            store=store,
            base=plan.base,
            space=plan.space,
            params=params,
            sweep=plan.name,
            trial=number,
            objective=plan.objective,
            report=report,
            on_epoch=on_epoch,
            resume=job,
        )

    def end(trial, outcome: TrialOutcome) -> None:
        """Tell the study how ``trial`` ended, then the sweep."""
        if outcome.run_id is not None:
            trial.set_user_attr("run_id", outcome.run_id)
        if outcome.state == "stopped":
            trial.set_user_attr("stopped", True)  # by the sweep's stop: does not count
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            trial.set_user_attr(COUNTED, True)
            if outcome.state == "complete" and outcome.value is not None and math.isfinite(outcome.value):
                study.tell(trial, outcome.value)
            elif outcome.state == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                trial.set_user_attr("reason", outcome.reason[:500])
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        send({**outcome.to_event(), "worker": index})

    def drop(trial) -> None:
        """A trial asked for a pack that never started: given back, not counted (as a stopped one)."""
        trial.set_user_attr("stopped", True)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)

    try:
        while not halted() and (deadline is None or time.time() < deadline):
            with asks:  # one ask at a time: each sees the others' settings (no repeats)
                if remaining is not None and claimed.value >= remaining:
                    break
                job = None
                if resumable and resumed_next is not None and resumed_next.value < len(resumable):
                    job = resumable[resumed_next.value]  # an interrupted trial first, from its checkpoint
                    resumed_next.value += 1
                    asked = [optuna.trial.Trial(study, job["trial_id"])]
                else:
                    take = pack if remaining is None else min(pack, remaining - claimed.value)
                    asked = [ask_distinct(study, plan.space) for _ in range(take)]
                    if take > 1:
                        for trial in asked:  # a death before its group starts gives it back (_worker_died)
                            trial.set_user_attr(ASKED_BY, os.getpid())
                claimed.value += len(asked)
            if len(asked) == 1:
                end(asked[0], train_alone(start(asked[0], job), data, halted))
            else:
                packed.run_asked(
                    asked,
                    plan,
                    start=start,
                    end=end,
                    drop=drop,
                    data=data,
                    store=store,
                    halted=halted,
                    deadline=deadline,
                )
    finally:
        store.close()
