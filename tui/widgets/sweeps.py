"""Sweeps pane: search training settings from the Hyperparameters form, ranges typed here, and
watch the trials come in.

A form row (name, trials, workers, objective) and the ranges (``lr=log:0.005:0.05
hidden_size=16,32``, the specs of ``ridership sweep --param``); g or Enter in a field starts the
sweep, with the form's settings as the fixed ones. The leaderboard lists every trial, best
objective first: running trials with their latest epoch's validation MAE (from the sweep's events),
ended ones as the run store has them (re-read after each trial ends). A status line says how far it
is and about how long is left; two charts show the objective by trial (with the best so far) and
one searched setting (p cycles) against the objective. c draws the highlighted trial's validation
curve in place of the second chart; u makes its model the one in use.

As in the Runs pane, this pane starts nothing itself: it posts ``StartRequested``,
``BoardRequested``, ``CurvesRequested`` and ``UseRequested``; the app runs the sweep and the
store reads in thread workers and hands the results back (``starting``, ``sweep_event``,
``show_board``, ``ended``, ``show_error``, ``show_curve``). s (the app's stop key) stops the sweep.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from engine.text import safe_text

from ..format import epoch_ticks
from ..views import sweeps as view
from ..views.sweeps import NARROW, Live, Progress, Row, clock, default_name, finite, trial_row  # noqa: F401
from . import lazy
from .charts import Chart, Series
from .text import Label, Static

if TYPE_CHECKING:
    from engine.store import RunRecord
    from engine.sweep.records import SweepSummary

DEFAULT_RANGES = "lr=log:0.005:0.05 hidden_size=16,32 window_length=int:28:84:7"
DEFAULT_TRIALS = 8
BACKEND_HELP = (
    "Where the trials run: local (worker processes on this machine), ray (Ray started on this "
    "machine), or ray HOST:PORT (join a running Ray cluster, as `ray start --head` prints)"
)


def parse_backend(text: str) -> tuple[str, str | None]:
    """The "on" field: ``local``, ``ray`` or ``ray HOST:PORT`` -> (backend, address)."""
    words = text.split()
    if words == ["local"] or not words:
        return "local", None
    if words[0] == "ray" and len(words) <= 2:
        address = words[1] if len(words) == 2 else None
        if address is not None:
            from engine.sweep.ray_backend import parse_address

            parse_address(address)  # a malformed address is refused here, not after Ray starts
        return "ray", address
    raise ValueError(f"on: expected local, ray or ray HOST:PORT, got {text!r}")


IDLE_HINT = (
    "g (or Enter in a field) sweeps the Hyperparameters form's settings over these ranges · "
    "s stops · c a trial's curve · u use its model · p next setting"
)


class SweepsPane(Vertical):
    """Keys: g start, c curve, u use, p next setting; s (the app's) stops the sweep."""

    DEFAULT_CSS = """
    SweepsPane { height: 1fr; }
    SweepsPane .sw-row { height: 1; }
    SweepsPane #sw-name { width: 20; }
    SweepsPane #sw-trials { width: 5; }
    SweepsPane #sw-workers { width: 4; }
    SweepsPane #sw-objective { width: 11; }
    SweepsPane #sw-ranges { width: 1fr; }
    SweepsPane #sw-backend { width: 22; }
    /* At 80 columns the ranges keep their room; a cluster address scrolls inside the field. */
    Screen.-narrow SweepsPane #sw-backend { width: 6; }
    SweepsPane #sw-status { height: auto; max-height: 2; }
    /* A refused sweep's reason is read whole (an unknown setting lists the known ones). */
    SweepsPane #sw-status.-error { max-height: 6; }
    SweepsPane #sweeps-table {
        height: 1fr; min-height: 4; max-height: 14; scrollbar-size-horizontal: 1; scrollbar-size-vertical: 1;
    }
    SweepsPane #sw-charts { height: 1fr; min-height: 11; }
    /* On 24 lines the board scrolls past its first trials so the charts keep rows enough to tell
       trials apart (at 3 rows, 21.2k and 25.6k shared one). */
    Screen.-short SweepsPane #sweeps-table { max-height: 6; }
    """

    BINDINGS = [
        Binding("g", "start", "Sweep"),
        Binding("c", "curves", "Curve"),
        Binding("u", "use", "Use"),
        Binding("p", "next_param", "Param"),
    ]

    class StartRequested(Message):
        """Start sweep ``name``: ``specs`` (``NAME=SPEC`` strings) over the form's settings."""

        def __init__(
            self,
            name: str,
            specs: list[str],
            trials: int,
            workers: int,
            objective: str = "valid",
            backend: str = "local",
            address: str | None = None,
        ) -> None:
            super().__init__()
            self.name = name
            self.specs = specs
            self.trials = trials
            self.workers = workers
            self.objective = objective
            self.backend = backend
            self.address = address  # a Ray cluster to join (None: start Ray on this machine)

    class BoardRequested(Message):
        """Read sweep ``name``'s trials (None: the sweep started last) from the run store
        (tui.jobs.sweep_board)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    class CurvesRequested(Message):
        """Read run ``run_id`` with its epochs, to draw its validation curve (trial ``trial``)."""

        def __init__(self, trial: int, run_id: int) -> None:
            super().__init__()
            self.trial = trial
            self.run_id = run_id

    class UseRequested(Message):
        """Make recorded run ``run_id`` (a trial's) the model in use."""

        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.progress: Progress | None = None
        self.board: SweepSummary | None = None
        self.rows: list[Row] = []  # in table order
        self.param = 0  # which searched setting the second chart shows
        self.curve: tuple[int, Any] | None = None  # (trial, RunRecord) drawn instead of the setting

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        with Horizontal(classes="sw-row"):
            yield Label("Sweep ")
            yield Input(default_name(), id="sw-name", compact=True)
            yield Label(" trials ")
            yield Input(str(DEFAULT_TRIALS), id="sw-trials", compact=True)
            yield Label(" workers ")
            yield Input(str(os.cpu_count() or 1), id="sw-workers", compact=True)
            yield Label(" objective ")
            yield Input("valid", id="sw-objective", compact=True)
        with Horizontal(classes="sw-row"):
            yield Label("Ranges ")
            yield Input(DEFAULT_RANGES, id="sw-ranges", compact=True)
            yield Label(" on ")
            yield Input("local", id="sw-backend", compact=True, tooltip=BACKEND_HELP)
        yield Static(IDLE_HINT, id="sw-status")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="sweeps-table")
        with Horizontal(id="sw-charts"):
            yield Chart("Objective by trial", "trial", id="sw-objective-chart", legend_room=True)
            yield Chart("A setting against the objective", "setting", id="sw-param-chart")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(1.0, self._show_status, pause=True)
        self._fill_table()  # the headers, before any sweep

    @property
    def table(self) -> DataTable:
        return self.query_one("#sweeps-table", DataTable)

    @property
    def running(self) -> bool:
        return self.progress is not None and self.progress.status in ("starting", "running", "stopping")

    @property
    def cursor_row(self) -> Row | None:
        if not lazy.is_built(self):  # no table yet: its filling will put the cursor on the top row
            return self.rows[0] if self.rows else None
        row = self.table.cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    # -- the form -----------------------------------------------------------------------------------
    def _field(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def request(self) -> StartRequested | None:
        """The sweep the form asks for, or None (the reason in the status line)."""
        from engine.errors import RidershipError
        from engine.sweep.space import parse_space
        from engine.sweep.trial import parse_objective
        from engine.text import check_label

        name, specs = self._field("sw-name"), self._field("sw-ranges").split()
        try:
            if not name:
                raise ValueError("give the sweep a name")
            check_label(name, "the sweep name")
            if not specs:
                raise ValueError(f"type at least one range, e.g. {DEFAULT_RANGES}")
            trials, workers = self._count("sw-trials", "trials"), self._count("sw-workers", "workers")
            parse_space(specs)
            objective = parse_objective(self._field("sw-objective"))
            backend, address = parse_backend(self._field("sw-backend"))
        except (ValueError, RidershipError) as exc:
            # The engine's words name the CLI's option; here it is the Ranges field.
            self.show_error(
                f"Cannot start the sweep: {str(exc).replace('--param ', 'range ').replace('--address ', 'on: ray ')}"
            )
            return None
        return self.StartRequested(name, specs, trials, workers, objective, backend, address)

    def _count(self, wid: str, what: str) -> int:
        text = self._field(wid)
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{what} must be a whole number, got {text!r}") from None
        if value < 1:
            raise ValueError(f"{what} must be at least 1, got {value}")
        return value

    def action_start(self) -> None:
        message = self.request()
        if message is not None:
            self.post_message(message)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    # -- from the app -------------------------------------------------------------------------------
    def starting(self, name: str, objective: str, trials: int, workers: int) -> None:
        """The app started sweep ``name``: follow it from an empty board."""
        self.progress = Progress(name, objective, trials, workers)
        self.board, self.curve, self.param = None, None, 0
        self._ticker.resume()
        self.table.focus()  # out of the fields: the pane's keys (s stops) work and show in the footer
        self._refresh()

    def sweep_event(self, event) -> None:
        """One event of the running sweep (engine.sweep.events, posted as tui.messages.SweepProgress)."""
        from engine.sweep.events import SweepStarted

        p = self.progress
        if p is None:
            return
        if p.apply(event):
            self.post_message(self.BoardRequested(p.name))
        if isinstance(event, SweepStarted) and event.remaining == 0:
            self.notify(
                f"Sweep {safe_text(p.name)}: its {p.done_before} trials are done already; raise trials to run more."
            )
        self._refresh()

    def ended(self, status: str, note: str = "") -> None:
        """The sweep's worker ended: ``status`` finished, stopped or failed (``note`` says why)."""
        p = self.progress
        if p is None:
            return
        p.status, p.ended_at = status, time.monotonic()
        p.why = note if status == "failed" else ""
        p.live.clear()
        self._ticker.pause()
        self._new_name()
        if note:
            self.notify(
                note,
                title=f"Sweep {safe_text(p.name)}",
                severity="error" if status == "failed" else "information",
                timeout=10,
            )
        self.post_message(self.BoardRequested(p.name))
        self._refresh(note if status == "failed" else "")

    @lazy.drawn
    def _new_name(self) -> None:
        self.query_one("#sw-name", Input).value = default_name()  # the next g starts a new sweep

    def shown(self) -> None:
        """The pane is shown: with no sweep followed yet, show the one recorded last (e.g. by
        `ridership sweep`)."""
        if self.progress is None:
            self.post_message(self.BoardRequested(None))

    def show_board(self, summary: SweepSummary | None) -> None:
        """The sweep as stored (tui.jobs.sweep_board; None: no sweep recorded)."""
        if summary is None:
            return
        if self.progress is None or summary.record.name == self.progress.name:
            self.board = summary
            if self.progress is None:
                r = summary.record
                ended = sum(1 for t in summary.trials if t.status in ("finished", "pruned", "failed"))
                self.progress = Progress(
                    r.name, r.objective, r.trials, 1, status=r.status, done_before=ended, recorded=True
                )
            self._refresh()

    @lazy.drawn
    def show_error(self, text: str) -> None:
        widget = self.query_one("#sw-status", Static)
        widget.update(text)
        widget.set_class(True, "-error")

    def show_curve(self, trial: int, run: RunRecord) -> None:
        """Trial ``trial``'s run with its epochs: its validation MAE by epoch in the second chart."""
        self.curve = (trial, run)
        self._draw_charts()

    # -- showing ------------------------------------------------------------------------------------
    def _refresh(self, error: str = "") -> None:
        self.rows = self._rows()
        self._fill_table()
        if error:
            self.show_error(error)
        else:
            self._show_status()
        self._draw_charts()

    def _rows(self) -> list[Row]:
        return view.board_rows(self.board, self.progress.live if self.progress else {})

    @property
    def names(self) -> list[str]:
        """The searched settings, in the order the trials name them."""
        return view.searched_names(self.rows)

    def _columns(self) -> list[tuple[str, str]]:
        return view.columns(
            self.rows, self.progress.objective if self.progress else "valid", 0 < self.size.width < NARROW
        )

    @lazy.drawn
    def _fill_table(self) -> None:
        table = self.table
        keep = self.cursor_row.trial if self.cursor_row and table.cursor_row > 0 else None
        table.clear(columns=True)
        columns = self._columns()
        cells = [self._cells(row, [k for k, _ in columns]) for row in self.rows]
        for i, (key, label) in enumerate(columns):
            # Widths measured here: refilled during a terminal resize, the table's own measure of
            # the rows was seen to lag, leaving columns as wide as their headers (cells cut short).
            width = max([len(label), *(cell[i].cell_len for cell in cells)])
            table.add_column(label, key=key, width=width)
        for row, row_cells in zip(self.rows, cells):
            table.add_row(*row_cells, key=str(row.trial))
        if self.rows:  # the trial under the cursor stays; the top row (the best) otherwise
            index = next((i for i, r in enumerate(self.rows) if r.trial == keep), 0)
            table.move_cursor(row=index, animate=False)

    def _cells(self, row: Row, keys: list[str]) -> list[Text]:
        objective = self.progress.objective if self.progress else "valid"
        style = {"running": "bold", "pruned": "dim", "failed": "red", "stopped": "dim"}.get(row.status, "")
        cells = []
        for key, text in zip(keys, view.cell_texts(row, keys, objective)):
            if key == "status":  # Text cells: a DataTable would parse a str as markup
                cells.append(Text(text, style=style))
            elif key.startswith("p:"):
                cells.append(Text(text))
            else:
                cells.append(Text(text, justify="right" if key != "epochs" else "left"))
        return cells

    def on_resize(self) -> None:
        narrow = 0 < self.size.width < NARROW
        if narrow != getattr(self, "_filled_narrow", None):  # short headers below NARROW columns
            self._filled_narrow = narrow
            self._fill_table()

    @lazy.drawn
    def _show_status(self) -> None:
        widget = self.query_one("#sw-status", Static)
        widget.set_class(False, "-error")
        widget.update(view.status_text(self.progress, self.rows, IDLE_HINT))

    @lazy.drawn
    def _draw_charts(self) -> None:
        objective = self.progress.objective if self.progress else "valid"
        ratio = objective.endswith("ratio")
        unit = "" if ratio else ", k riders"
        scale = 1.0 if ratio else 1e3
        scored = sorted((r for r in self.rows if r.objective is not None), key=lambda r: r.trial)
        x = [r.trial for r in scored]
        y = [r.objective / scale for r in scored]
        best = [min(y[: i + 1]) for i in range(len(y))]
        left = self.query_one("#sw-objective-chart", Chart)
        right = self.query_one("#sw-param-chart", Chart)
        left.set_title(f"{objective}{unit} by trial")
        with self.app.batch_update():
            left.draw(
                [Series(x, best, "best so far", "green"), Series(x, y, "trial", "cyan", marker="dot", scatter=True)],
                xticks=epoch_ticks(list(range(x[0], x[-1] + 1))) if x else None,
            )
            if self.curve is not None:
                self._draw_curve(right)
            else:
                self._draw_param(right, scored, objective, unit, scale)

    def _draw_param(self, chart: Chart, scored: list[Row], objective: str, unit: str, scale: float) -> None:
        names = self.names
        if not names:
            chart.set_title("A searched setting against the objective")
            chart.set_xlabel("setting")
            chart.draw([])
            return
        name = names[self.param % len(names)]
        points = [(r.params[name], r.objective / scale) for r in scored if name in r.params]
        values = [v for v, _ in points]
        xticks = None
        if values and not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            labels = list(dict.fromkeys(str(v) for v in values))  # choices: one column each
            points = [(labels.index(str(v)), o) for v, o in points]
            xticks = (list(range(len(labels))), labels)
        chart.set_title(f"{objective}{unit} by {name} (p: next)")
        chart.set_xlabel(name)
        chart.draw(
            [Series([p[0] for p in points], [p[1] for p in points], "", "magenta", marker="dot", scatter=True)],
            xticks=xticks,
        )

    def _draw_curve(self, chart: Chart) -> None:
        trial, run = self.curve
        epochs = [e.epoch for e in run.epochs]
        mae = [e.valid_mae_riders / 1e3 for e in run.epochs]
        series = [Series(epochs, mae, f"run {run.run_id}", "cyan")]
        if run.valid_naive_mae and epochs:
            series.insert(0, Series([epochs[0], epochs[-1]], [run.valid_naive_mae / 1e3] * 2, "naive", "gray"))
        chart.set_title(f"Trial {trial} (run {run.run_id}) valid MAE, k")  # fits 80 columns' half
        chart.set_xlabel("epoch")
        chart.draw(series, xticks=epoch_ticks(epochs) if epochs else None)

    # -- keys ---------------------------------------------------------------------------------------
    def _target(self, what: str) -> Row | None:
        row = self.cursor_row
        if row is None:
            self.notify(f"No trial to {what} yet: start a sweep (g).", severity="warning")
        elif row.run_id is None:
            self.notify(f"Trial {row.trial} is not recorded yet: wait a moment.", severity="warning")
            return None
        return row

    def action_curves(self) -> None:
        row = self._target("draw")
        if row is not None:
            self.post_message(self.CurvesRequested(row.trial, row.run_id))

    def action_use(self) -> None:
        row = self._target("use")
        if row is None:
            return
        if row.status == "running":
            self.notify(f"Trial {row.trial} is still running; use it once it has ended.", severity="warning")
            return
        if not row.checkpoint:
            self.notify(
                f"Trial {row.trial} (run {row.run_id}, {row.status}) left no model to use"
                + (f": {row.reason}" if row.reason else "."),
                title="Cannot use it",
                severity="error",
                timeout=10,
            )
            return
        self.post_message(self.UseRequested(row.run_id))

    def action_next_param(self) -> None:
        if self.curve is not None:
            self.curve = None  # back to the settings
        else:
            self.param += 1
        self._draw_charts()

    @on(DataTable.RowSelected, "#sweeps-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_curves()  # Enter on a trial draws its curve
