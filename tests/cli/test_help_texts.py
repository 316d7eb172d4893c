"""Help texts say what the code does: the preset a command starts from is the one it uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.presets import DEFAULT_PRESET


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_the_preset_help_names_the_default_the_code_starts_from(command):
    out = subprocess.run([sys.executable, "-m", "cli", command, "--help"], capture_output=True, text=True,
                         check=True).stdout
    text = " ".join(out.split())  # argparse wraps the help under the option
    start = text.index("--preset {", text.index("options:"))  # the entry, not the usage line
    entry = text[start:text.index(" --", start + 2)]
    assert f"(default: {DEFAULT_PRESET}" in entry, entry
