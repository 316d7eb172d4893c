"""One trial of a local worker process (a Ray trial runs engine.session itself, ray_backend.py):
a recorded run through engine.session.start_run (``train_alone``; engine.sweep.packed trains several
as one packed model), tagged with its sweep, scored with the sweep's objective.

Objectives (lower is better, riders unless a ratio): ``valid`` (the default: validation MAE of the
weights the run ends with), ``test``, ``best_valid`` (the best epoch's validation MAE), or any split
score as ``SPLIT.KEY`` with KEY one of mae, rail_mae, bus_mae, ratio (e.g. ``test.ratio``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import TrainConfig
from ..errors import ConfigError
from . import records
from .space import SearchSpace

SPLITS = ("valid", "test")
SCORE_KEYS = ("mae", "rail_mae", "bus_mae", "ratio")


def parse_objective(text: str) -> str:
    """The objective's canonical name; ConfigError (one line) when it is not one."""
    name = str(text or "valid").strip().lower()
    if name == "best_valid":
        return name
    split, _, key = name.partition(".")
    if split in SPLITS and (not key or key in SCORE_KEYS):
        return f"{split}.{key}" if key and key != "mae" else split
    raise ConfigError(
        "objective",
        f"{text!r} is not an objective; use valid (default), test, best_valid or "
        f"SPLIT.KEY with SPLIT valid|test and KEY {'|'.join(SCORE_KEYS)}",
    )


def objective_value(objective: str, run) -> float | None:
    """The objective of a RunResult (None when the run has no such score)."""
    if objective == "best_valid":
        value = run.best_valid_mae
    else:
        split, _, key = objective.partition(".")
        score = run.scores.get(split)
        if score is None:
            return None
        value = getattr(score, key or "mae")
    return float(value) if value is not None and math.isfinite(value) else None


@dataclass
class TrialOutcome:
    trial: int
    run_id: int | None
    state: str  # complete | pruned | failed | stopped
    value: float | None
    reason: str
    params: dict[str, Any]
    valid_mae: float | None = None  # riders
    test_mae: float | None = None
    epochs_done: int = 0

    def to_event(self) -> dict[str, Any]:
        return {
            "kind": "trial_done",
            "trial": self.trial,
            "run_id": self.run_id,
            "state": self.state,
            "value": self.value,
            "reason": self.reason,
            "params": self.params,
            "valid_mae": self.valid_mae,
            "test_mae": self.test_mae,
            "epochs_done": self.epochs_done,
        }


class TrialRun:
    """One trial's bookkeeping around its run, whoever trains it (``run_trial`` alone, or
    engine.sweep.packed in a pack): the run tagged as the trial when it starts, each epoch reported
    to the pruner, and the run's result turned into the trial's outcome (pruned, scored, failed).
    ``report(epoch, valid_mae_riders)`` returns True to prune."""

    def __init__(
        self,
        *,
        store,
        base: TrainConfig,
        space: SearchSpace,
        params: dict[str, Any],
        sweep: str,
        trial: int | None,
        objective: str,
        report: Callable[[int, float], bool] | None = None,
        on_epoch: Callable[[Any], None] | None = None,
        resume: dict | None = None,
    ) -> None:
        self.store, self.params, self.sweep, self.trial, self.objective = store, params, sweep, trial, objective
        self.report, self.on_epoch, self.resume = report, on_epoch, resume
        self.config = space.config_for(base, params)
        self.run_id: int | None = None
        self.pruned_at = 0  # the epoch after which the pruner stopped it

    def started(self, event) -> None:
        self.run_id = event.run_id
        if event.run_id is not None:
            if self.resume is not None:
                records.untag(
                    self.store, self.resume["run_id"]
                )  # the trial is the new run now (its parent stays a run)
            self.trial = records.tag_trial(self.store, event.run_id, self.sweep, self.trial, self.params)

    def epoch_done(self, event) -> None:
        if self.on_epoch is not None:
            self.on_epoch(event)
        if self.report is not None and self.report(event.epoch, event.valid_mae_riders) and event.epoch < event.epochs:
            self.pruned_at = event.epoch

    def failed(self, exc: Exception, data) -> TrialOutcome:
        """The run raised: recorded failed (refused before it was recorded: recorded now)."""
        reason = f"{type(exc).__name__}: {exc}" if not str(exc).strip() or not _ours(exc) else str(exc)
        if self.run_id is None:  # refused before the run was recorded (settings, splits): record it failed
            self.run_id = _record_refused(self.store, self.config, data, reason)
            self.trial = records.tag_trial(self.store, self.run_id, self.sweep, self.trial, self.params)
        return TrialOutcome(self.trial, self.run_id, "failed", None, reason, self.params)

    def outcome(self, result) -> TrialOutcome:
        """The trial's outcome from its run's engine.session.RunResult, scored in the sweep's rows."""
        valid = result.scores.get("valid")
        test = result.scores.get("test")
        outcome = TrialOutcome(
            self.trial,
            result.run_id,
            "failed",
            None,
            result.reason,
            self.params,
            valid.mae if valid else None,
            test.mae if test else None,
            len(result.history),
        )
        if self.pruned_at and result.status == "stopped":
            outcome.state, outcome.reason = "pruned", f"pruned by the sweep after epoch {self.pruned_at}"
            records.mark_pruned(self.store, result.run_id, outcome.reason)
        elif result.status == "finished":
            outcome.state, outcome.value = "complete", objective_value(self.objective, result)
            records.set_value(self.store, result.run_id, outcome.value)
        elif result.status == "stopped":
            outcome.state = "stopped"
        return outcome


def train_alone(run: TrialRun, data, should_stop: Callable[[], bool] | None = None) -> TrialOutcome:
    """Train trial ``run`` as a recorded run of its own (engine.session.start_run, or resume_run
    when it continues an interrupted run: ``resume`` from engine.sweep.local.resume_job, the epochs
    left from that run's checkpoint, as a new run, its child, that takes over the trial's tag). An
    exception inside the run is caught: the run is recorded failed and the outcome says why."""
    from ..session import resume_run, start_run

    def stop() -> bool:
        return bool(run.pruned_at) or (should_stop is not None and should_stop())

    hooks = dict(on_start=run.started, on_epoch=run.epoch_done, should_stop=stop)
    try:
        if run.resume is not None:
            result = resume_run(run.store, run.resume["run_id"], run.resume["more"], data, **hooks)
        else:
            result = start_run(run.config, data, store=run.store, **hooks)
    except Exception as exc:  # noqa: BLE001 - a trial's crash is recorded, and the sweep goes on
        return run.failed(exc, data)
    return run.outcome(result)


def _ours(exc: BaseException) -> bool:
    from ..errors import RidershipError

    return isinstance(exc, RidershipError)


def _record_refused(store, config: TrainConfig, data, reason: str) -> int:
    run_id = store.start_run(config, data, "cpu", torch_version="")
    store.finish_run(run_id, "failed", reason)
    return run_id
