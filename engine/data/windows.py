"""From clean daily rows to the model's inputs: features, date splits and sliding windows.

Features are rail and bus in millions plus the one-hot of the next day's type, always in the order
A, U, W (engine/domain.py). A split is the rows between two dates, inclusive like pandas' slicing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..domain import DAY_TYPES, TARGETS, millions
from ..errors import DataError


def build_features(frame: pd.DataFrame, inputs: str = "article") -> pd.DataFrame:
    """rail and bus in millions, plus the one-hot of the NEXT day's type in the fixed order A, U, W.

    The article's ``get_dummies`` drops a day type a slice lacks; fixed columns avoid that. The last
    row's next day is unknown, so its one-hot is all zeros, as in the article.
    """
    out = pd.DataFrame(index=frame.index)
    out["rail"] = millions(frame["rail"])
    out["bus"] = millions(frame["bus"])
    next_type = frame["day_type"].shift(-1)
    for kind in DAY_TYPES:
        out[f"next_day_type_{kind}"] = (next_type == kind).astype(float)
    if inputs in ("calendar", "holidays"):
        calendar = next_day_calendar(frame.index + pd.Timedelta(days=1), inputs)
        calendar.iloc[-1] = 0.0  # as the day-type one-hot: the last row's next day is not in the data
        for name in calendar.columns:
            out[name] = calendar[name].to_numpy()
    return out


def next_day_calendar(dates: pd.DatetimeIndex, inputs: str = "calendar") -> pd.DataFrame:
    """For each date: its weekday one-hot (Monday = 0) and whether it is a CTA holiday, as the
    "next_*" columns of the calendar inputs (engine/domain.py CALENDAR_FEATURES); with the holidays
    inputs, also whether it is a minor holiday and whether it is in a school break (HOLIDAY_FEATURES)."""
    from .calendar import CtaHolidayCalendar

    dates = pd.DatetimeIndex(dates)
    out = pd.DataFrame(index=dates)
    for day in range(7):
        out[f"next_weekday_{day}"] = (dates.day_of_week == day).astype(float)
    holidays = CtaHolidayCalendar().holidays(dates.min(), dates.max()) if len(dates) else []
    out["next_holiday"] = dates.isin(holidays).astype(float)
    if inputs == "holidays":
        from .calendar import minor_holidays, school_break

        minor = minor_holidays(dates.min(), dates.max()) if len(dates) else []
        out["next_minor_holiday"] = dates.isin(minor).astype(float)
        out["next_school_break"] = school_break(dates).astype(float)
    return out


@dataclass(frozen=True, eq=False)
class Split:
    """One date split: the rows [start, stop) of the feature frame, and its windows."""

    name: str
    start: int
    stop: int
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    windows: object = field(repr=False)  # torch.Tensor (N, window, features)
    targets: object = field(repr=False)  # torch.Tensor (N, 2), in millions
    target_positions: np.ndarray = field(repr=False)  # row of each target in the feature frame

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    @property
    def target_dates(self) -> pd.DatetimeIndex:
        return self.first_date + pd.to_timedelta(self.target_positions - self.start, unit="D")


def make_windows(values, window_length: int):
    """All sliding windows of a (rows, features) tensor at once; targets are the next row's rail, bus."""
    windows = values.unfold(0, window_length, 1)[:-1].transpose(1, 2).contiguous()
    targets = values[window_length:, : len(TARGETS)].contiguous()
    return windows, targets


def make_splits(data, config) -> dict[str, Split]:
    """Cut ``data``'s (a RidershipData) feature frame at the config's split dates (inclusive, like
    pandas' date slicing)."""
    import torch

    index = data.features().index
    values = data.feature_values(getattr(config, "inputs", "article"))
    splits: dict[str, Split] = {}
    span = f"{index[0]:%Y-%m-%d}..{index[-1]:%Y-%m-%d}"
    for name, (start_ts, end_ts) in config.split_bounds().items():
        start = int(index.searchsorted(start_ts, side="left"))
        stop = int(index.searchsorted(end_ts, side="right")) if end_ts is not None else len(index)
        label = f"{getattr(config, name + '_start')}..{getattr(config, name + '_end') or 'end'}"
        if stop <= start:
            raise DataError(f"the {name} split {label} has no rows: the data covers {span}")
        rows = stop - start
        if rows <= config.window_length:
            raise DataError(
                f"the {name} split {label} has {rows} rows; window_length={config.window_length} "
                f"needs at least {config.window_length + 1} rows to make one window"
            )
        tensor = torch.tensor(values[start:stop], dtype=torch.float32)
        windows, targets = make_windows(tensor, config.window_length)
        splits[name] = Split(
            name=name,
            start=start,
            stop=stop,
            first_date=index[start],
            last_date=index[stop - 1],
            windows=windows,
            targets=targets,
            target_positions=np.arange(start + config.window_length, stop),
        )
    return splits
