"""Day types from the calendar: A on Saturdays, U on Sundays and the CTA's holidays, else W.

The CTA runs a Sunday service on six holidays: New Year's Day, Memorial Day, Independence Day,
Labor Day, Thanksgiving and Christmas. A holiday on a Sunday also makes the Monday U; Independence
Day on a Saturday moves to the Friday (the Saturday stays A). These rules match the CTA's own day
types on every day of 2001-2021. A plain US federal calendar would not: MLK, Presidents,
Juneteenth, Columbus and Veterans days are ordinary W days in the CTA's data.
"""

from __future__ import annotations

import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    Holiday,
    USLaborDay,
    USMemorialDay,
    USThanksgivingDay,
)

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
    return infer_day_types([pd.Timestamp(date)])[0]
