"""Hyperparameters pane: one input per TrainConfig field, built from the dataclass.

The rows come from ``dataclasses.fields(TrainConfig)`` and each field's metadata (help, choices), so a field added to the
engine appears here without UI changes. Values are parsed per field type, then checked with
``TrainConfig.validate()``; every reason is shown on the field's own row, and an invalid form
yields no config, which blocks starting a run.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from engine.config import TrainConfig
from engine.errors import ConfigError
from engine.presets import DEFAULT_PRESET, PRESET_HELP, PRESETS, apply_preset, preset_of

from .text import Label, Static

ArticleDefaults = TrainConfig()
FORM_HINT = (
    "Tab: next field. Number keys type in a field or selector (Esc leaves it) and switch panes "
    f"elsewhere. r: the {DEFAULT_PRESET} preset's settings (the article's defaults: preset article)."
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: type  # int, float, str or bool
    default: Any
    help: str
    choices: tuple[str, ...] | None = None


def _choices(field: dataclasses.Field, hint: Any) -> tuple[str, ...] | None:
    """A field's fixed choices: its metadata (engine.config.setting), or a Literal type."""
    if "choices" in field.metadata:
        return tuple(field.metadata["choices"])
    if typing.get_origin(hint) is typing.Literal:
        return tuple(typing.get_args(hint))
    return None


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # Evaluating the string annotations takes 30 ms, at every app start otherwise.
    return typing.get_type_hints(cls)


def field_specs(cls: type = TrainConfig) -> list[FieldSpec]:
    hints = _type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        choices = _choices(f, hint)
        kind = str if choices or typing.get_origin(hint) is typing.Literal else hint
        if kind not in (int, float, str, bool):
            kind = str
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        specs.append(FieldSpec(f.name, kind, default, f.metadata.get("help", ""), choices))
    return specs


def parse_value(spec: FieldSpec, raw: Any) -> Any:
    """Text from an input to the field's type; ValueError with a reason a person can act on."""
    if spec.kind is bool or spec.choices:
        return raw
    text = str(raw).strip()
    if spec.kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"must be a whole number, got {text!r}") from None
    if spec.kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {text!r}")
        return value
    return text


SplitDays = Callable[[TrainConfig], "dict[str, int]"]  # days of the loaded data in each split


def window_errors(config: TrainConfig, split_days: SplitDays | None) -> dict[str, str]:
    """The window length against the loaded data: each split needs more days than a window."""
    if split_days is None:
        return {}
    days = split_days(config)
    errors: dict[str, str] = {}
    for name, n in days.items():
        if n == 0:
            errors.setdefault(f"{name}_start", f"the {name} split has no days in the data loaded")
    short = [(name, n) for name, n in days.items() if 0 < n <= config.window_length]
    if short:
        name, n = min(short, key=lambda item: item[1])
        errors["window_length"] = (
            f"must be under {n}: the {name} split has {n} days in the data loaded, and a "
            f"window of {config.window_length} needs {config.window_length + 1}"
        )
    return errors


def check(
    specs: list[FieldSpec], raw: dict[str, Any], split_days: SplitDays | None = None
) -> tuple[TrainConfig | None, dict[str, str]]:
    """The config, or None and a reason per invalid field.

    validate() stops at the first problem; to show more than one, a field found invalid is set
    back to its default and the rest checked again (stopping if the same field fails twice, which
    means the problem lies in how it relates to another field).
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for spec in specs:
        try:
            values[spec.name] = parse_value(spec, raw[spec.name])
        except ValueError as exc:
            errors[spec.name] = str(exc)
    trial = {s.name: (s.default if s.name in errors else values[s.name]) for s in specs}
    for _ in specs:
        try:
            TrainConfig(**trial).validate()
            break
        except ConfigError as exc:
            if exc.field in errors:
                break
            errors[exc.field] = exc.reason
            if exc.field not in trial:
                break
            trial[exc.field] = next(s.default for s in specs if s.name == exc.field)
    if errors:
        return None, errors
    config = TrainConfig(**values)
    errors = window_errors(config, split_days)
    return (None, errors) if errors else (config, {})


class HyperparamsForm(VerticalScroll):
    """The form. Posts ``Changed`` with the valid config as a dict (or None) and the errors."""

    BINDINGS = [Binding("r", "reset", "Defaults")]

    class Changed(Message):
        def __init__(self, config: dict[str, Any] | None, errors: dict[str, str]) -> None:
            super().__init__()
            self.config = config
            self.errors = errors

    def __init__(self, config: TrainConfig | None = None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.specs = field_specs()
        self._initial = config or TrainConfig()
        self.errors: dict[str, str] = {}
        self._config: TrainConfig | None = self._initial
        self.split_days: SplitDays | None = None  # set with the data (set_split_days)
        # What each field holds, as its control holds it. The rows (about half the app's widgets)
        # are built the first time the form is shown: an app that never shows it starts without
        # composing and styling them. Until then these values are the form.
        self._values: dict[str, Any] = {s.name: self._raw(s, getattr(self._initial, s.name)) for s in self.specs}
        self._shown: dict[str, str] = {}  # Static id -> the text it shows (_show), once the rows exist
        # The rows' widgets by id, kept as they are built: a row's own widgets can be queried only
        # once the row has mounted, which is after show_rows returns.
        self._row_widgets: dict[str, Widget] = {}

    @staticmethod
    def _raw(spec: FieldSpec, value: Any) -> Any:
        return value if (spec.kind is bool or spec.choices) else str(value)

    def compose(self) -> ComposeResult:
        yield Static(FORM_HINT, id="form-hint")
        yield Static("", id="form-error")

    @property
    def has_rows(self) -> bool:
        return bool(self._row_widgets)

    def show_rows(self) -> None:
        """Build the rows, if not yet built, from the values and errors the form holds."""
        if self.has_rows:
            return
        self._shown = {f"help-{s.name}": s.help for s in self.specs} | {"help-preset": "", "form-error": ""}

        def keep(widget: Widget) -> Widget:
            self._row_widgets[widget.id] = widget
            return widget

        rows = [
            Horizontal(
                Label("preset", classes="field-name"),
                # Blank (shown as "custom") while the fields match no preset.
                # type_to_search off, here and below: a number key on a selector switches panes, as
                # everywhere outside a text field (it would otherwise open the list and search it).
                keep(
                    Select(
                        [(name, name) for name in PRESETS],
                        prompt="custom",
                        value=self._preset_name(self._config),
                        id="preset",
                        compact=True,
                        type_to_search=False,
                    )
                ),
                keep(Static("", classes="field-help", id="help-preset")),
                classes="field-row",
                id="row-preset",
            )
        ]
        for spec in self.specs:
            rows.append(
                Horizontal(
                    Label(spec.name, classes="field-name"),
                    keep(self._control(spec, self._values[spec.name])),
                    keep(Static(spec.help, classes="field-help", id=f"help-{spec.name}")),
                    classes="field-row",
                    id=f"row-{spec.name}",
                )
            )
        self._row_widgets["form-error"] = self.query_one("#form-error")
        self.mount_all(rows, before="#form-error")
        self._show_errors()

    def on_show(self) -> None:
        self.show_rows()  # shown some other way than the app's pane key (a click on its tab)

    def _control(self, spec: FieldSpec, value: Any):
        wid = f"field-{spec.name}"
        if spec.kind is bool:
            return Checkbox("yes", value=bool(value), id=wid, compact=True, classes="field-input")
        if spec.choices:
            return Select(
                [(c, c) for c in spec.choices],
                value=value,
                allow_blank=False,
                id=wid,
                compact=True,
                classes="field-input",
                type_to_search=False,
            )
        return Input(str(value), id=wid, compact=True, classes="field-input")

    def set_split_days(self, split_days: SplitDays | None) -> None:
        """How many days of the loaded data each split holds (tui.jobs.split_days): a window
        length that does not fit a split is refused on its row, before t."""
        self.split_days = split_days
        self.revalidate()

    # -- reading and writing values -----------------------------------------------------------
    def raw_values(self) -> dict[str, Any]:
        if self.has_rows:
            for spec in self.specs:
                widget = self._row_widgets[f"field-{spec.name}"]
                if widget.is_mounted:  # a Select has its value only once mounted
                    self._values[spec.name] = widget.value
        return dict(self._values)

    def set_config(self, config: TrainConfig) -> None:
        self._values = {s.name: self._raw(s, getattr(config, s.name)) for s in self.specs}
        if self.has_rows:
            # One check for the whole config: each field's own Changed would check the form again
            # (about 45 checks of 45 rows for one preset).
            for spec in self.specs:
                self._put(self._row_widgets[f"field-{spec.name}"], self._values[spec.name])
        self.revalidate()

    @property
    def config(self) -> TrainConfig | None:
        """The valid config, or None while any field is invalid."""
        return self._config

    def first_invalid(self) -> str | None:
        return next((s.name for s in self.specs if s.name in self.errors), None)

    def focus_field(self, name: str) -> None:
        if self.has_rows:
            self._row_widgets[f"field-{name}"].focus()
        else:  # the field mounts with its row, after this call: focused once it has
            self.show_rows()
            self.call_after_refresh(self._row_widgets[f"field-{name}"].focus)

    def show_note(self, note: str | None) -> None:
        """A line before the usual hint (e.g. the run a fork starts from); None removes it."""
        self.query_one("#form-hint", Static).update(f"{note}\n{FORM_HINT}" if note else FORM_HINT)

    def action_reset(self) -> None:
        """The default preset's settings (what the app and `ridership train` start from)."""
        self.set_config(apply_preset(DEFAULT_PRESET))
        self.notify(f"Hyperparameters reset to the {DEFAULT_PRESET} preset (the default)")

    # -- presets (engine/presets.py) -----------------------------------------------------------
    @on(Select.Changed, "#preset")
    def _preset_chosen(self, event: Select.Changed) -> None:
        """Fill every field from the preset; the core and the device (which do not change what is
        learned) stay as they are."""
        event.stop()
        name = event.value
        if name is Select.NULL:  # "custom" is what the fields say, not a choice: show it as it is
            self._show_preset(self._config)
            return
        if name == preset_of(self._config or self._initial):
            return  # the form already holds this preset (set by _show_preset)
        keep = self._config or TrainConfig()
        self.set_config(apply_preset(str(name)).replace(core=keep.core, device=keep.device))
        self.notify(f"Preset {name}: {PRESET_HELP[str(name)]}")

    @staticmethod
    def _preset_name(config: TrainConfig | None):
        """The preset ``config`` is, as the preset selector holds it (Select.NULL: none, "custom")."""
        name = preset_of(config) if config is not None else None
        return name if name is not None else Select.NULL

    def _put(self, widget: Widget, value: Any) -> None:
        """``value`` into a row's control without its Changed. A Select takes a value only once
        mounted (it selects its initial one then), so one not yet mounted takes it right after."""
        if widget.is_mounted:
            with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
                widget.value = value
        else:
            widget.call_later(self._put, widget, value)

    def _show_preset(self, config: TrainConfig | None) -> None:
        if not self.has_rows:
            return
        name = self._preset_name(config)
        self._put(self._row_widgets["preset"], name)
        self._show(
            "help-preset",
            "custom: the fields match no preset; pick one to start from it"
            if name is Select.NULL
            else PRESET_HELP[name],
        )

    def _show(self, static_id: str, text: str) -> Static:
        """``text`` in the Static ``static_id``, updated only when it differs: every update lays out
        the whole screen again, and a check of the form would otherwise update all its rows."""
        static = self._row_widgets[static_id]
        if self._shown.get(static_id) != text:
            static.update(text)
            self._shown[static_id] = text
        return static

    # -- validation ---------------------------------------------------------------------------
    @on(Input.Changed, ".field-input")
    @on(Select.Changed, ".field-input")
    @on(Checkbox.Changed, ".field-input")
    def _field_changed(self, event: Message) -> None:
        event.stop()
        self.revalidate()

    def revalidate(self) -> None:
        config, errors = check(self.specs, self.raw_values(), self.split_days)
        self._config, self.errors = config, errors
        self._show_errors()
        self.post_message(self.Changed(config.to_dict() if config else None, dict(errors)))

    def _show_errors(self) -> None:
        """Each reason on its field's row, and the summary under the rows (once there are rows)."""
        if not self.has_rows:
            return
        errors = self.errors
        names = {s.name for s in self.specs}
        for spec in self.specs:
            reason = errors.get(spec.name)
            help_ = self._show(f"help-{spec.name}", f"✗ {reason}" if reason else spec.help)
            help_.set_class(reason is not None, "-error")
            self._row_widgets[f"field-{spec.name}"].set_class(reason is not None, "-invalid")
        stray = [f"{k}: {v}" for k, v in errors.items() if k not in names]
        summary = (
            (
                f"{len(errors)} invalid setting{'s' if len(errors) > 1 else ''}: a run cannot start "
                "until {} fixed.".format("it is" if len(errors) == 1 else "they are")
            )
            if errors
            else ""
        )
        form_error = self._show("form-error", "\n".join([summary, *stray]).strip())
        form_error.set_class(bool(errors), "-error")
        self._show_preset(self._config)
