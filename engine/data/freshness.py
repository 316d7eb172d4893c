"""How old the data is, in words: every forecast says which day it is for, and whether that is tomorrow."""

from __future__ import annotations

import os
from datetime import datetime

import pandas as pd

STALE_DAYS = 7  # data ending more than this many days before today is called out
TODAY_ENV = "RIDERSHIP_TODAY"  # YYYY-MM-DD: a fixed "today" (screenshots and tests that must not age)


def current_day() -> pd.Timestamp:
    fixed = os.environ.get(TODAY_ENV)
    if fixed:
        try:
            return pd.Timestamp(fixed).normalize()
        except ValueError:
            pass
    return pd.Timestamp(datetime.now().date())


def age_in_days(last_day, today=None) -> int:
    today = pd.Timestamp(today) if today is not None else current_day()
    return int((today.normalize() - pd.Timestamp(last_day).normalize()).days)


def age_words(last_day, today=None) -> str:
    days = age_in_days(last_day, today)
    if days <= 0:
        return "today" if days == 0 else "in the future"
    return "yesterday" if days == 1 else f"{days:,} days old"


def last_day_line(last_day, today=None) -> str:
    """e.g. "the data's last day: 2021-11-30 (1,828 days old)"."""
    return f"the data's last day: {pd.Timestamp(last_day):%Y-%m-%d} ({age_words(last_day, today)})"


def stale_note(last_day, target, today=None) -> str:
    """ "" when the data is recent; else which day the forecast is for, and that it is not tomorrow."""
    if age_in_days(last_day, today) <= STALE_DAYS:
        return ""
    today = pd.Timestamp(today) if today is not None else current_day()
    return (
        f"the data ends {pd.Timestamp(last_day):%Y-%m-%d} ({age_words(last_day, today)}): this forecast is for "
        f"{pd.Timestamp(target):%Y-%m-%d}, not tomorrow ({today + pd.Timedelta(days=1):%Y-%m-%d}); "
        "`ridership data --update` brings the data up to date"
    )
