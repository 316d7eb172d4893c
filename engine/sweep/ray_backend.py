"""Sweeps on Ray Tune: the same trials (engine.sweep.trial.run_trial, one recorded run each) as Ray
Tune trials, searched by OptunaSearch and pruned by ASHA on the per-epoch validation MAE.

Ray is optional (``pip install -e ".[ray]"``). Without ``address`` Ray starts here (``workers``
CPUs); with one, the trials run on that cluster and every trial writes to the run store at
``store_path``, which must be reachable from the cluster's nodes (a shared filesystem) — the same
SQLite file, as with local workers. Per-trial resources take fractions: ``gpus_per_trial=0.25``
puts four trials on one GPU.

Continuing a Ray sweep feeds the finished trials' settings and objectives to OptunaSearch
(``points_to_evaluate`` + ``evaluated_rewards``), so the search knows them and none is repeated;
only the remaining budget runs. A trial that ASHA stops is recorded "stopped" and flagged pruned.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable

from . import records
from .local import SweepError, SweepOutcome, SweepPlan, check_and_record
from .trial import TrialOutcome, run_trial

RAY_HINT = 'the ray backend needs Ray: pip install -e ".[ray]"'


def _ray():
    try:
        import ray
        from ray import tune
    except ImportError:
        raise SweepError(RAY_HINT) from None
    return ray, tune


def _trainable(params: dict, *, plan: SweepPlan, data, store_path: str) -> None:
    """One Ray Tune trial: a recorded run, an epoch report per epoch, one last report with the outcome."""
    import torch
    from ray import tune

    from ..domain import SCALE
    from ..store.runstore import RunStore

    if not torch.cuda.is_available():
        torch.set_num_threads(1)
    base = plan.base
    if plan.base.device == "auto" and torch.cuda.is_available():
        base = base.replace(device="cuda")
    holder: dict[str, Any] = {"run_id": None}
    with RunStore.open(store_path) as store:
        def on_epoch(event) -> None:
            holder["valid"] = event.valid_mae * SCALE

        def report(epoch: int, valid_mae: float) -> bool:
            if holder["run_id"] is None:
                rows = store._read("SELECT run_id FROM sweep_trials WHERE sweep = ? ORDER BY run_id DESC LIMIT 1",
                                   (plan.name,))
                holder["run_id"] = rows[0]["run_id"] if rows else None
            tune.report({"valid_mae_riders": valid_mae, "objective": valid_mae, "epoch": epoch,
                         "run_id": holder["run_id"], "params": params})
            return False  # ASHA decides, from the reports

        outcome = run_trial(store=store, data=data, base=base, space=plan.space, params=dict(params),
                            sweep=plan.name, trial=None, objective=plan.objective, report=report, on_epoch=on_epoch)
    value = outcome.value if outcome.value is not None else math.inf
    tune.report({"valid_mae_riders": outcome.valid_mae if outcome.valid_mae is not None else math.inf,
                 "objective": value, "epoch": outcome.epochs_done, "run_id": outcome.run_id, "params": params,
                 "outcome": outcome.to_event()})


def run_ray(plan: SweepPlan, data, store_path: str | Path, *, workers: int | None = None, address: str | None = None,
            gpus_per_trial: float = 0.0, cpus_per_trial: float = 1.0,
            on_event: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
            ) -> SweepOutcome:
    ray, tune = _ray()
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.optuna import OptunaSearch

    from ..store.runstore import RunStore

    emit = on_event or (lambda event: None)
    if gpus_per_trial < 0 or cpus_per_trial <= 0:
        raise SweepError("--gpus-per-trial must be >= 0 and --cpus-per-trial > 0")
    store = RunStore.open(store_path)
    try:
        check_and_record(plan, store, data, "ray")
        before = records.sweep_summary(store, plan.name).trials
        counted = [t for t in before if t.status in ("finished", "pruned", "failed")]
        known = [t for t in before if t.value is not None and math.isfinite(t.value)
                 and set(t.params) == set(plan.space.names)]
        outcome = SweepOutcome(plan.name, "finished", done_before=len(counted))
        remaining = None if plan.trials is None else max(plan.trials - len(counted), 0)
        count = workers or os.cpu_count() or 1
        emit({"kind": "sweep_started", "name": plan.name, "done_before": len(counted), "remaining": remaining,
              "workers": count if remaining is None else min(count, remaining), "interrupted": [],
              "trials": plan.trials})
        if remaining == 0:
            records.end_sweep(store, plan.name, "finished")
            emit({"kind": "sweep_done", "status": "finished", "ran": 0})
            return outcome
        started_ray = not ray.is_initialized()
        if started_ray:
            os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=max(1, math.ceil(count * cpus_per_trial)), **kwargs)
        try:
            searcher = OptunaSearch(
                space=plan.space.distributions(), metric="objective", mode="min",
                points_to_evaluate=[dict(t.params) for t in known] or None,
                evaluated_rewards=[t.value for t in known] or None)
            scheduler = (FIFOScheduler() if plan.pruner == "none" else
                         ASHAScheduler(metric="valid_mae_riders", mode="min", max_t=plan.base.epochs + 1,
                                       grace_period=max(1, plan.base.epochs // 3), reduction_factor=2))
            trainable = tune.with_resources(
                tune.with_parameters(_trainable, plan=plan, data=data, store_path=str(store.path)),
                {"cpu": cpus_per_trial, "gpu": gpus_per_trial})

            class Stopper(tune.Stopper):
                def __call__(self, trial_id, result) -> bool:
                    return False

                def stop_all(self) -> bool:
                    return bool(should_stop and should_stop())

            class Events(tune.Callback):
                def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
                    if "outcome" in result:
                        event = dict(result["outcome"])
                        outcome.ran.append(TrialOutcome(**{k: v for k, v in event.items() if k != "kind"}))
                        emit(event)
                    elif result.get("epoch") == 1:
                        emit({"kind": "trial_started", "trial": None, "run_id": result.get("run_id"),
                              "params": result.get("params", {})})

            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler,
                                            num_samples=remaining if remaining is not None else -1,
                                            max_concurrent_trials=count, time_budget_s=plan.timeout_s),
                run_config=tune.RunConfig(name=f"{plan.name}-{int(time.time())}",
                                          storage_path=str((store.home / "ray_results").resolve()),
                                          stop=Stopper(), callbacks=[Events()], verbose=0),
            )
            grid = tuner.fit()
        finally:
            if started_ray:
                ray.shutdown()
        stopped = bool(should_stop and should_stop())
        _settle(store, plan, grid, outcome, stopped, emit)
        outcome.status = "stopped" if stopped else "finished"
        records.end_sweep(store, plan.name, outcome.status)
        emit({"kind": "sweep_done", "status": outcome.status, "ran": len(outcome.ran)})
        return outcome
    finally:
        store.close()


def _settle(store, plan: SweepPlan, grid, outcome: SweepOutcome, stopped: bool, emit) -> None:
    """Trials Ray ended before their last report: pruned by ASHA (or stopped by the sweep's stop)."""
    from ..errors import RidershipError

    reported = {t.run_id for t in outcome.ran}
    for result in grid:
        metrics = result.metrics or {}
        run_id = metrics.get("run_id")
        if run_id is None or run_id in reported or "outcome" in metrics:
            continue
        epoch = metrics.get("epoch", 0)
        try:
            if stopped:
                store.finish_run(run_id, "stopped", f"stopped with the sweep after epoch {epoch}")
                state, reason = "stopped", "stopped with the sweep"
            else:
                reason = f"pruned by the sweep (ASHA) after epoch {epoch}"
                records.mark_pruned(store, run_id, reason)
                state = "pruned"
        except RidershipError:
            continue
        trial = next((r["trial"] for r in store._read("SELECT trial FROM sweep_trials WHERE run_id = ?", (run_id,))), None)
        done = TrialOutcome(trial, run_id, state, None, reason, metrics.get("params", {}), epochs_done=epoch)
        outcome.ran.append(done)
        emit(done.to_event())
