"""The problem's vocabulary: day types, features, targets and units. No torch, no pandas.

Units: the model sees rail and bus in millions of riders (the article's scaling, ``SCALE``), and
the article's per-epoch lines print those. Everything after the training loop (scores, the run
store, exports, what a person reads) is in riders: convert with ``riders()`` and ``millions()``
(never a hand-written ``* SCALE``), format with ``format_riders()``.
"""

from __future__ import annotations

import math

DAY_TYPES = ("A", "U", "W")  # Saturday, Sunday/holiday, weekday: the fixed one-hot order
DAY_TYPE_ORDER = ("W", "A", "U")  # how tables list them: weekday, Saturday, Sunday/holiday
DAY_TYPE_NAMES = {"W": "weekday", "A": "Saturday", "U": "Sunday/holiday"}
FEATURES = ("rail", "bus", "next_day_type_A", "next_day_type_U", "next_day_type_W")  # the article's inputs
# inputs="calendar" adds the next day's weekday (Monday = 0) and whether it is a CTA holiday.
CALENDAR_FEATURES = FEATURES + tuple(f"next_weekday_{d}" for d in range(7)) + ("next_holiday",)
# inputs="holidays" adds two more: the next day is a "minor" holiday the CTA runs as a weekday or
# Saturday (MLK, Presidents', Columbus, Veterans, Juneteenth, Good Friday, the day after Thanksgiving,
# Christmas Eve, New Year's Eve: ridership dips), and it falls in a school break (winter, Easter).
HOLIDAY_FEATURES = CALENDAR_FEATURES + ("next_minor_holiday", "next_school_break")
INPUTS = {"article": FEATURES, "calendar": CALENDAR_FEATURES, "holidays": HOLIDAY_FEATURES}
TARGETS = ("rail", "bus")
SERIES = len(TARGETS)  # rail, bus: the first two features and the two outputs
SCALE = 1e6  # features are in millions of riders, as in the article
SEASON = 7  # days: the naive forecast repeats the same weekday of last week
MAX_FORECAST_DAYS = 28  # beyond four weeks the forecasts feed almost only on earlier forecasts


def features_for(inputs: str) -> tuple[str, ...]:
    """The model's input columns for a TrainConfig.inputs value."""
    return INPUTS[inputs]


def riders(value_in_millions):
    """A value (a number or a numpy array) in the model's unit, millions of riders, as riders; None stays None."""
    return None if value_in_millions is None else value_in_millions * SCALE


def millions(value_in_riders):
    """A value (a number or a numpy array) in riders as the model's unit, millions of riders; None stays None."""
    return None if value_in_riders is None else value_in_riders / SCALE


def format_riders(value: float | None) -> str:
    """Riders as a person reads them: ``31,660``; "-" for missing or not finite."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.0f}"


def unit_named(value):
    """A JSON-ready structure whose MAE fields (names ending in ``mae``, all in riders) are renamed
    ``..._riders``, so exported field names say their unit. Other keys are left alone."""
    if isinstance(value, dict):
        return {
            (f"{k}_riders" if isinstance(k, str) and k.endswith("mae") else k): unit_named(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [unit_named(v) for v in value]
    return value


def finite(value):
    """A JSON-ready structure with NaN and infinity written as None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
