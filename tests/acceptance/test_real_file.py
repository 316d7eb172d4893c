"""The real CTA file loads as before, and the CTA's calendar rules agree with every day of it."""

from __future__ import annotations

import pandas as pd

from engine.data import load_csv
from engine.data.calendar import infer_day_types
from engine.data.sources import load_path


def test_the_real_file_loads_as_before(real_csv):
    frame, _ = load_csv(real_csv)
    assert len(frame) > 7000 and frame.index.is_monotonic_increasing


def test_the_calendar_agrees_with_every_day_of_the_cta_file(real_csv):
    frame = load_path(real_csv).frame
    inferred = pd.Series(infer_day_types(frame.index), index=frame.index)
    disagree = frame.index[inferred != frame["day_type"]]
    assert len(frame) > 7000
    assert list(disagree) == []
