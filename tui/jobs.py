"""Every thread body of the app: load data, train, resume, forecast, backtest, describe the device,
read or change the run store for the Runs pane, and run a sweep for the Sweeps pane.

Plain functions taking plain arguments (and a ``post`` callable for progress messages): no widgets,
no app. Each returns one typed value (no tuples). The app starts each one in a thread worker
(tui/app.py ``_start``), which ends by posting a typed message (tui/messages.py) carrying that value
or the error; the tests can call them directly. Training and resuming are engine.session's
``start_run`` and ``resume_run``, the same calls the CLI makes: the session validates the settings,
resolves the device, cuts the splits, records the run and applies the CPU thread policy.

Torch-based engine modules are imported inside the functions, so importing the app stays light
and the first screen is fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .messages import DownloadProgress, EpochCompleted, SweepProgress, TrainingStarted

if TYPE_CHECKING:
    from engine.config import TrainConfig
    from engine.data import RidershipData
    from engine.events import EpochEvent, RunStarted
    from engine.session import RunResult
    from engine.store import RunRecord, RunStore
    from engine.sweep.local import SweepOutcome, SweepPlan
    from engine.sweep.records import SweepSummary

Post = Callable[[Any], object]
EXPORT_FORMATS = ("csv", "json")


# -- data -------------------------------------------------------------------------------------------
def load_data(path: str | None) -> RidershipData:
    """A path the user gave, else $RIDERSHIP_DATA, the cache, or the synthetic series."""
    from engine.data import sources

    _refuse_pipes(path)
    return sources.resolve(path)


def open_file(path: str) -> RidershipData:
    from engine.data import sources

    _refuse_pipes(path)
    return sources.load_path(path, "path")


def _refuse_pipes(path: str | None) -> None:
    """The app reads data in a worker thread it waits for when quitting: a named pipe with no
    writer would block it for ever (and Ctrl+Q with it), so the app takes regular files only."""
    from engine.errors import DataError
    from engine.files import refusal

    path = os.path.expanduser(path) if path else None
    if path and not os.path.isdir(path) and (why := refusal(path, "a CSV file or a .tgz archive")):
        raise DataError(why)  # (a folder: the engine's own words)


def download(post: Post) -> RidershipData:
    from engine.data import sources

    csv = sources.download(progress=lambda done, total: post(DownloadProgress(done, total)))
    return sources.load_path(csv, "download")


def update_from_portal(start: RidershipData | None, say: Callable[[str, bool], None]) -> RidershipData:
    """engine.data.portal.update (from the last update's table, the cached snapshot, or ``start``), then
    the updated table; ``say(text, done)`` reports progress and, at the end, the outcome line."""
    from engine.data import portal, sources

    client = portal.Client.from_env()
    base = portal.base_data() or (start if start is not None and not start.is_synthetic else None)
    result = portal.update(
        client, base, progress=lambda rows: say(f"Updating from {client.base}: {rows:,} rows", False)
    )
    say(f"Updated from {client.base}: {result.line()}", True)
    return sources.load_path(result.path, "portal")


def synthetic() -> RidershipData:
    """The demo series (quick: no file, no torch)."""
    from engine.data import sources

    return sources.synthetic()


# -- training ---------------------------------------------------------------------------------------
class _Reporter:
    """engine.session's callbacks, posted to the app as messages in riders."""

    def __init__(self, job: int, post: Post) -> None:
        self.job, self.post = job, post
        self.run_id: int | None = None

    def started(self, started: RunStarted) -> None:
        self.run_id = started.run_id
        self.post(
            TrainingStarted(
                self.job,
                started.run_id,
                started.epochs,
                started.device,
                started.naive_valid_mae,
                started.train_windows,
                started.valid_windows,
            )
        )
        for event in started.inherited:  # a resume: the parent's epochs first, out of the new total
            self.epoch(replace(event, epochs=started.epochs))

    def epoch(self, e: EpochEvent) -> None:
        self.post(
            EpochCompleted(
                self.job,
                self.run_id,
                e.epoch,
                e.epochs,
                e.train_loss,
                e.train_mae_riders,
                e.valid_mae_riders,
                e.lr,
                e.seconds,
                e.best_epoch,
                e.best_valid_mae_riders,
            )
        )


def train(
    config: TrainConfig,
    data: RidershipData,
    job: int,
    post: Post,
    *,
    store: RunStore | None = None,
    parent_id: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> RunResult:
    """engine.session.start_run: a new run (a fork of ``parent_id`` when given), recorded in
    ``store`` when there is one. ``should_stop`` (the user's stop, or the app quitting) is checked
    every batch; ``abandoned`` (the app is quitting) skips the scoring."""
    from engine import session

    reporter = _Reporter(job, post)
    return session.start_run(
        config,
        data,
        store=store,
        parent_id=parent_id,
        origin="fork" if parent_id is not None else "new",
        on_start=reporter.started,
        on_epoch=reporter.epoch,
        should_stop=should_stop,
        abandoned=abandoned,
    )


def resume(
    store: RunStore,
    run_id: int,
    more: int,
    data: RidershipData,
    job: int,
    post: Post,
    *,
    should_stop: Callable[[], bool] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> RunResult:
    """engine.session.resume_run: recorded run ``run_id`` trained ``more`` epochs from its
    checkpoint, as a new recorded run. Its parent's epochs are posted first, so the charts show the
    whole history and the new epochs continue it."""
    from engine import session

    reporter = _Reporter(job, post)
    return session.resume_run(
        store,
        run_id,
        more,
        data,
        on_start=reporter.started,
        on_epoch=reporter.epoch,
        should_stop=should_stop,
        abandoned=abandoned,
    )


# -- using a model ----------------------------------------------------------------------------------
# Using a model goes through engine.predictor.Predictor, as the CLI does. How far to trust a model
# on some data (scores, LightGBM, intervals) takes seconds on the real data and only depends on the
# model, its settings and the data, so the last few Predictors are kept (each keeps its assessment).
# A Predictor holds its model, so a weak mapping keyed by the model would never let go of it.
_predictors: list = []
_predicting = threading.Lock()
KEPT_PREDICTORS = 2  # the model in use and the one before it (each holds its splits: megabytes)


def predictor(run: RunResult, data: RidershipData):
    """The engine.predictor.Predictor of the run's model on ``data`` (one per model, settings and data)."""
    from engine.predictor import Predictor

    with _predicting:
        for kept in _predictors:
            if kept.model is run.model and kept.data is data and kept.config == run.config:
                return kept
        kept = Predictor.from_result(run, data)
        _predictors.insert(0, kept)
        del _predictors[KEPT_PREDICTORS:]
        return kept


def assessment(run: RunResult, data: RidershipData, horizon: int = 1):
    """engine.assessment.Assessment of the run's model on ``data`` with intervals up to ``horizon``
    days ahead, reused while the model and the data are the same."""
    return predictor(run, data).assess(horizon=horizon)


def live_score(store: RunStore | None, run: RunResult, data: RidershipData):
    """engine.predictor.Predictor.live_score of the run's model on ``data``: the days after its test
    split (or after the data it was trained on, as the store says), kept with its Predictor; None when
    there are no such days."""
    from engine.predictor import trained_last_of

    kept = predictor(run, data)
    if kept.trained_last is None:
        kept.learn_trained_last(trained_last_of(store, run.run_id))
    return kept.live_score()


def kept_live_score(run: RunResult):
    """The live score computed already for the run's model (None when none is kept): a fork is
    offered only on what the user was shown."""
    with _predicting:
        for kept in _predictors:
            if kept.model is run.model:
                return kept.kept_live_score()
    return None


def record_forecasts(store: RunStore | None, run: RunResult, data: RidershipData, forecasts, bands, trust) -> str:
    """engine.journal.record_forecast for a forecast made in the app; "" when recorded, else why not
    (the forecast itself stands: an unwritable store only loses the journal line)."""
    from engine.errors import RidershipError
    from engine.journal import record_forecast

    if store is None or getattr(store, "read_only", False):
        return "the run store is not open for writing"
    try:
        record_forecast(
            store,
            run.run_id,
            forecasts,
            bands,
            data_last=data.last_date,
            model=run.name,
            level=trust.intervals.level,
            origin="app",
        )
    except RidershipError as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class NextDay:
    """The next day's forecast (engine.forecast.Forecast) and how far to trust it
    (engine.assessment.Assessment: scores beside naive and LightGBM, intervals)."""

    forecast: Any
    trust: Any
    live: Any = None  # engine.livescore.LiveScore on the days after its test split, when the data holds some


def forecast(run: RunResult, data: RidershipData, day_type: str | None) -> NextDay:
    """engine.forecast.Forecast of the day after the data (``day_type`` None: the calendar's), and
    how far to trust it (engine.assessment.Assessment: scores beside naive and LightGBM, intervals).
    The first row of the multi-day forecast, so both views agree."""
    table = predictor(run, data).forecast(1, {1: day_type} if day_type else None)
    return NextDay(table.forecasts[0], table.trust)


def forecast_days(run: RunResult, data: RidershipData, days: int, overrides: dict[str, str]):
    """engine.predictor.ForecastTable: ``days`` days after the data, each fed back as the next input,
    with the interval of each (h days ahead: the errors of forecasts h days ahead)."""
    return predictor(run, data).forecast(days, overrides)


def backtest(run: RunResult, data: RidershipData) -> dict:
    """engine.predictor.Predictor.backtest on the validation and test splits cut with the run's own
    settings: split name -> SplitBacktest."""
    return predictor(run, data).backtest()


def use_run(store: RunStore, run_id: int, data: RidershipData) -> RunResult:
    """engine.session.load_recorded_run: recorded run ``run_id``'s kept model, to forecast with."""
    from engine.session import load_recorded_run

    return load_recorded_run(store, run_id, data)


@dataclass(frozen=True)
class DeviceReading:
    """What the Device pane shows: the device a run with ``choice`` would use, the kinds available."""

    choice: str
    info: Any  # engine.device.DeviceInfo
    available: list[str]


def describe_device(choice: str):
    """engine.device.DeviceInfo for the device a run with ``choice`` would use, and the kinds available
    (a pair: the app's ``describe_device`` hook, which tests replace, has this shape)."""
    from engine.device import available, describe, resolve_device

    return describe(resolve_device(choice)), available()


def split_days(data: RidershipData, config: TrainConfig) -> dict[str, int]:
    """Days of ``data`` in each split of ``config`` (the form checks the window length against them)."""
    index = data.frame.index
    days = {}
    for name, (start, end) in config.split_bounds().items():
        first = int(index.searchsorted(start.normalize(), side="left"))
        stop = int(index.searchsorted(end.normalize(), side="right")) if end is not None else len(index)
        days[name] = max(0, stop - first)
    return days


# -- the run store (Runs pane) ----------------------------------------------------------------------
@dataclass(frozen=True)
class RunListing:
    runs: list  # RunRecord, with their epochs
    diff: dict[str, list[Any]]  # RunStore.config_diff of the picked runs (or of all runs)


def open_store(path: str | None, timeout: float) -> RunStore:
    """engine.store.RunStore.open, waiting at most ``timeout`` seconds for another process's lock
    (read-only when the file or folder cannot be written)."""
    from engine.store import RunStore

    return RunStore.open(path, timeout=timeout)


def store_is_busy(error: BaseException | None) -> bool:
    """Whether opening the store failed only because another connection holds its lock."""
    text = str(error)
    return "database is locked" in text or "database is busy" in text


def list_runs(store: RunStore, selected: list[int]) -> RunListing:
    """Every run with its epochs (for its training time), and the settings that differ between the
    picked runs (between all runs while fewer than two are picked)."""
    from engine.store import RunStoreError

    runs = []
    for summary in store.list_runs():
        try:
            runs.append(store.get_run(summary.run_id))
        except RunStoreError:  # deleted by another process meanwhile
            continue
    ids = {r.run_id for r in runs}
    basis = [i for i in selected if i in ids]
    if len(basis) < 2:
        basis = [r.run_id for r in runs]
    diff = store.config_diff(basis) if len(basis) > 1 else {}
    return RunListing(runs, diff)


def read_runs(store: RunStore, ids: list[int]) -> list[RunRecord]:
    """These runs with their epochs, in the order given."""
    return [store.get_run(i) for i in ids]


@dataclass(frozen=True)
class Deleted:
    deleted: list[int]  # the ids deleted
    errors: list[str]  # why the others could not be


def delete_runs(store: RunStore, ids: list[int]) -> Deleted:
    """Delete each run and its checkpoint: the ids deleted, and why the others could not be."""
    from .format import explain

    deleted, errors = [], []
    for run_id in ids:
        try:
            store.delete_run(run_id)
            deleted.append(run_id)
        except Exception as exc:  # noqa: BLE001 - each run's own reason, then the others go on
            errors.append(explain(exc))
    return Deleted(deleted, errors)


def export_run(store: RunStore, run_id: int, target: str) -> list[Path]:
    """Run ``run_id`` as NAME.csv and NAME.json (a name ending in .csv or .json: that one file); a
    relative name goes next to the runs database."""
    from engine.store.export import export_run as engine_export_run

    run = store.get_run(run_id)
    path = Path(target).expanduser()
    if not path.is_absolute():
        path = store.home / path
    suffix = path.suffix.lstrip(".").lower()
    if suffix in EXPORT_FORMATS:
        return [engine_export_run(run, path, suffix)]
    return [engine_export_run(run, path.with_name(f"{path.name}.{fmt}"), fmt) for fmt in EXPORT_FORMATS]


# -- sweeps (Sweeps pane) ---------------------------------------------------------------------------
def sweep(
    plan: SweepPlan,
    data: RidershipData,
    store_path: str | Path,
    workers: int,
    post: Post,
    should_stop: Callable[[], bool],
    backend: str = "local",
    address: str | None = None,
) -> SweepOutcome:
    """engine.sweep.runner.run_sweep on ``backend`` ("local" or "ray", joining ``address`` when
    given), each of its events posted as a SweepProgress (its typed engine.sweep.events
    dataclass). The local trial processes
    write to a log beside the store (sweep-logs/NAME.log): the app owns the terminal. A recorded
    sweep of that name with another space or other fixed settings is refused (a continue must
    search the same space)."""
    from engine.sweep.events import parse_event
    from engine.sweep.runner import run_sweep

    log = Path(store_path).parent / "sweep-logs" / f"{_file_name(plan.name)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    _start_resource_tracker(log)

    def on_event(event: dict) -> None:
        typed = parse_event(event)
        if typed is not None:
            post(SweepProgress(typed))

    return run_sweep(
        plan,
        data,
        store_path,
        backend=backend,
        address=address,
        workers=workers,
        on_event=on_event,
        should_stop=should_stop,
        worker_log=log,
    )


def _start_resource_tracker(log: Path) -> None:
    """Start multiprocessing's resource tracker (once per process) with ``log`` as its stderr.

    It hands its child ``sys.stderr.fileno()``; inside the app that is Textual's capture of
    stderr, whose fileno is -1, and every worker process would then fail to start ("bad value(s)
    in fds_to_keep"). Once started, the tracker serves every later sweep."""
    import sys
    from multiprocessing import resource_tracker

    saved = sys.stderr
    with open(log, "a") as stream:
        sys.stderr = stream
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "sweep"


def sweep_board(store: RunStore, name: str | None) -> SweepSummary | None:
    """Sweep ``name`` (None: the one started last) as stored now, with its trials
    (engine.sweep.records.sweep_summary); None when no sweep is recorded."""
    from engine.sweep import records

    name = name or records.latest_sweep(store)
    return records.sweep_summary(store, name) if name else None
