"""What choosing a day type for a date means for the model's inputs, in a planner's words.

A model with calendar inputs reads, for the day it forecasts, the CTA day type (W weekday,
A Saturday, U Sunday/holiday), the weekday, whether it is a CTA holiday, and (``holidays`` inputs)
whether it is a minor holiday or a school-break day. Setting only the day type would describe a
day that never happens (a Sunday/holiday service on an ordinary Wednesday), so choosing a type
sets the inputs of the real days that type means on that date:

- the calendar's own type (or none chosen): the date's real inputs, unchanged;
- **U, "run Wednesday 12-01 as a Sunday/holiday service"**: the inputs of a CTA holiday falling on
  that weekday (day type U, the date's weekday, holiday on, minor holiday off), as Thanksgiving or
  the Fourth of July on a weekday; chosen for a Saturday: a holiday falling on a Saturday;
- **A, "run it as a Saturday service"**: the inputs of an ordinary Saturday (day type A, weekday
  Saturday, no holiday): no weekday or Sunday ran a Saturday service in the CTA's data, so the
  forecast is a Saturday's riders at the current level;
- **W, "run it as a weekday"**: on a real holiday from Monday to Friday, an ordinary weekday's
  inputs (same weekday, holiday and minor holiday off); on a Saturday or Sunday, the inputs of the
  nearest weekday (Friday for a Saturday, Monday for a Sunday).

Whatever the type, the school-break input stays the date's own: schools are closed whatever
service the CTA runs. ``kinds`` names the kinds of real days the errors are measured on
(W, A, U, U on a weekday, minor holidays, school breaks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .domain import DAY_TYPES, INPUTS
from .errors import RidershipError

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SATURDAY, SUNDAY, FRIDAY, MONDAY = 5, 6, 4, 0
# The kinds of real days errors are reported on: the three day types, then three subsets of them.
KINDS = ("W", "A", "U", "U weekday", "minor", "school")
KIND_NAMES = {
    "W": "weekdays",
    "A": "Saturdays",
    "U": "Sundays/holidays",
    "U weekday": "holidays on a weekday",
    "minor": "minor holidays",
    "school": "school-break weekdays",
}
# The interval group of a forecast day that is not an ordinary day of its type: a holiday on a
# weekday or a Saturday (real or chosen) and any what-if the training data never saw.
HOLIDAY_GROUP = "holiday"


@dataclass(frozen=True)
class DayInputs:
    """The next-day inputs the model reads for one forecast day."""

    date: pd.Timestamp
    day_type: str  # the type chosen (or the calendar's)
    calendar_type: str  # the calendar's type of the date
    weekday: int  # the weekday the model is told (Monday = 0)
    holiday: bool  # a CTA (Sunday-service) holiday
    minor: bool
    school: bool
    basis: str  # how the inputs were formed, in a planner's words ("" for the calendar's own day)

    @property
    def what_if(self) -> bool:
        return self.day_type != self.calendar_type

    @property
    def interval_group(self) -> str | None:
        """HOLIDAY_GROUP for a U day off Sunday (its errors are a holiday's, not a Sunday's), else
        None: the day type's own errors."""
        return HOLIDAY_GROUP if self.day_type == "U" and self.weekday != SUNDAY else None

    def columns(self, inputs: str) -> np.ndarray:
        """The next-day columns (everything after rail and bus) of ``inputs``."""
        names = INPUTS[inputs][2:]
        values = {f"next_day_type_{k}": float(k == self.day_type) for k in DAY_TYPES}
        values.update({f"next_weekday_{d}": float(d == self.weekday) for d in range(7)})
        values.update(
            next_holiday=float(self.holiday), next_minor_holiday=float(self.minor), next_school_break=float(self.school)
        )
        return np.array([values[n] for n in names])


def check_day_type(day_type) -> str:
    kind = str(day_type).strip().upper()
    if kind not in DAY_TYPES:
        raise RidershipError(f"day type {day_type!r} is not one of W (weekday), A (Saturday), U (Sunday/holiday)")
    return kind


def day_inputs(date, day_type: str | None = None) -> DayInputs:
    """The inputs for forecasting ``date`` as ``day_type`` (None: the calendar's type)."""
    from .data.calendar import infer_day_type, school_break, year_calendar

    date = pd.Timestamp(date).normalize()
    real = infer_day_type(date)
    kind = real if day_type is None else check_day_type(day_type)
    weekday = date.day_of_week
    calendar = year_calendar(date.year)
    holiday = date in calendar.holidays
    minor = date in calendar.minor
    school = bool(school_break([date])[0])
    name = WEEKDAY_NAMES[weekday]
    if kind == real:
        return DayInputs(date, kind, real, weekday, holiday, minor, school, "")
    if kind == "U":
        return DayInputs(
            date,
            kind,
            real,
            weekday,
            True,
            False,
            school,
            f"run as a Sunday/holiday service: the inputs of a CTA holiday falling on a {name}",
        )
    if kind == "A":
        return DayInputs(
            date,
            kind,
            real,
            SATURDAY,
            False,
            False,
            school,
            f"run as a Saturday service: the inputs of an ordinary Saturday (the {name}'s own weekday is not used)",
        )
    if weekday < SATURDAY:
        return DayInputs(
            date,
            kind,
            real,
            weekday,
            False,
            False,
            school,
            f"run as a weekday: the inputs of an ordinary {name} (no holiday)",
        )
    near = FRIDAY if weekday == SATURDAY else MONDAY
    return DayInputs(
        date,
        kind,
        real,
        near,
        False,
        False,
        school,
        f"run as a weekday: the inputs of an ordinary {WEEKDAY_NAMES[near]}, the nearest weekday",
    )


def kinds_of(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """For the real days of ``frame`` (index date, column day_type): a boolean mask per kind in KINDS."""
    from .data.calendar import minor_holidays, school_break

    dates = pd.DatetimeIndex(frame.index)
    types = frame["day_type"].to_numpy()
    weekday = dates.day_of_week.to_numpy() < SATURDAY
    minor = dates.isin(minor_holidays(dates.min(), dates.max())) if len(dates) else np.zeros(0, bool)
    school = school_break(dates) if len(dates) else np.zeros(0, bool)
    return {
        "W": types == "W",
        "A": types == "A",
        "U": types == "U",
        "U weekday": (types == "U") & weekday,
        "minor": (types != "U") & np.asarray(minor),
        "school": (types == "W") & np.asarray(school) & ~np.asarray(minor),
    }


def holiday_group_mask(frame: pd.DataFrame) -> np.ndarray:
    """The real days of the holiday interval group: U on a day other than Sunday."""
    dates = pd.DatetimeIndex(frame.index)
    return (frame["day_type"].to_numpy() == "U") & (dates.day_of_week.to_numpy() != SUNDAY)


def seen_in(frame: pd.DataFrame, day: DayInputs) -> int:
    """How many days of ``frame`` (the training rows) had ``day``'s weekday and day type: 0 means the
    combination never occurred, and the forecast is an extrapolation."""
    dates = pd.DatetimeIndex(frame.index)
    weekday = day.date.day_of_week
    return int(((frame["day_type"].to_numpy() == day.day_type) & (dates.day_of_week.to_numpy() == weekday)).sum())
