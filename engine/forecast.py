"""Next-day and multi-day forecasts from the last window, for chosen (or calendar-inferred) day types.

The article sets column 3 of the last row (next_day_type_U) while claiming a weekday, and leaves
the other day-type columns as they were. Here the one-hot is set by name and the others cleared,
and a chosen type sets the calendar inputs of the real days it means (engine/daytypes.py: "run
Wednesday as a Sunday/holiday service" reads as a holiday falling on a Wednesday).
An ordinary weekday run as U is the model's holiday forecast held to what real holidays on that
weekday did (engine/holiday_range.py), when a table of them is given (the Predictor gives one).
Multi-day forecasts are autoregressive: each day's forecast becomes the last row of the next window.
A single-day forecast is the first day of a multi-day one, so both give the same number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .data.loading import RidershipData
from .daytypes import SATURDAY, DayInputs, day_inputs
from .domain import DAY_TYPES, FEATURES, INPUTS, MAX_FORECAST_DAYS, SCALE
from .errors import DataError, RidershipError
from .holiday_range import HeldU, HolidayTable


@dataclass(frozen=True)
class Forecast:
    date: pd.Timestamp
    day_type: str
    inferred: bool  # day type taken from the calendar, not chosen
    rail: float  # riders
    bus: float  # riders
    basis: str = ""  # how a chosen type's inputs were formed, in a planner's words ("": the calendar's day)
    # Training days with this weekday and day type (None: not checked); 0: never seen, an extrapolation.
    seen: int | None = None
    group: str | None = None  # engine.daytypes.HOLIDAY_GROUP: the interval comes from holidays' errors
    held: HeldU | None = None  # a weekday run as U: how it was held to real holidays (engine.holiday_range)
    band: dict | None = None  # its interval (rail_low, rail_high, bus_low, bus_high; riders), when made

    @property
    def unseen(self) -> bool:
        return self.seen == 0

    def note(self) -> str:
        """What to say next to the number: how a chosen type was formed, and whether the training
        data ever had such a day ("" for an ordinary day)."""
        if self.held is not None and self.held.range is not None:
            return self.held.note()  # its interval spans the real holidays' range
        parts = [self.held.note()] if self.held is not None else [self.basis] if self.basis else []
        if self.unseen:
            parts.append(
                f"no {self.date:%A} in the training data ran this service: an extrapolation, "
                "its interval widened to the errors of real holidays on weekdays"
            )
        elif self.group and self.seen is not None:
            parts.append(
                f"{self.seen} such day{'s' if self.seen != 1 else ''} in the training data, "
                "interval from real holidays' errors"
            )
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "date": f"{self.date:%Y-%m-%d}",
            "day_type": self.day_type,
            "day_type_inferred": self.inferred,
            "rail": round(self.rail),
            "bus": round(self.bus),
            "how_formed": self.note() or None,
            "formed_from": self.held.to_dict() if self.held is not None else None,
            "seen_in_training": self.seen,
        }


def set_next_day_type(window: np.ndarray, day_type: str, date: pd.Timestamp | None = None) -> np.ndarray:
    """Set the last row's next-day one-hot to ``day_type``, clearing the other day types; with the
    calendar or holidays inputs (13 or 15 columns), also the next day's calendar columns: those
    ``day_type`` means on ``date`` (engine.daytypes.day_inputs)."""
    if day_type not in DAY_TYPES:
        raise RidershipError(f"day type {day_type!r} is not one of W (weekday), A (Saturday), U (Sunday/holiday)")
    inputs = inputs_of_width(window.shape[1])
    if inputs == "article":
        window = window.copy()
        for kind in DAY_TYPES:
            window[-1, FEATURES.index(f"next_day_type_{kind}")] = 1.0 if kind == day_type else 0.0
        return window
    if date is None:
        raise RidershipError(f"a model with {inputs} inputs needs the forecast day's date")
    return set_day_inputs(window, day_inputs(date, day_type))


def _with_day(window: np.ndarray, date: pd.Timestamp, day: DayInputs) -> np.ndarray:
    """``window`` with its last row's next-day columns set to ``day``'s (the day type only for a
    model with the article's inputs)."""
    if inputs_of_width(window.shape[1]) == "article":
        return set_next_day_type(window, day.day_type)
    return set_day_inputs(window, day)


def set_day_inputs(window: np.ndarray, day: DayInputs) -> np.ndarray:
    """A copy of ``window`` whose last row's next-day columns are ``day``'s."""
    window = window.copy()
    window[-1, 2:] = day.columns(inputs_of_width(window.shape[1]))
    return window


def inputs_of_width(width: int) -> str:
    """Which inputs (TrainConfig.inputs) have ``width`` columns."""
    return next((name for name, columns in INPUTS.items() if len(columns) == width), "article")


def inputs_of(model) -> str:
    """Which inputs (TrainConfig.inputs) ``model`` reads, from its input width."""
    return inputs_of_width(model.lstm.input_size)


def _last_window_values(data: RidershipData, window_length: int, inputs: str = "article") -> np.ndarray:
    values = data.feature_values(inputs)
    if len(values) < window_length:
        raise DataError(f"the data has {len(values)} rows; the model needs a window of {window_length}")
    return values[-window_length:]


def _predict_one(model, window: np.ndarray, device) -> tuple[float, float]:
    with torch.no_grad():
        X = torch.tensor(window, dtype=torch.float32, device=torch.device(device)).unsqueeze(0)
        rail, bus = model(X).squeeze(0).cpu().tolist()
    return rail, bus


def forecast_next_day(
    model,
    data: RidershipData,
    window_length: int,
    day_type: str | None = None,
    device="cpu",
    seen=None,
    holidays: HolidayTable | None = None,
) -> Forecast:
    """The day after the data: the first day of ``forecast_days``, so both agree exactly."""
    overrides = {1: day_type} if day_type is not None else None
    return forecast_days(model, data, window_length, 1, overrides, device, seen, holidays)[0]


def forecast_days(
    model,
    data: RidershipData,
    window_length: int,
    days: int = 1,
    overrides: dict | None = None,
    device="cpu",
    seen=None,
    holidays: HolidayTable | None = None,
) -> list[Forecast]:
    """Forecast the ``days`` days after the data (1..MAX_FORECAST_DAYS), feeding each forecast back as the
    next window's last row. Day types come from the calendar unless ``overrides`` sets them:
    keys are dates (``YYYY-MM-DD`` text, date or Timestamp) or day numbers (1 = the first day).
    ``seen(DayInputs) -> int``: how many training days had that weekday and type (the Predictor's).
    ``holidays``: real holidays' ratios to the usual weekday; with it, an ordinary weekday run as U
    is held to its weekday's range (engine.holiday_range), and the held number is fed forward."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_FORECAST_DAYS:
        raise RidershipError(f"days must be a whole number from 1 to {MAX_FORECAST_DAYS}, got {days!r}")
    first = data.last_date + pd.Timedelta(days=1)
    dates = [first + pd.Timedelta(days=i) for i in range(days)]
    chosen = resolve_overrides(overrides or {}, dates)
    window = _last_window_values(data, window_length, inputs_of(model)).copy()
    model.eval()
    out = []
    for number, date in enumerate(dates, start=1):
        day = day_inputs(date, chosen.get(number))
        basis = day.basis
        window = _with_day(window, date, day)
        if inputs_of_width(window.shape[1]) == "article":
            basis = basis and f"day type {day.day_type} only: this model reads no weekday or holiday inputs"
        rail, bus = _predict_one(model, window, device)
        held = None
        if holidays is not None and day.what_if and day.day_type == "U" and date.day_of_week < SATURDAY:
            # The same window read as the date's own (ordinary weekday) inputs: the base of the ratio.
            as_weekday = _predict_one(model, _with_day(window, date, day_inputs(date)), device)
            held = HeldU(
                date,
                {"rail": as_weekday[0] * SCALE, "bus": as_weekday[1] * SCALE},
                {"rail": rail * SCALE, "bus": bus * SCALE},
                holidays.get(date.day_of_week),
                holidays.total,
            )
            rail, bus = held.value["rail"] / SCALE, held.value["bus"] / SCALE
        out.append(
            Forecast(
                date=date,
                day_type=day.day_type,
                inferred=number not in chosen,
                rail=rail * SCALE,
                bus=bus * SCALE,
                basis=basis,
                seen=None if seen is None else seen(day),
                group=day.interval_group,
                held=held,
            )
        )
        # The forecast day becomes the newest row; its next-day type is set on the next step.
        window = np.vstack([window[1:], [[rail, bus] + [0.0] * (window.shape[1] - 2)]])
    return out


def resolve_overrides(overrides: dict, dates: list[pd.Timestamp]) -> dict[int, str]:
    """``{date or day number: day type}`` -> ``{day number: day type}``, checking both."""
    numbers = {date: number for number, date in enumerate(dates, start=1)}
    span = f"{dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d}"
    out: dict[int, str] = {}
    for key, day_type in overrides.items():
        kind = str(day_type).strip().upper()
        if kind not in DAY_TYPES:
            raise RidershipError(
                f"day type {day_type!r} for {key} is not one of W (weekday), A (Saturday), U (Sunday/holiday)"
            )
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            number = int(key)
            if not 1 <= number <= len(dates):
                raise RidershipError(f"day {number} is outside the forecast (days 1..{len(dates)}, {span})")
        else:
            try:
                date = pd.Timestamp(key.isoformat() if isinstance(key, dt.date) else str(key).strip())
            except ValueError:
                date = pd.NaT
            if pd.isna(date):
                raise RidershipError(f"{key!r} is not a date (expected YYYY-MM-DD)")
            if date.normalize() != date or date not in numbers:
                raise RidershipError(f"{key} is outside the forecast ({span})")
            number = numbers[date]
        if number in out and out[number] != kind:
            raise RidershipError(
                f"day {number} ({dates[number - 1]:%Y-%m-%d}) is given two day types: {out[number]} and {kind}"
            )
        out[number] = kind
    return out
