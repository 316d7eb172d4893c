"""SIGTERM to the app is a quit, like Ctrl+Q: a run still going stops within a batch and is recorded
"stopped" (naming the signal) instead of the process dying with the run left "running".

Textual's terminal driver leaves SIGTERM at its default (instant death); its web driver maps it to
an exit (tui/web_driver.py names it). The handler only asks the app's event loop to exit: nothing
else is safe to do from a signal handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from textual.app import App


def signal_reason(signum: int) -> str:
    return f"the app received {signal.Signals(signum).name}"


@contextlib.contextmanager
def exit_on_sigterm(app: App) -> Iterator[None]:
    """While the app runs, SIGTERM makes it exit with 128 + 15 after stopping its run."""

    def handler(signum, _frame) -> None:
        if getattr(app, "exit_reason", None) is None:
            app.exit_reason = signal_reason(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # before or after the event loop: nothing to stop cleanly
            raise SystemExit(128 + signum) from None
        loop.call_soon_threadsafe(app.exit, None, 128 + signum)

    try:
        before = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests driving the app): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
