"""Issue 9, round 3: the settings added while searching for a `best` preset that beats LightGBM
(bench/best_search.py): capped normalized inputs, the held-in-range level input, recency weights,
the loss in the normalized space, weight decay and the day-of-year calendar input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from engine.config import TrainConfig
from engine.data.sources import synthetic
from engine.data.windows import make_splits
from engine.domain import CALENDAR_DOY_FEATURES, CALENDAR_FEATURES
from engine.errors import ConfigError
from engine.forecast import forecast_days, forecast_next_day, set_next_day_type
from engine.model import model_for
from engine.training import recency_weights
from support import SMALL, fit

RECIPE = SMALL.replace(inputs="calendar", normalize="week", optimizer="adam", loss="l1", schedule="cosine",
                       lr=0.01, clip=1.0, highway_days=7, lstm_days=10, restore_best=True, epochs=2)


@pytest.fixture(scope="module")
def data():
    return synthetic()


def test_the_new_settings_default_to_the_articles_run():
    config = TrainConfig()
    assert (config.norm_clip, config.level_input, config.weight_decay, config.loss_space,
            config.recent_half_life) == (0.0, False, 0.0, "riders", 0.0)
    assert "level_stats" not in model_for(config).state_dict()


@pytest.mark.parametrize("changes, field", [
    ({"norm_clip": 1.5}, "norm_clip"), ({"level_input": True}, "level_input"),
    ({"loss_space": "normalized"}, "loss_space"), ({"weight_decay": -1.0}, "weight_decay"),
    ({"recent_half_life": math.nan}, "recent_half_life"), ({"inputs": "doy"}, "inputs"),
])
def test_settings_that_need_normalized_windows_or_sane_numbers_are_refused(changes, field):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes).validate()
    assert err.value.field == field


def test_norm_clip_caps_what_the_model_reads_from_days_before_a_collapse():
    config = RECIPE.replace(norm_clip=1.5, highway_days=0)
    model = model_for(config.validate())
    seen = []
    model.lstm.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    X = torch.ones(1, 14, len(CALENDAR_FEATURES))
    X[0, :7, :2] = 5.0  # the first week at five times the last week's level
    model(X)
    assert seen[0][..., :2].max().item() == pytest.approx(1.5)


def test_the_level_input_is_held_inside_the_training_range():
    config = RECIPE.replace(level_input=True).validate()
    model = model_for(config)
    train = torch.ones(4, 14, len(CALENDAR_FEATURES))
    train[:, :, :2] *= torch.tensor([0.5, 1.0, 1.5, 2.0])[:, None, None]  # levels 0.5 .. 2
    model.fit_level_range(train)
    mean, low, high = model.level_stats
    assert mean.tolist() == pytest.approx([1.25, 1.25])
    era = model._era(torch.tensor([[0.01, 100.0], [1.25, 1.25]]))
    assert era[0].tolist() == pytest.approx([low[0].item(), high[1].item()])  # a collapse reads as the lowest
    assert era[1].tolist() == pytest.approx([0.0, 0.0])
    assert model.lstm.input_size == len(CALENDAR_FEATURES) + 2


def test_recency_weights_average_one_and_halve_per_half_life(data):
    config = RECIPE.replace(recent_half_life=0.25)
    split = make_splits(data, config)["train"]
    weights = recency_weights(config, split)
    assert weights.mean().item() == pytest.approx(1.0)
    dates = split.target_dates
    quarter = int(np.searchsorted(dates, dates[-1] - pd.Timedelta(days=round(365.25 / 4))))
    assert (weights[quarter] / weights[-1]).item() == pytest.approx(0.5, rel=0.02)
    assert bool((weights[1:] >= weights[:-1]).all())


@pytest.mark.parametrize("changes", [
    {"norm_clip": 1.6, "level_input": True, "weight_decay": 0.01, "recent_half_life": 2.0},
    {"loss_space": "normalized", "loss": "huber"},
    {"inputs": "calendar_doy"},
])
def test_the_new_settings_train_forecast_and_round_trip(data, tmp_path, changes):
    from engine.store.modelfile import load_model, save_model

    config = RECIPE.replace(**changes).validate()
    result = fit(config, data)
    assert result.status == "finished" and math.isfinite(result.best_valid_mae)
    one = forecast_next_day(result.model, data, config.window_length)
    [first] = forecast_days(result.model, data, config.window_length, 1)
    assert (one.rail, one.bus) == (first.rail, first.bus)
    path = save_model(tmp_path / "m.pt", result, data)
    model, loaded, _ = load_model(path, data)
    assert loaded == config and forecast_next_day(model, data, config.window_length).rail == one.rail


def test_a_day_of_year_window_gets_the_forecast_days_place_in_the_year():
    window = np.zeros((3, len(CALENDAR_DOY_FEATURES)))
    out = set_next_day_type(window, "W", pd.Timestamp("2021-07-02"))  # day 183: half way round
    row = dict(zip(CALENDAR_DOY_FEATURES, out[-1]))
    assert row["next_weekday_4"] == 1 and row["next_doy_cos"] == pytest.approx(-1.0, abs=1e-3)
