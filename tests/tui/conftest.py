"""Fixtures for the app tests: synthetic data, a small config, a fixed device description."""

from __future__ import annotations

import asyncio
import time
import weakref

import pytest
from support import workers_ended

from engine.config import TrainConfig
from tui.app import make_app

# Short splits on the synthetic series, so a run of a few epochs takes well under a second.
TUI_CONFIG = TrainConfig(
    window_length=14,
    hidden_size=16,
    epochs=3,
    train_start="2016-01",
    train_end="2016-12",
    valid_start="2017-01",
    valid_end="2017-03",
    test_start="2017-04",
    test_end="2017-06",
    device="cpu",
)


async def settled(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
    """Stands in for Textual's ``wait_for_idle`` in the app tests: waits for a state, not a time.

    Pilot calls ``wait_for_idle`` twice after each key and once in ``pause()``: it sleeps in 20 ms
    steps until the process's CPU time stops advancing, so at least 20 ms a call, and the whole
    second of ``max_sleep`` while a run trains in a worker thread (measured: 1,152 calls took 135 s
    of the app tests' 244 s). Here: every message queued in the app and in the widgets of every
    screen on the stack (a pane under a confirmation still gets its worker's results) is processed,
    with those that processing queued, and a screen is refreshed when callbacks wait for its
    refresh, in rounds until nothing is left or, while a worker keeps posting, for a bounded number
    of rounds. A test that needs more (an epoch, a finished worker) waits for that state itself
    (``until``, ``settle``).
    """
    from textual._context import active_app

    app = active_app.get()
    for _ in range(_SETTLE_ROUNDS):
        await asyncio.sleep(0)
        if not await _processed(app, _nodes(app)):
            return  # the app raised: the test sees it as the app ends
        waiting = [screen for screen in app.screen_stack if screen._callbacks]
        for screen in waiting:  # a refresh now (it would come within a frame) runs them
            screen._on_timer_update()
        if waiting:
            await asyncio.sleep(0)
        if not any(screen._callbacks for screen in app.screen_stack) and all(
            node._message_queue.empty() for node in _nodes(app)
        ):
            return


def _nodes(app) -> list:
    """The app and every widget of every screen on its stack."""
    return [app, *(node for screen in app.screen_stack for node in screen.walk_children(with_self=True))]


async def _processed(app, nodes, timeout: float = 30.0) -> bool:
    """Every message queued in ``nodes`` now has been handled (a callback queued behind them in each
    has run), as Pilot's ``_wait_for_screen`` does for the current screen alone. False if the app
    raised meanwhile."""
    left = 0
    done = asyncio.Event()

    def one_done() -> None:
        nonlocal left
        left -= 1
        if left == 0:
            done.set()

    for node in nodes:
        if _idle(node):  # nothing queued or being handled: a callback would only cost a message
            continue
        if node.call_later(one_done):
            left += 1
    if not left:
        return True
    waits = [asyncio.create_task(done.wait()), asyncio.create_task(app._exception_event.wait())]
    _, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if len(pending) == len(waits):
        raise AssertionError(f"the app did not handle its queued messages within {timeout:.0f} s")
    return left == 0


def _idle(node) -> bool:
    """Nothing queued for ``node`` and none of its handlers running (``_handling``)."""
    return (
        node._message_queue.empty()
        and node._pending_message is None
        and not node._next_callbacks
        and not _HANDLING.get(node)
    )


_SETTLE_ROUNDS = 8
_HANDLING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # message pump -> handlers running now


@pytest.fixture(autouse=True)
def _handling(monkeypatch):
    """Counts the messages each message pump is handling now, so that ``settled`` asks only the
    pumps that are busy (or have messages queued) to report back: one callback message to every
    widget each round made 205,545 of the at least 303,237 messages that test_app and test_runs_pane
    dispatched (59,256 callbacks after)."""
    from textual.message_pump import MessagePump

    dispatch = MessagePump._dispatch_message

    async def counted(self, message):
        _HANDLING[self] = _HANDLING.get(self, 0) + 1
        try:
            return await dispatch(self, message)
        finally:
            _HANDLING[self] -= 1

    monkeypatch.setattr(MessagePump, "_dispatch_message", counted)


@pytest.fixture(autouse=True)
def _settle_on_state(monkeypatch):
    import textual.app
    import textual.pilot

    monkeypatch.setattr(textual.app, "wait_for_idle", settled)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", settled)


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch):
    """The apps built here animate nothing (Textual's own ``TEXTUAL_ANIMATIONS=none``): Pilot waits
    after every key until animations end, and a pane key's tab underline glides for about 0.3 s of
    idle CPU (measured: 8 pane keys 3.7 s -> 1.9 s). What a test checks is the end state, which is
    the same. The apps the tests start as processes (tmux, pty, browser) keep the animations."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")


@pytest.fixture(autouse=True)
def _quick_chart_rebuilds(monkeypatch):
    """Charts rebuild at most every 0.05 s here, not every 0.25 s (tui/widgets/charts.py): the
    tests wait for the last build (a snapshot, the points drawn), and a chart drawn twice in a row
    made them wait out the interval idle (tests/tui on two workers 107 s -> 99 s, the same CPU).
    The app keeps 0.25 s: more frequent builds slowed training with the charts on screen by about
    15% (bench/bench_ui.py, epochs in its window)."""
    import tui.widgets.charts

    monkeypatch.setattr(tui.widgets.charts, "REBUILD_EVERY_S", 0.05)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    """The data's age ("1,828 days old") is shown on screen: a fixed today keeps snapshots from ageing."""
    monkeypatch.setenv("RIDERSHIP_TODAY", "2026-12-02")


@pytest.fixture(scope="session")
def tui_data():
    from engine.data import sources

    return sources.synthetic()


@pytest.fixture
def tui_config() -> TrainConfig:
    return TUI_CONFIG


def fixed_device(choice: str):
    """What the Device pane shows in tests: no torch query, the same on every machine."""
    from engine.device import DeviceInfo

    return DeviceInfo("cpu", "Test CPU", None, None, "2.x (test)", 1), ["cpu"]


@pytest.fixture
def make_test_app(tui_data, tui_config):
    def build(**kw):
        kw.setdefault("data", tui_data)
        kw.setdefault("config", tui_config)
        kw.setdefault("describe_device", fixed_device)
        return make_app(**kw)

    return build


async def wait_for(pilot, condition, timeout: float = 180.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds (a functional wait, not a timing assertion). The
    timeout only turns a hang into a failure: on a crowded machine a stopped run's scoring alone once
    took over 30 s, so it is generous."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def wait_workers(app, group: str | None = None) -> None:
    # A run asked for while the run store is still opening starts once the store answers (a state,
    # not a time): wait for that start first, or there is no training worker yet to wait for.
    if group in (None, "train") and app.link.start_run_when_open:
        job, deadline = app.job, time.monotonic() + 180

        def answered() -> bool:  # the deferred start launched the run's worker, or the form refuses to start
            return app.job != job or (not app.link.start_run_when_open and app.form.config is None)

        while not answered():
            assert time.monotonic() < deadline, "timed out waiting for the run deferred until the store opened"
            await asyncio.sleep(0.05)
    await workers_ended(app, group)


@pytest.fixture
def until():
    """``await until(pilot, condition, what=...)``: see wait_for."""
    return wait_for


@pytest.fixture
def settle():
    """``await settle(app, group)``: wait for the app's workers (of a group) to end."""
    return wait_workers


@pytest.fixture
def tui_csv(tmp_path):
    """``tui_csv(name, first, last, header=None)``: the synthetic series written in the CTA's format."""
    from engine.data.synthetic import synthetic_frame

    def write(
        name: str = "good.csv",
        first: str = "2015-06-01",
        last: str = "2017-08-31",
        header: str = "service_date,day_type,bus,rail_boardings,total_rides",
    ):
        frame = synthetic_frame(first, last)
        lines = [header] + [
            f"{d:%m/%d/%Y},{r.day_type},{int(r.bus)},{int(r.rail)},{int(r.bus + r.rail)}" for d, r in frame.iterrows()
        ]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


async def send_keys(app, *keys: str) -> None:
    """Keys as the terminal driver delivers them, with no wait after each: a burst as a user types
    it (``pilot.press`` waits for each key's messages, see ``settled``); tests then wait for what
    the keys should have done.
    """
    from textual import events

    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)
        await asyncio.sleep(0)


@pytest.fixture
def keys():
    """``await keys(app, "1", "pagedown")``: see send_keys."""
    return send_keys
