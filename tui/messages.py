"""Every message that crosses from a worker thread to the app: typed dataclasses, one per kind.

Progress messages (TrainingStarted, EpochCompleted, DownloadProgress, SweepProgress) are posted
while a worker runs; every worker ends by posting one ``JobEnded`` subclass (``result``, or the
``error`` that ended it, and the context the app needs to show it), handled in the app with
``@on``. They carry plain values and engine results, never widgets.

Posted from worker threads with ``post_message`` (thread-safe, non-blocking); handled on the UI
thread, the only place widgets are touched. The app's handlers are wrapped in ``pane_may_be_gone``:
a message can arrive while the app closes, after its panes were taken down.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.css.query import NoMatches
from textual.message import Message

if TYPE_CHECKING:
    from engine.data import RidershipData
    from engine.session import RunResult
    from engine.store import RunRecord, RunStore
    from engine.sweep.events import SweepEvent
    from engine.sweep.local import SweepOutcome
    from engine.sweep.records import SweepSummary

# tui.jobs's result types (NextDay, Deleted, DeviceReading, RunListing) are named in
# comments, not imported: jobs imports this module for its progress messages.


def pane_may_be_gone(handler: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """For messages a worker posts: one can arrive while the app closes, after its panes were taken
    down. There is nothing left to show then."""

    @functools.wraps(handler)
    def tolerant(self, msg) -> None:
        try:
            handler(self, msg)
        except NoMatches:
            self.log.warning(f"{type(msg).__name__} arrived after its pane was removed")

    return tolerant


# -- progress -----------------------------------------------------------------------------------------
@dataclass
class TrainingStarted(Message):
    """A run has validated its settings, cut its splits and (when recorded) has its id; training
    starts next (engine.events.RunStarted as plain values). MAE in riders.

    ``job`` is the app's count of the runs it started (to ignore a message of an earlier attempt);
    ``run_id`` is the run's id in the run store (None: not recorded)."""

    job: int
    run_id: int | None
    epochs: int
    device: str
    naive_valid_mae: float
    train_windows: int
    valid_windows: int


@dataclass
class EpochCompleted(Message):
    """One finished epoch (engine.events.EpochEvent as plain values; MAE in riders, where the event
    has millions). ``job`` and ``run_id`` as in TrainingStarted."""

    job: int
    run_id: int | None
    epoch: int
    epochs: int
    train_loss: float
    train_mae: float
    valid_mae: float
    lr: float
    seconds: float
    best_epoch: int
    best_valid_mae: float


@dataclass
class DownloadProgress(Message):
    """Bytes of the CTA archive downloaded so far (total None when the server does not say)."""

    done: int
    total: int | None


@dataclass
class SweepProgress(Message):
    """One event of a running sweep (engine.sweep.events: SweepStarted, TrialStarted, TrialEpoch,
    TrialDone, WorkerDied, SweepStopping or SweepDone)."""

    event: SweepEvent


# -- endings: each worker posts one ------------------------------------------------------------------
@dataclass
class JobEnded(Message):
    """A worker ended: ``result`` is what its job returned, ``error`` what stopped it (then the
    result is None). Subclasses name the result's type and add the context it is shown with."""

    result: Any = None
    error: BaseException | None = None


@dataclass
class DataLoaded(JobEnded):
    result: RidershipData | None = None
    how: str = "startup"  # startup | open | download


@dataclass
class DeviceDescribed(JobEnded):
    result: Any = None  # tui.jobs.DeviceReading


@dataclass
class RunEnded(JobEnded):
    """The training worker's end: engine.session.RunResult (finished, stopped or failed)."""

    result: RunResult | None = None
    job: int = 0


@dataclass
class StoreOpened(JobEnded):
    result: RunStore | None = None


@dataclass
class ModelLoaded(JobEnded):
    """A recorded run's model, loaded to be the model in use (``remembered``: last session's)."""

    result: RunResult | None = None
    run_id: int = 0
    remembered: bool = False


@dataclass
class RunsListed(JobEnded):
    result: Any = None  # tui.jobs.RunListing


@dataclass
class RunsRead(JobEnded):
    """Runs read for their curves; ``colors``: run id -> the colour it is drawn in."""

    result: list[RunRecord] | None = None
    colors: dict[int, str] = field(default_factory=dict)


@dataclass
class RunsDeleted(JobEnded):
    result: Any = None  # tui.jobs.Deleted


@dataclass
class RunExported(JobEnded):
    result: list[Path] | None = None


@dataclass
class ForecastMade(JobEnded):
    """The next day's forecast by ``run``'s model on ``data``."""

    result: Any = None  # tui.jobs.NextDay
    run: RunResult | None = None
    data: RidershipData | None = None


@dataclass
class DaysForecastMade(JobEnded):
    result: Any = None  # engine.predictor.ForecastTable
    run: RunResult | None = None


@dataclass
class BacktestMade(JobEnded):
    """split name -> engine.scoring.SplitBacktest of ``run``'s model on ``data``."""

    result: dict | None = None
    run: RunResult | None = None
    data: RidershipData | None = None


@dataclass
class SweepEnded(JobEnded):
    result: SweepOutcome | None = None


@dataclass
class SweepBoardRead(JobEnded):
    """The sweep as stored (None: no sweep recorded)."""

    result: SweepSummary | None = None


@dataclass
class TrialRunRead(JobEnded):
    """Trial ``trial``'s run, read for its curve."""

    result: RunRecord | None = None
    trial: int = 0
