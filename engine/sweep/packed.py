"""Trial packing in a local sweep worker (issue 22, item 5): the worker asks the study for up to
``pack`` trials at once, groups them by shape (engine.packed_training.pack_key: trials whose space
changes the hidden size, window, inputs... fall into separate groups), and trains each group as one
batched model (engine.session.start_packed_runs). Each trial stays its own recorded run, told to
Optuna with its own value, exactly as a trial trained alone (engine.sweep.trial.TrialRun does both).

- A group of one trains alone (engine.sweep.trial.train_alone): no packing overhead.
- Pruning: a member the pruner stops ends at that epoch, recorded and told pruned when its pack
  ends; its slot keeps computing until then, ignored (rebuilding the pack would cost more).
- The sweep's stop stops every member of the running pack (each recorded stopped); trials asked but
  not yet started (a later group) are dropped: told failed, not counted, as a stopped trial is.
- The default: DEFAULT_GPU_PACK when the trials train on CUDA, else 1 (on the CPU, one process per
  core measured faster than packing: bench/results/sweep_cli_pack.log).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .trial import TrialOutcome, TrialRun, train_alone

DEFAULT_GPU_PACK = 8


def pack_size(plan) -> int:
    """The plan's ``pack``, or by default DEFAULT_GPU_PACK when its trials train on CUDA (``auto``
    resolved as their runs will resolve it), else 1."""
    if plan.pack:
        return int(plan.pack)
    from ..device import resolve_device
    from ..errors import DeviceError

    try:
        return DEFAULT_GPU_PACK if resolve_device(plan.base.device, plan.base).type == "cuda" else 1
    except DeviceError:
        return 1  # each trial fails saying why, as without packing


def train_packed(runs: list[TrialRun], data, store, should_stop: Callable[[], bool]) -> list[TrialOutcome]:
    """Train ``runs`` (one shape) as one packed model; each its own recorded run and outcome."""
    from ..session import start_packed_runs

    try:
        results = start_packed_runs(
            [run.config for run in runs],
            data,
            store=store,
            on_start=lambda k, event: runs[k].started(event),
            on_epoch=lambda k, event: runs[k].epoch_done(event),
            should_stop=should_stop,
            stop_one=lambda k: bool(runs[k].pruned_at),
        )
    except Exception as exc:  # noqa: BLE001 - as train_alone: recorded failed, the sweep goes on
        return [run.failed(exc, data) for run in runs]
    return [run.outcome(result) for run, result in zip(runs, results)]


def run_asked(
    asked: list,
    plan,
    *,
    start: Callable[[object], TrialRun],
    end: Callable[[object, TrialOutcome], None],
    drop: Callable[[object], None],
    data,
    store,
    halted: Callable[[], bool],
    deadline: float | None,
) -> None:
    """Train the Optuna trials ``asked`` of ``plan``, one group of a shape after another.
    ``start(trial)`` announces a trial and gives its TrialRun, ``end(trial, outcome)`` tells and
    reports it, ``drop(trial)`` gives back one never started (the sweep stopped, or its deadline
    passed: no trial starts after it)."""
    from ..packed_training import pack_key

    shapes: dict = {}
    for trial in asked:
        shapes.setdefault(pack_key(plan.space.config_for(plan.base, dict(trial.params))), []).append(trial)
    for members in shapes.values():
        if halted() or (deadline is not None and time.time() >= deadline):
            for trial in members:
                drop(trial)
            continue
        runs = [start(trial) for trial in members]
        if len(runs) == 1:
            outcomes = [train_alone(runs[0], data, halted)]
        else:
            outcomes = train_packed(runs, data, store, halted)
        for trial, outcome in zip(members, outcomes):
            end(trial, outcome)
