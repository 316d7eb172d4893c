"""A plotext chart whose picture is built off the UI thread.

plotext builds a chart in pure Python: 20-50 ms for a few series of a hundred points, long enough
to make the UI stutter if it ran in ``render`` once per epoch. Here ``draw`` (UI thread) only
records plain lists; one background thread builds the picture with a fresh plotext figure (no
state shared with the widget) and the widget shows the finished text. At most one build per chart
is in flight; data drawn meanwhile is picked up by the next build, so a fast run coalesces frames.
Title and labels are set once; each draw replaces the data, as with ``plt.clear_data()``.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Sequence

import plotext._utility as _plotext_utility
from rich.text import Text
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

# plotext drops duplicate points and tick labels with list(set(...)), whose order follows string
# hashing, which Python randomises per process: the same data could place its tick labels
# differently from one run to the next. Its own source keeps the order-preserving version in a
# comment; use that, so the same data always draws the same picture (snapshot tests rely on it).
_plotext_utility.no_duplicates = lambda data: list(dict.fromkeys(data))

# One thread for every chart: builds are serialised, and only one competes with training for the GIL.
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-build")


@dataclass(frozen=True)
class Series:
    x: Sequence[float]
    y: Sequence[float]
    label: str
    color: str
    marker: str = "braille"
    scatter: bool = False


@dataclass(frozen=True)
class ChartSpec:
    """Everything a build needs, as plain values."""

    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: tuple[Series, ...] = ()
    xticks: tuple[tuple, tuple] | None = None
    xlim: tuple[float, float] | None = None


def thin(x: Sequence[float], y: Sequence[float], limit: int) -> tuple[list, list]:
    """Every k-th point (always keeping the last) so a series has at most ``limit`` points."""
    n = len(x)
    if n <= limit:
        return list(x), list(y)
    step = -(-n // limit)
    keep = list(range(0, n, step))
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return [x[i] for i in keep], [y[i] for i in keep]


def build_chart(spec: ChartSpec, width: int, height: int, theme: str) -> Text:
    """The chart as rich Text. Runs in the builder thread; touches no widget."""
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)  # as textual-plotext's own render does (its issue 5)
    plt.theme(theme)
    plt.title(spec.title)
    if spec.xlabel:
        plt.xlabel(spec.xlabel)
    if spec.ylabel:
        plt.ylabel(spec.ylabel)
    limit = max(2 * width, 20)  # braille has two dots per column: more points add nothing
    for s in spec.series:
        if not len(s.x):
            continue
        x, y = thin(s.x, s.y, limit)
        if s.scatter:
            plt.scatter(x, y, label=s.label, color=s.color, marker=s.marker)
        else:
            plt.plot(x, y, label=s.label, color=s.color, marker=s.marker)
    if spec.xticks is not None:
        plt.xticks(list(spec.xticks[0]), list(spec.xticks[1]))
    if spec.xlim is not None:
        plt.xlim(*spec.xlim)
    return Text.from_ansi(plt.build())


class Chart(PlotextPlot):
    """A line chart with a fixed title and axis labels. PlotextPlot supplies the theme colours."""

    def __init__(self, title: str, xlabel: str = "", ylabel: str = "", *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._spec = ChartSpec(title, xlabel, ylabel)
        self._picture: Text | None = None
        self._building = False
        self._stale = False
        self.points: dict[str, int] = {}  # label -> points drawn, for tests and status lines

    @property
    def chart_title(self) -> str:
        return self._spec.title

    def set_title(self, title: str) -> None:
        self._spec = replace(self._spec, title=title)

    def draw(self, series: Sequence[Series], *, xticks: tuple[Sequence, Sequence] | None = None,
             xlim: tuple[float, float] | None = None) -> None:
        series = tuple(Series(list(s.x), list(s.y), s.label, s.color, s.marker, s.scatter) for s in series)
        self._spec = replace(self._spec, series=series,
                             xticks=(tuple(xticks[0]), tuple(xticks[1])) if xticks is not None else None,
                             xlim=xlim)
        self.points = {s.label: len(s.x) for s in series if len(s.x)}
        self._schedule()

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._schedule())

    def on_resize(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._building:
            self._stale = True
            return
        if not self.is_mounted:
            return
        self._building = True
        self.run_worker(self._build(), group="chart", exit_on_error=False)

    async def _build(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._stale = False
                width, height = self.size
                if width < 10 or height < 5:  # hidden (another pane) or too small: build on resize
                    return
                theme = self._get_plotext_theme_name(self.app.theme)
                self._picture = await loop.run_in_executor(_BUILDER, build_chart, self._spec, width, height, theme)
                self.refresh()
                if not self._stale:
                    return
        finally:
            self._building = False

    def render(self):
        return self._picture if self._picture is not None else ""


def headroom(chart: Chart, lines: list[Series]) -> list[Series]:
    """An invisible point above the data, so the legend (drawn over the top left) hides nothing:
    room for one row per named series and one more."""
    ys = [y for s in lines for y in s.y]
    if not ys:
        return []
    lo, hi = min(ys), max(ys)
    rows = max(chart.size.height - 6, 8) if chart.size.height else 20  # plot rows inside title and axes
    share = min((sum(1 for s in lines if s.label) + 1) / rows, 0.6)
    top = hi + (hi - lo or abs(hi) or 1.0) * share / (1 - share)
    return [Series([lines[0].x[0]], [top], "", "gray", marker=" ", scatter=True)]
