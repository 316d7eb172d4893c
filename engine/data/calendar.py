"""Day types from the calendar: A on Saturdays, U on Sundays and the CTA's holidays, else W.

The CTA runs a Sunday service on six holidays: New Year's Day, Memorial Day, Independence Day,
Labor Day, Thanksgiving and Christmas. A holiday on a Sunday also makes the Monday U; Independence
Day on a Saturday moves to the Friday (the Saturday stays A). These rules match the CTA's own day
types on every day of 2001-2021. A plain US federal calendar would not: MLK, Presidents,
Juneteenth, Columbus and Veterans days are ordinary W days in the CTA's data.

Those "minor" holidays still empty buses and trains (MLK Day's rail was 60-65% of a usual weekday's
in 2012-2013), as do the school breaks (the week before Easter, the winter break): ``minor_holidays`` and
``school_break`` give them to the ``holidays`` inputs (engine/data/windows.py), so a model is told
why a day dipped instead of reading the dip as a new level.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from dateutil.relativedelta import TH
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USColumbusDay,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
)
from pandas.tseries.offsets import Easter

SATURDAY, SUNDAY = 5, 6
ONE_DAY = pd.Timedelta(days=1)


class CtaHolidayCalendar(AbstractHolidayCalendar):
    rules = [
        Holiday("New Year's Day", month=1, day=1),
        USMemorialDay,
        Holiday("Independence Day", month=7, day=4),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25),
    ]


def _sunday_service_days(first: pd.Timestamp, last: pd.Timestamp) -> tuple[set, set]:
    """(days run as U, holidays that fall on a Saturday yet keep Saturday service)."""
    holidays = CtaHolidayCalendar().holidays(first - 7 * ONE_DAY, last + 7 * ONE_DAY)
    u_days, saturday_service = set(holidays), set()
    for day in holidays:
        if day.day_of_week == SUNDAY:
            u_days.add(day + ONE_DAY)
        elif day.day_of_week == SATURDAY and (day.month, day.day) == (7, 4):
            u_days.add(day - ONE_DAY)
            saturday_service.add(day)
    return u_days, saturday_service


def infer_day_types(dates) -> list[str]:
    dates = pd.DatetimeIndex(dates)
    if len(dates) == 0:
        return []
    u_days, saturday_service = _sunday_service_days(dates.min(), dates.max())
    out = []
    for day in dates:
        if day in saturday_service:
            out.append("A")
        elif day.day_of_week == SUNDAY or day in u_days:
            out.append("U")
        elif day.day_of_week == SATURDAY:
            out.append("A")
        else:
            out.append("W")
    return out


def infer_day_type(date) -> str:
    """One day's type, from its year's calendar (built once: see ``year_calendar``)."""
    day = pd.Timestamp(date)
    calendar = year_calendar(day.year)
    if day in calendar.saturday_service:
        return "A"
    if day.day_of_week == SUNDAY or day in calendar.u_days:
        return "U"
    return "A" if day.day_of_week == SATURDAY else "W"


class YearCalendar(NamedTuple):
    holidays: frozenset  # the CTA's Sunday/holiday-service holidays (CtaHolidayCalendar)
    minor: frozenset  # MinorHolidayCalendar's days
    u_days: frozenset  # days run as U (holidays, and the Monday or Friday a weekend holiday moves to)
    saturday_service: frozenset  # holidays that fall on a Saturday yet keep Saturday service


@cache
def year_calendar(year: int) -> YearCalendar:
    """The holiday sets of ``year``, built once. Per-day callers (a forecast's days, the what-if
    checks over whole splits: about 2,000 days a check) built pandas' holiday calendars for every
    day: 1,906 calls, 38 s of the real-data what-if test's 47 s under cProfile (33-40 s unprofiled,
    now 8.6 s)."""
    first, last = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    u_days, saturday_service = _sunday_service_days(first, last)  # holidays within a week of the year too
    return YearCalendar(
        frozenset(CtaHolidayCalendar().holidays(first, last)),
        frozenset(minor_holidays(first, last)),
        frozenset(u_days),
        frozenset(saturday_service),
    )


class MinorHolidayCalendar(AbstractHolidayCalendar):
    """Days the CTA runs its weekday (or Saturday) service although many people do not commute."""

    rules = [
        USMartinLutherKingJr,
        USPresidentsDay,
        USColumbusDay,
        Holiday("Veterans Day", month=11, day=11),
        Holiday("Juneteenth", month=6, day=19, start_date="2021-06-19"),
        Holiday(
            "Day after Thanksgiving", month=11, day=1, offset=[pd.DateOffset(weekday=TH(4)), pd.DateOffset(days=1)]
        ),
        GoodFriday,
        Holiday("Christmas Eve", month=12, day=24),
        Holiday("New Year's Eve", month=12, day=31),
    ]


def minor_holidays(first, last) -> pd.DatetimeIndex:
    return MinorHolidayCalendar().holidays(pd.Timestamp(first), pd.Timestamp(last))


def school_break(dates) -> np.ndarray:
    """Whether each date is in a school break: winter (about December 22 to January 3) or the week
    before Easter (Chicago's spring break most years; in 2011-2019 weekday rail dipped by up to 13%
    then, though not every year)."""
    dates = pd.DatetimeIndex(dates)
    winter = ((dates.month == 12) & (dates.day >= 22)) | ((dates.month == 1) & (dates.day <= 3))
    easter_of = {year: pd.Timestamp(year, 1, 1) + Easter() for year in set(dates.year)}
    easter = pd.DatetimeIndex([easter_of[year] for year in dates.year])
    days_before = (easter - dates.normalize()).days
    return np.asarray(winter | ((days_before >= 1) & (days_before <= 6)))
