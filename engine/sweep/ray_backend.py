"""The Ray backend: the same trials as the local one, run by Ray actors on this machine or a cluster.

Ray is optional (``pip install -e ".[ray]"``). Without ``address`` Ray starts here (``workers``
CPUs); with one (``HOST:PORT`` of a cluster's head, or ``auto``), the trials run on that cluster.

Everything that decides stays in this (the driver's) process: the Optuna study beside the run store
asks every trial's settings (so parallel trials never repeat each other), the median pruner reads
the epochs as they come back, and the sweep's stop (Ctrl+C, SIGTERM, the app) is a flag read here.
Nothing but plain values crosses to Ray: the settings, the data (once, through Ray's object store),
a trial number and a run id. A trial never opens the run store — the nodes of a cluster do not
share the driver's disk: it runs engine.session with a RelayStore (engine/sweep/relay.py) whose
epochs, scores and checkpoint bytes the driver polls and records here. One actor per slot trains
one trial after another (no process start per trial).

A trial left running by a sweep that was killed is resumed by ``--continue`` from its run's last
checkpoint, as with local workers (engine/sweep/local.py's ``prepare`` finds them): the driver
records the new run (its parent the interrupted one) and ships the checkpoint to the actor.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import records
from .local import (
    COUNTED,
    SweepError,
    SweepOutcome,
    SweepPlan,
    make_pruner,
    make_sampler,
    prepare,
    started_event,
    storage,
    worker_count,
)
from .trial import TrialOutcome

RAY_HINT = 'the ray backend needs Ray: pip install -e ".[ray]"'
CONNECT_TIMEOUT_S = 20.0  # to reach a cluster's head (--address): answer or refuse within this
STOP_GRACE_S = 20.0  # stopped trials end within a batch; after this their actors are killed


def _ray():
    try:
        import ray
    except ImportError:
        raise SweepError(RAY_HINT) from None
    return ray


def parse_address(address: str | None) -> tuple[str, int] | None:
    """``HOST:PORT`` (or ``auto``: None) of a Ray cluster's head; SweepError (one line) otherwise."""
    if address is None or address.strip() == "auto":
        return None
    text = address.strip()
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    ok_host = bool(host) and all(c.isalnum() or c in ".-_:" for c in host)
    if not sep or not ok_host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SweepError(
            f"--address {address!r}: expected HOST:PORT of a Ray cluster's head "
            "(e.g. 10.0.0.5:6379, as `ray start --head` prints it) or auto"
        )
    return host, int(port)


def check_resources(gpus_per_trial: float, cpus_per_trial: float) -> None:
    if not (math.isfinite(gpus_per_trial) and gpus_per_trial >= 0):
        raise SweepError(f"--gpus-per-trial: expected a number >= 0 (e.g. 0.25), got {gpus_per_trial!r}")
    if not (math.isfinite(cpus_per_trial) and cpus_per_trial > 0):
        raise SweepError(f"--cpus-per-trial: expected a number > 0, got {cpus_per_trial!r}")


# -- the actor (runs on a Ray worker) -------------------------------------------------------------


TRIAL_FOLDER_PREFIX = "ridership-trial-"


def trial_folder() -> str:
    """A temporary folder for one trial on this node, named by this process's id. Folders of trial
    processes that no longer exist are removed first: an actor killed mid-trial (a Ctrl+C, a
    SIGKILLed sweep) never removes its own."""
    import tempfile

    remove_orphaned_trial_folders(Path(tempfile.gettempdir()))
    return tempfile.mkdtemp(prefix=f"{TRIAL_FOLDER_PREFIX}{os.getpid()}-")


def remove_orphaned_trial_folders(root: Path) -> list[Path]:
    """Remove the trial folders in ``root`` whose process is gone; returns them. Folders not named
    by a process id (made by older versions) are left: nothing tells whether they are in use."""
    import shutil

    removed = []
    for folder in root.glob(f"{TRIAL_FOLDER_PREFIX}*"):
        pid = folder.name[len(TRIAL_FOLDER_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _process_exists(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class TrialRunner:
    """One slot: trains the trials it is given, one at a time. ``poll`` runs beside ``run``
    (max_concurrency=2): it hands the driver the trial's messages and takes its halt flag."""

    def __init__(self, data) -> None:
        import torch

        if not torch.cuda.is_available():
            torch.set_num_threads(1)
        self.data = data
        self.relay = None
        self.halt: str | None = None  # "prune" or "stop"

    def run(self, run_id: int, config, objective: str, resume: dict | None = None) -> dict[str, Any]:
        """Train trial ``run_id`` (``resume``: {"parent": id, "more": epochs, "bytes": its checkpoint}
        continues an interrupted trial's run instead)."""
        import shutil

        import torch

        from ..session import resume_run, start_run
        from .relay import RelayStore
        from .trial import objective_value

        if config.device == "auto" and torch.cuda.is_available():
            config = config.replace(device="cuda")
        self.halt = None
        folder = trial_folder()
        try:
            self.relay = relay = RelayStore(run_id, folder)
            try:
                if resume is not None:
                    relay.get_run(resume["parent"]).checkpoint.write_bytes(resume["bytes"])
                    result = resume_run(
                        relay,
                        resume["parent"],
                        resume["more"],
                        self.data,
                        device=config.device if config.device != "auto" else None,
                        should_stop=lambda: self.halt is not None,
                    )
                else:
                    result = start_run(config, self.data, store=relay, should_stop=lambda: self.halt is not None)
            except Exception as exc:  # noqa: BLE001 - a trial's crash is its outcome
                from ..errors import RidershipError

                reason = (
                    str(exc) if isinstance(exc, RidershipError) and str(exc).strip() else f"{type(exc).__name__}: {exc}"
                )
                return {"status": "failed", "reason": reason, "messages": relay.take()}
            valid, test = result.scores.get("valid"), result.scores.get("test")
            return {
                "status": result.status,
                "reason": result.reason,
                "halt": self.halt,
                "value": objective_value(objective, result) if result.status == "finished" else None,
                "valid_mae": valid.mae if valid else None,
                "test_mae": test.mae if test else None,
                "epochs_done": len(result.history),
                "messages": relay.take(),
            }
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def poll(self, halt: str | None = None) -> list[dict[str, Any]]:
        if halt and self.halt is None:
            self.halt = halt
        relay = self.relay
        return relay.take() if relay is not None else []


# -- the driver -----------------------------------------------------------------------------------


@dataclass
class _Slot:
    actor: Any
    trial: Any = None  # the optuna Trial it trains, None when idle
    number: int = 0
    run_id: int | None = None
    params: dict = field(default_factory=dict)
    ref: Any = None  # the ObjectRef of run()
    halt: str | None = None
    sent_halt: bool = False
    epochs: int = 0
    polling: Any = None  # the ObjectRef of a poll() not yet collected


_STDERR_FOR_RAY: list = []  # the file faulthandler writes to, kept open for the process's life


@contextlib.contextmanager
def _real_stderr():
    """ray.init enables faulthandler on sys.stderr, which needs a real file descriptor. Inside the
    Textual app sys.stderr is a capture whose fileno is -1 ("file.fileno() is not a valid file
    descriptor"): while Ray starts, stderr is the null device (kept open: faulthandler keeps it;
    the trials' output goes to Ray's own logs), then the capture again."""
    import sys

    try:
        real = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        real = False
    if real:
        yield
        return
    if not _STDERR_FOR_RAY:
        _STDERR_FOR_RAY.append(open(os.devnull, "w"))  # noqa: SIM115 - kept open on purpose
    saved, sys.stderr = sys.stderr, _STDERR_FOR_RAY[0]
    try:
        yield
    finally:
        sys.stderr = saved


def _connect(ray, address: str | None, num_cpus: int, timeout_s: float, should_stop: Callable[[], bool] | None) -> None:
    """Start Ray here, or join ``address``: refused or unanswered within ``timeout_s`` is one
    line, and a stop asked meanwhile is obeyed."""
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    if address is None:
        with _real_stderr():
            ray.init(num_cpus=num_cpus, **kwargs)
        return
    target = parse_address(address)
    deadline = time.monotonic() + timeout_s
    if target is not None:
        host, port = target
        while True:
            left = deadline - time.monotonic()
            if should_stop is not None and should_stop():
                raise SweepError(f"stopped while connecting to the Ray cluster at {address}")
            try:
                socket.create_connection((host, port), timeout=max(0.1, min(1.0, left))).close()
                break
            except ConnectionRefusedError:
                raise SweepError(
                    f"cannot reach the Ray cluster at {address}: connection refused "
                    "(is `ray start --head` running there, on that port?)"
                ) from None
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise SweepError(
                        f"cannot reach the Ray cluster at {address}: no answer within "
                        f"{timeout_s:g} s ({exc.strerror or exc})"
                    ) from None
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))  # unreachable at once: retry
    failure: list[BaseException] = []

    def init() -> None:
        try:
            with _real_stderr():
                ray.init(address=address, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported by the waiting thread
            failure.append(exc)

    thread = threading.Thread(target=init, daemon=True, name="ray-connect")
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        if should_stop is not None and should_stop():
            raise SweepError(f"stopped while connecting to the Ray cluster at {address}")
        if time.monotonic() >= deadline and thread.is_alive():
            raise SweepError(f"cannot join the Ray cluster at {address}: no answer within {timeout_s:g} s")
    if failure:
        raise SweepError(f"cannot join the Ray cluster at {address}: {str(failure[0]).splitlines()[0]}")


def run_ray(
    plan: SweepPlan,
    data,
    store_path: str | Path,
    *,
    workers: int | None = None,
    address: str | None = None,
    gpus_per_trial: float = 0.0,
    cpus_per_trial: float = 1.0,
    on_event: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    poll_s: float = 0.2,
) -> SweepOutcome:
    """Run (or continue) ``plan`` on Ray; the same events as ``run_local``."""
    ray = _ray()
    from ..store.runstore import RunStore

    check_resources(gpus_per_trial, cpus_per_trial)
    parse_address(address)
    emit = on_event or (lambda event: None)
    store = RunStore.open(store_path)
    try:
        resumable: list[dict] = []
        study, done_before, interrupted = prepare(plan, store, data, backend="ray", resumable=resumable)
        outcome = SweepOutcome(
            plan.name, "finished", done_before=done_before, interrupted=interrupted, resumed=resumable
        )
        remaining = None if plan.trials is None else max(plan.trials - done_before, 0)
        count = worker_count(workers, remaining)
        emit(started_event(plan, done_before, remaining, count, interrupted, resumable))
        if count == 0:
            records.end_sweep(store, plan.name, "finished")
            emit({"kind": "sweep_done", "status": "finished", "ran": 0})
            return outcome
        started_ray = not ray.is_initialized()
        try:
            if started_ray:
                _connect(ray, address, max(1, math.ceil(count * cpus_per_trial)), connect_timeout_s, should_stop)
            stopped = _drive(
                ray,
                plan,
                data,
                store,
                study,
                outcome,
                remaining,
                count,
                gpus_per_trial,
                cpus_per_trial,
                emit,
                should_stop,
                poll_s,
                list(resumable),
            )
        except BaseException:
            try:
                records.end_sweep(store, plan.name, "stopped")  # not left "running"
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
        finally:
            if started_ray:  # also after a ray.init that failed half-way: its daemons may be up
                with contextlib.suppress(Exception):
                    ray.shutdown()
        outcome.status = "stopped" if stopped else "finished"
        records.end_sweep(store, plan.name, outcome.status)
        emit({"kind": "sweep_done", "status": outcome.status, "ran": len(outcome.ran)})
        return outcome
    finally:
        store.close()


def _drive(
    ray,
    plan,
    data,
    store,
    study,
    outcome,
    remaining,
    count,
    gpus,
    cpus,
    emit,
    should_stop,
    poll_s,
    resumable: list[dict],
) -> bool:
    """The driver's loop: fill idle slots with new trials, relay the running ones' records, end
    each one in the study and the store. Returns whether the sweep was stopped."""
    import optuna

    from .asking import ask_distinct

    study = optuna.load_study(
        study_name=plan.name,
        storage=storage(store.path),
        sampler=make_sampler(plan, len(study.trials)),
        pruner=make_pruner(plan),
    )
    deadline = time.time() + plan.timeout_s if plan.timeout_s else None
    data_ref = ray.put(data)
    runner = ray.remote(TrialRunner).options(num_cpus=cpus, num_gpus=gpus, max_concurrency=2)
    slots = [_Slot(runner.remote(data_ref)) for _ in range(count)]
    claimed = 0
    stopping_since: float | None = None
    try:
        while True:
            if stopping_since is None and should_stop is not None and should_stop():
                stopping_since = time.monotonic()
                emit({"kind": "stopping"})
                for slot in slots:
                    if slot.trial is not None and slot.halt is None:
                        slot.halt = "stop"
            budget_left = remaining is None or claimed < remaining
            for slot in slots:
                if (
                    slot.trial is None
                    and stopping_since is None
                    and budget_left
                    and (deadline is None or time.time() < deadline)
                ):
                    _start(slot, plan, data, store, study, ask_distinct, emit, resumable.pop(0) if resumable else None)
                    claimed += 1
                    budget_left = remaining is None or claimed < remaining
            busy = [s for s in slots if s.trial is not None]
            if not busy:
                break
            if stopping_since is not None and time.monotonic() - stopping_since > STOP_GRACE_S:
                for slot in busy:
                    ray.kill(slot.actor)
            ready, _ = ray.wait([s.ref for s in busy], num_returns=len(busy), timeout=poll_s)
            for slot in busy:
                if slot.ref in ready:
                    _finish(ray, slot, plan, store, study, outcome, emit, runner, data_ref, slots)
                else:
                    _poll(ray, slot, plan, store, emit)
        return stopping_since is not None
    finally:
        for slot in slots:
            try:
                ray.kill(slot.actor)
            except Exception:  # noqa: BLE001 - already gone
                pass


def _start(slot: _Slot, plan, data, store, study, ask_distinct, emit, job: dict | None = None) -> None:
    """A new trial in ``slot`` (or ``job``, an interrupted one resumed from its checkpoint): its run
    recorded here first, so the trial only reports to it."""
    import optuna

    resume = None
    if job is None:
        trial = ask_distinct(study, plan.space)
        params = dict(trial.params)
        config = plan.space.config_for(plan.base, params)
        run_id = store.start_run(config, data, config.device if config.device != "auto" else "cpu", torch_version="")
    else:
        from ..events import event_from_dict
        from ..store.checkpoint import load_checkpoint

        trial, params = optuna.trial.Trial(study, job["trial_id"]), dict(job["params"])
        parent = store.get_run(job["run_id"], with_epochs=False)
        checkpoint = load_checkpoint(parent.checkpoint, data, for_resume=True)
        config = checkpoint.config.replace(epochs=checkpoint.epochs_done + job["more"])
        inherited = tuple(event_from_dict(e) for e in checkpoint.resume_state["history"])
        run_id = store.start_run(
            config,
            data,
            config.device if config.device != "auto" else "cpu",
            torch_version="",
            parent_id=parent.run_id,
            origin="resume",
            inherited=inherited,
        )
        records.untag(store, parent.run_id)  # the trial is the new run now
        resume = {"parent": parent.run_id, "more": job["more"], "bytes": parent.checkpoint.read_bytes()}
    number = records.tag_trial(store, run_id, plan.name, trial.number + 1, params)
    trial.set_user_attr("run_id", run_id)
    slot.trial, slot.number, slot.run_id, slot.params = trial, number, run_id, params
    slot.halt, slot.sent_halt, slot.polling = None, False, None
    slot.epochs = checkpoint.epochs_done if job is not None else 0
    slot.ref = slot.actor.run.remote(run_id, config, plan.objective, resume)
    emit(
        {
            "kind": "trial_started",
            "trial": number,
            "trial_id": trial._trial_id,
            "sweep": plan.name,
            "params": params,
            "run_id": run_id,
            "resumed_from": job and job["run_id"],
        }
    )


def _record(slot: _Slot, store, messages, emit) -> None:
    from .relay import apply

    for event in apply(store, slot.run_id, messages):
        slot.epochs = event.epoch
        emit(
            {
                "kind": "epoch",
                "trial": slot.number,
                "epoch": event.epoch,
                "epochs": event.epochs,
                "valid_mae": event.valid_mae_riders,
            }
        )
        if slot.halt is None:
            slot.trial.report(event.valid_mae_riders, event.epoch)
            if event.epoch < event.epochs and slot.trial.should_prune():
                slot.halt = "prune"


def _poll(ray, slot: _Slot, plan, store, emit) -> None:
    """Collect the answer of the slot's last poll if it came (never waiting: an actor still
    waiting for a CPU must not hold the loop up), then ask again, with the halt flag if any."""
    if slot.polling is not None:
        ready, _ = ray.wait([slot.polling], timeout=0)
        if not ready:
            return
        try:
            messages = ray.get(slot.polling)
        except Exception:  # noqa: BLE001 - the actor is gone; run()'s result tells
            messages = []
        slot.polling = None
        _record(slot, store, messages, emit)
    halt = slot.halt if not slot.sent_halt else None
    slot.polling = slot.actor.poll.remote(halt)
    slot.sent_halt = slot.sent_halt or halt is not None


def _finish(ray, slot: _Slot, plan, store, study, outcome, emit, runner, data_ref, slots) -> None:
    import optuna
    from optuna.trial import TrialState

    from ..store.runstore import RunStoreError

    if slot.polling is not None:  # its answer holds messages older than run()'s last ones
        try:
            _record(slot, store, ray.get(slot.polling, timeout=30), emit)
        except Exception:  # noqa: BLE001 - the actor is gone
            pass
        slot.polling = None
    try:
        result = ray.get(slot.ref)
    except Exception as exc:  # noqa: BLE001 - the actor died (node lost, killed, out of memory)
        text = str(exc).strip().splitlines()
        result = {
            "status": "failed",
            "messages": [],
            "lost": True,
            "reason": f"the trial's Ray worker died: {text[0] if text else type(exc).__name__}",
        }
        slot.actor = runner.remote(data_ref)  # a fresh one for the next trial
    _record(slot, store, result["messages"], emit)
    status, reason = result["status"], result["reason"]
    run = store.get_run(slot.run_id, with_epochs=False)
    if run.status == "running":  # the trial never closed its run (refused settings, a dead worker)
        store.finish_run(slot.run_id, "stopped" if slot.halt == "stop" and result.get("lost") else "failed", reason)
    state, value = "failed", None
    trial = slot.trial
    if status == "stopped" and slot.halt == "prune":
        state, reason = "pruned", f"pruned by the sweep after epoch {slot.epochs}"
        try:
            records.mark_pruned(store, slot.run_id, reason)
        except RunStoreError:
            pass
        trial.set_user_attr(COUNTED, True)
        study.tell(trial, state=TrialState.PRUNED)
    elif slot.halt == "stop" and status in ("stopped", "failed"):
        state = "stopped"
        if run.status == "running" or status == "failed":
            reason = reason or "stopped with the sweep"
        trial.set_user_attr("stopped", True)
        study.tell(trial, state=TrialState.FAIL)
    elif status == "finished":
        value = result.get("value")
        state = "complete"
        records.set_value(store, slot.run_id, value)
        trial.set_user_attr(COUNTED, True)
        if value is not None and math.isfinite(value):
            study.tell(trial, value)
        else:
            study.tell(trial, state=TrialState.FAIL)
    else:
        trial.set_user_attr(COUNTED, True)
        trial.set_user_attr("reason", str(reason)[:500])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    done = TrialOutcome(
        slot.number,
        slot.run_id,
        state,
        value,
        reason,
        slot.params,
        result.get("valid_mae"),
        result.get("test_mae"),
        result.get("epochs_done", slot.epochs),
    )
    outcome.ran.append(done)
    emit(done.to_event())
    slot.trial, slot.ref = None, None
