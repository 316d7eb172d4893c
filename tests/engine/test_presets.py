"""Presets, the normalising model options, and (with the real data) the better preset's margin over
the naive forecast on the article's validation and test targets."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
import torch
from support import fit

from cli.main import build_parser, config_from, main
from engine.config import FIELD_HELP, TrainConfig
from engine.data import FEATURES
from engine.data.sources import synthetic
from engine.errors import ConfigError
from engine.model import LstmModel
from engine.model import build_model as init_model
from engine.presets import DEFAULT_PRESET, PRESET_HELP, PRESETS, apply_preset, preset_of
from engine.store.modelfile import load_model, save_model
from engine.training import seeded_generator

ARTICLE = TrainConfig()


# --- presets -------------------------------------------------------------------------------------


def test_article_preset_is_the_default_config_and_best_the_default_preset():
    assert DEFAULT_PRESET == "best"
    assert apply_preset("article") == ARTICLE
    assert preset_of(ARTICLE) == "article"


def test_presets_name_real_fields_with_valid_values_and_have_help():
    names = {f.name for f in fields(TrainConfig)}
    for name, values in PRESETS.items():
        assert set(values) <= names, name
        apply_preset(name).validate()
        assert PRESET_HELP[name]


def test_normalized_preset_keeps_the_articles_validation_and_test_splits():
    config = apply_preset("normalized")
    for field in ("valid_start", "valid_end", "test_start", "test_end", "window_length"):
        assert getattr(config, field) == getattr(ARTICLE, field), field
    assert config.normalize == "week"
    assert preset_of(config) == "normalized"
    assert preset_of(config.replace(core="cell", device="cpu")) == "normalized"
    assert preset_of(config.replace(seed=7)) is None


def test_apply_preset_keeps_the_callers_other_settings():
    mine = ARTICLE.replace(epochs=3, hidden_size=8)
    out = apply_preset("normalized", mine)
    assert (out.epochs, out.hidden_size, out.normalize, out.lr) == (3, 8, "week", PRESETS["normalized"]["lr"])


def test_unknown_preset_names_the_choices():
    with pytest.raises(ConfigError) as info:
        apply_preset("fancy")
    assert info.value.field == "preset"
    assert "article" in info.value.reason and "normalized" in info.value.reason


# --- new settings --------------------------------------------------------------------------------


def test_every_field_has_help():
    assert set(FIELD_HELP) == {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"normalize": "max"}, "normalize"),
        ({"target": "delta"}, "target"),
        ({"target": "weekly_change", "window_length": 6}, "window_length"),
    ],
)
def test_bad_new_settings_name_their_field(changes, field):
    with pytest.raises(ConfigError) as info:
        ARTICLE.replace(**changes).validate()
    assert info.value.field == field


def test_defaults_are_the_articles_framing():
    assert (ARTICLE.normalize, ARTICLE.target) == ("none", "level")


# --- the options inside the model ----------------------------------------------------------------


def _windows(n=6, length=21, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.zeros(n, length, len(FEATURES))
    X[:, :, :2] = 0.2 + torch.rand(n, length, 2, generator=g)  # millions of riders
    X[torch.arange(n), -1, 2 + torch.arange(n) % 3] = 1.0  # some next-day type
    return X


def _model(normalize="none", target="level", core="fused"):
    config = ARTICLE.replace(hidden_size=8, normalize=normalize, target=target, core=core)
    return init_model(config, seeded_generator(1)).eval()


@pytest.mark.parametrize("normalize", ["window", "week"])
def test_normalised_model_scales_with_the_level(normalize):
    """Learning shape, not level: 3x the riders in the window gives 3x the forecast."""
    model, X = _model(normalize), _windows()
    bigger = X.clone()
    bigger[:, :, :2] *= 3.0
    with torch.no_grad():
        torch.testing.assert_close(model(bigger), 3.0 * model(X), rtol=1e-5, atol=1e-6)


def test_unnormalised_model_does_not_scale_with_the_level():
    model, X = _model(), _windows()
    bigger = X.clone()
    bigger[:, :, :2] *= 3.0
    with torch.no_grad():
        assert not torch.allclose(model(bigger), 3.0 * model(X), rtol=1e-3)


@pytest.mark.parametrize("normalize", ["none", "week"])
def test_weekly_change_with_a_silent_head_is_the_naive_forecast(normalize):
    model, X = _model(normalize, "weekly_change"), _windows()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.zero_()
        torch.testing.assert_close(model(X), X[:, -7, :2])


def test_both_cores_agree_with_the_new_options():
    X = _windows()
    fused = _model("week", "weekly_change", "fused")
    cell = _model("week", "weekly_change", "cell")
    with torch.no_grad():
        torch.testing.assert_close(fused(X), cell(X), rtol=1e-5, atol=1e-6)


def test_model_rejects_unknown_options():
    with pytest.raises(ValueError):
        LstmModel(normalize="max")
    with pytest.raises(ValueError):
        LstmModel(target="delta")


def test_model_file_keeps_the_new_options(tmp_path):
    data = synthetic()
    config = ARTICLE.replace(epochs=1, hidden_size=8, normalize="week", target="weekly_change", device="cpu")
    result = fit(config, data)
    save_model(tmp_path / "m.pt", result, data)
    model, loaded, _ = load_model(tmp_path / "m.pt", data)
    assert (loaded.normalize, loaded.target) == ("week", "weekly_change")
    assert (model.normalize, model.target) == ("week", "weekly_change")
    X = _windows()
    with torch.no_grad():
        torch.testing.assert_close(model(X), result.model.eval()(X))


# --- the CLI's --preset: options given override it -----------------------------------------------


def _cli_config(*argv):
    return config_from(build_parser().parse_args(["train", *argv]))


def test_cli_without_preset_is_best_and_article_one_option_away():
    assert _cli_config() == apply_preset("best")
    assert _cli_config("--preset", "article") == ARTICLE


def test_cli_preset_then_explicit_options():
    assert _cli_config("--preset", "normalized") == apply_preset("normalized")
    config = _cli_config("--preset", "normalized", "--lr", "0.05", "--train-start", "2016-01", "--epochs", "7")
    assert (config.lr, config.train_start, config.epochs, config.normalize) == (0.05, "2016-01", 7, "week")
    assert _cli_config("--preset", "article", "--normalize", "window", "--target", "weekly_change") == ARTICLE.replace(
        normalize="window", target="weekly_change"
    )
    assert _cli_config("--restore-best").restore_best is True


@pytest.mark.parametrize("command", ["train", "forecast", "evaluate"])
def test_cli_help_shows_the_new_options(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert {"train": "--preset", "forecast": "--override", "evaluate": "--model"}[command] in out


def test_cli_unknown_preset_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["train", "--preset", "fancy"])
    assert info.value.code == 2
    assert "normalized" in capsys.readouterr().err


# --- free split dates ----------------------------------------------------------------------------

SHORT_SPLITS = [
    "--train-start",
    "2016-01",
    "--train-end",
    "2021-09",
    "--valid-start",
    "2021-10",
    "--valid-end",
    "2021-10",
    "--test-start",
    "2021-11",
]


def test_short_validation_split_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    assert main(["train", *SHORT_SPLITS, "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "valid" in err and "31 rows" in err and "window_length=56" in err
    assert "Traceback" not in err


def test_short_splits_work_with_a_short_window(monkeypatch, capsys):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    assert (
        main(["train", *SHORT_SPLITS, "--preset", "article", "--window-length", "14", "--epochs", "1", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["scores"]["valid"]["windows"] == 31 - 14
    assert out["scores"]["test"]["windows"] == 30 - 14
    assert out["scores"]["test"]["naive_mae_riders"] > 0
