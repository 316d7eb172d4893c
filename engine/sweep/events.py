"""What a running sweep tells its caller: plain frozen dataclasses, like a run's (engine.events).

The sweep's worker processes send plain dicts through a multiprocessing queue (``{"kind": ...}``,
engine.sweep.local and ray_backend); ``parse_event`` turns one into its dataclass, so a front end
reads named, typed fields instead of string keys. MAE in riders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class SweepStarted:
    name: str
    done_before: int  # trials recorded before this start (a continued sweep)
    remaining: int | None  # trials left to run (None: until stopped or timed out)
    workers: int
    interrupted: int = 0  # trials an earlier start left running, now failed
    trials: int | None = None


@dataclass(frozen=True)
class TrialStarted:
    trial: int
    params: dict[str, Any] = field(default_factory=dict)
    trial_id: int | None = None
    sweep: str = ""


@dataclass(frozen=True)
class TrialEpoch:
    trial: int
    epoch: int
    epochs: int
    valid_mae: float | None  # riders


@dataclass(frozen=True)
class TrialDone:
    trial: int
    run_id: int | None
    state: str  # complete | pruned | failed | stopped
    value: float | None = None
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    valid_mae: float | None = None  # riders
    test_mae: float | None = None
    epochs_done: int = 0


@dataclass(frozen=True)
class WorkerDied:
    exitcode: int | None
    trial: int


@dataclass(frozen=True)
class SweepStopping:
    """The stop was asked for: running trials end within a batch."""


@dataclass(frozen=True)
class SweepDone:
    status: str  # finished | stopped
    ran: int


SweepEvent = SweepStarted | TrialStarted | TrialEpoch | TrialDone | WorkerDied | SweepStopping | SweepDone

KINDS: dict[str, type] = {
    "sweep_started": SweepStarted,
    "trial_started": TrialStarted,
    "epoch": TrialEpoch,
    "trial_done": TrialDone,
    "worker_died": WorkerDied,
    "stopping": SweepStopping,
    "sweep_done": SweepDone,
}


def parse_event(event: dict[str, Any]) -> SweepEvent | None:
    """The dataclass of one of run_local's (or run_ray's) event dicts; None for a kind it does not
    know (a newer backend's: ignored rather than fatal). Keys the dataclass has no field for are dropped."""
    kind = KINDS.get(event.get("kind", ""))
    if kind is None:
        return None
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in event.items() if k in names})
