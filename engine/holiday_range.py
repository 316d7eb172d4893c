"""An ordinary weekday run as a Sunday/holiday service (U): the model's holiday forecast, held to
what real holidays on that weekday did.

The model's own forecast for "a holiday falling on a Wednesday" can land where no real Wednesday
holiday ever did (the `best` preset, seed 1: 0.65 of the same day's weekday forecast for Wednesday
2021-12-01, while real Wednesday holidays ran 0.20..0.55 of the usual Wednesday). So its ratio to
the same day forecast as an ordinary weekday (same window, the date's own inputs) is clipped to the
lowest..highest ratio of the real holidays on that weekday in the TRAINING split (a holiday's
riders over the mean of the 4 ordinary same weekdays before it; engine.whatif.holiday_ratios), per
series. Fewer than MIN_HOLIDAYS on that weekday: all weekdays' holidays pooled; fewer than that in
all: the model's own number, and the text says so. The interval is the weekday forecast's interval
scaled by the lowest and highest ratio, so it spans what real holidays did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .daytypes import WEEKDAY_NAMES, kinds_of

MIN_HOLIDAYS = 3
SERIES = ("rail", "bus")
USUAL_WEEKS = 4  # ordinary same weekdays before a holiday that make its "usual weekday"
SEARCH_WEEKS = 10  # looked back at most this far for them


def ordinary_weekdays(frame: pd.DataFrame) -> np.ndarray:
    """Ordinary weekdays: W, no minor holiday, no school break (a holiday's usual weekday)."""
    kinds = kinds_of(frame)
    return kinds["W"] & ~kinds["minor"] & ~kinds["school"]


def usual_weekday(frame: pd.DataFrame, ordinary: np.ndarray, position: int) -> np.ndarray | None:
    """The mean rail and bus of the last USUAL_WEEKS ordinary days on the same weekday before row
    ``position`` (None when fewer are found within SEARCH_WEEKS)."""
    rows = [p for p in range(position - 7, max(position - 7 * SEARCH_WEEKS, 0) - 1, -7) if ordinary[p]][:USUAL_WEEKS]
    if len(rows) < USUAL_WEEKS:
        return None
    return frame[list(SERIES)].to_numpy(dtype=np.float64)[rows].mean(axis=0)


def holiday_ratios(frame: pd.DataFrame, first: str = "2005-01-01", last: str = "2019-12-31") -> pd.DataFrame:
    """One row per real U day from Monday to Friday between ``first`` and ``last``: its date, weekday
    and rail and bus over the usual weekday's."""
    ordinary = ordinary_weekdays(frame)
    dates = frame.index
    rows = []
    for p in np.flatnonzero(kinds_of(frame)["U weekday"]):
        if not pd.Timestamp(first) <= dates[p] <= pd.Timestamp(last):
            continue
        usual = usual_weekday(frame, ordinary, p)
        if usual is None:
            continue
        actual = frame[list(SERIES)].to_numpy(dtype=np.float64)[p]
        rows.append(
            {
                "date": dates[p],
                "weekday": int(dates[p].day_of_week),
                **{f"{s}_ratio": float(actual[i] / usual[i]) for i, s in enumerate(SERIES)},
            }
        )
    return pd.DataFrame(rows, columns=["date", "weekday", "rail_ratio", "bus_ratio"])


@dataclass(frozen=True)
class HolidayRange:
    """The lowest and highest ratio of real holidays to the usual weekday, per series."""

    weekday: int  # the weekday asked for (Monday = 0)
    low: dict[str, float]
    high: dict[str, float]
    days: int  # holidays measured
    own: int  # of them on ``weekday`` (fewer than ``days`` when pooled)
    pooled: bool  # all weekdays' holidays: too few on this one
    years: tuple[int, int]

    def who(self) -> str:
        """The holidays, in words: "5 real Wednesday holidays 2007-2018", "14 weekday holidays 2016-2018
        (2 on a Thursday)"."""
        span = f"{self.years[0]}-{self.years[1]}" if self.years[0] != self.years[1] else str(self.years[0])
        name = WEEKDAY_NAMES[self.weekday]
        if self.pooled:
            return f"{self.days} weekday holidays {span} ({self.own or 'none'} on a {name})"
        return f"{self.days} real {name} holidays {span}"

    def to_dict(self) -> dict:
        return {
            "holidays": self.days,
            "on_this_weekday": self.own,
            "pooled_weekdays": self.pooled,
            "years": list(self.years),
            **{f"{s}_range": [round(self.low[s], 3), round(self.high[s], 3)] for s in SERIES},
        }


@dataclass(frozen=True)
class HolidayTable:
    """Per weekday Monday..Friday, the range a weekday run as U is held to (None: too few holidays)."""

    ranges: dict[int, HolidayRange | None]
    total: int  # real weekday holidays measured

    def get(self, weekday: int) -> HolidayRange | None:
        return self.ranges.get(weekday)


def holiday_table(frame: pd.DataFrame, first, last) -> HolidayTable:
    """The ranges from the real holidays between ``first`` and ``last`` (the training split; their
    usual weekday may come from the weeks before it); None where fewer than MIN_HOLIDAYS in all."""
    ratios = holiday_ratios(frame, first, last)
    out: dict[int, HolidayRange | None] = {}
    for weekday in range(5):
        own = ratios[ratios["weekday"] == weekday]
        use = own if len(own) >= MIN_HOLIDAYS else ratios
        if len(use) < MIN_HOLIDAYS:
            out[weekday] = None
            continue
        years = pd.DatetimeIndex(use["date"]).year
        out[weekday] = HolidayRange(
            weekday,
            {s: float(use[f"{s}_ratio"].min()) for s in SERIES},
            {s: float(use[f"{s}_ratio"].max()) for s in SERIES},
            len(use),
            len(own),
            use is ratios,
            (int(years.min()), int(years.max())),
        )
    return HolidayTable(out, len(ratios))


@dataclass(frozen=True)
class HeldU:
    """How a weekday run as U was formed: the same day's weekday forecast, the model's own holiday
    forecast, and the range it was held to (riders)."""

    date: pd.Timestamp
    weekday: dict[str, float]  # the same day forecast as an ordinary weekday
    model: dict[str, float]  # the model's own forecast with a holiday's inputs
    range: HolidayRange | None  # None: too few real holidays, the model's own number kept
    holidays: int = 0  # real weekday holidays measured in training (for the text when range is None)

    def ratio(self, series: str, of: str = "value") -> float:
        base = self.weekday[series]
        return (self.value[series] if of == "value" else self.model[series]) / base if base else float("nan")

    @property
    def value(self) -> dict[str, float]:
        """The forecast: the model's ratio to the weekday forecast, clipped to the range."""
        if self.range is None:
            return dict(self.model)
        out = {}
        for s in SERIES:
            ratio = self.ratio(s, of="model")
            if ratio == ratio:  # a zero weekday forecast leaves nothing to hold
                ratio = min(max(ratio, self.range.low[s]), self.range.high[s])
                out[s] = self.weekday[s] * ratio
            else:
                out[s] = self.model[s]
        return out

    def state(self, series: str) -> str:
        """ "high" (held at the highest), "low" (raised to the lowest) or "inside"."""
        if self.range is None:
            return "inside"
        ratio = self.ratio(series, of="model")
        if ratio > self.range.high[series]:
            return "high"
        return "low" if ratio < self.range.low[series] else "inside"

    def band(self, weekday_band: dict[str, float]) -> dict[str, float]:
        """The weekday forecast's interval times the lowest and highest ratio."""
        out = {}
        for s in SERIES:
            out[f"{s}_low"] = weekday_band[f"{s}_low"] * self.range.low[s]
            out[f"{s}_high"] = weekday_band[f"{s}_high"] * self.range.high[s]
        return out

    def note(self) -> str:
        """In a planner's words, at most 3 lines at 80 columns after "How formed: "."""
        head = f"{self.date:%a %m-%d} as Sunday/holiday service: "
        rail, bus = self.ratio("rail"), self.ratio("bus")
        if self.range is None:
            n = self.holidays
            return head + (
                f"the model's own holiday forecast, {rail:.2f} rail, {bus:.2f} bus of the weekday forecast, "
                f"not held: training has {n} real weekday holiday{'s' if n != 1 else ''}, fewer than {MIN_HOLIDAYS}"
            )
        who = self.range.who()
        states = {self.state(s) for s in SERIES}
        model = f"model {self.ratio('rail', 'model'):.2f}, {self.ratio('bus', 'model'):.2f}"
        if states in ({"high"}, {"low"}):
            verb, end = ("held at", "highest") if states == {"high"} else ("raised to", "lowest")
            text = (
                f"the model's holiday forecast {verb} {rail:.2f} rail, {bus:.2f} bus of the weekday forecast, "
                f"the {end} of {who} ({model})"
            )
        elif states == {"inside"}:
            text = (
                f"the model's holiday forecast, {rail:.2f} rail, {bus:.2f} bus of the weekday forecast, "
                f"inside the range of {who}"
            )
        else:
            parts = [
                f"{s} {self.ratio(s):.2f} (inside)"
                if self.state(s) == "inside"
                else f"{s} {self.ratio(s):.2f} ({self.state(s)}est; model {self.ratio(s, 'model'):.2f})"
                for s in SERIES
            ]
            text = f"the model's holiday forecast over the weekday forecast, held to {who}: " + ", ".join(parts)
        return head + text + "; interval: that range"

    def to_dict(self) -> dict:
        out = {
            "weekday_forecast": {s: round(self.weekday[s]) for s in SERIES},
            "model_forecast": {s: round(self.model[s]) for s in SERIES},
            **{f"{s}_ratio": round(self.ratio(s), 3) for s in SERIES},
            **{f"{s}_model_ratio": round(self.ratio(s, "model"), 3) for s in SERIES},
            **{f"{s}_clipped": {"high": "to_highest", "low": "to_lowest"}.get(self.state(s)) for s in SERIES},
            "clipped": any(self.state(s) != "inside" for s in SERIES),
            "measured_on": "real weekday holidays of the training split, over the mean of the 4 ordinary "
            "same weekdays before each",
        }
        if self.range is None:
            return {**out, "held": False, "holidays": self.holidays, "min_holidays": MIN_HOLIDAYS}
        return {**out, "held": True, **self.range.to_dict()}
