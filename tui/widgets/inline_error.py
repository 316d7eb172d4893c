"""The one-line "✗ reason" under a field: shown with a message, hidden without one."""

from __future__ import annotations

from .text import Static


def show_inline_error(widget: Static, message: object | None) -> None:
    widget.update(f"✗ {message}" if message else "")
    widget.display = bool(message)
