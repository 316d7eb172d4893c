"""Training pane: progress, live loss and MAE charts, and the scores a run ends with."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import ProgressBar

from engine.domain import format_riders

from ..format import beside_naive, duration, epoch_ticks, loss_title, run_title
from ..messages import EpochCompleted, TrainingStarted
from . import lazy
from .charts import EpochChart, Series
from .text import Static


@dataclass
class RunHistory:
    """What the charts show: one entry per finished epoch (MAE in riders)."""

    job: int = 0  # the app's count of the runs it started
    epochs: int = 0
    device: str = ""
    naive_valid_mae: float = math.nan
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_mae: list[float] = field(default_factory=list)
    valid_mae: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


class TrainingPane(VerticalScroll, can_focus=True):
    """Start and stop are app keys (t, s); this pane only shows the run.

    The pane has the focus when it is shown (key 3), and its keys act on both charts at once
    (they share the epoch axis): e smooths (EMA), f follows the last epochs, left/right/home/end
    move the cursor epoch whose values the charts' last lines read out. It scrolls (up, down, page
    keys) where the run's summary does not fit under the charts, as on 24 lines."""

    DEFAULT_CSS = """
    TrainingPane { height: 1fr; scrollbar-size-vertical: 1; }
    """

    BINDINGS = [
        Binding("e", "charts('toggle_smoothing')", "Smooth"),
        Binding("f", "charts('toggle_follow')", "Follow"),
        Binding("left", "charts('cursor', -1)", "Epoch", key_display="←→"),
        Binding("right", "charts('cursor', 1)", "Epoch +1", show=False),
        Binding("home", "charts('cursor_to', 'first')", "First epoch", show=False),
        Binding("end", "charts('cursor_to', 'last')", "Last epoch", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.history = RunHistory()
        self.running = False
        self._last: EpochCompleted | None = None
        self.overlay: tuple = ()  # runs.Curve of the runs selected in the Runs pane, drawn behind

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        yield Static(
            "No run yet. Press t to train with the Hyperparameters pane's settings; s stops a run.", id="run-status"
        )
        yield ProgressBar(total=1, show_eta=False, id="run-progress")
        yield Static("", id="run-epoch")
        with Horizontal(id="run-charts"):
            yield EpochChart("Training loss (Huber)", "epoch", id="loss-chart")
            yield EpochChart("MAE, riders", "epoch", id="mae-chart")
        yield Static("", id="run-result")

    # -- updates from the app (UI thread only) -------------------------------------------------
    def starting(self, job: int, epochs: int, text: str, loss: str = "huber") -> None:
        """A run was asked for (the app's ``job``-th, trained with ``loss``): clear the last one's
        charts and show that work has begun."""
        self._loss_title(loss_title([loss]))
        self.history = RunHistory(job=job, epochs=epochs)
        self._last = None
        self.running = True
        self._status(text)
        self._progress(epochs, 0)
        self._show_epoch()  # no epoch yet: the line is cleared
        self._result("")
        self._redraw()

    def show_loss(self, loss: str) -> None:
        """Before any run: the loss chart is titled with the form's loss (a run's own once it starts)."""
        if not self.running and not self.history.job:
            self._loss_title(loss_title([loss]))
            self._redraw()

    def started(self, msg: TrainingStarted) -> None:
        h = self.history
        h.device, h.naive_valid_mae, h.epochs = msg.device, msg.naive_valid_mae, msg.epochs
        self._status(
            f"{run_title(msg.run_id)} training on {msg.device}: {msg.train_windows:,} training windows, "
            f"{msg.valid_windows:,} validation windows. Naive validation MAE "
            f"{format_riders(msg.naive_valid_mae)} riders. s stops."
        )
        self._redraw()

    def add_epoch(self, msg: EpochCompleted) -> None:
        h = self.history
        h.epoch.append(msg.epoch)
        h.train_loss.append(msg.train_loss)
        h.train_mae.append(msg.train_mae)
        h.valid_mae.append(msg.valid_mae)
        h.seconds.append(msg.seconds)
        self._progress(msg.epochs, msg.epoch)
        self._last = msg
        self._show_epoch()
        self._redraw()

    # The drawing of each part of the pane, from its arguments or the pane's state (tui/widgets/lazy.py).
    @lazy.drawn
    def _loss_title(self, title: str) -> None:
        self.query_one("#loss-chart", EpochChart).set_title(title)

    @lazy.drawn
    def _progress(self, total: int, progress: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=progress)

    @lazy.drawn
    def _show_epoch(self) -> None:
        """The last epoch's numbers; the ETA only while the run goes on."""
        msg, h = self._last, self.history
        if msg is None:
            self.query_one("#run-epoch", Static).update("")
            return
        eta = ""
        if self.running:
            per_epoch = sum(h.seconds) / len(h.seconds)
            eta = f" · ETA {duration(per_epoch * (msg.epochs - msg.epoch))}"
        self.query_one("#run-epoch", Static).update(
            f"epoch {msg.epoch}/{msg.epochs} · {duration(msg.seconds)} this epoch{eta} · "
            f"lr {msg.lr:.3g} · best epoch {msg.best_epoch} (valid MAE {format_riders(msg.best_valid_mae)} riders)\n"
            f"last epoch: train loss {msg.train_loss:.4f}, train MAE {format_riders(msg.train_mae)}, "
            f"valid MAE {format_riders(msg.valid_mae)} riders{beside_naive(msg.valid_mae, h.naive_valid_mae)}",
            layout=False,  # a fixed two lines: no layout pass of the whole screen every epoch
        )

    def stopping(self) -> None:
        self._status("Stopping at the end of this batch…")

    def finished(self, text: str, result: str, error: bool = False) -> None:
        self.running = False
        self._show_epoch()
        self._status(text, error)
        self._result(result)

    @lazy.drawn
    def _status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#run-status", Static)
        widget.update(text)
        widget.set_class(error, "-error")

    @lazy.drawn
    def _result(self, text: str) -> None:
        self.query_one("#run-result", Static).update(text)

    def set_overlay(self, curves: tuple) -> None:
        """Past runs to compare with (runs.Curve: run_id, color, epoch, train_loss, valid_mae)."""
        self.overlay = tuple(curves)
        self._redraw()

    def action_charts(self, action: str, *args) -> None:
        """An EpochChart key (e, f, cursor) on both charts."""
        for chart in self.query(EpochChart):
            getattr(chart, f"action_{action}")(*args)

    @lazy.drawn
    def _redraw(self) -> None:
        h = self.history
        loss, mae = self.query_one("#loss-chart", EpochChart), self.query_one("#mae-chart", EpochChart)
        last = max([*h.epoch[-1:], *(c.epoch[-1] for c in self.overlay if c.epoch)], default=0)
        ticks = epoch_ticks(list(range(1, last + 1)) if self.overlay else h.epoch)
        past_loss = [Series(c.epoch, c.train_loss, f"run {c.run_id}", c.color) for c in self.overlay]
        past_mae = [Series(c.epoch, list(c.valid_mae), f"run {c.run_id}", c.color) for c in self.overlay]
        # The baseline is a flat series over the epochs (so the legend names it), drawn first so
        # the model's lines stay on top where they meet it.
        naive = (
            [Series(h.epoch, [h.naive_valid_mae] * len(h.epoch), "naive (valid)", "gray")]
            if math.isfinite(h.naive_valid_mae)
            else []
        )
        with self.app.batch_update():
            loss.draw([*past_loss, Series(h.epoch, h.train_loss, "train", "orange")], xticks=ticks)
            mae.draw(
                [
                    *naive,
                    *past_mae,
                    Series(h.epoch, list(h.train_mae), "train", "orange"),
                    Series(h.epoch, list(h.valid_mae), "valid", "cyan"),
                ],
                xticks=ticks,
            )
