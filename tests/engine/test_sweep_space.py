"""Search-space specs: good ones parse (and round-trip), bad ones are refused with one clear line."""

from __future__ import annotations

import pytest

from engine.config import TrainConfig
from engine.errors import ConfigError
from engine.sweep.space import SpaceError, load_toml, parse_param, parse_space
from engine.sweep.trial import parse_objective


@pytest.mark.parametrize(
    "spec, kind, low, high, log, choices",
    [
        ("lr=log:0.01:0.5", "float", 0.01, 0.5, True, ()),
        ("momentum=float:0.8:0.99", "float", 0.8, 0.99, False, ()),
        ("window_length=int:28:84", "int", 28, 84, False, ()),
        ("hidden_size=intlog:8:128", "int", 8, 128, True, ()),
        ("hidden_size=16,32,64", "choice", None, None, False, (16, 32, 64)),
        ("normalize=none,week", "choice", None, None, False, ("none", "week")),
        ("restore_best=true,false", "choice", None, None, False, (True, False)),
        ("hidden-size=16, 32", "choice", None, None, False, (16, 32)),
    ],
)
def test_good_specs_parse_and_round_trip(spec, kind, low, high, log, choices):
    p = parse_param(spec)
    assert (p.kind, p.low, p.high, p.log, p.choices) == (kind, low, high, log, choices)
    assert parse_param(p.spec()) == p
    p.distribution()  # optuna accepts it


def test_int_step():
    p = parse_param("window_length=int:28:84:7")
    assert p.step == 7 and p.distribution().step == 7


@pytest.mark.parametrize(
    "spec, words",
    [
        ("lr", "expected NAME=SPEC"),
        ("lr=", "expected NAME=SPEC"),
        ("learning_rate=log:0.01:0.5", "is not a training setting"),
        ("lr=log:0:1", "needs LOW > 0"),
        ("lr=log:0.5:0.01", "must be below HIGH"),
        ("lr=log:a:b", "must be numbers"),
        ("lr=int:1:3", "lr is float"),
        ("hidden_size=log:1:3", "hidden_size is int"),
        ("normalize=int:1:2", "give a list of choices"),
        ("lr=weird:1:2", "unknown range kind"),
        ("window_length=int:28:85:7", "STEP must be > 0 and divide"),
        ("hidden_size=16,sixteen", "is not a valid int"),
        ("hidden_size=16,16", "listed twice"),
        ("hidden_size=16,,32", "an empty choice"),
        ("restore_best=maybe", "is not a valid bool"),
        ("lr=log:0.01:inf", "finite"),
    ],
)
def test_bad_specs_give_one_clear_line(spec, words):
    with pytest.raises(SpaceError) as info:
        parse_param(spec)
    message = str(info.value)
    assert words in message and "\n" not in message and message.startswith("--param")


def test_a_field_given_twice_and_no_field_are_refused():
    with pytest.raises(SpaceError, match="given twice"):
        parse_space(["lr=log:0.01:0.5", "lr=0.1,0.2"])
    with pytest.raises(SpaceError, match="no parameter to search"):
        parse_space([])


def test_space_check_refuses_values_that_make_invalid_settings():
    space = parse_space(["momentum=float:0.5:1.5"])
    with pytest.raises(SpaceError, match="momentum"):
        space.check(TrainConfig())
    parse_space(["momentum=float:0.5:0.9"]).check(TrainConfig())


def test_config_for_casts_to_the_field_types():
    space = parse_space(["hidden_size=16,32", "lr=log:0.01:0.5"])
    config = space.config_for(TrainConfig(), {"hidden_size": 32.0, "lr": 0.1})
    assert config.hidden_size == 32 and isinstance(config.hidden_size, int) and config.lr == 0.1


def test_toml_file(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        'trials = 6\nobjective = "test"\n[params]\nlr = "log:0.01:0.5"\nhidden_size = [16, 32]\n[base]\nepochs = 5\n'
    )
    space, settings = load_toml(path)
    assert space.specs() == ["lr=log:0.01:0.5", "hidden_size=16,32"]
    assert settings["trials"] == 6 and settings["objective"] == "test" and settings["base"] == {"epochs": 5}
    (tmp_path / "bad.toml").write_text("[params\n")
    with pytest.raises(SpaceError, match="not valid TOML"):
        load_toml(tmp_path / "bad.toml")
    (tmp_path / "none.toml").write_text("trials = 3\n")
    with pytest.raises(SpaceError, match=r"expected a \[params\] table"):
        load_toml(tmp_path / "none.toml")


@pytest.mark.parametrize(
    "text, name",
    [
        ("valid", "valid"),
        ("TEST", "test"),
        ("test.mae", "test"),
        ("valid.ratio", "valid.ratio"),
        ("best_valid", "best_valid"),
        ("test.rail_mae", "test.rail_mae"),
    ],
)
def test_objectives(text, name):
    assert parse_objective(text) == name


def test_a_bad_objective_is_one_line():
    with pytest.raises(ConfigError, match="is not an objective"):
        parse_objective("train")
