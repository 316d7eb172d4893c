"""Day types from the calendar: the CTA's rules, and full agreement with the CTA's own file."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.calendar import infer_day_type, infer_day_types
from engine.data.sources import load_path


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


def test_the_calendar_agrees_with_every_day_of_the_cta_file(real_csv):
    frame = load_path(real_csv).frame
    inferred = pd.Series(infer_day_types(frame.index), index=frame.index)
    disagree = frame.index[inferred != frame["day_type"]]
    assert len(frame) > 7000
    assert list(disagree) == []
