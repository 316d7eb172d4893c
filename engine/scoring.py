"""How good a model is, in riders: split scores and backtests beside the naive "same day last week"
forecast and the gradient-boosting reference (engine/reference.py) on the same targets, per series
and per day type."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .data.loading import RidershipData
from .data.windows import Split, make_splits
from .daytypes import kinds_of
from .domain import DAY_TYPE_ORDER, SEASON, TARGETS, riders
from .inference import cpu_threads, evaluate_mae, predict


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
    # The gradient-boosting reference (engine/reference.py) on the same targets; nan without it.
    gbm_mae: float = math.nan
    gbm_rail_mae: float = math.nan
    gbm_bus_mae: float = math.nan

    @property
    def ratio(self) -> float:
        """Model MAE / naive MAE: below 1 beats the naive forecast (nan when there is nothing to compare)."""
        return self.mae / self.naive_mae if self.naive_mae else float("nan")

    @property
    def gbm_ratio(self) -> float:
        """Model MAE / LightGBM's MAE: below 1 beats the gradient-boosting reference."""
        return self.mae / self.gbm_mae if self.gbm_mae and math.isfinite(self.gbm_mae) else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "gbm_ratio": self.gbm_ratio}


def error_fields(
    truth: np.ndarray, pred: np.ndarray, naive: np.ndarray, gbm: np.ndarray | None = None
) -> dict[str, float]:
    """The ModelVsNaive fields for (rows, 2) arrays, columns rail and bus, in the arrays' unit."""
    model_err, naive_err = np.abs(pred - truth), np.abs(naive - truth)
    out = dict(
        mae=float(model_err.mean()),
        naive_mae=float(naive_err.mean()),
        rail_mae=float(model_err[:, 0].mean()),
        bus_mae=float(model_err[:, 1].mean()),
        naive_rail_mae=float(naive_err[:, 0].mean()),
        naive_bus_mae=float(naive_err[:, 1].mean()),
    )
    if gbm is not None:
        gbm_err = np.abs(gbm - truth)
        out.update(
            gbm_mae=float(gbm_err.mean()),
            gbm_rail_mae=float(gbm_err[:, 0].mean()),
            gbm_bus_mae=float(gbm_err[:, 1].mean()),
        )
    return out


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


def naive_mae(data: RidershipData, split: Split) -> float:
    """MAE of "same day last week" on ``split``'s targets, both series together, in riders."""
    truth = split.targets.numpy().astype(np.float64)
    return float(riders(np.abs(naive_predictions(data.feature_values(), split) - truth).mean()))


def score_split(
    model, split: Split, features_values: np.ndarray, batch_size: int, device, gbm: np.ndarray | None = None
) -> SplitScore:
    """``gbm``: the reference's predictions on the split's targets, in millions (engine/reference.py)."""
    device = torch.device(device)
    X, y = split.windows.to(device), split.targets.to(device)
    mae = evaluate_mae(model, X, y, batch_size, device)
    pred = predict(model, X).cpu().numpy().astype(np.float64)
    truth = split.targets.numpy().astype(np.float64)
    naive = naive_predictions(features_values, split)
    errors = error_fields(riders(truth), riders(pred), riders(naive), riders(gbm))
    errors["mae"] = riders(mae)  # the article's metric: torchmetrics over batches, float32
    return SplitScore(split=split.name, windows=len(split), **errors)


def score_all(
    model,
    splits: dict[str, Split],
    features_values: np.ndarray,
    batch_size: int,
    device,
    names=("valid", "test"),
    gbm: dict[str, np.ndarray] | None = None,
) -> dict[str, SplitScore]:
    # The training thread setting: torch's default threads fight a UI thread for the cores.
    with cpu_threads(torch.device(device), model.hidden_size):
        return {
            name: score_split(model, splits[name], features_values, batch_size, device, (gbm or {}).get(name))
            for name in names
        }


def reference_for(data: RidershipData, splits: dict[str, Split], config, names=("valid", "test")):
    """The gradient-boosting reference's predictions for ``splits`` (cached; None without lightgbm)."""
    from .reference import reference_predictions

    return reference_predictions(data, splits, config.window_length, names)


# -- backtests: every day of a split, and the errors per day type --------------------------------


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
    # engine.daytypes.KINDS with days: W, A, U, then U on a weekday, minor holidays, school breaks
    by_kind: dict[str, ErrorSummary] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.dates)

    def to_dict(self) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "split",
                "dates",
                "day_types",
                "actual_rail",
                "actual_bus",
                "pred_rail",
                "pred_bus",
                "naive_rail",
                "naive_bus",
            )
        }
        out["overall"] = self.overall.to_dict()
        out["by_day_type"] = {k: v.to_dict() for k, v in self.by_day_type.items()}
        out["by_kind"] = {k: v.to_dict() for k, v in self.by_kind.items()}
        return out


def summarize(
    day_type: str, truth: np.ndarray, pred: np.ndarray, naive: np.ndarray, gbm: np.ndarray | None = None
) -> ErrorSummary:
    """Errors over the rows given; arrays are (days, 2) in riders, columns rail, bus."""
    if len(truth) == 0:
        nan = float("nan")
        return ErrorSummary(
            day_type=day_type,
            count=0,
            mae=nan,
            naive_mae=nan,
            rail_mae=nan,
            bus_mae=nan,
            naive_rail_mae=nan,
            naive_bus_mae=nan,
        )
    return ErrorSummary(day_type=day_type, count=len(truth), **error_fields(truth, pred, naive, gbm))


def backtest_split(
    model, split: Split, data: RidershipData, device="cpu", gbm: np.ndarray | None = None
) -> SplitBacktest:
    """``model``: on ``device`` already, as score_split takes it. Never ``model.to()`` here: the app's
    forecast and backtest workers run one model at once, and an LSTM's ``.to()`` (even to its own
    device) empties its weight references for a moment, so a forward pass in another thread failed
    ("zip() argument 2 is longer than argument 1"). ``gbm``: the reference's predictions on the
    split's targets, in millions (or None)."""
    features = data.feature_values()
    gbm = riders(gbm)
    device = torch.device(device)
    pred = riders(predict(model, split.windows.to(device)).cpu().numpy().astype(np.float64))
    truth = riders(split.targets.numpy().astype(np.float64))
    naive = riders(naive_predictions(features, split))
    kinds = data.frame["day_type"].to_numpy()[split.target_positions]
    by_type = {}
    for kind in DAY_TYPE_ORDER:
        rows = kinds == kind
        if rows.any():
            by_type[kind] = summarize(kind, truth[rows], pred[rows], naive[rows], None if gbm is None else gbm[rows])
    by_kind = {}
    for kind, rows in kinds_of(data.frame.iloc[split.target_positions]).items():
        if rows.any():
            by_kind[kind] = summarize(kind, truth[rows], pred[rows], naive[rows], None if gbm is None else gbm[rows])
    return SplitBacktest(
        split=split.name,
        dates=[f"{d:%Y-%m-%d}" for d in split.target_dates],
        day_types=kinds.tolist(),
        actual_rail=truth[:, 0].tolist(),
        actual_bus=truth[:, 1].tolist(),
        pred_rail=pred[:, 0].tolist(),
        pred_bus=pred[:, 1].tolist(),
        naive_rail=naive[:, 0].tolist(),
        naive_bus=naive[:, 1].tolist(),
        overall=summarize("all", truth, pred, naive, gbm),
        by_day_type=by_type,
        by_kind=by_kind,
    )


def backtest(
    model,
    data: RidershipData,
    config,
    splits=("valid", "test"),
    device="cpu",
    made: dict[str, Split] | None = None,
    gbm: dict[str, np.ndarray] | None = None,
) -> dict[str, SplitBacktest]:
    """Backtest ``model`` on the named splits of ``data`` cut with ``config``'s dates and window
    (``made``: splits already cut, to skip recutting; ``gbm``: the reference's predictions)."""
    made = made if made is not None else make_splits(data, config)
    return {name: backtest_split(model, made[name], data, device, (gbm or {}).get(name)) for name in splits}
