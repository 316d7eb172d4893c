"""Next-day forecasts (the one-hot set by name) and saved model files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from support import SMALL, SMALL_FIRST, SMALL_LAST, fit

from engine.data import DAY_TYPES, FEATURES, SCALE, DataSource, RidershipData
from engine.data.synthetic import synthetic_frame
from engine.errors import ModelFileError, RidershipError
from engine.forecast import forecast_next_day, set_next_day_type
from engine.store.modelfile import load_model, save_model

ONE_HOT = slice(2, 5)


@pytest.fixture(scope="module")
def data():
    return RidershipData(synthetic_frame(SMALL_FIRST, SMALL_LAST), DataSource("synthetic"), (), "f" * 64)


@pytest.fixture(scope="module")
def trained(data):
    return fit(SMALL, data)


@pytest.mark.parametrize("day_type", DAY_TYPES)
def test_one_hot_is_set_by_name_and_the_others_cleared(day_type):
    window = np.zeros((4, len(FEATURES)))
    window[:, ONE_HOT] = 1.0  # all set, the worst case for the article's version
    out = set_next_day_type(window, day_type)
    assert out[-1, ONE_HOT].tolist() == [1.0 if k == day_type else 0.0 for k in DAY_TYPES]
    assert FEATURES[2 + DAY_TYPES.index(day_type)] == f"next_day_type_{day_type}"
    assert (out[:-1] == window[:-1]).all() and (window[-1, ONE_HOT] == 1).all()  # a copy; the rest untouched


def test_unknown_day_type():
    with pytest.raises(RidershipError, match="'X' is not one of W"):
        set_next_day_type(np.zeros((2, 5)), "X")


def test_forecast_uses_the_last_window_and_the_chosen_day_type(trained, data):
    model, w = trained.model, SMALL.window_length
    values = data.features().to_numpy()[-w:]
    results = {}
    for day_type in DAY_TYPES:
        f = forecast_next_day(model, data, w, day_type)
        assert f.date == pd.Timestamp(SMALL_LAST) + pd.Timedelta(days=1) and f.day_type == day_type
        assert not f.inferred
        X = torch.tensor(set_next_day_type(values, day_type), dtype=torch.float32).unsqueeze(0)
        with torch.no_grad():
            rail, bus = model(X)[0].tolist()
        assert (f.rail, f.bus) == pytest.approx((rail * SCALE, bus * SCALE))
        results[day_type] = (f.rail, f.bus)
    assert len(set(results.values())) == 3  # the day type changes the forecast
    assert forecast_next_day(model, data, w, "a").day_type == "A"


def test_forecast_day_type_from_the_calendar(trained, data):
    f = forecast_next_day(trained.model, data, SMALL.window_length)
    assert f.inferred and f.date == pd.Timestamp("2018-11-01") and f.day_type == "W"  # a Thursday
    assert f.to_dict() == {
        "date": "2018-11-01",
        "day_type": "W",
        "day_type_inferred": True,
        "rail": round(f.rail),
        "bus": round(f.bus),
        "how_formed": None,
        "formed_from": None,
        "seen_in_training": None,
    }


def test_save_and_load_round_trip(tmp_path, trained, data):
    path = save_model(tmp_path / "sub" / "model.pt", trained, data)
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary left
    model, config, payload = load_model(path, data)
    assert config == SMALL
    assert payload["weights_epoch"] == trained.weights_epoch and payload["best_epoch"] == trained.best_epoch
    assert payload["data"] == {"source": "synthetic", "fingerprint": "f" * 64, "last_date": "2018-10-31"}
    X = torch.rand(3, SMALL.window_length, len(FEATURES))
    with torch.no_grad():
        assert torch.equal(model(X), trained.model(X))
    save_model(path, trained, data)  # overwriting is fine
    assert load_model(path)[1] == SMALL


def test_loading_needs_enough_rows(tmp_path, trained, data):
    path = save_model(tmp_path / "model.pt", trained, data)
    short = RidershipData(data.frame.iloc[:5], DataSource("synthetic"))
    with pytest.raises(ModelFileError, match="windows of 14 days; the data has 5 rows"):
        load_model(path, short)


def test_saved_settings_that_are_invalid(tmp_path, trained, data):
    path = save_model(tmp_path / "model.pt", trained, data)
    payload = torch.load(path, weights_only=True)
    payload["config"]["lr"] = -1.0
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="saved settings are invalid.*lr"):
        load_model(path)
