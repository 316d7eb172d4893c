"""The Ridership app: eight panes, the keys that reach them, and the workers that do the heavy work.

One pattern for thread work:

- Every thread body lives in tui/jobs.py: plain functions of plain arguments (and a ``post``
  callable for progress), no widgets. Training and resuming are engine.session's ``start_run`` and
  ``resume_run``, the calls the CLI makes too.
- Only this App starts workers: ``self._start(...)`` (``run_worker(..., thread=True, group=...,
  exit_on_error=False)``). Panes never start one: a pane that needs work done posts a request
  message (``BacktestPane.Requested``, ``MultiDayView.Requested``, ``ForecastPane.Requested``,
  ``RunsPane.ListRequested``...), and the App's handler for it starts the worker.
- Progress comes back as messages (tui/messages.py), posted from the worker thread.
- Every worker ends in the App's one ``@on(Worker.StateChanged)`` dispatcher (``_worker_state``),
  which hands the result, or the error in words (format.explain), to the pane through plain methods
  (``show_result``, ``show_forecasts``, ``show_listing``, ``show_error``...). It finds the method
  for a worker's group in the ``WORKER_GROUPS`` of the App and of each of its mixins.

One holder for the model in use: ``self.active`` (an engine.session.RunResult, the last run that
left a model). Forecasts and backtests are run from it; the panes are told when it changes
(``set_model``) and keep no copy of it. Handlers stay thin: they update panes and start or stop
workers.

This module keeps the layout, the pane switching, the data loading, training start and stop, the
device queries and the one worker dispatcher. The rest lives in mixins RidershipApp inherits, one a
module, each with the request handlers and worker endings of its part:

- tui/app_runs.py (RunsMixin): the run store (opened with retries) and the Runs pane's requests
  (list, curves, delete, export, fork, resume); the model in use (``use_model``,
  ``use_recorded_run``) and what the app remembers between sessions.
- tui/app_forecast.py (ForecastMixin): the next-day forecast, the multi-day view, the backtest.
- tui/app_sweeps.py (SweepsMixin): starting and stopping a sweep, its events, its board and curves.

The mixins' message handlers are Textual's name-based ones (``on_runs_pane_use_requested`` for
``RunsPane.UseRequested``: ``Message.handler_name``), not ``@on``: Textual collects ``@on`` handlers
only for classes its MessagePump metaclass creates, and a plain mixin is not one, so an ``@on``
there would silently never run. Name-based handlers are looked up along RidershipApp's MRO, so they
stay beside the code they start (tests/tui/test_app_split.py checks each is a real message's
handler name). Their worker groups are declared in each mixin's ``WORKER_GROUPS``.
"""

from __future__ import annotations

import functools
import gc
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Checkbox, ContentSwitcher, Footer, Input, Select, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from engine.config import TrainConfig
from engine.domain import DAY_TYPE_NAMES

from . import jobs, terminal_watch
from .app_forecast import ForecastMixin
from .app_runs import RunsMixin
from .app_sweeps import SweepsMixin
from .format import HISTORY_DAYS, device_label, explain, run_title, summarise
from .messages import DownloadProgress, EpochCompleted, TrainingStarted, pane_may_be_gone
from .system_metrics import SystemSampler
from .widgets.backtest import BacktestPane
from .widgets.dataset import DatasetPane
from .widgets.device import DevicePane
from .widgets.forecast import ForecastPane
from .widgets.header import HeaderBar
from .widgets.hyperparams import HyperparamsForm
from .widgets.multiday import MultiDayView
from .widgets.open_file import OpenFileScreen
from .widgets.runs import RunsPane
from .widgets.sparklines import SystemSparklines
from .widgets.sweeps import SweepsPane
from .widgets.training import TrainingPane

if TYPE_CHECKING:
    from engine.data import RidershipData
    from engine.session import RunResult
    from engine.store import RunStore  # sqlite3 and the store load in the worker that opens it

PANES = (  # id, key, tab label
    ("dataset", "1", "Dataset"),
    ("hyperparams", "2", "Hyperparameters"),
    ("training", "3", "Training"),
    ("device", "4", "Device"),
    ("forecast", "5", "Forecast"),
    ("runs", "6", "Runs"),
    ("backtest", "7", "Backtest"),
    ("sweeps", "8", "Sweeps"),
)
SHORT_LABELS = {"hyperparams": "Params"}  # the tab labels below NARROW_TABS columns
NARROW_TABS = 100
PANE_KEYS = Binding.Group("Panes", compact=True)
DEVICE_REFRESH_S = 1.0
SYSTEM_SAMPLE_S = 1.0  # the Device pane's sparklines, while it is shown or a run trains
# Where the focus goes when a pane is shown (the widget whose keys the pane's footer lists).
PANE_FOCUS = {
    "dataset": "#dataset-pane RowTable", "hyperparams": "#form", "training": "#training-pane",
    "device": "#device-pane", "runs": "#runs-table", "backtest": "#backtest-pane", "sweeps": "#sweeps-table",
}


class Panes(TabbedContent):
    """TabbedContent that only follows the focus into the pane already shown.

    TabbedContent makes a pane active when a widget inside it gets the focus (TabPane.Focused, a
    message handled later). During a quick burst of keys (``1 2 3 ... 7 3 t``) such a message
    from an earlier pane arrived after a later pane key and switched back to the earlier pane. The
    app switches panes itself (RidershipApp.action_show_pane), so a focus message from a pane that
    is not the active one is stale and ignored."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        event.prevent_default()  # TabbedContent's own handler would make that pane active

    def on_resize(self) -> None:
        """Eight tab labels fit 80 columns only with a shorter second one."""
        short = self.size.width < NARROW_TABS
        for pane, key, label in PANES:
            text = f"{key} {SHORT_LABELS.get(pane, label) if short else label}"
            tab = self.get_tab(pane)
            if str(tab.label) != text:
                tab.label = text


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight.

    After torch, pandas and the data are loaded, a full collection walks millions of objects and
    stops every thread for 100-400 ms (measured in bench/bench_ui.py): a visible freeze of the UI
    during training. Those objects live as long as the app, so freezing them after each heavy
    step (torch imported, data loaded, a run's modules imported) keeps collections short.
    """
    gc.freeze()


@functools.cache
def worker_groups(app_class: type) -> dict[str, str]:
    """Worker group -> the name of the method its workers end in (called by ``_worker_state``): the
    ``WORKER_GROUPS`` of ``app_class`` and of every class it inherits (its mixins), merged. A group
    is handled in one place only."""
    groups: dict[str, str] = {}
    for cls in reversed(app_class.__mro__):
        own = cls.__dict__.get("WORKER_GROUPS", {})
        twice = set(own) & set(groups)
        if twice:
            raise TypeError(f"{cls.__name__} handles worker groups already handled: {sorted(twice)}")
        groups.update(own)
    return groups


class RidershipApp(RunsMixin, ForecastMixin, SweepsMixin, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Ridership"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # Screen classes for 24-line terminals
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # and for 80-column ones
    BINDINGS = [
        # The footer keeps to what 80 columns hold beside a pane's own keys: the tab labels show
        # the pane keys already, o and d are listed by the Dataset pane, ctrl+s in the palette.
        *[Binding(key, f"show_pane('{pane}')", label, group=PANE_KEYS, show=False) for pane, key, label in PANES],
        Binding("t", "start_training", "Train"),
        Binding("s", "stop_training", "Stop"),
        Binding("o", "open_file", "Open", show=False),
        Binding("d", "download", "Download", show=False),
        Binding("ctrl+s", "save_svg", "SVG", show=False),
        Binding("ctrl+q", "quit", "Quit"),
        Binding("escape", "leave_field", "Leave field", show=False),
    ]
    # Worker group -> the method its workers end in; the mixins declare theirs (worker_groups merges them).
    WORKER_GROUPS = {"data": "_data_worker", "train": "_train_worker", "device": "_device_worker"}

    def __init__(
        self,
        data_path: str | None = None,
        data: "RidershipData | None" = None,
        config: TrainConfig | None = None,
        describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
        runs_db: str | None = None,
        sampler: SystemSampler | None = None,
    ) -> None:
        super().__init__()
        self._runs_db = runs_db
        self.store: RunStore | None = None  # None: the run store could not be opened; runs go unrecorded
        self._fork_parent: int | None = None  # the run the next run is a fork of
        self._data_path = data_path
        self._initial_data = data
        self._config_given = config is not None  # given: tests, a preset; else the remembered settings apply
        if config is None:  # the best preset (or the remembered settings); r in the form restores the article's
            from engine.presets import DEFAULT_PRESET, apply_preset

            config = apply_preset(DEFAULT_PRESET)
        self._initial_config = config
        self._remembered_run: int | None = None  # the run in use when the app last closed, to load again
        self._store_opening = False
        self._start_when_store_opens = False
        self._describe_device = describe_device or jobs.describe_device
        self.data: "RidershipData | None" = None
        self.active: RunResult | None = None  # the model in use: the last run that left one
        self.job = 0  # how many runs this app has started; messages of an earlier one are ignored
        self.run_id: int | None = None  # the id in the run store of the run started last (None: not yet, or unrecorded)
        self.training = False
        self.sweeping = False  # a sweep runs (never beside a training run: both would share the cores)
        self._sweep_stop = threading.Event()
        self._announced = False  # the run started last has said who it is (TrainingStarted)
        self._stop = threading.Event()
        self._run_config: TrainConfig | None = None
        self._device_choice: str | None = None
        # Live readings of this process for the Device pane. A fixed device description (tests,
        # snapshots) comes without them unless a sampler is given: no live numbers on screen.
        self.sampler = sampler if sampler is not None or describe_device is not None else SystemSampler()
        self.store_note = ""  # why runs are not recorded ("" while they are)
        self._last_form: dict = config.to_dict()  # the form's last valid settings, remembered at exit

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield HeaderBar(id="top-bar")
        with Panes(initial="dataset", id="panes"):
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
            with TabPane(f"{PANES[7][1]} {PANES[7][2]}", id="sweeps"):
                yield SweepsPane(id="sweeps-pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._device_timer = self.set_interval(DEVICE_REFRESH_S, self._refresh_device, pause=True)
        self._system_timer = self.set_interval(SYSTEM_SAMPLE_S, self._sample_system, pause=True)
        if not self.is_headless:
            self.set_interval(terminal_watch.CHECK_EVERY_S, self._exit_if_terminal_gone)
        # SQLite may wait for another process's lock: never before the first screen, never on this thread.
        self.call_after_refresh(self._open_store)
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
            self._sweep_stop.set()
            self.exit(return_code=129)  # 128 + SIGHUP, what a hang-up would have given

    def _start(self, work: Callable[[], Any], *, group: str, name: str = "", exclusive: bool = True) -> None:
        """Run ``work`` (a tui.jobs call) in a thread worker; it ends in ``_worker_state``.
        ``exclusive``: a newer worker of the group supersedes the last (its result is dropped)."""
        self.run_worker(work, name=name or group, group=group, thread=True, exclusive=exclusive,
                        exit_on_error=False)

    def _load_startup_data(self) -> None:
        path = self._data_path
        self._start(lambda: jobs.load_data(path), group="data", name="startup")

    def on_unmount(self) -> None:
        self._stop.set()  # a run still going ends within a batch
        self._sweep_stop.set()  # and a sweep's trials too
        self._remember()

    @property
    def form(self) -> HyperparamsForm:
        return self.query_one(HyperparamsForm)

    # -- panes ----------------------------------------------------------------------------------
    @property
    def active_pane(self) -> str:
        return self.query_one(TabbedContent).active

    def action_show_pane(self, pane: str) -> None:
        """Show ``pane`` and focus its main widget, both before the next key is handled: the focus
        is set here (Screen.set_focus), not scheduled (Widget.focus), so in a quick burst of keys
        each key reaches the pane shown by the keys before it."""
        self.query_one(TabbedContent).active = pane
        if pane == "forecast":
            target = "#multiday DataTable" if self.forecast_view == "multiday" else "#forecast-pane"
        else:
            target = PANE_FOCUS[pane]
        self.screen.set_focus(self.query_one(target))
        if pane == "runs":
            self.query_one(RunsPane).reload()  # runs recorded meanwhile, e.g. by `ridership train`
        if pane == "sweeps":
            self.query_one(SweepsPane).shown()
        self._system_timer.resume() if pane == "device" or self.training else self._system_timer.pause()
        if pane == "device":
            self._sample_system()

    def action_leave_field(self) -> None:
        """Esc in a field gives the keys back to the app (number keys switch panes again)."""
        if isinstance(self.focused, (Input, Select, Checkbox)):
            self.action_show_pane(self.active_pane)

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
        self.query_one(DatasetPane).show_status(f"Loading {path}…")  # plain text: a path may hold [ ]
        self._start(lambda: jobs.open_file(path), group="data", name=f"open {path}")

    def action_download(self) -> None:
        self.action_show_pane("dataset")
        self.query_one(DatasetPane).show_status("Downloading the CTA data…")
        post = self.post_message
        self._start(lambda: jobs.download(post), group="data", name="download")

    @on(DownloadProgress)
    @pane_may_be_gone
    def _download_progress(self, msg: DownloadProgress) -> None:
        share = f" ({msg.done / msg.total:.0%})" if msg.total else ""
        self.query_one(DatasetPane).show_status(f"Downloading the CTA data: {msg.done / 1e6:.1f} MB{share}")

    def _use_data(self, data: "RidershipData") -> None:
        self.data = data
        bar = self.query_one(HeaderBar)
        if data.is_synthetic:
            bar.show_data("SYNTHETIC DATA · o open a file · d download the real data", synthetic=True)
        else:
            bar.show_data("Data: ", data.source.path or "", f" ({data.source.kind}) · {len(data.frame):,} days")
        self.query_one(DatasetPane).show_data(data)
        self.form.set_split_days(functools.partial(jobs.split_days, data))  # revalidates (window vs splits)
        self.query_one(DatasetPane).show_splits(self.form.config)
        forecast = self.query_one(ForecastPane)
        import pandas as pd  # loaded with the data by now (never before the first screen)

        from engine.data.calendar import infer_day_type

        forecast.set_calendar_guess(infer_day_type(data.last_date + pd.Timedelta(days=1)))
        forecast.show_history(data.frame.iloc[-HISTORY_DAYS:])
        self.query_one(MultiDayView).set_data(data)  # it asks for a forecast if there is a model
        if self.active is not None:
            self._backtest()  # the model in use, on the new data
        else:
            self._load_remembered()

    def _data_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(DatasetPane)
        if worker.name == "startup" and state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.call_after_refresh(self._refresh_device)
        if state == WorkerState.SUCCESS:
            self._use_data(worker.result)
            freeze_heap()
            pane.show_status("")
            if worker.name != "startup":
                self.notify(f"Loaded {worker.result.source.label}")  # notify never parses markup (below)
        elif state == WorkerState.ERROR:
            message = explain(worker.error)
            if self.data is None:  # nothing loaded yet: say so, and fall back to the demo series
                self._use_data(jobs.synthetic())
                message += " — showing the synthetic demo series instead"
            else:
                message += " — the data shown is unchanged"
            pane.show_status(message, error=True)
            self.notify(message, title="Could not load the data", severity="error", timeout=10)

    # -- hyperparameters ------------------------------------------------------------------------
    @on(HyperparamsForm.Changed)
    @pane_may_be_gone
    def _config_changed(self, msg: HyperparamsForm.Changed) -> None:
        if msg.config is not None:
            self._last_form = dict(msg.config)  # remembered when the app closes (its panes gone by then)
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
        if self.sweeping:
            self.notify("A sweep is running: s stops it, then t starts a run (both at once would share the cores).",
                        severity="warning")
            return False
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return False
        if self._store_opening:  # a run started now would go unrecorded: start it once the store answers
            self._start_when_store_opens = True
            self.notify("Opening the run store; the run starts in a moment.", timeout=3)
            return False
        return True

    @property
    def _run_name(self) -> str:
        """The run started last, at the start of a sentence ("The run" until it has said its id)."""
        return run_title(self.run_id) if self._announced else "The run"

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
        self._remember()  # the settings of the last run started are the ones to come back to
        parent, self._fork_parent = self._fork_parent, None
        if parent is not None:
            self.form.show_note(None)
        data, store, post = self.data, self.recording_store, self.post_message
        what = f"A fork of run {parent}" if parent else "A new run"
        self._launch(config, f"{what}: preparing the windows (and loading torch the first time)…",
                     lambda job, should_stop, abandoned: jobs.train(
                         config, data, job, post, store=store, parent_id=parent, should_stop=should_stop,
                         abandoned=abandoned))

    def _launch(self, config: TrainConfig, text: str,
                body: Callable[[int, Callable[[], bool], Callable[[], bool]], "RunResult"]) -> None:
        """Run ``body(job, should_stop, abandoned)`` (tui.jobs.train or resume) in the training
        worker, the Training pane showing it."""
        self.job += 1
        self.training = True
        self.run_id, self._announced = None, False
        self._stop = threading.Event()
        self._run_config = config
        self.action_show_pane("training")
        self.query_one(TrainingPane).starting(self.job, config.epochs, text, loss=config.loss)
        job, stop = self.job, self._stop

        def work() -> "RunResult":
            from textual.worker import get_current_worker

            worker = get_current_worker()
            # A stop names its cause when the app was told to exit (a closed browser page, a signal).
            return body(job, lambda: (stop.is_set() and (getattr(self, "exit_reason", None) or True))
                        or worker.is_cancelled, lambda: worker.is_cancelled)

        self._start(work, group="train", name=f"run {job}")
        self._device_timer.resume()
        self._system_timer.resume()

    def action_stop_training(self) -> None:
        if self.sweeping:  # never beside a training run: s stops whichever runs
            self._stop_sweep()
            return
        if not self.training:
            self.notify("No run is training.", severity="information")
            return
        self._stop.set()
        self.query_one(TrainingPane).stopping()

    @on(TrainingStarted)
    @pane_may_be_gone
    def _run_started(self, msg: TrainingStarted) -> None:
        if msg.job == self.job:
            self.run_id, self._announced = msg.run_id, True
            self.query_one(TrainingPane).started(msg)
            self.query_one(RunsPane).reload()  # the new run, "running"
        freeze_heap()  # the run's modules (torch.optim, torchmetrics) are imported by now

    @on(EpochCompleted)
    @pane_may_be_gone
    def _epoch(self, msg: EpochCompleted) -> None:
        if msg.job == self.job:
            self.query_one(TrainingPane).add_epoch(msg)
            if self.query_one(TabbedContent).active == "runs":
                self.query_one(RunsPane).reload(at_most_every=1.0)  # the running run's epochs, live

    def _train_worker(self, worker: Worker, state: WorkerState) -> None:
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        self.training = False
        self._device_timer.pause()
        if self.active_pane != "device":
            self._system_timer.pause()
        self._refresh_device()
        pane = self.query_one(TrainingPane)
        if state == WorkerState.ERROR:
            # Before TrainingStarted the settings, the device or the data were refused: it never started.
            failed = f"{run_title(self.run_id)} could not run" if self._announced else "The run could not start"
            pane.finished(f"{failed}: {explain(worker.error)}", "", error=True)
            self.query_one(RunsPane).reload()
            return
        if state == WorkerState.CANCELLED:
            pane.finished(f"{self._run_name} was cancelled.", "")
            return
        run: RunResult = worker.result
        if run.model is not None:
            self.use_model(run)
        pane.finished(*summarise(run), error=run.status == "failed")
        for warning in run.warnings:  # the model is kept; the record or checkpoint may be incomplete
            self.notify(warning, title=f"{run_title(run.run_id)}: the run store", severity="warning", timeout=10)
        self.query_one(RunsPane).reload()

    # -- screenshots, notifications -------------------------------------------------------------
    def action_save_svg(self) -> None:
        """The screen as an SVG file in the user data folder's screenshots/ (engine.store.paths.home_dir;
        $RIDERSHIP_HOME overrides it), not wherever the app was started."""
        from engine.store.paths import home_dir

        folder = home_dir() / "screenshots"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = self.save_screenshot(path=str(folder))
        except OSError as exc:
            self.notify(f"{exc.filename or folder}: {exc.strerror or exc}", title="Could not save the screenshot",
                        severity="error", timeout=10)
            return
        self.notify(f"Saved to {Path(path).resolve()}", title="Screenshot saved (SVG)", timeout=10)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification is plain text: messages carry paths, CSV cells and engine errors, and
        a ``[/]`` in them must show as written, not raise MarkupError (``markup`` is ignored)."""
        super().notify(str(message), title=str(title), severity=severity, timeout=timeout, markup=False)

    # -- device ---------------------------------------------------------------------------------
    def _refresh_device(self) -> None:
        config = self._run_config if self.training else self.form.config
        choice = config.device if config is not None else "auto"
        self._device_choice = choice
        describe = self._describe_device
        self._start(lambda: describe(choice), group="device", name=f"device {choice}")

    def _device_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(DevicePane)
        if state == WorkerState.SUCCESS:
            info, available = worker.result
            pane.show(info, available, self._device_choice or "auto", self.training)
            self.query_one(HeaderBar).show_device(device_label(info))
            freeze_heap()  # torch is imported by now
        elif state == WorkerState.ERROR:
            pane.show_error(explain(worker.error))
            self.query_one(HeaderBar).show_device("device ?")

    def _sample_system(self) -> None:
        """One sample of this process's CPU, memory (and GPU) for the Device pane's sparklines."""
        if self.sampler is not None:
            self.query_one(SystemSparklines).add_sample(self.sampler.sample())

    # -- the one worker handler -------------------------------------------------------------------
    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        name = worker_groups(type(self)).get(event.worker.group)
        if name is None:
            return
        try:
            getattr(self, name)(event.worker, event.state)
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
        yield SystemCommand("Start a sweep", "Search the form's settings over the Sweeps pane's ranges (g there)",
                            self._palette_sweep)
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
        yield SystemCommand("Save an SVG screenshot", "The current screen as an SVG file in the user data "
                            "folder's screenshots/ (ctrl+s)", self.action_save_svg)
        yield SystemCommand("Toggle light/dark theme", "Switch between textual-light and textual-dark",
                            self.action_toggle_theme)

    def _palette_sweep(self) -> None:
        self.action_show_pane("sweeps")
        self.query_one(SweepsPane).action_start()

    def _palette_backtest(self) -> None:
        self.action_show_pane("backtest")
        self.query_one(BacktestPane).action_backtest()

    def _palette_forecast(self, code: str | None) -> None:
        self.action_forecast_view("next")
        self.query_one(ForecastPane).action_pick(code or "calendar")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def make_app(data_path: str | None = None, data: "RidershipData | None" = None,
             config: TrainConfig | None = None,
             describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
             runs_db: str | None = None, sampler: SystemSampler | None = None) -> RidershipApp:
    """The one factory: the CLI and the tests build the app here.

    ``data`` skips the loading step (tests); ``describe_device`` replaces the torch query (snapshots
    need a fixed device description, and then get no live system samples unless ``sampler`` is
    given); ``runs_db`` is the run store (default: engine.store.default_db_path).
    """
    return RidershipApp(data_path=data_path, data=data, config=config, describe_device=describe_device,
                        runs_db=runs_db, sampler=sampler)


def run_app(data_path: str | None = None, runs_db: str | None = None) -> int:
    from .exit_signals import exit_on_sigterm

    app = make_app(data_path=data_path, runs_db=runs_db)
    with exit_on_sigterm(app):  # SIGTERM quits like Ctrl+Q: a run going is recorded "stopped"
        app.run()
    return app.return_code or 0
