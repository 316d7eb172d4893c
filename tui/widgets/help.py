"""The help screen (? or F1): every key of the pane shown and of the app, as the bindings say them.

Built from the bindings active when it was asked for (``App.active_bindings``: the focused widget,
its pane and the app), so it never lists a key that does not work there, nor misses one.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from .confirm import DIALOG_CSS
from .text import Label, Static

HELP_CSS = (
    DIALOG_CSS
    + """
.help-dialog { max-height: 90%; }
.help-dialog VerticalScroll { height: auto; max-height: 100%; }
"""
)


def key_lines(bindings: list[tuple[str, str]]) -> str:
    """``(key, what it does)`` pairs as aligned lines."""
    width = max((len(k) for k, _ in bindings), default=0)
    return "\n".join(f"{k.ljust(width)}  {what}" for k, what in bindings)


class HelpScreen(ModalScreen[None]):
    """Esc, q, ? or F1 closes it; the arrows and page keys scroll it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = HELP_CSS
    SCOPED_CSS = False

    def __init__(self, pane: str, pane_keys: list[tuple[str, str]], app_keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.pane, self.pane_keys, self.app_keys = pane, pane_keys, app_keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Label(f"Keys · {self.pane} pane · Esc closes", classes="dialog-title")
            with VerticalScroll():
                yield Static(
                    f"{self.pane} pane\n" + (key_lines(self.pane_keys) or "(no keys of its own)"),
                    classes="dialog-body",
                    markup=False,
                    id="help-pane",
                )
                yield Static(
                    "\nEverywhere\n" + key_lines(self.app_keys), classes="dialog-body", markup=False, id="help-app"
                )
