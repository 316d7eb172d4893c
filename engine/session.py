"""The one orchestration of a training run: what the CLI, the app and sweep trials all call.

``start_run`` and ``resume_run`` validate the settings once, resolve the device once, cut the
splits once, record the run (when given a store), train under the CPU thread policy, score the
weights the run ends with and write its checkpoint (``start_packed_runs``: the same for several runs
of one shape trained as one packed model, a sweep's --pack). The caller hears about it through callbacks:

- ``on_start(RunStarted)``: the run's id (None when unrecorded), device, split sizes, the naive
  validation MAE and, for a resume, the epochs it continues from;
- ``on_epoch(EpochEvent)``: after each epoch, once the store has it;
- ``should_stop()``: checked every batch; a stop ends the run "stopped", keeping its best weights;
- ``abandoned()``: the caller is going away (the app is quitting): skip the scoring.

What must not lose a trained model does not: an epoch the store cannot take (locked, disk full)
is kept and written with the next one; a checkpoint that cannot be written, or a store that
cannot close the run, becomes a warning on the result while the model is still returned. A
checkpoint is also written during the run (at most every ``CHECKPOINT_EVERY_S``), so a run that is
interrupted keeps its best weights and can be resumed from its last checkpointed epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .data.loading import RidershipData
from .domain import riders
from .errors import ConfigError, ModelFileError, RidershipError
from .events import EpochEvent, RunStarted

CHECKPOINT_EVERY_S = 10.0  # a run killed without warning loses at most this much training


def _checkpoint_every_s() -> float:
    """CHECKPOINT_EVERY_S, or $RIDERSHIP_CHECKPOINT_EVERY_S when a positive number (tests that kill
    a run mid-way need a checkpoint sooner than a fast machine ends a small run)."""
    import os

    try:
        value = float(os.environ.get("RIDERSHIP_CHECKPOINT_EVERY_S", ""))
    except ValueError:
        return CHECKPOINT_EVERY_S
    return value if math.isfinite(value) and value > 0 else CHECKPOINT_EVERY_S


@dataclass
class RunResult:
    """What a run leaves: the one result type of the CLI, the app and sweeps. MAE in riders."""

    run_id: int | None  # its id in the run store; None when not recorded
    status: str  # finished | stopped | failed
    reason: str
    config: TrainConfig
    device: str
    data_label: str
    history: list[EpochEvent]
    best_epoch: int  # 0: no epoch finished
    best_valid_mae: float  # riders; nan when no epoch finished
    weights_epoch: int  # whose weights the model holds; 0: no model
    scores: dict[str, Any] = field(default_factory=dict)  # SplitScore by split name ("valid", "test")
    model: Any = field(default=None, repr=False)  # LstmModel, None when no epoch finished
    checkpoint: Path | None = None
    store_path: Path | None = None
    parent_id: int | None = None
    origin: str = "new"
    warnings: list[str] = field(default_factory=list)  # what went wrong without losing the model
    fit: Any = field(default=None, repr=False)  # engine.training.FitResult, for model files

    @property
    def name(self) -> str:
        return f"run {self.run_id}" if self.run_id is not None else "the unrecorded run"

    @property
    def epochs_done(self) -> int:
        return len(self.history)


def start_run(
    config: TrainConfig,
    data: RidershipData,
    *,
    store=None,
    parent_id: int | None = None,
    origin: str = "new",
    on_start: Callable[[RunStarted], None] | None = None,
    on_epoch: Callable[[EpochEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> RunResult:
    """Train ``config`` on ``data``: recorded in ``store`` (engine.store.RunStore) when given."""
    return _run(
        config,
        data,
        store=store,
        parent_id=parent_id,
        origin=origin,
        resume_state=None,
        on_start=on_start,
        on_epoch=on_epoch,
        should_stop=should_stop,
        abandoned=abandoned,
    )


def resume_run(
    store,
    run_id: int,
    more: int,
    data: RidershipData,
    *,
    device: str | None = None,
    on_start: Callable[[RunStarted], None] | None = None,
    on_epoch: Callable[[EpochEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> RunResult:
    """Continue recorded run ``run_id`` for ``more`` epochs from its checkpoint, as a new run whose
    parent it is (the parent stays as it was). Same data, same seed: with the article's plateau
    schedule 25 + 25 epochs give what 50 at once give; a cosine schedule, planned over the first 25,
    continues from there as a cosine over 50 would (engine.training.stretch_cosine). A stopped or
    interrupted run continues from its last checkpointed epoch."""
    from .store.checkpoint import load_checkpoint
    from .store.runstore import RunStoreError

    if not isinstance(more, int) or isinstance(more, bool) or more <= 0:
        raise ConfigError("more", f"must be a whole number of epochs > 0, got {more!r}")
    parent = store.get_run(run_id, with_epochs=False)
    if parent.checkpoint is None or not parent.checkpoint.exists():
        raise RunStoreError(
            f"run {run_id} has no checkpoint ({parent.status}: {parent.reason or 'no reason recorded'}); "
            "only a run that finished at least one epoch can be resumed"
        )
    try:
        checkpoint = load_checkpoint(parent.checkpoint, data, for_resume=True)
    except ModelFileError as exc:
        raise ModelFileError(f"run {run_id}: {exc}") from None
    changes: dict[str, Any] = {"epochs": checkpoint.epochs_done + more}
    if device:
        changes["device"] = device
    config = checkpoint.config.replace(**changes)
    return _run(
        config,
        data,
        store=store,
        parent_id=run_id,
        origin="resume",
        resume_state=checkpoint.resume_state,
        on_start=on_start,
        on_epoch=on_epoch,
        should_stop=should_stop,
        abandoned=abandoned,
    )


def load_recorded_run(store, ref: str | int, data: RidershipData | None = None) -> RunResult:
    """A recorded run's kept model, ready to forecast and backtest with: ``ref`` is a run id or
    "latest" (the newest run with a model). The weights are read from the run's checkpoint (checked
    as any model file is) onto the CPU; ``data``, when given, is checked to be long enough for its
    windows. Raises RunStoreError (no such run, no model) or ModelFileError (unreadable checkpoint)."""
    from .store.modelfile import load_model

    record = store.model_run(ref)
    try:
        model, config, payload = load_model(record.checkpoint, data)
    except ModelFileError as exc:
        raise ModelFileError(f"run {record.run_id}: {exc}") from None
    if record.data_source == "synthetic":
        label = "the synthetic demo series"
    else:
        label = Path(record.data_path).name if record.data_path else record.data_source
    weights = payload.get("weights_epoch") or record.weights_epoch or 0
    best = record.best_epoch or payload.get("best_epoch") or 0
    return RunResult(
        run_id=record.run_id,
        status=record.status,
        reason=record.reason,
        config=config,
        device="cpu",
        data_label=label,
        history=list(store.epochs(record.run_id)),
        best_epoch=best,
        best_valid_mae=record.best_valid_mae if record.best_valid_mae is not None else math.nan,
        weights_epoch=int(weights),
        scores=dict(record.scores or {}),
        model=model.eval(),
        checkpoint=record.checkpoint,
        store_path=Path(store.path),
        parent_id=record.parent_id,
        origin=record.origin,
    )


def _run(
    config, data, *, store, parent_id, origin, resume_state, on_start, on_epoch, should_stop, abandoned
) -> RunResult:
    from .inference import cpu_threads
    from .training import fit

    run = _Begun(config, data, store, parent_id, origin, resume_state, on_start)
    try:
        with cpu_threads(run.device, config.hidden_size):
            result = fit(
                config,
                run.splits,
                run.device,
                on_epoch=run.epoch_done(on_epoch),
                should_stop=should_stop,
                resume=resume_state,
                on_state=run.recorder.maybe_checkpoint,
            )
            scores = run.score(result, abandoned)
    except BaseException as exc:
        run.recorder.abort(exc)
        raise
    return run.finish(result, scores)


def start_packed_runs(
    configs: list[TrainConfig],
    data: RidershipData,
    *,
    store=None,
    on_start: Callable[[int, RunStarted], None] | None = None,
    on_epoch: Callable[[int, EpochEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    stop_one: Callable[[int], bool] | None = None,
) -> list[RunResult]:
    """``start_run`` for several configs of one shape (engine.packed_training.check_packable)
    trained as one packed model (engine.packed_training.fit_packed): each its own recorded run,
    epochs, checkpoint and scores, as ``start_run`` records it. The callbacks get the config's
    index first; ``should_stop`` stops every run, ``stop_one(k)`` (asked after run k's epoch) run k
    alone. An exception (a refused config included) ends every run already recorded."""
    from .inference import cpu_threads
    from .packed_training import check_packable, fit_packed

    try:
        check_packable(configs)
    except ValueError as exc:
        raise ConfigError("pack", str(exc)) from None
    runs: list[_Begun] = []
    try:
        for k, config in enumerate(configs):
            runs.append(
                _Begun(
                    config,
                    data,
                    store,
                    None,
                    "new",
                    None,
                    on_start and (lambda event, k=k: on_start(k, event)),
                    splits=runs[0].splits if runs else None,  # one shape: the same windows
                    device=runs[0].device if runs else None,
                )
            )
        hears = [run.epoch_done(on_epoch and (lambda event, k=k: on_epoch(k, event))) for k, run in enumerate(runs)]
        with cpu_threads(runs[0].device, configs[0].hidden_size):
            results = fit_packed(
                configs,
                runs[0].splits,
                runs[0].device,
                on_epoch=lambda k, event: hears[k](event),
                should_stop=should_stop,
                on_state=lambda k, state: runs[k].recorder.maybe_checkpoint(state),
                stop_trial=stop_one,
            )
            scores = [run.score(result, None) for run, result in zip(runs, results)]
    except BaseException as exc:
        for run in runs:
            run.recorder.abort(exc)
        raise
    return [run.finish(result, score) for run, result, score in zip(runs, results, scores)]


class _Begun:
    """A run validated, placed on its device, cut into splits and recorded (when given a store):
    what is left is to train it, ``score`` it and ``finish`` it."""

    def __init__(self, config, data, store, parent_id, origin, resume_state, on_start, *, splits=None, device=None):
        import torch

        from .data.windows import make_splits
        from .device import describe, resolve_device
        from .events import event_from_dict
        from .scoring import naive_mae

        config.validate()
        # auto: the device measured faster for this model
        self.device = device if device is not None else resolve_device(config.device, config)
        self.splits = splits if splits is not None else make_splits(data, config)
        self.config, self.data, self.store, self.parent_id, self.origin = config, data, store, parent_id, origin
        inherited = tuple(event_from_dict(e) for e in resume_state["history"]) if resume_state else ()
        self.run_id = None
        if store is not None:
            self.run_id = store.start_run(
                config,
                data,
                self.device.type,
                device_name=describe(self.device).name,
                parent_id=parent_id,
                origin=origin,
                inherited=inherited,
                torch_version=torch.__version__,
            )
        self.recorder = _Recorder(store, self.run_id, config, data)
        if on_start is not None:
            on_start(
                RunStarted(
                    run_id=self.run_id,
                    config=config,
                    device=str(self.device),
                    epochs=config.epochs,
                    naive_valid_mae=naive_mae(data, self.splits["valid"]),
                    train_windows=len(self.splits["train"]),
                    valid_windows=len(self.splits["valid"]),
                    parent_id=parent_id,
                    origin=origin,
                    inherited=inherited,
                )
            )

    def epoch_done(self, on_epoch: Callable[[EpochEvent], None] | None) -> Callable[[EpochEvent], None]:
        """The epoch callback for the training loop: the store first, then the caller."""

        def done(event: EpochEvent) -> None:
            self.recorder.log(event)
            if on_epoch is not None:
                on_epoch(event)

        return done

    def score(self, result, abandoned: Callable[[], bool] | None) -> dict:
        from .scoring import reference_for, score_all

        if result.weights_epoch <= 0 or (abandoned and abandoned()):
            return {}
        return score_all(
            result.model,
            self.splits,
            self.data.feature_values(),
            self.config.batch_size,
            result.device,
            gbm=reference_for(self.data, self.splits, self.config),
        )

    def finish(self, result, scores: dict) -> RunResult:
        checkpoint = self.recorder.finish(result, scores)
        store = self.store
        return RunResult(
            run_id=self.run_id,
            status=result.status,
            reason=result.reason,
            config=self.config,
            device=result.device,
            data_label=self.data.source.label,
            history=list(result.history),
            best_epoch=result.best_epoch,
            best_valid_mae=riders(result.best_valid_mae) if result.best_epoch else math.nan,
            weights_epoch=result.weights_epoch,
            scores=scores,
            model=result.model if result.weights_epoch > 0 else None,
            checkpoint=checkpoint,
            store_path=store.path if store is not None else None,
            parent_id=self.parent_id,
            origin=self.origin,
            warnings=self.recorder.warnings,
            fit=result,
        )


class _Recorder:
    """The run's record and checkpoints, degrading to warnings instead of losing the run."""

    def __init__(self, store, run_id: int | None, config: TrainConfig, data: RidershipData) -> None:
        self.store, self.run_id, self.config, self.data = store, run_id, config, data
        self.pending: list[EpochEvent] = []  # epochs the store could not take yet
        self.warnings: list[str] = []
        self.last_state: dict | None = None
        self.last_saved = time.monotonic()
        self.every_s = _checkpoint_every_s()
        self.checkpoint: Path | None = None

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def log(self, event: EpochEvent) -> None:
        if self.store is None:
            return
        from .store.runstore import RunStoreError

        self.pending.append(event)
        try:
            self.store.log_epochs(self.run_id, self.pending)
            self.pending.clear()
        except RunStoreError as exc:  # locked for longer than the busy timeout, disk full...
            self._warn(f"{exc}; the epochs are kept and written when the store allows")

    def maybe_checkpoint(self, state: dict) -> None:
        """Called by fit after each epoch with the state to continue from."""
        self.last_state = state
        if self.store is not None and time.monotonic() - self.last_saved >= self.every_s:
            self._save_state(state)

    def _save_state(self, state: dict) -> Path | None:
        from .store.checkpoint import save_state

        path = self.store.checkpoint_path(self.run_id)
        try:
            save_state(path, self.config, state, self.data, run_id=self.run_id)
        except (OSError, RidershipError) as exc:
            self._warn(f"{path}: the checkpoint could not be written ({getattr(exc, 'strerror', None) or exc})")
            return None
        self.last_saved = time.monotonic()
        if self.checkpoint is None:
            self._quietly(lambda: self.store.set_checkpoint(self.run_id, path))
        self.checkpoint = path
        return path

    def _quietly(self, write: Callable[[], object]) -> bool:
        from .store.runstore import RunStoreError

        try:
            write()
            return True
        except RunStoreError as exc:
            self._warn(str(exc))
            return False

    def finish(self, result, scores: dict) -> Path | None:
        if self.store is None:
            return None
        from .store.checkpoint import save_checkpoint

        if self.pending:
            self._quietly(lambda: self.store.log_epochs(self.run_id, self.pending))
        checkpoint = None
        if result.history:  # at least one epoch: the weights mean something
            path = self.store.checkpoint_path(self.run_id)
            try:
                checkpoint = save_checkpoint(path, result, self.data, run_id=self.run_id)
            except (OSError, RidershipError) as exc:
                self._warn(f"{path}: the checkpoint could not be written ({getattr(exc, 'strerror', None) or exc})")
                checkpoint = self.checkpoint  # an earlier one, if any, is still whole
        self._quietly(
            lambda: self.store.finish_run(
                self.run_id,
                result.status,
                result.reason,
                scores=scores,
                checkpoint=checkpoint,
                best_epoch=result.best_epoch or None,
                best_valid_mae=riders(result.best_valid_mae),
                weights_epoch=result.weights_epoch or None,
            )
        )
        return checkpoint

    def abort(self, exc: BaseException) -> None:
        """An exception (Ctrl+C included) ends the run: keep what it learned, close the record."""
        if self.store is None:
            return
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        reason = "interrupted (Ctrl+C)" if interrupted else (str(exc) or type(exc).__name__)
        if self.last_state is not None:
            self._save_state(self.last_state)
        try:
            if self.pending:
                self.store.log_epochs(self.run_id, self.pending)
            self.store.finish_run(
                self.run_id, "interrupted" if interrupted else "failed", reason, checkpoint=self.checkpoint
            )
        except RidershipError:
            pass  # the store itself is failing; the original error matters more
