"""Prediction intervals: rolling split-conformal, from the model's own recent errors.

For a forecast h days ahead (h = 1 is the next day) of a day of type T, the interval is the forecast
plus or minus the ``level`` conformal quantile of the model's absolute errors h days ahead on the
last ``ROLLING_DAYS`` days of type T before the forecast is made (per series). Errors h days ahead
come from the same recursive forecasting the multi-day forecast does: from every day, feed each
forecast back as the next input.

Why rolling, not one fixed calibration split: ridership changes regime (the 2020 collapse divided
it by three). Errors from the validation months of 2019 gave 84% (rail) and 89% (bus) coverage on
the test split for a nominal 80%; the last 91 days of the same day type gave 80% and 82%
(measured with the first ``best`` preset; the current one, seed 42, gives 79.7% and 82.4%; README).
The coverage shown beside an interval is measured the same way on the test split: each test day's
interval uses only errors of days before it.

A holiday off Sunday (U on a weekday or a Saturday, from the calendar or chosen) and a what-if the
training data never saw are not ordinary days of their type: their interval is at least the
``level`` quantile of the model's relative errors on the last ``HOLIDAY_DAYS`` real holidays off
Sunday (relative, so holidays from years of another level count), times the forecast. Those are
the nearest real cases, and their errors are larger than a Sunday's (engine/daytypes.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .domain import SERIES, TARGETS, riders

DEFAULT_LEVEL = 0.8
ROLLING_DAYS = 91  # days of the same day type (about 13 weeks of weekdays, 1.75 years of Saturdays)
LOOKBACK_DAYS = 3 * 365  # covers ROLLING_DAYS Sundays and holidays
HOLIDAY_DAYS = 40  # the last real holidays off Sunday whose errors widen a holiday's interval
HOLIDAY_LOOKBACK_DAYS = 9 * 365  # about 7 such holidays a year


@dataclass(frozen=True)
class StepErrors:
    """Absolute errors in riders ((n, 2), columns rail and bus) of forecasts h days ahead, the row of
    each target day, and its day type."""

    errors: np.ndarray
    targets: np.ndarray
    day_types: np.ndarray
    predictions: np.ndarray | None = None  # riders, (n, 2)


@dataclass(frozen=True)
class Intervals:
    """Half-widths in riders for forecasts made after the data's last day:
    ``width[h][series][day type]`` for h = 1..horizon, and the measured next-day coverage."""

    level: float
    width: dict[int, dict[str, dict[str, float]]]
    coverage: dict[str, float] = field(default_factory=dict)  # on the test split, next day, per series
    coverage_days: int = 0
    # ``relative[h][series]``: the level quantile of |error| / forecast on the last HOLIDAY_DAYS holidays
    # off Sunday, h days ahead; empty when the data has none.
    relative: dict[int, dict[str, float]] = field(default_factory=dict)
    holiday_days: int = 0

    def half_width(
        self, horizon: int, series: str, day_type: str, value: float | None = None, group: str | None = None
    ) -> float:
        """The half-width for a forecast ``value`` h days ahead; ``group`` (engine.daytypes.HOLIDAY_GROUP)
        widens it to the holidays' relative errors."""
        by_type = self.width[min(horizon, max(self.width))][series]
        half = by_type.get(day_type, math.nan)
        if group and value is not None and self.relative:
            rel = self.relative[min(horizon, max(self.relative))][series]
            if math.isfinite(rel):
                half = max(half, rel * abs(value)) if math.isfinite(half) else rel * abs(value)
        return half

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "coverage_on_test": self.coverage,
            "coverage_days": self.coverage_days,
            "rolling_days": ROLLING_DAYS,
            "holiday_days": self.holiday_days,
        }


def step_errors(
    model, values: np.ndarray, day_types: np.ndarray, window_length: int, horizon: int, since: int = 0
) -> dict[int, StepErrors]:
    """For every day from row ``since`` with a full window before it: the errors of forecasting
    1..horizon days ahead."""
    starts = np.arange(max(window_length, since), len(values))
    windows = np.stack([values[p - window_length : p] for p in starts])  # (n, window, features)
    model.eval()
    out = {}
    for h in range(1, horizon + 1):
        targets = starts + h - 1
        keep = targets < len(values)
        if not keep.any():
            break
        with torch.no_grad():
            pred = model(torch.tensor(windows, dtype=torch.float32)).numpy().astype(np.float64)
        at = targets.clip(max=len(values) - 1)
        err = riders(np.abs(pred - values[at, :SERIES]))
        out[h] = StepErrors(err[keep], targets[keep], day_types[targets[keep]], riders(pred[keep]))
        # The forecast becomes the newest row; its calendar columns are the real ones of that day.
        new_rows = values[at].copy()
        new_rows[:, :SERIES] = pred
        windows = np.concatenate([windows[:, 1:], new_rows[:, None, :]], axis=1)
    return out


def conformal_quantile(errors: np.ndarray, level: float) -> float:
    """The k-th smallest error, k = ceil((n + 1) * level): coverage >= level for exchangeable errors.
    With too few errors for that (k > n) the largest one is used, and the guarantee is weaker."""
    n = len(errors)
    if n == 0:
        return math.nan
    k = min(n, math.ceil((n + 1) * level))
    return float(np.partition(np.asarray(errors, dtype=float), k - 1)[k - 1])


def _recent(steps: StepErrors, before: int, day_type: str, series: int) -> np.ndarray:
    """The errors of the last ROLLING_DAYS targets of ``day_type`` before row ``before``."""
    rows = (steps.targets < before) & (steps.day_types == day_type)
    return steps.errors[rows, series][-ROLLING_DAYS:]


def calibrate(
    model,
    data,
    splits: dict,
    window_length: int,
    inputs: str = "article",
    level: float = DEFAULT_LEVEL,
    horizon: int = 1,
) -> Intervals:
    """Intervals for forecasts after the data's end, and their next-day coverage on the test split."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    from .daytypes import holiday_group_mask

    values = data.feature_values(inputs)
    day_types = data.frame["day_type"].to_numpy()
    end = len(values)
    test = splits.get("test")
    first = min(int(test.target_positions[0]), end) if test is not None and len(test) else end
    # Enough history before the first day that needs errors: ROLLING_DAYS of the rarest day type, and
    # HOLIDAY_DAYS holidays off Sunday before the end.
    since = min(first - LOOKBACK_DAYS, end - HOLIDAY_LOOKBACK_DAYS)
    steps = step_errors(model, values, day_types, window_length, horizon, since=since)
    width = {
        h: {
            series: {kind: conformal_quantile(_recent(st, end, kind, s), level) for kind in ("W", "A", "U")}
            for s, series in enumerate(TARGETS)
        }
        for h, st in steps.items()
    }
    holidays = holiday_group_mask(data.frame)
    relative, holiday_days = {}, 0
    for h, st in steps.items():
        rows = np.flatnonzero(holidays[st.targets] & (st.targets < end))[-HOLIDAY_DAYS:]
        if len(rows):
            ratio = st.errors[rows] / np.maximum(np.abs(st.predictions[rows]), 1.0)
            relative[h] = {series: conformal_quantile(ratio[:, s], level) for s, series in enumerate(TARGETS)}
            holiday_days = holiday_days or len(rows)
    coverage, days = {}, 0
    if test is not None and 1 in steps:
        one = steps[1]
        rows = np.flatnonzero(np.isin(one.targets, test.target_positions))
        for s, series in enumerate(TARGETS):
            hits = [
                one.errors[i, s] <= conformal_quantile(_recent(one, one.targets[i], one.day_types[i], s), level)
                for i in rows
            ]
            coverage[series] = float(np.mean(hits)) if hits else math.nan
        days = len(rows)
    return Intervals(level, width, coverage, days, relative, holiday_days)
