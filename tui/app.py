"""The Ridership app: eight panes, the keys that reach them, and the workers that do the heavy work.

One pattern for thread work:

- Every thread body lives in tui/jobs.py: plain functions of plain arguments (and a ``post``
  callable for progress) returning one typed value, no widgets. Training and resuming are
  engine.session's ``start_run`` and ``resume_run``, the calls the CLI makes too.
- Only this App starts workers: ``self._start(work, ended)`` runs ``work`` in a thread and ends by
  posting ``ended(result)`` or ``ended(error=...)``: a typed message of tui/messages.py, handled
  below with ``@on``. Panes never start one: a pane that needs work done posts a request message
  (``BacktestPane.Requested``, ``RunsPane.ListRequested``...), handled here too.
- Progress comes back as messages (tui/messages.py) posted from the worker thread.

The walk from ``t`` to the training loop and back to the screen:
``action_start_training`` -> ``jobs.train`` (a thread worker) -> ``engine.session.start_run`` (the
training loop) -> ``EpochCompleted`` / ``RunEnded`` messages -> ``_epoch`` / ``_run_ended`` here ->
``TrainingPane.add_epoch`` / ``finished``.

Parts with their own state are plain objects this App holds (tui/parts.py): ``self.link`` (the run
store's connection), ``self.model`` (the model in use and what is remembered of it), ``self.sweep``
(the sweep running). The panes keep no copy of the model: they are told when it changes.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Checkbox, ContentSwitcher, Footer, Input, Select, TabbedContent, TabPane

from engine.config import TrainConfig
from engine.domain import DAY_TYPE_NAMES, format_riders
from engine.errors import RidershipError

from . import jobs, parts, terminal_watch
from .format import (
    HISTORY_DAYS,
    backtest_label,
    device_label,
    explain,
    model_label,
    run_title,
    summarise,
    trust_summary,
)
from .messages import (
    BacktestMade,
    DataLoaded,
    DaysForecastMade,
    DeviceDescribed,
    DownloadProgress,
    EpochCompleted,
    ForecastMade,
    JobEnded,
    ModelLoaded,
    RunEnded,
    RunExported,
    RunsDeleted,
    RunsListed,
    RunsRead,
    StoreOpened,
    SweepBoardRead,
    SweepEnded,
    SweepProgress,
    TrainingStarted,
    TrialRunRead,
    pane_may_be_gone,
)
from .system_metrics import SystemSampler
from .widgets import lazy
from .widgets.backtest import BacktestPane
from .widgets.dataset import DatasetPane
from .widgets.device import DevicePane
from .widgets.forecast import ForecastPane
from .widgets.header import HeaderBar
from .widgets.hyperparams import HyperparamsForm
from .widgets.multiday import MultiDayView
from .widgets.open_file import OpenFileScreen
from .widgets.runs import RunsPane
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
MAX_TOASTS = 3  # notifications shown at once: a new one takes the oldest's place
DEVICE_REFRESH_S = 1.0
SYSTEM_SAMPLE_S = 1.0  # the Device pane's sparklines, while it is shown or a run trains
# Where the focus goes when a pane is shown (the widget whose keys the pane's footer lists).
PANE_FOCUS = {
    "dataset": "#dataset-pane RowTable",
    "hyperparams": "#form",
    "training": "#training-pane",
    "device": "#device-pane",
    "runs": "#runs-table",
    "backtest": "#backtest-pane",
    "sweeps": "#sweeps-table",
}


def in_field(widget) -> bool:
    """A text field or a selector (open or closed) has the focus: the keys are its own."""
    from textual.widgets._select import SelectOverlay

    return isinstance(widget, (Input, Select, SelectOverlay))


# Textual's reading of ESC followed by a digit (textual/_ansi_sequences.py: WezTerm's Option+digit on
# macOS), for the pane keys 1-8: what a quick Esc then a pane's number arrives as.
ESC_DIGITS = {"¡": "1", "™": "2", "£": "3", "¢": "4", "∞": "5", "§": "6", "¶": "7", "•": "8"}


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


def replaced(previous: int | None, unrecorded: RunResult | None, now: RunResult) -> str:
    """The end of "run N is now the model in use": the model it replaced (recorded run
    ``previous``, or the ``unrecorded`` one) and the way back."""
    if unrecorded is not None:
        return f", in place of {model_label(unrecorded)} (not recorded: there is no going back to it)"
    if previous is None or previous == now.run_id:
        return ""
    return f", in place of run {previous} (Runs (6), u on run {previous} goes back)"


class RidershipApp(App[int]):
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
        Binding("question_mark", "help", "Help", key_display="?", show=False),
        Binding("f1", "help", "Help", show=False),
        Binding("U", "update_data", "Update", show=False),  # from the city's data portal (tui/app_portal.py)
        Binding("j", "journal", "Journal", show=False),  # the forecast journal (tui/widgets/journal.py)
        Binding("F", "fork_forward", "Fork forward", show=False),  # splits moved forward (tui/app_portal.py)
        Binding("ctrl+s", "save_svg", "SVG", show=False),
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
        sampler: SystemSampler | None = None,
    ) -> None:
        super().__init__()
        self._unbuilt: dict[str, list[Widget]] = {}  # pane -> its widgets mounted empty (see compose)
        self._builds = 0  # panes being built now (action_show_pane)
        self._held_keys: list[events.Key] | None = None  # keys pressed while a pane is being built
        self._device_shown: tuple | None = None  # what the Device pane and the header show of the device
        self.link = parts.StoreLink(runs_db)
        self.model = parts.ModelInUse()
        self.sweep = parts.SweepControl()
        self._data_path = data_path
        self._initial_data = data
        self._config_given = config is not None  # given: tests, a preset; else the remembered settings apply
        if config is None:  # the best preset (or the remembered settings); r in the form restores it
            from engine.presets import DEFAULT_PRESET, apply_preset

            config = apply_preset(DEFAULT_PRESET)
        self._initial_config = config
        self._describe_device = describe_device or jobs.describe_device
        self.data: RidershipData | None = None
        self.last_run: RunResult | None = None  # the run started here that ended last (in use or not)
        self.job = 0  # how many runs this app has started; messages of an earlier one are ignored
        self.run_id: int | None = None  # the id in the run store of the run started last (None: not yet, or unrecorded)
        self.training = False
        self._fork_parent: int | None = None  # the run the next run is a fork of
        self.live_score = None  # engine.livescore.LiveScore of the last forecast (F forks forward)
        self._announced = False  # the run started last has said who it is (TrainingStarted)
        self._stop = threading.Event()
        self._run_config: TrainConfig | None = None
        self._device_choice: str | None = None
        # Live readings of this process for the Device pane. A fixed device description (tests,
        # snapshots) comes without them unless a sampler is given: no live numbers on screen.
        self.sampler = sampler if sampler is not None or describe_device is not None else SystemSampler()
        self._last_form: dict = config.to_dict()  # the form's last valid settings, remembered at exit
        self._remembered_data: str | None = None  # the data file opened last session, while it loads
        self._startup_data: DataLoaded | None = None  # the usual sources' data, set aside meanwhile
        self._data_how = "startup"  # how the data in use came: startup, open, download or remembered
        self._no_model_said = ""  # what Forecast and Backtest were told last while no model is in use

    # The app's state as tests and panes read it (the parts hold it).
    @property
    def store(self) -> RunStore | None:
        return self.link.store

    @property
    def store_note(self) -> str:
        return self.link.note

    @property
    def recording_store(self) -> RunStore | None:
        return self.link.recording

    @property
    def active(self) -> RunResult | None:
        """The model in use (None: none)."""
        return self.model.run

    @property
    def sweeping(self) -> bool:
        return self.sweep.running

    # -- layout ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Only the Dataset pane (shown first) and the form are built here: the other seven panes
        # (about 100 widgets) are mounted empty and built the first time they are shown
        # (action_show_pane, tui/widgets/lazy.py), in tests as for users; most sessions open few.
        yield HeaderBar(id="top-bar")
        with Panes(initial="dataset", id="panes"):
            for pane, key, label in PANES:
                yield TabPane(f"{key} {label}", *self._pane_content(pane), id=pane)
        yield Footer(compact=True)

    def _pane_content(self, pane: str) -> list[Widget]:
        if pane == "dataset":
            return [DatasetPane(id="dataset-pane")]
        if pane == "hyperparams":  # the app reads its settings from the start; its rows wait (show_rows)
            return [HyperparamsForm(self._initial_config, id="form")]
        if pane == "forecast":  # the next day (with a chosen day type) or several days; m switches
            views = [lazy.hold(ForecastPane(id="forecast-pane")), lazy.hold(MultiDayView(id="multiday"))]
            self._unbuilt[pane] = views
            return [ContentSwitcher(*views, initial="forecast-pane", id="forecast-views")]
        panes = {"training": TrainingPane, "device": DevicePane, "runs": RunsPane, "backtest": BacktestPane}
        widget = lazy.hold(panes.get(pane, SweepsPane)(id=f"{pane}-pane"))
        self._unbuilt[pane] = [widget]
        return [widget]

    @property
    def unbuilt_panes(self) -> set[str]:
        """The panes not shown yet, mounted empty (their state kept, their widgets not built)."""
        return set(self._unbuilt)

    async def on_event(self, event: events.Event) -> None:
        """Keys pressed while a pane is being built are held, and replayed once it is shown (in
        order, before any key pressed later): they are meant for it. Ctrl+Q quits at once.
        Esc and a pane's number typed quickly arrive as one escape sequence, which Textual reads as
        macOS's Option+digit character ("∞" for ESC 5) and a field would take as text: they are
        split back into the two keys the user pressed."""
        if isinstance(event, events.Key) and not event.is_forwarded and event.character in ESC_DIGITS:
            digit = ESC_DIGITS[event.character]
            if self._held_keys is None and self._field_focused():
                self.action_leave_field()  # now: an escape event reaches the field only after the digit
            else:
                await self.on_event(events.Key("escape", "\x1b"))
            await self.on_event(events.Key(digit, digit))
            return
        if (
            self._held_keys is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and event.key not in ("ctrl+q", "ctrl+c")
        ):
            self._held_keys.append(event)
            return
        await super().on_event(event)

    def on_mount(self) -> None:
        self._device_timer = self.set_interval(DEVICE_REFRESH_S, self._refresh_device, pause=True)
        self._system_timer = self.set_interval(SYSTEM_SAMPLE_S, self._sample_system, pause=True)
        if not self.is_headless:
            self.set_interval(terminal_watch.CHECK_EVERY_S, self._exit_if_terminal_gone)
        self.query_one("#dataset-pane RowTable").focus()
        # The work whose results the panes show (they keep them, built or not).
        # SQLite may wait for another process's lock: never before the first screen, never on this thread.
        # Opening counts from now: a `t` pressed before the worker starts waits for the store too
        # (it would otherwise start a run that is never recorded).
        self.link.opening = True
        self.call_after_refresh(self._open_store)
        # Parsing a CSV and importing torch (the device query) hold the GIL for much of a second
        # each: start them one after the other, once the first screen is painted, so neither
        # delays that screen and the data does not wait for torch.
        if self._initial_data is not None:
            self._use_data(self._initial_data)
            self.call_after_refresh(self._refresh_device)
        else:
            self.call_after_refresh(self._load_startup_data)  # then the device query
        self.query_one(TrainingPane).show_loss(self._initial_config.loss)

    def _exit_if_terminal_gone(self) -> None:
        if terminal_watch.terminal_gone():
            self._stop.set()  # a run still going ends within a batch
            self.sweep.stop.set()
            self.exit(return_code=129)  # 128 + SIGHUP, what a hang-up would have given

    def _start(
        self,
        work: Callable[[], Any],
        ended: Callable[..., Message],
        *,
        group: str,
        name: str = "",
        exclusive: bool = True,
    ) -> None:
        """Run ``work`` (a tui.jobs call) in a thread worker that ends by posting ``ended(result)``,
        or ``ended(error=exc)`` when it raised: a typed JobEnded message, handled with @on below.
        ``exclusive``: a newer worker of the group supersedes the last (its message is dropped)."""

        def body() -> None:
            from textual.worker import get_current_worker

            worker = get_current_worker()
            try:
                message = ended(work())
            except Exception as exc:  # noqa: BLE001 - every error reaches the user in words (format.explain)
                message = ended(error=exc)
            if not worker.is_cancelled:
                self.post_message(message)

        self.run_worker(body, name=name or group, group=group, thread=True, exclusive=exclusive, exit_on_error=False)

    def _load_startup_data(self) -> None:
        path = self._data_path
        self._start(lambda: jobs.load_data(path), DataLoaded, group="data", name="startup")

    def get_default_screen(self) -> Screen:
        """The first screen, with the size classes (-short/-tall, -narrow/-wide) its first resize
        gives it already set: set then, they restyle every widget of the app (about 0.1 s, once
        per start) just after each was styled."""
        screen = super().get_default_screen()
        width, height = self.size
        screen.update_classes(
            {
                name: name
                in screen._get_breakpoint_classes(width, self.HORIZONTAL_BREAKPOINTS)
                | screen._get_breakpoint_classes(height, self.VERTICAL_BREAKPOINTS)
                for _, name in self.HORIZONTAL_BREAKPOINTS + self.VERTICAL_BREAKPOINTS
            },
            update=False,
        )
        return screen

    def on_unmount(self) -> None:
        self._stop.set()  # a run still going ends within a batch
        self.sweep.stop.set()  # and a sweep's trials too
        state = self.model.state
        if state is not None and self._last_form != state.form:
            self._save_state(form=self._last_form)  # the user's edits; the model in use as they left it

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
        each key reaches the pane shown by the keys before it. A pane never shown is built first,
        right after the current message; keys pressed meanwhile wait for it (on_event), and a pane
        asked for meanwhile waits its turn (shown in the order asked)."""
        if pane in self._unbuilt or self._builds:
            if self._held_keys is None:
                self._held_keys = []
            self._builds += 1
            self.call_next(self._build_pane, pane)
            return
        self._show(pane)

    def _show(self, pane: str) -> None:
        if pane == "hyperparams":
            self.form.show_rows()  # built when first shown, not at start (HyperparamsForm)
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

    async def _build_pane(self, pane: str) -> None:
        """Build a pane shown for the first time (drawing what it was told meanwhile), and show it
        once laid out (the tab bar's underline measures the tabs then)."""
        for widget in self._unbuilt.get(pane, ()):
            await lazy.build(widget)  # at most once: a pane built already is left as it is
        self._unbuilt.pop(pane, None)
        self.call_after_refresh(self._pane_built, pane)

    async def _pane_built(self, pane: str) -> None:
        """Show the pane just built, then let the keys held meanwhile through (in order)."""
        self._builds -= 1
        self._show(pane)
        if self._builds == 0 and self._held_keys is not None:
            held, self._held_keys = self._held_keys, None
            for key in held:
                await super().on_event(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Number keys do not switch panes while a field or a selector has the focus: a digit
        typed there (a date, a day count, a selector's option) stays in that pane."""
        if action == "show_pane" and self.focused is not None and in_field(self.focused):
            return False
        return True

    def _field_focused(self) -> bool:
        return isinstance(self.focused, (Input, Select, Checkbox)) or in_field(self.focused)

    def action_leave_field(self) -> None:
        """Esc in a field gives the keys back to the app (number keys switch panes again)."""
        if self._field_focused():
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

    def load_file(self, path: str, how: str = "open") -> None:
        self.query_one(DatasetPane).show_status(f"Loading {path}…")  # plain text: a path may hold [ ]
        self._start(
            lambda: jobs.open_file(path),
            functools.partial(DataLoaded, how=how),
            group="data",
            name=f"{how} {path}",
            exclusive=how != "remembered",
        )

    def action_download(self) -> None:
        self.action_show_pane("dataset")
        self.query_one(DatasetPane).show_status("Downloading the CTA data…")
        post = self.post_message
        self._start(
            lambda: jobs.download(post), functools.partial(DataLoaded, how="download"), group="data", name="download"
        )

    def action_update_data(self) -> None:
        from .app_portal import update_data

        update_data(self)

    def action_journal(self) -> None:
        from .app_portal import open_journal

        open_journal(self)

    def action_fork_forward(self) -> None:
        from .app_portal import fork_forward

        fork_forward(self)

    @on(DownloadProgress)
    @pane_may_be_gone
    def _download_progress(self, msg: DownloadProgress) -> None:
        share = f" ({msg.done / msg.total:.0%})" if msg.total else ""
        self.query_one(DatasetPane).show_status(f"Downloading the CTA data: {msg.done / 1e6:.1f} MB{share}")

    def _use_data(self, data: RidershipData) -> None:
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

    @on(DataLoaded)
    @pane_may_be_gone
    def _data_loaded(self, msg: DataLoaded) -> None:
        pane = self.query_one(DatasetPane)
        if msg.how == "startup":
            self.call_after_refresh(self._refresh_device)
        if msg.how == "startup" and (self._remembered_data or self._data_how != "startup"):
            # The file opened last time is loading, or has loaded already (see _restore); or the
            # user opened one meanwhile: theirs stays.
            self._startup_data = msg
            return
        if msg.how == "remembered":
            self._remembered_data = None
            if msg.error is not None and self.data is None and self._startup_data is not None:
                self.notify(
                    explain(msg.error),
                    title="The data file opened last time could not be read",
                    severity="warning",
                    timeout=10,
                )
                msg = self._startup_data  # the usual sources' data, as without it
        if msg.error is None:
            self._data_how = msg.how
            self._use_data(msg.result)
            freeze_heap()
            pane.show_status("")
            if msg.how != "startup":
                self.notify(f"Loaded {msg.result.source.label}")  # notify never parses markup (below)
            if msg.how == "open" and msg.result.source.path:
                self._save_state(data_path=str(msg.result.source.path))  # opened by the user: remembered
            return
        message = explain(msg.error)
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
            self.query_one(TrainingPane).show_loss(config.loss)
            # A changed device setting is described again, once the first query (after the
            # first paint) has been made; until then this would import torch too early.
            if self._device_choice is not None and config.device != self._device_choice and not self.training:
                self._refresh_device()

    # -- training -------------------------------------------------------------------------------
    def _can_start(self) -> bool:
        if self.training:
            self.notify(f"{self._run_name} is still training: s stops it, then t starts another.", severity="warning")
            return False
        if self.sweeping:
            self.notify(
                "A sweep is running: s stops it, then t starts a run (both at once would share the cores).",
                severity="warning",
            )
            return False
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return False
        if self.link.opening:  # a run started now would go unrecorded: start it once the store answers
            self.link.start_run_when_open = True
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
            self.notify(
                f"Fix the hyperparameters first ({first}: {self.form.errors.get(first, '')}).",
                title="Cannot start a run",
                severity="error",
            )
            return
        self._save_state(form=self._last_form)  # the settings of the last run started are the ones to come back to
        parent, self._fork_parent = self._fork_parent, None
        if parent is not None:
            self.form.show_note(None)
        data, store, post = self.data, self.recording_store, self.post_message
        what = f"A fork of run {parent}" if parent else "A new run"
        self._launch(
            config,
            f"{what}: preparing the windows (and loading torch the first time)…",
            lambda job, should_stop, abandoned: jobs.train(
                config, data, job, post, store=store, parent_id=parent, should_stop=should_stop, abandoned=abandoned
            ),
        )

    def _launch(
        self, config: TrainConfig, text: str, body: Callable[[int, Callable[[], bool], Callable[[], bool]], RunResult]
    ) -> None:
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

        def work() -> RunResult:  # stops with the user's s, or when the worker is cancelled (the app quits)
            from textual.worker import get_current_worker

            worker = get_current_worker()
            # A stop names its cause when the app was told to exit (a closed browser page, a signal),
            # whichever the loop sees first: the user's s, or the worker cancelled by the app's exit.
            return body(
                job,
                lambda: (stop.is_set() or worker.is_cancelled) and (getattr(self, "exit_reason", None) or True),
                lambda: worker.is_cancelled,
            )

        self._start(work, functools.partial(RunEnded, job=job), group="train", name=f"run {job}")
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

    @on(RunEnded)
    @pane_may_be_gone
    def _run_ended(self, msg: RunEnded) -> None:
        self.training = False
        self._device_timer.pause()
        if self.active_pane != "device":
            self._system_timer.pause()
        self._refresh_device()
        pane = self.query_one(TrainingPane)
        if msg.error is not None:
            # Before TrainingStarted the settings, the device or the data were refused: it never started.
            failed = f"{run_title(self.run_id)} could not run" if self._announced else "The run could not start"
            pane.finished(f"{failed}: {explain(msg.error)}", "", error=True)
            self.query_one(RunsPane).reload()
            return
        run = self.last_run = msg.result
        pane.finished(*summarise(run), error=run.status == "failed")
        self._offer_model(run)
        for warning in run.warnings:  # the model is kept; the record or checkpoint may be incomplete
            self.notify(warning, title=f"{run_title(run.run_id)}: the run store", severity="warning", timeout=10)
        self.query_one(RunsPane).reload()

    def _offer_model(self, run: RunResult) -> None:
        """A run the user started here ended: a finished one becomes the model in use (saying which
        it replaced and how to go back); a stopped or failed one never replaces it."""
        if run.model is None:
            return
        name = run_title(run.run_id) if run.run_id is not None else "The run (not recorded)"
        previous, kept = self.model.run_id, self.model.run
        if run.status == "finished":
            self.use_model(run)
            if previous is not None or kept is not None:
                unrecorded = kept if kept is not None and kept.run_id is None else None
                self.notify(
                    f"{name} is now the model in use{replaced(previous, unrecorded, run)}.",
                    title="Model in use changed",
                    timeout=10,
                )
            return
        now = (
            f"the model in use is still {model_label(kept)}"
            if kept is not None
            else f"the model in use is still run {previous}'s"
            if previous is not None
            else "there is no model in use"
        )
        how = (
            f"Runs (6), u on run {run.run_id} uses it"
            if run.run_id is not None
            else "it was not recorded, so it cannot be used"
        )
        self.notify(
            f"{name} {run.status}: {now}. Its best weights are kept: {how}.", title="Model in use unchanged", timeout=10
        )
        self._show_no_model()

    # -- help -------------------------------------------------------------------------------------
    def action_help(self) -> None:
        """? or F1: every key of the pane shown (its focused widget and the pane) and of the app."""
        from .widgets.help import HelpScreen

        if isinstance(self.screen, ModalScreen):
            return  # a dialog is open: its own keys are on its buttons
        pane_keys, app_keys, seen = [], [], set()
        for _key, active in self.active_bindings.items():
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            shown = binding.key_display or self.get_key_display(binding)
            if active.node is self or isinstance(active.node, Screen):
                app_keys.append((shown, binding.description))
            else:  # the pane's own keys first (the footer's, then the others), a table's or a scroll's after
                ours = type(active.node).__module__.startswith(__package__ or "tui")
                pane_keys.append(((not ours, not binding.show), (shown, binding.description)))
        pane_keys = [line for _, line in sorted(pane_keys, key=lambda item: item[0])]  # stable: bindings' order kept
        label = dict((pane, label) for pane, _, label in PANES).get(self.active_pane, self.active_pane)
        self.push_screen(HelpScreen(label, pane_keys, app_keys))

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
            self.notify(
                f"{exc.filename or folder}: {exc.strerror or exc}",
                title="Could not save the screenshot",
                severity="error",
                timeout=10,
            )
            return
        self.notify(f"Saved to {Path(path).resolve()}", title="Screenshot saved (SVG)", timeout=10)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity="information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: messages carry paths, CSV cells and engine errors, and
        a ``[/]`` in them must show as written, not raise MarkupError (``markup`` is ignored)."""
        for old in list(self._notifications)[: -(MAX_TOASTS - 1)]:  # toasts never pile up over a pane
            self._unnotify(old, refresh=False)
        super().notify(str(message), title=str(title), severity=severity, timeout=timeout, markup=False)

    # -- device ---------------------------------------------------------------------------------
    def _refresh_device(self) -> None:
        config = self._run_config if self.training else self.form.config
        choice = config.device if config is not None else "auto"
        self._device_choice = choice
        describe = self._describe_device
        self._start(
            lambda: jobs.DeviceReading(choice, *describe(choice)),
            DeviceDescribed,
            group="device",
            name=f"device {choice}",
        )

    @on(DeviceDescribed)
    @pane_may_be_gone
    def _device_described(self, msg: DeviceDescribed) -> None:
        pane = self.query_one(DevicePane)
        if msg.error is None:
            reading = msg.result
            # Read every second during a run; on a CPU nothing it shows changes: redrawn only on change.
            shown = (reading.info, tuple(reading.available), self._device_choice or "auto", self.training)
            if shown != self._device_shown:
                self._device_shown = shown
                pane.show(reading.info, reading.available, self._device_choice or "auto", self.training)
                self.query_one(HeaderBar).show_device(device_label(reading.info))
            freeze_heap()  # torch is imported by now; during a run, what it made so far (O(1))
        else:
            self._device_shown = None
            pane.show_error(explain(msg.error))
            self.query_one(HeaderBar).show_device("device ?")

    def _sample_system(self) -> None:
        """One sample of this process's CPU, memory (and GPU) for the Device pane's sparklines."""
        if self.sampler is not None:
            shown = self.active_pane == "device"  # else kept, drawn when the pane is shown
            self.query_one(DevicePane).sparklines.add_sample(self.sampler.sample(), draw=shown)

    # -- the model in use ---------------------------------------------------------------------------
    # It changes only when the user says so: u (Runs, Sweeps), a finished run the user started here,
    # or deleting it (tui/parts.py ModelInUse). A stopped or failed run never replaces it.
    def use_model(self, run: RunResult, *, save: bool = True) -> None:
        """``run``'s model is the one in use: the forecasts and the backtest follow it, the Runs
        pane marks it, and (``save``: the user chose it) the app remembers it for the next session."""
        self.model.run, self.model.remembered = run, None  # chosen now: nothing older to load
        self.query_one(MultiDayView).set_model(model_label(run))  # it asks for its forecast
        self.query_one(ForecastPane).model_changed(model_label(run))
        self.query_one(RunsPane).set_active(run.run_id)
        self._backtest()
        if save:
            self._save_state(active_run=run.run_id)

    def drop_model(self, deleted: list[int]) -> None:
        """No model in use any more (the user deleted it): Forecast and Backtest say so."""
        self.model.run, self.model.remembered = None, None
        self.query_one(RunsPane).set_active(None)
        self._show_no_model(gone=set(deleted))
        self._save_state(active_run=None)

    def no_model_text(self, gone: set[int] = frozenset()) -> str:
        """Why Forecast and Backtest have nothing to show, in words that follow the state
        (``gone``: runs just deleted, still listed)."""
        if self.model.run is not None:
            return ""
        if self.model.remembered is not None:
            return f"Loading run {self.model.remembered}'s model, the one in use when the app last closed…"
        if any(r.checkpoint is not None and r.run_id not in gone for r in self.query_one(RunsPane).runs):
            return (
                "No model in use: pick a run in Runs (6) and press u, or train one (3, then t). "
                "A forecast needs a run that finished at least one epoch."
            )
        return MultiDayView.NO_MODEL

    def _show_no_model(self, gone: set[int] = frozenset(), *, if_changed: bool = False) -> None:
        """Forecast and Backtest say why they have nothing, while no model is in use.
        ``if_changed``: only when the words differ from the last said (a listing of the runs)."""
        if self.model.run is not None:
            return
        text = self.no_model_text(gone)
        if if_changed and text == (self._no_model_said or MultiDayView.NO_MODEL):
            return  # said already (the panes' first words, before anything was said, say "train one")
        self._no_model_said = text
        self.query_one(ForecastPane).model_changed(None, text)
        self.query_one(MultiDayView).set_model(None, text)
        self.query_one(BacktestPane).clear(text)

    def use_recorded_run(self, run_id: int, *, remembered: bool = False) -> None:
        """Load recorded run ``run_id``'s kept model (its checkpoint, in a worker) and use it.
        ``remembered``: the run in use when the app last closed (a failure is a warning then)."""
        if self.store is None:
            self.notify(
                self.store_note or "The run store is not open yet.", title="Cannot use the run", severity="error"
            )
            return
        if self.data is None:
            self.notify("The data is still loading.", severity="warning")
            return
        store, data = self.store, self.data
        self._start(
            lambda: jobs.use_run(store, run_id, data),
            functools.partial(ModelLoaded, run_id=run_id, remembered=remembered),
            group="use-run",
            name=f"{'remembered' if remembered else 'use'} {run_id}",
        )

    @on(ModelLoaded)
    @pane_may_be_gone
    def _model_loaded(self, msg: ModelLoaded) -> None:
        if msg.remembered and self.model.remembered != msg.run_id:
            return  # the user chose another model meanwhile: theirs stays
        if msg.error is not None:
            if msg.remembered:
                self.model.remembered = None  # not loaded; the file keeps it (only a user action changes it)
                self.notify(
                    f"{explain(msg.error)}. Pick a run in Runs (6, then u) or train one to forecast.",
                    title="The model in use last time could not be loaded",
                    severity="warning",
                    timeout=10,
                )
                self._show_no_model()
            else:
                self.notify(explain(msg.error), title="Cannot use the run", severity="error", timeout=10)
            return
        run = msg.result
        previous, kept = self.model.run_id, self.model.run
        self.use_model(run, save=not msg.remembered)
        if msg.remembered:
            what = "the model in use when the app closed"
        else:
            unrecorded = kept if kept is not None and kept.run_id is None else None
            what = "now the model in use" + replaced(previous, unrecorded, run)
        self.notify(
            f"{model_label(run)}, trained on {run.data_label}, is {what}: Forecast (5) and Backtest (7) follow it.",
            title=f"Using {run_title(run.run_id).lower()}",
        )

    def _load_remembered(self) -> None:
        """Once the store is open and the data loaded: load the model that was in use last time."""
        run_id = self.model.remembered
        if run_id is not None and self.store is not None and self.data is not None and self.model.run is None:
            self.use_recorded_run(run_id, remembered=True)

    def _save_state(self, **changes) -> None:
        """Write what the app remembers, with ``changes`` made by a user action (see ModelInUse.save)."""
        problem = self.model.save(self.link.recording, **changes)
        if problem:
            self.log.warning(f"app state not saved: {problem}")

    def _restore(self, store: RunStore) -> None:
        """Read what the app remembered: the form's settings (unless the caller chose some) and the
        model to load once the data is in."""
        state = self.model.restore(store.path)
        if state.note:
            self.notify(state.note, title="App state not read", severity="warning", timeout=10)
        if state.form and not self._config_given and self.form.config == self._initial_config:
            try:
                self.form.set_config(TrainConfig.from_dict(state.form))
            except (RidershipError, TypeError, ValueError) as exc:
                self.notify(
                    f"the remembered settings do not load ({exc}); the form holds the best preset",
                    title="Settings not restored",
                    severity="warning",
                    timeout=10,
                )
        path = state.data_path
        loaded = self.data.source.path if self.data is not None else None
        if (
            path
            and self._data_path is None
            and self._initial_data is None
            and str(loaded or "") != path
            and Path(path).is_file()
        ):  # the file the user opened last time, unless told another
            self._remembered_data = path
            self.load_file(path, how="remembered")
        if self.model.remembered is not None:
            self._show_no_model()  # "loading run N's model…"
            self._load_remembered()

    # -- the run store and the Runs pane ----------------------------------------------------------------
    def _open_store(self) -> None:
        """Open the run store in a worker (SQLite may wait for another process's lock). A locked
        store is tried again every STORE_RETRY_S seconds; one that cannot be opened leaves the app
        training, unrecorded; a read-only one lists its runs and records nothing."""
        path, timeout = self.link.path, parts.STORE_OPEN_TIMEOUT_S
        self.link.opening = True
        self._start(lambda: jobs.open_store(path, timeout), StoreOpened, group="store", name="open store")

    @on(StoreOpened)
    @pane_may_be_gone
    def _store_opened(self, msg: StoreOpened) -> None:
        link = self.link
        link.opening = False  # answered: a run waiting for it starts below (recorded or not)
        if link.start_run_when_open:
            link.start_run_when_open = False
            self.call_after_refresh(self.action_start_training)
        pane = self.query_one(RunsPane)
        if msg.error is None:
            link.store, link.note = msg.result, ""
            if link.store.read_only:
                link.note = (
                    f"{link.store.path} is read-only here: its runs are listed, runs started here are not recorded"
                )
                self.notify(link.note, title="Run store opened read-only", severity="warning", timeout=10)
            pane.set_store(link.store, link.note)
            self._restore(link.store)
            self.query_one(SweepsPane).shown()  # a Sweeps pane shown before the store opened reads it now
            return
        message = explain(msg.error)
        if link.busy(msg.error):
            link.note = f"run store busy, retrying every {parts.STORE_RETRY_S:g} s: {message}"
            pane.show_error(link.note)
            self.set_timer(parts.STORE_RETRY_S, self._open_store)
            return
        link.note = "no run store: runs are not recorded"
        pane.show_error(f"{message}. Runs started here are not recorded (--runs-db PATH picks another file).")
        self.notify(message, title="No run store: runs are not recorded", severity="warning", timeout=10)

    @on(RunsPane.OverlayChanged)
    @pane_may_be_gone
    def _overlay_changed(self, msg: RunsPane.OverlayChanged) -> None:
        self.query_one(TrainingPane).set_overlay(msg.curves)

    @on(RunsPane.ForkRequested)
    def _fork_requested(self, msg: RunsPane.ForkRequested) -> None:
        self.form.set_config(TrainConfig.from_dict(msg.config))
        self._fork_parent = msg.run_id
        self.form.show_note(
            f"Fork of run {msg.run_id}: its settings, to edit. t starts the new run, recorded as its child."
        )
        self.action_show_pane("hyperparams")
        self.notify(
            f"The form holds run {msg.run_id}'s settings: edit them, then t starts the fork.",
            title=f"Fork of run {msg.run_id}",
        )

    @on(RunsPane.UseRequested)
    @on(SweepsPane.UseRequested)
    def _use_requested(self, msg: RunsPane.UseRequested | SweepsPane.UseRequested) -> None:
        self.use_recorded_run(msg.run_id)

    @on(RunsPane.ResumeRequested)
    def _resume_requested(self, msg: RunsPane.ResumeRequested) -> None:
        self.action_resume(msg.run_id, msg.more)

    def action_resume(self, run_id: int, more: int) -> None:
        """Train recorded run ``run_id`` for ``more`` epochs from its checkpoint, as a new run."""
        if not self._can_start() or self.store is None:
            return
        if self.recording_store is None:
            self.notify(
                self.store_note or "The run store is read-only.", title="Cannot resume", severity="error", timeout=10
            )
            return
        store, data, post = self.store, self.data, self.post_message
        try:  # one row of SQLite: the epochs to show until the run starts (and its settings still load)
            parent = store.get_run(run_id, with_epochs=False)
            config = parent.config.replace(epochs=parent.epochs_done + more)
        except RidershipError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", timeout=10)
            return
        self._launch(
            config,
            f"Resuming run {run_id} for {more} more epochs: loading its checkpoint…",
            lambda job, should_stop, abandoned: jobs.resume(
                store, run_id, more, data, job, post, should_stop=should_stop, abandoned=abandoned
            ),
        )

    # Every store access of the Runs pane runs in a worker (the database may be busy).
    @on(RunsPane.ListRequested)
    def _list_requested(self, msg: RunsPane.ListRequested) -> None:
        store, selected = self.store, msg.selected
        if store is not None:
            self._start(lambda: jobs.list_runs(store, selected), RunsListed, group="runs-list")

    @on(RunsPane.CurvesRequested)
    def _curves_requested(self, msg: RunsPane.CurvesRequested) -> None:
        store, colors = self.store, msg.colors
        if store is not None:
            self._start(
                lambda: jobs.read_runs(store, list(colors)),
                functools.partial(RunsRead, colors=colors),
                group="runs-curves",
            )

    @on(RunsPane.DeleteRequested)
    def _delete_requested(self, msg: RunsPane.DeleteRequested) -> None:
        store, ids = self.store, msg.run_ids
        if store is not None:
            self._start(lambda: jobs.delete_runs(store, ids), RunsDeleted, group="runs-delete", exclusive=False)

    @on(RunsPane.ExportRequested)
    def _export_requested(self, msg: RunsPane.ExportRequested) -> None:
        store, run_id, target = self.store, msg.run_id, msg.target
        if store is not None:
            self._start(
                lambda: jobs.export_run(store, run_id, target), RunExported, group="runs-export", exclusive=False
            )

    @on(RunsListed)
    @on(RunsRead)
    @on(RunsDeleted)
    @on(RunExported)
    @pane_may_be_gone
    def _runs_job_ended(self, msg: JobEnded) -> None:
        pane = self.query_one(RunsPane)
        if msg.error is not None:
            pane.show_job_error(msg)
        elif isinstance(msg, RunsListed):
            pane.show_listing(msg.result)
            # With runs that have a model and none in use, Forecast and Backtest point to u in Runs
            # (not to training one), from the first listing on.
            self._show_no_model(if_changed=True)
        elif isinstance(msg, RunsRead):
            pane.show_runs_read(msg.colors, msg.result)
        elif isinstance(msg, RunsDeleted):
            if self.model.run_id is not None and self.model.run_id in msg.result.deleted:
                self.drop_model(msg.result.deleted)  # the user deleted the model in use, having been told
            pane.deleted(msg.result.deleted, msg.result.errors)
        elif isinstance(msg, RunExported):
            pane.exported(msg.result)

    # -- forecasts and the backtest -----------------------------------------------------------------
    def _missing_for_a_forecast(self) -> str:
        """Why the model in use cannot forecast or backtest now ("" when it can)."""
        if self.model.run is None:
            return self.no_model_text()
        return "The data is still loading." if self.data is None else ""

    def _model_changed_since(self, msg: ForecastMade | DaysForecastMade | BacktestMade) -> bool:
        """Whether the model ``msg``'s worker used is no longer the one in use (deleted, or another
        chosen, while it ran): its result would show a model the panes no longer name."""
        return msg.run is not self.model.run

    @on(ForecastPane.Requested)
    @pane_may_be_gone
    def _forecast_requested(self, msg: ForecastPane.Requested) -> None:
        missing = self._missing_for_a_forecast()
        if missing:
            self.query_one(ForecastPane).show_message(missing, error=True)
            return
        run, data, day_type, store = self.model.run, self.data, msg.day_type, self.store

        def work() -> jobs.NextDay:
            made = jobs.forecast(run, data, day_type)
            jobs.record_forecasts(store, run, data, [made.forecast], [made.forecast.band], made.trust)  # the journal
            return replace(made, live=jobs.live_score(store, run, data))  # days it never saw, if any

        self._start(work, functools.partial(ForecastMade, run=run, data=data), group="forecast")

    @on(ForecastMade)
    @pane_may_be_gone
    def _forecast_made(self, msg: ForecastMade) -> None:
        if self._model_changed_since(msg):
            return  # the panes already say what is in use now
        pane = self.query_one(ForecastPane)
        if msg.error is not None:
            pane.show_message(f"Could not forecast: {explain(msg.error)}", error=True)
            return
        from engine.data.freshness import last_day_line, stale_note

        result, trust, run, live, data = msg.result.forecast, msg.result.trust, msg.run, msg.result.live, msg.data
        self.live_score = live  # F forks on splits moved forward (tui/app_portal.py)
        how = "from the calendar" if result.inferred else "chosen"
        band = result.band  # its interval, from engine.predictor (as the CLI's)
        level = f"{trust.intervals.level:.0%}"
        text = (
            f"{result.date:%Y-%m-%d} ({result.date:%A}), day type {result.day_type} "
            f"({DAY_TYPE_NAMES[result.day_type]}, {how})\n"
            f"rail {format_riders(result.rail)} ({level}: {format_riders(band['rail_low'])}.."
            f"{format_riders(band['rail_high'])})   bus {format_riders(result.bus)} "
            f"({format_riders(band['bus_low'])}..{format_riders(band['bus_high'])}) riders\n"
            + (f"How formed: {result.note()}\n" if result.note() else "")
            + trust_summary(trust)
            + "\n"
            + (
                f"Since: {live.line()}\n"
                + (f"Warning: {live.warning()}\n" if live.warning() else "")
                + (
                    f"F trains the same settings on splits moved forward {live.days:,} days\n"
                    if live.fork_worthwhile
                    else ""
                )
                if live
                else ""
            )
            + (stale_note(data.last_date, result.date) or last_day_line(data.last_date))
            + "\n"
            f"Model of {run.name}: epoch {run.weights_epoch}'s weights, trained on {run.data_label}"
        )
        pane.show_forecast(text, msg.data.frame.iloc[-HISTORY_DAYS:], result.date, result.rail, result.bus, band)

    @on(MultiDayView.Requested)
    @pane_may_be_gone
    def _days_requested(self, msg: MultiDayView.Requested) -> None:
        view = self.query_one(MultiDayView)
        missing = self._missing_for_a_forecast()
        if missing:
            view.show_status(missing, error=True)
            return
        run, data, days, overrides, store = self.model.run, self.data, msg.days, msg.overrides, self.store

        def work():
            made = jobs.forecast_days(run, data, days, overrides)
            jobs.record_forecasts(store, run, data, made.forecasts, made.bands, made.trust)  # the journal
            return made

        self._start(work, functools.partial(DaysForecastMade, run=run), group="multiday")

    @on(DaysForecastMade)
    @pane_may_be_gone
    def _days_forecast_made(self, msg: DaysForecastMade) -> None:
        if self._model_changed_since(msg):
            return  # the panes already say what is in use now
        view = self.query_one(MultiDayView)
        if msg.error is not None:
            view.show_error(msg.error)
            return
        days = msg.result
        view.show_forecasts(days.forecasts, model_label(msg.run), days.bands, days.trust)

    @on(BacktestPane.Requested)
    @pane_may_be_gone
    def _backtest_requested(self, msg: BacktestPane.Requested) -> None:
        self._backtest()

    def _backtest(self) -> None:
        """Backtest the model in use on its own validation and test splits (in a worker)."""
        pane = self.query_one(BacktestPane)
        missing = self._missing_for_a_forecast()
        if missing:
            pane.show_status(missing, error=True)
            return
        run, data = self.model.run, self.data
        pane.show_status(f"Backtesting {run_title(run.run_id)} on its validation and test splits…")
        self._start(
            lambda: jobs.backtest(run, data), functools.partial(BacktestMade, run=run, data=data), group="backtest"
        )

    @on(BacktestMade)
    @pane_may_be_gone
    def _backtest_made(self, msg: BacktestMade) -> None:
        if self._model_changed_since(msg):
            return  # the panes already say what is in use now
        pane = self.query_one(BacktestPane)
        if msg.error is not None:
            pane.show_error(msg.error)
        else:
            pane.show_result(msg.result, backtest_label(msg.run, msg.data.source.label))

    # -- sweeps ----------------------------------------------------------------------------------------
    @on(SweepsPane.StartRequested)
    @pane_may_be_gone
    def _sweep_requested(self, msg: SweepsPane.StartRequested) -> None:
        """Sweep the form's settings over the ranges asked for, in worker processes (at most one
        sweep, and never beside a training run)."""
        pane = self.query_one(SweepsPane)
        why = self._cannot_sweep()
        if why:
            pane.show_error(f"Cannot start the sweep: {why}")
            self.notify(why, title="Cannot start the sweep", severity="warning")
            return
        from engine.sweep.local import SweepPlan
        from engine.sweep.space import parse_space

        try:
            plan = SweepPlan(msg.name, parse_space(msg.specs), self.form.config, msg.objective, msg.trials)
        except RidershipError as exc:
            pane.show_error(f"Cannot start the sweep: {exc}")
            return
        data, path, workers, post = self.data, self.store.path, msg.workers, self.post_message
        backend, address = msg.backend, msg.address
        stop = self.sweep.starting()
        pane.starting(plan.name, plan.objective, plan.trials, workers)

        def work():
            from textual.worker import get_current_worker

            worker = get_current_worker()
            stopped = lambda: stop.is_set() or worker.is_cancelled
            return jobs.sweep(plan, data, path, workers, post, stopped, backend=backend, address=address)

        self._start(work, SweepEnded, group="sweep", name=f"sweep {plan.name}")

    def _cannot_sweep(self) -> str:
        """Why a sweep cannot start now ("" when it can)."""
        if self.sweep.running:
            return "a sweep is running already: s stops it first"
        if self.training:
            return f"{self._run_name} is training: s stops it first (a sweep and a run would share the cores)"
        if self.data is None:
            return "the data is still loading"
        if self.store is None:
            return (
                "the run store is still opening"
                if self.link.opening
                else f"sweeps need the run store, and it is not open ({self.store_note or 'no run store'})"
            )
        if self.recording_store is None:
            return f"sweeps record every trial, and {self.store_note or 'the run store is read-only'}"
        if self.form.config is None:
            first = self.form.first_invalid()
            return f"fix the hyperparameters first ({first}: {self.form.errors.get(first, '')})"
        return ""

    def _stop_sweep(self) -> None:
        self.sweep.stop.set()
        self.notify("Stopping the sweep: its running trials stop within a batch; finished ones are kept.", timeout=5)

    @on(SweepProgress)
    @pane_may_be_gone
    def _sweep_progress(self, msg: SweepProgress) -> None:
        self.query_one(SweepsPane).sweep_event(msg.event)

    @on(SweepEnded)
    @pane_may_be_gone
    def _sweep_ended(self, msg: SweepEnded) -> None:
        self.sweep.running = False
        pane = self.query_one(SweepsPane)
        if msg.error is None:
            outcome = msg.result
            pane.ended(outcome.status)
            self.notify(
                f"Sweep {outcome.name} {outcome.status}: {len(outcome.ran)} trial"
                f"{'s' if len(outcome.ran) != 1 else ''} ran; every trial is a run in the Runs pane (6).",
                title="Sweep ended",
            )
        else:
            pane.ended("failed", f"The sweep could not run: {explain(msg.error)}")
        self.query_one(RunsPane).reload()

    @on(SweepsPane.BoardRequested)
    def _board_requested(self, msg: SweepsPane.BoardRequested) -> None:
        store, name = self.store, msg.name
        if store is not None:  # the store may be busy with the trials' writes: read in a worker
            self._start(lambda: jobs.sweep_board(store, name), SweepBoardRead, group="sweep-board")

    @on(SweepsPane.CurvesRequested)
    def _trial_curve_requested(self, msg: SweepsPane.CurvesRequested) -> None:
        store, run_id = self.store, msg.run_id
        if store is not None:
            self._start(
                lambda: jobs.read_runs(store, [run_id])[0],
                functools.partial(TrialRunRead, trial=msg.trial),
                group="sweep-curves",
            )

    @on(SweepBoardRead)
    @on(TrialRunRead)
    @pane_may_be_gone
    def _sweep_read(self, msg: SweepBoardRead | TrialRunRead) -> None:
        if msg.error is not None:
            what = "read the sweep's trials" if isinstance(msg, SweepBoardRead) else "read the trial's run"
            self.notify(explain(msg.error), title=f"Could not {what}", severity="error", timeout=10)
        elif isinstance(msg, SweepBoardRead):
            self.query_one(SweepsPane).show_board(msg.result)
        else:
            self.query_one(SweepsPane).show_curve(msg.trial, msg.result)

    # -- command palette ------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for pane, key, label in PANES:
            yield SystemCommand(
                f"Show {label}",
                f"Switch to the {label} pane (key {key})",
                lambda pane=pane: self.action_show_pane(pane),
            )
        yield SystemCommand(
            "Start training", "Train with the Hyperparameters pane's settings (t)", self.action_start_training
        )
        yield SystemCommand(
            "Stop training", "Stop the run within one batch, keeping its best weights (s)", self.action_stop_training
        )
        yield SystemCommand(
            "Start a sweep", "Search the form's settings over the Sweeps pane's ranges (g there)", self._palette_sweep
        )
        yield SystemCommand("Open a data file", "Load a CTA ridership CSV or .tgz (o)", self.action_open_file)
        yield SystemCommand(
            "Download the CTA data", "Fetch and verify the real data into the cache (d)", self.action_download
        )
        yield SystemCommand(
            "Reset hyperparameters", "Back to the default preset's settings (r in the form)", self.form.action_reset
        )
        for code, label in ((None, "the calendar's day type"), *DAY_TYPE_NAMES.items()):
            yield SystemCommand(
                f"Forecast: {label if code is None else f'{code} ({label})'}",
                "Forecast the day after the data with the trained model",
                lambda code=code: self._palette_forecast(code),
            )
        yield SystemCommand(
            "Forecast several days",
            "The next 1 to 28 days, each fed back as the next input (m in the Forecast pane)",
            lambda: self.action_forecast_view("multiday"),
        )
        yield SystemCommand(
            "Backtest the last model",
            "Its forecasts against the actual riders over the "
            "validation and test splits, beside the naive forecast (7)",
            self._palette_backtest,
        )
        yield SystemCommand("Keys", "Every key of the pane shown and of the app (? or F1)", self.action_help)
        yield SystemCommand(
            "Save an SVG screenshot",
            "The current screen as an SVG file in the user data folder's screenshots/ (ctrl+s)",
            self.action_save_svg,
        )
        yield SystemCommand(
            "Toggle light/dark theme", "Switch between textual-light and textual-dark", self.action_toggle_theme
        )

    # Each acts on its pane once shown: call_next runs after the pane's build, if it needed one.
    def _palette_sweep(self) -> None:
        self.action_show_pane("sweeps")
        self.call_next(self.query_one(SweepsPane).action_start)

    def _palette_backtest(self) -> None:
        self.action_show_pane("backtest")
        self.call_next(self.query_one(BacktestPane).action_backtest)

    def _palette_forecast(self, code: str | None) -> None:
        self.action_forecast_view("next")
        self.call_next(self.query_one(ForecastPane).action_pick, code or "calendar")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def make_app(
    data_path: str | None = None,
    data: RidershipData | None = None,
    config: TrainConfig | None = None,
    describe_device: Callable[[str], tuple[Any, list[str]]] | None = None,
    runs_db: str | None = None,
    sampler: SystemSampler | None = None,
) -> RidershipApp:
    """The one factory: the CLI and the tests build the app here.

    ``data`` skips the loading step (tests); ``describe_device`` replaces the torch query (snapshots
    need a fixed device description, and then get no live system samples unless ``sampler`` is
    given); ``runs_db`` is the run store (default: engine.store.default_db_path).
    """
    return RidershipApp(
        data_path=data_path,
        data=data,
        config=config,
        describe_device=describe_device,
        runs_db=runs_db,
        sampler=sampler,
    )


def run_app(data_path: str | None = None, runs_db: str | None = None) -> int:
    from .exit_signals import exit_on_sigterm

    app = make_app(data_path=data_path, runs_db=runs_db)
    with exit_on_sigterm(app):  # SIGTERM quits like Ctrl+Q: a run going is recorded "stopped"
        app.run()
    return app.return_code or 0
