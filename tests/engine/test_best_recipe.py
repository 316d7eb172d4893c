"""Issue 9, round 3: the two settings the `best` preset gained (research/best_search.py): normalized
inputs capped at ``norm_clip`` times the window's level, and weight decay."""

from __future__ import annotations

import math

import pytest
import torch
from support import SMALL_RECIPE, fit

from engine.config import TrainConfig
from engine.data.sources import synthetic
from engine.domain import CALENDAR_FEATURES
from engine.errors import ConfigError
from engine.forecast import forecast_days, forecast_next_day
from engine.model import model_for
from engine.training import make_optimizer

RECIPE = SMALL_RECIPE


def torch_class(optimizer) -> type:
    """The torch optimizer class behind engine.lean_imports' subclass of it."""
    return next(c for c in type(optimizer).__mro__ if c.__module__.startswith("torch.optim"))


def test_the_new_settings_default_to_the_articles_run():
    config = TrainConfig()
    assert (config.norm_clip, config.weight_decay) == (0.0, 0.0)
    assert torch_class(make_optimizer(config, model_for(config))) is torch.optim.SGD
    assert torch_class(make_optimizer(RECIPE.replace(weight_decay=0.0), model_for(RECIPE))) is torch.optim.Adam


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"norm_clip": 1.5}, "norm_clip"),  # needs normalized windows
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"norm_clip": math.nan, "normalize": "week"}, "norm_clip"),
    ],
)
def test_bad_values_are_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes).validate()
    assert err.value.field == field


def test_norm_clip_caps_what_the_model_reads_from_days_before_a_collapse():
    model = model_for(RECIPE.replace(highway_days=0, lstm_days=0).validate())
    seen = []
    model.lstm.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    X = torch.ones(1, 14, len(CALENDAR_FEATURES))
    X[0, :7, :2] = 5.0  # the first week at five times the last week's level
    model(X)
    assert seen[0][..., :2].max().item() == pytest.approx(1.6)
    assert seen[0][0, -1, :2].tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("log_scale", [False, True])  # True: the `best` preset's log space (test_log_scale.py)
def test_weight_decay_uses_adamw_and_the_recipe_trains_and_forecasts(tmp_path, log_scale):
    from engine.store.modelfile import load_model, save_model

    recipe = RECIPE.replace(log_scale=log_scale)
    assert torch_class(make_optimizer(recipe, model_for(recipe))) is torch.optim.AdamW
    data = synthetic()
    result = fit(recipe, data)
    assert result.status == "finished" and math.isfinite(result.best_valid_mae)
    one = forecast_next_day(result.model, data, recipe.window_length)
    assert one.rail > 0 and one.bus > 0
    [first] = forecast_days(result.model, data, recipe.window_length, 1)
    assert (one.rail, one.bus) == (first.rail, first.bus)
    model, config, _ = load_model(save_model(tmp_path / "m.pt", result, data), data)
    assert config == recipe and forecast_next_day(model, data, recipe.window_length).rail == one.rail
