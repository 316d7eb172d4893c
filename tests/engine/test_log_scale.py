"""Issue 9, round 6: ``log_scale``, the `best` preset's reframing in log space (engine/model.py): the
model reads log(day / level) and predicts the log of the next day's ratio to the level."""

from __future__ import annotations

import math

import pytest
import torch
from support import SMALL_RECIPE

from engine.config import TrainConfig
from engine.domain import CALENDAR_FEATURES
from engine.errors import ConfigError
from engine.model import LOG_FLOOR, LOG_RANGE, model_for
from engine.presets import apply_preset

RECIPE = SMALL_RECIPE.replace(log_scale=True)  # training, saving and forecasting: test_best_recipe.py


def _silent(model):
    """No LSTM or linear path: the output is the output layer's bias alone."""
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def test_off_by_default_and_on_in_the_best_preset():
    assert TrainConfig().log_scale is False
    assert apply_preset("best").log_scale is True
    assert apply_preset("normalized").log_scale is False


@pytest.mark.parametrize("changes", [{"log_scale": True}, {"log_scale": "yes", "normalize": "week"}])
def test_bad_values_are_refused_naming_the_field(changes):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes).validate()
    assert err.value.field == "log_scale"


def test_the_output_is_the_level_times_exp_of_what_the_model_adds_up():
    model = _silent(model_for(RECIPE.replace(highway_days=0).validate()))
    with torch.no_grad():
        model.output.bias.copy_(torch.tensor([math.log(1.1), math.log(0.5)]))
    X = torch.ones(1, 14, len(CALENDAR_FEATURES))
    X[0, -7:, 0] = 2.0  # rail's last week at 2.0: the level
    X[0, -7:, 1] = torch.tensor([1.0, 2, 3, 4, 5, 6, 7])  # bus's level: 4.0
    out = model(X)[0].tolist()
    assert out == pytest.approx([2.0 * 1.1, 4.0 * 0.5], rel=1e-6)


def test_the_model_reads_logs_and_closed_days_stay_finite():
    model = _silent(model_for(RECIPE.replace(highway_days=0, lstm_days=0).validate()))
    seen = []
    model.lstm.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    X = torch.ones(1, 14, len(CALENDAR_FEATURES))
    X[0, -7:, :2] = 2.0
    X[0, 3, :2] = 0.0  # a closed day: 0 riders
    X[0, 0, :2] = 20.0  # ten times the level: capped by norm_clip before the log
    out = model(X)
    days = seen[0][0, :, :2]
    assert days[3].tolist() == pytest.approx([math.log(LOG_FLOOR)] * 2)
    assert days[0].tolist() == pytest.approx([math.log(1.6)] * 2)
    assert days[-1].tolist() == pytest.approx([0.0, 0.0], abs=1e-7)  # at the level: log 1
    assert torch.isfinite(out).all()


def test_an_extreme_output_is_bounded_not_overflowed():
    model = _silent(model_for(RECIPE.replace(highway_days=0).validate()))
    with torch.no_grad():
        model.output.bias.fill_(1e6)
    X = torch.ones(1, 14, len(CALENDAR_FEATURES))
    assert model(X)[0].tolist() == pytest.approx([math.exp(LOG_RANGE[1])] * 2)
