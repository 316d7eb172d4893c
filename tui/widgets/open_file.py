"""A small dialog asking for the path of a data file (CSV or .tgz)."""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input

from .text import Label, Static


class PathSuggester(Suggester):
    """Completes the last part of a path from the file system (case-sensitive, first match)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        path = Path(os.path.expanduser(value))
        folder, stem = (path, "") if value.endswith(os.sep) else (path.parent, path.name)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and not name.startswith("."):
                suffix = name[len(stem) :]
                return value + suffix + (os.sep if (folder / name).is_dir() else "")
        return None


class OpenFileScreen(ModalScreen[str | None]):
    """Returns the path typed (Enter), or None (Esc)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: str = "") -> None:
        super().__init__()
        self._start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="open-dialog"):
            yield Label("Open a CTA ridership file (CSV, or the .tgz that holds it)")
            yield Input(
                self._start,
                placeholder="path/to/CTA_-_Ridership_-_Daily_Boarding_Totals.csv",
                suggester=PathSuggester(),
                id="open-path",
            )
            yield Static(
                "Enter loads it (→ accepts a completion), Esc cancels. If it cannot be loaded, the current data stays.",
                id="open-hint",
            )

    @on(Input.Submitted, "#open-path")
    def _submit(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
