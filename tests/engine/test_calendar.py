"""Day types from the calendar: the CTA's rules, and full agreement with the CTA's own file."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.calendar import infer_day_type, infer_day_types


@pytest.mark.parametrize(
    "date, expected",
    [
        ("2018-01-06", "A"),  # a Saturday
        ("2018-01-07", "U"),  # a Sunday
        ("2018-01-10", "W"),  # a Wednesday
        ("2015-07-03", "U"),  # Friday before a Saturday July 4th: Sunday service moves to the Friday
        ("2015-07-04", "A"),  # ...and the Saturday keeps Saturday service
        ("2018-07-04", "U"),  # July 4th on a Wednesday
        ("2018-11-22", "U"),  # Thanksgiving
        ("2018-11-23", "W"),  # the day after Thanksgiving is an ordinary weekday
        ("2018-01-15", "W"),  # Martin Luther King Jr. Day: a weekday for the CTA
        ("2018-02-19", "W"),  # Presidents' Day
        ("2018-05-28", "U"),  # Memorial Day
        ("2018-09-03", "U"),  # Labor Day
        ("2017-12-25", "U"),  # Christmas on a Monday
        ("2016-12-25", "U"),  # Christmas on a Sunday...
        ("2016-12-26", "U"),  # ...makes the Monday U too
        ("2017-01-01", "U"),  # New Year's Day on a Sunday...
        ("2017-01-02", "U"),  # ...and the Monday after it
        ("2011-01-01", "U"),  # New Year's Day on a Saturday is U (only July 4th moves to the Friday)
        ("2010-12-31", "W"),
        ("2010-12-25", "U"),  # Christmas on a Saturday
    ],
)
def test_rules(date, expected):
    assert infer_day_type(date) == expected
    assert infer_day_type(pd.Timestamp(date)) == expected


def test_many_dates_at_once_and_none():
    dates = pd.date_range("2018-11-19", "2018-11-25")
    assert infer_day_types(dates) == ["W", "W", "W", "U", "W", "A", "U"]
    assert infer_day_types([]) == []


def test_minor_holidays_are_the_weekdays_people_stay_home():
    from engine.data.calendar import minor_holidays

    days = [f"{d:%Y-%m-%d}" for d in minor_holidays("2018-01-01", "2018-12-31")]
    assert days == [
        "2018-01-15",
        "2018-02-19",
        "2018-03-30",
        "2018-10-08",
        "2018-11-11",
        "2018-11-23",
        "2018-12-24",
        "2018-12-31",
    ]  # MLK, Presidents', Good Friday, Columbus, Veterans,
    # the day after Thanksgiving, Christmas Eve, New Year's Eve; Juneteenth only from 2021
    assert "2021-06-18" not in {f"{d:%Y-%m-%d}" for d in minor_holidays("2021-06-01", "2021-06-30")}
    assert pd.Timestamp("2021-06-19") in minor_holidays("2021-06-01", "2021-06-30")


def test_school_breaks_are_the_winter_break_and_the_week_before_easter():
    from engine.data.calendar import school_break

    days = pd.date_range("2019-04-12", "2019-04-23")  # Easter Sunday 2019-04-21
    flagged = [f"{d:%m-%d}" for d, on in zip(days, school_break(days)) if on]
    assert flagged == ["04-15", "04-16", "04-17", "04-18", "04-19", "04-20"]
    winter = pd.date_range("2018-12-20", "2019-01-05")
    flagged = [f"{d:%m-%d}" for d, on in zip(winter, school_break(winter)) if on]
    assert flagged[0] == "12-22" and flagged[-1] == "01-03" and len(flagged) == 13


def test_one_days_type_and_holidays_agree_with_the_whole_range_calendars():
    """infer_day_type and day_inputs read each year's holiday sets, built once (a day at a time they
    built pandas' calendars for every day); the answers are those of the calendars over the whole
    range, including the moved days at year ends and Juneteenth from 2021."""
    import pandas as pd

    from engine.data.calendar import CtaHolidayCalendar, infer_day_type, infer_day_types, minor_holidays
    from engine.daytypes import day_inputs

    days = pd.date_range("1999-01-01", "2031-12-31")
    assert [infer_day_type(d) for d in days] == infer_day_types(days)
    holidays = set(CtaHolidayCalendar().holidays(days.min(), days.max()))
    minor = set(minor_holidays(days.min(), days.max()))
    some = days[(days.year % 10 == 0) | (days.year == 2021) | (days.month.isin([1, 12]) & (days.day <= 3))]
    got = [(day_inputs(d).holiday, day_inputs(d).minor) for d in some]
    assert got == [(d in holidays, d in minor) for d in some]
    assert any(h for h, _ in got) and any(m for _, m in got)
