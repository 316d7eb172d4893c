"""Help texts say what the code does: the preset a command starts from is the one it uses, and each
training option's default is the value a run without it gets."""

from __future__ import annotations

import pytest
from support import ridership

from engine.config import TrainConfig
from engine.presets import DEFAULT_PRESET, apply_preset


def help_entry(command: str, option: str) -> str:
    """The help of ``option`` in ``ridership COMMAND --help``, on one line."""
    done = ridership(command, "--help")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    text = " ".join(out.split())  # argparse wraps the help under the option
    start = text.index(f"{option} ", text.index("options:"))  # the entry, not the usage line
    return text[start : text.index(" --", start + 2)]


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_the_preset_help_names_the_default_the_code_starts_from(command):
    entry = help_entry(command, "--preset")
    assert f"(default: {DEFAULT_PRESET}" in entry, entry


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_a_settings_default_is_the_default_presets_and_the_articles_is_named(command):
    starts, article = apply_preset(DEFAULT_PRESET), TrainConfig()
    assert starts.epochs != article.epochs and starts.seed == article.seed
    assert f"(default: {starts.epochs}; the article's: {article.epochs})" in help_entry(command, "--epochs")
    assert help_entry(command, "--seed").endswith(f"(default: {starts.seed})")
