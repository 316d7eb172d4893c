"""The web driver for browser mode: Textual's WebDriver, made to end when its page or server does.

textual-serve runs one app process per browser page and talks to it over the process's stdin and
stdout. Textual's own WebDriver leaves three ways for that process to outlive its page:
- when the server goes away (stdin at end of file) the input thread returns and nothing tells the
  app, which keeps running with no one able to reach it;
- once stdout is a broken pipe every write raises, including the ones made while exiting;
- a quit from the server (the page closed) looks like any other exit, so a run it stops was
  recorded as "stopped by the user".

This driver exits on end of file, ignores writes nobody can read, and leaves the reason on the app
(``app.exit_reason``) so a run stopped by it says why (tui/app.py passes it to the training loop).
tui/serve.py selects it through TEXTUAL_DRIVER.
"""

from __future__ import annotations

import asyncio
import os
import signal

from textual import messages
from textual.drivers.web_driver import WebDriver

from .exit_signals import signal_reason

PAGE_CLOSED = "the browser page closed"
SERVER_GONE = "the browser server went away"


class RidershipWebDriver(WebDriver):
    """WebDriver that exits when its server is gone and says why it exited."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fileno = self.fileno

        def write(data: bytes) -> None:
            try:
                os.write(fileno, data)
            except OSError:  # the server is gone (broken pipe): nobody can read this any more
                pass

        self._write = write

    def _exit_because(self, reason: str) -> None:
        """Ask the app to exit, the first reason given being the one recorded (thread-safe)."""
        if getattr(self._app, "exit_reason", None) is None:
            self._app.exit_reason = reason
        self._app.post_message(messages.ExitApp())

    def start_application_mode(self) -> None:
        super().start_application_mode()
        if os.name == "nt":
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            # The same exit as the parent class's handlers, with the signal named as the reason.
            loop.add_signal_handler(signum, self._exit_because, signal_reason(signum))

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "quit":  # sent when the page's websocket closes (tui/serve.py: or the server stops)
            reason = payload.get("reason")
            self._exit_because(reason[:200] if isinstance(reason, str) and reason else PAGE_CLOSED)
            return
        super().on_meta(packet_type, payload)

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # end of file on stdin, not our own stop: the server is gone
            self._exit_because(SERVER_GONE)
