"""Backtest: every day of a split with the actual riders, the model's forecast and the naive one
(same day last week), and the errors of both per day type. Plain lists, ready for a table, a plot
or JSON; all in riders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .data import DAY_TYPES, SCALE, RidershipData, Split, make_splits
from .evaluate import naive_predictions
from .training import predict

DAY_TYPE_ORDER = ("W", "A", "U")  # how tables list them: weekday, Saturday, Sunday/holiday
assert set(DAY_TYPE_ORDER) == set(DAY_TYPES)


@dataclass(frozen=True)
class ErrorSummary:
    """MAE of the model and of the naive forecast over ``count`` days (both series together, and each)."""

    day_type: str  # W, A, U, or "all"
    count: int
    mae: float
    naive_mae: float
    rail_mae: float
    bus_mae: float
    naive_rail_mae: float
    naive_bus_mae: float

    @property
    def ratio(self) -> float:
        """Model MAE / naive MAE: below 1 beats the naive forecast (nan when there are no days)."""
        return self.mae / self.naive_mae if self.naive_mae else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


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
        return ErrorSummary(day_type, 0, nan, nan, nan, nan, nan, nan)
    model_err = np.abs(pred - truth)
    naive_err = np.abs(naive - truth)
    return ErrorSummary(
        day_type=day_type, count=len(truth), mae=float(model_err.mean()), naive_mae=float(naive_err.mean()),
        rail_mae=float(model_err[:, 0].mean()), bus_mae=float(model_err[:, 1].mean()),
        naive_rail_mae=float(naive_err[:, 0].mean()), naive_bus_mae=float(naive_err[:, 1].mean()),
    )


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
