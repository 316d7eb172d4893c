"""One factory for the CLI's numeric option checks (cli.options.bounded)."""

from __future__ import annotations

import argparse

import pytest

from cli.options import bounded


@pytest.mark.parametrize(
    "text, ok", [("1", True), ("65535", True), ("0", False), ("65536", False), ("x", False), ("1.5", False)]
)
def test_a_closed_integer_range(text, ok):
    port = bounded(int, 1, 65535, what="a port number 1..65535")
    if ok:
        assert port(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected a port number 1..65535, got '{text}'"):
            port(text)


@pytest.mark.parametrize("text", ["0", "1", "nan", "inf", "-0.2", "level"])
def test_an_open_float_range_refuses_its_ends_and_non_finite_values(text):
    level = bounded(float, 0, 1, open_low=True, open_high=True, what="a level between 0 and 1")
    with pytest.raises(argparse.ArgumentTypeError, match="expected a level between 0 and 1"):
        level(text)
    assert level("0.8") == 0.8


def test_the_hint_follows_the_value():
    limit = bounded(int, 1, what="a whole number >= 1", hint=" (omit --limit to list every run)")
    with pytest.raises(argparse.ArgumentTypeError, match=r"got '0' \(omit --limit"):
        limit("0")
