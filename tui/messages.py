"""Messages that cross widgets. They carry plain values (numbers, strings), never tensors or frames.

Posted from worker threads with ``post_message`` (thread-safe, non-blocking); handled on the UI
thread, the only place widgets are touched. The app's handlers of the ones a worker posts are
wrapped in ``pane_may_be_gone``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from textual.css.query import NoMatches
from textual.message import Message


def pane_may_be_gone(handler: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """For messages a worker posts: one can arrive while the app closes, after its panes were taken
    down. There is nothing left to show then (as in the app's ``_worker_state``)."""
    @functools.wraps(handler)
    def tolerant(self, msg) -> None:
        try:
            handler(self, msg)
        except NoMatches:
            self.log.warning(f"{type(msg).__name__} arrived after its pane was removed")

    return tolerant


class TrainingStarted(Message):
    """A run has validated its settings, cut its splits and (when recorded) has its id; training
    starts next (engine.events.RunStarted as plain values). MAE in riders.

    ``job`` is the app's count of the runs it started (to ignore a message of an earlier attempt);
    ``run_id`` is the run's id in the run store (None: not recorded)."""

    def __init__(self, job: int, run_id: int | None, epochs: int, device: str, naive_valid_mae: float,
                 train_windows: int, valid_windows: int) -> None:
        super().__init__()
        self.job = job
        self.run_id = run_id
        self.epochs = epochs
        self.device = device
        self.naive_valid_mae = naive_valid_mae
        self.train_windows = train_windows
        self.valid_windows = valid_windows


class EpochCompleted(Message):
    """One finished epoch (engine.events.EpochEvent as plain values; MAE in riders, where the event
    has millions). ``job`` and ``run_id`` as in TrainingStarted."""

    def __init__(self, job: int, run_id: int | None, epoch: int, epochs: int, train_loss: float,
                 train_mae: float, valid_mae: float, lr: float, seconds: float, best_epoch: int,
                 best_valid_mae: float) -> None:
        super().__init__()
        self.job = job
        self.run_id = run_id
        self.epoch = epoch
        self.epochs = epochs
        self.train_loss = train_loss
        self.train_mae = train_mae
        self.valid_mae = valid_mae
        self.lr = lr
        self.seconds = seconds
        self.best_epoch = best_epoch
        self.best_valid_mae = best_valid_mae


class DownloadProgress(Message):
    """Bytes of the CTA archive downloaded so far (total None when the server does not say)."""

    def __init__(self, done: int, total: int | None) -> None:
        super().__init__()
        self.done = done
        self.total = total


class SweepEvent(Message):
    """One event of a running sweep (engine.sweep.local.run_local's ``on_event`` dict, plain values:
    kind sweep_started, trial_started, epoch, trial_done, worker_died, stopping or sweep_done)."""

    def __init__(self, event: dict) -> None:
        super().__init__()
        self.event = event
