"""Checking what a chosen day type does against real days (issue 20, item 2).

- ``holiday_ratios`` (engine/holiday_range.py, where the forecast uses it): every real holiday from Monday to Friday (U on a weekday) against the usual
  weekday around it (the mean of the same weekday's last ``USUAL_WEEKS`` ordinary days before it:
  W, no minor holiday, no school break), per series; ``ratio_ranges`` gives the range per weekday.
- ``counterfactual``: forecasting ordinary weekdays of a split as U (a holiday on that weekday)
  must land inside that weekday's range of real ratios (measured against the same window's
  forecast as a weekday), and forecasting the split's real weekday holidays as W must land near
  the usual weekday.
- ``held_check``: what the forecast does instead (engine/holiday_range.py): ordinary weekdays run
  as U, held to the training split's range, and the real weekday holidays, held or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .daytypes import WEEKDAY_NAMES, day_inputs, kinds_of
from .holiday_range import SEARCH_WEEKS, SERIES, USUAL_WEEKS, holiday_ratios, ordinary_weekdays, usual_weekday  # noqa: F401


def ratio_ranges(ratios: pd.DataFrame) -> dict[int, dict[str, tuple[float, float, int]]]:
    """Per weekday (Monday = 0) and series: (lowest, highest, days) of the real holiday ratios."""
    out = {}
    for weekday, group in ratios.groupby("weekday"):
        out[int(weekday)] = {
            s: (float(group[f"{s}_ratio"].min()), float(group[f"{s}_ratio"].max()), len(group)) for s in SERIES
        }
    return out


@dataclass(frozen=True)
class WhatIfCheck:
    """Ordinary weekdays forecast as U (ratio to the same window's W forecast), and real weekday
    holidays forecast as W (ratio to the usual weekday), per series."""

    as_u: pd.DataFrame  # date, weekday, rail_ratio, bus_ratio, rail_inside, bus_inside
    as_w: pd.DataFrame  # date, weekday, rail_ratio, bus_ratio

    def summary(self) -> dict:
        out = {"as_u_days": len(self.as_u), "as_w_days": len(self.as_w)}
        for s in SERIES:
            if len(self.as_u):
                out[f"as_u_{s}_inside"] = float(self.as_u[f"{s}_inside"].mean())
                out[f"as_u_{s}_median_ratio"] = float(self.as_u[f"{s}_ratio"].median())
            if len(self.as_w):
                out[f"as_w_{s}_median_ratio"] = float(self.as_w[f"{s}_ratio"].median())
                out[f"as_w_{s}_range"] = (float(self.as_w[f"{s}_ratio"].min()), float(self.as_w[f"{s}_ratio"].max()))
        return out


def predict_as(predictor, name: str, day_type: str | None) -> np.ndarray:
    """The predictor's forecasts (riders, (days, 2)) of split ``name``'s targets, each day forecast as
    ``day_type`` (engine.daytypes.day_inputs; None: the calendar's) from the real window before it."""
    from .domain import SCALE
    from .forecast import inputs_of_width
    from .inference import predict

    split = predictor.splits[name]
    windows = split.windows.clone()
    inputs = inputs_of_width(windows.shape[2])
    if day_type is not None:
        import torch

        columns = np.stack([day_inputs(d, day_type).columns(inputs) for d in split.target_dates])
        windows[:, -1, 2:] = torch.tensor(columns, dtype=windows.dtype)
    with predictor._threads():
        return predict(predictor.model, windows.to(predictor.device)).cpu().numpy().astype(np.float64) * SCALE


def counterfactual(predictor, ranges: dict, names=("valid", "test")) -> WhatIfCheck:
    frame = predictor.data.frame
    ordinary = ordinary_weekdays(frame)
    weekday_holiday = kinds_of(frame)["U weekday"]
    actual = frame[list(SERIES)].to_numpy(dtype=np.float64)
    as_u, as_w = [], []
    for name in names:
        split = predictor.splits[name]
        positions = split.target_positions
        plain, u, w = (predictor.predicted_as(name, t) for t in (None, "U", "W"))
        for i, p in enumerate(positions):
            date = frame.index[p]
            if ordinary[p] and date.day_of_week in ranges:
                row = {"date": date, "weekday": int(date.day_of_week)}
                for k, s in enumerate(SERIES):
                    ratio = u[i, k] / plain[i, k]
                    low, high, _ = ranges[date.day_of_week][s]
                    row[f"{s}_ratio"], row[f"{s}_inside"] = ratio, low <= ratio <= high
                as_u.append(row)
            elif weekday_holiday[p]:
                usual = usual_weekday(frame, ordinary, p)
                if usual is not None:
                    as_w.append(
                        {
                            "date": date,
                            "weekday": int(date.day_of_week),
                            "actual_rail": actual[p, 0],
                            **{f"{s}_ratio": w[i, k] / usual[k] for k, s in enumerate(SERIES)},
                        }
                    )
    return WhatIfCheck(pd.DataFrame(as_u), pd.DataFrame(as_w))


def range_lines(ranges: dict) -> list[str]:
    return [
        f"{WEEKDAY_NAMES[d]:<9} {r['rail'][2]:>3} holidays: rail {r['rail'][0]:.2f}..{r['rail'][1]:.2f}, "
        f"bus {r['bus'][0]:.2f}..{r['bus'][1]:.2f}"
        for d, r in sorted(ranges.items())
    ]


@dataclass(frozen=True)
class HeldCheck:
    """The held U (engine.holiday_range) on real days of a split: ordinary weekdays run as U
    (``as_u``: date, weekday, per series the model's and the held ratio to the W forecast and
    whether the held one is inside the training holidays' range), and the real weekday holidays
    (``holidays``: date, per series the actual riders, the model's own forecast and the held one)."""

    as_u: pd.DataFrame
    holidays: pd.DataFrame

    def summary(self) -> dict:
        out = {"as_u_days": len(self.as_u), "holidays": len(self.holidays)}
        for s in SERIES:
            if len(self.as_u):
                out[f"as_u_{s}_inside"] = float(self.as_u[f"{s}_inside"].mean())
                out[f"as_u_{s}_model_inside"] = float(self.as_u[f"{s}_model_inside"].mean())
            if len(self.holidays):
                actual = self.holidays[f"{s}_actual"]
                out[f"{s}_model_mae"] = float((self.holidays[f"{s}_model"] - actual).abs().mean())
                out[f"{s}_held_mae"] = float((self.holidays[f"{s}_held"] - actual).abs().mean())
        return out


def held_check(predictor, names=("valid", "test")) -> HeldCheck:
    """engine.holiday_range on the named splits, with the predictor's training-split table: each
    day forecast from the real window before it (not the autoregressive forecast)."""
    from .holiday_range import HeldU

    table = predictor.holiday_table()
    frame = predictor.data.frame
    ordinary = ordinary_weekdays(frame)
    weekday_holiday = kinds_of(frame)["U weekday"]
    actual = frame[list(SERIES)].to_numpy(dtype=np.float64)
    as_u, holidays = [], []
    for name in names:
        split = predictor.splits[name]
        plain, u, w = (predictor.predicted_as(name, t) for t in (None, "U", "W"))
        for i, p in enumerate(split.target_positions):
            date = frame.index[p]
            if date.day_of_week >= 5 or table.get(date.day_of_week) is None:
                continue
            if ordinary[p]:  # the calendar's forecast is the W one
                base, model = plain[i], u[i]
            elif weekday_holiday[p]:  # the calendar's forecast is the model's own U
                base, model = w[i], plain[i]
            else:
                continue
            held = HeldU(date, dict(zip(SERIES, base)), dict(zip(SERIES, model)), table.get(date.day_of_week))
            row = {"date": date, "weekday": int(date.day_of_week)}
            if ordinary[p]:
                for s in SERIES:
                    low, high = held.range.low[s], held.range.high[s]
                    row[f"{s}_ratio"], row[f"{s}_model_ratio"] = held.ratio(s), held.ratio(s, "model")
                    row[f"{s}_inside"] = low - 1e-9 <= held.ratio(s) <= high + 1e-9
                    row[f"{s}_model_inside"] = low <= held.ratio(s, "model") <= high
                as_u.append(row)
            else:
                for k, s in enumerate(SERIES):
                    row[f"{s}_actual"], row[f"{s}_model"], row[f"{s}_held"] = actual[p, k], model[k], held.value[s]
                holidays.append(row)
    return HeldCheck(pd.DataFrame(as_u), pd.DataFrame(holidays))
