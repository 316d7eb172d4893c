"""MAE on any split, in riders, beside the naive "same day last week" forecast on the same targets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .data import SCALE, TARGETS, Split
from .training import cpu_threads, evaluate_mae, predict

SEASON = 7  # days: the naive forecast repeats the same weekday of last week


@dataclass(frozen=True)
class ModelVsNaive:
    """MAE of the model beside the naive forecast on the same targets, in riders: both series
    together and each. Shared by split scores and the backtest's per-day-type summaries."""

    mae: float  # both series together
    naive_mae: float
    rail_mae: float
    bus_mae: float
    naive_rail_mae: float
    naive_bus_mae: float

    @property
    def ratio(self) -> float:
        """Model MAE / naive MAE: below 1 beats the naive forecast (nan when there is nothing to compare)."""
        return self.mae / self.naive_mae if self.naive_mae else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def error_fields(truth: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> dict[str, float]:
    """The ModelVsNaive fields for (rows, 2) arrays, columns rail and bus, in the arrays' unit."""
    model_err, naive_err = np.abs(pred - truth), np.abs(naive - truth)
    return dict(
        mae=float(model_err.mean()), naive_mae=float(naive_err.mean()),
        rail_mae=float(model_err[:, 0].mean()), bus_mae=float(model_err[:, 1].mean()),
        naive_rail_mae=float(naive_err[:, 0].mean()), naive_bus_mae=float(naive_err[:, 1].mean()),
    )


@dataclass(frozen=True)
class SplitScore(ModelVsNaive):
    split: str = ""
    windows: int = 0


def naive_predictions(features_values: np.ndarray, split: Split) -> np.ndarray:
    """For each target row t, the value at row t-7 (in millions), from the full feature frame so
    the split's first targets have a last week too."""
    positions = split.target_positions - SEASON
    if positions.min() < 0:
        raise ValueError("the naive forecast needs 7 days before the first target")
    return features_values[positions, : len(TARGETS)]


def score_split(model, split: Split, features_values: np.ndarray, batch_size: int, device) -> SplitScore:
    device = torch.device(device)
    X, y = split.windows.to(device), split.targets.to(device)
    mae = evaluate_mae(model, X, y, batch_size, device)
    pred = predict(model, X).cpu().numpy().astype(np.float64)
    truth = split.targets.numpy().astype(np.float64)
    naive = naive_predictions(features_values, split)
    errors = error_fields(truth * SCALE, pred * SCALE, naive * SCALE)
    errors["mae"] = mae * SCALE  # the article's metric: torchmetrics over batches, float32
    return SplitScore(split=split.name, windows=len(split), **errors)


def score_all(model, splits: dict[str, Split], features_values: np.ndarray, batch_size: int, device,
              names=("valid", "test")) -> dict[str, SplitScore]:
    # The training thread setting: torch's default threads fight a UI thread for the cores.
    with cpu_threads(torch.device(device), model.hidden_size):
        return {name: score_split(model, splits[name], features_values, batch_size, device) for name in names}
