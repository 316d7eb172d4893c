"""A deterministic, CTA-shaped demo series: the app's fallback when no real data is available.

Same columns and date range as the CTA file (2001-01-01..2021-11-30), a weekly cycle, the CTA's
holidays, a yearly season, slow trends and a 2020 collapse, so the article's default splits work.
It is labelled "synthetic" wherever it is shown: these are not the CTA's numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import infer_day_types

FIRST, LAST = "2001-01-01", "2021-11-30"
# Share of a weekday's riders on Saturdays (A) and Sundays/holidays (U), per mode.
DAY_FACTOR = {"bus": {"W": 1.0, "A": 0.62, "U": 0.45}, "rail": {"W": 1.0, "A": 0.55, "U": 0.40}}


def synthetic_frame(first: str = FIRST, last: str = LAST, seed: int = 2001) -> pd.DataFrame:
    """Daily rows indexed by ``date`` with ``day_type``, ``bus``, ``rail`` (integers)."""
    dates = pd.date_range(first, last, freq="D", name="date")
    day_type = np.array(infer_day_types(dates))
    rng = np.random.default_rng(seed)
    years = (dates - pd.Timestamp("2001-01-01")).days.to_numpy() / 365.25
    season = 1 + 0.06 * np.sin(2 * np.pi * (dates.day_of_year.to_numpy() - 100) / 365.25)
    covid = _pandemic_factor(dates)
    bus_level = (1.00 - 0.012 * years) * 1e6
    rail_level = (0.52 + 0.012 * years - 0.0006 * years**2) * 1e6
    out = pd.DataFrame(index=dates)
    out["day_type"] = day_type
    for mode, level in (("bus", bus_level), ("rail", rail_level)):
        factor = np.vectorize(DAY_FACTOR[mode].get)(day_type)
        noise = rng.normal(1.0, 0.03, len(dates))
        out[mode] = np.round(level * factor * season * covid * noise).astype(np.int64)
    return out


def _pandemic_factor(dates: pd.DatetimeIndex) -> np.ndarray:
    """1 before mid-March 2020, a drop to 25-35% in April 2020, then a slow partial recovery."""
    days = (dates - pd.Timestamp("2020-03-10")).days.to_numpy().astype(float)
    drop = np.clip(days / 30.0, 0, 1)
    recovery = np.clip((days - 60) / 540.0, 0, 1)
    return 1 - drop * 0.70 + recovery * 0.25
