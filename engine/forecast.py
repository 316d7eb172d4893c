"""Next-day forecast from the last window, for a chosen (or calendar-inferred) day type.

The article sets column 3 of the last row (next_day_type_U) while claiming a weekday, and leaves
the other day-type columns as they were. Here the one-hot is set by name and the others cleared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .calendar import infer_day_type
from .data import DAY_TYPES, FEATURES, SCALE, RidershipData
from .errors import DataError, RidershipError


@dataclass(frozen=True)
class Forecast:
    date: pd.Timestamp
    day_type: str
    inferred: bool  # day type taken from the calendar, not chosen
    rail: float  # riders
    bus: float  # riders

    def to_dict(self) -> dict:
        return {"date": f"{self.date:%Y-%m-%d}", "day_type": self.day_type, "day_type_inferred": self.inferred,
                "rail": round(self.rail), "bus": round(self.bus)}


def set_next_day_type(window: np.ndarray, day_type: str) -> np.ndarray:
    """Set the last row's next-day one-hot to ``day_type``, clearing the other day types."""
    if day_type not in DAY_TYPES:
        raise RidershipError(f"day type {day_type!r} is not one of W (weekday), A (Saturday), U (Sunday/holiday)")
    window = window.copy()
    for kind in DAY_TYPES:
        window[-1, FEATURES.index(f"next_day_type_{kind}")] = 1.0 if kind == day_type else 0.0
    return window


def forecast_next_day(model, data: RidershipData, window_length: int, day_type: str | None = None,
                      device="cpu") -> Forecast:
    values = data.features().to_numpy(dtype=np.float64)
    if len(values) < window_length:
        raise DataError(f"the data has {len(values)} rows; the model needs a window of {window_length}")
    date = data.last_date + pd.Timedelta(days=1)
    inferred = day_type is None
    day_type = infer_day_type(date) if inferred else day_type.upper()
    window = set_next_day_type(values[-window_length:], day_type)
    model.eval()
    with torch.no_grad():
        X = torch.tensor(window, dtype=torch.float32, device=torch.device(device)).unsqueeze(0)
        rail, bus = model(X).squeeze(0).cpu().tolist()
    return Forecast(date=date, day_type=day_type, inferred=inferred, rail=rail * SCALE, bus=bus * SCALE)
