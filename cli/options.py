"""Command-line options generated from TrainConfig's fields (their help text and choices), so a
setting added to the config is an option here with no other edit."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable
from typing import Any

from engine.config import TrainConfig
from engine.presets import DEFAULT_PRESET, apply_preset

DEFAULTS = TrainConfig()  # the article's settings
STARTS = apply_preset(DEFAULT_PRESET)  # what a command starts from without --preset


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _kind(f: dataclasses.Field) -> type:
    default = f.default
    return type(default) if default is not dataclasses.MISSING else str


def add_config_options(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """One option per TrainConfig field. Every option defaults to None ("not given"), so a preset's
    value (or the article's) applies unless the option is on the command line."""
    group = parser.add_argument_group(
        f"training settings (default: the {DEFAULT_PRESET} preset's, or --preset's; "
        "where the article's differs, it is named)"
    )
    for f in TrainConfig.settings():
        if f.name in skip:
            continue
        kind, text = _kind(f), f.metadata["help"].replace("%", "%%")
        shown = _shown(getattr(STARTS, f.name))
        if getattr(DEFAULTS, f.name) != getattr(STARTS, f.name):
            shown += f"; the article's: {_shown(getattr(DEFAULTS, f.name))}"
        if kind is bool:
            group.add_argument(
                option_name(f.name),
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{text} (default: {shown})",
            )
            continue
        group.add_argument(
            option_name(f.name),
            dest=f.name,
            type=kind,
            default=None,
            choices=f.metadata.get("choices"),
            metavar=None if "choices" in f.metadata else "X",
            help=f"{text} (default: {shown})",
        )


def _shown(value: Any) -> str:
    """A default as the help shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value == "" else str(value)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields given on the command line."""
    return {f.name: getattr(args, f.name) for f in TrainConfig.settings() if getattr(args, f.name, None) is not None}


def bounded(
    kind: type,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
    open_high: bool = False,
    what: str,
    hint: str = "",
) -> Callable[[str], Any]:
    """An argparse ``type``: a finite ``kind`` (int or float) from ``low`` to ``high`` (each end
    excluded when ``open_low`` / ``open_high``); anything else is one line, "expected <what>, got
    '<text>'" (+ ``hint``)."""

    def fits(value) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if low is not None and (value <= low if open_low else value < low):
            return False
        return high is None or (value < high if open_high else value <= high)

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if not fits(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}{hint}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse
