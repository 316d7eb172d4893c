"""Starting a sweep, the one composition both front ends use: a recorded sweep of the same name must
search the same space with the same fixed settings, then the plan runs on the chosen backend
(local worker processes, or Ray). The CLI (cli/sweep.py) and the app (tui/jobs.py) call
``run_sweep``; neither picks a backend module itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

BACKENDS = ("local", "ray")


def refuse_another_search(recorded, plan) -> None:
    """A recorded sweep (engine.sweep.records.SweepRecord, or None) continued by ``plan`` must search
    the same space with the same fixed settings: a SweepError says so otherwise."""
    from .local import SweepError

    if recorded is None:
        return
    searched = set(plan.space.names)
    fixed = {k: v for k, v in plan.base.to_dict().items() if k not in searched}
    if recorded.space != plan.space.specs() or any(recorded.base.to_dict().get(k) != v for k, v in fixed.items()):
        raise SweepError(
            f"a sweep named {plan.name!r} is already recorded with other ranges or settings: "
            "give the new one another name (or the same ranges and settings to continue it)"
        )


def run_sweep(
    plan,
    data,
    store_path: str | Path,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    gpus_per_trial: float = 0.0,
    cpus_per_trial: float = 1.0,
    on_event: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    worker_log: str | Path | None = None,
):
    """Run (or continue) ``plan`` (engine.sweep.local.SweepPlan) on ``backend``; the events and the
    engine.sweep.local.SweepOutcome are the same whichever runs it."""
    from ..store.runstore import RunStore
    from . import records

    if backend not in BACKENDS:
        from .local import SweepError

        raise SweepError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    with RunStore.open(store_path) as store:
        refuse_another_search(records.get_sweep(store, plan.name), plan)
    if backend == "ray":
        from .ray_backend import run_ray

        return run_ray(
            plan,
            data,
            store_path,
            workers=workers,
            address=address,
            gpus_per_trial=gpus_per_trial,
            cpus_per_trial=cpus_per_trial,
            on_event=on_event,
            should_stop=should_stop,
        )
    from .local import run_local

    return run_local(
        plan, data, store_path, workers=workers, on_event=on_event, should_stop=should_stop, worker_log=worker_log
    )
