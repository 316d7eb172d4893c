"""The work done in worker threads: load data, train, score, forecast, describe the device.

No widgets here: these functions take plain arguments and a ``post`` callable for progress, so the
app runs them in thread workers and the tests can call them directly. Torch-based engine modules
are imported inside the functions, so importing the app stays light and the first screen is fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from engine.config import TrainConfig
from engine.data import SCALE, RidershipData

from .messages import DownloadProgress, EpochCompleted, TrainingStarted

Post = Callable[[Any], object]


@dataclass
class RunOutcome:
    """What a finished, stopped or failed run leaves behind. MAE values are in riders."""

    run_id: int
    status: str  # finished | stopped | failed
    reason: str
    epochs_done: int
    best_epoch: int
    best_valid_mae: float
    weights_epoch: int  # which epoch's weights the model holds; 0: no epoch finished, no model
    config: TrainConfig
    device: str
    data_label: str
    scores: dict[str, dict] | None = None  # "valid"/"test" -> engine.evaluate.SplitScore.to_dict()
    model: Any = field(default=None, repr=False)
    record_id: int | None = None  # the run's id in the run store; None: not recorded

    @property
    def name(self) -> str:
        """How the app names the run: its run store id when it has one."""
        return f"Run {self.record_id}" if self.record_id else f"Run {self.run_id}"


def load_data(path: str | None) -> RidershipData:
    """A path the user gave, else $RIDERSHIP_DATA, the cache, or the synthetic series."""
    from engine import sources

    return sources.resolve(path)


def open_file(path: str) -> RidershipData:
    from engine import sources

    return sources.load_path(path, "path")


def download(post: Post) -> RidershipData:
    from engine import sources

    csv = sources.download(progress=lambda done, total: post(DownloadProgress(done, total)))
    return sources.load_path(csv, "download")


def naive_valid_mae(values: np.ndarray, split) -> float:
    """MAE of "same day last week" on the validation targets, in riders (as engine.evaluate)."""
    from engine.evaluate import naive_predictions

    truth = split.targets.numpy().astype(np.float64)
    return float(np.abs(naive_predictions(values, split) - truth).mean() * SCALE)


class _Announcing:
    """The run store, with ``start_run`` telling the app the new run's id (and so, its name)
    the moment the engine records it. Everything else goes to the store."""

    def __init__(self, store, announce: Callable[[int], None]) -> None:
        self._store, self._announce = store, announce

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def start_run(self, *args, **kwargs) -> int:
        record_id = self._store.start_run(*args, **kwargs)
        self._announce(record_id)
        return record_id


def _epoch_message(run_id: int, e) -> EpochCompleted:
    return EpochCompleted(run_id, e.epoch, e.epochs, e.train_loss, e.train_mae * SCALE, e.valid_mae * SCALE,
                          e.lr, e.seconds, e.best_epoch, e.best_valid_mae * SCALE)


def train(config: TrainConfig, data: RidershipData, run_id: int, post: Post,
          should_stop: Callable[[], bool], abandoned: Callable[[], bool], store=None,
          parent_id: int | None = None, origin: str = "new") -> RunOutcome:
    """Build the splits, train, and score valid and test with the weights the run ends with.

    ``should_stop`` (the user's stop, or the app quitting) is checked by the engine every batch;
    ``abandoned`` (the app is quitting) also skips the scoring of an unrecorded run. With a run
    store (engine.runs.RunStore) the run is recorded there (engine.runs.train_recorded: each
    epoch as it ends, then the scores and a checkpoint); ``parent_id`` and ``origin`` ("fork")
    say where its settings came from.
    """
    from engine.data import make_splits
    from engine.device import resolve_device

    config.validate()
    device = str(resolve_device(config.device))
    splits = make_splits(data, config)
    values = data.features().to_numpy(dtype=np.float64)

    def started(record_id: int | None = None) -> None:
        post(TrainingStarted(run_id, config.epochs, device, naive_valid_mae(values, splits["valid"]),
                             len(splits["train"]), len(splits["valid"]), record_id=record_id))

    on_epoch = lambda e: post(_epoch_message(run_id, e))  # noqa: E731
    if store is None:
        started()
        return _fit_unrecorded(config, data, splits, values, run_id, on_epoch, should_stop, abandoned)
    from engine.runs import train_recorded

    with _thread_policy(device, config):
        recorded = train_recorded(_Announcing(store, started), config, data, splits=splits, on_epoch=on_epoch,
                                  should_stop=should_stop, parent_id=parent_id, origin=origin)
    return _recorded_outcome(recorded, run_id, config, data)


def resume(store, parent_id: int, more: int, data: RidershipData, run_id: int, post: Post,
           should_stop: Callable[[], bool]) -> RunOutcome:
    """Train recorded run ``parent_id`` for ``more`` epochs from its checkpoint, as a new recorded
    run (engine.runs.resume_run). The parent's epochs are posted first, so the charts show the
    whole history and the new epochs continue it."""
    from engine.data import make_splits
    from engine.device import resolve_device
    from engine.runs import resume_run

    parent = store.get_run(parent_id)
    config = parent.config.replace(epochs=parent.epochs_done + more)
    device = str(resolve_device(config.device))
    splits = make_splits(data, config)
    values = data.features().to_numpy(dtype=np.float64)

    def started(record_id: int) -> None:
        post(TrainingStarted(run_id, config.epochs, device, naive_valid_mae(values, splits["valid"]),
                             len(splits["train"]), len(splits["valid"]), record_id=record_id))
        for event in parent.epochs:  # out of the new total, as the epochs that follow
            post(_epoch_message(run_id, replace(event, epochs=config.epochs)))

    with _thread_policy(device, config):
        recorded = resume_run(_Announcing(store, started), parent_id, more, data,
                              on_epoch=lambda e: post(_epoch_message(run_id, e)), should_stop=should_stop)
    return _recorded_outcome(recorded, run_id, recorded.result.config, data)


def _thread_policy(device: str, config: TrainConfig):
    """The engine's thread policy around training and scoring: torch's default (all cores) spins
    OpenMP threads against the UI and chart threads, and scoring took 15 s instead of 0.2 s here."""
    import torch

    from engine.training import cpu_threads

    return cpu_threads(torch.device(device), config.hidden_size)


def _fit_unrecorded(config, data, splits, values, run_id, on_epoch, should_stop, abandoned) -> RunOutcome:
    from engine.evaluate import score_all
    from engine.training import fit

    result = fit(config, splits, on_epoch=on_epoch, should_stop=should_stop)
    model = result.model if result.weights_epoch > 0 else None  # mid-epoch-1 weights are no model
    scores = None
    if model is not None and not abandoned():
        with _thread_policy(result.device, config):
            scored = score_all(model, splits, values, config.batch_size, result.device)
        scores = {name: s.to_dict() for name, s in scored.items()}
    return _outcome(result, run_id, config, data, scores)


def _recorded_outcome(recorded, run_id: int, config: TrainConfig, data: RidershipData) -> RunOutcome:
    scores = {name: s.to_dict() for name, s in recorded.scores.items()} or None
    return _outcome(recorded.result, run_id, config, data, scores, recorded.run_id)


def _outcome(result, run_id, config, data, scores, record_id=None) -> RunOutcome:
    return RunOutcome(
        run_id=run_id, status=result.status, reason=result.reason, epochs_done=len(result.history),
        best_epoch=result.best_epoch,
        best_valid_mae=result.best_valid_mae * SCALE if result.best_epoch else float("nan"),
        weights_epoch=result.weights_epoch, config=config, device=result.device,
        data_label=data.source.label, scores=scores,
        model=result.model if result.weights_epoch > 0 else None,  # mid-epoch-1 weights are no model
        record_id=record_id,
    )


def forecast(outcome: RunOutcome, data: RidershipData, day_type: str | None):
    import torch

    from engine.forecast import forecast_next_day
    from engine.training import cpu_threads

    with cpu_threads(torch.device(outcome.device), outcome.config.hidden_size):
        return forecast_next_day(outcome.model, data, outcome.config.window_length, day_type, outcome.device)


def describe_device(choice: str):
    """engine.device.DeviceInfo for the device a run with ``choice`` would use, and the kinds available."""
    from engine.device import available, describe, resolve_device

    return describe(resolve_device(choice)), available()
