"""The work done in worker threads: load data, train, score, forecast, describe the device.

No widgets here: these functions take plain arguments and a ``post`` callable for progress, so the
app runs them in thread workers and the tests can call them directly. Torch-based engine modules
are imported inside the functions, so importing the app stays light and the first screen is fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def train(config: TrainConfig, data: RidershipData, run_id: int, post: Post,
          should_stop: Callable[[], bool], abandoned: Callable[[], bool]) -> RunOutcome:
    """Build the splits, train, and score valid and test with the weights the run ends with.

    ``should_stop`` (the user's stop, or the app quitting) is checked by the engine every batch;
    ``abandoned`` (the app is quitting) also skips the scoring.
    """
    from engine.data import make_splits
    from engine.device import resolve_device
    import torch

    from engine.evaluate import score_all
    from engine.training import cpu_threads, fit

    config.validate()
    device = str(resolve_device(config.device))
    splits = make_splits(data, config)
    values = data.features().to_numpy(dtype=np.float64)
    post(TrainingStarted(run_id, config.epochs, device, naive_valid_mae(values, splits["valid"]),
                         len(splits["train"]), len(splits["valid"])))

    def on_epoch(e) -> None:
        post(EpochCompleted(run_id, e.epoch, e.epochs, e.train_loss, e.train_mae * SCALE, e.valid_mae * SCALE,
                            e.lr, e.seconds, e.best_epoch, e.best_valid_mae * SCALE))

    result = fit(config, splits, on_epoch=on_epoch, should_stop=should_stop)
    model = result.model if result.weights_epoch > 0 else None  # mid-epoch-1 weights are no model
    scores = None
    if model is not None and not abandoned():
        # Score under the engine's thread policy too: torch's default (all cores) spins OpenMP
        # threads against the UI and chart threads, and took 15 s instead of 0.2 s here.
        with cpu_threads(torch.device(result.device), config.hidden_size):
            scored = score_all(model, splits, values, config.batch_size, result.device)
        scores = {name: s.to_dict() for name, s in scored.items()}
    return RunOutcome(
        run_id=run_id, status=result.status, reason=result.reason, epochs_done=len(result.history),
        best_epoch=result.best_epoch,
        best_valid_mae=result.best_valid_mae * SCALE if result.best_epoch else float("nan"),
        weights_epoch=result.weights_epoch, config=config, device=result.device,
        data_label=data.source.label, scores=scores, model=model,
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
