"""Runs pane: the runs recorded in the run store (engine/runs.py), compared, forked, resumed,
exported and deleted.

The table lists every run with its scores and only the settings that differ between the picked
runs (between all runs while fewer than two are picked). Picked runs (space) have a colour:
their curves are drawn in this pane's charts and, through ``OverlayChanged``, behind the live run
in the Training pane. Every store access runs in a thread worker of the app (tui/jobs.py): the
database may be busy with another process's write for a while, and the UI must not wait for it.
This pane asks for them with messages (``ListRequested``, ``CurvesRequested``, ``DeleteRequested``,
``ExportRequested``); the app's handlers of the workers' typed endings (tui/messages.py) hand the
results back through plain methods (``show_listing``, ``show_runs_read``, ``deleted``, ``exported``,
``show_job_error``).

Fork and resume are the app's business too (they start training): this pane only asks for them
with ``ForkRequested`` and ``ResumeRequested``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable

from ..format import epoch_ticks, explain, loss_title
from ..views import runs as view
from ..views.runs import (  # noqa: F401 - the pane's names, importable from here as before
    COLUMNS,
    HIDDEN_SETTINGS,
    NARROW,
    RATIO_COLUMNS,
    SCORE_COLUMNS,
    SHORT_HEADERS,
    SORT_NAMES,
    TAIL_COLUMNS,
    Curve,
    curve,
    local_time,
    origin,
    run_seconds,
    score_ratio,
    setting,
    sort_runs,
)
from . import lazy
from .charts import Chart, Series
from .confirm import ConfirmScreen, PromptScreen
from .text import Static

if TYPE_CHECKING:
    from engine.store import RunRecord, RunStore

# plotext colours for picked runs, in the order they are handed out. Not orange or cyan (the
# live run's train and valid lines) nor gray (the naive baseline), so an overlay never looks like
# the run being trained. Rich knows the same names, so the table's marks match the lines.
PALETTE = ("magenta", "green", "blue", "yellow", "red", "bright_magenta", "bright_green", "bright_blue")
RESUME_DEFAULT = 10


def curve_series(curves: list[Curve] | tuple[Curve, ...]) -> tuple[list[Series], list[Series], tuple]:
    """Loss and MAE series for curves (the naive baseline once, when every run shares it) and
    whole-number epoch ticks covering them all."""
    loss = [Series(c.epoch, c.train_loss, f"run {c.run_id}", c.color) for c in curves]
    mae = [Series(c.epoch, [v / 1e3 for v in c.valid_mae], f"run {c.run_id}", c.color) for c in curves]
    naive = {c.naive_valid_mae for c in curves if c.naive_valid_mae is not None}
    last = max((c.epoch[-1] for c in curves if c.epoch), default=0)
    if len(naive) == 1 and last:
        value = naive.pop() / 1e3
        mae.insert(0, Series([1, last], [value, value], "naive (valid)", "gray"))
    ticks = epoch_ticks(list(range(1, last + 1))) if last else None
    return loss, mae, ticks


class RunsPane(VerticalScroll, can_focus=False):
    """Keys: space selects, m / n sort by MAE / date (again: reverse), f fork, r resume, e export,
    x delete. The store comes from the app (``set_store``) once it is open."""

    BINDINGS = [
        Binding("space", "toggle_select", "Pick"),
        # The hint line under the table names the sort keys; the footer has no room for them.
        Binding("m", "sort('valid')", "Sort by MAE", show=False),
        Binding("n", "sort('started')", "Sort by date", show=False),
        Binding("u", "use", "Use"),
        Binding("f", "fork", "Fork"),
        Binding("r", "resume", "Resume"),
        Binding("e", "export", "Export", show=False),  # the hint line lists it: 80 columns hold the rest
        Binding("x,delete", "delete", "Delete"),
        Binding("escape", "clear_selection", "Clear selection", show=False),
    ]

    class OverlayChanged(Message):
        """The picked runs' curves changed (empty: nothing to overlay)."""

        def __init__(self, curves: tuple[Curve, ...]) -> None:
            super().__init__()
            self.curves = curves

    class ForkRequested(Message):
        """Start a new run from this run's settings (a dict of TrainConfig fields)."""

        def __init__(self, run_id: int, config: dict[str, Any]) -> None:
            super().__init__()
            self.run_id = run_id
            self.config = config

    class UseRequested(Message):
        """Make run ``run_id``'s kept model the one in use (Forecast and Backtest follow it)."""

        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    class ResumeRequested(Message):
        """Train run ``run_id`` for ``more`` epochs from its checkpoint, as a new run."""

        def __init__(self, run_id: int, more: int) -> None:
            super().__init__()
            self.run_id = run_id
            self.more = more

    class ListRequested(Message):
        """Read the runs again (tui.jobs.list_runs), the settings compared between ``selected``."""

        def __init__(self, selected: list[int]) -> None:
            super().__init__()
            self.selected = selected

    class CurvesRequested(Message):
        """Read these runs' epochs (tui.jobs.read_runs) to draw them in ``colors`` (run id -> colour)."""

        def __init__(self, colors: dict[int, str]) -> None:
            super().__init__()
            self.colors = colors

    class DeleteRequested(Message):
        """Delete these runs and their checkpoints (the user confirmed)."""

        def __init__(self, run_ids: list[int]) -> None:
            super().__init__()
            self.run_ids = run_ids

    class ExportRequested(Message):
        """Export run ``run_id`` to ``target`` (tui.jobs.export_run)."""

        def __init__(self, run_id: int, target: str) -> None:
            super().__init__()
            self.run_id = run_id
            self.target = target

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.store: RunStore | None = None
        self.runs: list[RunRecord] = []  # in table order
        self.diff: dict[str, list[Any]] = {}
        self.picked: dict[int, str] = {}  # picked run id -> its colour, in the order picked
        self.sort_by, self.sort_reverse = "started", True  # newest first
        self.curves: tuple[Curve, ...] = ()  # what the charts show
        self._loaded_at = -math.inf  # time.monotonic() of the last reload
        self.note = ""  # said after the status line (e.g. the store is read-only)
        self._newest: int | None = None  # the newest run at the last listing
        self.active: int | None = None  # the run whose model the app uses (marked in the run column)
        self._cursor_id: int | None = None  # the run the last filling put the cursor on (cursor_run until built)

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        yield Static("Opening the run store…", id="runs-status")
        table = DataTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        yield table
        yield Static("", id="runs-detail")
        # One line at 80 columns; every key is in the help screen (?) and the footer.
        yield Static("space: pick runs to compare (in Training too) · m n: sort MAE/date · ? keys", id="runs-hint")
        with Horizontal(id="runs-charts"):
            yield Chart("Training loss", "epoch", id="runs-loss-chart")
            yield Chart("Validation MAE, thousand riders", "epoch", id="runs-mae-chart")

    @lazy.drawn
    def on_mount(self) -> None:
        # On 24 lines the charts lie below the pane's end: Tab from the table reaches them and
        # scrolls them into view (the table keeps the arrow and page keys).
        for chart in self.query(Chart):
            chart.can_focus = True

    @property
    def table(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    @property
    def selected(self) -> list[int]:
        return list(self.picked)

    @property
    def shown_settings(self) -> list[str]:
        """The differing settings that get a column."""
        return [name for name in self.diff if name not in HIDDEN_SETTINGS]

    @property
    def cursor_run(self) -> RunRecord | None:
        if not lazy.is_built(self):  # no table yet: where its filling will put the cursor
            return self.runs[self._cursor_index()] if self.runs else None
        row = self.table.cursor_row
        return self.runs[row] if self.runs and 0 <= row < len(self.runs) else None

    # -- the store ----------------------------------------------------------------------------
    def set_store(self, store: RunStore, note: str = "") -> None:
        """The store is open (``note``: why runs started here are not recorded in it, e.g. read-only)."""
        self.store = store
        self.note = note
        self.reload()

    def show_error(self, text: str) -> None:
        self._status(text, error=True)

    def reload(self, at_most_every: float = 0.0) -> None:
        """Read the runs again (a run ended, another process recorded one, the pane is shown);
        ``at_most_every`` seconds skips a reload that follows the last one sooner than that."""
        if self.store is None:
            return
        now = time.monotonic()
        if now - self._loaded_at < at_most_every:
            return
        self._loaded_at = now
        self.post_message(self.ListRequested(self.selected))

    # -- results from the app's workers ---------------------------------------------------------
    def show_job_error(self, msg) -> None:
        """A store access failed (``msg``: the tui.messages JobEnded of RunsListed, RunsRead,
        RunsDeleted or RunExported, with its error)."""
        from ..messages import RunExported, RunsDeleted, RunsListed, RunsRead

        what = {
            RunsListed: "read the runs",
            RunsRead: "read the runs' epochs",
            RunsDeleted: "delete",
            RunExported: "export",
        }.get(type(msg), "use the run store")
        message = explain(msg.error)
        self.notify(message, title=f"Could not {what}", severity="error", timeout=10)
        if isinstance(msg, RunsListed):
            self._status(f"Could not read the runs: {message}", error=True)

    def show_runs_read(self, colors: dict[int, str], runs: list[RunRecord]) -> None:
        """The runs asked for with CurvesRequested, read: draw them."""
        self._show_curves(tuple(curve(run, colors[run.run_id]) for run in runs))

    def deleted(self, deleted: list[int], errors: list[str]) -> None:
        if deleted:
            many = len(deleted) > 1
            self.notify(
                f"Deleted run{'s' if many else ''} {', '.join(map(str, deleted))} "
                f"and {'their' if many else 'its'} checkpoint{'s' if many else ''}.",
                title="Runs deleted" if many else "Run deleted",
            )
        for error in errors:
            self.notify(error, title="Could not delete", severity="error", timeout=10)
        for run_id in deleted:
            self.picked.pop(run_id, None)
        self.reload()

    def exported(self, paths: list[Path]) -> None:
        self.notify("Wrote " + " and ".join(str(p) for p in paths), title="Exported", timeout=10)

    # -- showing ------------------------------------------------------------------------------
    def show_listing(self, listing) -> None:
        """tui.jobs.RunListing: the runs and the settings that differ."""
        keep = self.cursor_run.run_id if self.cursor_run else None
        ids = {r.run_id for r in listing.runs}
        self.picked = {i: c for i, c in self.picked.items() if i in ids}
        self.diff = listing.diff
        self.runs = sort_runs(listing.runs, self.sort_by, self.sort_reverse)
        self._fill_table(keep)
        self._show_status()
        self._show_detail()
        self._refresh_curves()

    @property
    def narrow(self) -> bool:
        return 0 < self.size.width < NARROW

    def on_resize(self) -> None:
        if self.runs and self.narrow != getattr(self, "_filled_narrow", None):
            self._fill_table(self.cursor_run.run_id if self.cursor_run else None)

    def _fill_table(self, keep: int | None) -> None:
        # The run under the cursor stays under it, unless it was the newest and a newer one came:
        # then the cursor goes to the newest (the top row of a newest-first list), as the first time.
        newest = max(self.runs, key=lambda r: (r.started_at or "", r.run_id)).run_id if self.runs else None
        if keep is None or (keep == self._newest and newest != keep):
            keep = newest
        self._newest = newest
        self._cursor_id = keep
        self._draw_table()

    def _cursor_index(self) -> int:
        """The row the last filling put the cursor on (0 when its run is gone)."""
        return next((i for i, r in enumerate(self.runs) if r.run_id == self._cursor_id), 0)

    @lazy.drawn
    def _draw_table(self) -> None:
        table = self.table
        table.clear(columns=True)
        self._filled_narrow = narrow = self.narrow
        labels = []
        for key, (header, width, _sorter, _) in COLUMNS.items():
            label = SHORT_HEADERS.get(key, header) if narrow else header
            if key == self.sort_by:
                label += " ▼" if self.sort_reverse else " ▲"
            labels.append((key, label, width))
        labels += [(f"cfg:{name}", name, None) for name in self.shown_settings]
        labels += [(key, header, None) for key, header in TAIL_COLUMNS.items()]
        rows = [self._cells(run, narrow) for run in self.runs]
        for i, (key, label, width) in enumerate(labels):
            # Widths measured here (as in the Sweeps pane): refilled on a resize, the table's own
            # measure lagged, cutting the start time to "2026-12" and the status to "finish".
            measured = max([len(label), *(cells[i].cell_len for cells in rows)])
            table.add_column(label, key=key, width=width or measured)
        for run, cells in zip(self.runs, rows):
            table.add_row(*cells, key=str(run.run_id))
        row = self._cursor_index()
        if self.runs:
            table.move_cursor(row=row, animate=False)

    def _cells(self, run: RunRecord, narrow: bool = False) -> list:
        status = Text(run.status, style="bold" if run.status == "running" else "")
        # Text cells: DataTable would parse a str as markup (a setting's value is the user's text).
        plain_cells = [Text(cell) for cell in view.run_cells(run, self.shown_settings, narrow)]
        in_use = run.run_id == self.active
        run_cell = Text(f"▶{run.run_id}" if in_use else str(run.run_id), style="bold" if in_use else "")
        return [self._mark(run.run_id), run_cell, plain_cells[0], status, *plain_cells[1:]]

    def set_active(self, run_id: int | None) -> None:
        """Mark run ``run_id`` as the one whose model is in use (▶ before its id)."""
        if run_id == self.active:
            return
        self.active = run_id
        if self.runs:
            self._fill_table(self.cursor_run.run_id if self.cursor_run else None)
            self._show_detail()

    def _mark(self, run_id: int) -> Text:
        color = self.picked.get(run_id)
        return Text("●", style=f"bold {color}") if color else Text(" ")

    def _show_status(self) -> None:
        basis = [r for r in self.runs if r.run_id in self.picked] if len(self.picked) >= 2 else self.runs
        self._status(
            view.status_text(
                self.store.path, self.runs, self.sort_by, self.sort_reverse, len(self.picked), self.diff, basis
            )
        )

    @lazy.drawn
    def _status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#runs-status", Static)
        widget.update(f"{text} · {self.note}" if self.note and not error else text)
        widget.set_class(error, "-error")

    @lazy.drawn
    def _show_detail(self) -> None:
        run = self.cursor_run
        widget = self.query_one("#runs-detail", Static)
        if run is None:
            widget.update("")
            return
        widget.update(view.detail_text(run, run.run_id == self.active))

    def _refresh_curves(self) -> None:
        """Load the curves of the picked runs, or of the highlighted run when none is picked."""
        if self.store is None:
            return
        wanted = dict(self.picked)
        if not wanted and self.cursor_run is not None:
            wanted = {self.cursor_run.run_id: PALETTE[0]}
        self.post_message(self.CurvesRequested(wanted))

    def _show_curves(self, curves: tuple[Curve, ...]) -> None:
        self.curves = curves
        selected = bool(self.picked)
        whose = "picked runs" if selected else f"run {curves[0].run_id}" if curves else "no run"
        losses = [r.config_dict.get("loss", "huber") for r in self.runs if r.run_id in {c.run_id for c in curves}]
        self._draw_curves(f"{loss_title(losses or ['huber'])}, {whose}", f"Valid MAE, k riders, {whose}")
        self.post_message(self.OverlayChanged(curves if selected else ()))

    @lazy.drawn
    def _draw_curves(self, loss_text: str, mae_text: str) -> None:
        """The charts: ``self.curves`` under these titles."""
        loss, mae, ticks = curve_series(self.curves)
        loss_chart, mae_chart = self.query_one("#runs-loss-chart", Chart), self.query_one("#runs-mae-chart", Chart)
        loss_chart.set_title(loss_text)
        mae_chart.set_title(mae_text)
        with self.app.batch_update():
            loss_chart.draw(loss, xticks=ticks)
            mae_chart.draw(mae, xticks=ticks)

    # -- events and keys ----------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        if not self.picked:
            self._refresh_curves()

    @on(DataTable.HeaderSelected, "#runs-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in COLUMNS and COLUMNS[key][2] is not None:
            self.action_sort(key)

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_toggle_select()  # Enter (or a click on the highlighted row) selects too

    def action_sort(self, key: str) -> None:
        if key == self.sort_by:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_by, self.sort_reverse = key, COLUMNS[key][3]
        keep = self.cursor_run.run_id if self.cursor_run else None
        self.runs = sort_runs(self.runs, key, self.sort_reverse)
        self._fill_table(keep)
        self._show_status()

    def action_toggle_select(self) -> None:
        run = self.cursor_run
        if run is None:
            return
        if run.run_id in self.picked:
            del self.picked[run.run_id]
        else:
            used = set(self.picked.values())
            self.picked[run.run_id] = next(
                (c for c in PALETTE if c not in used), PALETTE[len(self.picked) % len(PALETTE)]
            )
        self.table.update_cell(str(run.run_id), "mark", self._mark(run.run_id))
        self.reload()  # the differing settings depend on the selection

    def action_clear_selection(self) -> None:
        if self.picked:
            self.picked.clear()
            self.reload()

    def _target(self, action: str) -> RunRecord | None:
        run = self.cursor_run
        if run is None:
            self.notify(f"No run to {action}: none is recorded yet.", severity="warning")
        return run

    def action_fork(self) -> None:
        run = self._target("fork")
        if run is None:
            return
        try:
            config = run.config.to_dict()
        except Exception as exc:  # noqa: BLE001 - RunStoreError: settings written by another version
            self.notify(str(exc), title="Cannot fork", severity="error", timeout=10)
            return
        self.post_message(self.ForkRequested(run.run_id, config))

    def action_use(self) -> None:
        run = self._target("use")
        if run is None:
            return
        if run.checkpoint is None:
            self.notify(
                f"Run {run.run_id} kept no model ({run.status}: {run.reason or 'no epoch finished'}).",
                title="Nothing to use",
                severity="warning",
            )
            return
        self.post_message(self.UseRequested(run.run_id))

    def action_resume(self) -> None:
        run = self._target("resume")
        if run is None:
            return
        if run.status == "running":
            self.notify(f"Run {run.run_id} is still running; resume it once it has ended.", severity="warning")
            return
        if run.checkpoint is None:
            self.notify(
                f"Run {run.run_id} has no checkpoint ({run.status}: {run.reason or 'no reason recorded'}): "
                "only a run that trained at least one epoch can be resumed.",
                title="Cannot resume",
                severity="error",
                timeout=10,
            )
            return

        def more(answer: str | None) -> None:
            if answer is not None:
                self.post_message(self.ResumeRequested(run.run_id, int(answer)))

        self.app.push_screen(
            PromptScreen(
                f"Resume run {run.run_id} (after its epoch {run.epochs_done}): how many more epochs?",
                str(RESUME_DEFAULT),
                "Enter starts a new run that continues from the checkpoint, with the same settings; "
                "its curves show in the Training pane. Esc cancels.",
                check=_positive_int,
                input_id="resume-more",
            ),
            more,
        )

    def action_export(self) -> None:
        run = self._target("export")
        if run is None:
            return
        default = str(self.store.home / f"run-{run.run_id}")

        def write(answer: str | None) -> None:
            if answer:
                self.post_message(self.ExportRequested(run.run_id, answer))

        self.app.push_screen(
            PromptScreen(
                f"Export run {run.run_id}: where to?",
                default,
                "Writes NAME.csv (per-epoch history) and NAME.json (the whole record); a name ending in "
                ".csv or .json writes that one. A relative name goes next to the runs database. Esc cancels.",
                check=lambda s: None if s else "type a file name, or Esc to cancel",
                input_id="export-path",
            ),
            write,
        )

    def delete_targets(self) -> list[int]:
        """What x deletes: the picked runs, or the run under the cursor when none is picked."""
        return self.selected or ([self.cursor_run.run_id] if self.cursor_run else [])

    def action_delete(self) -> None:
        ids = self.delete_targets()
        if not ids:
            self.notify("No run to delete.", severity="warning")
            return
        if self.store is not None and getattr(self.store, "read_only", False):
            self.notify(
                f"{self.store.path} is read-only here: no run can be deleted.",
                title="Cannot delete",
                severity="error",
                timeout=10,
            )
            return
        runs = {r.run_id: r for r in self.runs}
        lines = [
            f"run {i}: {runs[i].status}, {runs[i].epochs_done} epochs, started {view.local_time(runs[i].started_at)}"
            for i in ids
            if i in runs
        ]
        if len(ids) > 1:
            title = f"Delete the {len(ids)} picked runs ({', '.join(map(str, ids))})?"
            whose = "Their records and checkpoints are removed for good; runs forked or resumed from them are kept."
        else:
            picked = " (the picked run)" if self.selected else " (under the cursor)"
            title = f"Delete run {ids[0]}{picked}?"
            whose = "Its record and checkpoint are removed for good; runs forked or resumed from it are kept."
        if self.active in ids:  # say it in the question: Forecast and Backtest lose their model
            title = (
                f"Delete run {ids[0]}, the model in use?"
                if len(ids) == 1
                else title[:-1] + f", among them run {self.active}, the model in use?"
            )
            whose += (
                f"\nRun {self.active}'s model is the model in use: after this there is no model in use "
                "until you pick a run (u) or train one."
            )
        body = "\n".join(lines) + "\n\n" + whose

        def answer(yes: bool | None) -> None:
            if yes:
                self.post_message(self.DeleteRequested(ids))

        self.app.push_screen(ConfirmScreen(title, body), answer)


def _positive_int(text: str) -> str | None:
    try:
        value = int(text)
    except ValueError:
        return f"a whole number of epochs, got {text!r}"
    return None if value > 0 else f"at least 1 epoch, got {value}"
