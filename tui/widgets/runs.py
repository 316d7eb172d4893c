"""Runs pane: the runs recorded in the run store (engine/runs.py), compared, forked, resumed,
exported and deleted.

The table lists every run with its scores and only the settings that differ between the picked
runs (between all runs while fewer than two are picked). Picked runs (space) have a colour:
their curves are drawn in this pane's charts and, through ``OverlayChanged``, behind the live run
in the Training pane. Every store access runs in a thread worker of the app (tui/jobs.py): the
database may be busy with another process's write for a while, and the UI must not wait for it.
This pane asks for them with messages (``ListRequested``, ``CurvesRequested``, ``DeleteRequested``,
``ExportRequested``) and the app hands the results back through plain methods (``show_listing``,
``show_runs_read``, ``deleted``, ``exported``, ``show_job_error``).

Fork and resume are the app's business too (they start training): this pane only asks for them
with ``ForkRequested`` and ``ResumeRequested``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable

from engine.domain import SCALE, format_riders
from engine.text import safe_text

from ..format import duration, epoch_ticks, explain, loss_title
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


def local_time(iso: str | None) -> str:
    """A stored UTC timestamp as the local 'YYYY-MM-DD HH:MM'. Module level, so a snapshot test
    can pin the time zone by replacing it."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def setting(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def origin(run: RunRecord) -> str:
    return f"{run.origin} of {run.parent_id}" if run.parent_id else run.origin


def run_seconds(run: RunRecord) -> float | None:
    """Training time summed over the run's epochs (needs them loaded)."""
    return sum(e.seconds for e in run.epochs) if run.epochs else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def score_ratio(run: RunRecord, split: str, against: str) -> float | None:
    """The kept weights' MAE on ``split`` over the naive ("naive_mae") or LightGBM ("gbm_mae") one."""
    score = (run.scores or {}).get(split) or {}
    mae, other = _finite(score.get("mae")), _finite(score.get(against))
    return mae / other if mae is not None and other else None


# column key -> (header, width or None, sort value or None, newest/largest first when first chosen?)
# The MAE columns are the scores of the weights each run kept (its best epoch's when it restores
# them, else its last): what its model forecasts with, not the best epoch it passed through.
COLUMNS: dict[str, tuple[str, int | None, Callable[[RunRecord], Any] | None, bool]] = {
    "mark": (" ", 1, None, False),
    "run": ("run", None, lambda r: r.run_id, True),
    "started": ("started", None, lambda r: (r.started_at, r.run_id), True),
    "status": ("status", None, lambda r: r.status, False),
    "epochs": ("epochs", None, lambda r: r.epochs_done, True),
    "valid": ("valid MAE", None, lambda r: _finite(r.valid_mae), False),
    "valid_naive": ("v/naive", None, lambda r: score_ratio(r, "valid", "naive_mae"), False),
    "valid_gbm": ("v/LGBM", None, lambda r: score_ratio(r, "valid", "gbm_mae"), False),
    "test": ("test MAE", None, lambda r: _finite(r.test_mae), False),
    "test_naive": ("t/naive", None, lambda r: score_ratio(r, "test", "naive_mae"), False),
    "test_gbm": ("t/LGBM", None, lambda r: score_ratio(r, "test", "gbm_mae"), False),
}
RATIO_COLUMNS = ("valid_naive", "valid_gbm", "test_naive", "test_gbm")
TAIL_COLUMNS = {"origin": "origin", "time": "time"}  # after the differing settings
NARROW = 100  # below this many columns the table uses short headers and dates without the year
SHORT_HEADERS = {"valid": "valid", "test": "test", "epochs": "ep", "valid_naive": "v/n", "valid_gbm": "v/g",
                 "test_naive": "t/n", "test_gbm": "t/g"}
HIDDEN_SETTINGS = {"epochs"}  # the epochs column shows it already (done/planned)
SORT_NAMES = {"run": "run", "started": "date", "status": "status", "epochs": "epochs",
              "valid": "validation MAE (kept weights)", "test": "test MAE", "valid_naive": "validation MAE / naive",
              "valid_gbm": "validation MAE / LightGBM", "test_naive": "test MAE / naive",
              "test_gbm": "test MAE / LightGBM"}
SCORE_COLUMNS = ("valid", "test", *RATIO_COLUMNS)


def sort_runs(runs: list[RunRecord], key: str, reverse: bool) -> list[RunRecord]:
    """Runs ordered by a column; runs without a value (no epoch finished) last either way."""
    value = COLUMNS[key][2]
    present = [r for r in runs if value(r) is not None]
    missing = [r for r in runs if value(r) is None]
    return sorted(present, key=value, reverse=reverse) + sorted(missing, key=lambda r: r.run_id, reverse=True)


@dataclass(frozen=True)
class Curve:
    """One run's per-epoch history as plain values, for the charts (MAE in riders)."""

    run_id: int
    color: str
    epoch: tuple[int, ...]
    train_loss: tuple[float, ...]
    valid_mae: tuple[float, ...]
    naive_valid_mae: float | None = None  # riders, from the run's scores


def curve(run: RunRecord, color: str) -> Curve:
    e = run.epochs
    return Curve(run.run_id, color, tuple(x.epoch for x in e), tuple(x.train_loss for x in e),
                 tuple(x.valid_mae * SCALE for x in e), run.valid_naive_mae)


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


class RunsPane(Vertical, can_focus=True):
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

    def compose(self) -> ComposeResult:
        yield Static("Opening the run store…", id="runs-status")
        table = DataTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        yield table
        yield Static("", id="runs-detail")
        yield Static("space picks runs to compare (in Training too) · m/n sort by MAE/date · u use its model · "
                     "f fork · r resume · e export · x delete", id="runs-hint")
        with Horizontal(id="runs-charts"):
            yield Chart("Training loss", "epoch", id="runs-loss-chart")
            yield Chart("Validation MAE, thousand riders", "epoch", id="runs-mae-chart")

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
        row = self.table.cursor_row
        return self.runs[row] if self.runs and 0 <= row < len(self.runs) else None

    def on_focus(self) -> None:
        self.table.focus()  # the pane takes focus from the app's pane keys; the table has the keys

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
    def show_job_error(self, group: str, error: BaseException | None) -> None:
        """A store access failed (``group``: the worker's, runs-list, runs-curves, ...)."""
        what = {"runs-list": "read the runs", "runs-curves": "read the runs' epochs",
                "runs-delete": "delete", "runs-export": "export"}.get(group, "use the run store")
        message = explain(error)
        self.notify(message, title=f"Could not {what}", severity="error", timeout=10)
        if group == "runs-list":
            self._status(f"Could not read the runs: {message}", error=True)

    def show_runs_read(self, colors: dict[int, str], runs: list[RunRecord]) -> None:
        """The runs asked for with CurvesRequested, read: draw them."""
        self._show_curves(tuple(curve(run, colors[run.run_id]) for run in runs))

    def deleted(self, deleted: list[int], errors: list[str]) -> None:
        if deleted:
            many = len(deleted) > 1
            self.notify(f"Deleted run{'s' if many else ''} {', '.join(map(str, deleted))} "
                        f"and {'their' if many else 'its'} checkpoint{'s' if many else ''}.",
                        title="Runs deleted" if many else "Run deleted")
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
        table = self.table
        table.clear(columns=True)
        self._filled_narrow = narrow = self.narrow
        for key, (header, width, sorter, _) in COLUMNS.items():
            label = SHORT_HEADERS.get(key, header) if narrow else header
            if key == self.sort_by:
                label += " ▼" if self.sort_reverse else " ▲"
            table.add_column(label, key=key, width=width)
        for name in self.shown_settings:
            table.add_column(name, key=f"cfg:{name}")
        for key, header in TAIL_COLUMNS.items():
            table.add_column(header, key=key)
        for run in self.runs:
            table.add_row(*self._cells(run, narrow), key=str(run.run_id))
        # The run under the cursor stays under it, unless it was the newest and a newer one came:
        # then the cursor goes to the newest (the top row of a newest-first list), as the first time.
        newest = max(self.runs, key=lambda r: (r.started_at or "", r.run_id)).run_id if self.runs else None
        if keep is None or (keep == self._newest and newest != keep):
            keep = newest
        self._newest = newest
        row = next((i for i, r in enumerate(self.runs) if r.run_id == keep), 0)
        if self.runs:
            table.move_cursor(row=row, animate=False)

    def _cells(self, run: RunRecord, narrow: bool = False) -> list:
        status = Text(run.status, style="bold" if run.status == "running" else "")
        seconds = run_seconds(run)
        started = local_time(run.started_at)
        if narrow and len(started) == 16:  # "2026-11-29 11:19" -> "11-29 11:19"
            started = started[5:]
        ratios = [score_ratio(run, key.split("_")[0], f"{key.split('_')[1]}_mae") for key in RATIO_COLUMNS]
        valid_naive, valid_gbm, test_naive, test_gbm = (f"{r:.2f}" if r is not None else "-" for r in ratios)
        cells = [
            started, f"{run.epochs_done}/{run.epochs_planned}",
            format_riders(run.valid_mae), valid_naive, valid_gbm, format_riders(run.test_mae), test_naive, test_gbm,
            *(setting(run.config_dict.get(name)) for name in self.shown_settings),
            origin(run), duration(seconds) if seconds is not None else "-",
        ]
        # Text cells: DataTable would parse a str as markup (a setting's value is the user's text).
        plain_cells = [Text(cell) for cell in cells]
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
        store, n = self.store, len(self.runs)
        if not n:
            self._status(f"No runs recorded yet in {store.path}. Runs started here (t) or with "
                         "`ridership train` appear here.")
            return
        if self.sort_by == "started":
            order = "newest first" if self.sort_reverse else "oldest first"
        else:
            way = ("highest" if self.sort_reverse else "lowest") if self.sort_by in SCORE_COLUMNS \
                else ("descending" if self.sort_reverse else "ascending")
            order = f"by {SORT_NAMES[self.sort_by]}, {way} first" if self.sort_by in SCORE_COLUMNS \
                else f"by {SORT_NAMES[self.sort_by]}, {way}"
        parts = [f"{n} run{'s' if n != 1 else ''} in {store.path}", order, f"{len(self.picked)} picked"]
        if n > 1:
            k, which = len(self.diff), "them" if len(self.picked) >= 2 else "all runs"
            parts.append(f"{k} setting{'s differ' if k != 1 else ' differs'} between {which}")
        self._status(" · ".join(parts))

    def _status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#runs-status", Static)
        widget.update(f"{text} · {self.note}" if self.note and not error else text)
        widget.set_class(error, "-error")

    def _show_detail(self) -> None:
        run = self.cursor_run
        widget = self.query_one("#runs-detail", Static)
        if run is None:
            widget.update("")
            return
        line1 = (f"Run {run.run_id}" + (" (its model is in use)" if run.run_id == self.active else "")
                 + f" · {run.status}" + (f": {run.reason}" if run.reason else ""))
        if run.parent_id:
            at = f" after its epoch {run.resumed_from_epoch}" if run.resumed_from_epoch else ""
            line1 += f" · {run.origin} of run {run.parent_id}{at}"
        scores = []
        for split in ("valid", "test"):
            s = (run.scores or {}).get(split)
            if s:
                scores.append(f"{split} {format_riders(s['mae'])} vs naive {format_riders(s['naive_mae'])} "
                              f"({s['ratio']:.2f}x)")
        weights = f"epoch {run.weights_epoch}'s weights" if run.weights_epoch else "no weights"
        if run.best_epoch and run.best_valid_mae is not None and run.weights_epoch != run.best_epoch:
            weights += f" (best epoch {run.best_epoch}: valid {format_riders(run.best_valid_mae)})"
        line2 = " · ".join([("MAE in riders: " + " · ".join(scores)) if scores else "no scores", weights])
        data = "synthetic data" if run.data_source == "synthetic" else safe_text(Path(run.data_path or "?").name)
        rows = f", {run.data_rows:,} days {run.data_first}..{run.data_last}" if run.data_rows else ""
        device = safe_text(f"{run.device} ({run.device_name})" if run.device_name else run.device)
        line3 = f"{data}{rows} · {device} · " + ("checkpoint kept" if run.checkpoint else "no checkpoint")
        widget.update(f"{line1}\n{line2}\n{line3}")

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
        loss, mae, ticks = curve_series(curves)
        selected = bool(self.picked)
        whose = "picked runs" if selected else f"run {curves[0].run_id}" if curves else "no run"
        loss_chart, mae_chart = self.query_one("#runs-loss-chart", Chart), self.query_one("#runs-mae-chart", Chart)
        losses = [r.config_dict.get("loss", "huber") for r in self.runs if r.run_id in {c.run_id for c in curves}]
        loss_chart.set_title(f"{loss_title(losses or ['huber'])}, {whose}")
        mae_chart.set_title(f"Valid MAE, k riders, {whose}")
        with self.app.batch_update():
            loss_chart.draw(loss, xticks=ticks)
            mae_chart.draw(mae, xticks=ticks)
        self.post_message(self.OverlayChanged(curves if selected else ()))

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
            self.picked[run.run_id] = next((c for c in PALETTE if c not in used), PALETTE[len(self.picked) % len(PALETTE)])
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
            self.notify(f"Run {run.run_id} kept no model ({run.status}: {run.reason or 'no epoch finished'}).",
                        title="Nothing to use", severity="warning")
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
            self.notify(f"Run {run.run_id} has no checkpoint ({run.status}: {run.reason or 'no reason recorded'}): "
                        "only a run that trained at least one epoch can be resumed.",
                        title="Cannot resume", severity="error", timeout=10)
            return

        def more(answer: str | None) -> None:
            if answer is not None:
                self.post_message(self.ResumeRequested(run.run_id, int(answer)))

        self.app.push_screen(PromptScreen(
            f"Resume run {run.run_id} (after its epoch {run.epochs_done}): how many more epochs?",
            str(RESUME_DEFAULT),
            "Enter starts a new run that continues from the checkpoint, with the same settings; "
            "its curves show in the Training pane. Esc cancels.",
            check=_positive_int, input_id="resume-more"), more)

    def action_export(self) -> None:
        run = self._target("export")
        if run is None:
            return
        default = str(self.store.home / f"run-{run.run_id}")

        def write(answer: str | None) -> None:
            if answer:
                self.post_message(self.ExportRequested(run.run_id, answer))

        self.app.push_screen(PromptScreen(
            f"Export run {run.run_id}: where to?", default,
            "Writes NAME.csv (per-epoch history) and NAME.json (the whole record); a name ending in "
            ".csv or .json writes that one. A relative name goes next to the runs database. Esc cancels.",
            check=lambda s: None if s else "type a file name, or Esc to cancel", input_id="export-path"), write)

    def delete_targets(self) -> list[int]:
        """What x deletes: the picked runs, or the run under the cursor when none is picked."""
        return self.selected or ([self.cursor_run.run_id] if self.cursor_run else [])

    def action_delete(self) -> None:
        ids = self.delete_targets()
        if not ids:
            self.notify("No run to delete.", severity="warning")
            return
        if self.store is not None and getattr(self.store, "read_only", False):
            self.notify(f"{self.store.path} is read-only here: no run can be deleted.", title="Cannot delete",
                        severity="error", timeout=10)
            return
        runs = {r.run_id: r for r in self.runs}
        lines = [f"run {i}: {runs[i].status}, {runs[i].epochs_done} epochs, started {local_time(runs[i].started_at)}"
                 for i in ids if i in runs]
        if len(ids) > 1:
            title = f"Delete the {len(ids)} picked runs ({', '.join(map(str, ids))})?"
            whose = "Their records and checkpoints are removed for good; runs forked or resumed from them are kept."
        else:
            picked = " (the picked run)" if self.selected else " (under the cursor)"
            title = f"Delete run {ids[0]}{picked}?"
            whose = "Its record and checkpoint are removed for good; runs forked or resumed from it are kept."
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
