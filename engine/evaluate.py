"""MAE on any split, in riders, beside the naive "same day last week" forecast on the same targets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .data import SCALE, TARGETS, Split
from .training import cpu_threads, evaluate_mae, predict

SEASON = 7  # days: the naive forecast repeats the same weekday of last week


@dataclass(frozen=True)
class SplitScore:
    split: str
    windows: int
    mae: float  # riders, both series together (the article's metric)
    naive_mae: float  # riders, same targets
    rail_mae: float
    bus_mae: float
    naive_rail_mae: float
    naive_bus_mae: float

    @property
    def ratio(self) -> float:
        """Model MAE / naive MAE: below 1 beats the naive forecast."""
        return self.mae / self.naive_mae if self.naive_mae else float("inf")

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


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
    model_err = np.abs(pred - truth).mean(axis=0)
    naive_err = np.abs(naive - truth).mean(axis=0)
    return SplitScore(
        split=split.name, windows=len(split), mae=mae * SCALE, naive_mae=float(np.abs(naive - truth).mean() * SCALE),
        rail_mae=float(model_err[0] * SCALE), bus_mae=float(model_err[1] * SCALE),
        naive_rail_mae=float(naive_err[0] * SCALE), naive_bus_mae=float(naive_err[1] * SCALE),
    )


def score_all(model, splits: dict[str, Split], features_values: np.ndarray, batch_size: int, device,
              names=("valid", "test")) -> dict[str, SplitScore]:
    # The training thread setting: torch's default threads fight a UI thread for the cores.
    with cpu_threads(torch.device(device), model.hidden_size):
        return {name: score_split(model, splits[name], features_values, batch_size, device) for name in names}
