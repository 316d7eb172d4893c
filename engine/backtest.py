"""Backtest: every day of a split with the actual riders, the model's forecast and the naive one
(same day last week), and the errors of both per day type. Plain lists, ready for a table, a plot
or JSON; all in riders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .data import DAY_TYPES, SCALE, RidershipData, Split, make_splits
from .evaluate import ModelVsNaive, error_fields, naive_predictions
from .training import predict

DAY_TYPE_ORDER = ("W", "A", "U")  # how tables list them: weekday, Saturday, Sunday/holiday
assert set(DAY_TYPE_ORDER) == set(DAY_TYPES)


@dataclass(frozen=True)
class ErrorSummary(ModelVsNaive):
    """Model and naive MAE over ``count`` days of one day type (or "all")."""

    day_type: str = ""  # W, A, U, or "all"
    count: int = 0


@dataclass(frozen=True)
class SplitBacktest:
    split: str
    dates: list[str]  # YYYY-MM-DD of each target day
    day_types: list[str]  # the CTA's day type of each target day
    actual_rail: list[float]
    actual_bus: list[float]
    pred_rail: list[float]
    pred_bus: list[float]
    naive_rail: list[float]
    naive_bus: list[float]
    overall: ErrorSummary
    by_day_type: dict[str, ErrorSummary] = field(default_factory=dict)  # W, A, U (those with days)

    def __len__(self) -> int:
        return len(self.dates)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("split", "dates", "day_types", "actual_rail", "actual_bus",
                                             "pred_rail", "pred_bus", "naive_rail", "naive_bus")}
        out["overall"] = self.overall.to_dict()
        out["by_day_type"] = {k: v.to_dict() for k, v in self.by_day_type.items()}
        return out


def summarize(day_type: str, truth: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> ErrorSummary:
    """Errors over the rows given; arrays are (days, 2) in riders, columns rail, bus."""
    if len(truth) == 0:
        nan = float("nan")
        return ErrorSummary(day_type=day_type, count=0, mae=nan, naive_mae=nan, rail_mae=nan, bus_mae=nan,
                            naive_rail_mae=nan, naive_bus_mae=nan)
    return ErrorSummary(day_type=day_type, count=len(truth), **error_fields(truth, pred, naive))


def backtest_split(model, split: Split, data: RidershipData, device="cpu") -> SplitBacktest:
    features = data.features().to_numpy(dtype=np.float64)
    device = torch.device(device)
    pred = predict(model.to(device), split.windows.to(device)).cpu().numpy().astype(np.float64) * SCALE
    truth = split.targets.numpy().astype(np.float64) * SCALE
    naive = naive_predictions(features, split) * SCALE
    kinds = data.frame["day_type"].to_numpy()[split.target_positions]
    by_type = {}
    for kind in DAY_TYPE_ORDER:
        rows = kinds == kind
        if rows.any():
            by_type[kind] = summarize(kind, truth[rows], pred[rows], naive[rows])
    return SplitBacktest(
        split=split.name, dates=[f"{d:%Y-%m-%d}" for d in split.target_dates], day_types=kinds.tolist(),
        actual_rail=truth[:, 0].tolist(), actual_bus=truth[:, 1].tolist(),
        pred_rail=pred[:, 0].tolist(), pred_bus=pred[:, 1].tolist(),
        naive_rail=naive[:, 0].tolist(), naive_bus=naive[:, 1].tolist(),
        overall=summarize("all", truth, pred, naive), by_day_type=by_type,
    )


def backtest(model, data: RidershipData, config, splits=("valid", "test"), device="cpu",
             made: dict[str, Split] | None = None) -> dict[str, SplitBacktest]:
    """Backtest ``model`` on the named splits of ``data`` cut with ``config``'s dates and window
    (``made``: splits already cut, to skip recutting)."""
    made = made if made is not None else make_splits(data, config)
    return {name: backtest_split(model, made[name], data, device) for name in splits}
