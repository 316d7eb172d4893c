"""The forecast journal (engine/journal.py) as a dialog: every forecast made, how it turned out once the
data holds its day, and per model the MAE and coverage beside the naive forecast. Opened with j;
it reads the store in a worker, so a large journal never blocks the screen. Esc closes it."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable

from engine.domain import format_riders

from .text import Label, Static

COLUMNS = ("made", "model", "for", "h", "t", "rail", "actual", "error", "in", "bus", "actual", "error", "in")


class JournalScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Close"), Binding("j", "app.pop_screen", "Close", show=False)]
    DEFAULT_CSS = """
    JournalScreen { align: center middle; }
    #journal-dialog { width: 96%; height: 90%; padding: 0 1; border: thick $primary; background: $surface; }
    #journal-summary { height: auto; max-height: 6; }
    #journal-table { height: 1fr; }
    """

    def __init__(self, store, data) -> None:
        super().__init__()
        self._store, self._data = store, data
        self.journal = None  # engine.journal.Journal, once read

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-dialog"):
            # 13 columns are wider than 80: the table scrolls sideways (left/right, home/end).
            yield Label("Forecast journal · ←→ scroll the columns · Esc closes", classes="dialog-title")
            yield Static("Reading the journal…", id="journal-summary")
            yield DataTable(id="journal-table", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        if self._store is None or self._data is None:
            self.query_one("#journal-summary", Static).update(
                "No journal: the run store is not open." if self._store is None else "The data is still loading."
            )
            return
        self._read()

    @work(thread=True, group="journal", exit_on_error=False)
    def _read(self) -> None:
        from engine.errors import RidershipError
        from engine.journal import journal

        try:
            result = journal(self._store, self._data.frame)
        except RidershipError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show, result)

    def _show_error(self, text: str) -> None:
        self.query_one("#journal-summary", Static).update(f"Could not read the journal: {text}")

    def _show(self, result) -> None:
        self.journal = result
        data = self._data
        if not result.entries:
            summary = (
                "No forecasts yet: each one made in the Forecast pane (or with `ridership forecast`) is kept here."
            )
        else:
            head = (
                f"{len(result.entries)} forecast days; actual riders to {data.last_date:%Y-%m-%d}. "
                "Per model, on the days known:"
            )
            summary = "\n".join([head, *("  " + m.line() for m in result.models)])
        self.query_one("#journal-summary", Static).update(summary)
        table = self.query_one(DataTable)
        for e in reversed(result.entries):  # newest first
            cells = []
            for s in ("rail", "bus"):
                cells += [
                    format_riders(e.forecast[s]),
                    format_riders(e.actual[s]) if e.actual else "",
                    f"{e.error[s]:+,.0f}" if e.error else "pending",
                    ("yes" if e.held[s] else "no") if e.held else "",
                ]
            table.add_row(e.made_at[:10], e.model_key, e.target_date, str(e.horizon), e.day_type, *cells)
