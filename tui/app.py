"""The Ridership app: five panes, the keys that reach them, and the workers that do the heavy work.

Handlers here are thin: they update panes and start or stop workers. Everything slow (loading a
file, importing torch, training, forecasting) runs in thread workers (tui/runner.py) that never
touch a widget; progress arrives as messages (tui/messages.py) and results through the one
Worker.StateChanged handler.
"""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable, Iterable

import pandas as pd
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from engine.calendar import infer_day_type
from engine.config import TrainConfig
from engine.data import RidershipData
from engine.errors import RidershipError

from . import runner
from .messages import DownloadProgress, EpochCompleted, TrainingStarted
from .widgets.dataset import DatasetPane
from .widgets.device import DevicePane
from .widgets.forecast import DAY_TYPE_NAMES, HISTORY_DAYS, ForecastPane
from .widgets.hyperparams import HyperparamsForm
from .widgets.open_file import OpenFileScreen
from .widgets.training import TrainingPane, riders

PANES = (  # id, key, tab label
    ("dataset", "1", "Dataset"),
    ("hyperparams", "2", "Hyperparameters"),
    ("training", "3", "Training"),
    ("device", "4", "Device"),
    ("forecast", "5", "Forecast"),
)
PANE_KEYS = Binding.Group("Panes", compact=True)
DEVICE_REFRESH_S = 1.0


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight.

    After torch, pandas and the data are loaded, a full collection walks millions of objects and
    stops every thread for 100-400 ms (measured in bench/bench_ui.py): a visible freeze of the UI
    during training. Those objects live as long as the app, so freezing them after each heavy
    step (torch imported, data loaded, a run's modules imported) keeps collections short.
    """
    gc.freeze()


def explain(error: BaseException | None) -> str:
    """An error as a person reads it: the engine's own message, else the type and text."""
    if isinstance(error, RidershipError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class RidershipApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Ridership"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # Screen classes for 24-line terminals
    BINDINGS = [
        *[Binding(key, f"show_pane('{pane}')", label, group=PANE_KEYS) for pane, key, label in PANES],
        Binding("t", "start_training", "Train"),
        Binding("s", "stop_training", "Stop"),
        Binding("o", "open_file", "Open"),
        Binding("d", "download", "Download"),
        Binding("ctrl+q", "quit", "Quit"),
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    def __init__(
        self,
        data_path: str | None = None,
        data: RidershipData | None = None,
        config: TrainConfig | None = None,
        describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
    ) -> None:
        super().__init__()
        self._data_path = data_path
        self._initial_data = data
        self._initial_config = config or TrainConfig()
        self._describe_device = describe_device or runner.describe_device
        self.data: RidershipData | None = None
        self.outcome: runner.RunOutcome | None = None  # the last run that left a model
        self.run_id = 0
        self.training = False
        self._stop = threading.Event()
        self._run_config: TrainConfig | None = None
        self._device_choice: str | None = None

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("Loading data…", id="data-bar")
        with TabbedContent(initial="dataset", id="panes"):
            with TabPane(f"{PANES[0][1]} {PANES[0][2]}", id="dataset"):
                yield DatasetPane(id="dataset-pane")
            with TabPane(f"{PANES[1][1]} {PANES[1][2]}", id="hyperparams"):
                yield HyperparamsForm(self._initial_config, id="form")
            with TabPane(f"{PANES[2][1]} {PANES[2][2]}", id="training"):
                yield TrainingPane(id="training-pane")
            with TabPane(f"{PANES[3][1]} {PANES[3][2]}", id="device"):
                yield DevicePane(id="device-pane")
            with TabPane(f"{PANES[4][1]} {PANES[4][2]}", id="forecast"):
                yield ForecastPane(id="forecast-pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._device_timer = self.set_interval(DEVICE_REFRESH_S, self._refresh_device, pause=True)
        # Parsing a CSV and importing torch (the device query) hold the GIL for much of a second
        # each: start them one after the other, once the first screen is painted, so neither
        # delays that screen and the data does not wait for torch.
        if self._initial_data is not None:
            self._use_data(self._initial_data)
            self.call_after_refresh(self._refresh_device)
        else:
            self.call_after_refresh(self._load_startup_data)  # then the device query
        self.query_one("#dataset-pane RowTable").focus()

    def _load_startup_data(self) -> None:
        self.run_worker(lambda: runner.load_data(self._data_path), name="startup", group="data",
                        thread=True, exclusive=True, exit_on_error=False)

    def on_unmount(self) -> None:
        self._stop.set()  # a run still going ends within a batch

    @property
    def form(self) -> HyperparamsForm:
        return self.query_one(HyperparamsForm)

    # -- panes ----------------------------------------------------------------------------------
    def action_show_pane(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        target = {
            "dataset": "#dataset-pane RowTable", "hyperparams": "#form", "training": "#training-pane",
            "device": "#device-pane", "forecast": "#forecast-pane",
        }[pane]
        self.query_one(target).focus()

    def action_leave_field(self) -> None:
        """Esc in a field gives the keys back to the app (number keys switch panes again)."""
        if isinstance(self.focused, (Input, Select, Checkbox)):
            self.action_show_pane(self.query_one(TabbedContent).active)

    # -- data -----------------------------------------------------------------------------------
    def action_open_file(self) -> None:
        self.action_show_pane("dataset")  # where the outcome (or the engine's message) shows
        start = self.data.source.path if self.data is not None and self.data.source.path else ""

        def chosen(path: str | None) -> None:
            if path:
                self.load_file(path)

        self.push_screen(OpenFileScreen(start), chosen)

    def load_file(self, path: str) -> None:
        self.query_one(DatasetPane).show_status(f"Loading {path}…")
        self.run_worker(lambda: runner.open_file(path), name=f"open {path}", group="data", thread=True,
                        exclusive=True, exit_on_error=False)

    def action_download(self) -> None:
        self.action_show_pane("dataset")
        self.query_one(DatasetPane).show_status("Downloading the CTA data…")
        self.run_worker(lambda: runner.download(self.post_message), name="download", group="data",
                        thread=True, exclusive=True, exit_on_error=False)

    @on(DownloadProgress)
    def _download_progress(self, msg: DownloadProgress) -> None:
        share = f" ({msg.done / msg.total:.0%})" if msg.total else ""
        self.query_one(DatasetPane).show_status(f"Downloading the CTA data: {msg.done / 1e6:.1f} MB{share}")

    def _use_data(self, data: RidershipData) -> None:
        self.data = data
        bar = self.query_one("#data-bar", Static)
        if data.is_synthetic:
            bar.update("SYNTHETIC DATA, not the CTA's · o open a file · d download the real data")
        else:
            bar.update(f"Data: {data.source.label} · {len(data.frame):,} days")
        bar.set_class(data.is_synthetic, "-synthetic")
        self.query_one(DatasetPane).show_data(data)
        self.query_one(DatasetPane).show_splits(self.form.config)
        forecast = self.query_one(ForecastPane)
        forecast.set_calendar_guess(infer_day_type(data.last_date + pd.Timedelta(days=1)))
        forecast.show_history(data.frame.iloc[-HISTORY_DAYS:])

    def _data_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(DatasetPane)
        if worker.name == "startup" and state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.call_after_refresh(self._refresh_device)
        if state == WorkerState.SUCCESS:
            self._use_data(worker.result)
            freeze_heap()
            pane.show_status("")
            if worker.name != "startup":
                self.notify(f"Loaded {worker.result.source.label}")
        elif state == WorkerState.ERROR:
            message = explain(worker.error)
            if self.data is None:  # nothing loaded yet: say so, and fall back to the demo series
                from engine.sources import synthetic

                self._use_data(synthetic())
                message += " — showing the synthetic demo series instead"
            else:
                message += " — the data shown is unchanged"
            pane.show_status(message, error=True)
            self.notify(message, title="Could not load the data", severity="error", timeout=10)

    # -- hyperparameters ------------------------------------------------------------------------
    @on(HyperparamsForm.Changed)
    def _config_changed(self, msg: HyperparamsForm.Changed) -> None:
        if msg.config is not None:
            config = TrainConfig.from_dict(msg.config)
            self.query_one(DatasetPane).show_splits(config)
            # A changed device setting is described again, once the first query (after the
            # first paint) has been made; until then this would import torch too early.
            if self._device_choice is not None and config.device != self._device_choice and not self.training:
                self._refresh_device()

    # -- training -------------------------------------------------------------------------------
    def action_start_training(self) -> None:
        pane = self.query_one(TrainingPane)
        if self.training:
            self.notify(f"Run {self.run_id} is still training: s stops it, then t starts another.",
                        severity="warning")
            return
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return
        config = self.form.config
        if config is None:
            first = self.form.first_invalid()
            self.action_show_pane("hyperparams")
            if first:
                self.form.focus_field(first)
            self.notify(f"Fix the hyperparameters first ({first}: {self.form.errors.get(first, '')}).",
                        title="Cannot start a run", severity="error")
            return
        self.run_id += 1
        self.training = True
        self._stop = threading.Event()
        self._run_config = config
        self.action_show_pane("training")
        pane.starting(self.run_id, config.epochs, f"Run {self.run_id}: preparing the windows (and loading "
                                                  "torch the first time)…")
        run_id, stop, data = self.run_id, self._stop, self.data

        def work() -> runner.RunOutcome:
            from textual.worker import get_current_worker

            worker = get_current_worker()
            return runner.train(config, data, run_id, self.post_message,
                                should_stop=lambda: stop.is_set() or worker.is_cancelled,
                                abandoned=lambda: worker.is_cancelled)

        self.run_worker(work, name=f"run {run_id}", group="train", thread=True, exclusive=True,
                        exit_on_error=False)
        self._device_timer.resume()

    def action_stop_training(self) -> None:
        if not self.training:
            self.notify("No run is training.", severity="information")
            return
        self._stop.set()
        self.query_one(TrainingPane).stopping()

    @on(TrainingStarted)
    def _run_started(self, msg: TrainingStarted) -> None:
        if msg.run_id == self.run_id:
            self.query_one(TrainingPane).started(msg)
        freeze_heap()  # the run's modules (torch.optim, torchmetrics) are imported by now

    @on(EpochCompleted)
    def _epoch(self, msg: EpochCompleted) -> None:
        if msg.run_id == self.run_id:
            self.query_one(TrainingPane).add_epoch(msg)

    def _train_worker(self, worker: Worker, state: WorkerState) -> None:
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.training = False
        self._device_timer.pause()
        self._refresh_device()
        pane = self.query_one(TrainingPane)
        if state == WorkerState.ERROR:
            pane.finished(f"Run {self.run_id} could not run: {explain(worker.error)}", "", error=True)
            return
        if state == WorkerState.CANCELLED:
            pane.finished(f"Run {self.run_id} was cancelled.", "")
            return
        outcome: runner.RunOutcome = worker.result
        if outcome.model is not None:
            self.outcome = outcome
        pane.finished(*summarise(outcome), error=outcome.status == "failed")

    # -- device ---------------------------------------------------------------------------------
    def _refresh_device(self) -> None:
        config = self._run_config if self.training else self.form.config
        choice = config.device if config is not None else "auto"
        self._device_choice = choice
        self.run_worker(lambda: self._describe_device(choice), name=f"device {choice}", group="device",
                        thread=True, exclusive=True, exit_on_error=False)

    def _device_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(DevicePane)
        if state == WorkerState.SUCCESS:
            info, available = worker.result
            pane.show(info, available, self._device_choice or "auto", self.training)
            freeze_heap()  # torch is imported by now
        elif state == WorkerState.ERROR:
            pane.show_error(explain(worker.error))

    # -- forecast -------------------------------------------------------------------------------
    @on(ForecastPane.Requested)
    def _forecast_requested(self, msg: ForecastPane.Requested) -> None:
        pane = self.query_one(ForecastPane)
        if self.outcome is None:
            pane.show_message("No trained model yet: train one first (3 opens Training, t starts a run). "
                              "A forecast needs a run that finished at least one epoch.", error=True)
            return
        if self.data is None:
            pane.show_message("The data is still loading.", error=True)
            return
        outcome, data, day_type = self.outcome, self.data, msg.day_type
        self.run_worker(lambda: (runner.forecast(outcome, data, day_type), outcome, data),
                        name="forecast", group="forecast", thread=True, exclusive=True, exit_on_error=False)

    def _forecast_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(ForecastPane)
        if state == WorkerState.ERROR:
            pane.show_message(f"Could not forecast: {explain(worker.error)}", error=True)
        elif state == WorkerState.SUCCESS:
            result, outcome, data = worker.result
            how = "from the calendar" if result.inferred else "chosen"
            text = (f"{result.date:%Y-%m-%d} ({result.date:%A}), day type {result.day_type} "
                    f"({DAY_TYPE_NAMES[result.day_type]}, {how})\n"
                    f"rail {riders(result.rail)} riders   bus {riders(result.bus)} riders\n"
                    f"Model of run {outcome.run_id}: epoch {outcome.weights_epoch}'s weights, trained on "
                    f"{outcome.data_label}")
            pane.show_forecast(text, data.frame.iloc[-HISTORY_DAYS:], result.date, result.rail, result.bus)

    # -- the one worker handler -------------------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        handler = {
            "data": self._data_worker, "train": self._train_worker,
            "device": self._device_worker, "forecast": self._forecast_worker,
        }.get(event.worker.group)
        if handler is None:
            return
        try:
            handler(event.worker, event.state)
        except NoMatches:
            # A worker that ends while the app closes finds its pane already taken down; there
            # is nothing left to show. Anywhere else this would be a bug, so say so in the log.
            self.log.warning(f"worker {event.worker.name!r} ended after its pane was removed")

    # -- command palette ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for pane, key, label in PANES:
            yield SystemCommand(f"Show {label}", f"Switch to the {label} pane (key {key})",
                                lambda pane=pane: self.action_show_pane(pane))
        yield SystemCommand("Start training", "Train with the Hyperparameters pane's settings (t)",
                            self.action_start_training)
        yield SystemCommand("Stop training", "Stop the run within one batch, keeping its best weights (s)",
                            self.action_stop_training)
        yield SystemCommand("Open a data file", "Load a CTA ridership CSV or .tgz (o)", self.action_open_file)
        yield SystemCommand("Download the CTA data", "Fetch and verify the real data into the cache (d)",
                            self.action_download)
        yield SystemCommand("Reset hyperparameters", "Back to the article's defaults", self.form.action_reset)
        for code, label in ((None, "the calendar's day type"), *DAY_TYPE_NAMES.items()):
            yield SystemCommand(f"Forecast: {label if code is None else f'{code} ({label})'}",
                                "Forecast the day after the data with the trained model",
                                lambda code=code: self._palette_forecast(code))
        yield SystemCommand("Toggle light/dark theme", "Switch between textual-light and textual-dark",
                            self.action_toggle_theme)

    def _palette_forecast(self, code: str | None) -> None:
        self.action_show_pane("forecast")
        self.query_one(ForecastPane).action_pick(code or "calendar")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def summarise(outcome: runner.RunOutcome) -> tuple[str, str]:
    """The status line and the result lines of a run that ended."""
    run = f"Run {outcome.run_id}"
    if outcome.status == "finished":
        status = f"{run} finished: {outcome.reason} on {outcome.device}."
    elif outcome.status == "stopped":
        status = f"{run} {outcome.reason}; its history stays on the charts."
    else:
        status = f"{run} failed: {outcome.reason}."
    if outcome.model is None:
        return status, "No epoch finished, so there is no model to score or forecast with."
    last = outcome.weights_epoch == outcome.epochs_done
    which = "the last epoch" if last else "the best validation epoch"
    lines = [f"Scores use epoch {outcome.weights_epoch}'s weights ({which}); naive = same day last week."]
    for name, label in (("valid", "validation"), ("test", "test")):
        s = (outcome.scores or {}).get(name)
        if s:
            lines.append(f"{label:>10} MAE {riders(s['mae']):>9} riders · naive {riders(s['naive_mae']):>9} · "
                         f"model/naive {s['ratio']:.2f}")
    return status, "\n".join(lines)


def make_app(data_path: str | None = None, data: RidershipData | None = None,
             config: TrainConfig | None = None,
             describe_device: Callable[[str], tuple[Any, list[str]]] | None = None) -> RidershipApp:
    """The one factory: the CLI and the tests build the app here.

    ``data`` skips the loading step (tests); ``describe_device`` replaces the torch query (snapshots
    need a fixed device description).
    """
    return RidershipApp(data_path=data_path, data=data, config=config, describe_device=describe_device)


def run_app(data_path: str | None = None) -> int:
    app = make_app(data_path=data_path)
    app.run()
    return app.return_code or 0
