"""Small modal dialogs: a yes/no confirmation and a one-line question.

Both return their answer through ``dismiss`` (``push_screen(screen, callback)``), so the caller
stays a plain callback and nothing blocks the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from .text import Label, Static

Check = Callable[[str], str | None]  # the answer -> why it is wrong, or None when it is fine

# Sizing only; colours are in app.tcss ("Dialogs"). Not scoped: the first rule is the screen's own.
DIALOG_CSS = """
.dialog-screen { align: center middle; }
.dialog { width: 80%; max-width: 90; height: auto; padding: 1 2; }
.dialog-body, .dialog-hint, .dialog-error { height: auto; }
.dialog-buttons { height: auto; margin-top: 1; align-horizontal: right; }
.dialog-buttons Button { margin-left: 2; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Asks before something that cannot be undone. y or the confirm button: True; n, Esc or
    Cancel: False. Cancel has the focus, so an Enter pressed out of habit changes nothing."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    DEFAULT_CSS = DIALOG_CSS
    SCOPED_CSS = False

    def __init__(self, title: str, body: str, confirm: str = "Delete") -> None:
        super().__init__(classes="dialog-screen")
        self._title, self._body, self._confirm = title, body, confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm} (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """One line of text: Enter returns it (when ``check`` finds nothing wrong), Esc returns None.
    A wrong answer is explained under the field and the dialog stays."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = DIALOG_CSS
    SCOPED_CSS = False

    def __init__(
        self, title: str, value: str = "", hint: str = "", check: Check | None = None, input_id: str = "prompt-input"
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title, self._value, self._hint, self._check = title, value, hint, check
        self._input_id = input_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Input(self._value, id=self._input_id)
            yield Static("", classes="dialog-error -error")
            yield Static(self._hint, classes="dialog-hint")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        problem = self._check(answer) if self._check else (None if answer else "type an answer, or Esc to cancel")
        if problem:
            self.query_one(".dialog-error", Static).update(f"✗ {problem}")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
