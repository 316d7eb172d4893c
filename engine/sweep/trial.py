"""One trial of a local worker process (a Ray trial runs engine.session itself, ray_backend.py):
a recorded run through engine.session.start_run, tagged with its sweep, scored with the sweep's objective.

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


def run_trial(
    *,
    store,
    data,
    base: TrainConfig,
    space: SearchSpace,
    params: dict[str, Any],
    sweep: str,
    trial: int | None,
    objective: str,
    report: Callable[[int, float], bool] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_epoch: Callable[[Any], None] | None = None,
    resume: dict | None = None,
) -> TrialOutcome:
    """Train ``base`` with ``params`` as a recorded run tagged trial ``trial`` of ``sweep``
    (None: the next number). ``report(epoch, valid_mae_riders)`` returns True to prune. An
    exception inside the run is caught: the run is recorded failed and the outcome says why.
    ``resume`` (engine.sweep.local.resume_job): the trial continues its interrupted run from that
    run's checkpoint for the epochs left, as a new run (its child) that takes over the trial's tag."""
    from ..session import resume_run, start_run

    state = {"run_id": None, "pruned_at": 0, "trial": trial}
    config = space.config_for(base, params)

    def started(event) -> None:
        state["run_id"] = event.run_id
        if event.run_id is not None:
            if resume is not None:
                records.untag(store, resume["run_id"])  # the trial is the new run now (its parent stays a run)
            state["trial"] = records.tag_trial(store, event.run_id, sweep, trial, params)

    def epoch_done(event) -> None:
        if on_epoch is not None:
            on_epoch(event)
        if report is not None and report(event.epoch, event.valid_mae_riders) and event.epoch < event.epochs:
            state["pruned_at"] = event.epoch

    def stop() -> bool:
        return bool(state["pruned_at"]) or (should_stop is not None and should_stop())

    try:
        if resume is not None:
            result = resume_run(
                store, resume["run_id"], resume["more"], data, on_start=started, on_epoch=epoch_done, should_stop=stop
            )
        else:
            result = start_run(config, data, store=store, on_start=started, on_epoch=epoch_done, should_stop=stop)
    except Exception as exc:  # noqa: BLE001 - a trial's crash is recorded, and the sweep goes on
        reason = f"{type(exc).__name__}: {exc}" if not str(exc).strip() or not _ours(exc) else str(exc)
        run_id = state["run_id"]
        if run_id is None:  # refused before the run was recorded (settings, splits): record it failed
            run_id = _record_refused(store, config, data, reason)
            state["trial"] = records.tag_trial(store, run_id, sweep, trial, params)
        return TrialOutcome(state["trial"], run_id, "failed", None, reason, params)
    run_id = result.run_id
    valid = result.scores.get("valid")
    test = result.scores.get("test")
    outcome = TrialOutcome(
        state["trial"],
        run_id,
        "failed",
        None,
        result.reason,
        params,
        valid.mae if valid else None,
        test.mae if test else None,
        len(result.history),
    )
    if state["pruned_at"] and result.status == "stopped":
        outcome.state, outcome.reason = "pruned", f"pruned by the sweep after epoch {state['pruned_at']}"
        records.mark_pruned(store, run_id, outcome.reason)
    elif result.status == "finished":
        outcome.state, outcome.value = "complete", objective_value(objective, result)
        records.set_value(store, run_id, outcome.value)
    elif result.status == "stopped":
        outcome.state = "stopped"
    return outcome


def _ours(exc: BaseException) -> bool:
    from ..errors import RidershipError

    return isinstance(exc, RidershipError)


def _record_refused(store, config: TrainConfig, data, reason: str) -> int:
    run_id = store.start_run(config, data, "cpu", torch_version="")
    store.finish_run(run_id, "failed", reason)
    return run_id
