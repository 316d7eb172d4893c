"""The line above the tabs: where the data comes from (a long path ellipsized in its middle, so it
never wraps) and, at the right, the device runs use ("cpu", "cuda:0 NVIDIA H200"; "device …"
until the device query has answered)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widget import Widget

from ..format import plain, short_path
from .text import Static


class DataLine(Widget):
    """One line: ``before`` + ``path`` + ``after``, the path shortened in its middle to fit the
    width it has at each render (so a resize never wraps it)."""

    DEFAULT_CSS = "DataLine { width: 1fr; height: 1; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.parts: tuple[str, str, str] = ("Loading data…", "", "")

    def show(self, before: str, path: str = "", after: str = "") -> None:
        self.parts = (before, path, after)
        self.refresh()

    def fitted(self, width: int) -> str:
        before, path, after = self.parts
        if path:
            path = short_path(path, max(8, width - len(before) - len(after)))
        text = before + path + after
        return text if len(text) <= width else text[: max(0, width - 1)] + "…"

    def render(self) -> Content:
        return plain(self.fitted(self.content_region.width or 78))


class HeaderBar(Horizontal):
    DEFAULT_CSS = """
    HeaderBar { height: 1; }
    HeaderBar #device-bar { width: auto; height: 1; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield DataLine(id="data-bar")
        yield Static("device …", id="device-bar")

    def show_data(self, before: str, path: str = "", after: str = "", synthetic: bool = False) -> None:
        """``before`` + ``path`` + ``after`` on one line; only the path is shortened to fit."""
        line = self.query_one(DataLine)
        line.set_class(synthetic, "-synthetic")
        line.show(before, path, after)

    def show_device(self, text: str) -> None:
        self.query_one("#device-bar", Static).update(plain(text))

    @property
    def data_text(self) -> str:
        line = self.query_one(DataLine)
        return line.fitted(line.content_region.width or 78)

    @property
    def device_text(self) -> str:
        return str(self.query_one("#device-bar", Static).render())
