"""Loading, features, splits and windows (engine/data/)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from support import SMALL, write_csv

from engine.data import FEATURES, SCALE, DataSource, RidershipData, build_features, load_csv, make_splits
from engine.errors import DataError


def test_load_renames_sorts_and_drops_total(synthetic_csv):
    frame, filled = load_csv(synthetic_csv(edit=lambda rows: rows[::-1]))
    assert filled == ()
    assert list(frame.columns) == ["day_type", "bus", "rail"]
    assert frame.index.name == "date" and frame.index.is_monotonic_increasing
    assert frame.index[0] == pd.Timestamp("2017-12-01")


def test_iso_dates_quoted_counts_and_spaces(tmp_path):
    path = tmp_path / "iso.csv"
    path.write_text(
        "service_date, day_type, bus, rail_boardings, total_rides\n"
        '2019-01-01, U, "1,234", 567, 1801\n'
        "2019-01-02, W, 2000, 1000, 3000\n"
    )
    frame, _ = load_csv(path)
    assert frame.loc["2019-01-01", "bus"] == 1234
    assert list(frame["day_type"]) == ["U", "W"]


def test_a_byte_order_mark_is_not_part_of_the_header(synthetic_csv):
    path = synthetic_csv()
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    frame, _ = load_csv(path)
    assert len(frame) == 335


def test_total_rides_is_optional_and_extra_columns_are_ignored(tmp_path):
    rows = [["01/01/2019", "U", "10", "20", "x"], ["01/02/2019", "W", "30", "40", "y"]]
    path = write_csv(tmp_path / "d.csv", rows, ["service_date", "day_type", "bus", "rail_boardings", "note"])
    frame, _ = load_csv(path)
    assert frame["rail"].tolist() == [20, 40]


def test_fill_gaps_interpolates_and_infers_day_types(tmp_path):
    rows = [["11/20/2018", "W", "100", "1000", "1100"], ["11/24/2018", "A", "500", "5000", "5500"]]
    path = write_csv(tmp_path / "gap.csv", rows)
    with pytest.raises(DataError, match="3 missing dates in the daily series: 2018-11-21, 2018-11-22, 2018-11-23"):
        load_csv(path)
    frame, filled = load_csv(path, fill_gaps=True)
    assert filled == ("2018-11-21", "2018-11-22", "2018-11-23")
    assert frame["bus"].tolist() == [100, 200, 300, 400, 500]
    assert frame["rail"].tolist() == [1000, 2000, 3000, 4000, 5000]
    assert frame["day_type"].tolist() == ["W", "W", "U", "W", "A"]  # 2018-11-22 is Thanksgiving


def test_features_have_a_fixed_one_hot_of_the_next_day():
    frame = pd.DataFrame(
        {"day_type": ["W", "W", "W"], "bus": [1e6, 2e6, 3e6], "rail": [4e6, 5e6, 6e6]},
        index=pd.date_range("2019-01-08", periods=3, name="date"),
    )
    feats = build_features(frame)  # a slice with weekdays only keeps all three columns
    assert tuple(feats.columns) == FEATURES
    assert feats["rail"].tolist() == [4, 5, 6] and feats["bus"].tolist() == [1, 2, 3]
    assert feats.iloc[0, 2:].tolist() == [0, 0, 1]
    assert feats.iloc[-1, 2:].tolist() == [0, 0, 0]  # the last row's next day is unknown


def test_splits_and_windows(synthetic_csv):
    frame, _ = load_csv(synthetic_csv())
    data = RidershipData(frame, DataSource("path", "x"))
    splits = make_splits(data, SMALL)
    feats = data.features()
    values = feats.to_numpy()
    w = SMALL.window_length
    for name, first, last in [
        ("train", "2018-01-01", "2018-06-30"),
        ("valid", "2018-07-01", "2018-08-31"),
        ("test", "2018-09-01", "2018-10-31"),
    ]:
        split = splits[name]
        rows = (pd.Timestamp(last) - pd.Timestamp(first)).days + 1
        assert (split.first_date, split.last_date) == (pd.Timestamp(first), pd.Timestamp(last))
        assert len(split) == rows - w
        assert split.windows.shape == (rows - w, w, len(FEATURES)) and split.windows.dtype == torch.float32
        # Window i holds rows [start + i, start + i + w); its target is the next row's rail and bus.
        for i in (0, len(split) // 2, len(split) - 1):
            start = split.start + i
            assert torch.equal(split.windows[i], torch.tensor(values[start : start + w], dtype=torch.float32))
            assert torch.equal(split.targets[i], torch.tensor(values[start + w, :2], dtype=torch.float32))
        assert split.target_dates[0] == pd.Timestamp(first) + pd.Timedelta(days=w)
        assert split.target_dates[-1] == pd.Timestamp(last)
        assert (feats.index[split.target_positions] == split.target_dates).all()
    assert splits["train"].targets.max().item() < 2  # in millions
    assert np.isclose(splits["train"].targets[0, 1].item() * SCALE, frame.loc["2018-01-15", "bus"], rtol=1e-6)
