"""TrainConfig: the article's defaults, and validate() naming the field at fault."""

from __future__ import annotations

from dataclasses import fields

import pytest

from engine.config import FIELD_HELP, TrainConfig
from engine.errors import ConfigError


def test_defaults_are_the_articles():
    c = TrainConfig()
    assert (c.window_length, c.hidden_size, c.batch_size, c.lr, c.momentum, c.epochs, c.patience, c.factor, c.seed) == (
        56,
        32,
        32,
        0.05,
        0.95,
        50,
        20,
        0.1,
        42,
    )
    assert (c.train_start, c.train_end, c.valid_start, c.valid_end, c.test_start, c.test_end) == (
        "2016-01",
        "2018-12",
        "2019-01",
        "2019-05",
        "2019-06",
        "",
    )
    assert c.restore_best is False
    assert c.validate() is c


def test_every_field_has_one_line_of_help():
    assert set(FIELD_HELP) == {f.name for f in fields(TrainConfig)}
    assert all(text and "\n" not in text for text in FIELD_HELP.values())


def test_dict_round_trip_and_unknown_keys():
    c = TrainConfig(epochs=3, lr=0.01, core="cell")
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({**c.to_dict(), "learning_rate": 0.1})
    assert info.value.field == "learning_rate"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"window_length": 0}, "window_length"),
        ({"hidden_size": -1}, "hidden_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.0}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"seed": "42"}, "seed"),
        ({"patience": -1}, "patience"),
        ({"patience": 1.5}, "patience"),
        ({"lr": 0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"lr": 1e39}, "lr"),
        ({"lr": "0.1"}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.5}, "momentum"),
        ({"factor": 0.0}, "factor"),
        ({"factor": 1.0}, "factor"),
        ({"core": "gru"}, "core"),
        ({"device": "tpu"}, "device"),
        ({"train_start": "soon"}, "train_start"),
        ({"test_end": "2020-02-30"}, "test_end"),
        ({"valid_start": ""}, "valid_start"),
        ({"valid_start": "2018-06"}, "valid_start"),
        ({"test_start": "2019-05-31"}, "test_start"),
        ({"train_end": "2015-12"}, "train_end"),
    ],
)
def test_invalid_settings_name_their_field(changes, field):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes).validate()
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ") and info.value.reason


@pytest.mark.parametrize(
    "changes",
    [
        {"momentum": 0.0},
        {"patience": 0},
        {"lr": 10.0},
        {"train_start": "2016"},
        {"test_end": "2020-03-15"},
        {"valid_start": "2019-01-01", "valid_end": "2019-01-31"},
    ],
)
def test_valid_edge_values(changes):
    TrainConfig(**changes).validate()


def test_split_bounds_resolve_partial_dates_like_pandas():
    bounds = TrainConfig(test_end="2020-02").split_bounds()
    assert str(bounds["train"][0]) == "2016-01-01 00:00:00"
    assert bounds["train"][1].strftime("%Y-%m-%d") == "2018-12-31"
    assert bounds["test"][1].strftime("%Y-%m-%d") == "2020-02-29"
    assert TrainConfig().split_bounds()["test"][1] is None
