"""The Ridership app: five panes, the keys that reach them, and the workers that do the heavy work.

Handlers here are thin: they update panes and start or stop workers. Everything slow (loading a
file, importing torch, training, forecasting) runs in thread workers (tui/runner.py) that never
touch a widget; progress arrives as messages (tui/messages.py) and results through the one
Worker.StateChanged handler.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Checkbox, ContentSwitcher, Footer, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from engine.calendar import infer_day_type
from engine.config import TrainConfig
from engine.data import RidershipData
from engine.errors import RidershipError
from engine.runs import RunStore

from . import runner, terminal_watch
from .messages import DownloadProgress, EpochCompleted, TrainingStarted
from .widgets.backtest import BacktestPane
from .widgets.dataset import DatasetPane
from .widgets.device import DevicePane
from .widgets.forecast import DAY_TYPE_NAMES, HISTORY_DAYS, ForecastPane
from .widgets.hyperparams import HyperparamsForm
from .widgets.multiday import MultiDayView
from .widgets.open_file import OpenFileScreen
from .widgets.runs import RunsPane
from .widgets.training import TrainingPane, riders

PANES = (  # id, key, tab label
    ("dataset", "1", "Dataset"),
    ("hyperparams", "2", "Hyperparameters"),
    ("training", "3", "Training"),
    ("device", "4", "Device"),
    ("forecast", "5", "Forecast"),
    ("runs", "6", "Runs"),
    ("backtest", "7", "Backtest"),
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
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # and for 80-column ones
    BINDINGS = [
        *[Binding(key, f"show_pane('{pane}')", label, group=PANE_KEYS) for pane, key, label in PANES],
        Binding("t", "start_training", "Train"),
        Binding("s", "stop_training", "Stop"),
        Binding("o", "open_file", "Open"),
        Binding("d", "download", "Download"),
        Binding("ctrl+s", "save_svg", "SVG"),
        Binding("ctrl+q", "quit", "Quit"),
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    def __init__(
        self,
        data_path: str | None = None,
        data: RidershipData | None = None,
        config: TrainConfig | None = None,
        describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
        runs_db: str | None = None,
    ) -> None:
        super().__init__()
        self._runs_db = runs_db
        self.store: RunStore | None = None  # None: the run store could not be opened; runs go unrecorded
        self._fork_parent: int | None = None  # the run the next run is a fork of
        self._record_id: int | None = None  # the training run's id in the store
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
                # The next day (with a chosen day type) or several days; m switches.
                with ContentSwitcher(initial="forecast-pane", id="forecast-views"):
                    yield ForecastPane(id="forecast-pane")
                    yield MultiDayView(id="multiday")
            with TabPane(f"{PANES[5][1]} {PANES[5][2]}", id="runs"):
                yield RunsPane(id="runs-pane")
            with TabPane(f"{PANES[6][1]} {PANES[6][2]}", id="backtest"):
                yield BacktestPane(id="backtest-pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._device_timer = self.set_interval(DEVICE_REFRESH_S, self._refresh_device, pause=True)
        if not self.is_headless:
            self.set_interval(terminal_watch.CHECK_EVERY_S, self._exit_if_terminal_gone)
        self._open_store()
        # Parsing a CSV and importing torch (the device query) hold the GIL for much of a second
        # each: start them one after the other, once the first screen is painted, so neither
        # delays that screen and the data does not wait for torch.
        if self._initial_data is not None:
            self._use_data(self._initial_data)
            self.call_after_refresh(self._refresh_device)
        else:
            self.call_after_refresh(self._load_startup_data)  # then the device query
        self.query_one("#dataset-pane RowTable").focus()

    def _exit_if_terminal_gone(self) -> None:
        if terminal_watch.terminal_gone():
            self._stop.set()  # a run still going ends within a batch
            self.exit(return_code=129)  # 128 + SIGHUP, what a hang-up would have given

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
            "device": "#device-pane", "runs": "#runs-pane", "backtest": "#backtest-pane",
            "forecast": "#multiday DataTable" if self.forecast_view == "multiday" else "#forecast-pane",
        }[pane]
        self.query_one(target).focus()
        if pane == "runs":
            self.query_one(RunsPane).reload()  # runs recorded meanwhile, e.g. by `ridership train`

    def action_leave_field(self) -> None:
        """Esc in a field gives the keys back to the app (number keys switch panes again)."""
        if isinstance(self.focused, (Input, Select, Checkbox)):
            self.action_show_pane(self.query_one(TabbedContent).active)

    @property
    def forecast_view(self) -> str:
        """Which view the Forecast pane shows: "next" (one day) or "multiday"."""
        return "multiday" if self.query_one("#forecast-views", ContentSwitcher).current == "multiday" else "next"

    def action_forecast_view(self, view: str) -> None:
        switcher = self.query_one("#forecast-views", ContentSwitcher)
        switcher.current = "multiday" if view == "multiday" else "forecast-pane"
        self.action_show_pane("forecast")

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
        self.query_one(MultiDayView).set_data(data)
        self.query_one(BacktestPane).set_data(data)

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
    def _can_start(self) -> bool:
        if self.training:
            self.notify(f"{self._run_name} is still training: s stops it, then t starts another.",
                        severity="warning")
            return False
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return False
        return True

    @property
    def _run_name(self) -> str:
        return f"Run {self._record_id}" if self._record_id else f"Run {self.run_id}"

    def action_start_training(self) -> None:
        if not self._can_start():
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
        parent, self._fork_parent = self._fork_parent, None
        if parent is not None:
            self.form.show_note(None)
        data, store, post = self.data, self.store, self.post_message
        what = f"A fork of run {parent}" if parent else "A new run"
        self._launch(config, f"{what}: preparing the windows (and loading torch the first time)…",
                     lambda run_id, should_stop, abandoned: runner.train(
                         config, data, run_id, post, should_stop=should_stop, abandoned=abandoned, store=store,
                         parent_id=parent, origin="fork" if parent else "new"))

    def _launch(self, config: TrainConfig, text: str,
                job: Callable[[int, Callable[[], bool], Callable[[], bool]], runner.RunOutcome]) -> None:
        """Run ``job(run_id, should_stop, abandoned)`` in the training worker, the Training pane showing it."""
        self.run_id += 1
        self.training = True
        self._record_id = None
        self._stop = threading.Event()
        self._run_config = config
        self.action_show_pane("training")
        self.query_one(TrainingPane).starting(self.run_id, config.epochs, text)
        run_id, stop = self.run_id, self._stop

        def work() -> runner.RunOutcome:
            from textual.worker import get_current_worker

            worker = get_current_worker()
            return job(run_id, lambda: stop.is_set() or worker.is_cancelled, lambda: worker.is_cancelled)

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
            self._record_id = msg.record_id
            self.query_one(TrainingPane).started(msg)
            self.query_one(RunsPane).reload()  # the new run, "running"
        freeze_heap()  # the run's modules (torch.optim, torchmetrics) are imported by now

    @on(EpochCompleted)
    def _epoch(self, msg: EpochCompleted) -> None:
        if msg.run_id == self.run_id:
            self.query_one(TrainingPane).add_epoch(msg)
            if self.query_one(TabbedContent).active == "runs":
                self.query_one(RunsPane).reload(at_most_every=1.0)  # the running run's epochs, live

    def _train_worker(self, worker: Worker, state: WorkerState) -> None:
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.training = False
        self._device_timer.pause()
        self._refresh_device()
        pane = self.query_one(TrainingPane)
        if state == WorkerState.ERROR:
            pane.finished(f"{self._run_name} could not run: {explain(worker.error)}", "", error=True)
            self.query_one(RunsPane).reload()
            return
        if state == WorkerState.CANCELLED:
            pane.finished(f"{self._run_name} was cancelled.", "")
            return
        outcome: runner.RunOutcome = worker.result
        if outcome.model is not None:
            self.outcome = outcome
            # The multi-day forecast and the backtest follow the last model (each in its worker).
            self.query_one(MultiDayView).set_model(outcome, self.data)
            self.query_one(BacktestPane).set_model(outcome, self.data)
        pane.finished(*summarise(outcome), error=outcome.status == "failed")
        self.query_one(RunsPane).reload()

    # -- runs -----------------------------------------------------------------------------------
    def _open_store(self) -> None:
        """The run store (a quick SQLite open). If it cannot be opened, the app still trains, unrecorded."""
        pane = self.query_one(RunsPane)
        try:
            self.store = RunStore.open(self._runs_db)
        except RidershipError as exc:
            pane.show_error(f"{exc}. Runs started here are not recorded (--runs-db PATH picks another file).")
            self.notify(str(exc), title="No run store: runs are not recorded", severity="warning", timeout=10)
            return
        pane.set_store(self.store)

    @on(RunsPane.OverlayChanged)
    def _overlay(self, msg: RunsPane.OverlayChanged) -> None:
        self.query_one(TrainingPane).set_overlay(msg.curves)

    @on(RunsPane.ForkRequested)
    def _fork(self, msg: RunsPane.ForkRequested) -> None:
        self.form.set_config(TrainConfig.from_dict(msg.config))
        self._fork_parent = msg.run_id
        self.form.show_note(f"Fork of run {msg.run_id}: its settings, to edit. t starts the new run, "
                            "recorded as its child.")
        self.action_show_pane("hyperparams")
        self.notify(f"The form holds run {msg.run_id}'s settings: edit them, then t starts the fork.",
                    title=f"Fork of run {msg.run_id}")

    @on(RunsPane.ResumeRequested)
    def _resume(self, msg: RunsPane.ResumeRequested) -> None:
        if not self._can_start() or self.store is None:
            return
        parent_id, more, store, data, post = msg.run_id, msg.more, self.store, self.data, self.post_message
        try:
            parent = store.get_run(parent_id, with_epochs=False)
            config = parent.config.replace(epochs=parent.epochs_done + more)
        except RidershipError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", timeout=10)
            return
        self._launch(config, f"Resuming run {parent_id} for {more} more epochs: loading its checkpoint…",
                     lambda run_id, should_stop, abandoned: runner.resume(
                         store, parent_id, more, data, run_id, post, should_stop=should_stop))

    def action_save_svg(self) -> None:
        """The screen as an SVG file in the current folder (Textual's save_screenshot)."""
        try:
            path = self.save_screenshot(path=".")
        except OSError as exc:
            self.notify(f"{exc.filename or '.'}: {exc.strerror or exc}", title="Could not save the screenshot",
                        severity="error", timeout=10)
            return
        self.notify(str(Path(path).resolve()), title="Screenshot saved (SVG)", timeout=10)

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
                    f"Model of {outcome.name.lower()}: epoch {outcome.weights_epoch}'s weights, trained on "
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
        yield SystemCommand("Forecast several days", "The next 1 to 28 days, each fed back as the next input (m in "
                            "the Forecast pane)", lambda: self.action_forecast_view("multiday"))
        yield SystemCommand("Backtest the last model", "Its forecasts against the actual riders over the "
                            "validation and test splits, beside the naive forecast (7)", self._palette_backtest)
        yield SystemCommand("Save an SVG screenshot", "The current screen as an SVG file in the current "
                            "folder (ctrl+s)", self.action_save_svg)
        yield SystemCommand("Toggle light/dark theme", "Switch between textual-light and textual-dark",
                            self.action_toggle_theme)

    def _palette_backtest(self) -> None:
        self.action_show_pane("backtest")
        self.query_one(BacktestPane).action_backtest()

    def _palette_forecast(self, code: str | None) -> None:
        self.action_forecast_view("next")
        self.query_one(ForecastPane).action_pick(code or "calendar")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def summarise(outcome: runner.RunOutcome) -> tuple[str, str]:
    """The status line and the result lines of a run that ended."""
    run = outcome.name
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
            for series in ("rail", "bus"):  # each series beside its own naive error
                mae, naive = s.get(f"{series}_mae"), s.get(f"naive_{series}_mae")
                if mae is not None and naive:
                    lines.append(f"{series:>10} MAE {riders(mae):>9} riders · naive {riders(naive):>9} · "
                                 f"model/naive {mae / naive:.2f}")
    if outcome.record_id:
        lines.append(f"Recorded as run {outcome.record_id} with its checkpoint "
                     "(6 Runs: compare, fork, resume, export).")
    return status, "\n".join(lines)


def make_app(data_path: str | None = None, data: RidershipData | None = None,
             config: TrainConfig | None = None,
             describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
             runs_db: str | None = None) -> RidershipApp:
    """The one factory: the CLI and the tests build the app here.

    ``data`` skips the loading step (tests); ``describe_device`` replaces the torch query (snapshots
    need a fixed device description); ``runs_db`` is the run store (default: engine.runs.default_db_path).
    """
    return RidershipApp(data_path=data_path, data=data, config=config, describe_device=describe_device,
                        runs_db=runs_db)


def run_app(data_path: str | None = None, runs_db: str | None = None) -> int:
    app = make_app(data_path=data_path, runs_db=runs_db)
    app.run()
    return app.return_code or 0
